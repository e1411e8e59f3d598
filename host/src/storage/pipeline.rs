//! The durable side of "score and route": the jobs outbox, reps with their
//! load, lead events, and writing a finished step in one transaction.

use std::time::Duration;

use serde_json::Value;
use sqlx::{Any, Row, Transaction};

use super::batch::{Bind, PendingWrites, Statement};
use super::followup::stored_policy;
use super::group_commit::{Write, Written};
use super::routing::OwnerChange;
use super::scoring::multi_row_insert;
use super::{Backend, Store, StoreError, StoreResult, TenantStore, new_id, word};
use crate::clock::Timestamp;
use crate::domain::{Job, JobRecord, ProcessedLead, RouteTo, ScoreWrite, Stage, Tier};

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
            None => self.finish_alone(job_id, done, disable_after).await,
        }
    }

    /// A finished step in a transaction of its own.
    pub(super) async fn finish_alone(
        &self,
        job_id: &str,
        done: &ProcessedLead,
        disable_after: i32,
    ) -> StoreResult<Finished> {
        let mut tx = self.store.begin_write().await?;
        let mut pending = PendingWrites::default();
        let finished = self
            .finish_in(&mut tx, &mut pending, job_id, done, disable_after)
            .await?;
        pending.settle(self.store.backend, &mut tx).await?;
        tx.commit().await?;
        Ok(finished)
    }

    /// A finished step: the guard (one round trip), then everything else
    /// added to `pending`, in which the lead's own row is updated once. A
    /// plugin failure or a team's pick reads (and so settles `pending`) first.
    pub(super) async fn finish_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        pending: &mut PendingWrites,
        job_id: &str,
        done: &ProcessedLead,
        disable_after: i32,
    ) -> StoreResult<Finished> {
        let now = Timestamp::now();
        let backend = self.store.backend;
        if pending.holds_lead(&self.tenant_id, &done.lead_id) {
            // Another step of this lead in the same batch: see its writes.
            pending.settle(backend, tx).await?;
        }
        let Some(lead) = self.hold_for_step(tx, job_id, done).await? else {
            // Either the step already ran (its job is gone) or the lead was
            // re-scored since this step read it: then it must run again.
            let stale = match &done.scored {
                Some(write) => self.score_rev(tx, &done.lead_id).await? != Some(write.expected_rev),
                None => false,
            };
            return Ok(Finished {
                stale,
                ..Default::default()
            });
        };
        self.lock_plugins(tx, done).await?;
        let switched_off = self.count_failures(tx, done, disable_after, now).await?;

        // The `?`-numbered statements first (see `batch::execute_all`).
        let mut batch = match &done.scored {
            Some(write) => self.score_rows(write, now),
            None => Vec::new(),
        };
        let mut lead_row = LeadRow::processed(now);
        let mut timeline = Vec::new();
        if let Some(write) = &done.scored {
            lead_row.scored(write, now);
        }
        let step_events = done.scored.iter().flat_map(|w| &w.events).chain(&done.events);
        for (kind, detail) in step_events {
            timeline.push(self.timeline_row(&done.lead_id, kind, detail.to_string()));
        }
        batch.extend(self.call_records(done, now));
        if let Some(route) = &done.route {
            // Only a new lead's first step routes it: that is when it is announced.
            let data = serde_json::json!({
                "lead_id": done.lead_id,
                "score": done.scored.as_ref().map(|s| s.score),
                "tier": done.scored.as_ref().map(|s| s.tier),
            });
            if lead.webhooks {
                batch.extend(self.emit_statements("lead.created", &data, now));
            }
            if matches!(route.to, RouteTo::Team { .. }) {
                // A team's pick reads its members' loads.
                pending.settle(backend, tx).await?;
            }
            let (owner, detail) = self.resolve_route(tx, route, now).await?;
            let scored = done.scored.as_ref();
            let change = OwnerChange {
                lead_id: &done.lead_id,
                previous: lead.owner.as_deref(),
                owner: owner.as_deref(),
                tier: scored.map_or(lead.tier, |s| s.tier),
                stage: scored.and_then(|s| s.stage.as_ref()).map_or(lead.stage, |s| s.stage),
            };
            let (due, statements) = self.owner_changed(&change, lead.policy.as_ref(), lead.webhooks, now);
            batch.extend(statements);
            timeline.push(self.timeline_row(&done.lead_id, "routed", detail.to_string()));
            lead_row.owned(owner, due, now);
        }
        // The timeline's rows as one statement (`?`: before the `$N` ones).
        batch.splice(0..0, self.timeline_insert(timeline.into_iter(), now));
        batch.push(lead_row.update(&self.tenant_id, &done.lead_id));
        pending.add_step(&self.tenant_id, &done.lead_id, batch);
        Ok(Finished {
            switched_off,
            stale: false,
        })
    }

    /// Removes the step's job if the lead is still at the revision the step
    /// scored (holding the lead's row until commit on PostgreSQL), and reads
    /// what the rest of the step needs; `None` when either check fails.
    async fn hold_for_step(
        &self,
        tx: &mut Transaction<'_, Any>,
        job_id: &str,
        done: &ProcessedLead,
    ) -> StoreResult<Option<HeldLead>> {
        let lock = match self.store.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "", // one writer: nothing can change it meanwhile
        };
        let rev = match done.scored {
            Some(_) => " AND score_rev = $4",
            None => "",
        };
        let sql = format!(
            "DELETE FROM jobs WHERE id = $1 AND EXISTS \
               (SELECT 1 FROM leads WHERE tenant_id = $2 AND id = $3{rev}{lock}) \
             RETURNING (SELECT owner_id FROM leads WHERE tenant_id = $2 AND id = $3) AS owner_id, \
               (SELECT stage FROM leads WHERE tenant_id = $2 AND id = $3) AS stage, \
               (SELECT tier FROM leads WHERE tenant_id = $2 AND id = $3) AS tier, \
               (SELECT sla_policy FROM tenants WHERE id = $2) AS sla_policy, \
               (SELECT COUNT(*) FROM webhooks WHERE tenant_id = $2 AND enabled = 1) AS webhooks"
        );
        let mut query = sqlx::query(&sql).bind(job_id).bind(&self.tenant_id).bind(&done.lead_id);
        if let Some(write) = &done.scored {
            query = query.bind(write.expected_rev);
        }
        let Some(row) = query.fetch_optional(&mut **tx).await? else {
            return Ok(None);
        };
        Ok(Some(HeldLead {
            owner: row.try_get("owner_id")?,
            stage: word(&row, "stage")?,
            tier: word(&row, "tier")?,
            policy: stored_policy(row.try_get("sla_policy")?),
            webhooks: row.try_get::<i64, _>("webhooks")? > 0,
        }))
    }

    /// On PostgreSQL, locks the rows of the plugins that failed in the step,
    /// in id order, before any other shared row (a team's, reps'): a batch
    /// is one statement there, whose parts lock rows in no set order, and
    /// two steps deadlocked when each held a row the other wanted.
    async fn lock_plugins(&self, tx: &mut Transaction<'_, Any>, done: &ProcessedLead) -> StoreResult<()> {
        if self.store.backend != Backend::Postgres || done.failures().next().is_none() {
            return Ok(());
        }
        let mut ids: Vec<&str> = done.failures().map(|o| o.plugin_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT id FROM plugins WHERE tenant_id = $1 AND id IN ({}) ORDER BY id FOR UPDATE",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(&self.tenant_id);
        for id in ids {
            query = query.bind(id);
        }
        query.fetch_all(&mut **tx).await?;
        Ok(())
    }

    async fn score_rev(&self, tx: &mut Transaction<'_, Any>, lead_id: &str) -> StoreResult<Option<i64>> {
        sqlx::query("SELECT score_rev FROM leads WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(lead_id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|row| row.try_get("score_rev"))
            .transpose()
            .map_err(Into::into)
    }

    /// The records of the calls kept (see `PluginHost::keep_success`).
    fn call_records(&self, done: &ProcessedLead, now: Timestamp) -> Option<Statement> {
        let rows = done.calls.iter().map(|call| {
            vec![
                Bind::from(new_id()),
                Bind::from(&self.tenant_id),
                Bind::from(&call.plugin_id),
                Bind::from(call.lead_id.clone()),
                Bind::from(i32::from(call.error.is_none())),
                Bind::from(call.error.clone()),
                Bind::from(call.result.as_ref().map(Value::to_string)),
                Bind::from(call.logs.to_string()),
                Bind::from(&call.stdout),
                Bind::from(&call.stderr),
                Bind::Int(call.fuel_used as i64),
                Bind::Int(call.duration_us as i64),
                Bind::Int(now.micros()),
            ]
        });
        multi_row_insert(
            self.store.backend,
            "INSERT INTO plugin_calls (id, tenant_id, plugin_id, lead_id, ok, error, result, logs, stdout, \
             stderr, fuel_used, duration_us, created_at) VALUES ",
            rows,
            "",
        )
    }

    /// Counts each failed call on its plugin (after the plugin's earlier
    /// successes, which reset the count of failures in a row), switching it
    /// off after `disable_after` failures in a row; returns the names of the
    /// plugins switched off.
    async fn count_failures(
        &self,
        tx: &mut Transaction<'_, Any>,
        done: &ProcessedLead,
        disable_after: i32,
        now: Timestamp,
    ) -> StoreResult<Vec<String>> {
        for (plugin_id, calls, last_at) in &done.earlier_successes {
            self.successes_statement(plugin_id, *calls, *last_at)
                .query()
                .execute(&mut **tx)
                .await?;
        }
        let mut switched_off = Vec::new();
        for outcome in done.failures() {
            let reason = outcome
                .error
                .as_ref()
                .map(|e| format!("switched off after {disable_after} failures in a row; the last: {e}"));
            let row = sqlx::query(
                "UPDATE plugins SET calls = calls + 1, last_called_at = $3, failures = failures + 1, \
                   consecutive_failures = consecutive_failures + 1, last_error = $4, \
                   enabled = CASE WHEN consecutive_failures + 1 >= $5 THEN 0 ELSE enabled END, \
                   disabled_reason = CASE WHEN consecutive_failures + 1 >= $5 AND enabled = 1 \
                                          THEN $6 ELSE disabled_reason END \
                 WHERE tenant_id = $1 AND id = $2 \
                 RETURNING CASE WHEN consecutive_failures = $5 AND enabled = 0 THEN 1 ELSE 0 END AS switched_off",
            )
            .bind(&self.tenant_id)
            .bind(&outcome.plugin_id)
            .bind(now.micros())
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
        Ok(switched_off)
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

/// The lead as a step's guard found it, inside the step's transaction.
struct HeldLead {
    owner: Option<String>,
    stage: Stage,
    tier: Tier,
    policy: Option<crate::followup::SlaPolicy>,
    /// Whether the tenant has any webhook (else nothing is announced).
    webhooks: bool,
}

/// The one update of the lead's own row a finished step makes: on
/// PostgreSQL a batch is one statement, in which a row may change only once.
struct LeadRow {
    sets: Vec<(&'static str, Bind)>,
}

impl LeadRow {
    fn processed(now: Timestamp) -> Self {
        Self {
            sets: vec![
                ("processed_at", Bind::Int(now.micros())),
                ("updated_at", Bind::Int(now.micros())),
            ],
        }
    }

    fn scored(&mut self, write: &ScoreWrite, now: Timestamp) {
        let stage = write.stage.as_ref().map(|s| s.stage);
        let now = Bind::Int(now.micros());
        self.sets.extend([
            ("score", Bind::Int(write.score.into())),
            ("tier", Bind::from(write.tier.as_str())),
            ("score_parts", Bind::from(write.parts.to_string())),
            ("score_rev", Bind::Int(write.expected_rev + 1)),
            ("scored_at", now.clone()),
        ]);
        if let Some(stage) = stage {
            self.sets
                .extend([("stage", Bind::from(stage.as_str())), ("stage_entered_at", now)]);
        }
    }

    fn owned(&mut self, owner: Option<String>, due: Option<Timestamp>, now: Timestamp) {
        let assigned = owner.as_ref().map(|_| now.micros());
        self.sets.extend([
            ("owner_id", Bind::from(owner)),
            ("assigned_at", Bind::from(assigned)),
            ("touched_at", Bind::OptInt(None)),
            ("follow_up_due_at", Bind::from(due.map(Timestamp::micros))),
        ]);
    }

    fn update(self, tenant_id: &str, lead_id: &str) -> Statement {
        let sets: Vec<String> = self
            .sets
            .iter()
            .enumerate()
            .map(|(i, (column, _))| format!("{column} = ${}", i + 3))
            .collect();
        let mut statement = Statement::new(format!(
            "UPDATE leads SET {} WHERE tenant_id = $1 AND id = $2",
            sets.join(", ")
        ))
        .bind(tenant_id)
        .bind(lead_id);
        for (_, value) in self.sets {
            statement = statement.bind(value);
        }
        statement
    }
}
