-- Nurture workflows: a workflow per tenant and slug, with immutable
-- versions of its definition (JSON); a run keeps the version it started on.
-- status: active, paused (runs wait) or archived (runs end).

CREATE TABLE workflows (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    slug            TEXT NOT NULL,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, slug)
);

CREATE TABLE workflow_versions (
    workflow_id TEXT NOT NULL REFERENCES workflows(id),
    version     INTEGER NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    definition  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (workflow_id, version)
);
