-- The consumers each fetch loop (one consumer group of a service, reading for several of
-- its projections and reactors) has read a partition for from its beginning. A consumer
-- not listed for a partition is new to the loop: the loop rewinds that partition for it,
-- as a consumer group of its own would start from the beginning.
CREATE TABLE loop_members (
    loop_group  text        NOT NULL,
    consumer    text        NOT NULL,
    topic       text        NOT NULL,
    "partition" integer     NOT NULL,
    listed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (loop_group, consumer, topic, "partition")
);
