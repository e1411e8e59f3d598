//! The durable side of follow-up: the SLA policy as stored, activities,
//! tasks, a rep's agenda, and what deadlines and SLA jobs read and write.

use serde_json::Value;
use sqlx::Row;

use super::batch::{Bind, Statement};
use super::setting_changes::log_change;
use super::unit::Unit;
use super::{StoreError, StoreResult, TenantStore, new_id, word};
use crate::clock::Timestamp;
use crate::domain::{ActivityKind, Tier};

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

impl TaskRecord {
    fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<Self> {
        Ok(TaskRecord {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            lead_id: r.try_get("lead_id")?,
            title: r.try_get("title")?,
            due_at: Timestamp(r.try_get("due_at")?),
            done_at: r.try_get::<Option<i64>, _>("done_at")?.map(Timestamp),
        })
    }
}

/// A lead on a rep's agenda.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgendaLead {
    pub id: String,
    pub name: Option<String>,
    pub company: Option<String>,
    pub tier: Tier,
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

    /// Sets (or with `None` removes) the SLA policy, logged as `by`'s change.
    pub async fn set_sla_policy(&self, policy: Option<&Value>, by: Option<&str>) -> StoreResult<()> {
        let mut tx = self.store.begin_write().await?;
        sqlx::query("UPDATE tenants SET sla_policy = $2 WHERE id = $1")
            .bind(&self.tenant_id)
            .bind(policy.map(Value::to_string))
            .execute(&mut *tx)
            .await?;
        let logged = policy.cloned().unwrap_or(Value::Null);
        log_change(&mut tx, &self.tenant_id, "sla_policy", by, &logged, Timestamp::now()).await?;
        tx.commit().await?;
        Ok(())
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

    /// A lead's open tasks, soonest first.
    pub async fn open_tasks_of_lead(&self, lead_id: &str) -> StoreResult<Vec<TaskRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM tasks WHERE tenant_id = $1 AND lead_id = $2 AND done_at IS NULL ORDER BY due_at LIMIT 100",
        )
        .bind(&self.tenant_id)
        .bind(lead_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter().map(TaskRecord::from_row).collect()
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
        let leads = |condition: &str, order: &'static str| {
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
                            tier: word(r, "tier")?,
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
                rows.iter().map(TaskRecord::from_row).collect::<StoreResult<Vec<_>>>()
            }
        };
        Ok(Agenda {
            overdue: leads("follow_up_due_at < $3 AND $4 = $4", "follow_up_due_at").await?,
            due_today: leads("follow_up_due_at >= $3 AND follow_up_due_at < $4", "follow_up_due_at").await?,
            newly_assigned: leads(
                "touched_at IS NULL AND assigned_at > $3 - 86400000000 AND $4 = $4",
                "score DESC, id DESC",
            )
            .await?,
            overdue_tasks: tasks("due_at < $3 AND $4 = $4").await?,
            tasks_due_today: tasks("due_at >= $3 AND due_at < $4").await?,
        })
    }
}

/// Follow-up's reads and writes in a unit: activities, deadlines, the
/// state an SLA job checks.
impl Unit<'_> {
    /// The tenant's SLA policy as stored (the follow-up module reads it).
    pub async fn sla_policy(&mut self) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT sla_policy FROM tenants WHERE id = $1")
            .bind(self.tenant_id)
            .fetch_one(&mut *self.conn)
            .await?;
        Ok(row.try_get("sla_policy")?)
    }

    /// The lead's owner and follow-up deadline, held until the unit commits;
    /// `None` for no such lead.
    pub async fn lead_deadline(&mut self, lead_id: &str) -> StoreResult<Option<(Option<String>, Option<Timestamp>)>> {
        let row = self.held_lead_row(lead_id, "owner_id, follow_up_due_at").await?;
        row.map(|row| {
            Ok((
                row.try_get("owner_id")?,
                row.try_get::<Option<i64>, _>("follow_up_due_at")?.map(Timestamp),
            ))
        })
        .transpose()
    }

    /// Sets the deadline of the lead's next touch (`None`: none).
    pub fn set_follow_up_due(&mut self, lead_id: &str, due: Option<Timestamp>) {
        let tenant = self.tenant_id;
        self.pending.set_lead(
            tenant,
            lead_id,
            "follow_up_due_at",
            Bind::from(due.map(Timestamp::micros)),
        );
    }

    /// The lead's owner touched it.
    pub fn lead_touched(&mut self, lead_id: &str, now: Timestamp) {
        let tenant = self.tenant_id;
        self.pending
            .set_lead(tenant, lead_id, "touched_at", Bind::Int(now.micros()));
        self.pending
            .set_lead(tenant, lead_id, "updated_at", Bind::Int(now.micros()));
    }

    pub fn insert_activity(&mut self, lead_id: &str, record: &ActivityRecord) {
        self.write(
            Statement::new(
                "INSERT INTO activities (id, tenant_id, lead_id, user_id, kind, outcome, note, next_follow_up_at, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&record.id)
            .bind(self.tenant())
            .bind(lead_id)
            .bind(&record.user_id)
            .bind(record.kind.as_str())
            .bind(record.outcome.clone())
            .bind(record.note.clone())
            .bind(record.next_follow_up_at.map(Timestamp::micros))
            .bind(record.created_at.micros()),
        );
    }

    /// The manager of a team the rep is in, if any.
    pub async fn manager_of(&mut self, user_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query(
            "SELECT t.manager_id FROM teams t JOIN team_members m ON m.team_id = t.id \
             WHERE m.tenant_id = $1 AND m.user_id = $2 AND t.manager_id IS NOT NULL ORDER BY t.name LIMIT 1",
        )
        .bind(self.tenant_id)
        .bind(user_id)
        .fetch_optional(&mut *self.conn)
        .await?;
        Ok(row.map(|r| r.try_get("manager_id")).transpose()?)
    }
}
