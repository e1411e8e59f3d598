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
-- SQLite changes a column's constraints only by rebuilding its table, and
-- sqlx runs this file in a transaction, where foreign keys cannot be
-- switched off; so the rows referencing emails step aside while the old
-- table is dropped (dropping it deletes its rows first, which they would
-- refuse) and come back once the rebuilt table has its name.
CREATE TEMP TABLE kept_email_attempts AS SELECT * FROM email_attempts;
CREATE TEMP TABLE kept_email_events AS SELECT * FROM email_events;
DELETE FROM email_attempts;
DELETE FROM email_events;

CREATE TABLE emails_rebuilt (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    lead_id      TEXT REFERENCES leads(id),
    run_id       TEXT,
    step_id      TEXT,
    message_id   TEXT NOT NULL UNIQUE,
    to_address   TEXT NOT NULL,
    from_address TEXT NOT NULL,
    subject      TEXT NOT NULL,
    text_body    TEXT NOT NULL,
    html_body    TEXT,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_answer  TEXT,
    created_at   BIGINT NOT NULL,
    sent_at      BIGINT,
    opened_at    BIGINT,
    clicked_at   BIGINT,
    user_id      TEXT
);
INSERT INTO emails_rebuilt (id, tenant_id, lead_id, run_id, step_id, message_id, to_address, from_address,
    subject, text_body, html_body, status, attempts, last_answer, created_at, sent_at, opened_at, clicked_at, user_id)
SELECT id, tenant_id, lead_id, run_id, step_id, message_id, to_address, from_address,
    subject, text_body, html_body, status, attempts, last_answer, created_at, sent_at, opened_at, clicked_at, user_id
FROM emails;
DROP TABLE emails;
ALTER TABLE emails_rebuilt RENAME TO emails;
CREATE INDEX emails_lead ON emails (tenant_id, lead_id, created_at);
CREATE INDEX emails_run ON emails (tenant_id, run_id);
CREATE INDEX emails_tenant_created ON emails (tenant_id, created_at);

INSERT INTO email_attempts SELECT * FROM kept_email_attempts;
INSERT INTO email_events SELECT * FROM kept_email_events;
DROP TABLE kept_email_attempts;
DROP TABLE kept_email_events;
