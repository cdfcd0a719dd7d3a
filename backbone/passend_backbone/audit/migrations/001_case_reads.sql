-- The read log (NEN 7513-style): one row per read of a case by a person, append-only.
-- Who read (subject, role, tenant), when, which case, through which view, and why.
CREATE TABLE case_reads (
    read_id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id        text        NOT NULL,
    swv            text        NOT NULL,
    reader         text        NOT NULL,
    reader_role    text        NOT NULL,
    on_behalf_of   text,
    purpose        text        NOT NULL CHECK (length(purpose) BETWEEN 1 AND 500),
    view           text        NOT NULL,
    correlation_id text,
    read_at        timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX case_reads_by_case ON case_reads (swv, case_id, read_at);

CREATE FUNCTION case_reads_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the read log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER case_reads_append_only_rows
    BEFORE UPDATE OR DELETE ON case_reads
    FOR EACH ROW EXECUTE FUNCTION case_reads_refuse_change();

CREATE TRIGGER case_reads_append_only_truncate
    BEFORE TRUNCATE ON case_reads
    FOR EACH STATEMENT EXECUTE FUNCTION case_reads_refuse_change();
