//! Re-scoring every lead of a tenant after its model changed: a durable
//! job that walks the leads in id order, a chunk at a time. Each chunk's
//! scores, the run's progress and its cursor commit together, so a restart
//! resumes where it stopped and a lead is never half-done. A newer model
//! supersedes a running pass (its job is removed; the pass notices and stops).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use super::{Behaviour, ScoreModel, Scorers, changes, rescored};
use crate::app::AppState;
use crate::clock::Timestamp;
use crate::domain::{CLAIM_LEASE, JobRecord, RunStatus, ScoreWrite};
use crate::plugins::plugin_lead;
use crate::plugins::sandbox::CallRecord;
use crate::storage::{LeadRecord, StoreError, StoreResult, TenantStore};

/// Leads per chunk: large enough to amortise each transaction and each trip
/// off the async workers, small enough to keep memory flat.
const CHUNK: i64 = 5000;

/// Progress after each chunk: (leads done so far, of total).
pub type Progress<'a> = &'a (dyn Fn(i64, i64) + Send + Sync);

pub async fn run(state: &AppState, job: &JobRecord, run_id: &str) -> StoreResult<()> {
    run_with_progress(state, job, run_id, &|_, _| {}).await
}

/// Carries out a run's job to the end (or until superseded), reporting
/// progress after each chunk.
pub async fn run_with_progress(
    state: &AppState,
    job: &JobRecord,
    run_id: &str,
    progress: Progress<'_>,
) -> StoreResult<()> {
    let tenant_id = job.tenant_id.as_str();
    let store = state.store.tenant(tenant_id);
    let run = store.rescore_run(run_id).await?;
    let (cursor, mut done) = (run.cursor.clone(), run.done);
    if run.status != RunStatus::Running {
        return store.finish_rescore(job, run_id).await;
    }
    let model = super::current_model(&state.score_models, &store).await?;
    let scorers = Arc::new(Scorers::prepare(&state.plugins, &store).await?);
    let limits = state.plugins.limits(&store).await?;
    let next_chunk = |after: Option<String>| {
        let (model, scorers, store) = (&model, &scorers, &store);
        async move {
            let leads = store.leads_after(after.as_deref(), CHUNK).await?;
            if leads.is_empty() {
                return StoreResult::Ok(None);
            }
            let chunk = score_chunk(state, tenant_id, store, model, scorers, limits, leads).await?;
            // Serialised here, off the write path: the previous chunk is
            // being written meanwhile.
            let writes = store.prepare_scores(&chunk.writes);
            Ok(Some((writes, chunk.seen, chunk.last_id)))
        }
    };
    let mut chunk = next_chunk(cursor.clone()).await?;
    loop {
        let Some((writes, seen, last_id)) = chunk else {
            progress(done, run.total.max(done));
            return store.finish_rescore(job, run_id).await;
        };
        // The next chunk is read and scored while this one is written (on
        // its own task, so the write's statements go on while this task
        // computes): they are different leads, and each write still commits
        // in order, with the run's cursor, before the next one starts.
        let writer = {
            let (store, tenant, job, run_id, last_id) = (
                state.store.clone(),
                tenant_id.to_owned(),
                job.clone(),
                run_id.to_owned(),
                last_id.clone(),
            );
            tokio::spawn(async move {
                store
                    .tenant(&tenant)
                    .write_rescore_chunk(&job, &run_id, writes, seen, &last_id, CLAIM_LEASE)
                    .await
            })
        };
        let next = next_chunk(Some(last_id)).await;
        let written = match writer.await {
            Ok(written) => written,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(StoreError::Database(sqlx::Error::Io(std::io::Error::other(format!(
                "re-score chunk write: {e}"
            ))))),
        };
        if written?.is_none() {
            tracing::info!(
                tenant = tenant_id,
                run = run_id,
                "re-score superseded, or taken over after its lease ran out"
            );
            return Ok(());
        }
        done += seen as i64;
        progress(done, run.total.max(done));
        chunk = next?;
    }
}

/// A chunk of leads scored and ready to write.
struct Chunk {
    writes: Vec<ScoreWrite>,
    /// Leads looked at (written or not).
    seen: usize,
    last_id: String,
}

/// Scores `leads` (in id order, not empty): the writes of those whose score,
/// tier, stage or parts change, or that have events to record.
async fn score_chunk(
    state: &AppState,
    tenant_id: &str,
    store: &TenantStore<'_>,
    model: &ScoreModel,
    scorers: &Arc<Scorers>,
    limits: crate::plugins::sandbox::Limits,
    leads: Vec<LeadRecord>,
) -> StoreResult<Chunk> {
    let (first, last) = (&leads[0], &leads[leads.len() - 1]);
    let mut events = store.behaviour_in_range(&first.id, &last.id).await?;
    let now = Timestamp::now();
    let behaviours: Vec<Behaviour> = leads
        .iter()
        .map(|lead| Behaviour::from_events(events.remove(&lead.id).unwrap_or_default()))
        .collect();
    let plugin_parts = score_with_plugins(state, tenant_id, scorers, &leads, &behaviours, limits, now).await?;
    let writes: Vec<ScoreWrite> = leads
        .iter()
        .zip(&behaviours)
        .zip(plugin_parts)
        .map(|((lead, behaviour), (parts, failures))| {
            let mut write = rescored(model, lead, behaviour, parts, now, "scoring model changed");
            write.events.extend(failures);
            write
        })
        .zip(&leads)
        .filter(|(write, lead)| changes(write, lead) || !write.events.is_empty())
        .map(|(write, _)| write)
        .collect();
    Ok(Chunk {
        writes,
        seen: leads.len(),
        last_id: last.id.clone(),
    })
}

/// Each lead's plugin parts and failure events, the whole chunk's calls in
/// one trip off the async workers; the calls are counted on each plugin.
async fn score_with_plugins(
    state: &AppState,
    tenant_id: &str,
    scorers: &Arc<Scorers>,
    leads: &[LeadRecord],
    behaviours: &[Behaviour],
    limits: crate::plugins::sandbox::Limits,
    now: Timestamp,
) -> StoreResult<Vec<(Vec<super::Contribution>, Vec<(String, serde_json::Value)>)>> {
    if scorers.is_empty() {
        return Ok(leads.iter().map(|_| (Vec::new(), Vec::new())).collect());
    }
    let plugin_leads: Vec<_> = leads
        .iter()
        .zip(behaviours)
        .map(|(lead, behaviour)| plugin_lead(lead, behaviour.counts(now)))
        .collect();
    let calls = scorers.clone();
    let records = state
        .plugins
        .run(tenant_id, move |sandbox| {
            plugin_leads
                .iter()
                .map(|lead| calls.call(sandbox, lead, &limits))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|failure| {
            leads
                .iter()
                .map(|_| {
                    (0..scorers.len())
                        .map(|_| CallRecord::failed(failure.clone()))
                        .collect()
                })
                .collect()
        });
    let mut counts: HashMap<&str, (i64, i64, Option<String>)> = HashMap::new();
    let mut out = Vec::with_capacity(leads.len());
    for lead_records in records {
        let (parts, failures) = scorers.parts(lead_records);
        for prepared in scorers.prepared() {
            counts.entry(prepared.plugin.id.as_str()).or_default().0 += 1;
        }
        let mut events = Vec::new();
        for (prepared, error) in failures {
            let count = counts.entry(prepared.plugin.id.as_str()).or_default();
            count.1 += 1;
            count.2 = Some(error.clone());
            events.push((
                "plugin_failed".to_owned(),
                json!({"plugin": prepared.plugin.name, "world": prepared.plugin.world, "error": error}),
            ));
        }
        out.push((parts, events));
    }
    let store = state.store.tenant(tenant_id);
    for (plugin_id, (calls, failures, last_error)) in counts {
        store
            .count_plugin_calls(plugin_id, calls, failures, last_error.as_deref())
            .await?;
    }
    Ok(out)
}
