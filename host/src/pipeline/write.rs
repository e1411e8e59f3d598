//! Writing a finished step: its score, its routing and what goes with them,
//! with its job's removal, in one unit of work. A crash either keeps the job
//! (and the step runs again) or keeps both.

use std::sync::Arc;

use serde_json::json;

use crate::clock::Timestamp;
use crate::domain::{Job, JobRecord, LeadJob, ProcessedLead, RouteTo, Tier, WebhookEvent};
use crate::followup::deadlines::stored_policy;
use crate::leads::{OwnerCause, OwnerChange, change_owner};
use crate::nurture::{ActiveWorkflow, LeadChange, react};
use crate::plugins::failures::count_failures;
use crate::routing::placement::place;
use crate::storage::{StoreResult, Unit, UnitOfWork, new_id};

use super::StepRoute;

/// A step to write.
pub struct FinishStep {
    pub job_id: String,
    pub done: ProcessedLead,
    /// Failures in a row after which a plugin is switched off.
    pub disable_after: i32,
    /// Which routing this step does: a new lead's first, a held lead's
    /// hand-over, or a departed owner's lead's again.
    pub route: super::StepRoute,
    /// The tenant's active workflows, which the step's changes may enrol
    /// the lead in.
    pub workflows: Arc<Vec<ActiveWorkflow>>,
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
        let mut changes = Vec::new();
        if let Some(write) = &done.scored {
            if write.tier != lead.tier {
                changes.push(LeadChange::TierChanged(write.tier));
            }
            if let Some(entry) = &write.stage {
                changes.push(LeadChange::StageChanged(entry.stage));
            }
        }
        let new_tier = done.scored.as_ref().map_or(lead.tier, |s| s.tier);
        // A held lead that turns hot goes to sales at once.
        if lead.held && self.route != StepRoute::HandOver && new_tier == Tier::Hot && lead.tier != Tier::Hot {
            let job = Job::HandToSales(LeadJob {
                lead_id: done.lead_id.clone(),
            });
            unit.add_job(&JobRecord::held(new_id(), unit.tenant_id(), job), now, None);
            let detail = json!({"reason": "the held lead turned hot"});
            unit.timeline(&done.lead_id, "handed_to_sales", &detail, now);
        }
        match &done.route {
            // Handed over meanwhile by another path (or never held): it is with sales.
            Some(_) if self.route == StepRoute::HandOver && !lead.held => {}
            // Claimed or given to someone meanwhile: it has an owner again.
            Some(_) if self.route == StepRoute::Reroute && !lead.owner_left => {}
            Some(route) => self.route(unit, &lead, route, &mut changes, now).await?,
            None => {}
        }
        react(unit, &self.workflows, &done.lead_id, &changes, now).await?;
        Ok(Finished {
            switched_off,
            stale: false,
        })
    }
}

impl FinishStep {
    /// Places the lead where `route` says: held for nurture, or with a rep or
    /// the pool through the one owner-change path.
    async fn route<'c>(
        &'c self,
        unit: &mut Unit<'_>,
        lead: &'c crate::storage::StepLead,
        route: &crate::domain::RouteStep,
        changes: &mut Vec<LeadChange<'c>>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let done = &self.done;
        if self.route == StepRoute::New {
            changes.push(LeadChange::Created {
                form: &lead.form,
                source: &lead.source,
            });
            // Only a new lead's first step routes it: that is when it is announced.
            if lead.webhooks {
                let data = json!({
                    "lead_id": done.lead_id,
                    "score": done.scored.as_ref().map(|s| s.score),
                    "tier": done.scored.as_ref().map(|s| s.tier),
                });
                unit.announce(WebhookEvent::LeadCreated, &data, now);
            }
        }
        if route.to == RouteTo::Hold {
            unit.set_held(&done.lead_id, Some(now));
            let detail = json!({"by": route.by, "rule": route.rule, "reason": route.reason});
            unit.timeline(&done.lead_id, "held", &detail, now);
            return Ok(());
        }
        if self.route == StepRoute::HandOver {
            unit.set_held(&done.lead_id, None);
        }
        {
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
        Ok(())
    }
}
