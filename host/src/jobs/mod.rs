//! Durable jobs. Intake writes a "score and route" job with each new lead
//! (an outbox, in the lead's own transaction); the server runs it at once in
//! process, and a sweeper runs any job left behind by a crash or a restart.
//! A job is claimed with a lease, so a retry after a crash is possible and
//! its effect is written once: the step's results and the job's removal
//! commit together.

mod step;

use std::time::Duration;

use serde_json::json;

pub use step::StepContext;

use crate::app::AppState;
use crate::clock::Timestamp;
use crate::plugins::host::DISABLE_AFTER;
use crate::storage::{LeadVisibility, SCORE_AND_ROUTE, StoreError};

/// How long a claimed job is held before another worker may take it.
const LEASE: Duration = Duration::from_secs(120);
const SWEEP_EVERY: Duration = Duration::from_secs(15);
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// Runs the job now, in the background.
pub fn spawn(state: &AppState, job_id: String) {
    let state = state.clone();
    tokio::spawn(async move { run(&state, &job_id).await });
}

/// Runs due jobs every `SWEEP_EVERY`, starting at once.
pub fn start_sweeper(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            match state.store.due_jobs(100).await {
                Ok(ids) => {
                    for id in ids {
                        run(&state, &id).await;
                    }
                }
                Err(err) => tracing::warn!(%err, "listing due jobs failed"),
            }
        }
    });
}

async fn run(state: &AppState, job_id: &str) {
    let job = match state.store.claim_job(job_id, LEASE).await {
        Ok(Some(job)) => job,
        Ok(None) => return, // another worker has it, or it is done
        Err(err) => {
            tracing::warn!(job = job_id, %err, "claiming a job failed");
            return;
        }
    };
    let result = match job.kind.as_str() {
        SCORE_AND_ROUTE => score_and_route(state, &job.id, &job.tenant_id, &job.payload).await,
        other => Err(StoreError::Corrupt(format!("unknown job kind {other:?}"))),
    };
    if let Err(err) = result {
        tracing::warn!(job = %job.id, attempts = job.attempts, %err, "job failed; it will be retried");
        let retry_at = Timestamp(Timestamp::now().micros() + RETRY_AFTER.as_micros() as i64);
        if let Err(err) = state.store.retry_job(&job.id, &err.to_string(), retry_at).await {
            tracing::warn!(job = %job.id, %err, "could not release a failed job; its lease will expire");
        }
    }
}

/// Scores the lead with the tenant's scorers, routes it, and writes both.
async fn score_and_route(
    state: &AppState,
    job_id: &str,
    tenant_id: &str,
    payload: &serde_json::Value,
) -> Result<(), StoreError> {
    let lead_id = payload["lead_id"]
        .as_str()
        .ok_or_else(|| StoreError::Corrupt(format!("job payload {payload}")))?;
    let store = state.store.tenant(tenant_id);
    let lead = store.lead(lead_id, &LeadVisibility::All).await?;
    let limits = state.plugins.limits(&store).await?;
    let mut step = StepContext::new(state, tenant_id, &lead, limits);
    step.done.score = crate::scoring::score_lead(&mut step).await?;
    step.done.owner_id = crate::routing::route_lead(&mut step).await?;
    if step.done.owner_id.is_some() {
        tracing::info!(lead = lead_id, owner = ?step.done.owner_id, "lead assigned");
    }
    let _ = json!(null);
    store.finish_processing(job_id, &step.done, DISABLE_AFTER).await
}
