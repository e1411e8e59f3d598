//! The log of a tenant's setup changes: who saved which setting, when, and
//! what. Each save writes its entry in its own transaction, so no change goes
//! unlogged.

use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{StoreResult, TenantStore, new_id};
use crate::clock::Timestamp;

/// One saved change.
#[derive(Debug, Clone, Serialize)]
pub struct SettingChange {
    pub setting: String,
    pub changed_by: Option<String>,
    /// The user's name, when a user made it (not the CLI or the demo).
    pub changed_by_name: Option<String>,
    pub changed_at: Timestamp,
    pub content: Value,
}

/// Logs a change of `setting` in the transaction that saves it.
pub(super) async fn log_change(
    tx: &mut Transaction<'static, Any>,
    tenant_id: &str,
    setting: &str,
    by: Option<&str>,
    content: &Value,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO setting_changes (id, tenant_id, setting, changed_by, changed_at, content) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(tenant_id)
    .bind(setting)
    .bind(by)
    .bind(now.micros())
    .bind(content.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl TenantStore<'_> {
    /// The latest changes of `setting`, newest first.
    pub async fn setting_changes(&self, setting: &str, limit: i64) -> StoreResult<Vec<SettingChange>> {
        let rows = sqlx::query(
            "SELECT c.setting, c.changed_by, u.name AS changed_by_name, c.changed_at, c.content \
             FROM setting_changes c LEFT JOIN users u ON u.id = c.changed_by \
             WHERE c.tenant_id = $1 AND c.setting = $2 ORDER BY c.changed_at DESC, c.id DESC LIMIT $3",
        )
        .bind(&self.tenant_id)
        .bind(setting)
        .bind(limit)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter().map(change_from_row).collect()
    }
}

fn change_from_row(row: &AnyRow) -> StoreResult<SettingChange> {
    let content: String = row.try_get("content")?;
    Ok(SettingChange {
        setting: row.try_get("setting")?,
        changed_by: row.try_get("changed_by")?,
        changed_by_name: row.try_get("changed_by_name")?,
        changed_at: Timestamp(row.try_get("changed_at")?),
        content: serde_json::from_str(&content).unwrap_or(Value::String(content)),
    })
}
