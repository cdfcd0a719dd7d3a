-- Durable contact-deadline timers (W26): one row per case and kind, fired once by the
-- scheduler in the transaction that appends what it raised.
CREATE TABLE contact_timers (
    case_id      uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('reminder', 'lapse')),
    swv          text        NOT NULL,
    fire_at      timestamptz NOT NULL,
    fired_at     timestamptz,
    cancelled_at timestamptz,
    PRIMARY KEY (case_id, kind)
);

CREATE INDEX contact_timers_due ON contact_timers (fire_at)
    WHERE fired_at IS NULL AND cancelled_at IS NULL;

-- The first answer to a POST with an Idempotency-Key, stored with the events it appended.
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
