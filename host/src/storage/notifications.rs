//! Notifications to users, and which kinds each user also gets by email.

use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::batch::Statement;
use super::unit::Unit;
use super::{StoreError, StoreResult, TenantStore, word};
use crate::clock::Timestamp;
use crate::domain::NoticeKind;

#[derive(Debug, Clone, serde::Serialize)]
pub struct NotificationRecord {
    pub id: String,
    #[serde(skip)]
    pub user_id: String,
    pub kind: NoticeKind,
    pub lead_id: Option<String>,
    pub message: String,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

impl NotificationRecord {
    fn from_row(row: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            kind: word(row, "kind")?,
            lead_id: row.try_get("lead_id")?,
            message: row.try_get("message")?,
            created_at: Timestamp(row.try_get("created_at")?),
            read_at: row.try_get::<Option<i64>, _>("read_at")?.map(Timestamp),
        })
    }
}

/// What a notification email needs: the notification, its user's address
/// and choice, the lead's name, and the tenant's sender and link key.
pub struct NotificationMail {
    pub notification: NotificationRecord,
    pub to: String,
    pub by_email: Vec<NoticeKind>,
    pub lead_name: Option<String>,
    pub from: String,
    pub link_key: String,
}

fn kinds(text: &str) -> Vec<NoticeKind> {
    serde_json::from_str::<Vec<String>>(text)
        .unwrap_or_default()
        .iter()
        .filter_map(|k| k.parse().ok())
        .collect()
}

impl TenantStore<'_> {
    /// A user's notifications, newest first (`unread`: only those not read).
    pub async fn notifications(&self, user_id: &str, unread: bool, limit: i64) -> StoreResult<Vec<NotificationRecord>> {
        let filter = if unread { " AND read_at IS NULL" } else { "" };
        let rows = sqlx::query(&format!(
            "SELECT * FROM notifications WHERE tenant_id = $1 AND user_id = $2{filter} \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(&self.tenant_id)
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter().map(NotificationRecord::from_row).collect()
    }

    pub async fn unread_notifications(&self, user_id: &str) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM notifications WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL",
        )
        .bind(&self.tenant_id)
        .bind(user_id)
        .fetch_one(&self.store.read)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Marks the user's notification (`None`: all of them) read.
    pub async fn mark_notifications_read(&self, user_id: &str, id: Option<&str>) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE notifications SET read_at = $4 \
             WHERE tenant_id = $1 AND user_id = $2 AND ($3 IS NULL OR id = $3) AND read_at IS NULL",
        )
        .bind(&self.tenant_id)
        .bind(user_id)
        .bind(id)
        .bind(Timestamp::now().micros())
        .execute(&self.store.write)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn notification_exists(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS hit FROM notifications WHERE tenant_id = $1 AND user_id = $2 AND id = $3")
            .bind(&self.tenant_id)
            .bind(user_id)
            .bind(id)
            .fetch_optional(&self.store.read)
            .await?;
        Ok(row.is_some())
    }

    /// The kinds the user gets by email too.
    pub async fn notify_by_email(&self, user_id: &str) -> StoreResult<Vec<NoticeKind>> {
        let row = sqlx::query("SELECT notify_by_email FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(user_id)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(kinds(&row.try_get::<String, _>("notify_by_email")?))
    }

    pub async fn set_notify_by_email(&self, user_id: &str, kinds: &[NoticeKind]) -> StoreResult<()> {
        let list = Value::from(kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>()).to_string();
        sqlx::query("UPDATE users SET notify_by_email = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(user_id)
            .bind(list)
            .execute(&self.store.write)
            .await?;
        Ok(())
    }
}

/// Notifications in a unit: written with the change they tell of.
impl Unit<'_> {
    pub fn insert_notification(&mut self, notification: &NotificationRecord) {
        self.write(
            Statement::new(
                "INSERT INTO notifications (id, tenant_id, user_id, kind, lead_id, message, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&notification.id)
            .bind(self.tenant())
            .bind(&notification.user_id)
            .bind(notification.kind.as_str())
            .bind(notification.lead_id.clone())
            .bind(&notification.message)
            .bind(notification.created_at.micros()),
        );
    }

    pub async fn notification_mail(&mut self, notification_id: &str) -> StoreResult<Option<NotificationMail>> {
        self.settle().await?;
        let row = sqlx::query(
            "SELECT n.*, u.email AS to_address, u.notify_by_email, l.name AS lead_name, t.name AS tenant_name, \
               t.email_from, t.link_key \
             FROM notifications n JOIN users u ON u.id = n.user_id JOIN tenants t ON t.id = n.tenant_id \
             LEFT JOIN leads l ON l.id = n.lead_id WHERE n.tenant_id = $1 AND n.id = $2",
        )
        .bind(self.tenant_id)
        .bind(notification_id)
        .fetch_optional(&mut *self.conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let tenant: String = row.try_get("tenant_name")?;
        Ok(Some(NotificationMail {
            notification: NotificationRecord::from_row(&row)?,
            to: row.try_get("to_address")?,
            by_email: kinds(&row.try_get::<String, _>("notify_by_email")?),
            lead_name: row.try_get("lead_name")?,
            from: super::nurture::sender_or_placeholder(row.try_get("email_from")?, &tenant),
            link_key: row.try_get::<Option<String>, _>("link_key")?.unwrap_or_default(),
        }))
    }

    /// The user gets no more notification emails (their unsubscribe link).
    pub fn stop_notification_emails(&mut self, user_id: &str) {
        self.write(
            Statement::new("UPDATE users SET notify_by_email = '[]' WHERE tenant_id = $1 AND id = $2")
                .bind(self.tenant())
                .bind(user_id),
        );
    }

    /// How many behaviour events of `kind` the lead had since `since`.
    pub async fn events_since(&mut self, lead_id: &str, kind: &str, since: Timestamp) -> StoreResult<i64> {
        self.settle().await?;
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM behaviour_events \
             WHERE tenant_id = $1 AND lead_id = $2 AND kind = $3 AND occurred_at >= $4",
        )
        .bind(self.tenant_id)
        .bind(lead_id)
        .bind(kind)
        .bind(since.micros())
        .fetch_one(&mut *self.conn)
        .await?;
        Ok(row.try_get("n")?)
    }
}
