//! `/app/admin/plugins`: the tenant's plugins for admins and integrators:
//! status, calls and failures, why one was switched off, its recent calls
//! with their errors (withheld from integrators, as over the API, unless the
//! tenant granted them personal data); switching one on or off; uploading a
//! component (a multipart form), new or as the next version of the plugin of
//! that name, through the API's own `plugins::upload::publish`.

use std::collections::BTreeMap;

use axum::Form;
use axum::body::Bytes;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::frame::{Section, csrf, local_time, notice, page, problems};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::auth::personal_data::{sees_plugin_output, withhold_call, withhold_plugin};
use crate::clock::Timestamp;
use crate::domain::World;
use crate::error::ApiError;
use crate::plugins::upload::{Upload, invalid, publish};
use crate::storage::{PluginRecord, StoreError, TenantStore};

/// How many recent calls a plugin's page lists.
const CALLS_SHOWN: i64 = 20;

/// The upload form as sent, kept when it is sent back with its problems.
#[derive(Default)]
struct UploadForm {
    name: String,
    world: String,
    enabled: bool,
    /// The component; absent when no file (or an empty one) was chosen.
    component: Option<Bytes>,
}

impl UploadForm {
    /// What a fresh form offers: a scorer, switched on once uploaded.
    fn blank() -> Self {
        Self {
            world: World::Scorer.as_str().to_owned(),
            enabled: true,
            ..Self::default()
        }
    }

    /// Reads the form's parts (its first, `_csrf`, was checked by the gate).
    async fn read(mut multipart: Multipart) -> Result<Self, MultipartError> {
        let mut form = Self::default();
        while let Some(field) = multipart.next_field().await? {
            match field.name() {
                Some("name") => form.name = field.text().await?.trim().to_owned(),
                Some("world") => form.world = field.text().await?,
                // A checkbox is sent only when checked.
                Some("enabled") => form.enabled = true,
                Some("component") => form.component = Some(field.bytes().await?).filter(|b| !b.is_empty()),
                _ => {}
            }
        }
        Ok(form)
    }
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    done: Option<&str>,
    upload: &UploadForm,
    refused: &[String],
) -> Result<Markup, PageError> {
    let w = viewer.words();
    let store = state.store.tenant(viewer.tenant_id());
    let sees = sees_plugin_output(&viewer.caller, store.integrators_see_personal_data().await?);
    // As the API shows them: what a plugin produced is withheld from
    // integrators unless the tenant granted it.
    let plugins: Vec<(PluginRecord, Value)> = state
        .plugins
        .with_unwritten(store.plugins().await?)
        .into_iter()
        .map(|plugin| {
            let mut shown = json!(plugin);
            if !sees {
                withhold_plugin(&mut shown);
            }
            (plugin, shown)
        })
        .collect();
    let body = html! {
        @if let Some(done) = done { (notice(done)) }
        @if plugins.is_empty() { p.muted { (w.no_plugins) } }
        @else {
            table #plugins {
                thead { tr {
                    th { (w.name) } th { (w.world) } th { (w.status) } th { (w.calls) } th { (w.failures) } th { (w.last_error) } th {}
                } }
                tbody {
                    @for (plugin, shown) in &plugins {
                        tr.plugin data-name=(plugin.name) {
                            td { a href=(format!("/app/admin/plugins/{}", plugin.name)) { (plugin.name) } }
                            td { (plugin.world.as_str()) }
                            td.state {
                                (plugin.status.as_str()) " · " (if plugin.enabled { w.on } else { w.off })
                                @if let Some(reason) = shown["disabled_reason"].as_str() { br; span.muted { (reason) } }
                            }
                            td { (plugin.calls) }
                            td { (plugin.failures) }
                            td { (shown["last_error"].as_str().unwrap_or("")) }
                            td {
                                form method="post" action=(format!("/app/admin/plugins/{}/enabled", plugin.name)) {
                                    (csrf(viewer))
                                    @if plugin.enabled {
                                        button type="submit" name="enabled" value="false" { (w.switch_off) }
                                    } @else {
                                        button type="submit" name="enabled" value="true" { (w.switch_on) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section #upload {
            h2 { (w.upload_plugin) }
            (problems(viewer, refused))
            form method="post" action="/app/admin/plugins" enctype="multipart/form-data" {
                // First: the gate reads the token from the body's first part.
                (csrf(viewer))
                label for="component" { (w.component_file) }
                input #component type="file" name="component" accept=".wasm,application/wasm" required;
                label for="plugin-name" { (w.name) }
                input #plugin-name name="name" value=(upload.name) maxlength="63" required;
                label for="plugin-world" { (w.world) }
                select #plugin-world name="world" {
                    @for world in World::ALL {
                        option value=(world.as_str()) selected[upload.world == world.as_str()] { (world.as_str()) }
                    }
                }
                label { input type="checkbox" name="enabled" value="true" checked[upload.enabled]; " " (w.switch_on_when_uploaded) }
                p { button type="submit" { (w.upload) } }
            }
            p.muted { (w.plugin_upload_hint) }
        }
    };
    Ok(page(viewer, Section::Plugins, w.plugins, body))
}

/// `GET /app/admin/plugins`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let w = viewer.words();
    let done = match query.get("done").map(String::as_str) {
        Some("uploaded") => Some(w.plugin_uploaded),
        Some(_) => Some(w.saved),
        None => None,
    };
    Ok(render(&state, &viewer, done, &UploadForm::blank(), &[])
        .await?
        .into_response())
}

/// `POST /app/admin/plugins` (a multipart form): a new plugin, or the next
/// version of the one of that name (as `PUT /api/v1/plugins/{name}`),
/// admitted and stored by `plugins::upload::publish` as the API's are.
pub async fn upload(
    State(state): State<AppState>,
    viewer: Viewer,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let read = match multipart {
        Ok(multipart) => UploadForm::read(multipart)
            .await
            .map_err(|e| (e.status(), e.body_text())),
        Err(rejection) => Err((rejection.status(), rejection.body_text())),
    };
    let form = match read {
        Ok(form) => form,
        Err((status, problem)) => return sent_back(&state, &viewer, UploadForm::blank(), status, vec![problem]).await,
    };
    let store = state.store.tenant(viewer.tenant_id());
    let published = match &form.component {
        None => Err(invalid("/component", "is required")),
        Some(component) => {
            let upload = Upload {
                name: Some(form.name.as_str()).filter(|name| !name.is_empty()),
                world: &form.world,
                config: None,
                component,
            };
            let replace = exists(&store, &form.name).await?;
            publish(&state.plugins, &store, upload, replace).await
        }
    };
    match published {
        Ok(plugin) => {
            if !form.enabled {
                store.update_plugin(&plugin.name, Some(false), None).await?;
                state.plugins.forget(store.tenant_id());
            }
            Ok(Redirect::to("/app/admin/plugins?done=uploaded").into_response())
        }
        Err(error) => {
            let (status, problems) = refusal(error)?;
            sent_back(&state, &viewer, form, status, problems).await
        }
    }
}

/// Whether the tenant has a plugin of that name (which an upload replaces).
async fn exists(store: &TenantStore<'_>, name: &str) -> Result<bool, PageError> {
    match store.plugin(name).await {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// An upload refused as the API refuses it, for the page: each problem at
/// its pointer, or the API's message.
fn refusal(error: ApiError) -> Result<(StatusCode, Vec<String>), PageError> {
    match error {
        ApiError::Validation { errors, .. } => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            errors.iter().map(|p| format!("{} {}", p.pointer, p.message)).collect(),
        )),
        // The name taken or removed meanwhile; the compile queue full.
        error @ (ApiError::Conflict(_) | ApiError::NotFound(_) | ApiError::Unavailable) => {
            Ok((error.status(), vec![error.to_string()]))
        }
        other => Err(other.into()),
    }
}

/// The plugins page again, with the upload form as sent and its problems.
async fn sent_back(
    state: &AppState,
    viewer: &Viewer,
    form: UploadForm,
    status: StatusCode,
    problems: Vec<String>,
) -> Result<Response, PageError> {
    let page = render(state, viewer, None, &form, &problems).await?;
    Ok((status, page).into_response())
}

/// `GET /app/admin/plugins/{name}`: the plugin's recent calls.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let w = viewer.words();
    let store = state.store.tenant(viewer.tenant_id());
    let plugin = store.plugin(&name).await?;
    let sees = sees_plugin_output(&viewer.caller, store.integrators_see_personal_data().await?);
    let mut calls = store.plugin_calls(&plugin.id, CALLS_SHOWN).await?;
    if !sees {
        calls.iter_mut().for_each(withhold_call);
    }
    let body = html! {
        p { a href="/app/admin/plugins" { "← " (w.plugins) } }
        dl {
            dt { (w.world) } dd { (plugin.world.as_str()) }
            dt { (w.status) } dd { (plugin.status.as_str()) " · " (if plugin.enabled { w.on } else { w.off }) }
            dt { (w.calls) } dd { (plugin.calls) }
            dt { (w.failures) } dd { (plugin.failures) }
            dt { "SHA-256" } dd { code { (plugin.sha256) } }
        }
        h2 { (w.recent_calls) }
        table #calls {
            thead { tr { th { (w.created) } th { (w.status) } th { "ms" } th { (w.last_error) } } }
            tbody {
                @for call in &calls {
                    tr.call.failed[call["ok"] == false] {
                        td { (call["at"].as_str().and_then(Timestamp::parse_rfc3339).map(|at| local_time(&viewer, at)).unwrap_or_default()) }
                        td { (if call["ok"] == true { "ok" } else { w.failed }) }
                        td { (call["duration_us"].as_i64().unwrap_or(0) / 1000) }
                        td {
                            @if let Some(withheld) = call["withheld"].as_str() { span.muted { (withheld) } }
                            @else { (call["error"].as_str().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&viewer, Section::Plugins, &plugin.name, body).into_response())
}

/// `POST /app/admin/plugins/{name}/enabled`: switch it on or off.
pub async fn set_enabled(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let enabled = form.get("enabled").map(String::as_str) == Some("true");
    let store = state.store.tenant(viewer.tenant_id());
    store.update_plugin(&name, Some(enabled), None).await?;
    state.plugins.forget(store.tenant_id());
    Ok(Redirect::to("/app/admin/plugins?done=1").into_response())
}
