-- What reaches a user about their leads (a workflow's notice, an SLA
-- warning or breach, a hot lead assigned, a nurtured lead's key behaviour),
-- listed over the API; each user chooses which kinds also come by email.
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    kind       TEXT NOT NULL,
    lead_id    TEXT REFERENCES leads(id),
    message    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at    BIGINT
);
CREATE INDEX notifications_user ON notifications (tenant_id, user_id, created_at);
CREATE INDEX notifications_unread ON notifications (tenant_id, user_id, read_at);

-- The kinds a user also gets by email (a JSON list).
ALTER TABLE users ADD COLUMN notify_by_email TEXT NOT NULL DEFAULT '["sla_breach","hot_lead_assigned"]';

-- A notification email's recipient (its unsubscribe link stops that user's
-- notification emails instead of suppressing a lead's address).
ALTER TABLE emails ADD COLUMN user_id TEXT;
