-- Nurture runs, the email outbox, suppression and the tenant settings they
-- read. A run is one lead's place in one workflow (at most one active run
-- per lead and workflow); its waits are jobs. Every email is a row written
-- in the step's transaction, with the Message-ID it carries on every
-- attempt.

-- A lead held for nurture: no owner, out of the public pool, no SLA timers.
ALTER TABLE leads ADD COLUMN held_at BIGINT;

-- The tenant's time zone (waits until a time of day), sender identity,
-- sending rate (emails a minute), and the key that signs its email links.
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE tenants ADD COLUMN email_from TEXT;
ALTER TABLE tenants ADD COLUMN emails_per_minute INTEGER NOT NULL DEFAULT 600;
ALTER TABLE tenants ADD COLUMN link_key TEXT;
UPDATE tenants SET link_key = lower(hex(randomblob(32))) WHERE link_key IS NULL;

CREATE TABLE workflow_runs (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    workflow_id TEXT NOT NULL REFERENCES workflows(id),
    version     INTEGER NOT NULL,
    lead_id     TEXT NOT NULL REFERENCES leads(id),
    -- The index of the step to run next.
    step        INTEGER NOT NULL,
    -- Bumped with every move: a wait's job for an older seq does nothing.
    seq         INTEGER NOT NULL,
    -- A plugin step's actions left after its wait action (JSON), if any.
    resume      TEXT,
    -- A wait for an event: its kind, and when it times out.
    waiting_for TEXT,
    wait_until  BIGINT,
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    ended_at    BIGINT,
    end_reason  TEXT
);
CREATE UNIQUE INDEX workflow_runs_one_active ON workflow_runs (tenant_id, workflow_id, lead_id) WHERE ended_at IS NULL;
CREATE INDEX workflow_runs_lead ON workflow_runs (tenant_id, lead_id);
CREATE INDEX workflow_runs_at_step ON workflow_runs (tenant_id, workflow_id, step) WHERE ended_at IS NULL;

-- What each run did, step by step (refusals and failures included).
CREATE TABLE workflow_run_log (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    run_id     TEXT NOT NULL REFERENCES workflow_runs(id),
    step_id    TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX workflow_run_log_run ON workflow_run_log (run_id, created_at);

-- The outbox. status: queued, sent, failed (dead letter), suppressed.
CREATE TABLE emails (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    lead_id     TEXT NOT NULL REFERENCES leads(id),
    run_id      TEXT,
    step_id     TEXT,
    message_id  TEXT NOT NULL UNIQUE,
    to_address  TEXT NOT NULL,
    from_address TEXT NOT NULL,
    subject     TEXT NOT NULL,
    text_body   TEXT NOT NULL,
    html_body   TEXT,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_answer TEXT,
    created_at  BIGINT NOT NULL,
    sent_at     BIGINT,
    opened_at   BIGINT,
    clicked_at  BIGINT
);
CREATE INDEX emails_lead ON emails (tenant_id, lead_id, created_at);
CREATE INDEX emails_run ON emails (run_id);
CREATE INDEX emails_tenant_created ON emails (tenant_id, created_at);

CREATE TABLE email_attempts (
    email_id   TEXT NOT NULL REFERENCES emails(id),
    attempt    INTEGER NOT NULL,
    outcome    TEXT NOT NULL,
    answer     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (email_id, attempt)
);

-- Addresses no email goes to: unsubscribed, or rejected for good.
CREATE TABLE suppressions (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    address    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    detail     TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, address)
);

-- The sending rate, shared by every process: emails sent per tenant and minute.
CREATE TABLE send_windows (
    tenant_id TEXT NOT NULL,
    minute    BIGINT NOT NULL,
    sent      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, minute)
);

CREATE TABLE lead_tags (
    tenant_id  TEXT NOT NULL,
    lead_id    TEXT NOT NULL REFERENCES leads(id),
    tag        TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, lead_id, tag)
);
CREATE INDEX lead_tags_tag ON lead_tags (tenant_id, tag);
