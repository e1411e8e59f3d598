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
//! tenant-wide re-score and a hand-over, `followup` and `routing::pool` for
//! SLA jobs, `nurture` for runs, `webhooks` and `email` for deliveries).

use std::time::Duration;

use futures_util::StreamExt;

use crate::app::AppState;
use crate::clock::Timestamp;
use crate::domain::{CLAIM_LEASE, Job, JobKind, JobRecord};
use crate::followup::sla::DeadlineDue;
use crate::notifications::EmailNotice;
use crate::nurture::run::Round;
use crate::pipeline::{StepRoute, run_step};
use crate::plugins::host::WRITE_SUCCESSES_EVERY;
use crate::routing::pool::Recycle;
use crate::scoring::{CAUSE_DECAY, CAUSE_INTAKE};
/// The timeline's cause for the score written when a held lead is handed to sales.
const CAUSE_HAND_OVER: &str = "hand-over to sales";
const CAUSE_REROUTE: &str = "its owner left";
/// Often enough for webhook retries and deadlines to land within a second.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
const RETRY_AFTER: Duration = Duration::from_secs(30);
/// Due jobs listed per round of a sweep.
const SWEEP_BATCH: i64 = 200;
/// A tenant's lead steps taken by one pass of the steps sweep: its backlog
/// waits for later passes, and never hides another tenant's jobs.
const STEPS_PER_TENANT: i64 = 8;
/// A tenant's nurture runs moved at once: each is mostly reads and one
/// write through the group commit, so a few in flight keep the writer busy.
const RUNS_IN_FLIGHT: usize = 16;
/// The longest a swept job may run before it is given up (and retried
/// later); well under the claim's lease, so no second worker takes it
/// meanwhile. (A tenant-wide re-score renews its lease chunk by chunk and is
/// not bounded.)
const JOB_BOUND: Duration = Duration::from_secs(90);

/// Due jobs in two lanes swept apart, so that a tenant's slow plugins
/// (steps) never delay anyone's deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// SLA warnings, breaches and recycles, webhook deliveries.
    Deadlines,
    /// Plugin-bound work: lead steps (score and route, re-score, decay, a
    /// hand-over to sales) and tenant-wide re-scores.
    Steps,
    /// Nurture runs' next steps (a wait over, a run just started).
    Nurture,
}

impl Lane {
    fn kinds(self) -> &'static [JobKind] {
        match self {
            Lane::Deadlines => &[
                JobKind::SlaWarning,
                JobKind::SlaBreach,
                JobKind::SlaRecycle,
                JobKind::Webhook,
                JobKind::Email,
                JobKind::NotificationEmail,
            ],
            Lane::Steps => &[
                JobKind::ScoreAndRoute,
                JobKind::Rescore,
                JobKind::Decay,
                JobKind::HandToSales,
                JobKind::Reroute,
                JobKind::RescoreTenant,
            ],
            Lane::Nurture => &[JobKind::Nurture],
        }
    }
}

/// Runs a job in the background.
pub fn spawn(state: &AppState, job: JobRecord) {
    let state = state.clone();
    tokio::spawn(async move { execute(&state, job).await });
}

/// Runs held jobs one after another in the background (a departure's
/// reroutes: one at a time, not a burst); one a crash leaves unrun runs from
/// the jobs table after its lease.
pub fn spawn_in_turn(state: &AppState, jobs: Vec<JobRecord>) {
    let state = state.clone();
    tokio::spawn(async move {
        for job in jobs {
            execute(&state, job).await;
        }
    });
}

/// Sweeps each lane every `SWEEP_EVERY`, starting at once, each on its own
/// task: a slow pass of steps does not hold up the deadlines.
pub fn start_sweeper(state: &AppState) {
    every(state, SWEEP_EVERY, |state| async move {
        sweep_lane(&state, Lane::Deadlines, Deliveries::InBackground).await;
    });
    every(state, SWEEP_EVERY, |state| async move {
        sweep_lane(&state, Lane::Steps, Deliveries::InBackground).await;
    });
    every(state, SWEEP_EVERY, |state| async move {
        sweep_lane(&state, Lane::Nurture, Deliveries::InBackground).await;
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

/// Runs the jobs that are due and not held: every deadline, then one pass
/// of steps. Returns how many it started. (The manual clock's advance calls
/// this, and answers once it is done, webhook deliveries included: with
/// them still in flight, the next move of the clock would run out their
/// leases and deliver them twice.)
pub async fn sweep(state: &AppState) -> usize {
    let mut ran = sweep_lane(state, Lane::Deadlines, Deliveries::Awaited).await
        + sweep_lane(state, Lane::Steps, Deliveries::Awaited).await
        + sweep_lane(state, Lane::Nurture, Deliveries::Awaited).await;
    // What the runs just queued (their emails) is due now too.
    ran += sweep_lane(state, Lane::Deadlines, Deliveries::Awaited).await;
    ran
}

/// Whether a sweep waits for the webhook deliveries it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deliveries {
    /// The server's own sweeps: a slow receiver holds up nothing.
    InBackground,
    /// A sweep whose caller answers once it is done (the manual clock).
    Awaited,
}

/// One lane's sweep: deadlines until none is left; steps one pass, at most
/// `STEPS_PER_TENANT` of each tenant. In a round each tenant's jobs run in
/// order (a warning before its breach) on a task of the tenant's own, beside
/// the other tenants'; each within `JOB_BOUND`, and a panic ends only the
/// tenant's round.
async fn sweep_lane(state: &AppState, lane: Lane, deliveries: Deliveries) -> usize {
    let per_tenant = match lane {
        Lane::Deadlines | Lane::Nurture => SWEEP_BATCH,
        Lane::Steps => STEPS_PER_TENANT,
    };
    let mut ran = 0;
    loop {
        let due = match state.store.due_jobs(lane.kinds(), per_tenant, SWEEP_BATCH).await {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(%err, "listing due jobs failed");
                return ran;
            }
        };
        let mut by_tenant: Vec<(String, Vec<JobRecord>)> = Vec::new();
        let mut delivering = Vec::new();
        // A tenant whose plugin work already queues gets no more steps now:
        // they would wait there, holding the sweep (and their claims); they
        // are taken in a later pass.
        let takeable: Vec<&str> = due
            .iter()
            .filter(|job| lane == Lane::Deadlines || !state.plugins.is_busy(&job.tenant_id))
            .map(|job| job.id.as_str())
            .collect();
        // Those another worker holds (or has done) are not returned.
        let claimed = match state.store.claim_jobs(&takeable, CLAIM_LEASE).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::warn!(%err, "claiming due jobs failed");
                return ran;
            }
        };
        for job in claimed {
            match job {
                // Long or network-bound work must not hold up the sweep.
                job if is_delivery(&job.job) && deliveries == Deliveries::Awaited => {
                    let state = state.clone();
                    delivering.push(tokio::spawn(async move { bounded(&state, job, None).await }));
                }
                job if matches!(job.job, Job::RescoreTenant(_)) || is_delivery(&job.job) => spawn(state, job),
                job => match by_tenant.iter_mut().find(|(tenant, _)| *tenant == job.tenant_id) {
                    Some((_, jobs)) => jobs.push(job),
                    None => by_tenant.push((job.tenant_id.clone(), vec![job])),
                },
            }
            ran += 1;
        }
        let rounds: Vec<_> = by_tenant
            .into_iter()
            .map(|(tenant, jobs)| {
                let state = state.clone();
                let tenant_id = tenant.clone();
                let round = tokio::spawn(async move {
                    match lane {
                        // Runs are independent of each other (each checks its
                        // own seq); what they read is read once for the round
                        // (if that fails, each job reads its own).
                        Lane::Nurture => {
                            let round = match Round::read(&state, &tenant_id, &jobs).await {
                                Ok(round) => Some(round),
                                Err(err) => {
                                    tracing::warn!(tenant = %tenant_id, %err, "reading a round of nurture runs failed");
                                    None
                                }
                            };
                            futures_util::stream::iter(jobs)
                                .for_each_concurrent(RUNS_IN_FLIGHT, |job| bounded(&state, job, round.as_ref()))
                                .await
                        }
                        _ => {
                            for job in jobs {
                                bounded(&state, job, None).await;
                            }
                        }
                    }
                });
                (tenant, round)
            })
            .collect();
        for (tenant, round) in rounds {
            if let Err(err) = round.await {
                tracing::error!(%tenant, %err, "a job panicked; the rest of the tenant's round waits for their leases");
            }
        }
        for delivery in delivering {
            if let Err(err) = delivery.await {
                tracing::error!(%err, "a webhook delivery panicked; its lease will run out and it will be tried again");
            }
        }
        if lane == Lane::Steps || (due.len() as i64) < SWEEP_BATCH {
            return ran;
        }
    }
}

/// Network-bound deliveries (webhooks, email): each on a task of its own,
/// so a slow receiver holds up nothing.
fn is_delivery(job: &Job) -> bool {
    matches!(job, Job::Webhook(_) | Job::Email(_))
}

/// Runs a claimed job (in its `round`, if a nurture job) for at most
/// `JOB_BOUND`; past it the job is released to be tried again later.
async fn bounded(state: &AppState, job: JobRecord, round: Option<&Round>) {
    let (id, kind) = (job.id.clone(), job.kind());
    if tokio::time::timeout(JOB_BOUND, execute_in(state, job, round))
        .await
        .is_err()
    {
        tracing::warn!(job = %id, %kind, "a job ran past its bound; it will be retried");
        let retry_at = Timestamp::now().plus(RETRY_AFTER);
        let error = format!("stopped after {} s", JOB_BOUND.as_secs());
        if let Err(err) = state.store.retry_job(&id, &error, retry_at).await {
            tracing::warn!(job = %id, %err, "could not release a stopped job; its lease will expire");
        }
    }
}

/// Runs a claimed (or freshly written) job; a failure releases it to be
/// tried again later.
pub async fn execute(state: &AppState, job: JobRecord) {
    execute_in(state, job, None).await
}

async fn execute_in(state: &AppState, job: JobRecord, round: Option<&Round>) {
    let (tenant_id, job_id) = (job.tenant_id.as_str(), job.id.clone());
    let store = state.store.tenant(tenant_id);
    let result = match &job.job {
        Job::ScoreAndRoute(lead) => {
            run_step(state, tenant_id, &job_id, &lead.lead_id, CAUSE_INTAKE, StepRoute::New).await
        }
        Job::Rescore(rescore) => {
            run_step(
                state,
                tenant_id,
                &job_id,
                &rescore.lead_id,
                &rescore.cause,
                StepRoute::No,
            )
            .await
        }
        Job::Decay(lead) => run_step(state, tenant_id, &job_id, &lead.lead_id, CAUSE_DECAY, StepRoute::No).await,
        Job::HandToSales(lead) => {
            run_step(
                state,
                tenant_id,
                &job_id,
                &lead.lead_id,
                CAUSE_HAND_OVER,
                StepRoute::HandOver,
            )
            .await
        }
        Job::Reroute(lead) => {
            run_step(
                state,
                tenant_id,
                &job_id,
                &lead.lead_id,
                CAUSE_REROUTE,
                StepRoute::Reroute,
            )
            .await
        }
        Job::Nurture(due) => crate::nurture::run::advance(state, &job, due, round).await,
        Job::Email(email) => crate::email::delivery::deliver(state, &job, &email.email_id).await,
        Job::NotificationEmail(notice) => {
            let public_url = state.settings.public_url.clone().unwrap_or_default();
            store
                .run(EmailNotice {
                    job_id,
                    notification_id: notice.notification_id.clone(),
                    public_url,
                })
                .await
        }
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
