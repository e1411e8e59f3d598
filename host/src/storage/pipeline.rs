//! The durable side of a lead's step: the guard that takes its job, the
//! reps a router is handed, and the records of the plugin calls made.

use sqlx::Row;

use super::batch::{Bind, multi_row_insert};
use super::unit::Unit;
use super::{StoreResult, TenantStore, new_id, word};
use crate::clock::Timestamp;
use crate::domain::{PluginCall, Stage, Tier};

/// A rep as a router sees them.
#[derive(Debug, Clone)]
pub struct RepRecord {
    pub id: String,
    pub name: String,
    pub email: String,
    pub regions: Vec<String>,
    pub specialties: Vec<String>,
    pub capacity: i32,
    pub available: bool,
    pub open_leads: i64,
}

impl RepRecord {
    /// Available and under capacity (0: no limit).
    pub fn can_take(&self) -> bool {
        self.available && (self.capacity <= 0 || self.open_leads < i64::from(self.capacity))
    }
}

/// The lead as a step's guard found it, inside the step's transaction.
#[derive(Debug, Clone)]
pub struct StepLead {
    pub owner: Option<String>,
    pub stage: Stage,
    pub tier: Tier,
    /// The tenant's SLA policy as stored (the follow-up module reads it).
    pub sla_policy: Option<String>,
    /// Whether the tenant has any webhook (else nothing is announced).
    pub webhooks: bool,
    /// Held for nurture (no owner, out of the pool).
    pub held: bool,
    /// Its owner has been deactivated (left the company).
    pub owner_left: bool,
    pub form: String,
    pub source: String,
}

impl TenantStore<'_> {
    /// The tenant's reps with how many open leads each holds.
    pub async fn reps(&self) -> StoreResult<Vec<RepRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, email, regions, specialties, capacity, available, open_leads \
             FROM users WHERE tenant_id = $1 AND role = 'rep' ORDER BY id",
        )
        .bind(&self.tenant_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                let list = |column: &str| -> StoreResult<Vec<String>> {
                    let text: String = row.try_get(column)?;
                    Ok(serde_json::from_str(&text).unwrap_or_default())
                };
                Ok(RepRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    email: row.try_get("email")?,
                    regions: list("regions")?,
                    specialties: list("specialties")?,
                    capacity: row.try_get("capacity")?,
                    available: row.try_get::<i64, _>("available")? != 0,
                    open_leads: row.try_get::<i64, _>("open_leads")?,
                })
            })
            .collect()
    }
}

/// A step's reads and writes.
impl Unit<'_> {
    /// Removes the step's job if the lead is still at revision `rev` (when
    /// given), holding the lead's row until commit, and reads what the rest
    /// of the step needs; `None` when either check fails (the step already
    /// ran, or the lead was re-scored since the step read it).
    pub async fn take_step_job(
        &mut self,
        job_id: &str,
        lead_id: &str,
        rev: Option<i64>,
    ) -> StoreResult<Option<StepLead>> {
        let tenant = self.tenant_id;
        // Another step of this lead in the same batch: see its writes.
        self.settle_if(|held| held.holds_lead(tenant, lead_id)).await?;
        let lock = self.backend.lock_rows();
        let rev_check = match rev {
            Some(_) => " AND score_rev = $4",
            None => "",
        };
        let sql = format!(
            "DELETE FROM jobs WHERE id = $1 AND EXISTS \
               (SELECT 1 FROM leads WHERE tenant_id = $2 AND id = $3{rev_check}{lock}) \
             RETURNING (SELECT owner_id FROM leads WHERE tenant_id = $2 AND id = $3) AS owner_id, \
               (SELECT stage FROM leads WHERE tenant_id = $2 AND id = $3) AS stage, \
               (SELECT tier FROM leads WHERE tenant_id = $2 AND id = $3) AS tier, \
               (SELECT held_at FROM leads WHERE tenant_id = $2 AND id = $3) AS held_at, \
               (SELECT u.deactivated_at FROM leads l JOIN users u ON u.id = l.owner_id \
                WHERE l.tenant_id = $2 AND l.id = $3) AS owner_left_at, \
               (SELECT source FROM leads WHERE tenant_id = $2 AND id = $3) AS source, \
               (SELECT f.slug FROM leads l JOIN forms f ON f.id = l.form_id WHERE l.tenant_id = $2 AND l.id = $3) AS form, \
               (SELECT sla_policy FROM tenants WHERE id = $2) AS sla_policy, \
               (SELECT COUNT(*) FROM webhooks WHERE tenant_id = $2 AND enabled = 1) AS webhooks"
        );
        let mut query = sqlx::query(&sql).bind(job_id).bind(self.tenant_id).bind(lead_id);
        if let Some(rev) = rev {
            query = query.bind(rev);
        }
        let Some(row) = query.fetch_optional(&mut *self.conn).await? else {
            return Ok(None);
        };
        Ok(Some(StepLead {
            owner: row.try_get("owner_id")?,
            stage: word(&row, "stage")?,
            tier: word(&row, "tier")?,
            sla_policy: row.try_get("sla_policy")?,
            webhooks: row.try_get::<i64, _>("webhooks")? > 0,
            held: row.try_get::<Option<i64>, _>("held_at")?.is_some(),
            owner_left: row.try_get::<Option<i64>, _>("owner_left_at")?.is_some(),
            form: row.try_get("form")?,
            source: row.try_get("source")?,
        }))
    }

    /// The lead's score revision (`None`: no such lead).
    pub async fn score_rev(&mut self, lead_id: &str) -> StoreResult<Option<i64>> {
        sqlx::query("SELECT score_rev FROM leads WHERE tenant_id = $1 AND id = $2")
            .bind(self.tenant_id)
            .bind(lead_id)
            .fetch_optional(&mut *self.conn)
            .await?
            .map(|row| row.try_get("score_rev"))
            .transpose()
            .map_err(Into::into)
    }

    /// Marks the lead's step done.
    pub fn lead_processed(&mut self, lead_id: &str, now: Timestamp) {
        let tenant = self.tenant_id;
        self.pending
            .set_lead(tenant, lead_id, "processed_at", Bind::Int(now.micros()));
        self.pending
            .set_lead(tenant, lead_id, "updated_at", Bind::Int(now.micros()));
    }

    /// The records of the calls kept (see `PluginHost::keep_success`).
    pub fn plugin_calls(&mut self, calls: &[PluginCall], now: Timestamp) {
        let rows = calls.iter().map(|call| {
            vec![
                Bind::from(new_id()),
                Bind::from(self.tenant_id),
                Bind::from(&call.plugin_id),
                Bind::from(call.lead_id.clone()),
                Bind::from(i32::from(call.error.is_none())),
                Bind::from(call.error.clone()),
                Bind::from(call.result.as_ref().map(serde_json::Value::to_string)),
                Bind::from(call.logs.to_string()),
                Bind::from(&call.stdout),
                Bind::from(&call.stderr),
                Bind::Int(call.fuel_used as i64),
                Bind::Int(call.duration_us as i64),
                Bind::from(call.started_at.map(Timestamp::micros)),
                // The seed's bits as a BIGINT.
                Bind::from(call.seed.map(|seed| seed as i64)),
                Bind::Int(now.micros()),
            ]
        });
        let insert = multi_row_insert(
            self.backend,
            "INSERT INTO plugin_calls (id, tenant_id, plugin_id, lead_id, ok, error, result, logs, stdout, \
             stderr, fuel_used, duration_us, started_at, seed, created_at) VALUES ",
            rows,
            "",
        );
        if let Some(insert) = insert {
            self.write(insert);
        }
    }
}
