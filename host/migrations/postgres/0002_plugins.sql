-- Plugins, their call records, the lead timeline, the jobs outbox, and the
-- rep attributes a router is handed.

ALTER TABLE tenants ADD COLUMN plugin_fuel BIGINT; -- NULL: the default CPU limit

ALTER TABLE users ADD COLUMN regions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN specialties TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN capacity INTEGER NOT NULL DEFAULT 0; -- 0: no limit
ALTER TABLE users ADD COLUMN available INTEGER NOT NULL DEFAULT 1;
-- Open leads the user owns, kept as leads are assigned (routing reads it per lead).
ALTER TABLE users ADD COLUMN open_leads INTEGER NOT NULL DEFAULT 0;

-- When the lead's score-and-route step last finished.
ALTER TABLE leads ADD COLUMN processed_at BIGINT;

CREATE TABLE plugins (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    name                 TEXT NOT NULL,
    world                TEXT NOT NULL,
    config               TEXT NOT NULL,
    component            BYTEA NOT NULL,
    sha256               TEXT NOT NULL,
    size_bytes           BIGINT NOT NULL,
    enabled              INTEGER NOT NULL,
    disabled_reason      TEXT,
    calls                BIGINT NOT NULL DEFAULT 0,
    failures             BIGINT NOT NULL DEFAULT 0,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    last_called_at       BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE plugin_calls (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    plugin_id   TEXT NOT NULL,
    lead_id     TEXT,
    ok          INTEGER NOT NULL,
    error       TEXT,
    result      TEXT,
    logs        TEXT NOT NULL,
    stdout      TEXT NOT NULL,
    stderr      TEXT NOT NULL,
    fuel_used   BIGINT NOT NULL,
    duration_us BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX plugin_calls_plugin ON plugin_calls (tenant_id, plugin_id, created_at);

-- The lead's timeline besides its touches: scores, assignments, failures.
CREATE TABLE lead_events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    lead_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX lead_events_lead ON lead_events (tenant_id, lead_id, created_at);

-- Durable work for later (an outbox): written in the transaction that makes
-- it necessary, run at once in process, and picked up again after a crash.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    run_at       BIGINT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at);
