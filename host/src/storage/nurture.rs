//! Nurture runs (one lead's place in one workflow), their log, lead tags
//! and the tenant settings a run reads (time zone, sender, sending rate).

use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::batch::{Bind, Statement};
use super::unit::Unit;
use super::{StoreError, StoreResult, TenantStore, new_id};
use crate::clock::Timestamp;
use crate::domain::WorkflowStatus;

/// A run as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRecord {
    pub id: String,
    #[serde(skip)]
    pub workflow_id: String,
    pub workflow: String,
    pub version: i32,
    pub lead_id: String,
    /// The index of the step to run next.
    pub step: i32,
    #[serde(skip)]
    pub seq: i64,
    /// A plugin step's actions left after its wait action.
    #[serde(skip)]
    pub resume: Option<Value>,
    pub waiting_for: Option<String>,
    pub wait_until: Option<Timestamp>,
    pub started_at: Timestamp,
    pub updated_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub end_reason: Option<String>,
}

pub(super) const RUN_COLUMNS: &str = "r.id, r.workflow_id, w.slug AS workflow, r.version, r.lead_id, r.step, r.seq, r.resume, \
     r.waiting_for, r.wait_until, r.started_at, r.updated_at, r.ended_at, r.end_reason";

impl RunRecord {
    pub(super) fn from_row(row: &AnyRow) -> StoreResult<Self> {
        let resume: Option<String> = row.try_get("resume")?;
        Ok(Self {
            id: row.try_get("id")?,
            workflow_id: row.try_get("workflow_id")?,
            workflow: row.try_get("workflow")?,
            version: row.try_get("version")?,
            lead_id: row.try_get("lead_id")?,
            step: row.try_get("step")?,
            seq: row.try_get("seq")?,
            resume: resume
                .map(|r| serde_json::from_str(&r))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("a run's resume position: {e}")))?,
            waiting_for: row.try_get("waiting_for")?,
            wait_until: row.try_get::<Option<i64>, _>("wait_until")?.map(Timestamp),
            started_at: Timestamp(row.try_get("started_at")?),
            updated_at: Timestamp(row.try_get("updated_at")?),
            ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(Timestamp),
            end_reason: row.try_get("end_reason")?,
        })
    }

    pub fn is_active(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// One line of a run's log: what a step did, or why it did not.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunLogRecord {
    pub step_id: String,
    pub outcome: String,
    pub detail: Value,
    pub created_at: Timestamp,
}

/// A workflow's current version, as enrolment reads it.
#[derive(Debug, Clone)]
pub struct ActiveVersion {
    pub workflow_id: String,
    pub slug: String,
    pub version: i32,
    pub definition: Value,
}

/// The tenant settings email and waits read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TenantSettings {
    /// An IANA time zone name ("Asia/Shanghai"); waits until a time of day use it.
    pub time_zone: String,
    /// The sender identity of the tenant's email ("Name <addr>").
    pub email_from: Option<String>,
    /// Emails sent at most per minute, across every process.
    pub emails_per_minute: i32,
    #[serde(skip)]
    pub link_key: String,
    /// The tenant's name (the placeholder sender's).
    #[serde(skip)]
    pub name: String,
}

impl TenantSettings {
    /// The sender of the tenant's email: its identity, or its name at a
    /// placeholder address.
    pub fn sender(&self) -> String {
        sender_or_placeholder(self.email_from.clone(), &self.name)
    }
}

/// Counts of a workflow's active runs at each step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepCount {
    pub step: i32,
    pub waiting: i64,
}

/// The emails a workflow's step queued, and how many were sent, opened
/// (by a person) and clicked.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StepEmails {
    pub queued: i64,
    pub sent: i64,
    pub opened: i64,
    pub clicked: i64,
}

fn parse_definition(text: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("workflow definition: {e}")))
}

impl TenantStore<'_> {
    /// Every active workflow at its current version.
    pub async fn active_workflow_versions(&self) -> StoreResult<Vec<ActiveVersion>> {
        let rows = sqlx::query(
            "SELECT w.id, w.slug, v.version, v.definition FROM workflows w \
             JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.current_version \
             WHERE w.tenant_id = $1 AND w.status = 'active' ORDER BY w.slug",
        )
        .bind(&self.tenant_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ActiveVersion {
                    workflow_id: row.try_get("id")?,
                    slug: row.try_get("slug")?,
                    version: row.try_get("version")?,
                    definition: parse_definition(&row.try_get::<String, _>("definition")?)?,
                })
            })
            .collect()
    }

    /// One version's definition and the workflow's status now.
    pub async fn run_workflow(&self, workflow_id: &str, version: i32) -> StoreResult<(WorkflowStatus, Value)> {
        let row = sqlx::query(
            "SELECT w.status, v.definition FROM workflows w \
             JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = $3 \
             WHERE w.tenant_id = $1 AND w.id = $2",
        )
        .bind(&self.tenant_id)
        .bind(workflow_id)
        .bind(version)
        .fetch_optional(&self.store.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok((
            super::word(&row, "status")?,
            parse_definition(&row.try_get::<String, _>("definition")?)?,
        ))
    }

    pub async fn nurture_run(&self, run_id: &str) -> StoreResult<RunRecord> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM workflow_runs r JOIN workflows w ON w.id = r.workflow_id \
             WHERE r.tenant_id = $1 AND r.id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(&self.tenant_id)
            .bind(run_id)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        RunRecord::from_row(&row)
    }

    /// A lead's runs, newest first.
    pub async fn lead_runs(&self, lead_id: &str) -> StoreResult<Vec<RunRecord>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM workflow_runs r JOIN workflows w ON w.id = r.workflow_id \
             WHERE r.tenant_id = $1 AND r.lead_id = $2 ORDER BY r.started_at DESC, r.id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(&self.tenant_id)
            .bind(lead_id)
            .fetch_all(&self.store.read)
            .await?;
        rows.iter().map(RunRecord::from_row).collect()
    }

    pub async fn run_log(&self, run_id: &str) -> StoreResult<Vec<RunLogRecord>> {
        let rows = sqlx::query(
            "SELECT step_id, outcome, detail, created_at FROM workflow_run_log \
             WHERE tenant_id = $1 AND run_id = $2 ORDER BY created_at, id",
        )
        .bind(&self.tenant_id)
        .bind(run_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RunLogRecord {
                    step_id: row.try_get("step_id")?,
                    outcome: row.try_get("outcome")?,
                    detail: serde_json::from_str(&row.try_get::<String, _>("detail")?).unwrap_or(Value::Null),
                    created_at: Timestamp(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    /// How many of a workflow's active runs are at each step.
    pub async fn runs_at_steps(&self, workflow_id: &str) -> StoreResult<Vec<StepCount>> {
        let rows = sqlx::query(
            "SELECT step, COUNT(*) AS waiting FROM workflow_runs \
             WHERE tenant_id = $1 AND workflow_id = $2 AND ended_at IS NULL GROUP BY step ORDER BY step",
        )
        .bind(&self.tenant_id)
        .bind(workflow_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StepCount {
                    step: row.try_get("step")?,
                    waiting: row.try_get("waiting")?,
                })
            })
            .collect()
    }

    /// Each step's emails (by step id) over every run of the workflow.
    pub async fn step_emails(&self, workflow_id: &str) -> StoreResult<Vec<(String, StepEmails)>> {
        let rows = sqlx::query(
            "SELECT e.step_id, COUNT(*) AS queued, \
             SUM(CASE WHEN e.status = 'sent' THEN 1 ELSE 0 END) AS sent, \
             SUM(CASE WHEN e.opened_at IS NOT NULL THEN 1 ELSE 0 END) AS opened, \
             SUM(CASE WHEN e.clicked_at IS NOT NULL THEN 1 ELSE 0 END) AS clicked \
             FROM emails e JOIN workflow_runs r ON r.id = e.run_id \
             WHERE e.tenant_id = $1 AND r.tenant_id = $1 AND r.workflow_id = $2 AND e.step_id IS NOT NULL \
             GROUP BY e.step_id",
        )
        .bind(&self.tenant_id)
        .bind(workflow_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                let emails = StepEmails {
                    queued: row.try_get("queued")?,
                    sent: row.try_get("sent")?,
                    opened: row.try_get("opened")?,
                    clicked: row.try_get("clicked")?,
                };
                Ok((row.try_get("step_id")?, emails))
            })
            .collect()
    }

    pub async fn lead_tags(&self, lead_id: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT tag FROM lead_tags WHERE tenant_id = $1 AND lead_id = $2 ORDER BY tag")
            .bind(&self.tenant_id)
            .bind(lead_id)
            .fetch_all(&self.store.read)
            .await?;
        rows.iter().map(|row| Ok(row.try_get("tag")?)).collect()
    }

    pub async fn settings(&self) -> StoreResult<TenantSettings> {
        let row =
            sqlx::query("SELECT name, time_zone, email_from, emails_per_minute, link_key FROM tenants WHERE id = $1")
                .bind(&self.tenant_id)
                .fetch_optional(&self.store.read)
                .await?
                .ok_or(StoreError::NotFound)?;
        Ok(TenantSettings {
            time_zone: row.try_get("time_zone")?,
            email_from: row.try_get("email_from")?,
            emails_per_minute: row.try_get("emails_per_minute")?,
            link_key: row.try_get::<Option<String>, _>("link_key")?.unwrap_or_default(),
            name: row.try_get("name")?,
        })
    }

    /// Sets the settings that are given (checked by the caller).
    pub async fn set_settings(
        &self,
        time_zone: Option<&str>,
        email_from: Option<Option<&str>>,
        emails_per_minute: Option<i32>,
    ) -> StoreResult<TenantSettings> {
        if let Some(zone) = time_zone {
            self.set_setting("time_zone", zone.into()).await?;
        }
        if let Some(from) = email_from {
            self.set_setting("email_from", from.into()).await?;
        }
        if let Some(rate) = emails_per_minute {
            self.set_setting("emails_per_minute", rate.into()).await?;
        }
        self.settings().await
    }

    async fn set_setting(&self, column: &'static str, value: Bind) -> StoreResult<()> {
        let statement = Statement::new(format!("UPDATE tenants SET {column} = $2 WHERE id = $1"))
            .bind(&self.tenant_id)
            .bind(value);
        statement.query().execute(&self.store.write).await?;
        Ok(())
    }
}

/// A new run, as enrolment writes it.
pub struct NewRun<'a> {
    pub id: &'a str,
    pub workflow_id: &'a str,
    pub version: i32,
    pub lead_id: &'a str,
}

/// Where a run goes next, as a step's write records it.
pub enum RunMove<'a> {
    /// Wait at `step` (a duration, a time of day, an event until its timeout).
    Wait {
        step: i32,
        until: Timestamp,
        waiting_for: Option<&'a str>,
        resume: Option<&'a Value>,
    },
    /// The run is over.
    End { reason: &'a str },
}

/// Runs in a unit: enrolment, a step's move, an exit.
impl Unit<'_> {
    /// The lead's runs (active and ended) as they stand in this transaction.
    pub async fn runs_of_lead(&mut self, lead_id: &str) -> StoreResult<Vec<RunRecord>> {
        let tenant = self.tenant_id;
        self.settle_if(|held| held.holds_lead(tenant, lead_id)).await?;
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM workflow_runs r JOIN workflows w ON w.id = r.workflow_id \
             WHERE r.tenant_id = $1 AND r.lead_id = $2"
        );
        let rows = sqlx::query(&sql)
            .bind(self.tenant_id)
            .bind(lead_id)
            .fetch_all(&mut *self.conn)
            .await?;
        rows.iter().map(RunRecord::from_row).collect()
    }

    /// The run (of the lead `lead_id`), its row held until the unit commits;
    /// `None` if it is gone.
    pub async fn held_run(&mut self, run_id: &str, lead_id: &str) -> StoreResult<Option<RunRecord>> {
        // Every write to a run holds its lead's key: only those need sending first.
        let tenant = self.tenant_id;
        self.settle_if(|held| held.holds_lead(tenant, lead_id)).await?;
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM workflow_runs r JOIN workflows w ON w.id = r.workflow_id \
             WHERE r.tenant_id = $1 AND r.id = $2{}",
            self.backend.lock_rows_of("r")
        );
        let row = sqlx::query(&sql)
            .bind(self.tenant_id)
            .bind(run_id)
            .fetch_optional(&mut *self.conn)
            .await?;
        row.as_ref().map(RunRecord::from_row).transpose()
    }

    /// A workflow version's definition (for a run's exit conditions).
    pub async fn workflow_definition(&mut self, workflow_id: &str, version: i32) -> StoreResult<Value> {
        let row = sqlx::query(
            "SELECT definition FROM workflow_versions WHERE tenant_id = $1 AND workflow_id = $2 AND version = $3",
        )
        .bind(self.tenant_id)
        .bind(workflow_id)
        .bind(version)
        .fetch_optional(&mut *self.conn)
        .await?
        .ok_or(StoreError::NotFound)?;
        parse_definition(&row.try_get::<String, _>("definition")?)
    }

    pub fn insert_run(&mut self, run: &NewRun<'_>, now: Timestamp) {
        self.write(
            Statement::new(
                "INSERT INTO workflow_runs (id, tenant_id, workflow_id, version, lead_id, step, seq, started_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, 0, 1, $6, $6)",
            )
            .bind(run.id)
            .bind(self.tenant())
            .bind(run.workflow_id)
            .bind(run.version)
            .bind(run.lead_id)
            .bind(now.micros()),
        );
        // A later read of the lead's runs in this batch must see it.
        let tenant = self.tenant();
        self.pending.hold_lead(&tenant, run.lead_id);
    }

    /// Moves the run to `seq` (which the caller took as the old seq + 1).
    pub fn move_run(&mut self, run_id: &str, lead_id: &str, seq: i64, to: RunMove<'_>, now: Timestamp) {
        let statement = match to {
            RunMove::Wait {
                step,
                until,
                waiting_for,
                resume,
            } => Statement::new(
                "UPDATE workflow_runs SET step = $3, seq = $4, wait_until = $5, waiting_for = $6, resume = $7, \
                 updated_at = $8 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(self.tenant())
            .bind(run_id)
            .bind(step)
            .bind(seq)
            .bind(until.micros())
            .bind(waiting_for)
            .bind(resume.map(Value::to_string))
            .bind(now.micros()),
            RunMove::End { reason } => Statement::new(
                "UPDATE workflow_runs SET seq = $3, ended_at = $4, end_reason = $5, waiting_for = NULL, \
                 wait_until = NULL, resume = NULL, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(self.tenant())
            .bind(run_id)
            .bind(seq)
            .bind(now.micros())
            .bind(reason),
        };
        self.write(statement);
        let tenant = self.tenant();
        self.pending.hold_lead(&tenant, lead_id);
    }

    pub fn run_log(&mut self, run_id: &str, step_id: &str, outcome: &str, detail: &Value, now: Timestamp) {
        self.write(
            Statement::new(
                "INSERT INTO workflow_run_log (id, tenant_id, run_id, step_id, outcome, detail, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(new_id())
            .bind(self.tenant())
            .bind(run_id)
            .bind(step_id)
            .bind(outcome)
            .bind(detail.to_string())
            .bind(now.micros()),
        );
    }

    /// Tags the lead; `false` when it already had the tag.
    pub async fn add_tag(&mut self, lead_id: &str, tag: &str, now: Timestamp) -> StoreResult<bool> {
        self.settle().await?;
        let added = sqlx::query(
            "INSERT INTO lead_tags (tenant_id, lead_id, tag, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, lead_id, tag) DO NOTHING",
        )
        .bind(self.tenant_id)
        .bind(lead_id)
        .bind(tag)
        .bind(now.micros())
        .execute(&mut *self.conn)
        .await?;
        Ok(added.rows_affected() > 0)
    }

    /// Takes a tag off the lead; `false` when it did not have it.
    pub async fn remove_tag(&mut self, lead_id: &str, tag: &str) -> StoreResult<bool> {
        self.settle().await?;
        let removed = sqlx::query("DELETE FROM lead_tags WHERE tenant_id = $1 AND lead_id = $2 AND tag = $3")
            .bind(self.tenant_id)
            .bind(lead_id)
            .bind(tag)
            .execute(&mut *self.conn)
            .await?;
        Ok(removed.rows_affected() > 0)
    }

    /// Sets the lead's fields (the whole object, as the caller changed it).
    pub fn set_lead_fields(&mut self, lead_id: &str, fields: &Value, now: Timestamp) {
        let tenant = self.tenant_id;
        self.pending
            .set_lead(tenant, lead_id, "fields", Bind::from(fields.to_string()));
        self.pending
            .set_lead(tenant, lead_id, "updated_at", Bind::Int(now.micros()));
    }

    /// The lead's fields and whether it is held, its row held until commit.
    pub async fn lead_fields_and_hold(&mut self, lead_id: &str) -> StoreResult<Option<(Value, bool)>> {
        let Some(row) = self.held_lead_row(lead_id, "fields, held_at").await? else {
            return Ok(None);
        };
        let fields: String = row.try_get("fields")?;
        let held: Option<i64> = row.try_get("held_at")?;
        let fields = serde_json::from_str(&fields).map_err(|e| StoreError::Corrupt(format!("lead fields: {e}")))?;
        Ok(Some((fields, held.is_some())))
    }

    /// Holds the lead for nurture (`Some`), or releases it to sales (`None`).
    /// A deal's value (minor units) and close date on the lead.
    pub fn set_deal(&mut self, lead_id: &str, value_minor: i64, close_on: &str) {
        let tenant = self.tenant_id;
        self.pending
            .set_lead(tenant, lead_id, "deal_value", Bind::Int(value_minor));
        self.pending
            .set_lead(tenant, lead_id, "expected_close_on", Bind::from(close_on));
    }

    pub fn set_held(&mut self, lead_id: &str, at: Option<Timestamp>) {
        let tenant = self.tenant_id;
        self.pending
            .set_lead(tenant, lead_id, "held_at", Bind::from(at.map(Timestamp::micros)));
    }
}

/// The tenant's sender identity, or its name at a placeholder address.
pub fn sender_or_placeholder(email_from: Option<String>, tenant_name: &str) -> String {
    email_from.unwrap_or_else(|| format!("{} <noreply@leadhost.local>", tenant_name.replace(['<', '>', '"'], "")))
}

/// What a step reads and writes of the lead, in the unit.
impl Unit<'_> {
    /// The lead's owner now.
    pub async fn lead_owner(&mut self, lead_id: &str) -> StoreResult<Option<String>> {
        Ok(self.lead_owner_row(lead_id).await?.flatten())
    }

    /// The lead's owner, its row held until the unit commits; `None` for no such lead.
    pub async fn lead_owner_row(&mut self, lead_id: &str) -> StoreResult<Option<Option<String>>> {
        let row = self.held_lead_row(lead_id, "owner_id").await?;
        Ok(row.map(|r| r.try_get("owner_id")).transpose()?)
    }

    /// A task for `user_id` on the lead.
    pub fn insert_task(&mut self, user_id: &str, lead_id: &str, title: &str, due: Timestamp, now: Timestamp) {
        self.write(
            Statement::new(
                "INSERT INTO tasks (id, tenant_id, user_id, lead_id, title, due_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(new_id())
            .bind(self.tenant())
            .bind(user_id)
            .bind(lead_id)
            .bind(title)
            .bind(due.micros())
            .bind(now.micros()),
        );
    }
}
