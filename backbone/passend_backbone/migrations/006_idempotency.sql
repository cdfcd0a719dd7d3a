-- Idempotency keys of every service's commands (passend_backbone.commands.idempotency):
-- the first answer to a command, kept for its retries. One table, one design.
-- IF NOT EXISTS: databases made before this migration have the same table from the
-- service's own first migration.
CREATE TABLE IF NOT EXISTS public.idempotency_keys (
    swv             text        NOT NULL,
    subject         text        NOT NULL,
    idempotency_key text        NOT NULL,
    fingerprint     text        NOT NULL,
    status_code     integer,
    response        jsonb,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (swv, subject, idempotency_key)
);

SELECT passend_protect_tenant_table('public.idempotency_keys');
