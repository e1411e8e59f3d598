//! The jobs table: the outbox every later piece of work is written to, and
//! the claims by which a worker takes a job for a lease.

use std::time::Duration;

use sqlx::Row;

use super::batch::Statement;
use super::unit::Unit;
use super::{Store, StoreError, StoreResult};
use crate::clock::Timestamp;
use crate::domain::{Job, JobKind, JobRecord};

/// How many of the oldest due jobs a listing looks at, per job it lists: enough
/// that a tenant with a backlog does not hide the others (each tenant takes at
/// most `per_tenant`), without sorting every due job each round.
const OLDEST_PER_LIMIT: i64 = 20;

/// A job that is due and not held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueJob {
    pub id: String,
    pub tenant_id: String,
}

/// How long the process that writes a job holds it: it runs the job at
/// once, and only if it dies does the job pass to a sweeper.
pub const WRITER_LEASE: Duration = Duration::from_secs(600);

/// An outbox row, due now. With a `lease` it is born held by the writing
/// process, which runs it at once without a claim; only if that process dies
/// does the job pass to a sweeper.
pub(super) fn job_statement(job: &JobRecord, now: Timestamp, lease: Option<Duration>) -> Statement {
    scheduled_job(job, now, now, lease)
}

/// An outbox row due at `run_at`.
pub(super) fn scheduled_job(job: &JobRecord, run_at: Timestamp, now: Timestamp, lease: Option<Duration>) -> Statement {
    Statement::new(
        "INSERT INTO jobs (id, tenant_id, kind, payload, run_at, attempts, locked_until, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&job.id)
    .bind(&job.tenant_id)
    .bind(job.kind().as_str())
    .bind(job.job.payload().to_string())
    .bind(run_at.micros())
    .bind(i32::from(lease.is_some()))
    .bind(lease.map(|lease| now.plus(lease).micros()))
    .bind(now.micros())
}

impl Store {
    /// Takes a job for `lease`, unless another worker holds it or it is gone.
    pub async fn claim_job(&self, job_id: &str, lease: Duration) -> StoreResult<Option<JobRecord>> {
        let now = Timestamp::now().micros();
        let row = sqlx::query(
            "UPDATE jobs SET locked_until = $2, attempts = attempts + 1 \
             WHERE id = $1 AND run_at <= $3 AND (locked_until IS NULL OR locked_until < $3) \
             RETURNING id, tenant_id, kind, payload, attempts",
        )
        .bind(job_id)
        .bind(now + lease.as_micros() as i64)
        .bind(now)
        .fetch_optional(&self.write)
        .await?;
        row.map(|row| {
            let kind: String = row.try_get("kind")?;
            let payload: String = row.try_get("payload")?;
            Ok(JobRecord {
                id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                job: Job::decode(&kind, &payload).map_err(|e| StoreError::Corrupt(e.0))?,
                attempts: row.try_get("attempts")?,
            })
        })
        .transpose()
    }

    /// Takes each of `job_ids` for `lease` that no other worker holds, in
    /// one statement; the jobs taken come back in the order given.
    pub async fn claim_jobs(&self, job_ids: &[&str], lease: Duration) -> StoreResult<Vec<JobRecord>> {
        if job_ids.is_empty() {
            return Ok(Vec::new());
        }
        let now = Timestamp::now().micros();
        let list: Vec<String> = (0..job_ids.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 \
             WHERE id IN ({}) AND run_at <= $2 AND (locked_until IS NULL OR locked_until < $2) \
             RETURNING id, tenant_id, kind, payload, attempts",
            list.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(now + lease.as_micros() as i64).bind(now);
        for id in job_ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.write).await?;
        let mut claimed: Vec<JobRecord> = rows
            .iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                let payload: String = row.try_get("payload")?;
                Ok(JobRecord {
                    id: row.try_get("id")?,
                    tenant_id: row.try_get("tenant_id")?,
                    job: Job::decode(&kind, &payload).map_err(|e| StoreError::Corrupt(e.0))?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect::<StoreResult<_>>()?;
        claimed.sort_by_key(|job| job_ids.iter().position(|id| *id == job.id));
        Ok(claimed)
    }

    /// Jobs that are due and not held: new ones nobody ran, and ones whose
    /// worker died holding them.
    /// At most `per_tenant` of each tenant (so one tenant's backlog cannot
    /// hide another's jobs), oldest first, of the given kinds.
    pub async fn due_jobs(&self, kinds: &[JobKind], per_tenant: i64, limit: i64) -> StoreResult<Vec<DueJob>> {
        let now = Timestamp::now().micros();
        // The oldest due jobs of each kind (a bounded scan of `jobs_kind_due`
        // per kind: an `IN` over the kinds, or a scan by due time, would sort
        // a backlog of 100,000 whole for every round), then at most
        // `per_tenant` of each tenant among them, oldest first.
        let oldest: Vec<String> = kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                format!(
                    "SELECT * FROM (SELECT id, tenant_id, run_at FROM jobs \
                     WHERE kind = '{}' AND run_at <= $1 AND (locked_until IS NULL OR locked_until < $1) \
                     ORDER BY run_at, id LIMIT $4) k{i}",
                    kind.as_str()
                )
            })
            .collect();
        let sql = format!(
            "SELECT id, tenant_id FROM ( \
               SELECT id, tenant_id, run_at, ROW_NUMBER() OVER (PARTITION BY tenant_id ORDER BY run_at, id) AS n \
               FROM ({}) oldest \
             ) due WHERE n <= $2 ORDER BY run_at, id LIMIT $3",
            oldest.join(" UNION ALL ")
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(per_tenant)
            .bind(limit)
            .bind(limit * OLDEST_PER_LIMIT)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DueJob {
                    id: r.try_get("id")?,
                    tenant_id: r.try_get("tenant_id")?,
                })
            })
            .collect()
    }

    /// Releases a failed job to be tried again at `retry_at`.
    pub async fn retry_job(&self, job_id: &str, error: &str, retry_at: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET locked_until = NULL, run_at = $2, last_error = $3 WHERE id = $1")
            .bind(job_id)
            .bind(retry_at.micros())
            .bind(error)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}

/// Jobs in a unit of work: written with the change that makes them
/// necessary, and removed with the change they make.
impl Unit<'_> {
    /// A job due now; with a `lease` it is held by this process, which runs
    /// it at once (see [`WRITER_LEASE`]).
    pub fn add_job(&mut self, job: &JobRecord, now: Timestamp, lease: Option<Duration>) {
        self.write(job_statement(job, now, lease));
    }

    /// A job due at `run_at`.
    pub fn add_job_at(&mut self, job: &JobRecord, run_at: Timestamp, now: Timestamp) {
        self.write(scheduled_job(job, run_at, now, None));
    }

    /// Removes a job; `false` when it was already gone (another worker ran
    /// it): then its effect must not happen again.
    pub async fn take_job(&mut self, job_id: &str) -> StoreResult<bool> {
        let removed = sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(job_id)
            .execute(&mut *self.conn)
            .await?;
        Ok(removed.rows_affected() > 0)
    }
}
