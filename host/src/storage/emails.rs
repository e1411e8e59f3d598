//! The email outbox, each attempt at delivery, the suppression list and
//! the shared sending rate.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::batch::Statement;
use super::unit::Unit;
use super::{Store, StoreError, StoreResult, TenantStore, word};
use crate::clock::Timestamp;
use crate::domain::EmailStatus;

/// An email as the outbox holds it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmailRecord {
    pub id: String,
    #[serde(skip)]
    pub tenant_id: String,
    /// The lead it is about; none for an account's email (a password reset).
    pub lead_id: Option<String>,
    pub run_id: Option<String>,
    pub step_id: Option<String>,
    /// A notification email's recipient (a user, not the lead).
    pub user_id: Option<String>,
    pub message_id: String,
    pub to: String,
    pub from: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub status: EmailStatus,
    pub attempts: i32,
    pub last_answer: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub opened_at: Option<Timestamp>,
    pub clicked_at: Option<Timestamp>,
}

impl EmailRecord {
    pub(super) fn from_row(row: &AnyRow) -> StoreResult<Self> {
        let at = |column: &str| -> StoreResult<Option<Timestamp>> {
            Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp))
        };
        Ok(Self {
            id: row.try_get("id")?,
            tenant_id: row.try_get("tenant_id")?,
            lead_id: row.try_get("lead_id")?,
            run_id: row.try_get("run_id")?,
            step_id: row.try_get("step_id")?,
            user_id: row.try_get("user_id")?,
            message_id: row.try_get("message_id")?,
            to: row.try_get("to_address")?,
            from: row.try_get("from_address")?,
            subject: row.try_get("subject")?,
            text: row.try_get("text_body")?,
            html: row.try_get("html_body")?,
            status: word(row, "status")?,
            attempts: row.try_get("attempts")?,
            last_answer: row.try_get("last_answer")?,
            created_at: Timestamp(row.try_get("created_at")?),
            sent_at: at("sent_at")?,
            opened_at: at("opened_at")?,
            clicked_at: at("clicked_at")?,
        })
    }
}

/// An email to write to the outbox, queued.
pub struct NewEmail<'a> {
    pub id: &'a str,
    pub lead_id: Option<&'a str>,
    pub run_id: Option<&'a str>,
    pub step_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub message_id: &'a str,
    pub to: &'a str,
    pub from: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
}

/// One delivery attempt and the server's answer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmailAttemptRecord {
    pub attempt: i32,
    pub outcome: String,
    pub answer: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SuppressionRecord {
    pub address: String,
    pub reason: String,
    pub detail: Option<String>,
    pub created_at: Timestamp,
}

impl Store {
    /// An email by id, in whichever tenant (its signed links name only the email).
    pub async fn email_by_id(&self, email_id: &str) -> StoreResult<EmailRecord> {
        let row = sqlx::query("SELECT * FROM emails WHERE id = $1")
            .bind(email_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        EmailRecord::from_row(&row)
    }
}

impl TenantStore<'_> {
    pub async fn email(&self, email_id: &str) -> StoreResult<EmailRecord> {
        let row = sqlx::query("SELECT * FROM emails WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(email_id)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        EmailRecord::from_row(&row)
    }

    pub async fn lead_emails(&self, lead_id: &str) -> StoreResult<Vec<EmailRecord>> {
        let rows = sqlx::query("SELECT * FROM emails WHERE tenant_id = $1 AND lead_id = $2 ORDER BY created_at, id")
            .bind(&self.tenant_id)
            .bind(lead_id)
            .fetch_all(&self.store.read)
            .await?;
        rows.iter().map(EmailRecord::from_row).collect()
    }

    /// The email log, newest first, `limit` at a time before the email `before`.
    pub async fn emails(&self, limit: i64, before: Option<&str>) -> StoreResult<Vec<EmailRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM emails WHERE tenant_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(&self.tenant_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter().map(EmailRecord::from_row).collect()
    }

    /// The emails a run sent (its branches on opens and clicks read them).
    /// (Unordered: ordering by time in SQL would lead SQLite's planner to
    /// the tenant's index by time, a scan of every email of the tenant.)
    pub async fn run_emails(&self, run_id: &str) -> StoreResult<Vec<EmailRecord>> {
        let rows = sqlx::query("SELECT * FROM emails WHERE tenant_id = $1 AND run_id = $2")
            .bind(&self.tenant_id)
            .bind(run_id)
            .fetch_all(&self.store.read)
            .await?;
        rows.iter().map(EmailRecord::from_row).collect()
    }

    pub async fn email_attempts(&self, email_id: &str) -> StoreResult<Vec<EmailAttemptRecord>> {
        let rows = sqlx::query(
            "SELECT attempt, outcome, answer, created_at FROM email_attempts \
             WHERE email_id = $2 AND EXISTS (SELECT 1 FROM emails e WHERE e.id = $2 AND e.tenant_id = $1) \
             ORDER BY attempt",
        )
        .bind(&self.tenant_id)
        .bind(email_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(EmailAttemptRecord {
                    attempt: row.try_get("attempt")?,
                    outcome: row.try_get("outcome")?,
                    answer: row.try_get("answer")?,
                    at: Timestamp(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    pub async fn suppressions(&self) -> StoreResult<Vec<SuppressionRecord>> {
        let rows = sqlx::query("SELECT * FROM suppressions WHERE tenant_id = $1 ORDER BY created_at DESC, address")
            .bind(&self.tenant_id)
            .fetch_all(&self.store.read)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SuppressionRecord {
                    address: row.try_get("address")?,
                    reason: row.try_get("reason")?,
                    detail: row.try_get("detail")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    pub async fn is_suppressed(&self, address: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS hit FROM suppressions WHERE tenant_id = $1 AND address = $2")
            .bind(&self.tenant_id)
            .bind(address.to_lowercase())
            .fetch_optional(&self.store.read)
            .await?;
        Ok(row.is_some())
    }

    /// Takes `block` of the minute's sends under the tenant's rate, shared
    /// by every process through the database, or one when fewer than
    /// `block` are left; how many it took (0: the minute is full).
    pub async fn take_send_slots(&self, minute: i64, block: i64, per_minute: i32) -> StoreResult<i64> {
        let per_minute = i64::from(per_minute);
        let block = block.min(per_minute);
        // Each statement is atomic on both backends, so processes sharing
        // the tenant never exceed the rate.
        let tries: &[i64] = if block > 1 { &[block, 1] } else { &[block] };
        for &want in tries {
            if want < 1 {
                break;
            }
            let taken = sqlx::query(
                "INSERT INTO send_windows (tenant_id, minute, sent) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id, minute) DO UPDATE SET sent = send_windows.sent + $3 \
                 WHERE send_windows.sent + $3 <= $4",
            )
            .bind(&self.tenant_id)
            .bind(minute)
            .bind(want)
            .bind(per_minute)
            .execute(&self.store.write)
            .await?;
            if taken.rows_affected() > 0 {
                return Ok(want);
            }
        }
        Ok(0)
    }
}

/// The outbox in a unit: an email written with the step that sends it, and
/// each attempt recorded with the job's removal or its next try.
impl Unit<'_> {
    pub fn insert_email(&mut self, email: &NewEmail<'_>, now: Timestamp) {
        self.write(
            Statement::new(
                "INSERT INTO emails (id, tenant_id, lead_id, run_id, step_id, message_id, to_address, from_address, \
                 subject, text_body, html_body, status, attempts, created_at, user_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued', 0, $12, $13)",
            )
            .bind(email.id)
            .bind(self.tenant())
            .bind(email.lead_id)
            .bind(email.run_id)
            .bind(email.step_id)
            .bind(email.message_id)
            .bind(email.to)
            .bind(email.from)
            .bind(email.subject)
            .bind(email.text)
            .bind(email.html)
            .bind(now.micros())
            .bind(email.user_id),
        );
    }

    /// Records one attempt and the email's state after it.
    pub fn email_attempted(
        &mut self,
        email_id: &str,
        attempt: i32,
        outcome: &str,
        answer: &str,
        status: EmailStatus,
        now: Timestamp,
    ) {
        self.write(
            Statement::new(
                "INSERT INTO email_attempts (email_id, attempt, outcome, answer, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(email_id)
            .bind(attempt)
            .bind(outcome)
            .bind(answer)
            .bind(now.micros()),
        );
        let sent_at = (status == EmailStatus::Sent).then_some(now.micros());
        self.write(
            Statement::new(
                "UPDATE emails SET status = $3, attempts = $4, last_answer = $5, sent_at = $6 \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(self.tenant())
            .bind(email_id)
            .bind(status.as_str())
            .bind(attempt)
            .bind(answer)
            .bind(sent_at),
        );
    }

    /// Marks an email not sent because its address is suppressed.
    pub fn email_suppressed(&mut self, email_id: &str) {
        self.write(
            Statement::new("UPDATE emails SET status = 'suppressed' WHERE tenant_id = $1 AND id = $2")
                .bind(self.tenant())
                .bind(email_id),
        );
    }

    /// Adds an address to the suppression list (kept as first recorded).
    pub fn suppress(&mut self, address: &str, reason: &str, detail: Option<&str>, now: Timestamp) {
        self.write(
            Statement::new(
                "INSERT INTO suppressions (tenant_id, address, reason, detail, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (tenant_id, address) DO NOTHING",
            )
            .bind(self.tenant())
            .bind(address.to_lowercase())
            .bind(reason)
            .bind(detail)
            .bind(now.micros()),
        );
    }

    /// Whether the address is on the suppression list, as this unit sees it.
    pub async fn is_suppressed(&mut self, address: &str) -> StoreResult<bool> {
        self.settle().await?;
        let row = sqlx::query("SELECT 1 AS hit FROM suppressions WHERE tenant_id = $1 AND address = $2")
            .bind(self.tenant_id)
            .bind(address.to_lowercase())
            .fetch_optional(&mut *self.conn)
            .await?;
        Ok(row.is_some())
    }

    /// Releases a claimed job to run again at `at`.
    pub fn reschedule_job(&mut self, job_id: &str, at: Timestamp, error: &str) {
        self.write(
            Statement::new("UPDATE jobs SET locked_until = NULL, run_at = $2, last_error = $3 WHERE id = $1")
                .bind(job_id)
                .bind(at.micros())
                .bind(error),
        );
    }
}

/// An open or a click of an email, and who made it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmailEventRecord {
    pub kind: String,
    pub url: Option<String>,
    /// `person`, `privacy_proxy` or `link_scanner`.
    pub reader: String,
    pub user_agent: Option<String>,
    pub at: Timestamp,
}

impl TenantStore<'_> {
    pub async fn email_events(&self, email_id: &str) -> StoreResult<Vec<EmailEventRecord>> {
        let rows = sqlx::query(
            "SELECT kind, url, reader, user_agent, created_at FROM email_events \
             WHERE tenant_id = $1 AND email_id = $2 ORDER BY created_at, id",
        )
        .bind(&self.tenant_id)
        .bind(email_id)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(EmailEventRecord {
                    kind: row.try_get("kind")?,
                    url: row.try_get("url")?,
                    reader: row.try_get("reader")?,
                    user_agent: row.try_get("user_agent")?,
                    at: Timestamp(row.try_get("created_at")?),
                })
            })
            .collect()
    }
}

/// Opens and clicks in a unit.
impl Unit<'_> {
    pub fn insert_email_event(&mut self, event: &EmailEventRecord, email_id: &str) {
        self.write(
            Statement::new(
                "INSERT INTO email_events (id, tenant_id, email_id, kind, url, reader, user_agent, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(super::new_id())
            .bind(self.tenant())
            .bind(email_id)
            .bind(&event.kind)
            .bind(event.url.clone())
            .bind(&event.reader)
            .bind(event.user_agent.clone())
            .bind(event.at.micros()),
        );
    }

    /// A person opened the email (`clicked`: and clicked a link in it): the
    /// first time of each is kept.
    pub fn email_engaged(&mut self, email_id: &str, clicked: bool, now: Timestamp) {
        let clicked_at = match clicked {
            true => ", clicked_at = COALESCE(clicked_at, $3)",
            false => "",
        };
        self.write(
            Statement::new(format!(
                "UPDATE emails SET opened_at = COALESCE(opened_at, $3){clicked_at} WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(self.tenant())
            .bind(email_id)
            .bind(now.micros()),
        );
    }
}
