//! Behaviour events on leads, and finding a lead by its email or phone.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::Row;

use super::batch::Statement;
use super::jobs::WRITER_LEASE;
use super::{StoreResult, TenantStore, Unit, new_id};
use crate::clock::Timestamp;
use crate::domain::{IdentityKind, Job, JobRecord, RescoreJob};

/// A checked event ready to store.
#[derive(Debug, Clone)]
pub struct NewBehaviourEvent {
    pub kind: String,
    pub url: Option<String>,
    pub detail: Value,
    pub occurred_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BehaviourEventRecord {
    pub id: String,
    pub kind: String,
    pub url: Option<String>,
    pub detail: Value,
    pub occurred_at: Timestamp,
}

impl BehaviourEventRecord {
    pub(super) fn from_row(row: &sqlx::any::AnyRow) -> StoreResult<Self> {
        let detail: String = row.try_get("detail")?;
        Ok(Self {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            url: row.try_get("url")?,
            detail: serde_json::from_str(&detail).unwrap_or(Value::Null),
            occurred_at: Timestamp(row.try_get("occurred_at")?),
        })
    }
}

/// A stored event and the re-score job written with it (held by this
/// process, to run at once).
pub struct RecordedEvent {
    pub event_id: String,
    pub job: JobRecord,
}

impl TenantStore<'_> {
    /// The lead owning a normalised email or phone (`kind` is `email` or `phone`).
    pub async fn lead_by_identity(&self, kind: IdentityKind, value: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT lead_id FROM lead_identities WHERE tenant_id = $1 AND kind = $2 AND value = $3")
            .bind(&self.tenant_id)
            .bind(kind.as_str())
            .bind(value)
            .fetch_optional(&self.store.read)
            .await?;
        Ok(row.map(|r| r.try_get("lead_id")).transpose()?)
    }

    /// A lead's events, oldest first.
    pub async fn behaviour_events(&self, lead_id: &str) -> StoreResult<Vec<BehaviourEventRecord>> {
        let rows = sqlx::query(
            "SELECT id, kind, url, detail, occurred_at FROM behaviour_events \
             WHERE tenant_id = $1 AND lead_id = $2 ORDER BY occurred_at, id",
        )
        .bind(&self.tenant_id)
        .bind(lead_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter().map(BehaviourEventRecord::from_row).collect()
    }

    /// (kind, when) of the events of the leads with ids in `first..=last`,
    /// by lead: one range scan for a chunk of leads taken in id order.
    pub async fn behaviour_in_range(
        &self,
        first: &str,
        last: &str,
    ) -> StoreResult<HashMap<String, Vec<(String, Timestamp)>>> {
        let rows = sqlx::query(
            "SELECT lead_id, kind, occurred_at FROM behaviour_events \
             WHERE tenant_id = $1 AND lead_id >= $2 AND lead_id <= $3",
        )
        .bind(&self.tenant_id)
        .bind(first)
        .bind(last)
        .fetch_all(&self.store.read)
        .await?;
        let mut by_lead: HashMap<String, Vec<(String, Timestamp)>> = HashMap::new();
        for row in rows {
            by_lead
                .entry(row.try_get("lead_id")?)
                .or_default()
                .push((row.try_get("kind")?, Timestamp(row.try_get("occurred_at")?)));
        }
        Ok(by_lead)
    }
}

impl Unit<'_> {
    /// Stores an event with a "re-score" job (an outbox: the score catches
    /// up even if this process dies before it runs it, held by this process
    /// to run at once).
    pub fn insert_behaviour_event(
        &mut self,
        lead_id: &str,
        event: &NewBehaviourEvent,
        now: Timestamp,
    ) -> RecordedEvent {
        let event_id = new_id();
        self.write(
            Statement::new(
                "INSERT INTO behaviour_events (id, tenant_id, lead_id, kind, url, detail, occurred_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&event_id)
            .bind(self.tenant())
            .bind(lead_id)
            .bind(&event.kind)
            .bind(event.url.clone())
            .bind(event.detail.to_string())
            .bind(event.occurred_at.micros())
            .bind(now.micros()),
        );
        let rescore = Job::Rescore(RescoreJob {
            lead_id: lead_id.to_owned(),
            cause: format!("event {}", event.kind),
        });
        let job = JobRecord::held(new_id(), self.tenant_id, rescore);
        self.add_job(&job, now, Some(WRITER_LEASE));
        RecordedEvent { event_id, job }
    }

    /// Whether the lead exists, its row held until the unit commits.
    pub async fn hold_lead_row(&mut self, lead_id: &str) -> StoreResult<bool> {
        Ok(self.held_lead_row(lead_id, "id").await?.is_some())
    }
}
