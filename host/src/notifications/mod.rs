//! What reaches a user about their leads: a workflow's notice to the owner,
//! an SLA warning or breach (a breach also to the escalation manager), a
//! hot lead assigned, a nurtured lead's key behaviour. Each is a row in the
//! user's notification list (`GET /api/v1/notifications`), written in the
//! unit of the change it tells of, with a `notification_email` job that
//! sends it by email too when the user chose that kind
//! (`PUT /api/v1/me/notifications`).

use serde_json::json;

use crate::clock::Timestamp;
use crate::domain::{Job, JobRecord, NoticeJob, NoticeKind};
use crate::email::compose::{Composed, header_value};
use crate::email::links;
use crate::email::message::message_id;
use crate::storage::{NewEmail, NotificationRecord, StoreResult, Unit, UnitOfWork, new_id};

/// Longest message kept (characters).
const MAX_MESSAGE: usize = 1000;

/// A notification to write.
pub struct Notice<'a> {
    pub user_id: &'a str,
    pub kind: NoticeKind,
    pub lead_id: Option<&'a str>,
    pub message: String,
}

/// Writes the notification and the job that may email it.
pub fn notify(unit: &mut Unit<'_>, notice: Notice<'_>, now: Timestamp) {
    let record = NotificationRecord {
        id: new_id(),
        user_id: notice.user_id.to_owned(),
        kind: notice.kind,
        lead_id: notice.lead_id.map(str::to_owned),
        message: notice.message.chars().take(MAX_MESSAGE).collect(),
        created_at: now,
        read_at: None,
    };
    unit.insert_notification(&record);
    let job = Job::NotificationEmail(NoticeJob {
        notification_id: record.id.clone(),
    });
    unit.add_job(&JobRecord::held(new_id(), unit.tenant_id(), job), now, None);
}

/// The `notification_email` job: an email to the user if they want this
/// kind by email, through the outbox like every other email.
pub struct EmailNotice {
    pub job_id: String,
    pub notification_id: String,
    pub public_url: String,
}

#[async_trait::async_trait]
impl UnitOfWork for EmailNotice {
    type Output = ();

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<()> {
        let now = Timestamp::now();
        if !unit.take_job(&self.job_id).await? {
            return Ok(());
        }
        let Some(mail) = unit.notification_mail(&self.notification_id).await? else {
            return Ok(());
        };
        let notification = &mail.notification;
        // Only about a lead (the outbox keeps each email with its lead).
        let Some(lead_id) = notification.lead_id.as_deref() else {
            return Ok(());
        };
        if !mail.by_email.contains(&notification.kind) {
            return Ok(());
        }
        let id = new_id();
        let message_id = message_id(&id, &mail.from);
        let lead = mail.lead_name.as_deref().unwrap_or("a lead");
        let subject = header_value(&format!("[leadhost] {lead}: {}", notification.message), 200);
        let text = format!(
            "{}\n\nLead: {lead} ({lead_id})\n\nYou get these emails for {} notifications.",
            notification.message, notification.kind
        );
        let stop = links::unsubscribe_url(&self.public_url, &mail.link_key, &id);
        let email = Composed::checked(&subject, &text, None)
            .map_err(crate::storage::StoreError::Corrupt)?
            .with_footer(&stop);
        unit.insert_email(
            &NewEmail {
                id: &id,
                lead_id: Some(lead_id),
                run_id: None,
                step_id: None,
                user_id: Some(&notification.user_id),
                message_id: &message_id,
                to: &mail.to,
                from: &mail.from,
                subject: &email.subject,
                text: &email.text,
                html: None,
            },
            now,
        );
        let job = Job::Email(crate::domain::EmailJob { email_id: id.clone() });
        unit.add_job(&JobRecord::held(new_id(), unit.tenant_id(), job), now, None);
        let detail = json!({"email": id, "user": notification.user_id, "kind": notification.kind});
        unit.timeline(lead_id, "notification_emailed", &detail, now);
        Ok(())
    }
}
