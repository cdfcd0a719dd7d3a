-- One key per pupil (crypto-shredding): deleting the row erases the pupil's identity from
-- every copy of the log, which only ever holds it encrypted with this key.
CREATE TABLE pupil_keys (
    swv        text        NOT NULL,
    pupil_ref  text        NOT NULL,
    key_id     uuid        NOT NULL UNIQUE,
    -- Sealed under INTAKE_KEY_ENCRYPTION_KEYS (pupil_keys.py), never the key itself.
    key        bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (swv, pupil_ref)
);

-- That an erasure happened, and by whom; pseudonymous references only.
CREATE TABLE pupil_erasures (
    key_id     uuid        PRIMARY KEY,
    swv        text        NOT NULL,
    pupil_ref  text        NOT NULL,
    erased_by  text        NOT NULL,
    erased_at  timestamptz NOT NULL
);

-- Personal consent links. Only the SHA-256 of the token is kept: the token itself is
-- handed to the school once and never stored or put in an event.
CREATE TABLE consent_links (
    token_hash bytea       PRIMARY KEY,
    swv        text        NOT NULL,
    case_id    uuid        NOT NULL,
    parent_ref text        NOT NULL,
    issued_by  text        NOT NULL,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    voided_at  timestamptz
);
CREATE INDEX consent_links_open ON consent_links (case_id)
    WHERE used_at IS NULL AND voided_at IS NULL;
