//! Uploaded plugins and their call records.

use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::batch::Statement;
use super::unit::Unit;
use super::{Store, StoreError, StoreResult, TenantStore, is_unique_violation, new_id, word};
use crate::clock::Timestamp;
use crate::domain::{PluginStatus, World};

/// A plugin as listed: everything but its bytes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginRecord {
    #[serde(skip)]
    pub id: String,
    pub name: String,
    pub world: World,
    pub config: Value,
    pub sha256: String,
    pub size_bytes: i64,
    pub enabled: bool,
    /// Whether it is compiled and checked; only a ready plugin runs.
    pub status: PluginStatus,
    /// Why the compile or type check failed.
    pub compile_error: Option<String>,
    /// Why it is off, when it was switched off.
    pub disabled_reason: Option<String>,
    pub calls: i64,
    pub failures: i64,
    pub consecutive_failures: i32,
    pub last_error: Option<String>,
    pub last_called_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "id, name, world, config, sha256, size_bytes, enabled, status, compile_error, disabled_reason, \
                       calls, failures, consecutive_failures, last_error, last_called_at, created_at, updated_at";

impl PluginRecord {
    fn from_row(row: &AnyRow) -> StoreResult<Self> {
        let config: String = row.try_get("config")?;
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            world: word(row, "world")?,
            config: serde_json::from_str(&config).unwrap_or(Value::Null),
            sha256: row.try_get("sha256")?,
            size_bytes: row.try_get("size_bytes")?,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
            status: word(row, "status")?,
            compile_error: row.try_get("compile_error")?,
            disabled_reason: row.try_get("disabled_reason")?,
            calls: row.try_get("calls")?,
            failures: row.try_get("failures")?,
            consecutive_failures: row.try_get("consecutive_failures")?,
            last_error: row.try_get("last_error")?,
            last_called_at: row.try_get::<Option<i64>, _>("last_called_at")?.map(Timestamp),
            created_at: Timestamp(row.try_get("created_at")?),
            updated_at: Timestamp(row.try_get("updated_at")?),
        })
    }
}

pub struct NewPlugin<'a> {
    pub name: &'a str,
    pub world: World,
    pub config: &'a str,
    pub component: &'a [u8],
    pub sha256: &'a str,
    /// `Ready` when checked in the request, `Compiling` when queued.
    pub status: PluginStatus,
}

/// A plugin waiting for the background compile (`plugins::compile_queue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCompile {
    pub tenant_id: String,
    pub plugin_id: String,
    pub sha256: String,
    pub world: World,
}

impl Store {
    /// Every tenant's plugins still waiting to be compiled (after a restart,
    /// they are queued again), oldest first.
    pub async fn pending_compiles(&self) -> StoreResult<Vec<PendingCompile>> {
        let rows = sqlx::query(
            "SELECT tenant_id, id, sha256, world FROM plugins WHERE status = 'compiling' ORDER BY updated_at",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingCompile {
                    tenant_id: row.try_get("tenant_id")?,
                    plugin_id: row.try_get("id")?,
                    sha256: row.try_get("sha256")?,
                    world: word(row, "world")?,
                })
            })
            .collect()
    }
}

impl TenantStore<'_> {
    /// Adds a plugin, or with `replace` swaps an existing one's component,
    /// world and config (and switches it back on with fresh counters).
    pub async fn save_plugin(&self, plugin: NewPlugin<'_>, replace: bool) -> StoreResult<PluginRecord> {
        let now = Timestamp::now().micros();
        let mut tx = self.store.begin_write().await?;
        let result = if replace {
            sqlx::query(&format!(
                "UPDATE plugins SET world = $3, config = $4, sha256 = $5, size_bytes = $6, \
                 enabled = 1, disabled_reason = NULL, consecutive_failures = 0, last_error = NULL, updated_at = $7, \
                 status = $8, compile_error = NULL \
                 WHERE tenant_id = $1 AND name = $2 RETURNING {COLUMNS}"
            ))
            .bind(&self.tenant_id)
            .bind(plugin.name)
            .bind(plugin.world.as_str())
            .bind(plugin.config)
            .bind(plugin.sha256)
            .bind(plugin.component.len() as i64)
            .bind(now)
            .bind(plugin.status.as_str())
            .fetch_optional(&mut *tx)
            .await
        } else {
            sqlx::query(&format!(
                "INSERT INTO plugins (id, tenant_id, name, world, config, sha256, size_bytes, enabled, \
                 created_at, updated_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8, $9) RETURNING {COLUMNS}"
            ))
            .bind(new_id())
            .bind(&self.tenant_id)
            .bind(plugin.name)
            .bind(plugin.world.as_str())
            .bind(plugin.config)
            .bind(plugin.sha256)
            .bind(plugin.component.len() as i64)
            .bind(now)
            .bind(plugin.status.as_str())
            .fetch_optional(&mut *tx)
            .await
        };
        let record = match result {
            Ok(Some(row)) => PluginRecord::from_row(&row)?,
            Ok(None) => return Err(StoreError::NotFound),
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "a plugin named {:?} exists; PUT /api/v1/plugins/{} replaces it",
                    plugin.name, plugin.name
                )));
            }
            Err(e) => return Err(e.into()),
        };
        sqlx::query(
            "INSERT INTO plugin_components (plugin_id, tenant_id, component) VALUES ($1, $2, $3) \
             ON CONFLICT (plugin_id) DO UPDATE SET component = excluded.component",
        )
        .bind(&record.id)
        .bind(&self.tenant_id)
        .bind(plugin.component.to_vec())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    pub async fn plugins(&self) -> StoreResult<Vec<PluginRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM plugins WHERE tenant_id = $1 ORDER BY name"
        ))
        .bind(&self.tenant_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter().map(PluginRecord::from_row).collect()
    }

    /// The enabled and ready plugins of one world, by name.
    pub async fn enabled_plugins(&self, world: World) -> StoreResult<Vec<PluginRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM plugins \
             WHERE tenant_id = $1 AND world = $2 AND enabled = 1 AND status = 'ready' ORDER BY name"
        ))
        .bind(&self.tenant_id)
        .bind(world.as_str())
        .fetch_all(&self.store.read)
        .await?;
        rows.iter().map(PluginRecord::from_row).collect()
    }

    pub async fn plugin(&self, name: &str) -> StoreResult<PluginRecord> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM plugins WHERE tenant_id = $1 AND name = $2"
        ))
        .bind(&self.tenant_id)
        .bind(name)
        .fetch_optional(&self.store.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        PluginRecord::from_row(&row)
    }

    pub async fn plugin_component(&self, plugin_id: &str) -> StoreResult<Vec<u8>> {
        let row = sqlx::query("SELECT component FROM plugin_components WHERE tenant_id = $1 AND plugin_id = $2")
            .bind(&self.tenant_id)
            .bind(plugin_id)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("component")?)
    }

    /// Records how a background compile ended, unless the plugin has been
    /// replaced by another component meanwhile. Returns whether it was
    /// recorded.
    pub async fn finish_compile(&self, plugin_id: &str, sha256: &str, error: Option<&str>) -> StoreResult<bool> {
        let status = if error.is_some() {
            PluginStatus::Failed
        } else {
            PluginStatus::Ready
        };
        let done = sqlx::query(
            "UPDATE plugins SET status = $4, compile_error = $5, updated_at = $6 \
             WHERE tenant_id = $1 AND id = $2 AND sha256 = $3 AND status = 'compiling'",
        )
        .bind(&self.tenant_id)
        .bind(plugin_id)
        .bind(sha256)
        .bind(status.as_str())
        .bind(error)
        .bind(Timestamp::now().micros())
        .execute(&self.store.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Switches a plugin on or off, or changes its config. Switching it on
    /// clears the failure streak that switched it off.
    pub async fn update_plugin(
        &self,
        name: &str,
        enabled: Option<bool>,
        config: Option<&str>,
    ) -> StoreResult<PluginRecord> {
        let row = sqlx::query(&format!(
            "UPDATE plugins SET \
               enabled = COALESCE($3, enabled), \
               disabled_reason = CASE WHEN $3 = 1 THEN NULL WHEN $3 = 0 THEN 'switched off by a user' ELSE disabled_reason END, \
               consecutive_failures = CASE WHEN $3 = 1 THEN 0 ELSE consecutive_failures END, \
               config = COALESCE($4, config), updated_at = $5 \
             WHERE tenant_id = $1 AND name = $2 RETURNING {COLUMNS}"
        ))
        .bind(&self.tenant_id)
        .bind(name)
        .bind(enabled.map(i32::from))
        .bind(config)
        .bind(Timestamp::now().micros())
        .fetch_optional(&self.store.write)
        .await?
        .ok_or(StoreError::NotFound)?;
        PluginRecord::from_row(&row)
    }

    pub async fn delete_plugin(&self, name: &str) -> StoreResult<()> {
        let mut tx = self.store.begin_write().await?;
        let row = sqlx::query("DELETE FROM plugins WHERE tenant_id = $1 AND name = $2 RETURNING id")
            .bind(&self.tenant_id)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let id: String = row.try_get("id")?;
        for table in ["plugin_calls", "plugin_components"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1 AND plugin_id = $2"))
                .bind(&self.tenant_id)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The plugin's latest calls, newest first.
    pub async fn plugin_calls(&self, plugin_id: &str, limit: i64) -> StoreResult<Vec<Value>> {
        let rows = sqlx::query(
            "SELECT ok, error, result, logs, stdout, stderr, fuel_used, duration_us, started_at, seed, created_at \
             FROM plugin_calls \
             WHERE tenant_id = $1 AND plugin_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
        )
        .bind(&self.tenant_id)
        .bind(plugin_id)
        .bind(limit)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                let json = |column: &str| -> StoreResult<Value> {
                    let text: Option<String> = row.try_get(column)?;
                    Ok(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null))
                };
                Ok(serde_json::json!({
                    "ok": row.try_get::<i64, _>("ok")? != 0,
                    "error": row.try_get::<Option<String>, _>("error")?,
                    "result": json("result")?,
                    "logs": json("logs")?,
                    "stdout": row.try_get::<String, _>("stdout")?,
                    "stderr": row.try_get::<String, _>("stderr")?,
                    "fuel_used": row.try_get::<i64, _>("fuel_used")?,
                    "duration_us": row.try_get::<i64, _>("duration_us")?,
                    "at": Timestamp(row.try_get("created_at")?),
                    "started_at": row.try_get::<Option<i64>, _>("started_at")?.map(Timestamp),
                    "seed": row.try_get::<Option<i64>, _>("seed")?.map(|seed| (seed as u64).to_string()),
                }))
            })
            .collect()
    }

    /// The tenant's CPU limit for plugin calls, if it set one.
    pub async fn plugin_fuel(&self) -> StoreResult<Option<i64>> {
        let row = sqlx::query("SELECT plugin_fuel FROM tenants WHERE id = $1")
            .bind(&self.tenant_id)
            .fetch_one(&self.store.read)
            .await?;
        Ok(row.try_get("plugin_fuel")?)
    }

    /// Whether the tenant lets its integrators see what plugins produced
    /// from real leads (see `auth::personal_data`).
    pub async fn integrators_see_personal_data(&self) -> StoreResult<bool> {
        let row = sqlx::query("SELECT integrators_see_personal_data FROM tenants WHERE id = $1")
            .bind(&self.tenant_id)
            .fetch_one(&self.store.read)
            .await?;
        Ok(row.try_get::<i64, _>("integrators_see_personal_data")? != 0)
    }

    pub async fn set_integrators_see_personal_data(&self, granted: bool) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET integrators_see_personal_data = $2 WHERE id = $1")
            .bind(&self.tenant_id)
            .bind(i32::from(granted))
            .execute(&self.store.write)
            .await?;
        Ok(())
    }

    pub async fn set_plugin_fuel(&self, fuel: Option<i64>) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET plugin_fuel = $2 WHERE id = $1")
            .bind(&self.tenant_id)
            .bind(fuel)
            .execute(&self.store.write)
            .await?;
        Ok(())
    }

    /// Writes successful calls counted in memory (`PluginHost::count_success`).
    pub async fn count_successes(&self, plugin_id: &str, calls: i64, last_at: Timestamp) -> StoreResult<()> {
        successes_statement(&self.tenant_id, plugin_id, calls, last_at)
            .query()
            .execute(&self.store.write)
            .await?;
        Ok(())
    }
}

/// Adds successful calls to a plugin's counters; a success ends a run of
/// failures.
fn successes_statement(tenant_id: &str, plugin_id: &str, calls: i64, last_at: Timestamp) -> Statement {
    Statement::new(
        "UPDATE plugins SET calls = calls + $3, consecutive_failures = 0, \
               last_called_at = CASE WHEN last_called_at IS NULL OR last_called_at < $4 THEN $4 \
                                     ELSE last_called_at END \
             WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id)
    .bind(plugin_id)
    .bind(calls)
    .bind(last_at.micros())
}

impl TenantStore<'_> {
    /// Counts calls made in bulk (a tenant-wide re-score), which keeps the
    /// counters and the last error rather than a record of every call.
    pub async fn count_plugin_calls(
        &self,
        plugin_id: &str,
        calls: i64,
        failures: i64,
        last_error: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE plugins SET calls = calls + $3, failures = failures + $4, last_called_at = $5, \
             last_error = COALESCE($6, last_error) WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant_id)
        .bind(plugin_id)
        .bind(calls)
        .bind(failures)
        .bind(Timestamp::now().micros())
        .bind(last_error)
        .execute(&self.store.write)
        .await?;
        Ok(())
    }
}

/// A plugin's counters in a unit: a step's failures are counted with the
/// lead they failed on.
impl Unit<'_> {
    /// Holds the plugins' rows, in id order, before any other shared row (a
    /// team's, reps'): on PostgreSQL a batch is one statement, whose parts
    /// lock rows in no set order, and two steps deadlocked when each held a
    /// row the other wanted. (SQLite's one writer needs no lock.)
    pub async fn hold_plugins(&mut self, plugin_ids: &[&str]) -> StoreResult<()> {
        let lock = self.backend.lock_rows();
        if plugin_ids.is_empty() || lock.is_empty() {
            return Ok(());
        }
        let mut ids = plugin_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT id FROM plugins WHERE tenant_id = $1 AND id IN ({}) ORDER BY id{lock}",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(self.tenant_id);
        for id in ids {
            query = query.bind(id);
        }
        query.fetch_all(&mut *self.conn).await?;
        Ok(())
    }

    /// The plugin's failures in a row, and whether it is on; `None` for a
    /// plugin that is gone.
    pub async fn plugin_streak(&mut self, plugin_id: &str) -> StoreResult<Option<(i32, bool)>> {
        // Earlier failures of this batch move the count: see them.
        self.settle().await?;
        let row = sqlx::query("SELECT consecutive_failures, enabled FROM plugins WHERE tenant_id = $1 AND id = $2")
            .bind(self.tenant_id)
            .bind(plugin_id)
            .fetch_optional(&mut *self.conn)
            .await?;
        row.map(|row| {
            Ok((
                row.try_get("consecutive_failures")?,
                row.try_get::<i64, _>("enabled")? != 0,
            ))
        })
        .transpose()
    }

    /// Adds successful calls counted in memory (see `PluginHost::count_success`).
    pub fn plugin_successes(&mut self, plugin_id: &str, calls: i64, last_at: Timestamp) {
        let statement = successes_statement(self.tenant_id, plugin_id, calls, last_at);
        self.write(statement);
    }

    /// Counts one failed call; `switch_off` turns the plugin off with that
    /// reason.
    pub fn plugin_failed(&mut self, plugin_id: &str, error: &str, switch_off: Option<&str>, now: Timestamp) {
        let off = match switch_off {
            Some(_) => ", enabled = 0, disabled_reason = $5",
            None => "",
        };
        let mut statement = Statement::new(format!(
            "UPDATE plugins SET calls = calls + 1, last_called_at = $3, failures = failures + 1, \
               consecutive_failures = consecutive_failures + 1, last_error = $4{off} \
             WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(self.tenant())
        .bind(plugin_id)
        .bind(now.micros())
        .bind(error);
        if let Some(reason) = switch_off {
            statement = statement.bind(reason);
        }
        self.write(statement);
    }
}
