//! The durable side of scoring: the tenant's model (every version kept),
//! background re-score runs, and writing new scores.
//!
//! Every score write names the lead's `score_rev` it was computed from and
//! bumps it, so two re-scores of one lead racing (an event, a decay job, a
//! model change) cannot overwrite each other: the loser sees "stale" and
//! computes again from what the winner wrote.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;
use sqlx::{Any, AnyConnection, Row, Transaction};

use super::batch::{Bind, Params, Statement, bind_all, multi_row_insert};
use super::jobs::{WRITER_LEASE, job_statement};
use super::unit::Unit;
use super::{Backend, StoreError, StoreResult, TenantStore, new_id, word};
use crate::clock::Timestamp;
use crate::domain::{
    DashboardChange, Job, JobKind, JobRecord, LeadJob, RescoreRunJob, RunStatus, ScoreWrite, Stage, Tier,
};

/// Rows per multi-row statement: well under both backends' parameter limits.
const ROWS_PER_STATEMENT: usize = 500;

#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredModel {
    pub version: i32,
    pub model: Value,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RescoreRun {
    pub id: String,
    pub model_version: i32,
    pub status: RunStatus,
    pub total: i64,
    pub done: i64,
    pub changed: i64,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    #[serde(skip)]
    pub cursor: Option<String>,
}

/// A run just started, with the job that carries it out (held by this
/// process, to run at once).
pub struct StartedRescore {
    pub run: RescoreRun,
    pub job: JobRecord,
}

impl TenantStore<'_> {
    pub async fn scoring_model(&self) -> StoreResult<Option<StoredModel>> {
        let row = sqlx::query(
            "SELECT version, model, created_by, created_at FROM scoring_models WHERE tenant_id = $1 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(&self.tenant_id)
        .fetch_optional(&self.store.read)
        .await?;
        row.map(|row| {
            let model: String = row.try_get("model")?;
            Ok(StoredModel {
                version: row.try_get::<i64, _>("version")? as i32,
                model: serde_json::from_str(&model).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                created_by: row.try_get("created_by")?,
                created_at: Timestamp(row.try_get("created_at")?),
            })
        })
        .transpose()
    }

    /// Stores a new model version and starts re-scoring every lead with it;
    /// a run still going for an older version is superseded.
    pub async fn save_scoring_model(&self, model: &Value, by: Option<&str>) -> StoreResult<StartedRescore> {
        let now = Timestamp::now();
        let mut tx = self.store.begin_write().await?;
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM scoring_models WHERE tenant_id = $1")
            .bind(&self.tenant_id)
            .fetch_one(&mut *tx)
            .await?;
        let version = row.try_get::<i64, _>("v")? as i32 + 1;
        sqlx::query(
            "INSERT INTO scoring_models (tenant_id, version, model, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&self.tenant_id)
        .bind(version)
        .bind(model.to_string())
        .bind(by)
        .bind(now.micros())
        .execute(&mut *tx)
        .await?;
        super::setting_changes::log_change(&mut tx, &self.tenant_id, "scoring_model", by, model, now).await?;
        let started = self.start_rescore_in(&mut tx, version, now).await?;
        tx.commit().await?;
        Ok(started)
    }

    /// Re-scores every lead with the current model (after a scorer plugin
    /// changed, say).
    pub async fn start_rescore(&self) -> StoreResult<StartedRescore> {
        let version = self.scoring_model().await?.map_or(0, |m| m.version);
        let now = Timestamp::now();
        let mut tx = self.store.begin_write().await?;
        let started = self.start_rescore_in(&mut tx, version, now).await?;
        tx.commit().await?;
        Ok(started)
    }

    async fn start_rescore_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        version: i32,
        now: Timestamp,
    ) -> StoreResult<StartedRescore> {
        sqlx::query(
            "UPDATE rescore_runs SET status = 'superseded', finished_at = $2 WHERE tenant_id = $1 AND status = 'running'",
        )
        .bind(&self.tenant_id)
        .bind(now.micros())
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM jobs WHERE tenant_id = $1 AND kind = $2")
            .bind(&self.tenant_id)
            .bind(JobKind::RescoreTenant.as_str())
            .execute(&mut **tx)
            .await?;
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM leads WHERE tenant_id = $1")
            .bind(&self.tenant_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?;
        let run = RescoreRun {
            id: new_id(),
            model_version: version,
            status: RunStatus::Running,
            total,
            done: 0,
            changed: 0,
            started_at: now,
            finished_at: None,
            cursor: None,
        };
        sqlx::query(
            "INSERT INTO rescore_runs (id, tenant_id, model_version, status, total, started_at) \
             VALUES ($1, $2, $3, 'running', $4, $5)",
        )
        .bind(&run.id)
        .bind(&self.tenant_id)
        .bind(version)
        .bind(total)
        .bind(now.micros())
        .execute(&mut **tx)
        .await?;
        let job = Job::RescoreTenant(RescoreRunJob { run_id: run.id.clone() });
        let job = JobRecord::held(new_id(), &self.tenant_id, job);
        job_statement(&job, now, Some(WRITER_LEASE))
            .query()
            .execute(&mut **tx)
            .await?;
        Ok(StartedRescore { run, job })
    }

    pub async fn rescore_run(&self, run_id: &str) -> StoreResult<RescoreRun> {
        let row = sqlx::query("SELECT * FROM rescore_runs WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(run_id)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        run_from_row(&row)
    }

    /// Newest first.
    pub async fn rescore_runs(&self, limit: i64) -> StoreResult<Vec<RescoreRun>> {
        let rows =
            sqlx::query("SELECT * FROM rescore_runs WHERE tenant_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2")
                .bind(&self.tenant_id)
                .bind(limit)
                .fetch_all(&self.store.read)
                .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Writes one chunk of a run: the scores, the run's progress and cursor,
    /// and the job's renewed lease, together, if `job` still holds its
    /// claim (its `attempts` is the claim's token: a worker that took the
    /// job over after the lease ran out counted another attempt). `None`
    /// when the run was superseded (its job is gone) or taken over, and
    /// nothing was written.
    pub async fn write_rescore_chunk(
        &self,
        job: &JobRecord,
        run_id: &str,
        writes: PreparedScores,
        seen: usize,
        cursor: &str,
        lease: Duration,
    ) -> StoreResult<Option<usize>> {
        let now = Timestamp::now();
        let mut tx = self.store.begin_write().await?;
        let held = sqlx::query("UPDATE jobs SET locked_until = $2 WHERE id = $1 AND attempts = $3")
            .bind(&job.id)
            .bind(now.plus(lease).micros())
            .bind(job.attempts)
            .execute(&mut *tx)
            .await?;
        if held.rows_affected() == 0 {
            return Ok(None);
        }
        let written = self.write_scores(&mut tx, writes, now).await?;
        sqlx::query(
            "UPDATE rescore_runs SET done = done + $3, changed = changed + $4, cursor = $5 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant_id)
        .bind(run_id)
        .bind(seen as i64)
        .bind(written.len() as i64)
        .bind(cursor)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(written.len()))
    }

    /// Marks a run done and removes its job.
    pub async fn finish_rescore(&self, job: &JobRecord, run_id: &str) -> StoreResult<()> {
        let now = Timestamp::now();
        let mut tx = self.store.begin_write().await?;
        let removed = sqlx::query("DELETE FROM jobs WHERE id = $1 AND attempts = $2")
            .bind(&job.id)
            .bind(job.attempts)
            .execute(&mut *tx)
            .await?;
        if removed.rows_affected() > 0 {
            sqlx::query(
                "UPDATE rescore_runs SET status = 'done', finished_at = $3 WHERE tenant_id = $1 AND id = $2 \
                 AND status = 'running'",
            )
            .bind(&self.tenant_id)
            .bind(run_id)
            .bind(now.micros())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Turns score writes into rows ready to send, outside any transaction.
    pub fn prepare_scores(&self, writes: &[ScoreWrite]) -> PreparedScores {
        prepare(&self.tenant_id, writes)
    }
}

/// The one path of a score write: the score's rows (the timeline entries,
/// a stage entry, the decay job) for a whole chunk of a re-score, or for one
/// lead's step. They differ only in how the lead's own row is updated: a
/// chunk checks each lead's revision in one update (and skips the stale); a
/// step's guard already holds its lead at the revision, so its columns join
/// the step's one update of that row.
impl Unit<'_> {
    pub fn write_score(&mut self, write: &ScoreWrite, now: Timestamp) {
        let mut prepared = prepare(self.tenant_id, std::slice::from_ref(write)).0;
        for row in prepared.iter_mut().flat_map(|w| std::mem::take(&mut w.events)) {
            self.pending.add_timeline_row(at(row, now));
        }
        for statement in stage_statements(self.backend, &mut prepared, now)
            .into_iter()
            .chain(decay_statements(self.backend, self.tenant_id, &mut prepared, now))
        {
            self.write(statement);
        }
        for change in dashboard_changes(write.tier, write.stage.as_ref().map(|s| s.stage), now) {
            self.count_for_dashboard(&write.lead_id, change);
        }
        let tenant = self.tenant_id;
        let now = Bind::Int(now.micros());
        let mut set = |column, value| self.pending.set_lead(tenant, &write.lead_id, column, value);
        set("score", Bind::Int(write.score.into()));
        set("tier", Bind::from(write.tier.as_str()));
        set("score_parts", Bind::from(write.parts.to_string()));
        set("score_rev", Bind::Int(write.expected_rev + 1));
        set("scored_at", now.clone());
        if let Some(entry) = &write.stage {
            set("stage", Bind::from(entry.stage.as_str()));
            set("stage_entered_at", now);
        }
    }
}

/// Turns score writes into rows ready to send.
fn prepare(tenant_id: &str, writes: &[ScoreWrite]) -> PreparedScores {
    PreparedScores(
        writes
            .iter()
            .map(|w| PreparedScore {
                lead_id: w.lead_id.clone(),
                counted: (w.tier, w.stage.as_ref().map(|s| s.stage)),
                update: vec![
                    Bind::from(&w.lead_id),
                    Bind::Int(w.expected_rev),
                    Bind::from(w.score),
                    Bind::from(w.tier.as_str()),
                    Bind::from(w.parts.to_string()),
                    Bind::from(w.stage.as_ref().map(|s| s.stage.as_str())),
                ],
                events: w
                    .events
                    .iter()
                    .map(|(kind, detail)| {
                        vec![
                            Bind::from(new_id()),
                            Bind::from(tenant_id),
                            Bind::from(&w.lead_id),
                            Bind::from(kind.as_str()),
                            Bind::from(detail.to_string()),
                        ]
                    })
                    .collect(),
                stage: w.stage.as_ref().map(|entry| {
                    vec![
                        Bind::from(new_id()),
                        Bind::from(tenant_id),
                        Bind::from(&w.lead_id),
                        Bind::from(entry.stage.as_str()),
                        Bind::from(entry.from.as_str()),
                        Bind::from(&entry.reason),
                        Bind::from(&entry.by),
                    ]
                }),
                decay: match w.next_check {
                    Some(at) => Decay::Due(vec![
                        Bind::from(decay_job_id(&w.lead_id)),
                        Bind::from(tenant_id),
                        Bind::from(JobKind::Decay.as_str()),
                        Bind::from(
                            Job::Decay(LeadJob {
                                lead_id: w.lead_id.clone(),
                            })
                            .payload()
                            .to_string(),
                        ),
                        Bind::Int(at.micros()),
                        Bind::Int(0),
                    ]),
                    None => Decay::Clear(decay_job_id(&w.lead_id)),
                },
            })
            .collect(),
    )
}

impl TenantStore<'_> {
    /// Writes the scores whose lead is still at the expected revision, with
    /// their timeline entries, stage entries and decay jobs; returns the ids
    /// of the leads written. The rest are stale and left as they are.
    async fn write_scores(
        &self,
        conn: &mut AnyConnection,
        mut writes: PreparedScores,
        now: Timestamp,
    ) -> StoreResult<HashSet<String>> {
        let backend = self.store.backend;
        let mut written = HashSet::with_capacity(writes.0.len());
        for chunk in writes.0.chunks_mut(ROWS_PER_STATEMENT) {
            written.extend(self.update_scores(conn, chunk, now).await?);
        }
        let mut landed: Vec<PreparedScore> = writes.0.into_iter().filter(|w| written.contains(&w.lead_id)).collect();
        let mut counts = super::dashboard::PendingCounts::default();
        for w in &landed {
            for change in dashboard_changes(w.counted.0, w.counted.1, now) {
                counts.push(&self.tenant_id, &w.lead_id, change);
            }
        }
        // One batch per chunk keeps each batch's parameters under the limit.
        for chunk in landed.chunks_mut(ROWS_PER_STATEMENT) {
            let timeline = multi_row_insert(
                backend,
                "INSERT INTO lead_events (id, tenant_id, lead_id, kind, detail, created_at) VALUES ",
                chunk
                    .iter_mut()
                    .flat_map(|w| std::mem::take(&mut w.events))
                    .map(|row| at(row, now)),
                "",
            );
            let mut statements: Vec<Statement> = timeline.into_iter().collect();
            statements.extend(stage_statements(backend, chunk, now));
            statements.extend(decay_statements(backend, &self.tenant_id, chunk, now));
            if !statements.is_empty() {
                backend.execute_batch(conn, &statements).await?;
            }
        }
        let counted = counts.statements(backend, conn).await?;
        if !counted.is_empty() {
            backend.execute_batch(conn, &counted).await?;
        }
        Ok(written)
    }

    async fn update_scores(
        &self,
        conn: &mut AnyConnection,
        writes: &mut [PreparedScore],
        now: Timestamp,
    ) -> StoreResult<Vec<String>> {
        let mut p = Params::new(self.store.backend);
        let mut rows = Vec::with_capacity(writes.len());
        for w in writes {
            let row: Vec<String> = std::mem::take(&mut w.update).into_iter().map(|b| p.push(b)).collect();
            let [id, rev, score, tier, parts, stage] = &row[..] else {
                unreachable!("an update row has six values")
            };
            rows.push(format!(
                "({id}, CAST({rev} AS BIGINT), CAST({score} AS INTEGER), {tier}, {parts}, {stage})"
            ));
        }
        let values = rows.join(", ");
        // Placeholders in the order they appear (SQLite's are positional).
        let entered = p.push(now.micros());
        let scored = p.push(now.micros());
        let updated = p.push(now.micros());
        let tenant = p.push(&self.tenant_id);
        // The unary `+` on `v.rev` keeps SQLite from building an automatic
        // index on the chunk by revision (most leads share one) and scanning
        // the whole leads table against it; without it the chunk is the outer
        // loop and each lead one lookup by (tenant_id, id). PostgreSQL is
        // unaffected.
        let sql = format!(
            "WITH v (id, rev, score, tier, parts, stage) AS (VALUES {values}) \
             UPDATE leads SET score = v.score, tier = v.tier, score_parts = v.parts, \
               stage = COALESCE(v.stage, leads.stage), \
               stage_entered_at = CASE WHEN v.stage IS NULL THEN leads.stage_entered_at ELSE {entered} END, \
               score_rev = leads.score_rev + 1, scored_at = {scored}, updated_at = {updated} \
             FROM v WHERE leads.tenant_id = {tenant} AND leads.id = v.id AND leads.score_rev = +v.rev \
             RETURNING leads.id AS id"
        );
        let rows = bind_all(sqlx::query(&sql), p.binds).fetch_all(&mut *conn).await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }
}

fn stage_statements(backend: Backend, writes: &mut [PreparedScore], now: Timestamp) -> Option<Statement> {
    multi_row_insert(
        backend,
        "INSERT INTO lead_stages (id, tenant_id, lead_id, stage, from_stage, reason, changed_by, entered_at) VALUES ",
        writes.iter_mut().filter_map(|w| w.stage.take()).map(|row| at(row, now)),
        "",
    )
}

/// Keeps one decay job per lead (its id derives from the lead's), due when
/// the score next changes by itself; removes it when there is none.
fn decay_statements(backend: Backend, tenant_id: &str, writes: &mut [PreparedScore], now: Timestamp) -> Vec<Statement> {
    let mut due = Vec::new();
    let mut cleared = Vec::new();
    for w in writes {
        match std::mem::replace(&mut w.decay, Decay::Clear(String::new())) {
            Decay::Due(row) => due.push(at(row, now)),
            Decay::Clear(id) => cleared.push(id),
        }
    }
    let scheduled = multi_row_insert(
        backend,
        "INSERT INTO jobs (id, tenant_id, kind, payload, run_at, attempts, created_at) VALUES ",
        due.into_iter(),
        " ON CONFLICT (id) DO UPDATE SET run_at = excluded.run_at, locked_until = NULL, attempts = 0",
    );
    let clear = (!cleared.is_empty()).then(|| {
        let mut p = Params::new(backend);
        let tenant = p.push(tenant_id);
        let ids: Vec<String> = cleared.into_iter().map(|id| p.push(id)).collect();
        // By id (the primary key). `|| ''` keeps both planners off
        // `jobs_kind` (tenant, kind), which they pick when statistics were
        // taken with few jobs, and which then filters every job of the
        // tenant for each statement (24 ms instead of 0.6 ms per 500 ids at
        // 80,000 decay jobs on PostgreSQL).
        Statement {
            sql: format!(
                "DELETE FROM jobs WHERE tenant_id || '' = {tenant} AND id IN ({})",
                ids.join(", ")
            ),
            binds: p.binds,
        }
    });
    scheduled.into_iter().chain(clear).collect()
}

/// Score writes made ready to send ahead of the transaction: JSON
/// serialised, row ids made. A bulk re-score prepares the next chunk while
/// the previous one is being written.
pub struct PreparedScores(Vec<PreparedScore>);

impl PreparedScores {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One lead's rows; each lacks its last column, the time of the write.
struct PreparedScore {
    lead_id: String,
    /// The tier and the stage entered, as the dashboard counts them.
    counted: (Tier, Option<Stage>),
    /// id, rev, score, tier, parts, stage: a row of the `leads` update (all of it).
    update: Vec<Bind>,
    /// `lead_events`: id, tenant_id, lead_id, kind, detail.
    events: Vec<Vec<Bind>>,
    /// `lead_stages`: id, tenant_id, lead_id, stage, from_stage, reason, changed_by.
    stage: Option<Vec<Bind>>,
    decay: Decay,
}

enum Decay {
    /// `jobs`: id, tenant_id, kind, payload, run_at, attempts.
    Due(Vec<Bind>),
    /// No decay job: remove the one with this id, if any.
    Clear(String),
}

/// What a score write changes on the dashboard: the tier, and the stage
/// a promotion entered.
fn dashboard_changes(tier: Tier, stage: Option<Stage>, now: Timestamp) -> Vec<DashboardChange> {
    let mut changes = vec![DashboardChange::Tier(tier)];
    changes.extend(stage.map(|to| DashboardChange::Stage { to, at: now }));
    changes
}

/// A prepared row completed with the time of the write.
fn at(mut row: Vec<Bind>, now: Timestamp) -> Vec<Bind> {
    row.push(Bind::Int(now.micros()));
    row
}

/// The id of a lead's decay job: one per lead, rescheduled in place.
pub fn decay_job_id(lead_id: &str) -> String {
    format!("decay-{lead_id}")
}

fn run_from_row(row: &sqlx::any::AnyRow) -> StoreResult<RescoreRun> {
    Ok(RescoreRun {
        id: row.try_get("id")?,
        model_version: row.try_get::<i64, _>("model_version")? as i32,
        status: word(row, "status")?,
        total: row.try_get("total")?,
        done: row.try_get("done")?,
        changed: row.try_get("changed")?,
        started_at: Timestamp(row.try_get("started_at")?),
        finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(Timestamp),
        cursor: row.try_get("cursor")?,
    })
}
