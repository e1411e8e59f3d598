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
