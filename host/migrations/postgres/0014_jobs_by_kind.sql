-- Due jobs are listed by lane (a few kinds), oldest first: an index that
-- serves that order, so a backlog of one kind is never sorted whole.
CREATE INDEX jobs_kind_due ON jobs (kind, run_at, id);

-- A run's emails are read by every step of the run: by (tenant, run), so
-- the tenant's other indexes on emails are never the planner's choice.
DROP INDEX emails_run;
CREATE INDEX emails_run ON emails (tenant_id, run_id);
