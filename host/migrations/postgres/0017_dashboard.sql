-- The dashboard's data, counted when the change happens (see
-- host/src/dashboard/ and host/src/domain/dashboard.rs).
--
-- dashboard_leads: one row per lead, what the dashboard knows about it (its
-- cohort: the day it was created in the tenant's time zone, source, UTM
-- campaign, form, channel, current owner; how far it got, its tier, deal,
-- time in each stage, first touch and breaches). A change to a lead moves
-- its row, and its cohort's rollup row by the difference, in the change's
-- own transaction.
--
-- dashboard_days: per-day rollups keyed by the dimensions the dashboard
-- filters and groups by ('' for none); the dashboard sums these, never the
-- leads. dashboard_activity_days: activities logged per day, user and the
-- lead's dimensions.
--
-- Existing leads are filled in below from what is stored: their day in the tenant's time zone;
-- the furthest stage from their stage entries, won time and value, tier,
-- owner and breaches; time in each stage and first touches only count from
-- now on.

CREATE TABLE dashboard_leads (
    lead_id           TEXT PRIMARY KEY REFERENCES leads(id),
    tenant_id         TEXT NOT NULL,
    day               TEXT NOT NULL,
    source            TEXT NOT NULL,
    campaign          TEXT NOT NULL,
    form_id           TEXT NOT NULL,
    channel           TEXT NOT NULL,
    owner_id          TEXT NOT NULL,
    shard             INTEGER NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    stage             TEXT NOT NULL,
    stage_since       BIGINT NOT NULL,
    level             INTEGER NOT NULL,
    lost              INTEGER NOT NULL,
    disqualified      INTEGER NOT NULL,
    tier              TEXT NOT NULL,
    deal_value        BIGINT NOT NULL,
    won_at            BIGINT,
    new_secs          BIGINT NOT NULL,
    new_stays         BIGINT NOT NULL,
    mql_secs          BIGINT NOT NULL,
    mql_stays         BIGINT NOT NULL,
    sql_secs          BIGINT NOT NULL,
    sql_stays         BIGINT NOT NULL,
    opportunity_secs  BIGINT NOT NULL,
    opportunity_stays BIGINT NOT NULL,
    sla_due           INTEGER NOT NULL,
    first_touch       INTEGER NOT NULL, -- 0 not yet, 1 by the deadline, 2 after it
    breaches          BIGINT NOT NULL
);

CREATE TABLE dashboard_days (
    tenant_id TEXT NOT NULL,
    day       TEXT NOT NULL,
    source    TEXT NOT NULL,
    campaign  TEXT NOT NULL,
    form_id   TEXT NOT NULL,
    channel   TEXT NOT NULL,
    owner_id  TEXT NOT NULL,
    -- The unowned leads of a key are spread over 8 rows (by lead id), so
    -- concurrent intakes do not all wait for one row's lock.
    shard     INTEGER NOT NULL DEFAULT 0,
    leads BIGINT NOT NULL DEFAULT 0,
    reached_mql BIGINT NOT NULL DEFAULT 0,
    reached_sql BIGINT NOT NULL DEFAULT 0,
    reached_opportunity BIGINT NOT NULL DEFAULT 0,
    reached_won BIGINT NOT NULL DEFAULT 0,
    lost BIGINT NOT NULL DEFAULT 0,
    disqualified BIGINT NOT NULL DEFAULT 0,
    won_value BIGINT NOT NULL DEFAULT 0,
    won_cycle_secs BIGINT NOT NULL DEFAULT 0,
    new_secs BIGINT NOT NULL DEFAULT 0,
    new_stays BIGINT NOT NULL DEFAULT 0,
    mql_secs BIGINT NOT NULL DEFAULT 0,
    mql_stays BIGINT NOT NULL DEFAULT 0,
    sql_secs BIGINT NOT NULL DEFAULT 0,
    sql_stays BIGINT NOT NULL DEFAULT 0,
    opportunity_secs BIGINT NOT NULL DEFAULT 0,
    opportunity_stays BIGINT NOT NULL DEFAULT 0,
    tier_cold BIGINT NOT NULL DEFAULT 0,
    tier_warm BIGINT NOT NULL DEFAULT 0,
    tier_hot BIGINT NOT NULL DEFAULT 0,
    sla_due BIGINT NOT NULL DEFAULT 0,
    sla_in_time BIGINT NOT NULL DEFAULT 0,
    sla_late BIGINT NOT NULL DEFAULT 0,
    breaches BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, source, campaign, form_id, channel, owner_id, shard)
);

CREATE TABLE dashboard_activity_days (
    tenant_id TEXT NOT NULL,
    day       TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    source    TEXT NOT NULL,
    campaign  TEXT NOT NULL,
    form_id   TEXT NOT NULL,
    calls     BIGINT NOT NULL DEFAULT 0,
    emails    BIGINT NOT NULL DEFAULT 0,
    meetings  BIGINT NOT NULL DEFAULT 0,
    messages  BIGINT NOT NULL DEFAULT 0,
    notes     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, user_id, source, campaign, form_id)
);

INSERT INTO dashboard_leads (lead_id, tenant_id, day, source, campaign, form_id, channel, owner_id,
    created_at, stage, stage_since, level, lost, disqualified, tier, deal_value, won_at,
    new_secs, new_stays, mql_secs, mql_stays, sql_secs, sql_stays, opportunity_secs, opportunity_stays,
    sla_due, first_touch, breaches)
SELECT l.id, l.tenant_id, to_char(to_timestamp(l.created_at / 1000000.0) AT TIME ZONE t.time_zone, 'YYYY-MM-DD'), l.source,
    COALESCE((SELECT tc.utm_campaign FROM touches tc WHERE tc.tenant_id = l.tenant_id AND tc.lead_id = l.id
              ORDER BY tc.created_at, tc.id LIMIT 1), ''),
    l.form_id, l.channel, COALESCE(l.owner_id, ''),
    l.created_at, l.stage, COALESCE(l.stage_entered_at, l.created_at),
    GREATEST(CASE l.stage WHEN 'mql' THEN 1 WHEN 'sql' THEN 2 WHEN 'opportunity' THEN 3 WHEN 'won' THEN 4 ELSE 0 END, COALESCE((SELECT MAX(CASE s.stage WHEN 'mql' THEN 1 WHEN 'sql' THEN 2 WHEN 'opportunity' THEN 3 WHEN 'won' THEN 4 ELSE 0 END) FROM lead_stages s
                      WHERE s.tenant_id = l.tenant_id AND s.lead_id = l.id), 0)),
    CASE WHEN l.stage = 'lost' OR EXISTS (SELECT 1 FROM lead_stages s WHERE s.tenant_id = l.tenant_id
         AND s.lead_id = l.id AND s.stage = 'lost') THEN 1 ELSE 0 END,
    CASE WHEN l.stage = 'disqualified' OR EXISTS (SELECT 1 FROM lead_stages s WHERE s.tenant_id = l.tenant_id
         AND s.lead_id = l.id AND s.stage = 'disqualified') THEN 1 ELSE 0 END,
    l.tier, COALESCE(l.deal_value, 0),
    (SELECT MIN(s.entered_at) FROM lead_stages s WHERE s.tenant_id = l.tenant_id AND s.lead_id = l.id
       AND s.stage = 'won'),
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0,
    (SELECT COUNT(*) FROM lead_events e WHERE e.tenant_id = l.tenant_id AND e.lead_id = l.id
       AND e.kind = 'sla_breached')
FROM leads l JOIN tenants t ON t.id = l.tenant_id;

INSERT INTO dashboard_days (tenant_id, day, source, campaign, form_id, channel, owner_id, shard, leads, reached_mql, reached_sql, reached_opportunity, reached_won, lost, disqualified, won_value, won_cycle_secs, new_secs, new_stays, mql_secs, mql_stays, sql_secs, sql_stays, opportunity_secs, opportunity_stays, tier_cold, tier_warm, tier_hot, sla_due, sla_in_time, sla_late, breaches)
SELECT tenant_id, day, source, campaign, form_id, channel, owner_id, shard,
    COUNT(*),
    SUM(CASE WHEN level >= 1 THEN 1 ELSE 0 END),
    SUM(CASE WHEN level >= 2 THEN 1 ELSE 0 END),
    SUM(CASE WHEN level >= 3 THEN 1 ELSE 0 END),
    SUM(CASE WHEN level >= 4 THEN 1 ELSE 0 END),
    SUM(lost), SUM(disqualified),
    SUM(CASE WHEN level >= 4 THEN deal_value ELSE 0 END),
    SUM(CASE WHEN won_at IS NULL THEN 0 ELSE (won_at - created_at) / 1000000 END),
    0, 0, 0, 0, 0, 0, 0, 0,
    SUM(CASE WHEN tier = 'cold' THEN 1 ELSE 0 END),
    SUM(CASE WHEN tier = 'warm' THEN 1 ELSE 0 END),
    SUM(CASE WHEN tier = 'hot' THEN 1 ELSE 0 END),
    0, 0, 0,
    SUM(breaches)
FROM dashboard_leads
GROUP BY tenant_id, day, source, campaign, form_id, channel, owner_id, shard;

INSERT INTO dashboard_activity_days (tenant_id, day, user_id, source, campaign, form_id,
    calls, emails, meetings, messages, notes)
SELECT a.tenant_id, to_char(to_timestamp(a.created_at / 1000000.0) AT TIME ZONE t.time_zone, 'YYYY-MM-DD'), a.user_id, f.source, f.campaign, f.form_id,
    SUM(CASE WHEN a.kind = 'call' THEN 1 ELSE 0 END),
    SUM(CASE WHEN a.kind = 'email' THEN 1 ELSE 0 END),
    SUM(CASE WHEN a.kind = 'meeting' THEN 1 ELSE 0 END),
    SUM(CASE WHEN a.kind = 'message' THEN 1 ELSE 0 END),
    SUM(CASE WHEN a.kind = 'note' THEN 1 ELSE 0 END)
FROM activities a
JOIN dashboard_leads f ON f.lead_id = a.lead_id
JOIN tenants t ON t.id = a.tenant_id
GROUP BY a.tenant_id, to_char(to_timestamp(a.created_at / 1000000.0) AT TIME ZONE t.time_zone, 'YYYY-MM-DD'), a.user_id, f.source, f.campaign, f.form_id;
