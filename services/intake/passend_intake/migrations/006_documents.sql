-- Documents attached to a request (issue 21). The events (DocumentAttached/-Removed) say
-- which document, of what kind, how large, its SHA-256 and who; everything the document
-- says is here only, sealed with the pupil's key (document_sealing.py), so erasing the
-- pupil leaves ciphertext.
--
-- The file name is kept sealed as well, not in the clear: schools name files after the
-- child ("groeidocument Sam Jansen.pdf"), so in the clear it would outlive the erasure;
-- sealed, it gives the download its own name back while the pupil's key exists.
CREATE TABLE documents (
    swv              text        NOT NULL,
    document_id      uuid        PRIMARY KEY,
    case_id          uuid        NOT NULL,
    pupil_ref        text        NOT NULL,
    key_id           uuid        NOT NULL,
    kind             text        NOT NULL,
    media_type       text        NOT NULL,
    size             bigint      NOT NULL CHECK (size > 0),
    sha256           text        NOT NULL,
    file_name        bytea       NOT NULL,
    description      bytea       NOT NULL,
    attached_by      text        NOT NULL,
    attached_by_role text        NOT NULL,
    attached_at      timestamptz NOT NULL,
    removed_by       text,
    removed_at       timestamptz,
    removal_reason   text
);
CREATE INDEX documents_of_case ON documents (swv, case_id, attached_at);

-- The sealed content (passend_intake.document_store.PostgresDocumentStore); a removed
-- document's row is deleted.
CREATE TABLE document_contents (
    swv         text  NOT NULL,
    document_id uuid  PRIMARY KEY,
    sealed      bytea NOT NULL
);
-- Stored as it comes: the content is ciphertext, compressing it gains nothing.
ALTER TABLE document_contents ALTER COLUMN sealed SET STORAGE EXTERNAL;

SELECT passend_protect_tenant_table('documents');
SELECT passend_protect_tenant_table('document_contents');
GRANT DELETE ON document_contents TO passend_app;
