//! Moving a lead through its lifecycle by hand: the one path for a stage
//! change a person makes (a score's promotion is written with its score, see
//! `scoring`). The move is checked against the allowed transitions, records
//! the stage entered, keeps the owner's open-lead count and announces it.

use serde_json::json;

use crate::clock::Timestamp;
use crate::domain::{Stage, StageEntry, WebhookEvent};
use crate::error::FieldError;
use crate::storage::{StoreError, StoreResult, Unit, UnitOfWork};

/// A stage change a person asks for.
#[derive(Debug, Clone)]
pub struct StageRequest {
    pub lead_id: String,
    pub from: Stage,
    pub to: Stage,
    pub reason: Option<String>,
    /// The user's id.
    pub by: String,
    /// The deal an opportunity or a won lead records (see `deal::records_deal`).
    pub deal: Option<super::deal::Deal>,
    /// The tenant's active workflows: a stage may enrol the lead or end its runs.
    pub workflows: std::sync::Arc<Vec<crate::nurture::ActiveWorkflow>>,
}

impl StageRequest {
    /// Every problem with the move, at its pointer in the request.
    pub fn problems(&self) -> Vec<FieldError> {
        let (from, to) = (self.from, self.to);
        let mut problems = Vec::new();
        if !from.next_by_hand().contains(&to) {
            let allowed: Vec<&str> = from.next_by_hand().iter().map(|s| s.as_str()).collect();
            let allowed = if allowed.is_empty() {
                "none: it is final".to_owned()
            } else {
                allowed.join(", ")
            };
            problems.push(FieldError::new(
                "/stage",
                format!("a lead in {from} cannot move to {to}; allowed: {allowed}"),
            ));
        }
        match &self.reason {
            None if to.needs_reason() => problems.push(FieldError::new(
                "/reason",
                format!("moving a lead to {to} needs a reason"),
            )),
            Some(reason) if reason.chars().count() > 500 => {
                problems.push(FieldError::new("/reason", "at most 500 characters"))
            }
            _ => {}
        }
        if super::deal::records_deal(to) && self.deal.is_none() {
            problems.push(FieldError::new(
                "/deal_value",
                format!("moving a lead to {to} records a deal: its value and close date"),
            ));
        }
        problems
    }

    /// [`Self::problems`] after those of reading the deal as typed (a deal
    /// that could not be read is not also reported missing).
    pub fn problems_with(&self, deal_problems: Vec<FieldError>) -> Vec<FieldError> {
        let unreadable = !deal_problems.is_empty();
        let mut problems = deal_problems;
        problems.extend(
            self.problems()
                .into_iter()
                .filter(|p| !(unreadable && p.pointer == "/deal_value")),
        );
        problems
    }
}

/// Moves the lead if it is still in `from`; a concurrent move is a
/// conflict, never a silent overwrite. Check [`StageRequest::problems`]
/// first.
#[async_trait::async_trait]
impl UnitOfWork for StageRequest {
    type Output = ();

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<()> {
        let now = Timestamp::now();
        let (from, to) = (self.from, self.to);
        let Some(owner) = unit.move_stage(&self.lead_id, from, to, now).await? else {
            return Err(StoreError::Conflict(format!(
                "the lead is no longer in stage {from}; reload it and try again"
            )));
        };
        let reason = self.reason.clone().unwrap_or_else(|| "changed by hand".to_owned());
        let entry = StageEntry {
            stage: to,
            from,
            reason: reason.clone(),
            by: self.by.clone(),
        };
        unit.stage_entered(&self.lead_id, &entry, now);
        let deal = self.deal.as_ref().map(|d| d.value_minor);
        crate::dashboard::rollup::stage_changed(unit, &self.lead_id, to, deal, now);
        let mut detail = json!({"from": from, "to": to, "reason": reason, "by": self.by});
        if let Some(deal) = &self.deal {
            unit.set_deal(&self.lead_id, deal.value_minor, &deal.close_on);
            detail["deal_value"] = json!(deal.value_minor as f64 / 100.0);
            detail["close_on"] = json!(deal.close_on);
        }
        unit.timeline(&self.lead_id, "stage_changed", &detail, now);
        if let Some(owner) = owner
            && from.is_open() != to.is_open()
        {
            unit.add_open_leads(&owner, if to.is_open() { 1 } else { -1 });
        }
        let data = json!({"lead_id": self.lead_id, "from": from, "to": to, "reason": reason});
        unit.announce(WebhookEvent::StageChanged, &data, now);
        let changes = [crate::nurture::LeadChange::StageChanged(to)];
        crate::nurture::react(unit, &self.workflows, &self.lead_id, &changes, now).await
    }
}
