//! Outbound webhooks: subscriptions, and a delivery log whose rows are
//! written in the same transaction as the change they announce (with a job
//! that delivers them), so an announced change and its delivery are never
//! one without the other.

use serde_json::{Value, json};
use sqlx::Row;

use super::batch::Statement;
use super::unit::Unit;
use super::{StoreError, StoreResult, TenantStore, new_id, word};
use crate::clock::Timestamp;
use crate::domain::{DeliveryStatus, JobKind, WebhookEvent};

#[derive(Debug, Clone, serde::Serialize)]
pub struct WebhookRecord {
    pub id: String,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    pub events: Vec<WebhookEvent>,
    pub enabled: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryRecord {
    pub id: String,
    pub webhook_id: String,
    pub event: WebhookEvent,
    pub payload: Value,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}

impl TenantStore<'_> {
    pub async fn create_webhook(&self, url: &str, secret: &str, events: &[WebhookEvent]) -> StoreResult<WebhookRecord> {
        let record = WebhookRecord {
            id: new_id(),
            url: url.to_owned(),
            secret: secret.to_owned(),
            events: events.to_vec(),
            enabled: true,
            created_at: Timestamp::now(),
        };
        sqlx::query(
            "INSERT INTO webhooks (id, tenant_id, url, secret, events, enabled, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6)",
        )
        .bind(&record.id)
        .bind(&self.tenant_id)
        .bind(url)
        .bind(secret)
        .bind(json!(events).to_string())
        .bind(record.created_at.micros())
        .execute(&self.store.write)
        .await?;
        Ok(record)
    }

    pub async fn webhooks(&self) -> StoreResult<Vec<WebhookRecord>> {
        let rows = sqlx::query("SELECT * FROM webhooks WHERE tenant_id = $1 ORDER BY created_at, id")
            .bind(&self.tenant_id)
            .fetch_all(&self.store.read)
            .await?;
        rows.iter().map(webhook_from_row).collect()
    }

    pub async fn webhook(&self, id: &str) -> StoreResult<WebhookRecord> {
        let row = sqlx::query("SELECT * FROM webhooks WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(id)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        webhook_from_row(&row)
    }

    pub async fn delete_webhook(&self, id: &str) -> StoreResult<()> {
        let gone = sqlx::query("UPDATE webhooks SET enabled = 0 WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(id)
            .execute(&self.store.write)
            .await?;
        if gone.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn deliveries(&self, webhook_id: &str, limit: i64) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM webhook_deliveries WHERE tenant_id = $1 AND webhook_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT $3",
        )
        .bind(&self.tenant_id)
        .bind(webhook_id)
        .bind(limit)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    pub async fn delivery(&self, id: &str) -> StoreResult<DeliveryRecord> {
        let row = sqlx::query("SELECT * FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(id)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        delivery_from_row(&row)
    }

    /// Records one delivery attempt. Delivered or given up: the job is
    /// removed; otherwise it is due again at `retry_at`.
    pub async fn record_attempt(
        &self,
        job_id: &str,
        delivery_id: &str,
        outcome: Result<i64, (Option<i64>, String)>,
        retry_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        let now = Timestamp::now();
        let mut tx = self.store.begin_write().await?;
        let (status, code, error) = match &outcome {
            Ok(code) => (DeliveryStatus::Delivered, Some(*code), None),
            Err((code, error)) if retry_at.is_some() => (DeliveryStatus::Pending, *code, Some(error.clone())),
            Err((code, error)) => (DeliveryStatus::Failed, *code, Some(error.clone())),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, last_status = $4, last_error = $5, \
             delivered_at = CASE WHEN $3 = 'delivered' THEN $6 ELSE delivered_at END \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant_id)
        .bind(delivery_id)
        .bind(status.as_str())
        .bind(code)
        .bind(error)
        .bind(now.micros())
        .execute(&mut *tx)
        .await?;
        match retry_at {
            Some(at) if outcome.is_err() => {
                sqlx::query("UPDATE jobs SET run_at = $2, locked_until = NULL WHERE id = $1")
                    .bind(job_id)
                    .bind(at.micros())
                    .execute(&mut *tx)
                    .await?;
            }
            _ => {
                sqlx::query("DELETE FROM jobs WHERE id = $1")
                    .bind(job_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Announcements in a unit of work.
impl Unit<'_> {
    /// Queues `event` for every enabled webhook subscribed to it: a delivery
    /// and its job, chosen by the database, so they join the unit's writes
    /// without a read first. A delivery's id is the event's id and the
    /// webhook's; the body gets it as `id` when it is read.
    pub fn announce(&mut self, event: WebhookEvent, data: &Value, now: Timestamp) {
        // `events` holds a JSON array of names; event names have no LIKE
        // wildcards, and the quotes make the match whole.
        let subscribed = format!("%\"{event}\"%");
        let event_id = new_id();
        let payload = json!({"event": event, "occurred_at": now, "data": data});
        self.write(
            Statement::new(
                "INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, event, payload, status, created_at) \
                 SELECT $1 || '.' || id, tenant_id, id, $2, $3, $4, $5 FROM webhooks \
                 WHERE tenant_id = $6 AND enabled = 1 AND events LIKE $7",
            )
            .bind(&event_id)
            .bind(event.as_str())
            .bind(payload.to_string())
            .bind(DeliveryStatus::Pending.as_str())
            .bind(now.micros())
            .bind(self.tenant())
            .bind(&subscribed),
        );
        self.write(
            Statement::new(
                "INSERT INTO jobs (id, tenant_id, kind, payload, run_at, attempts, locked_until, created_at) \
                 SELECT 'webhook-' || $1 || '.' || id, tenant_id, $2, \
                   '{\"delivery_id\": \"' || $1 || '.' || id || '\"}', $3, 0, NULL, $3 FROM webhooks \
                 WHERE tenant_id = $4 AND enabled = 1 AND events LIKE $5",
            )
            .bind(&event_id)
            .bind(JobKind::Webhook.as_str())
            .bind(now.micros())
            .bind(self.tenant())
            .bind(subscribed),
        );
    }
}

fn webhook_from_row(row: &sqlx::any::AnyRow) -> StoreResult<WebhookRecord> {
    let events: String = row.try_get("events")?;
    Ok(WebhookRecord {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

fn delivery_from_row(row: &sqlx::any::AnyRow) -> StoreResult<DeliveryRecord> {
    let payload: String = row.try_get("payload")?;
    let id: String = row.try_get("id")?;
    // The body names its delivery (the receiver's idempotency key).
    let mut payload: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut payload {
        fields.insert("id".to_owned(), Value::String(id.clone()));
    }
    Ok(DeliveryRecord {
        id,
        webhook_id: row.try_get("webhook_id")?,
        event: word(row, "event")?,
        payload,
        status: word(row, "status")?,
        attempts: row.try_get("attempts")?,
        last_status: row.try_get("last_status")?,
        last_error: row.try_get("last_error")?,
        created_at: Timestamp(row.try_get("created_at")?),
        delivered_at: row.try_get::<Option<i64>, _>("delivered_at")?.map(Timestamp),
    })
}
