-- What an operator decided about a dead letter (a record a consumer group set aside), one
-- row per source record and group: acknowledged as handled without applying it, or
-- replayed (applied after a fix). Rebuilds pass over acknowledged records knowingly.
-- Written once per record (INSERT ... ON CONFLICT DO NOTHING): a retried command after a
-- crash finds the first decision and changes nothing; only an acknowledged record can
-- still be replayed later.
CREATE TABLE dead_letter_resolutions (
    consumer_group text        NOT NULL,
    topic          text        NOT NULL,
    "partition"    integer     NOT NULL,
    "offset"       bigint      NOT NULL,
    resolution     text        NOT NULL CHECK (resolution IN ('acknowledged', 'replayed')),
    resolved_by    text        NOT NULL,
    reason         text        NOT NULL,
    event_id       uuid,
    resolved_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (consumer_group, topic, "partition", "offset")
);
