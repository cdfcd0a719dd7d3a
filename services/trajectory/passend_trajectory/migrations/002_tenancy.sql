-- Tenant isolation (passend_backbone.tenancy; the role and the functions come from the
-- backbone's 005_tenancy.sql): every table so far with a tenant column.
SELECT passend_protect_tenant_tables();

-- This service's own tenant-owned tables (named, so none is missed silently).
