-- How far the outbox relay has published each topic: every position up to
-- "position" is on the broker (acknowledged) or belonged to a rolled-back transaction.
CREATE TABLE outbox_checkpoint (
    topic      text        PRIMARY KEY,
    position   bigint      NOT NULL CHECK (position >= 0),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
