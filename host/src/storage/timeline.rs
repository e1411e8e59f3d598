//! A lead's timeline: every entry besides its touches (score changes with
//! their reasons, tier and stage changes, routing, plugin failures, SLA
//! events, activities logged).

use serde_json::Value;
use sqlx::Row;

use super::batch::Bind;
use super::unit::Unit;
use super::{StoreResult, TenantStore, new_id};
use crate::clock::Timestamp;

/// One entry of a lead's timeline besides its touches.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EventRecord {
    pub kind: String,
    pub detail: Value,
    pub at: Timestamp,
}

impl TenantStore<'_> {
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
}

impl Unit<'_> {
    /// Adds an entry to the lead's timeline (all of a unit's entries are
    /// sent as one insert).
    pub fn timeline(&mut self, lead_id: &str, kind: &str, detail: &Value, now: Timestamp) {
        self.pending.add_timeline_row(vec![
            Bind::from(new_id()),
            Bind::from(self.tenant_id),
            Bind::from(lead_id),
            Bind::from(kind),
            Bind::from(detail.to_string()),
            Bind::Int(now.micros()),
        ]);
    }
}
