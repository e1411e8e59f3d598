//! What a due SLA job does: warn the owner before their deadline, record a
//! breach at it (escalating to their manager, and scheduling the lead's
//! recycle when the policy says so). A job whose deadline has moved, or
//! whose lead changed hands, does nothing: it was written for a deadline
//! that no longer stands. (The recycle itself is an owner change:
//! `routing::pool::Recycle`.)

use serde_json::json;

use super::deadlines::stored_policy;
use crate::clock::Timestamp;
use crate::domain::{DeadlineJob, Job, JobRecord, NoticeKind, WebhookEvent};
use crate::notifications::{Notice, notify};
use crate::storage::{StoreResult, Unit, UnitOfWork, new_id};

fn notice<'a>(user_id: &'a str, kind: NoticeKind, lead_id: &'a str, message: String) -> Notice<'a> {
    Notice {
        user_id,
        kind,
        lead_id: Some(lead_id),
        message,
    }
}

/// A warning or breach job, run with its removal in one unit.
pub struct DeadlineDue {
    pub job_id: String,
    pub deadline: DeadlineJob,
    pub breach: bool,
}

#[async_trait::async_trait]
impl UnitOfWork for DeadlineDue {
    type Output = ();

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<()> {
        let now = Timestamp::now();
        let deadline = &self.deadline;
        if !unit.take_job(&self.job_id).await? || !still_stands(unit, deadline).await? {
            return Ok(());
        }
        let (lead_id, owner, due) = (deadline.lead_id.as_str(), deadline.owner.as_str(), deadline.due());
        let detail = json!({"owner": owner, "due_at": due});
        let mut data = json!({"lead_id": lead_id, "owner": owner, "due_at": due});
        let at = due.to_rfc3339();
        if !self.breach {
            unit.timeline(lead_id, "sla_warning", &detail, now);
            unit.announce(WebhookEvent::SlaWarning, &data, now);
            let message = format!("Follow up by {at}: the deadline is near");
            notify(unit, notice(owner, NoticeKind::SlaWarning, lead_id, message), now);
            return Ok(());
        }
        unit.timeline(lead_id, "sla_breached", &detail, now);
        crate::dashboard::rollup::sla_breached(unit, lead_id);
        let message = format!("The follow-up deadline {at} passed");
        notify(
            unit,
            notice(owner, NoticeKind::SlaBreach, lead_id, message.clone()),
            now,
        );
        let manager = unit.manager_of(owner).await?;
        if let Some(manager) = manager.as_deref().filter(|m| *m != owner) {
            let escalated = format!("{message} (escalated: the lead's owner missed it)");
            notify(unit, notice(manager, NoticeKind::SlaBreach, lead_id, escalated), now);
        }
        let escalated = json!({"owner": owner, "manager": manager, "due_at": due});
        unit.timeline(lead_id, "escalated", &escalated, now);
        data["manager"] = json!(manager);
        unit.announce(WebhookEvent::SlaBreached, &data, now);
        let policy = stored_policy(unit.sla_policy().await?.as_deref());
        if let Some(after) = policy.and_then(|p| p.recycle_after()) {
            let recycle = JobRecord::held(new_id(), unit.tenant_id(), Job::SlaRecycle(deadline.clone()));
            unit.add_job_at(&recycle, due.plus(after), now);
        }
        Ok(())
    }
}

/// Whether the lead still has the owner and the deadline the job was
/// written for (the lead's row is held until the unit commits).
pub async fn still_stands(unit: &mut Unit<'_>, deadline: &DeadlineJob) -> StoreResult<bool> {
    let current = unit.lead_deadline(&deadline.lead_id).await?;
    Ok(current == Some((Some(deadline.owner.clone()), Some(deadline.due()))))
}
