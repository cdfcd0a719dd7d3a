-- Tenant isolation (passend_backbone.tenancy; the role and the functions come from the
-- backbone's 005_tenancy.sql): every table so far with a tenant column.
SELECT passend_protect_tenant_tables();

-- This service's own tenant-owned tables (named, so none is missed silently).
SELECT passend_protect_tenant_table('deliveries');
SELECT passend_protect_tenant_table('contacts');
SELECT passend_protect_tenant_table('personal_links');
SELECT passend_protect_tenant_table('case_people');
SELECT passend_protect_tenant_table('template_overrides');
SELECT passend_protect_tenant_table('webhook_subscriptions');
SELECT passend_protect_tenant_table('webhook_routes');
SELECT passend_protect_tenant_table('webhook_held');

-- The settings API erases addresses and links and resets wording, as the caller's tenant.
GRANT DELETE ON contacts, personal_links, template_overrides TO passend_app;
