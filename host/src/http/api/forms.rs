use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, missing};
use crate::forms::{FormUpload, VersionUpload, create_form, publish_version};
use crate::http::body::JsonBody;
use crate::storage::{FormRecord, StoreError};

fn not_found(slug: &str) -> impl FnOnce(StoreError) -> ApiError + '_ {
    missing(move || format!("no form {slug:?} in this tenant"))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(upload): JsonBody<FormUpload>,
) -> Result<(StatusCode, Json<FormRecord>), ApiError> {
    let form = create_form(&state, caller.tenant_id()?, upload).await?;
    Ok((StatusCode::CREATED, Json(form)))
}

pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    JsonBody(upload): JsonBody<VersionUpload>,
) -> Result<Json<FormRecord>, ApiError> {
    Ok(Json(publish_version(&state, caller.tenant_id()?, &slug, upload).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormUpdate {
    enabled: bool,
}

/// Enables or disables a form; a disabled form's page and route refuse
/// submissions with 410.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    JsonBody(update): JsonBody<FormUpdate>,
) -> Result<Json<FormRecord>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let form = store
        .set_form_enabled(&slug, update.enabled)
        .await
        .map_err(not_found(&slug))?;
    state.forms.remember(form.clone());
    Ok(Json(form))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({"forms": state.store.tenant(caller.tenant_id()?).forms().await?}),
    ))
}

/// The form with its current version's schema and UI schema.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let form = store.form(&slug).await.map_err(not_found(&slug))?;
    let version = form.current_version;
    version_json(&store, form, version).await
}

pub async fn version(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, version)): Path<(String, i32)>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let form = store.form(&slug).await.map_err(not_found(&slug))?;
    version_json(&store, form, version).await
}

async fn version_json(
    store: &crate::storage::TenantStore<'_>,
    form: FormRecord,
    version: i32,
) -> Result<Json<Value>, ApiError> {
    let stored = store.form_version(&form.id, version).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound(format!("form {:?} has no version {version}", form.slug)),
        other => other.into(),
    })?;
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    Ok(Json(json!({
        "form": form,
        "version": stored.version,
        "title": stored.title,
        "schema": parse(&stored.schema),
        "ui_schema": parse(&stored.ui_schema),
        "published_at": stored.created_at,
    })))
}
