//! Durable jobs. Intake writes a "score and route" job with each new lead
//! (an outbox, in the lead's own transaction); the server runs it at once in
//! process, and a sweeper runs any job left behind by a crash or a restart.
//! A job is claimed with a lease, so a retry after a crash is possible and
//! its effect is written once: the step's results and the job's removal
//! commit together.

mod step;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

pub use step::{Prepared, StepContext};

use crate::app::AppState;
use crate::clock::Timestamp;
use crate::plugins::host::DISABLE_AFTER;
use crate::plugins::sandbox::CallRecord;
use crate::storage::{JobRecord, LeadVisibility, SCORE_AND_ROUTE, StoreError};

/// How long a claimed job is held before another worker may take it.
const LEASE: Duration = Duration::from_secs(120);
const SWEEP_EVERY: Duration = Duration::from_secs(15);
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// Runs a "score and route" job this process just wrote (and so holds) now,
/// in the background.
pub fn spawn_score_and_route(state: &AppState, job_id: &str, tenant_id: &str, lead_id: &str) {
    let job = JobRecord {
        id: job_id.to_owned(),
        tenant_id: tenant_id.to_owned(),
        kind: SCORE_AND_ROUTE.to_owned(),
        payload: json!({ "lead_id": lead_id }),
        attempts: 1,
    };
    let state = state.clone();
    tokio::spawn(async move { execute(&state, job).await });
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
    match state.store.claim_job(job_id, LEASE).await {
        Ok(Some(job)) => execute(state, job).await,
        Ok(None) => {} // another worker has it, or it is done
        Err(err) => tracing::warn!(job = job_id, %err, "claiming a job failed"),
    }
}

async fn execute(state: &AppState, job: JobRecord) {
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
    let scorers = Arc::new(crate::scoring::Scorers::prepare(&step).await?);
    let router = Arc::new(crate::routing::Router::prepare(&step).await?);
    // Every plugin call of the step in one trip off the async workers.
    let (plugin_lead, calls) = (step.lead.clone(), (scorers.clone(), router.clone()));
    let (scores, route) = state
        .plugins
        .run(tenant_id, move |sandbox| {
            let (scorers, router) = calls;
            (
                scorers.call(sandbox, &plugin_lead, &limits),
                router.call(sandbox, &plugin_lead, &limits),
            )
        })
        .await
        .unwrap_or_else(|failure| {
            let scores = (0..scorers.len())
                .map(|_| CallRecord::failed(failure.clone()))
                .collect();
            (scores, router.is_set().then(|| CallRecord::failed(failure)))
        });
    let (scorers, router) = (unwrap_arc(scorers), unwrap_arc(router));
    step.done.score = scorers.apply(&mut step, scores);
    step.done.owner_id = router.apply(&mut step, route);
    if step.done.owner_id.is_some() {
        tracing::debug!(lead = lead_id, owner = ?step.done.owner_id, "lead assigned");
    }
    let switched_off = store.finish_processing(job_id, &step.done, DISABLE_AFTER).await?;
    if !switched_off.is_empty() {
        state.plugins.forget(tenant_id);
    }
    Ok(())
}

/// The step's own handle once the blocking call has given its clone back.
fn unwrap_arc<T>(shared: Arc<T>) -> T {
    Arc::into_inner(shared).expect("the plugin call has finished and dropped its handle")
}
