-- Who changed a tenant's setup, and when: every save of the scoring model,
-- the routing rules, the SLA policy and the pool settings, with what it
-- saved (the admin pages show it beside each editor).
CREATE TABLE setting_changes (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    setting    TEXT NOT NULL, -- scoring_model, routing_rules, sla_policy, pool_settings
    changed_by TEXT REFERENCES users(id),
    changed_at BIGINT NOT NULL,
    content    TEXT NOT NULL
);
CREATE INDEX setting_changes_tenant ON setting_changes (tenant_id, setting, changed_at);
