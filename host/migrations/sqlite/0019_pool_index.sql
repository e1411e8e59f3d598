-- The pool's page, best score first, read through an index of the pool
-- alone: unowned and not held. Without it PostgreSQL scanned and sorted the
-- tenant's 300,000 pool leads of the 1,000,000-lead benchmark for each page
-- (78 ms; 0.2 ms with it).
CREATE INDEX leads_pool_score ON leads (tenant_id, score, id) WHERE owner_id IS NULL AND held_at IS NULL;
