//! A tracked email opened or clicked. Every open and click is kept with who
//! made it; a person's also marks the email opened or clicked (a branch on
//! it reads that) and records a behaviour event on the lead, which feeds
//! scoring and wakes a run waiting for it, in the same unit. A privacy
//! proxy's or a link scanner's changes nothing else.

use std::sync::Arc;

use serde_json::json;

use crate::clock::Timestamp;
use crate::email::tracking::{Engagement, Reader};
use crate::nurture::{ActiveWorkflow, LeadChange, react};
use crate::storage::{EmailEventRecord, EmailRecord, NewBehaviourEvent, RecordedEvent, StoreResult, Unit, UnitOfWork};

pub struct EmailEngagement {
    pub email: EmailRecord,
    pub engagement: Engagement,
    /// The link's target, for a click.
    pub url: Option<String>,
    pub reader: Reader,
    pub user_agent: Option<String>,
    pub workflows: Arc<Vec<ActiveWorkflow>>,
}

#[async_trait::async_trait]
impl UnitOfWork for EmailEngagement {
    /// The behaviour event a person's engagement recorded, with its re-score job.
    type Output = Option<RecordedEvent>;

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<Option<RecordedEvent>> {
        let now = Timestamp::now();
        let (email, kind) = (&self.email, self.engagement.event_kind());
        let record = EmailEventRecord {
            kind: kind.to_owned(),
            url: self.url.clone(),
            reader: self.reader.as_str().to_owned(),
            user_agent: self.user_agent.clone(),
            at: now,
        };
        unit.insert_email_event(&record, &email.id);
        let Some(lead_id) = email.lead_id.as_deref() else {
            return Ok(None); // an account's email: nobody's engagement to score
        };
        if self.reader != Reader::Person || !unit.hold_lead_row(lead_id).await? {
            return Ok(None);
        }
        unit.email_engaged(&email.id, self.engagement == Engagement::Clicked, now);
        let event = NewBehaviourEvent {
            kind: kind.to_owned(),
            url: self.url.clone(),
            detail: json!({"email": email.id, "step": email.step_id, "run": email.run_id, "subject": email.subject}),
            occurred_at: now,
        };
        let recorded = unit.insert_behaviour_event(lead_id, &event, now);
        react(unit, &self.workflows, lead_id, &[LeadChange::Event(kind)], now).await?;
        Ok(Some(recorded))
    }
}
