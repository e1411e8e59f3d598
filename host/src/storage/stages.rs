//! Every stage a lead entered, and moving a lead to another stage.

use sqlx::Row;

use super::batch::Statement;
use super::unit::Unit;
use super::{StoreError, StoreResult, TenantStore, new_id, word};
use crate::clock::Timestamp;
use crate::domain::{ParseError, Stage, StageEntry};

#[derive(Debug, Clone, serde::Serialize)]
pub struct StageRecord {
    pub stage: Stage,
    pub from: Option<Stage>,
    pub reason: String,
    pub by: String,
    pub entered_at: Timestamp,
}

impl TenantStore<'_> {
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
                    stage: word(row, "stage")?,
                    from: row
                        .try_get::<Option<String>, _>("from_stage")?
                        .map(|s| s.parse().map_err(|e: ParseError| StoreError::Corrupt(e.0)))
                        .transpose()?,
                    reason: row.try_get("reason")?,
                    by: row.try_get("changed_by")?,
                    entered_at: Timestamp(row.try_get("entered_at")?),
                })
            })
            .collect()
    }
}

/// Stage moves in a unit.
impl Unit<'_> {
    /// Moves the lead from `from` to `to` if it is still in `from`; returns
    /// its owner, or `None` (nothing written) when it is no longer in `from`.
    /// The score revision moves too, so a re-score computed from the old
    /// stage cannot promote over this move.
    pub async fn move_stage(
        &mut self,
        lead_id: &str,
        from: Stage,
        to: Stage,
        now: Timestamp,
    ) -> StoreResult<Option<Option<String>>> {
        let tenant = self.tenant_id;
        self.settle_if(|held| held.holds_lead(tenant, lead_id)).await?;
        let row = sqlx::query(
            "UPDATE leads SET stage = $3, stage_entered_at = $5, updated_at = $5, score_rev = score_rev + 1 \
             WHERE tenant_id = $1 AND id = $2 AND stage = $4 RETURNING owner_id",
        )
        .bind(self.tenant_id)
        .bind(lead_id)
        .bind(to.as_str())
        .bind(from.as_str())
        .bind(now.micros())
        .fetch_optional(&mut *self.conn)
        .await?;
        Ok(row.map(|row| row.try_get("owner_id")).transpose()?)
    }

    /// Records a stage the lead entered.
    pub fn stage_entered(&mut self, lead_id: &str, entry: &StageEntry, now: Timestamp) {
        self.write(
            Statement::new(
                "INSERT INTO lead_stages (id, tenant_id, lead_id, stage, from_stage, reason, changed_by, entered_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(new_id())
            .bind(self.tenant())
            .bind(lead_id)
            .bind(entry.stage.as_str())
            .bind(entry.from.as_str())
            .bind(entry.reason.clone())
            .bind(entry.by.clone())
            .bind(now.micros()),
        );
    }
}
