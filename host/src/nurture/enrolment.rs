//! What a change to a lead does to its nurture runs, decided in the unit
//! that makes the change (the lead's row is held there): runs whose exit
//! conditions it meets end, runs waiting for it move on, and workflows it
//! triggers enrol the lead. All of it when the change happens: the
//! open-source peers rebuild their campaigns by cron, hours late.

use serde_json::json;

use super::ActiveWorkflow;
use super::workflow::{Trigger, Workflow};
use crate::clock::Timestamp;
use crate::domain::{Job, JobRecord, RunJob, Stage, Tier};
use crate::storage::{NewRun, RunMove, RunRecord, StoreResult, Unit, new_id};

/// A change to a lead that workflows may react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadChange<'a> {
    /// A new lead, from this form and source.
    Created {
        form: &'a str,
        source: &'a str,
    },
    TierChanged(Tier),
    StageChanged(Stage),
    /// A behaviour event of this kind arrived.
    Event(&'a str),
    TagAdded(&'a str),
    /// The lead's owner logged an activity.
    OwnerActivity,
    Unsubscribed,
}

impl LeadChange<'_> {
    /// Whether it could end or wake a run already going.
    fn concerns_runs(self) -> bool {
        matches!(
            self,
            LeadChange::StageChanged(_) | LeadChange::Event(_) | LeadChange::OwnerActivity | LeadChange::Unsubscribed
        )
    }

    fn triggers(self, trigger: &Trigger) -> bool {
        let listed =
            |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v.eq_ignore_ascii_case(value));
        match (trigger, self) {
            (Trigger::LeadCreated { forms, sources }, LeadChange::Created { form, source }) => {
                listed(forms, form) && listed(sources, source)
            }
            (Trigger::TierChanged { to }, LeadChange::TierChanged(tier)) => to.iter().any(|t| t == tier.as_str()),
            (Trigger::StageChanged { to }, LeadChange::StageChanged(stage)) => to.iter().any(|s| s == stage.as_str()),
            (Trigger::Event { kind }, LeadChange::Event(event)) => kind == event,
            (Trigger::TagAdded { tag }, LeadChange::TagAdded(added)) => tag == added,
            _ => false,
        }
    }

    /// Why it ends a run of `workflow`, if it does.
    fn exit_reason(self, workflow: &Workflow) -> Option<String> {
        let exit = &workflow.exit_when;
        match self {
            LeadChange::StageChanged(stage) if exit.stages.iter().any(|s| s == stage.as_str()) => {
                Some(format!("the lead reached {stage}"))
            }
            LeadChange::Unsubscribed if exit.unsubscribed => Some("the lead unsubscribed".into()),
            LeadChange::OwnerActivity if exit.owner_activity => Some("the lead's owner logged an activity".into()),
            _ => None,
        }
    }
}

/// Applies `changes` of the lead to its runs and enrols it where a workflow
/// is triggered. `workflows` are the tenant's active ones; the caller holds
/// the lead's row.
pub async fn react(
    unit: &mut Unit<'_>,
    workflows: &[ActiveWorkflow],
    lead_id: &str,
    changes: &[LeadChange<'_>],
    now: Timestamp,
) -> StoreResult<()> {
    let triggered: Vec<&ActiveWorkflow> = workflows
        .iter()
        .filter(|w| changes.iter().any(|c| c.triggers(&w.workflow.trigger)))
        .collect();
    if triggered.is_empty() && !changes.iter().any(|c| c.concerns_runs()) {
        return Ok(());
    }
    let mut runs = unit.runs_of_lead(lead_id).await?;
    for run in runs.iter_mut().filter(|r| r.is_active()) {
        let workflow = match workflows
            .iter()
            .find(|w| w.workflow_id == run.workflow_id && w.version == run.version)
        {
            Some(active) => active.workflow.clone(),
            None => Workflow::stored(unit.workflow_definition(&run.workflow_id, run.version).await?)?,
        };
        if let Some(reason) = changes.iter().find_map(|c| c.exit_reason(&workflow)) {
            end(unit, run, &reason, now);
            run.ended_at = Some(now);
            continue;
        }
        let awaited = run.waiting_for.as_deref();
        if awaited.is_some_and(|kind| changes.contains(&LeadChange::Event(kind))) {
            wake(unit, run, now);
        }
    }
    for workflow in triggered {
        let mut previous = runs.iter().filter(|r| r.workflow_id == workflow.workflow_id);
        let blocked = match workflow.workflow.reentry {
            true => previous.any(RunRecord::is_active),
            false => previous.next().is_some(),
        };
        if !blocked {
            enrol(unit, workflow, lead_id, "triggered", now);
        }
    }
    Ok(())
}

/// Starts a run of `workflow` for the lead: its first steps run at once.
pub fn enrol(unit: &mut Unit<'_>, workflow: &ActiveWorkflow, lead_id: &str, why: &str, now: Timestamp) -> String {
    let run_id = new_id();
    unit.insert_run(
        &NewRun {
            id: &run_id,
            workflow_id: &workflow.workflow_id,
            version: workflow.version,
            lead_id,
        },
        now,
    );
    let job = Job::Nurture(RunJob {
        run_id: run_id.clone(),
        seq: 1,
    });
    unit.add_job(&JobRecord::held(new_id(), unit.tenant_id(), job), now, None);
    let detail = json!({"workflow": workflow.slug, "version": workflow.version, "run": run_id, "why": why});
    unit.timeline(lead_id, "nurture_enrolled", &detail, now);
    run_id
}

/// Ends a run where it stands.
pub fn end(unit: &mut Unit<'_>, run: &RunRecord, reason: &str, now: Timestamp) {
    unit.move_run(&run.id, &run.lead_id, run.seq + 1, RunMove::End { reason }, now);
    let detail = json!({"workflow": run.workflow, "run": run.id, "reason": reason});
    unit.timeline(&run.lead_id, "nurture_ended", &detail, now);
}

/// The awaited event arrived: the run goes on with the step after its wait
/// (where it stands), now; its timeout job, for the old seq, does nothing.
fn wake(unit: &mut Unit<'_>, run: &RunRecord, now: Timestamp) {
    let seq = run.seq + 1;
    let to = RunMove::Wait {
        step: run.step,
        until: now,
        waiting_for: None,
        resume: None,
    };
    unit.move_run(&run.id, &run.lead_id, seq, to, now);
    let job = Job::Nurture(RunJob {
        run_id: run.id.clone(),
        seq,
    });
    unit.add_job(&JobRecord::held(new_id(), unit.tenant_id(), job), now, None);
}

/// Enrols one lead by hand (`POST /workflows/{slug}/enrolments`), under
/// the same rule as a trigger: one active run per lead and workflow, and a
/// second run only with `reentry`.
pub struct ManualEnrolment {
    pub workflow: ActiveWorkflow,
    pub lead_id: String,
}

/// Why a manual enrolment was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    NoSuchLead,
    AlreadyRunning(String),
    NoReentry,
}

#[async_trait::async_trait]
impl crate::storage::UnitOfWork for ManualEnrolment {
    type Output = Result<String, Refused>;

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<Result<String, Refused>> {
        let now = Timestamp::now();
        if unit.lead_owner_row(&self.lead_id).await?.is_none() {
            return Ok(Err(Refused::NoSuchLead));
        }
        let runs = unit.runs_of_lead(&self.lead_id).await?;
        let mut previous = runs.iter().filter(|r| r.workflow_id == self.workflow.workflow_id);
        if let Some(active) = previous.clone().find(|r| r.is_active()) {
            return Ok(Err(Refused::AlreadyRunning(active.id.clone())));
        }
        if !self.workflow.workflow.reentry && previous.next().is_some() {
            return Ok(Err(Refused::NoReentry));
        }
        Ok(Ok(enrol(unit, &self.workflow, &self.lead_id, "enrolled by hand", now)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn workflow(trigger: serde_json::Value) -> Workflow {
        Workflow::stored(json!({"name": "w", "trigger": trigger, "steps": [{"id": "x", "kind": "exit"}]})).unwrap()
    }

    #[test]
    fn triggers_match_their_change_only() {
        let created = workflow(json!({"on": "lead_created", "forms": ["demo"], "sources": ["baidu"]}));
        let change = LeadChange::Created {
            form: "demo",
            source: "BAIDU",
        };
        assert!(change.triggers(&created.trigger));
        let other_form = LeadChange::Created {
            form: "webinar",
            source: "baidu",
        };
        assert!(!other_form.triggers(&created.trigger));
        let tier = workflow(json!({"on": "tier_changed", "to": ["hot"]}));
        assert!(LeadChange::TierChanged(Tier::Hot).triggers(&tier.trigger));
        assert!(!LeadChange::TierChanged(Tier::Warm).triggers(&tier.trigger));
        let manual = workflow(json!({"on": "manual"}));
        assert!(!change.triggers(&manual.trigger), "manual workflows enrol only by hand");
    }

    #[test]
    fn exits_follow_the_workflows_conditions() {
        let mut w = workflow(json!({"on": "manual"}));
        assert!(LeadChange::StageChanged(Stage::Sql).exit_reason(&w).is_some());
        assert!(LeadChange::StageChanged(Stage::Mql).exit_reason(&w).is_none());
        assert!(LeadChange::Unsubscribed.exit_reason(&w).is_some());
        w.exit_when.owner_activity = false;
        assert!(LeadChange::OwnerActivity.exit_reason(&w).is_none());
        assert!(LeadChange::Event("download").exit_reason(&w).is_none());
    }
}
