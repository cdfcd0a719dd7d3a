-- The text keys of every service (passend_backbone.texts): one key per case, sealing the
-- free texts about its pupil; deleted when the pupil is erased. The key column holds the
-- key sealed under TEXT_KEY_ENCRYPTION_KEYS, never the key itself.
CREATE TABLE IF NOT EXISTS public.text_keys (
    swv        text        NOT NULL,
    scope      text        NOT NULL,
    key_id     uuid        NOT NULL UNIQUE,
    key        bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (swv, scope)
);

SELECT passend_protect_tenant_table('public.text_keys');
-- An erasure may run in the caller's tenant transaction (intake's erasure on request).
GRANT DELETE ON public.text_keys TO passend_app;

-- How far this service has read intake's topic for CaseErased to delete case keys again
-- after a restore (passend_backbone.texts.ledger): a restored backup reads from its place.
CREATE TABLE IF NOT EXISTS public.text_erasure_offsets (
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (topic, partition)
);
