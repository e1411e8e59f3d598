-- Scoring and the lead lifecycle: the tenant's scoring model (every version
-- kept), behaviour events, stage entries, background re-score runs and the
-- manual clock tests drive.

CREATE TABLE scoring_models (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    version    INTEGER NOT NULL,
    model      TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

-- The breakdown behind the current score, and a revision bumped by every
-- score write so concurrent re-scores of one lead cannot overwrite each other.
ALTER TABLE leads ADD COLUMN score_parts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE leads ADD COLUMN score_rev BIGINT NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN scored_at BIGINT;
ALTER TABLE leads ADD COLUMN stage_entered_at BIGINT;
CREATE INDEX leads_tenant_score ON leads (tenant_id, score, id);
CREATE INDEX leads_tenant_tier ON leads (tenant_id, tier, score, id);

CREATE TABLE behaviour_events (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    lead_id     TEXT NOT NULL REFERENCES leads(id),
    kind        TEXT NOT NULL,
    url         TEXT,
    detail      TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX behaviour_events_lead ON behaviour_events (tenant_id, lead_id, occurred_at);

-- Every stage a lead entered, when, why and by whom: cycle times read this.
CREATE TABLE lead_stages (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    lead_id    TEXT NOT NULL REFERENCES leads(id),
    stage      TEXT NOT NULL,
    from_stage TEXT,
    reason     TEXT NOT NULL,
    changed_by TEXT NOT NULL, -- a user id, or 'scoring' for a promotion
    entered_at BIGINT NOT NULL
);
CREATE INDEX lead_stages_lead ON lead_stages (tenant_id, lead_id, entered_at);
CREATE INDEX lead_stages_tenant ON lead_stages (tenant_id, stage, entered_at);

CREATE TABLE rescore_runs (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    model_version INTEGER NOT NULL,
    status        TEXT NOT NULL, -- running, done, superseded
    total         BIGINT NOT NULL,
    done          BIGINT NOT NULL DEFAULT 0,
    changed       BIGINT NOT NULL DEFAULT 0,
    cursor        TEXT,
    started_at    BIGINT NOT NULL,
    finished_at   BIGINT
);
CREATE INDEX rescore_runs_tenant ON rescore_runs (tenant_id, started_at);

-- One row: the manual clock's reading, when the server runs on one.
CREATE TABLE manual_clock (
    id  INTEGER PRIMARY KEY,
    now BIGINT NOT NULL
);

CREATE INDEX jobs_kind ON jobs (tenant_id, kind);
