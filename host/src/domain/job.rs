//! Durable jobs as data: what kind each is and the payload it carries, one
//! typed payload per kind. A job row stores the kind's word and the payload
//! as JSON; [`Job::decode`] turns them back into this, once, when a job is
//! read, so no job handler picks at untyped JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ParseError;
use super::words::word_enum;
use crate::clock::Timestamp;

word_enum!(
    /// The word stored in `jobs.kind`.
    JobKind, "job kind" {
        /// Score and route a new lead (written with it: an outbox).
        ScoreAndRoute = "score_and_route",
        /// Score one lead again (an event, a touch that filled fields).
        Rescore = "rescore",
        /// A lead's fading score next moves: one job per lead.
        Decay = "decay",
        /// Re-score every lead of a tenant, a chunk at a time.
        RescoreTenant = "rescore_tenant",
        /// An owner's follow-up deadline is near.
        SlaWarning = "sla_warning",
        /// An owner's follow-up deadline passed.
        SlaBreach = "sla_breach",
        /// A breached lead returns to the public pool.
        SlaRecycle = "sla_recycle",
        /// Deliver one webhook event.
        Webhook = "webhook",
        /// Run a nurture run's next steps (its wait is over, or it just started).
        Nurture = "nurture",
        /// Send one email of the outbox.
        Email = "email",
        /// Route a held lead now (rules below the hold) and start its first-touch deadline.
        HandToSales = "hand_to_sales",
        /// Email a notification to its user, if they want that kind by email.
        NotificationEmail = "notification_email",
        /// Route a lead again whose owner has left (deactivated): rules,
        /// strategies and router plugins, without them, or the pool.
        Reroute = "reroute",
    }
);

/// How long a claimed job is held before another worker may take it; long
/// work renews it as it goes.
pub const CLAIM_LEASE: std::time::Duration = std::time::Duration::from_secs(120);

/// A job with its typed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    ScoreAndRoute(LeadJob),
    Rescore(RescoreJob),
    Decay(LeadJob),
    RescoreTenant(RescoreRunJob),
    SlaWarning(DeadlineJob),
    SlaBreach(DeadlineJob),
    SlaRecycle(DeadlineJob),
    Webhook(DeliveryJob),
    Nurture(RunJob),
    Email(EmailJob),
    HandToSales(LeadJob),
    NotificationEmail(NoticeJob),
    Reroute(LeadJob),
}

/// A job about one lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadJob {
    pub lead_id: String,
}

/// Score one lead again, and why (as its timeline shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescoreJob {
    pub lead_id: String,
    #[serde(default = "RescoreJob::default_cause")]
    pub cause: String,
}

impl RescoreJob {
    fn default_cause() -> String {
        "re-score".to_owned()
    }
}

/// A tenant-wide re-score run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescoreRunJob {
    pub run_id: String,
}

/// A follow-up deadline of one owner on one lead. A job whose deadline has
/// moved, or whose lead changed hands, does nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineJob {
    pub lead_id: String,
    pub owner: String,
    /// Microseconds since the epoch, as `leads.follow_up_due_at` holds it.
    pub due_at: i64,
}

impl DeadlineJob {
    pub fn due(&self) -> Timestamp {
        Timestamp(self.due_at)
    }
}

/// One webhook delivery (`webhook_deliveries.id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub delivery_id: String,
}

/// A nurture run's next move. A job for an older `seq` (the run moved on:
/// an awaited event came first) does nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunJob {
    pub run_id: String,
    pub seq: i64,
}

/// One notification (`notifications.id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeJob {
    pub notification_id: String,
}

/// One email of the outbox (`emails.id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailJob {
    pub email_id: String,
}

impl Job {
    pub fn kind(&self) -> JobKind {
        match self {
            Job::ScoreAndRoute(_) => JobKind::ScoreAndRoute,
            Job::Rescore(_) => JobKind::Rescore,
            Job::Decay(_) => JobKind::Decay,
            Job::RescoreTenant(_) => JobKind::RescoreTenant,
            Job::SlaWarning(_) => JobKind::SlaWarning,
            Job::SlaBreach(_) => JobKind::SlaBreach,
            Job::SlaRecycle(_) => JobKind::SlaRecycle,
            Job::Webhook(_) => JobKind::Webhook,
            Job::Nurture(_) => JobKind::Nurture,
            Job::Email(_) => JobKind::Email,
            Job::HandToSales(_) => JobKind::HandToSales,
            Job::NotificationEmail(_) => JobKind::NotificationEmail,
            Job::Reroute(_) => JobKind::Reroute,
        }
    }

    /// The payload as stored in `jobs.payload`.
    pub fn payload(&self) -> Value {
        let value = match self {
            Job::ScoreAndRoute(p) | Job::Decay(p) | Job::HandToSales(p) | Job::Reroute(p) => serde_json::to_value(p),
            Job::Rescore(p) => serde_json::to_value(p),
            Job::RescoreTenant(p) => serde_json::to_value(p),
            Job::SlaWarning(p) | Job::SlaBreach(p) | Job::SlaRecycle(p) => serde_json::to_value(p),
            Job::Webhook(p) => serde_json::to_value(p),
            Job::Nurture(p) => serde_json::to_value(p),
            Job::Email(p) => serde_json::to_value(p),
            Job::NotificationEmail(p) => serde_json::to_value(p),
        };
        value.expect("job payloads serialise")
    }

    /// A stored job: its kind's word and its payload.
    pub fn decode(kind: &str, payload: &str) -> Result<Self, ParseError> {
        let kind: JobKind = kind.parse()?;
        fn read<T: for<'de> Deserialize<'de>>(kind: JobKind, payload: &str) -> Result<T, ParseError> {
            serde_json::from_str(payload).map_err(|e| ParseError(format!("a {kind} job's payload {payload}: {e}")))
        }
        Ok(match kind {
            JobKind::ScoreAndRoute => Job::ScoreAndRoute(read(kind, payload)?),
            JobKind::Rescore => Job::Rescore(read(kind, payload)?),
            JobKind::Decay => Job::Decay(read(kind, payload)?),
            JobKind::RescoreTenant => Job::RescoreTenant(read(kind, payload)?),
            JobKind::SlaWarning => Job::SlaWarning(read(kind, payload)?),
            JobKind::SlaBreach => Job::SlaBreach(read(kind, payload)?),
            JobKind::SlaRecycle => Job::SlaRecycle(read(kind, payload)?),
            JobKind::Webhook => Job::Webhook(read(kind, payload)?),
            JobKind::Nurture => Job::Nurture(read(kind, payload)?),
            JobKind::Email => Job::Email(read(kind, payload)?),
            JobKind::HandToSales => Job::HandToSales(read(kind, payload)?),
            JobKind::NotificationEmail => Job::NotificationEmail(read(kind, payload)?),
            JobKind::Reroute => Job::Reroute(read(kind, payload)?),
        })
    }

    /// The lead a lead step works on (score and route, re-score, decay).
    pub fn lead_id(&self) -> Option<&str> {
        match self {
            Job::ScoreAndRoute(p) | Job::Decay(p) | Job::HandToSales(p) | Job::Reroute(p) => Some(&p.lead_id),
            Job::Rescore(p) => Some(&p.lead_id),
            Job::SlaWarning(p) | Job::SlaBreach(p) | Job::SlaRecycle(p) => Some(&p.lead_id),
            Job::RescoreTenant(_) | Job::Webhook(_) | Job::Nurture(_) | Job::Email(_) | Job::NotificationEmail(_) => {
                None
            }
        }
    }
}

/// A job as read from (or just written to) the jobs table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: String,
    pub tenant_id: String,
    pub job: Job,
    pub attempts: i32,
}

impl JobRecord {
    /// A job this process just wrote (and so holds), to run at once.
    pub fn held(id: impl Into<String>, tenant_id: impl Into<String>, job: Job) -> Self {
        Self {
            id: id.into(),
            tenant_id: tenant_id.into(),
            job,
            attempts: 1,
        }
    }

    pub fn kind(&self) -> JobKind {
        self.job.kind()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_payload_round_trips_through_its_row() {
        let jobs = [
            Job::ScoreAndRoute(LeadJob { lead_id: "l1".into() }),
            Job::Rescore(RescoreJob {
                lead_id: "l1".into(),
                cause: "event page_view".into(),
            }),
            Job::SlaBreach(DeadlineJob {
                lead_id: "l1".into(),
                owner: "u1".into(),
                due_at: 42,
            }),
            Job::Webhook(DeliveryJob {
                delivery_id: "e.w".into(),
            }),
        ];
        for job in jobs {
            let decoded = Job::decode(job.kind().as_str(), &job.payload().to_string()).unwrap();
            assert_eq!(decoded, job);
        }
    }

    #[test]
    fn rows_written_before_typed_payloads_still_decode() {
        // The webhook job's payload is built in SQL; a re-score's cause was optional.
        let job = Job::decode("webhook", r#"{"delivery_id": "e1.w1"}"#).unwrap();
        assert_eq!(
            job,
            Job::Webhook(DeliveryJob {
                delivery_id: "e1.w1".into()
            })
        );
        let job = Job::decode("rescore", &json!({"lead_id": "l"}).to_string()).unwrap();
        assert_eq!(job.lead_id(), Some("l"));
    }

    #[test]
    fn an_unknown_kind_or_a_bad_payload_is_an_error_not_a_default() {
        assert!(
            Job::decode("nurture_step", "{}")
                .unwrap_err()
                .0
                .contains("is not a job kind")
        );
        let err = Job::decode("sla_breach", r#"{"lead_id": "l"}"#).unwrap_err();
        assert!(err.0.contains("owner"), "{err}");
    }
}
