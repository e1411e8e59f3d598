//! Activities a rep logs on a lead. By the lead's owner and not a note, an
//! activity touches the lead: its next deadline is the activity's own
//! follow-up date, or the policy's cadence.

use super::deadlines::{stored_policy, watch};
use crate::clock::Timestamp;
use crate::storage::{ActivityRecord, NewActivity, StoreError, StoreResult, Unit, UnitOfWork, new_id};

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
        let (owner, _) = unit.lead_deadline(lead_id).await?.ok_or(StoreError::NotFound)?;
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
        if owner.as_deref() == Some(user_id.as_str()) && activity.kind.touches_lead() {
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
