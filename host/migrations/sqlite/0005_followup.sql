-- Follow-up: the tenant's SLA policy, each lead's next deadline, activities
-- and tasks; outbound webhooks and their delivery log.

ALTER TABLE tenants ADD COLUMN sla_policy TEXT; -- JSON; NULL: no deadlines

-- The owner's last activity on the lead, and the deadline for the next one
-- (first touch, then the follow-up cadence); NULL: none pending.
ALTER TABLE leads ADD COLUMN touched_at BIGINT;
ALTER TABLE leads ADD COLUMN follow_up_due_at BIGINT;
CREATE INDEX leads_tenant_owner_due ON leads (tenant_id, owner_id, follow_up_due_at);

CREATE TABLE activities (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    lead_id           TEXT NOT NULL REFERENCES leads(id),
    user_id           TEXT NOT NULL,
    kind              TEXT NOT NULL, -- call, email, meeting, message, note
    outcome           TEXT,
    note              TEXT,
    next_follow_up_at BIGINT,
    created_at        BIGINT NOT NULL
);
CREATE INDEX activities_lead ON activities (tenant_id, lead_id, created_at);

CREATE TABLE tasks (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    lead_id    TEXT,
    title      TEXT NOT NULL,
    due_at     BIGINT NOT NULL,
    done_at    BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX tasks_user_due ON tasks (tenant_id, user_id, done_at, due_at);

CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    events     TEXT NOT NULL, -- JSON list of event names
    enabled    INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id            TEXT PRIMARY KEY, -- also the Idempotency-Key header
    tenant_id     TEXT NOT NULL,
    webhook_id    TEXT NOT NULL,
    event         TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL, -- pending, delivered, failed
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_status   INTEGER,
    last_error    TEXT,
    created_at    BIGINT NOT NULL,
    delivered_at  BIGINT
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (tenant_id, webhook_id, created_at);
