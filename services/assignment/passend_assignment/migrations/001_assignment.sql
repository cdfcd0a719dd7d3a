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

