//! Activities a rep logs on a lead. By the lead's owner and not a note, an
//! activity touches the lead: its next deadline is the activity's own
//! follow-up date, or the policy's cadence.

use super::deadlines::{stored_policy, watch};
use crate::clock::Timestamp;
use crate::domain::ActivityKind;
use crate::error::FieldError;
use crate::storage::{ActivityRecord, NewActivity, StoreError, StoreResult, Unit, UnitOfWork, new_id};

/// Longest outcome or note kept.
const TEXT_LIMIT: usize = 4000;

/// An activity as a person entered it (over the API or on the lead's page),
/// before its checks.
pub struct ActivityInput {
    pub kind: String,
    pub outcome: Option<String>,
    pub note: Option<String>,
    /// `Err(problem)`: the time given could not be read.
    pub next_follow_up_at: Result<Option<Timestamp>, String>,
}

impl ActivityInput {
    /// The activity, or each problem at its pointer.
    pub fn check(self, now: Timestamp) -> Result<NewActivity, Vec<FieldError>> {
        let mut problems = Vec::new();
        let kind = ActivityKind::parse(&self.kind);
        if kind.is_none() {
            let kinds: Vec<&str> = ActivityKind::ALL.iter().map(|k| k.as_str()).collect();
            problems.push(FieldError::new("/kind", format!("must be one of {}", kinds.join(", "))));
        }
        let blank_to_none = |text: Option<String>| text.filter(|t| !t.trim().is_empty());
        let (outcome, note) = (blank_to_none(self.outcome), blank_to_none(self.note));
        for (pointer, text) in [("/outcome", &outcome), ("/note", &note)] {
            if text.as_ref().is_some_and(|t| t.chars().count() > TEXT_LIMIT) {
                problems.push(FieldError::new(pointer, format!("at most {TEXT_LIMIT} characters")));
            }
        }
        let next = match self.next_follow_up_at {
            Ok(Some(at)) if at <= now => {
                problems.push(FieldError::new("/next_follow_up_at", "must be in the future"));
                None
            }
            Ok(next) => next,
            Err(problem) => {
                problems.push(FieldError::new("/next_follow_up_at", problem));
                None
            }
        };
        match (kind, problems.is_empty()) {
            (Some(kind), true) => Ok(NewActivity {
                kind,
                outcome,
                note,
                next_follow_up_at: next,
            }),
            _ => Err(problems),
        }
    }
}

pub struct LogActivity {
    pub lead_id: String,
    pub user_id: String,
    pub activity: NewActivity,
    /// The tenant's active workflows: the owner's activity may end the lead's runs.
    pub workflows: std::sync::Arc<Vec<crate::nurture::ActiveWorkflow>>,
}

#[async_trait::async_trait]
impl UnitOfWork for LogActivity {
    type Output = ActivityRecord;

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<ActivityRecord> {
        let now = Timestamp::now();
        let (lead_id, user_id, activity) = (&self.lead_id, &self.user_id, &self.activity);
        let (owner, due) = unit.lead_deadline(lead_id).await?.ok_or(StoreError::NotFound)?;
        let record = ActivityRecord {
            id: new_id(),
            user_id: user_id.clone(),
            kind: activity.kind,
            outcome: activity.outcome.clone(),
            note: activity.note.clone(),
            next_follow_up_at: activity.next_follow_up_at,
            created_at: now,
        };
        unit.insert_activity(lead_id, &record);
        let touches = owner.as_deref() == Some(user_id.as_str()) && activity.kind.touches_lead();
        crate::dashboard::rollup::activity_logged(unit, lead_id, user_id, activity.kind, touches.then_some(due), now);
        if touches {
            unit.lead_touched(lead_id, now);
            if let Some(policy) = stored_policy(unit.sla_policy().await?.as_deref()) {
                let due = activity
                    .next_follow_up_at
                    .unwrap_or_else(|| now.plus(policy.follow_up()));
                unit.set_follow_up_due(lead_id, Some(due));
                watch(unit, lead_id, user_id, due, &policy, now);
            }
        }
        if owner.as_deref() == Some(user_id.as_str()) {
            let changes = [crate::nurture::LeadChange::OwnerActivity];
            crate::nurture::react(unit, &self.workflows, lead_id, &changes, now).await?;
        }
        Ok(record)
    }
}
