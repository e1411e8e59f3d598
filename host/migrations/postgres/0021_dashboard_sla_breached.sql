-- SLA compliance counts decided deadlines only: in time / (in time + late +
-- breached), with the pending ones beside it. "Breached" is a lead given a
-- first-touch deadline that passed with no touch yet; the rollups count it
-- (host/src/domain/dashboard.rs, LeadFacts::counts), filled here from each
-- lead's facts for the rows that exist.

ALTER TABLE dashboard_days ADD COLUMN sla_breached BIGINT NOT NULL DEFAULT 0;

UPDATE dashboard_days SET sla_breached = b.n
FROM (SELECT tenant_id, day, source, campaign, form_id, channel, owner_id, shard, COUNT(*) AS n
      FROM dashboard_leads
      WHERE sla_due = 1 AND first_touch = 0 AND breaches > 0
      GROUP BY tenant_id, day, source, campaign, form_id, channel, owner_id, shard) AS b
WHERE dashboard_days.tenant_id = b.tenant_id AND dashboard_days.day = b.day
  AND dashboard_days.source = b.source AND dashboard_days.campaign = b.campaign
  AND dashboard_days.form_id = b.form_id AND dashboard_days.channel = b.channel
  AND dashboard_days.owner_id = b.owner_id AND dashboard_days.shard = b.shard;
