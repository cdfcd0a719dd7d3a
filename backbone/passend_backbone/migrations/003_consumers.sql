-- Events a reactor has handled (marked in the transaction that appended its reaction).
CREATE TABLE reactor_handled (
    reactor    text        NOT NULL,
    event_id   uuid        NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (reactor, event_id)
);

-- Which generation (schema rm_<projection>_<generation>) of each projection serves reads.
CREATE TABLE projection_generations (
    projection text PRIMARY KEY,
    active     integer NOT NULL
);
