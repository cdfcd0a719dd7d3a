-- The first answer to a POST with an Idempotency-Key, stored in the transaction that
-- appended its events, so a retry gets the same answer and appends nothing.
CREATE TABLE idempotency_keys (
    swv             text        NOT NULL,
    subject         text        NOT NULL,
    idempotency_key text        NOT NULL,
    fingerprint     text        NOT NULL,
    status_code     integer,
    response        jsonb,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (swv, subject, idempotency_key)
);
