-- Idempotent; safe when several services' databases share one cluster (roles are
-- cluster-wide, so two first starts may race to create it: the loser ignores that).
-- Tenant isolation (passend_backbone.tenancy): the role API requests run as, and the
-- function that puts a table under row-level security for it.
DO $$
BEGIN
    CREATE ROLE passend_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

DO $$
BEGIN
    -- A login role that is no superuser may switch to passend_app only as a member.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT passend_app TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO passend_app;
-- Read models live in a schema per projection generation, created later by this same
-- login role: passend_app may use them and read their tables (their policies still apply).
ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO passend_app;
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO passend_app;
GRANT SELECT ON projection_generations TO passend_app;

CREATE OR REPLACE FUNCTION passend_protect_tenant_table(target regclass) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', target);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s '
        'USING (swv = current_setting(''passend.swv'', true)) '
        'WITH CHECK (swv = current_setting(''passend.swv'', true))',
        target);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %s TO passend_app', target);
END
$fn$;

-- Every table there is so far with a tenant column: the event store (API requests append
-- and read their own tenant's events only), the read log, and the service's own tables
-- created by its earlier migrations. Each service calls it from its own tenancy
-- migration, after its tables exist; tables made later need their own line.
CREATE OR REPLACE FUNCTION passend_protect_tenant_tables() RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    target regclass;
BEGIN
    FOR target IN
        SELECT format('%I.%I', c.table_schema, c.table_name)::regclass
        FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.column_name = 'swv' AND c.table_schema = 'public'
          AND t.table_type = 'BASE TABLE'
    LOOP
        PERFORM passend_protect_tenant_table(target);
    END LOOP;
END
$fn$;
