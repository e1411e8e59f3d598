//! Writing a finished step: its score, its routing and what goes with them,
//! with its job's removal, in one unit of work. A crash either keeps the job
//! (and the step runs again) or keeps both.

use serde_json::json;

use crate::clock::Timestamp;
use crate::domain::{ProcessedLead, WebhookEvent};
use crate::followup::deadlines::stored_policy;
use crate::leads::{OwnerCause, OwnerChange, change_owner};
use crate::plugins::failures::count_failures;
use crate::routing::placement::place;
use crate::storage::{StoreResult, Unit, UnitOfWork};

/// A step to write.
pub struct FinishStep {
    pub job_id: String,
    pub done: ProcessedLead,
    /// Failures in a row after which a plugin is switched off.
    pub disable_after: i32,
}

/// How a finished step was written.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    /// Plugins this step switched off.
    pub switched_off: Vec<String>,
    /// The lead was re-scored meanwhile; nothing was written and the step
    /// should run again.
    pub stale: bool,
}

#[async_trait::async_trait]
impl UnitOfWork for FinishStep {
    type Output = Finished;

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<Finished> {
        let now = Timestamp::now();
        let done = &self.done;
        let rev = done.scored.as_ref().map(|write| write.expected_rev);
        let Some(lead) = unit.take_step_job(&self.job_id, &done.lead_id, rev).await? else {
            // Either the step already ran (its job is gone) or the lead was
            // re-scored since this step read it: then it must run again.
            let stale = match rev {
                Some(rev) => unit.score_rev(&done.lead_id).await? != Some(rev),
                None => false,
            };
            return Ok(Finished {
                stale,
                ..Default::default()
            });
        };
        let failed: Vec<&str> = done.failures().map(|o| o.plugin_id.as_str()).collect();
        unit.hold_plugins(&failed).await?;
        let switched_off = count_failures(unit, done, self.disable_after, now).await?;

        if let Some(write) = &done.scored {
            unit.write_score(write, now);
        }
        for (kind, detail) in &done.events {
            unit.timeline(&done.lead_id, kind, detail, now);
        }
        unit.plugin_calls(&done.calls, now);
        unit.lead_processed(&done.lead_id, now);
        if let Some(route) = &done.route {
            // Only a new lead's first step routes it: that is when it is announced.
            if lead.webhooks {
                let data = json!({
                    "lead_id": done.lead_id,
                    "score": done.scored.as_ref().map(|s| s.score),
                    "tier": done.scored.as_ref().map(|s| s.tier),
                });
                unit.announce(WebhookEvent::LeadCreated, &data, now);
            }
            let (owner, detail) = place(unit, route, now).await?;
            let scored = done.scored.as_ref();
            let change = OwnerChange {
                lead_id: &done.lead_id,
                previous: lead.owner.as_deref(),
                owner: owner.as_deref(),
                tier: scored.map_or(lead.tier, |s| s.tier),
                stage: scored.and_then(|s| s.stage.as_ref()).map_or(lead.stage, |s| s.stage),
                cause: OwnerCause::Routed,
                detail,
            };
            let policy = stored_policy(lead.sla_policy.as_deref());
            change_owner(unit, change, policy.as_ref(), lead.webhooks, now);
        }
        Ok(Finished {
            switched_off,
            stale: false,
        })
    }
}
