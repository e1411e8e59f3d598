//! `/api/v1/workflows`: nurture workflows. `PUT /workflows/{slug}` checks a
//! definition (every problem at its pointer) and stores it as the next
//! version; earlier versions stay readable, since a run keeps the version
//! it started on. `PATCH` pauses, resumes or archives.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::{FormSlug, WorkflowStatus};
use crate::error::{ApiError, FieldError, missing};
use crate::http::body::JsonBody;
use crate::nurture::{Workflow, tenant_facts};
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
    FormSlug::parse(&slug).map_err(|e| {
        ApiError::validation(
            "the workflow is not valid",
            vec![FieldError::new("", format!("the slug: {}", e.0))],
        )
    })?;
    let store = state.store.tenant(caller.tenant_id()?);
    let facts = tenant_facts(&store).await?;
    let workflow = Workflow::parse(definition, &facts)
        .map_err(|errors| ApiError::validation("the workflow is not valid", errors))?;
    let stored = json!(workflow);
    let record: WorkflowRecord = store.publish_workflow(&slug, &workflow.name, &stored).await?;
    let status = if record.current_version == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut body = json!(record);
    body["definition"] = stored;
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
    Ok(Json(updated.map_err(not_found(&slug))?))
}
