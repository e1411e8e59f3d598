-- Routing: teams with members and a strategy, the tenant's ordered
-- assignment rules (every version kept), the public pool's claims and bars.

CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    manager_id TEXT REFERENCES users(id),
    strategy   TEXT NOT NULL, -- round_robin, least_loaded or weighted
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE team_members (
    team_id          TEXT NOT NULL REFERENCES teams(id),
    user_id          TEXT NOT NULL REFERENCES users(id),
    tenant_id        TEXT NOT NULL,
    weight           INTEGER NOT NULL DEFAULT 1,
    -- Leads this team has given the member: round robin and weights read it.
    assigned         BIGINT NOT NULL DEFAULT 0,
    last_assigned_at BIGINT,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (tenant_id, user_id);

CREATE TABLE routing_rules (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    version    INTEGER NOT NULL,
    rules      TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

-- Pool leads a rep may claim per day; NULL: no limit.
ALTER TABLE tenants ADD COLUMN pool_claim_limit INTEGER;
-- How long a lead's previous owner may not claim it back; NULL: no bar.
ALTER TABLE tenants ADD COLUMN pool_bar_hours INTEGER;

ALTER TABLE leads ADD COLUMN assigned_at BIGINT;
CREATE INDEX leads_tenant_pool ON leads (tenant_id, owner_id, score, id);

CREATE TABLE pool_claims (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    lead_id    TEXT NOT NULL,
    claimed_at BIGINT NOT NULL
);
CREATE INDEX pool_claims_user ON pool_claims (tenant_id, user_id, claimed_at);

CREATE TABLE pool_bars (
    tenant_id TEXT NOT NULL,
    lead_id   TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    until     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, lead_id, user_id)
);
