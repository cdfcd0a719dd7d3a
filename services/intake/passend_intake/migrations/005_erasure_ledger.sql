-- How far intake has read its own topic for erasures (passend_intake.erasure_ledger), per
-- partition. Restored with a backup, it is as old as the backup: the erasures recorded on
-- the topic since are read again and applied before the service serves.
CREATE TABLE erasure_ledger_offsets (
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (topic, partition)
);
