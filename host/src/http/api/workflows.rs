//! `/api/v1/workflows`: nurture workflows. `PUT /workflows/{slug}` checks a
//! definition (every problem at its pointer) and stores it as the next
//! version through `nurture::publish`, as the workflows page does; earlier
//! versions stay readable, since a run keeps the version it started on.
//! `PATCH` pauses, resumes or archives.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::WorkflowStatus;
use crate::error::{ApiError, missing};
use crate::http::body::JsonBody;
use crate::nurture::enrolment::{ManualEnrolment, Refused};
use crate::nurture::report::step_report;
use crate::nurture::{self, ActiveWorkflow, Workflow};
use crate::storage::{StoreError, WorkflowRecord, WorkflowVersionRecord};

fn not_found(slug: &str) -> impl FnOnce(StoreError) -> ApiError + '_ {
    missing(move || format!("no workflow {slug:?} in this tenant"))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let workflows = state.store.tenant(caller.tenant_id()?).workflows().await?;
    Ok(Json(json!({ "workflows": workflows })))
}

/// The workflow with its current version's definition.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let workflow = store.workflow(&slug).await.map_err(not_found(&slug))?;
    let current = store.workflow_version(&workflow.id, workflow.current_version).await?;
    let mut body = json!(workflow);
    body["definition"] = current.definition;
    Ok(Json(body))
}

pub async fn version(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, version)): Path<(String, i32)>,
) -> Result<Json<WorkflowVersionRecord>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let workflow = store.workflow(&slug).await.map_err(not_found(&slug))?;
    let found = store.workflow_version(&workflow.id, version).await;
    Ok(Json(found.map_err(missing(|| {
        format!("workflow {slug:?} has no version {version}")
    }))?))
}

/// Checks the definition and stores it as the workflow's next version
/// (201 for a new workflow), with the defaults filled in.
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    JsonBody(definition): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let published = nurture::publish::publish(&store, &state.nurture, &slug, definition).await?;
    let status = if published.record.current_version == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut body = json!(published.record);
    body["definition"] = published.definition;
    Ok((status, Json(body)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    status: WorkflowStatus,
}

/// Pauses (runs wait), resumes, or archives (runs end; final) a workflow.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    JsonBody(update): JsonBody<Update>,
) -> Result<Json<WorkflowRecord>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let updated = store.set_workflow_status(&slug, update.status).await;
    state.nurture.forget(store.tenant_id());
    Ok(Json(updated.map_err(not_found(&slug))?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    lead_id: String,
}

/// Enrols a lead by hand (201 with the run); 409 if it already runs the
/// workflow, or ran it and the workflow allows no re-entry.
pub async fn enrol(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<Enrolment>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let record = store.workflow(&slug).await.map_err(not_found(&slug))?;
    if record.status != WorkflowStatus::Active {
        return Err(ApiError::Conflict(format!(
            "workflow {slug:?} is {}; only an active workflow enrols leads",
            record.status
        )));
    }
    let version = store.workflow_version(&record.id, record.current_version).await?;
    let workflow = ActiveWorkflow {
        workflow_id: record.id.clone(),
        slug: record.slug.clone(),
        version: version.version,
        workflow: Workflow::stored(version.definition)?,
    };
    // The caller must see the lead to enrol it.
    super::leads::visible(&store, &caller, &body.lead_id).await?;
    let enrolment = ManualEnrolment {
        workflow,
        lead_id: body.lead_id.clone(),
    };
    let run_id = match store.run(enrolment).await? {
        Ok(run_id) => run_id,
        Err(Refused::NoSuchLead) => return Err(ApiError::NotFound(format!("no lead {:?}", body.lead_id))),
        Err(Refused::AlreadyRunning(run)) => {
            return Err(ApiError::Conflict(format!(
                "the lead already runs workflow {slug:?} (run {run})"
            )));
        }
        Err(Refused::NoReentry) => {
            return Err(ApiError::Conflict(format!(
                "the lead ran workflow {slug:?} before, and it allows no re-entry (\"reentry\": true)"
            )));
        }
    };
    Ok((StatusCode::CREATED, Json(json!(store.nurture_run(&run_id).await?))))
}

/// How many of the workflow's leads wait at each step (by the step they
/// run next), and how many emails each step queued, sent, and saw opened
/// and clicked.
pub async fn steps(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let record = store.workflow(&slug).await.map_err(not_found(&slug))?;
    let steps = step_report(&store, &record).await?;
    Ok(Json(
        json!({"workflow": slug, "version": record.current_version, "steps": steps}),
    ))
}

/// A lead's runs, each with its log.
pub async fn lead_runs(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let lead = super::leads::visible(&store, &caller, &id).await?;
    let mut runs = Vec::new();
    for run in store.lead_runs(&lead.id).await? {
        let log = store.run_log(&run.id).await?;
        let mut body = json!(run);
        body["log"] = json!(log);
        runs.push(body);
    }
    Ok(Json(json!({"lead_id": lead.id, "runs": runs})))
}
