//! Delivering one email of the outbox: the `email` job.
//!
//! The email row, with its Message-ID, was written in the step's
//! transaction; this job sends it with that same Message-ID on every
//! attempt, records each attempt with the server's answer, and either ends
//! (sent; refused for good, which suppresses the address; or out of
//! attempts: the dead letter) or comes back after a backoff. The attempt's
//! record and the job's removal or next try commit together.
//!
//! At most once per Message-ID, except in one window: the server accepted
//! the message and this process died before recording it. The job then runs
//! again after its lease and the server receives the same Message-ID twice
//! (receivers commonly drop such a duplicate).

use std::time::Duration;

use serde_json::json;

use super::message::OutgoingEmail;
use super::smtp::SendOutcome;
use crate::app::AppState;
use crate::clock::Timestamp;
use crate::domain::{EmailStatus, JobRecord};
use crate::storage::{EmailRecord, StoreResult, Unit, UnitOfWork};

/// Attempts before an email is given up (the dead letter).
pub const MAX_ATTEMPTS: i32 = 8;
/// How long an email waits when no SMTP server is configured.
const NO_RELAY_RETRY: Duration = Duration::from_secs(300);

/// The wait before attempt `attempt + 1`: 1, 2, 4, ... minutes, at most an hour.
pub fn backoff(attempt: i32) -> Duration {
    let minutes = 1u64 << attempt.clamp(1, 7).saturating_sub(1);
    Duration::from_secs(60 * minutes.min(60))
}

/// Runs the `email` job for `email_id`.
pub async fn deliver(state: &AppState, job: &JobRecord, email_id: &str) -> StoreResult<()> {
    let store = state.store.tenant(&job.tenant_id);
    let email = store.email(email_id).await?;
    let now = Timestamp::now();
    if email.status != EmailStatus::Queued {
        return store.run(Attempted::done(job, &email, None)).await;
    }
    // An account's email (a password reset) is no mailing: the suppression
    // list, which is for leads' and notices' addresses, does not stop it.
    let is_mailing = email.lead_id.is_some();
    if is_mailing && store.is_suppressed(&email.to).await? {
        return store.run(Attempted::done(job, &email, Some(Outcome::Suppressed))).await;
    }
    let Some(relay) = &state.smtp else {
        // Nothing to send through: it waits, as the outbox shows.
        let retry = now.plus(NO_RELAY_RETRY);
        return state.store.retry_job(&job.id, "no SMTP server configured", retry).await;
    };
    let settings = store.settings().await?;
    if !state
        .send_allowance
        .take(&store, now, settings.emails_per_minute)
        .await?
    {
        let next_minute = Timestamp((now.micros() / 60_000_000 + 1) * 60_000_000);
        let reason = "the tenant's sending rate is reached";
        return state.store.retry_job(&job.id, reason, next_minute).await;
    }
    let unsubscribe_url = is_mailing.then(|| {
        super::links::unsubscribe_url(
            state.settings.public_url.as_deref().unwrap_or_default(),
            &settings.link_key,
            &email.id,
        )
    });
    let outgoing = OutgoingEmail {
        message_id: email.message_id.clone(),
        from: email.from.clone(),
        to: email.to.clone(),
        subject: email.subject.clone(),
        text: email.text.clone(),
        html: email.html.clone(),
        unsubscribe_url,
    };
    let outcome = relay.send(&outgoing).await;
    tracing::info!(email = %email.id, attempt = email.attempts + 1, ?outcome, "email attempt");
    store
        .run(Attempted::done(job, &email, Some(Outcome::Sent(outcome))))
        .await
}

enum Outcome {
    Suppressed,
    Sent(SendOutcome),
}

/// An attempt's record, with the job's removal or its next try.
struct Attempted {
    job_id: String,
    email: EmailRecord,
    outcome: Option<Outcome>,
}

impl Attempted {
    fn done(job: &JobRecord, email: &EmailRecord, outcome: Option<Outcome>) -> Self {
        Self {
            job_id: job.id.clone(),
            email: email.clone(),
            outcome,
        }
    }
}

#[async_trait::async_trait]
impl UnitOfWork for Attempted {
    type Output = ();

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<()> {
        let now = Timestamp::now();
        let email = &self.email;
        let attempt = email.attempts + 1;
        match &self.outcome {
            None => {
                unit.take_job(&self.job_id).await?;
            }
            Some(Outcome::Suppressed) => {
                if unit.take_job(&self.job_id).await? {
                    unit.email_suppressed(&email.id);
                    let detail = json!({"email": email.id, "to": email.to, "reason": "suppressed"});
                    on_timeline(unit, email, "email_not_sent", &detail, now);
                }
            }
            Some(Outcome::Sent(SendOutcome::Accepted { answer })) => {
                if unit.take_job(&self.job_id).await? {
                    unit.email_attempted(&email.id, attempt, "accepted", answer, EmailStatus::Sent, now);
                    let detail = json!({"email": email.id, "subject": email.subject, "message_id": email.message_id});
                    on_timeline(unit, email, "email_sent", &detail, now);
                }
            }
            Some(Outcome::Sent(SendOutcome::Permanent { answer })) => {
                if unit.take_job(&self.job_id).await? {
                    unit.email_attempted(&email.id, attempt, "refused", answer, EmailStatus::Failed, now);
                    if email.lead_id.is_some() {
                        unit.suppress(&email.to, "rejected", Some(answer), now);
                    }
                    let detail = json!({"email": email.id, "to": email.to, "answer": answer});
                    on_timeline(unit, email, "email_failed", &detail, now);
                }
            }
            Some(Outcome::Sent(SendOutcome::Transient { answer })) if attempt >= MAX_ATTEMPTS => {
                if unit.take_job(&self.job_id).await? {
                    unit.email_attempted(&email.id, attempt, "deferred", answer, EmailStatus::Failed, now);
                    let detail = json!({"email": email.id, "to": email.to, "answer": answer, "attempts": attempt});
                    on_timeline(unit, email, "email_failed", &detail, now);
                }
            }
            Some(Outcome::Sent(SendOutcome::Transient { answer })) => {
                unit.email_attempted(&email.id, attempt, "deferred", answer, EmailStatus::Queued, now);
                unit.reschedule_job(&self.job_id, now.plus(backoff(attempt)), answer);
            }
        }
        Ok(())
    }
}

/// An email's outcome on its lead's timeline; an account's email has no lead
/// (its attempts stay in the email log).
fn on_timeline(unit: &mut Unit<'_>, email: &EmailRecord, kind: &str, detail: &serde_json::Value, now: Timestamp) {
    if let Some(lead_id) = &email.lead_id {
        unit.timeline(lead_id, kind, detail, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let minutes: Vec<u64> = (1..=9).map(|a| backoff(a).as_secs() / 60).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
