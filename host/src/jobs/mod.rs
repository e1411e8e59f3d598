//! Durable jobs. Work that must happen is written as a job in the same
//! transaction as what makes it necessary (an outbox): "score and route"
//! with each new lead, "re-score" with each behaviour event, a tenant-wide
//! re-score with each model change, and one "decay" job per lead for the
//! moment its fading score next moves. The writing process runs its job at
//! once; a sweeper runs due jobs and any left behind by a crash. A job is
//! claimed with a lease, so it may run again after a crash, and its effect
//! is written once: the job's effect and its removal commit together.
//!
//! This module only claims and dispatches: what each kind of job does lives
//! in the module that owns it (`pipeline` for a lead's step, `scoring` for a
//! tenant-wide re-score, `followup` and `routing::pool` for SLA jobs,
//! `webhooks` for deliveries).

use std::time::Duration;

use crate::app::AppState;
use crate::clock::Timestamp;
use crate::domain::{CLAIM_LEASE, Job, JobRecord};
use crate::followup::sla::DeadlineDue;
use crate::pipeline::run_step;
use crate::plugins::host::WRITE_SUCCESSES_EVERY;
use crate::routing::pool::Recycle;
use crate::scoring::{CAUSE_DECAY, CAUSE_INTAKE};
/// Often enough for webhook retries and deadlines to land within a second.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
const RETRY_AFTER: Duration = Duration::from_secs(30);
/// Due jobs listed per round of a sweep.
const SWEEP_BATCH: i64 = 200;

/// Runs a job in the background.
pub fn spawn(state: &AppState, job: JobRecord) {
    let state = state.clone();
    tokio::spawn(async move { execute(&state, job).await });
}

/// Sweeps every `SWEEP_EVERY`, starting at once.
pub fn start_sweeper(state: &AppState) {
    every(state, SWEEP_EVERY, |state| async move {
        sweep(&state).await;
    });
}

/// Runs `work` every `period`, starting at once, for the life of the server.
fn every<F, W>(state: &AppState, period: Duration, work: W)
where
    W: Fn(AppState) -> F + Send + 'static,
    F: std::future::Future<Output = ()> + Send,
{
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            work(state.clone()).await;
        }
    });
}

/// Runs every job that is due and not held, until none is left; returns how
/// many ran. Tenant-wide re-scores go to the background so they do not hold
/// up the rest.
pub async fn sweep(state: &AppState) -> usize {
    let mut ran = 0;
    loop {
        let ids = match state.store.due_jobs(SWEEP_BATCH).await {
            Ok(ids) => ids,
            Err(err) => {
                tracing::warn!(%err, "listing due jobs failed");
                return ran;
            }
        };
        if ids.is_empty() {
            return ran;
        }
        for id in &ids {
            match state.store.claim_job(id, CLAIM_LEASE).await {
                // Long or network-bound work must not hold up the sweep.
                Ok(Some(job)) if matches!(job.job, Job::RescoreTenant(_) | Job::Webhook(_)) => spawn(state, job),
                Ok(Some(job)) => execute(state, job).await,
                Ok(None) => continue, // another worker has it, or it is done
                Err(err) => tracing::warn!(job = %id, %err, "claiming a job failed"),
            }
            ran += 1;
        }
        if (ids.len() as i64) < SWEEP_BATCH {
            return ran;
        }
    }
}

/// Runs a claimed (or freshly written) job; a failure releases it to be
/// tried again later.
pub async fn execute(state: &AppState, job: JobRecord) {
    let (tenant_id, job_id) = (job.tenant_id.as_str(), job.id.clone());
    let store = state.store.tenant(tenant_id);
    let result = match &job.job {
        Job::ScoreAndRoute(lead) => run_step(state, tenant_id, &job_id, &lead.lead_id, CAUSE_INTAKE, true).await,
        Job::Rescore(rescore) => run_step(state, tenant_id, &job_id, &rescore.lead_id, &rescore.cause, false).await,
        Job::Decay(lead) => run_step(state, tenant_id, &job_id, &lead.lead_id, CAUSE_DECAY, false).await,
        Job::RescoreTenant(run) => crate::scoring::rescore::run(state, &job, &run.run_id).await,
        Job::SlaWarning(deadline) | Job::SlaBreach(deadline) => {
            let breach = matches!(job.job, Job::SlaBreach(_));
            let deadline = deadline.clone();
            store
                .run(DeadlineDue {
                    job_id,
                    deadline,
                    breach,
                })
                .await
        }
        Job::SlaRecycle(deadline) => {
            let deadline = deadline.clone();
            store.run(Recycle { job_id, deadline }).await
        }
        Job::Webhook(delivery) => crate::webhooks::deliver(state, &job, &delivery.delivery_id).await,
    };
    if let Err(err) = result {
        tracing::warn!(job = %job.id, kind = %job.kind(), attempts = job.attempts, %err, "job failed; it will be retried");
        let retry_at = Timestamp::now().plus(RETRY_AFTER);
        if let Err(err) = state.store.retry_job(&job.id, &err.to_string(), retry_at).await {
            tracing::warn!(job = %job.id, %err, "could not release a failed job; its lease will expire");
        }
    }
}

/// Writes the successful plugin calls counted in memory, every
/// `WRITE_SUCCESSES_EVERY`.
pub fn start_success_writer(state: &AppState) {
    every(state, WRITE_SUCCESSES_EVERY, |state| async move {
        state.plugins.write_successes(&state.store).await;
    });
}
