-- Due jobs are listed by lane (a few kinds), oldest first: an index that
-- serves that order, so a backlog of one kind is never sorted whole.
CREATE INDEX jobs_kind_due ON jobs (kind, run_at, id);
