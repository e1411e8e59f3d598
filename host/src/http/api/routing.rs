//! Teams and the tenant's assignment rules.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::body::JsonBody;
use crate::setup::teams::save_team;
use crate::setup::{Setting, SetupError};
use crate::storage::StoreError;

pub async fn list_teams(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let teams = state.store.tenant(caller.tenant_id()?).teams().await?;
    Ok(Json(json!({"teams": teams})))
}

pub async fn show_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match state.store.tenant(caller.tenant_id()?).team(&name).await {
        Ok(team) => Ok(Json(json!(team))),
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("no team {name:?}"))),
        Err(other) => Err(other.into()),
    }
}

pub async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let team = save_team(&store, caller.user_id.as_deref(), body, None).await?;
    Ok((StatusCode::CREATED, Json(json!(team))))
}

/// `PUT /api/v1/teams/{name}`: a new manager, strategy or member list.
pub async fn replace_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    match save_team(&store, caller.user_id.as_deref(), body, Some(&name)).await {
        Err(SetupError::Store(StoreError::NotFound)) => Err(ApiError::NotFound(format!("no team {name:?}"))),
        other => Ok(Json(json!(other?))),
    }
}

/// `GET /api/v1/routing/rules` (version 0 and no rules until set).
pub async fn show_rules(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    Ok(Json(match store.routing_rules().await? {
        Some(stored) => json!(stored),
        None => json!({"version": 0, "rules": {"rules": []}}),
    }))
}

/// `PUT /api/v1/routing/rules`: checked for shape, then against the tenant:
/// each team, rep and router plugin a rule names must exist.
pub async fn replace_rules(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let saved = Setting::RoutingRules
        .replace(&state, caller.tenant_id()?, caller.user_id.as_deref(), body)
        .await?;
    Ok(Json(saved))
}
