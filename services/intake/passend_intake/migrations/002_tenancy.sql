-- Tenant isolation (passend_backbone.tenancy; the role and the functions come from the
-- backbone's 005_tenancy.sql): every table so far with a tenant column.
SELECT passend_protect_tenant_tables();

-- This service's own tenant-owned tables (named, so none is missed silently).
SELECT passend_protect_tenant_table('pupil_keys');
SELECT passend_protect_tenant_table('pupil_erasures');
SELECT passend_protect_tenant_table('consent_links');
-- Erasure on request runs as the privacy officer's command, in the tenant's transaction:
-- deleting the pupil's key is that command's whole point (passend_intake.erasure).
GRANT DELETE ON pupil_keys TO passend_app;
