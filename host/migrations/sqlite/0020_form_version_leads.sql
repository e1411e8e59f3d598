-- The form designer lists each version with the leads it captured; this
-- index counts them without reading the leads (an index-only count).
CREATE INDEX leads_tenant_form_version ON leads (tenant_id, form_id, form_version);
