//! Durable jobs. Work that must happen is written as a job in the same
//! transaction as what makes it necessary (an outbox): "score and route"
//! with each new lead, "re-score" with each behaviour event, a tenant-wide
//! re-score with each model change, and one "decay" job per lead for the
//! moment its fading score next moves. The writing process runs its job at
//! once; a sweeper runs due jobs and any left behind by a crash. A job is
//! claimed with a lease, so it may run again after a crash, and its effect
//! is written once: the step's results and the job's removal commit together.

mod step;

use std::sync::Arc;
use std::time::Duration;

pub use step::{Prepared, StepContext, plugin_lead, prepare};

use crate::app::AppState;
use crate::clock::Timestamp;
use crate::domain::{Job, JobRecord, ProcessedLead};
use crate::plugins::host::{DISABLE_AFTER, Successes, WRITE_SUCCESSES_EVERY};
use crate::plugins::sandbox::CallRecord;
use crate::routing::{RoutedLead, Router};
use crate::scoring::{Behaviour, CAUSE_DECAY, CAUSE_INTAKE, Scorers};
use crate::storage::{LeadVisibility, StoreError, StoreResult};

/// How long a claimed job is held before another worker may take it.
pub const LEASE: Duration = Duration::from_secs(120);
/// Often enough for webhook retries and deadlines to land within a second.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
const RETRY_AFTER: Duration = Duration::from_secs(30);
/// Due jobs listed per round of a sweep.
const SWEEP_BATCH: i64 = 200;
/// Times a lead step computes again after losing a race with another
/// re-score of the same lead, before it is left to a retry.
const STALE_ATTEMPTS: usize = 5;

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
            match state.store.claim_job(id, LEASE).await {
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
    let result = match &job.job {
        Job::ScoreAndRoute(step) => lead_step(state, &job, &step.lead_id, CAUSE_INTAKE, true).await,
        Job::Rescore(step) => lead_step(state, &job, &step.lead_id, &step.cause, false).await,
        Job::Decay(step) => lead_step(state, &job, &step.lead_id, CAUSE_DECAY, false).await,
        Job::RescoreTenant(run) => crate::scoring::rescore::run(state, &job, &run.run_id).await,
        Job::SlaWarning(_) | Job::SlaBreach(_) | Job::SlaRecycle(_) => {
            state.store.tenant(&job.tenant_id).apply_sla(&job.id, &job.job).await
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

/// Scores one lead with the tenant's model and scorers, routes it when
/// `route` (a new lead), and writes it all with the job's removal.
async fn lead_step(state: &AppState, job: &JobRecord, lead_id: &str, cause: &str, route: bool) -> StoreResult<()> {
    let tenant_id = job.tenant_id.as_str();
    let store = state.store.tenant(tenant_id);
    for _ in 0..STALE_ATTEMPTS {
        let lead = store.lead(lead_id, &LeadVisibility::All).await?;
        let events = store.behaviour_events(lead_id).await?;
        let behaviour = Behaviour::from_events(events.into_iter().map(|e| (e.kind, e.occurred_at)).collect());
        let model = crate::scoring::current_model(&state.score_models, &store).await?;
        let limits = state.plugins.limits(&store).await?;
        let now = Timestamp::now();
        let mut step = StepContext::new(state, tenant_id, &lead, behaviour.counts(now), limits);
        let scorers = Arc::new(Scorers::prepare(state, tenant_id).await?);
        let router = Arc::new(if route {
            Router::prepare(&step).await?
        } else {
            Router::none()
        });
        // Every plugin call of the step in one trip off the async workers.
        let (scores, routed) = if scorers.is_empty() && !router.is_set() {
            (Vec::new(), None)
        } else {
            let (plugin_lead, calls) = (step.lead.clone(), (scorers.clone(), router.clone()));
            state
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
                })
        };
        let plugin_parts = scorers.apply(&mut step, scores);
        let scored = crate::scoring::rescored(&model, &lead, &behaviour, plugin_parts, now, cause);
        if route {
            let view = RoutedLead {
                fields: &lead.fields,
                tier: scored.tier,
                stage: scored.stage.as_ref().map_or(lead.stage, |s| s.stage),
                source: &lead.source,
                channel: &lead.channel,
                form: &lead.form,
                score: scored.score,
            };
            let decided = unwrap_arc(router).decide(&mut step, routed, &view).await;
            step.done.route = Some(decided);
        }
        step.done.scored = Some(scored);
        take_earlier_successes(state, &mut step.done);
        let finished = store.finish_processing(&job.id, &step.done, DISABLE_AFTER).await;
        if !matches!(&finished, Ok(f) if !f.stale) {
            // Not written: count them again with the next write.
            let back = step.done.earlier_successes.drain(..).map(|(id, calls, last_at)| {
                let tenant_id = tenant_id.to_owned();
                (
                    id,
                    Successes {
                        tenant_id,
                        calls,
                        last_at,
                    },
                )
            });
            state.plugins.restore_successes(back);
        }
        let finished = finished?;
        if !finished.switched_off.is_empty() {
            state.plugins.forget(tenant_id);
        }
        if !finished.stale {
            return Ok(());
        }
        tracing::debug!(lead = lead_id, "lead re-scored meanwhile; scoring again");
    }
    Err(StoreError::Conflict(format!(
        "lead {lead_id} kept being re-scored concurrently"
    )))
}

/// Takes the unwritten successes of the plugins that failed in the step,
/// for the step to write before their failures.
fn take_earlier_successes(state: &AppState, done: &mut ProcessedLead) {
    let mut failed: Vec<&str> = done
        .outcomes
        .iter()
        .filter(|o| o.error.is_some())
        .map(|o| o.plugin_id.as_str())
        .collect();
    failed.sort_unstable();
    failed.dedup();
    let taken = failed
        .into_iter()
        .filter_map(|id| {
            state
                .plugins
                .take_successes(id)
                .map(|s| (id.to_owned(), s.calls, s.last_at))
        })
        .collect();
    done.earlier_successes = taken;
}

/// Writes the successful plugin calls counted in memory, every
/// `WRITE_SUCCESSES_EVERY`.
pub fn start_success_writer(state: &AppState) {
    every(state, WRITE_SUCCESSES_EVERY, |state| async move {
        state.plugins.write_successes(&state.store).await;
    });
}

/// The step's own handle once the blocking call has given its clone back.
fn unwrap_arc<T>(shared: Arc<T>) -> T {
    Arc::into_inner(shared).expect("the plugin call has finished and dropped its handle")
}
