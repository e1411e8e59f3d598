//! Where a workflow's leads are: how many wait at each step of its current
//! version, and what each step's emails did. The API's `/steps` and the
//! workflows page show it.

use serde::Serialize;

use super::Workflow;
use crate::storage::{StepEmails, StoreResult, TenantStore, WorkflowRecord};

/// One step of the current version (or, last, the runs past every step,
/// finishing).
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub index: usize,
    /// `None` for the runs finishing after the last step.
    pub id: Option<String>,
    pub waiting: i64,
    pub emails: StepEmails,
}

pub async fn step_report(store: &TenantStore<'_>, record: &WorkflowRecord) -> StoreResult<Vec<StepReport>> {
    let counts = store.runs_at_steps(&record.id).await?;
    let emails = store.step_emails(&record.id).await?;
    let current = store.workflow_version(&record.id, record.current_version).await?;
    let workflow = Workflow::stored(current.definition)?;
    let waiting_at = |index: usize| -> i64 {
        counts
            .iter()
            .filter(|c| c.step as usize == index || (index == workflow.steps.len() && c.step as usize > index))
            .map(|c| c.waiting)
            .sum()
    };
    let mut steps: Vec<StepReport> = workflow
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| StepReport {
            index,
            id: Some(step.id().to_owned()),
            waiting: waiting_at(index),
            emails: emails
                .iter()
                .find(|(id, _)| id == step.id())
                .map(|(_, e)| e.clone())
                .unwrap_or_default(),
        })
        .collect();
    steps.push(StepReport {
        index: workflow.steps.len(),
        id: None,
        waiting: waiting_at(workflow.steps.len()),
        emails: StepEmails::default(),
    });
    Ok(steps)
}
