-- Logins for the pages: sessions (the cookie's hash, never the cookie), the
-- failed attempts that slow the next ones, and what a user sets for
-- themselves. A deactivated user keeps every record; their sessions and
-- tokens stop at once.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY, -- SHA-256 of the cookie's value
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- One row per failed login, keyed by account (tenant and email) and by
-- address; the throttle counts the recent ones.
CREATE TABLE login_failures (
    key       TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, failed_at);

ALTER TABLE users ADD COLUMN deactivated_at BIGINT;
-- 'zh' or 'en'; NULL: the browser's Accept-Language decides.
ALTER TABLE users ADD COLUMN language TEXT;
-- An IANA zone; NULL: the tenant's.
ALTER TABLE users ADD COLUMN time_zone TEXT;

-- A rep searches by phone too: the search text gains it (as stored, E.164).
UPDATE leads SET search_text = search_text || ' ' || phone WHERE phone IS NOT NULL;

-- A deal, recorded when a lead becomes an opportunity or is won: its value
-- in minor units (fen, cents) and the expected (or actual) close date.
ALTER TABLE leads ADD COLUMN deal_value BIGINT;
ALTER TABLE leads ADD COLUMN expected_close_on TEXT;

-- A rep's leads and the pool, read a page at a time through an index in
-- each order the lists offer (1,000,000 leads in the tenant, 20,000 of them
-- one rep's): best score first; warmest tier first; soonest follow-up first
-- (leads without a deadline last). The expressions are those the queries
-- sort by (storage/leads.rs, `LeadOrder::keys`), so the planners match them.
CREATE INDEX leads_tenant_owner_score ON leads (tenant_id, owner_id, score, id);
CREATE INDEX leads_tenant_owner_tier ON leads
    (tenant_id, owner_id, (CASE tier WHEN 'hot' THEN 3 WHEN 'warm' THEN 2 ELSE 1 END), score, id);
CREATE INDEX leads_tenant_owner_due_order ON leads
    (tenant_id, owner_id, (COALESCE(follow_up_due_at, 9223372036854775807)), id);
