//! The durable side of follow-up: the SLA policy, deadlines and their jobs,
//! activities, tasks, a rep's agenda, and what an SLA job does when due.

use serde_json::{Value, json};
use sqlx::{Any, Row, Transaction};

use super::batch::{Statement, execute_all};
use super::pipeline::scheduled_job;
use super::{StoreError, StoreResult, TenantStore, new_id, word};
use crate::clock::Timestamp;
use crate::domain::{ActivityKind, DeadlineJob, Job, JobRecord, Tier};
use crate::followup::SlaPolicy;

#[derive(Debug, Clone)]
pub struct NewActivity {
    pub kind: ActivityKind,
    pub outcome: Option<String>,
    pub note: Option<String>,
    pub next_follow_up_at: Option<Timestamp>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ActivityRecord {
    pub id: String,
    pub user_id: String,
    pub kind: ActivityKind,
    pub outcome: Option<String>,
    pub note: Option<String>,
    pub next_follow_up_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskRecord {
    pub id: String,
    pub user_id: String,
    pub lead_id: Option<String>,
    pub title: String,
    pub due_at: Timestamp,
    pub done_at: Option<Timestamp>,
}

/// A lead on a rep's agenda.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgendaLead {
    pub id: String,
    pub name: Option<String>,
    pub company: Option<String>,
    pub tier: String,
    pub score: i32,
    pub follow_up_due_at: Option<Timestamp>,
    pub assigned_at: Option<Timestamp>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Agenda {
    pub overdue: Vec<AgendaLead>,
    pub due_today: Vec<AgendaLead>,
    pub newly_assigned: Vec<AgendaLead>,
    pub overdue_tasks: Vec<TaskRecord>,
    pub tasks_due_today: Vec<TaskRecord>,
}

impl TenantStore<'_> {
    pub async fn sla_policy(&self) -> StoreResult<Option<Value>> {
        let row = sqlx::query("SELECT sla_policy FROM tenants WHERE id = $1")
            .bind(&self.tenant_id)
            .fetch_one(&self.store.read)
            .await?;
        let text: Option<String> = row.try_get("sla_policy")?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    pub async fn set_sla_policy(&self, policy: Option<&Value>) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET sla_policy = $2 WHERE id = $1")
            .bind(&self.tenant_id)
            .bind(policy.map(Value::to_string))
            .execute(&self.store.write)
            .await?;
        Ok(())
    }

    async fn sla_policy_in(&self, tx: &mut Transaction<'_, Any>) -> StoreResult<Option<SlaPolicy>> {
        let row = sqlx::query("SELECT sla_policy FROM tenants WHERE id = $1")
            .bind(&self.tenant_id)
            .fetch_one(&mut **tx)
            .await?;
        Ok(stored_policy(row.try_get("sla_policy")?))
    }

    /// A new owner's first-touch deadline (within the lead's tier's minutes)
    /// and the jobs that watch it; none without an owner or a policy. The
    /// caller records the deadline on the lead row.
    pub(super) fn first_touch(
        &self,
        lead_id: &str,
        owner: Option<&str>,
        tier: Tier,
        policy: Option<&SlaPolicy>,
        now: Timestamp,
    ) -> (Option<Timestamp>, Vec<Statement>) {
        match (owner, policy) {
            (Some(owner), Some(policy)) => {
                let due = now.plus(policy.first_touch(tier));
                (Some(due), self.deadline_jobs(lead_id, owner, due, policy, now))
            }
            _ => (None, Vec::new()),
        }
    }

    /// Records the deadline on the lead and writes its warning and breach
    /// jobs; older jobs of the lead find the deadline moved and do nothing.
    async fn set_deadline(
        &self,
        tx: &mut Transaction<'_, Any>,
        lead_id: &str,
        owner: &str,
        due: Option<Timestamp>,
        policy: &SlaPolicy,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut statements = vec![self.deadline_on_lead(lead_id, due)];
        if let Some(due) = due {
            statements.extend(self.deadline_jobs(lead_id, owner, due, policy, now));
        }
        execute_all(self.store.backend, tx, &statements).await?;
        Ok(())
    }

    pub(super) fn deadline_on_lead(&self, lead_id: &str, due: Option<Timestamp>) -> Statement {
        Statement::new("UPDATE leads SET follow_up_due_at = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(lead_id)
            .bind(due.map(Timestamp::micros))
    }

    /// The warning job (unless already past) and the breach job of a deadline.
    fn deadline_jobs(
        &self,
        lead_id: &str,
        owner: &str,
        due: Timestamp,
        policy: &SlaPolicy,
        now: Timestamp,
    ) -> Vec<Statement> {
        let deadline = DeadlineJob {
            lead_id: lead_id.to_owned(),
            owner: owner.to_owned(),
            due_at: due.micros(),
        };
        let warn_at = Timestamp(due.micros() - policy.warn_before().as_micros() as i64);
        let warning = (warn_at > now).then(|| (Job::SlaWarning(deadline.clone()), warn_at));
        warning
            .into_iter()
            .chain([(Job::SlaBreach(deadline), due)])
            .map(|(job, at)| scheduled_job(&JobRecord::held(new_id(), &self.tenant_id, job), at, now, None))
            .collect()
    }

    /// Logs an activity. By the lead's owner and not a note, it touches the
    /// lead: the next deadline is the activity's follow-up date or the cadence.
    pub async fn record_activity(
        &self,
        lead_id: &str,
        user_id: &str,
        activity: &NewActivity,
    ) -> StoreResult<ActivityRecord> {
        let now = Timestamp::now();
        let mut tx = self.store.begin_write().await?;
        let owner: Option<String> = sqlx::query("SELECT owner_id FROM leads WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(lead_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get("owner_id")?;
        let record = ActivityRecord {
            id: new_id(),
            user_id: user_id.to_owned(),
            kind: activity.kind,
            outcome: activity.outcome.clone(),
            note: activity.note.clone(),
            next_follow_up_at: activity.next_follow_up_at,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO activities (id, tenant_id, lead_id, user_id, kind, outcome, note, next_follow_up_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&record.id)
        .bind(&self.tenant_id)
        .bind(lead_id)
        .bind(user_id)
        .bind(record.kind.as_str())
        .bind(record.outcome.as_deref())
        .bind(record.note.as_deref())
        .bind(record.next_follow_up_at.map(Timestamp::micros))
        .bind(now.micros())
        .execute(&mut *tx)
        .await?;
        if owner.as_deref() == Some(user_id) && activity.kind.touches_lead() {
            sqlx::query("UPDATE leads SET touched_at = $3, updated_at = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(&self.tenant_id)
                .bind(lead_id)
                .bind(now.micros())
                .execute(&mut *tx)
                .await?;
            if let Some(policy) = self.sla_policy_in(&mut tx).await? {
                let due = activity
                    .next_follow_up_at
                    .unwrap_or_else(|| now.plus(policy.follow_up()));
                self.set_deadline(&mut tx, lead_id, user_id, Some(due), &policy, now)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(record)
    }

    pub async fn activities(&self, lead_id: &str) -> StoreResult<Vec<ActivityRecord>> {
        let rows =
            sqlx::query("SELECT * FROM activities WHERE tenant_id = $1 AND lead_id = $2 ORDER BY created_at, id")
                .bind(&self.tenant_id)
                .bind(lead_id)
                .fetch_all(&self.store.read)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(ActivityRecord {
                    id: r.try_get("id")?,
                    user_id: r.try_get("user_id")?,
                    kind: word(r, "kind")?,
                    outcome: r.try_get("outcome")?,
                    note: r.try_get("note")?,
                    next_follow_up_at: r.try_get::<Option<i64>, _>("next_follow_up_at")?.map(Timestamp),
                    created_at: Timestamp(r.try_get("created_at")?),
                })
            })
            .collect()
    }

    pub async fn create_task(
        &self,
        user_id: &str,
        lead_id: Option<&str>,
        title: &str,
        due_at: Timestamp,
    ) -> StoreResult<TaskRecord> {
        let task = TaskRecord {
            id: new_id(),
            user_id: user_id.to_owned(),
            lead_id: lead_id.map(str::to_owned),
            title: title.to_owned(),
            due_at,
            done_at: None,
        };
        sqlx::query(
            "INSERT INTO tasks (id, tenant_id, user_id, lead_id, title, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&task.id)
        .bind(&self.tenant_id)
        .bind(user_id)
        .bind(lead_id)
        .bind(title)
        .bind(due_at.micros())
        .bind(Timestamp::now().micros())
        .execute(&self.store.write)
        .await?;
        Ok(task)
    }

    /// Marks a task done (`user_id`: only if it is theirs).
    pub async fn complete_task(&self, task_id: &str, user_id: Option<&str>) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE tasks SET done_at = $3 WHERE tenant_id = $1 AND id = $2 AND ($4 IS NULL OR user_id = $4)",
        )
        .bind(&self.tenant_id)
        .bind(task_id)
        .bind(Timestamp::now().micros())
        .bind(user_id)
        .execute(&self.store.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// A rep's day: leads past their deadline, leads due before `end_of_day`,
    /// leads given to them in the last day and not yet touched, and their tasks.
    pub async fn agenda(&self, user_id: &str, now: Timestamp, end_of_day: Timestamp) -> StoreResult<Agenda> {
        let leads = |condition: &'static str, order: &'static str| {
            let sql = format!(
                "SELECT id, name, company, tier, score, follow_up_due_at, assigned_at FROM leads \
                 WHERE tenant_id = $1 AND owner_id = $2 AND {condition} ORDER BY {order} LIMIT 200"
            );
            async move {
                let rows = sqlx::query(&sql)
                    .bind(&self.tenant_id)
                    .bind(user_id)
                    .bind(now.micros())
                    .bind(end_of_day.micros())
                    .fetch_all(&self.store.read)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(AgendaLead {
                            id: r.try_get("id")?,
                            name: r.try_get("name")?,
                            company: r.try_get("company")?,
                            tier: r.try_get("tier")?,
                            score: r.try_get("score")?,
                            follow_up_due_at: r.try_get::<Option<i64>, _>("follow_up_due_at")?.map(Timestamp),
                            assigned_at: r.try_get::<Option<i64>, _>("assigned_at")?.map(Timestamp),
                        })
                    })
                    .collect::<StoreResult<Vec<_>>>()
            }
        };
        let tasks = |condition: &'static str| {
            let sql = format!(
                "SELECT * FROM tasks WHERE tenant_id = $1 AND user_id = $2 AND done_at IS NULL AND {condition} \
                 ORDER BY due_at LIMIT 200"
            );
            async move {
                let rows = sqlx::query(&sql)
                    .bind(&self.tenant_id)
                    .bind(user_id)
                    .bind(now.micros())
                    .bind(end_of_day.micros())
                    .fetch_all(&self.store.read)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(TaskRecord {
                            id: r.try_get("id")?,
                            user_id: r.try_get("user_id")?,
                            lead_id: r.try_get("lead_id")?,
                            title: r.try_get("title")?,
                            due_at: Timestamp(r.try_get("due_at")?),
                            done_at: r.try_get::<Option<i64>, _>("done_at")?.map(Timestamp),
                        })
                    })
                    .collect::<StoreResult<Vec<_>>>()
            }
        };
        Ok(Agenda {
            overdue: leads("follow_up_due_at < $3 AND $4 = $4", "follow_up_due_at").await?,
            due_today: leads("follow_up_due_at >= $3 AND follow_up_due_at < $4", "follow_up_due_at").await?,
            newly_assigned: leads(
                "touched_at IS NULL AND assigned_at > $3 - 86400000000 AND $4 = $4",
                "score DESC, id",
            )
            .await?,
            overdue_tasks: tasks("due_at < $3 AND $4 = $4").await?,
            tasks_due_today: tasks("due_at >= $3 AND due_at < $4").await?,
        })
    }

    /// What a due SLA job does, written with the job's removal. A job whose
    /// deadline has moved, or whose lead changed hands, does nothing.
    pub async fn apply_sla(&self, job_id: &str, job: &Job) -> StoreResult<()> {
        let now = Timestamp::now();
        let (Job::SlaWarning(deadline) | Job::SlaBreach(deadline) | Job::SlaRecycle(deadline)) = job else {
            return Err(StoreError::Corrupt(format!("not an SLA job: {}", job.kind())));
        };
        let (lead_id, owner, due) = (deadline.lead_id.as_str(), deadline.owner.as_str(), deadline.due_at);
        let mut tx = self.store.begin_write().await?;
        let removed = sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        if removed.rows_affected() == 0 {
            return Ok(());
        }
        let row = sqlx::query("SELECT owner_id, follow_up_due_at, tier FROM leads WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(lead_id)
            .fetch_optional(&mut *tx)
            .await?;
        let current = match &row {
            Some(row) => (
                row.try_get::<Option<String>, _>("owner_id")?,
                row.try_get::<Option<i64>, _>("follow_up_due_at")?,
            ),
            None => (None, None),
        };
        if current != (Some(owner.to_owned()), Some(due)) {
            tx.commit().await?;
            return Ok(());
        }
        let detail = json!({"owner": owner, "due_at": Timestamp(due)});
        let data = json!({"lead_id": lead_id, "owner": owner, "due_at": Timestamp(due)});
        match job {
            Job::SlaWarning(_) => {
                self.event_statement(lead_id, "sla_warning", &detail, now)
                    .query()
                    .execute(&mut *tx)
                    .await?;
                self.emit(&mut tx, "sla.warning", data, now).await?;
            }
            Job::SlaBreach(_) => {
                self.event_statement(lead_id, "sla_breached", &detail, now)
                    .query()
                    .execute(&mut *tx)
                    .await?;
                let manager = self.manager_of(&mut tx, owner).await?;
                let escalated = json!({"owner": owner, "manager": manager, "due_at": Timestamp(due)});
                self.event_statement(lead_id, "escalated", &escalated, now)
                    .query()
                    .execute(&mut *tx)
                    .await?;
                let mut data = data;
                data["manager"] = json!(manager);
                self.emit(&mut tx, "sla.breached", data, now).await?;
                if let Some(after) = self.sla_policy_in(&mut tx).await?.and_then(|p| p.recycle_after()) {
                    let at = Timestamp(due + after.as_micros() as i64);
                    let recycle = JobRecord::held(new_id(), &self.tenant_id, Job::SlaRecycle(deadline.clone()));
                    scheduled_job(&recycle, at, now, None).query().execute(&mut *tx).await?;
                }
            }
            _ => {
                let bar = self.pool_settings().await?.bar_hours;
                let reason = "not followed up in time: returned to the public pool";
                self.reassign_in(
                    &mut tx,
                    lead_id,
                    None,
                    "recycled",
                    json!({"from": owner, "reason": reason}),
                    bar,
                    now,
                )
                .await?;
                self.emit(
                    &mut tx,
                    "lead.recycled",
                    json!({"lead_id": lead_id, "from": owner}),
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The manager of a team the rep is in, if any.
    async fn manager_of(&self, tx: &mut Transaction<'_, Any>, user_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query(
            "SELECT t.manager_id FROM teams t JOIN team_members m ON m.team_id = t.id \
             WHERE m.tenant_id = $1 AND m.user_id = $2 AND t.manager_id IS NOT NULL ORDER BY t.name LIMIT 1",
        )
        .bind(&self.tenant_id)
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.map(|r| r.try_get("manager_id")).transpose()?)
    }
}

/// A tenant's stored SLA policy, if it has one that still checks.
pub(super) fn stored_policy(text: Option<String>) -> Option<SlaPolicy> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .and_then(|v| SlaPolicy::parse(v).ok())
}
