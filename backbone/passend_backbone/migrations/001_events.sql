-- The append-only event store: one row per event, a global position, a per-stream
-- version with optimistic concurrency, and a per-stream hash chain.
CREATE TABLE events (
    -- The writing transaction, which owns its id before it takes a position: the
    -- outbox relay's gap rule depends on that (events_append assigns it first; the first
    -- column's default does it for a plain INSERT too). Also tells which events one
    -- transaction wrote.
    xid            xid8        NOT NULL DEFAULT pg_current_xact_id(),
    position       bigint      GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
    event_id       uuid        NOT NULL UNIQUE,
    stream_id      text        NOT NULL,
    stream_version integer     NOT NULL CHECK (stream_version >= 1),
    event_type     text        NOT NULL,
    -- json, not jsonb: the text is kept byte for byte, and those bytes are what the hash
    -- chain covers (sorted keys, no whitespace, written once by the append).
    data           json        NOT NULL,
    swv            text        NOT NULL,
    actor          text        NOT NULL,
    correlation_id text        NOT NULL,
    causation_id   text        NOT NULL,
    on_behalf_of   text,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    prev_hash      bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash           bytea       NOT NULL CHECK (octet_length(hash) = 32),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);

CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'append a correcting event instead';
END
$$;

CREATE TRIGGER events_append_only_rows
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();

CREATE TRIGGER events_append_only_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
