-- Password reset links, sent by email through the outbox. Only the
-- secret's SHA-256 is stored (like a session's), so a leaked table opens
-- nothing; a link works once, before it expires.
CREATE TABLE password_resets (
    id           TEXT PRIMARY KEY, -- SHA-256 of the link's secret
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    requested_by TEXT REFERENCES users(id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
CREATE INDEX password_resets_user ON password_resets (tenant_id, user_id);

-- A reset email is a user's and no lead's: emails.lead_id becomes optional.
ALTER TABLE emails ALTER COLUMN lead_id DROP NOT NULL;
