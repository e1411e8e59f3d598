//! `/app/admin/teams`: an admin edits each team as JSON (its manager,
//! strategy and members with their weights) or adds one, through
//! `setup::teams::save_team` as the API does; problems are shown at their
//! pointers, and every save is logged with who made it.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::frame::{Section, csrf, local_time, notice, page};
use super::setup::{problems_at_pointers, typed_document};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::error::FieldError;
use crate::setup::SetupError;
use crate::setup::teams::{document, save_team};
use crate::storage::StoreError;

const CHANGES_SHOWN: i64 = 10;

/// A team's editor, the new team's (`None`), with what was typed and its problems.
struct Refused<'a> {
    team: Option<&'a str>,
    text: &'a str,
    problems: &'a [FieldError],
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    done: bool,
    refused: Option<Refused<'_>>,
) -> Result<Markup, PageError> {
    let w = viewer.words();
    let store = state.store.tenant(viewer.tenant_id());
    let users = store.users().await?;
    let email_of = |id: &str| users.iter().find(|u| u.id == id).map(|u| u.email.as_str());
    let changes = store.setting_changes("teams", CHANGES_SHOWN).await?;
    let mut editors: Vec<(Option<String>, String)> = store
        .teams()
        .await?
        .iter()
        .map(|team| {
            let doc = document(team, team.manager_id.as_deref().and_then(email_of));
            (
                Some(team.name.clone()),
                serde_json::to_string_pretty(&doc).unwrap_or_default(),
            )
        })
        .collect();
    let example =
        json!({"name": "", "manager": null, "strategy": "round_robin", "members": [{"email": "", "weight": 1}]});
    editors.push((None, serde_json::to_string_pretty(&example).unwrap_or_default()));
    let body = html! {
        @if done { (notice(w.setup_saved)) }
        @for (i, (name, stored)) in editors.iter().enumerate() {
            @let this = refused.as_ref().filter(|r| r.team == name.as_deref());
            @let text = this.map(|r| r.text).unwrap_or(stored);
            @let problems: &[FieldError] = this.map(|r| r.problems).unwrap_or(&[]);
            @let slug = if name.is_some() { format!("team-{i}") } else { "team-new".to_owned() };
            section.team id=(slug) data-team=[name.as_deref()] {
                h2 { (name.as_deref().unwrap_or(w.add_team)) }
                (problems_at_pointers(viewer, &format!("{slug}-problems"), problems, serde_json::from_str::<Value>(text).ok().as_ref()))
                form method="post" action="/app/admin/teams" novalidate {
                    (csrf(viewer))
                    // The team's name rides in the form, not the path: names
                    // hold spaces, slashes and Chinese.
                    @if let Some(name) = name { input type="hidden" name="team" value=(name); }
                    textarea name="document" rows="10" spellcheck="false" style="font-family:monospace"
                        aria-label=(name.as_deref().unwrap_or(w.add_team))
                        aria-invalid=[(!problems.is_empty()).then_some("true")] { (text) }
                    p { button type="submit" { (w.save) } }
                }
            }
        }
        section {
            h2 { (w.recent_changes) }
            @if changes.is_empty() { p.muted { (w.no_changes) } }
            @else {
                table #changes {
                    thead { tr { th { (w.created) } th { (w.team) } th { (w.changed_by) } } }
                    tbody {
                        @for change in &changes {
                            tr {
                                td { (local_time(viewer, change.changed_at)) }
                                td { (change.content["name"].as_str().unwrap_or("")) }
                                td { (change.changed_by_name.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(viewer, Section::Teams, w.teams, body))
}

/// `GET /app/admin/teams`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    Ok(render(&state, &viewer, query.contains_key("done"), None)
        .await?
        .into_response())
}

/// `POST /app/admin/teams`: the team named in `team` changed, or without
/// it a new team.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let (state, viewer) = (&state, &viewer);
    let team = form.get("team").map(String::as_str).filter(|t| !t.is_empty());
    let text = form.get("document").cloned().unwrap_or_default();
    let store = state.store.tenant(viewer.tenant_id());
    let outcome = match typed_document(viewer, &text) {
        Ok(body) => save_team(&store, Some(viewer.user_id()), body, team).await,
        Err(not_json) => Err(not_json),
    };
    let problems = match outcome {
        Ok(_) => return Ok(Redirect::to("/app/admin/teams?done=1").into_response()),
        Err(SetupError::Invalid { problems, .. }) => problems,
        // A new team under a taken name.
        Err(SetupError::Store(StoreError::Conflict(message))) => vec![FieldError::new("/name", message)],
        Err(SetupError::Store(e)) => return Err(e.into()),
    };
    let refused = Refused {
        team,
        text: &text,
        problems: &problems,
    };
    let page = render(state, viewer, false, Some(refused)).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
