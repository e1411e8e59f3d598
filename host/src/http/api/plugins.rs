//! `/api/v1/plugins`: upload, list, switch on and off, replace, delete and
//! test-run a tenant's plugins. Every route is scoped to the caller's tenant.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::auth::personal_data::{sees_plugin_output, withhold_call, withhold_plugin};
use crate::domain::PluginStatus;
use crate::error::{ApiError, missing};
use crate::http::body::{JsonBody, read_limited};
use crate::plugins::bindings::{Lead, Rep};
use crate::plugins::contract::{LeadInput, RepInput};
use crate::plugins::upload::{UPLOAD_LIMIT, Upload, invalid, publish};
use crate::storage::{PluginRecord, StoreError};

/// An upload as the API takes it: JSON, the component in base64.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadBody {
    name: Option<String>,
    world: String,
    #[serde(default)]
    config: Option<Value>,
    /// The component, base64.
    component: String,
}

impl UploadBody {
    /// The upload under `name` (the body's, or the URL's).
    fn upload<'a>(&'a self, name: Option<&'a str>, component: &'a [u8]) -> Upload<'a> {
        Upload {
            name,
            world: &self.world,
            config: self.config.clone(),
            component,
        }
    }
}

/// The upload's JSON body, and its component decoded.
async fn read_upload(headers: &HeaderMap, body: Body) -> Result<(UploadBody, Vec<u8>), ApiError> {
    let bytes = read_limited(headers, body, UPLOAD_LIMIT).await?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedBody(format!("malformed JSON: {e}")))?;
    let upload: UploadBody = serde_json::from_value(value).map_err(|e| invalid("", e.to_string()))?;
    let component = STANDARD
        .decode(upload.component.trim())
        .map_err(|e| invalid("/component", format!("is not base64: {e}")))?;
    Ok((upload, component))
}

fn not_found(name: &str) -> impl FnOnce(StoreError) -> ApiError + '_ {
    missing(move || format!("no plugin {name:?} in this tenant"))
}

/// 201 or 200 for a plugin ready to run; 202 for one queued to compile.
fn saved_status(plugin: &PluginRecord, stored: StatusCode) -> StatusCode {
    match plugin.status {
        PluginStatus::Compiling => StatusCode::ACCEPTED,
        _ => stored,
    }
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<PluginRecord>), ApiError> {
    let (upload, component) = read_upload(&headers, body).await?;
    let store = state.store.tenant(caller.tenant_id()?);
    let upload = upload.upload(upload.name.as_deref(), &component);
    let plugin = publish(&state.plugins, &store, upload, false).await?;
    Ok((saved_status(&plugin, StatusCode::CREATED), Json(plugin)))
}

/// Replaces the component (and world and config) of an existing plugin.
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<PluginRecord>), ApiError> {
    let (upload, component) = read_upload(&headers, body).await?;
    if upload.name.as_ref().is_some_and(|n| n != &name) {
        return Err(invalid("/name", "differs from the name in the URL"));
    }
    let store = state.store.tenant(caller.tenant_id()?);
    let plugin = publish(&state.plugins, &store, upload.upload(Some(&name), &component), true).await?;
    Ok((saved_status(&plugin, StatusCode::OK), Json(plugin)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    enabled: Option<bool>,
    config: Option<Value>,
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(update): JsonBody<Update>,
) -> Result<Json<PluginRecord>, ApiError> {
    let config = update.config.map(|c| c.to_string());
    let tenant_id = caller.tenant_id()?;
    let updated = state
        .store
        .tenant(tenant_id)
        .update_plugin(&name, update.enabled, config.as_deref())
        .await;
    state.plugins.forget(tenant_id);
    Ok(Json(updated.map_err(not_found(&name))?))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let tenant_id = caller.tenant_id()?;
    let deleted = state.store.tenant(tenant_id).delete_plugin(&name).await;
    state.plugins.forget(tenant_id);
    deleted.map_err(not_found(&name))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let plugins = store.plugins().await?;
    let mut plugins = json!(state.plugins.with_unwritten(plugins));
    if !sees_plugin_output(&caller, store.integrators_see_personal_data().await?) {
        plugins.as_array_mut().into_iter().flatten().for_each(withhold_plugin);
    }
    Ok(Json(json!({ "plugins": plugins })))
}

/// The plugin with its latest calls (their results, errors and logs).
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let plugin = store.plugin(&name).await.map_err(not_found(&name))?;
    let plugin = state.plugins.with_unwritten(vec![plugin]).remove(0);
    let mut calls = store.plugin_calls(&plugin.id, 20).await?;
    let mut body = json!(plugin);
    if !sees_plugin_output(&caller, store.integrators_see_personal_data().await?) {
        withhold_plugin(&mut body);
        calls.iter_mut().for_each(withhold_call);
    }
    body["recent_calls"] = json!(calls);
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRun {
    lead: LeadInput,
    #[serde(default)]
    candidates: Vec<RepInput>,
    /// Overrides the stored config for this run.
    config: Option<Value>,
}

/// Calls the plugin once on a lead given in the request: nothing is stored
/// and the plugin's failure count does not change.
pub async fn run(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(request): JsonBody<TestRun>,
) -> Result<Json<Value>, ApiError> {
    let tenant_id = caller.tenant_id()?.to_owned();
    let store = state.store.tenant(&tenant_id);
    let plugin = store.plugin(&name).await.map_err(not_found(&name))?;
    match plugin.status {
        PluginStatus::Ready => {}
        PluginStatus::Compiling => {
            return Err(ApiError::Conflict(format!(
                "plugin {name:?} is still compiling; it runs once its status is ready"
            )));
        }
        PluginStatus::Failed => {
            return Err(ApiError::Conflict(format!(
                "plugin {name:?} failed to compile: {}",
                plugin.compile_error.as_deref().unwrap_or("no reason recorded")
            )));
        }
    }
    let component = state
        .plugins
        .component(&store, &plugin)
        .await
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    let limits = state.plugins.limits(&store).await?;
    let config = request.config.unwrap_or(plugin.config).to_string();
    let lead = Lead::from(request.lead);
    let candidates: Vec<Rep> = request.candidates.into_iter().map(Rep::from).collect();
    let report = state
        .plugins
        .run(&tenant_id, move |sandbox| {
            component.trial(sandbox, &limits, &lead, &candidates, &config)
        })
        .await
        .unwrap_or_else(|failure| json!({"error": failure.to_string()}));
    Ok(Json(report))
}
