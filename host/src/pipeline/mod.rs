//! A lead's step: prepare → score → tier and stage → route → write.
//!
//! A step runs for a new lead (score and route it), for a behaviour event
//! or a touch that filled fields (score it again), and when its fading
//! score next moves (decay). It reads the lead, calls the tenant's scorer
//! plugins (and, for a new lead, its router plugin) in one trip off the
//! async workers, computes the score, tier and stage (`scoring`) and the
//! routing decision (`routing`), then writes all of it with its job's
//! removal in one unit of work ([`write::FinishStep`]). A step that lost a
//! race with another re-score of the same lead computes again.

pub mod write;

use std::sync::Arc;

use crate::app::AppState;
use crate::clock::Timestamp;
use crate::domain::{ProcessedLead, ScoreWrite};
use crate::nurture::active_workflows;
use crate::plugins::StepCalls;
use crate::plugins::bindings::{RouteDecision, ScorePart};
use crate::plugins::host::{DISABLE_AFTER, Successes};
use crate::plugins::sandbox::{CallRecord, Limits};
use crate::routing::{RoutedLead, Router};
use crate::scoring::{Behaviour, Scorers, current_model, rescored};
use crate::storage::{LeadRecord, LeadVisibility, StoreError, StoreResult, TenantStore};
use write::FinishStep;

/// Times a step computes again after losing a race with another re-score
/// of the same lead, before it is left to a retry.
const STALE_ATTEMPTS: usize = 5;

/// Whether a step routes the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepRoute {
    /// Only scores it.
    No,
    /// A new lead's first step: routes it (a `hold` rule holds it for nurture).
    New,
    /// A held lead handed to sales: routes it by the rules below its hold.
    HandOver,
    /// A lead whose owner has left: routes it again (passing over `hold`
    /// rules: it is with sales already), if its owner is still the one who left.
    Reroute,
}

/// Runs the step of job `job_id` on one lead: scores it (with `cause` on
/// its timeline) and routes it as `route` says.
pub async fn run_step(
    state: &AppState,
    tenant_id: &str,
    job_id: &str,
    lead_id: &str,
    cause: &str,
    route: StepRoute,
) -> StoreResult<()> {
    let store = state.store.tenant(tenant_id);
    for _ in 0..STALE_ATTEMPTS {
        let done = decide(state, &store, lead_id, cause, route).await?;
        if write(state, &store, job_id, done, route).await? {
            return Ok(());
        }
        tracing::debug!(lead = lead_id, "lead re-scored meanwhile; scoring again");
    }
    Err(StoreError::Conflict(format!(
        "lead {lead_id} kept being re-scored concurrently"
    )))
}

/// Reads the lead and decides its score, tier, stage and (when `route`)
/// where it goes; nothing is written yet.
async fn decide(
    state: &AppState,
    store: &TenantStore<'_>,
    lead_id: &str,
    cause: &str,
    route: StepRoute,
) -> StoreResult<ProcessedLead> {
    let lead = store.lead(lead_id, &LeadVisibility::All).await?;
    let events = store.behaviour_events(lead_id).await?;
    let behaviour = Behaviour::from_events(events.into_iter().map(|e| (e.kind, e.occurred_at)).collect());
    let model = current_model(&state.score_models, store).await?;
    let now = Timestamp::now();
    let limits = Limits {
        // A plugin's wall clock reads the step's time.
        clock_at: Some(now),
        ..state.plugins.limits(store).await?
    };
    let mut calls = StepCalls::new(&state.plugins, store.tenant_id(), &lead, behaviour.counts(now), limits);
    let scorers = Arc::new(Scorers::prepare(&state.plugins, store).await?);
    let router = Arc::new(match route {
        StepRoute::New => Router::prepare(&state.plugins, &state.routing_rules, store).await?,
        StepRoute::HandOver | StepRoute::Reroute => Router::prepare(&state.plugins, &state.routing_rules, store)
            .await?
            .handing_over(),
        StepRoute::No => Router::none(),
    });
    let (scores, routed) = call_plugins(&calls, &scorers, &router).await;
    let plugin_parts = scorers.apply(&mut calls, scores);
    let scored = rescored(&model, &lead, &behaviour, plugin_parts, now, cause);
    let route = match route {
        StepRoute::New | StepRoute::HandOver | StepRoute::Reroute => {
            Some(routing(&mut calls, unwrap_arc(router), routed, &lead, &scored).await)
        }
        StepRoute::No => None,
    };
    Ok(ProcessedLead {
        lead_id: lead.id.clone(),
        scored: Some(scored),
        route,
        events: calls.events,
        calls: calls.calls,
        outcomes: calls.outcomes,
        earlier_successes: Vec::new(),
    })
}

/// Every plugin call of the step that does not depend on the score, in one
/// trip off the async workers: the scorers, and the router plugin that
/// routes without rules (rules reach their plugins after scoring).
async fn call_plugins(
    calls: &StepCalls<'_>,
    scorers: &Arc<Scorers>,
    router: &Arc<Router>,
) -> (Vec<CallRecord<Vec<ScorePart>>>, Option<CallRecord<RouteDecision>>) {
    if scorers.is_empty() && !router.is_set() {
        return (Vec::new(), None);
    }
    let (lead, limits) = (calls.lead.clone(), calls.limits);
    let (for_call, router_for_call) = (scorers.clone(), router.clone());
    calls
        .host
        .run(&calls.tenant_id, move |sandbox| {
            (
                for_call.call(sandbox, &lead, &limits),
                router_for_call.call(sandbox, &lead, &limits),
            )
        })
        .await
        .unwrap_or_else(|failure| {
            let scores = (0..scorers.len())
                .map(|_| CallRecord::failed(failure.clone()))
                .collect();
            (scores, router.is_set().then(|| CallRecord::failed(failure)))
        })
}

/// Where the scored lead goes.
async fn routing(
    calls: &mut StepCalls<'_>,
    router: Router,
    routed: Option<CallRecord<RouteDecision>>,
    lead: &LeadRecord,
    scored: &ScoreWrite,
) -> crate::domain::RouteStep {
    let view = RoutedLead {
        fields: &lead.fields,
        tier: scored.tier,
        stage: scored.stage.as_ref().map_or(lead.stage, |s| s.stage),
        source: &lead.source,
        channel: &lead.channel,
        form: &lead.form,
        score: scored.score,
    };
    router.decide(calls, routed, &view).await
}

/// Writes the step; `false` when the lead was re-scored meanwhile and the
/// step must be computed again.
async fn write(
    state: &AppState,
    store: &TenantStore<'_>,
    job_id: &str,
    mut done: ProcessedLead,
    route: StepRoute,
) -> StoreResult<bool> {
    done.earlier_successes = take_earlier_successes(state, &done);
    let earlier = done.earlier_successes.clone();
    let workflows = active_workflows(&state.nurture.active, store).await?;
    let finished = store
        .run(FinishStep {
            job_id: job_id.to_owned(),
            done,
            disable_after: DISABLE_AFTER,
            route,
            workflows,
        })
        .await;
    if !matches!(&finished, Ok(f) if !f.stale) {
        // Not written: count them again with the next write.
        let back = earlier.into_iter().map(|(id, calls, last_at)| {
            let tenant_id = store.tenant_id().to_owned();
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
        state.plugins.forget(store.tenant_id());
    }
    Ok(!finished.stale)
}

/// The unwritten successes of the plugins that failed in the step, for the
/// step to write before their failures (a success ends a run of failures).
fn take_earlier_successes(state: &AppState, done: &ProcessedLead) -> Vec<(String, i64, Timestamp)> {
    let mut failed: Vec<&str> = done.failures().map(|o| o.plugin_id.as_str()).collect();
    failed.sort_unstable();
    failed.dedup();
    failed
        .into_iter()
        .filter_map(|id| {
            state
                .plugins
                .take_successes(id)
                .map(|s| (id.to_owned(), s.calls, s.last_at))
        })
        .collect()
}

/// The step's own handle once the blocking call has given its clone back.
fn unwrap_arc<T>(shared: Arc<T>) -> T {
    Arc::into_inner(shared).expect("the plugin call has finished and dropped its handle")
}
