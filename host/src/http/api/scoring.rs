//! The tenant's scoring model and its re-score runs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::body::JsonBody;
use crate::jobs;
use crate::scoring::ScoreModel;
use crate::setup::Setting;
use crate::storage::{StartedRescore, StoreError};

/// `GET /api/v1/scoring/model`: the current model (version 0: the default,
/// until an admin sets one).
pub async fn show_model(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    Ok(Json(match store.scoring_model().await? {
        Some(stored) => json!(stored),
        None => json!({"version": 0, "model": ScoreModel::default()}),
    }))
}

/// `PUT /api/v1/scoring/model`: checks the model (422 with a pointer per
/// problem), stores it as a new version and re-scores every lead in the
/// background; 202 with the run to follow.
pub async fn replace_model(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let saved = Setting::ScoringModel
        .replace(&state, caller.tenant_id()?, caller.user_id.as_deref(), body)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(saved)))
}

/// `POST /api/v1/scoring/rescores`: re-scores every lead with the current
/// model, e.g. after a scorer plugin changed.
pub async fn start_rescore(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant_id = caller.tenant_id()?;
    let started = state.store.tenant(tenant_id).start_rescore().await?;
    let run = start(&state, started);
    Ok((StatusCode::ACCEPTED, Json(run)))
}

fn start(state: &AppState, started: StartedRescore) -> Value {
    jobs::spawn(state, started.job);
    json!(started.run)
}

pub async fn list_rescores(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let runs = state.store.tenant(caller.tenant_id()?).rescore_runs(20).await?;
    Ok(Json(json!({"rescores": runs})))
}

/// `GET /api/v1/scoring/rescores/{id}`: a run's progress.
pub async fn show_rescore(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match state.store.tenant(caller.tenant_id()?).rescore_run(&id).await {
        Ok(run) => Ok(Json(json!(run))),
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("no re-score run {id:?}"))),
        Err(other) => Err(other.into()),
    }
}
