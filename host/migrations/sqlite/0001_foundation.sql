-- Foundation: tenants, users, tokens, forms with immutable versions, leads,
-- their dedup identities and touches. Times are UTC microseconds since the
-- Unix epoch (BIGINT), ids are UUIDv7 text, JSON is text: the same columns on
-- both backends so one data layer serves both.

CREATE TABLE tenants (
    id             TEXT PRIMARY KEY,
    slug           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    default_region TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT,
    created_at    BIGINT NOT NULL,
    UNIQUE (tenant_id, email)
);

-- Operator tokens have no tenant and no user.
CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    tenant_id  TEXT REFERENCES tenants(id),
    user_id    TEXT REFERENCES users(id),
    label      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE forms (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    slug            TEXT NOT NULL,
    title           TEXT NOT NULL,
    enabled         INTEGER NOT NULL, -- 0 or 1: portable across both backends
    current_version INTEGER NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, slug)
);

CREATE TABLE form_versions (
    form_id    TEXT NOT NULL REFERENCES forms(id),
    version    INTEGER NOT NULL,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    title      TEXT NOT NULL,
    schema     TEXT NOT NULL,
    ui_schema  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (form_id, version)
);

CREATE TABLE leads (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    form_id      TEXT NOT NULL REFERENCES forms(id),
    form_version INTEGER NOT NULL,
    email        TEXT,
    phone        TEXT,
    name         TEXT,
    company      TEXT,
    fields       TEXT NOT NULL,
    channel      TEXT NOT NULL,
    source       TEXT NOT NULL,
    stage        TEXT NOT NULL,
    owner_id     TEXT REFERENCES users(id),
    score        INTEGER NOT NULL,
    tier         TEXT NOT NULL,
    search_text  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
-- UUIDv7 ids sort by creation time, so (tenant_id, id) serves the default
-- newest-first listing and its cursor.
CREATE INDEX leads_tenant_id ON leads (tenant_id, id);
CREATE INDEX leads_tenant_created ON leads (tenant_id, created_at);
CREATE INDEX leads_tenant_form ON leads (tenant_id, form_id, id);
CREATE INDEX leads_tenant_stage ON leads (tenant_id, stage, id);
CREATE INDEX leads_tenant_owner ON leads (tenant_id, owner_id, id);
CREATE INDEX leads_tenant_source ON leads (tenant_id, source, id);

-- The dedup identity: one owner lead per normalised email or phone.
CREATE TABLE lead_identities (
    tenant_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    value     TEXT NOT NULL,
    lead_id   TEXT NOT NULL REFERENCES leads(id),
    PRIMARY KEY (tenant_id, kind, value)
);
CREATE INDEX lead_identities_lead ON lead_identities (lead_id);

CREATE TABLE touches (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    lead_id         TEXT NOT NULL REFERENCES leads(id),
    form_id         TEXT NOT NULL REFERENCES forms(id),
    form_version    INTEGER NOT NULL,
    channel         TEXT NOT NULL,
    source          TEXT NOT NULL,
    utm_source      TEXT,
    utm_medium      TEXT,
    utm_campaign    TEXT,
    utm_term        TEXT,
    utm_content     TEXT,
    referrer        TEXT,
    fields          TEXT NOT NULL,
    note            TEXT,
    idempotency_key TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX touches_lead ON touches (tenant_id, lead_id, created_at);
CREATE UNIQUE INDEX touches_idempotency ON touches (tenant_id, idempotency_key);
