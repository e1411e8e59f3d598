//! `/app/admin/plugins`: the tenant's plugins for admins and integrators:
//! status, calls and failures, why one was switched off, its recent calls
//! with their errors (withheld from integrators, as over the API, unless the
//! tenant granted them personal data); switching one on or off. Uploads go
//! through the API or the CLI (`leadhost plugin upload`).

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde_json::{Value, json};

use super::frame::{Section, csrf, local_time, notice, page};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::auth::personal_data::{sees_plugin_output, withhold_call, withhold_plugin};
use crate::clock::Timestamp;
use crate::storage::PluginRecord;

/// How many recent calls a plugin's page lists.
const CALLS_SHOWN: i64 = 20;

/// `GET /app/admin/plugins`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
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
        @if query.contains_key("done") { (notice(w.saved)) }
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
                                    (csrf(&viewer))
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
        p.muted { (w.plugin_upload_hint) }
    };
    Ok(page(&viewer, Section::Plugins, w.plugins, body).into_response())
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
