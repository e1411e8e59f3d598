//! The durable side of "score and route": the jobs outbox, reps with their
//! load, lead events, and writing a finished step in one transaction.

use std::time::Duration;

use serde_json::Value;
use sqlx::{Any, Row, Transaction};

use super::batch::{Statement, execute_all};
use super::group_commit::{Write, Written};
use super::plugins::PluginCall;
use super::routing::RouteStep;
use super::scoring::{ScoreWrite, ScoreWritten};
use super::{Store, StoreError, StoreResult, TenantStore, new_id};
use crate::clock::Timestamp;

pub const SCORE_AND_ROUTE: &str = "score_and_route";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub payload: Value,
    pub attempts: i32,
}

/// A rep as a router sees them.
#[derive(Debug, Clone)]
pub struct RepRecord {
    pub id: String,
    pub name: String,
    pub email: String,
    pub regions: Vec<String>,
    pub specialties: Vec<String>,
    pub capacity: i32,
    pub available: bool,
    pub open_leads: i64,
}

impl RepRecord {
    /// Available and under capacity (0: no limit).
    pub fn can_take(&self) -> bool {
        self.available && (self.capacity <= 0 || self.open_leads < i64::from(self.capacity))
    }

    /// The rep as a router plugin is handed them.
    pub fn as_candidate(&self) -> crate::plugins::bindings::Rep {
        crate::plugins::bindings::Rep {
            id: self.id.clone(),
            name: self.name.clone(),
            regions: self.regions.clone(),
            specialties: self.specialties.clone(),
            capacity: self.capacity.max(0) as u32,
            open_leads: self.open_leads.clamp(0, u32::MAX as i64) as u32,
            available: self.available,
        }
    }
}

/// One entry of a lead's timeline besides its touches.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EventRecord {
    pub kind: String,
    pub detail: Value,
    pub at: Timestamp,
}

/// How a plugin call went, for its counters.
#[derive(Debug, Clone)]
pub struct PluginOutcome {
    pub plugin_id: String,
    pub plugin_name: String,
    pub error: Option<String>,
}

/// Everything one score-and-route step writes.
#[derive(Debug, Clone, Default)]
pub struct ProcessedLead {
    pub lead_id: String,
    /// The owner before this step, to keep reps' open-lead counts.
    pub previous_owner: Option<String>,
    /// The new score, when the step scored the lead.
    pub scored: Option<ScoreWrite>,
    /// Where the step routed the lead, when it routed it.
    pub route: Option<RouteStep>,
    pub events: Vec<(String, Value)>,
    pub calls: Vec<PluginCall>,
    pub outcomes: Vec<PluginOutcome>,
}

/// How a finished step was written.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    /// Plugins this step switched off.
    pub switched_off: Vec<String>,
    /// The lead was re-scored meanwhile; nothing was written and the step
    /// should run again.
    pub stale: bool,
}

/// How long the process that writes a job holds it: it runs the job at
/// once, and only if it dies does the job pass to a sweeper.
pub const WRITER_LEASE: Duration = Duration::from_secs(600);

/// An outbox row, due now. With a `lease` it is born held by the writing
/// process, which runs it at once without a claim; only if that process dies
/// does the job pass to a sweeper.
pub(super) fn job_statement(
    kind: &str,
    job_id: &str,
    tenant_id: &str,
    payload: &Value,
    now: Timestamp,
    lease: Option<Duration>,
) -> Statement {
    scheduled_job(kind, job_id, tenant_id, payload, now, now, lease)
}

/// An outbox row due at `run_at`.
pub(super) fn scheduled_job(
    kind: &str,
    job_id: &str,
    tenant_id: &str,
    payload: &Value,
    run_at: Timestamp,
    now: Timestamp,
    lease: Option<Duration>,
) -> Statement {
    Statement::new(
        "INSERT INTO jobs (id, tenant_id, kind, payload, run_at, attempts, locked_until, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(job_id)
    .bind(tenant_id)
    .bind(kind)
    .bind(payload.to_string())
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
            let payload: String = row.try_get("payload")?;
            Ok(JobRecord {
                id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                kind: row.try_get("kind")?,
                payload: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                attempts: row.try_get("attempts")?,
            })
        })
        .transpose()
    }

    /// Jobs that are due and not held: new ones nobody ran, and ones whose
    /// worker died holding them.
    pub async fn due_jobs(&self, limit: i64) -> StoreResult<Vec<String>> {
        let now = Timestamp::now().micros();
        let rows = sqlx::query(
            "SELECT id FROM jobs WHERE run_at <= $1 AND (locked_until IS NULL OR locked_until < $1) \
             ORDER BY run_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
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

impl TenantStore<'_> {
    /// The tenant's reps with how many open leads each holds.
    pub async fn reps(&self) -> StoreResult<Vec<RepRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, email, regions, specialties, capacity, available, open_leads \
             FROM users WHERE tenant_id = $1 AND role = 'rep' ORDER BY id",
        )
        .bind(&self.tenant_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                let list = |column: &str| -> StoreResult<Vec<String>> {
                    let text: String = row.try_get(column)?;
                    Ok(serde_json::from_str(&text).unwrap_or_default())
                };
                Ok(RepRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    email: row.try_get("email")?,
                    regions: list("regions")?,
                    specialties: list("specialties")?,
                    capacity: row.try_get("capacity")?,
                    available: row.try_get::<i64, _>("available")? != 0,
                    open_leads: row.try_get::<i64, _>("open_leads")?,
                })
            })
            .collect()
    }

    pub async fn lead_events(&self, lead_id: &str) -> StoreResult<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT kind, detail, created_at FROM lead_events WHERE tenant_id = $1 AND lead_id = $2 \
             ORDER BY created_at, id",
        )
        .bind(&self.tenant_id)
        .bind(lead_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                let detail: String = row.try_get("detail")?;
                Ok(EventRecord {
                    kind: row.try_get("kind")?,
                    detail: serde_json::from_str(&detail).unwrap_or(Value::Null),
                    at: Timestamp(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    /// Writes a finished step and removes its job, in one transaction, so a
    /// crash either keeps the job (and the step runs again) or keeps both.
    /// A plugin failing `disable_after` times in a row is switched off;
    /// returns the names of plugins switched off by this step.
    pub async fn finish_processing(
        &self,
        job_id: &str,
        done: &ProcessedLead,
        disable_after: i32,
    ) -> StoreResult<Finished> {
        match &self.store.write_queue {
            Some(queue) => {
                let write = Write::Finish {
                    job_id: job_id.to_owned(),
                    done: Box::new(done.clone()),
                    disable_after,
                };
                match queue.write(&self.tenant_id, write).await? {
                    Written::Finish(finished) => Ok(finished),
                    Written::Submission(_) => unreachable!("a finished step yields switched-off plugins"),
                }
            }
            None => {
                let mut tx = self.store.begin_write().await?;
                let switched_off = self.finish_in(&mut tx, job_id, done, disable_after).await?;
                tx.commit().await?;
                Ok(switched_off)
            }
        }
    }

    pub(super) async fn finish_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        job_id: &str,
        done: &ProcessedLead,
        disable_after: i32,
    ) -> StoreResult<Finished> {
        let now = Timestamp::now();
        // A score computed from an older revision of the lead is not written
        // (checked before anything is, so a batch around this is unharmed).
        if let Some(write) = &done.scored {
            let rev: Option<i64> = sqlx::query("SELECT score_rev FROM leads WHERE tenant_id = $1 AND id = $2")
                .bind(&self.tenant_id)
                .bind(&done.lead_id)
                .fetch_optional(&mut **tx)
                .await?
                .map(|row| row.try_get("score_rev"))
                .transpose()?;
            if rev != Some(write.expected_rev) {
                return Ok(Finished {
                    stale: true,
                    ..Default::default()
                });
            }
        }
        // Removing the job is the guard: if it is gone, this step already ran.
        let removed = sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(job_id)
            .execute(&mut **tx)
            .await?;
        if removed.rows_affected() == 0 {
            return Ok(Finished::default());
        }
        if let Some(write) = &done.scored
            && self.write_score_in(tx, write, now).await? == ScoreWritten::Stale
        {
            // Only a concurrent PostgreSQL writer gets here, between the
            // check above and this write; failing rolls back the job removal.
            return Err(StoreError::Conflict("the lead was re-scored concurrently".into()));
        }
        let mut statements = vec![
            Statement::new("UPDATE leads SET processed_at = $3, updated_at = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(&self.tenant_id)
                .bind(&done.lead_id)
                .bind(now.micros()),
        ];
        for (kind, detail) in &done.events {
            statements.push(self.event_statement(&done.lead_id, kind, detail, now));
        }
        for call in &done.calls {
            statements.push(
                Statement::new(
                    "INSERT INTO plugin_calls (id, tenant_id, plugin_id, lead_id, ok, error, result, logs, stdout, \
                     stderr, fuel_used, duration_us, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(new_id())
                .bind(&self.tenant_id)
                .bind(&call.plugin_id)
                .bind(call.lead_id.clone())
                .bind(i32::from(call.error.is_none()))
                .bind(call.error.clone())
                .bind(call.result.as_ref().map(Value::to_string))
                .bind(call.logs.to_string())
                .bind(&call.stdout)
                .bind(&call.stderr)
                .bind(call.fuel_used as i64)
                .bind(call.duration_us as i64)
                .bind(now.micros()),
            );
        }
        // A good call only bumps counters; a failure may switch the plugin
        // off, which the loop below notices row by row.
        for outcome in done.outcomes.iter().filter(|o| o.error.is_none()) {
            statements.push(
                Statement::new(
                    "UPDATE plugins SET calls = calls + 1, last_called_at = $3, consecutive_failures = 0 \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(&self.tenant_id)
                .bind(&outcome.plugin_id)
                .bind(now.micros()),
            );
        }
        execute_all(self.store.backend, tx, &statements).await?;

        let mut switched_off = Vec::new();
        for outcome in done.outcomes.iter().filter(|o| o.error.is_some()) {
            let failed = i32::from(outcome.error.is_some());
            let reason = outcome
                .error
                .as_ref()
                .map(|e| format!("switched off after {disable_after} failures in a row; the last: {e}"));
            let row = sqlx::query(
                "UPDATE plugins SET calls = calls + 1, last_called_at = $3, failures = failures + $4, \
                   consecutive_failures = CASE WHEN $4 = 1 THEN consecutive_failures + 1 ELSE 0 END, \
                   last_error = CASE WHEN $4 = 1 THEN $5 ELSE last_error END, \
                   enabled = CASE WHEN $4 = 1 AND consecutive_failures + 1 >= $6 THEN 0 ELSE enabled END, \
                   disabled_reason = CASE WHEN $4 = 1 AND consecutive_failures + 1 >= $6 AND enabled = 1 \
                                          THEN $7 ELSE disabled_reason END \
                 WHERE tenant_id = $1 AND id = $2 \
                 RETURNING CASE WHEN $4 = 1 AND consecutive_failures = $6 AND enabled = 0 THEN 1 ELSE 0 END AS switched_off",
            )
            .bind(&self.tenant_id)
            .bind(&outcome.plugin_id)
            .bind(now.micros())
            .bind(failed)
            .bind(outcome.error.clone())
            .bind(disable_after)
            .bind(reason.clone())
            .fetch_optional(&mut **tx)
            .await?;
            let off = match row {
                Some(row) => row.try_get::<i64, _>("switched_off")? != 0,
                None => false,
            };
            if off {
                tracing::warn!(tenant = %self.tenant_id, plugin = %outcome.plugin_name, "plugin switched off");
                let detail = serde_json::json!({"plugin": outcome.plugin_name, "reason": reason});
                self.event_statement(&done.lead_id, "plugin_disabled", &detail, now)
                    .query()
                    .execute(&mut **tx)
                    .await?;
                switched_off.push(outcome.plugin_name.clone());
            }
        }
        if let Some(route) = &done.route {
            // Last, so a team's lock (PostgreSQL) is held only to the commit.
            // Only a new lead's first step routes it: that is when it is announced.
            let data = serde_json::json!({
                "lead_id": done.lead_id,
                "score": done.scored.as_ref().map(|s| s.score),
                "tier": done.scored.as_ref().map(|s| s.tier.clone()),
            });
            self.emit(tx, "lead.created", data, now).await?;
            self.route_in(tx, &done.lead_id, done.previous_owner.as_deref(), route, now)
                .await?;
        }
        Ok(Finished {
            switched_off,
            stale: false,
        })
    }

    pub(super) fn event_statement(&self, lead_id: &str, kind: &str, detail: &Value, now: Timestamp) -> Statement {
        Statement::new(
            "INSERT INTO lead_events (id, tenant_id, lead_id, kind, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(&self.tenant_id)
        .bind(lead_id)
        .bind(kind)
        .bind(detail.to_string())
        .bind(now.micros())
    }
}
