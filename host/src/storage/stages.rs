//! Stage changes made by people, and every stage a lead entered.

use sqlx::Row;

use super::batch::{Statement, execute_all};
use super::{StoreError, StoreResult, TenantStore, new_id};
use crate::clock::Timestamp;

#[derive(Debug, Clone, serde::Serialize)]
pub struct StageRecord {
    pub stage: String,
    pub from: Option<String>,
    pub reason: String,
    pub by: String,
    pub entered_at: Timestamp,
}

/// A stage change a person asked for, already checked against the allowed
/// transitions for `from`.
#[derive(Debug, Clone)]
pub struct StageChange {
    pub from: String,
    pub to: String,
    pub reason: String,
    pub by: String,
    /// Whether the lead counts as open before and after (owners' load).
    pub was_open: bool,
    pub is_open: bool,
}

impl TenantStore<'_> {
    /// Moves the lead if it is still in `change.from`; a concurrent move
    /// is a conflict, never a silent overwrite. The score revision moves
    /// too, so a re-score computed from the old stage cannot promote over
    /// this change.
    pub async fn change_stage(&self, lead_id: &str, change: &StageChange) -> StoreResult<()> {
        let now = Timestamp::now();
        let mut tx = self.store.begin_write().await?;
        let row = sqlx::query(
            "UPDATE leads SET stage = $3, stage_entered_at = $5, updated_at = $5, score_rev = score_rev + 1 \
             WHERE tenant_id = $1 AND id = $2 AND stage = $4 RETURNING owner_id",
        )
        .bind(&self.tenant_id)
        .bind(lead_id)
        .bind(&change.to)
        .bind(&change.from)
        .bind(now.micros())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::Conflict(format!(
                "the lead is no longer in stage {}; reload it and try again",
                change.from
            )));
        };
        let owner: Option<String> = row.try_get("owner_id")?;
        let detail =
            serde_json::json!({"from": change.from, "to": change.to, "reason": change.reason, "by": change.by});
        let mut statements = vec![
            Statement::new(
                "INSERT INTO lead_stages (id, tenant_id, lead_id, stage, from_stage, reason, changed_by, entered_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(new_id())
            .bind(&self.tenant_id)
            .bind(lead_id)
            .bind(&change.to)
            .bind(&change.from)
            .bind(&change.reason)
            .bind(&change.by)
            .bind(now.micros()),
            Statement::new(
                "INSERT INTO lead_events (id, tenant_id, lead_id, kind, detail, created_at) \
                 VALUES ($1, $2, $3, 'stage_changed', $4, $5)",
            )
            .bind(new_id())
            .bind(&self.tenant_id)
            .bind(lead_id)
            .bind(detail.to_string())
            .bind(now.micros()),
        ];
        if let Some(owner) = owner
            && change.was_open != change.is_open
        {
            statements.push(
                Statement::new("UPDATE users SET open_leads = open_leads + $3 WHERE tenant_id = $1 AND id = $2")
                    .bind(&self.tenant_id)
                    .bind(owner)
                    .bind(if change.is_open { 1 } else { -1 }),
            );
        }
        execute_all(self.store.backend, &mut tx, &statements).await?;
        let data =
            serde_json::json!({"lead_id": lead_id, "from": change.from, "to": change.to, "reason": change.reason});
        self.emit(&mut tx, "stage.changed", data, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The stages the lead entered after `new` (which it entered when it was
    /// created), oldest first.
    pub async fn lead_stages(&self, lead_id: &str) -> StoreResult<Vec<StageRecord>> {
        let rows = sqlx::query(
            "SELECT stage, from_stage, reason, changed_by, entered_at FROM lead_stages \
             WHERE tenant_id = $1 AND lead_id = $2 ORDER BY entered_at, id",
        )
        .bind(&self.tenant_id)
        .bind(lead_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StageRecord {
                    stage: row.try_get("stage")?,
                    from: row.try_get("from_stage")?,
                    reason: row.try_get("reason")?,
                    by: row.try_get("changed_by")?,
                    entered_at: Timestamp(row.try_get("entered_at")?),
                })
            })
            .collect()
    }
}
