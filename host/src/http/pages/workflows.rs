//! `/app/admin/workflows`: the tenant's nurture workflows, how many leads
//! wait at each step and what each step's emails did; admins pause, resume
//! and archive them here (managers read).
//!
//! A workflow's page (`/app/admin/workflows/{slug}`) shows its definition as
//! JSON, its versions and its steps; an admin edits the JSON and publishes
//! it as the next version, or makes a new workflow
//! (`/app/admin/workflows/new`), through `nurture::publish` as the API's PUT
//! does: each problem shown at its pointer, the typed text kept.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::frame::{Section, csrf, local_time, notice, page};
use super::setup::{problems_at_pointers, typed_document};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::domain::{Role, WorkflowStatus};
use crate::error::FieldError;
use crate::i18n::Words;
use crate::nurture::publish::{PublishError, publish};
use crate::nurture::report::{StepReport, step_report};
use crate::setup::SetupError;
use crate::storage::{StoreError, StoreResult, TenantStore, WorkflowRecord, WorkflowVersionRecord};

/// How many of a workflow's versions its page lists, newest first.
const VERSIONS_SHOWN: i32 = 20;
/// Where the problems with a typed definition are listed.
const PROBLEMS_ID: &str = "workflow-problems";

fn workflow_path(slug: &str) -> String {
    format!("/app/admin/workflows/{slug}")
}

/// `GET /app/admin/workflows`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let w = viewer.words();
    let lang = viewer.lang;
    let store = state.store.tenant(viewer.tenant_id());
    let mut workflows = Vec::new();
    for record in store.workflows().await? {
        let steps = step_report(&store, &record).await?;
        workflows.push((record, steps));
    }
    let body = html! {
        @if let Some(status) = query.get("done") { (notice(&w.workflow_now.replace("{}", lang.term(status)))) }
        @if viewer.caller.role == Role::Admin {
            p { a #new-workflow href="/app/admin/workflows/new" { (w.new_workflow) } }
        }
        @if workflows.is_empty() { p.muted { (w.no_workflows) } }
        @for (workflow, steps) in &workflows {
            section.workflow id=(format!("workflow-{}", workflow.slug)) {
                h2 { a href=(workflow_path(&workflow.slug)) { (workflow.name) } " " span.muted { "(" (workflow.slug) ")" } }
                dl {
                    dt { (w.status) } dd.status { (lang.term(workflow.status.as_str())) }
                    dt { (w.version) } dd { (workflow.current_version) }
                }
                (step_table(w, steps))
                (status_buttons(&viewer, workflow, false))
            }
        }
    };
    Ok(page(&viewer, Section::Workflows, w.workflows, body).into_response())
}

/// How many leads wait at each step, and what each step's emails did.
fn step_table(w: &Words, steps: &[StepReport]) -> Markup {
    html! {
        table.steps {
            thead { tr {
                th { (w.step) } th { (w.waiting) }
                th { (w.emails_sent) } th { (w.emails_opened) } th { (w.emails_clicked) }
            } }
            tbody {
                @for step in steps {
                    tr {
                        td { (step.index + 1) ". " (step.id.as_deref().unwrap_or(w.finished)) }
                        td { (step.waiting) }
                        td { (step.emails.sent) " / " (step.emails.queued) }
                        td { (step.emails.opened) }
                        td { (step.emails.clicked) }
                    }
                }
            }
        }
    }
}

/// Pause or resume, and archive: an admin's, while the workflow is not
/// archived. `back_to_page`: the answer returns to the workflow's page.
fn status_buttons(viewer: &Viewer, workflow: &WorkflowRecord, back_to_page: bool) -> Markup {
    let w = viewer.words();
    html! {
        @if viewer.caller.role == Role::Admin && workflow.status != WorkflowStatus::Archived {
            form method="post" action=(format!("/app/admin/workflows/{}/status", workflow.slug)) {
                (csrf(viewer))
                @if back_to_page { input type="hidden" name="back" value="page"; }
                @if workflow.status == WorkflowStatus::Active {
                    button type="submit" name="status" value="paused" { (w.pause) }
                } @else {
                    button type="submit" name="status" value="active" { (w.resume) }
                }
                " "
                button type="submit" name="status" value="archived" title=(w.archive_confirm)
                    style="background:#b42318" { (w.archive) }
            }
        }
    }
}

/// `POST /app/admin/workflows/{slug}/status`: pause, resume or archive.
pub async fn set_status(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let status = form
        .get("status")
        .and_then(|s| WorkflowStatus::parse(s))
        .ok_or(PageError::NotFound)?;
    let store = state.store.tenant(viewer.tenant_id());
    store.set_workflow_status(&slug, status).await?;
    state.nurture.forget(store.tenant_id());
    let back = match form.get("back").map(String::as_str) {
        Some("page") => workflow_path(&slug),
        _ => "/app/admin/workflows".to_owned(),
    };
    Ok(Redirect::to(&format!("{back}?done={}", status.as_str())).into_response())
}

/// The definition's textarea: the editor's, or read only.
fn definition_area(w: &Words, text: &str, problems: &[FieldError], read_only: bool) -> Markup {
    let invalid = !problems.is_empty();
    html! {
        label for="document" { (w.definition) " (JSON)" }
        textarea #document name="document" rows="24" spellcheck="false" style="font-family:monospace"
            readonly[read_only]
            aria-invalid=[invalid.then_some("true")]
            aria-describedby=[invalid.then_some(PROBLEMS_ID)] { (text) }
    }
}

/// The workflow's latest versions, newest first.
async fn versions(store: &TenantStore<'_>, record: &WorkflowRecord) -> StoreResult<Vec<WorkflowVersionRecord>> {
    store.workflow_versions(&record.id, VERSIONS_SHOWN.into()).await
}

/// What was typed and is refused, with its problems.
struct Typed<'a> {
    text: &'a str,
    problems: &'a [FieldError],
}

/// A workflow's page: the current definition in the editor, or the text
/// typed with its problems.
async fn render(
    state: &AppState,
    viewer: &Viewer,
    record: &WorkflowRecord,
    typed: Option<Typed<'_>>,
    message: Option<String>,
) -> Result<Markup, PageError> {
    let w = viewer.words();
    let lang = viewer.lang;
    let store = state.store.tenant(viewer.tenant_id());
    let steps = step_report(&store, record).await?;
    let versions = versions(&store, record).await?;
    let current = versions
        .first()
        .map(|v| serde_json::to_string_pretty(&v.definition).unwrap_or_default())
        .unwrap_or_default();
    let (text, problems) = match &typed {
        Some(typed) => (typed.text, typed.problems),
        None => (current.as_str(), &[][..]),
    };
    // An archived workflow takes no new versions.
    let editable = viewer.caller.role == Role::Admin && record.status != WorkflowStatus::Archived;
    let body = html! {
        @if let Some(message) = &message { (notice(message)) }
        p { a href="/app/admin/workflows" { "← " (w.workflows) } }
        section #workflow {
            dl {
                dt { (w.workflow_slug) } dd { code { (record.slug) } }
                dt { (w.status) } dd.status #status { (lang.term(record.status.as_str())) }
                dt { (w.version) } dd #version { (record.current_version) }
            }
            (status_buttons(viewer, record, true))
        }
        section #steps {
            h2 { (w.steps) }
            (step_table(w, &steps))
        }
        section #definition {
            h2 { (w.definition) }
            (problems_at_pointers(viewer, PROBLEMS_ID, problems, serde_json::from_str::<Value>(text).ok().as_ref()))
            @if editable {
                form method="post" action=(workflow_path(&record.slug)) novalidate {
                    (csrf(viewer))
                    (definition_area(w, text, problems, false))
                    p { button type="submit" { (w.publish_version) } }
                }
            } @else {
                (definition_area(w, text, problems, true))
            }
        }
        section {
            h2 { (w.versions) }
            table #versions {
                thead { tr { th { (w.version) } th { (w.created) } th { (w.name) } } }
                tbody {
                    @for version in &versions {
                        tr data-version=(version.version) {
                            td { (version.version) }
                            td { (local_time(viewer, version.created_at)) }
                            td { (version.definition["name"].as_str().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(viewer, Section::Workflows, &record.name, body))
}

/// `GET /app/admin/workflows/{slug}`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let w = viewer.words();
    let record = state.store.tenant(viewer.tenant_id()).workflow(&slug).await?;
    let published = query.get("published").and_then(|v| v.parse::<i32>().ok());
    let message = match (published, query.get("done")) {
        (Some(version), _) => Some(w.workflow_published.replace("{}", &version.to_string())),
        (None, Some(status)) => Some(w.workflow_now.replace("{}", viewer.lang.term(status))),
        (None, None) => None,
    };
    Ok(render(&state, &viewer, &record, None, message).await?.into_response())
}

/// What became of a typed definition.
enum Publishing {
    Published(i32),
    BadSlug(String),
    Refused(Vec<FieldError>),
}

/// The typed text read as JSON and published as the API's PUT publishes it.
async fn publish_typed(state: &AppState, viewer: &Viewer, slug: &str, text: &str) -> Result<Publishing, PageError> {
    let definition = match typed_document(viewer, text) {
        Ok(definition) => definition,
        Err(SetupError::Invalid { problems, .. }) => return Ok(Publishing::Refused(problems)),
        Err(SetupError::Store(e)) => return Err(e.into()),
    };
    let store = state.store.tenant(viewer.tenant_id());
    Ok(match publish(&store, &state.nurture, slug, definition).await {
        Ok(published) => Publishing::Published(published.record.current_version),
        Err(PublishError::Slug(message)) => Publishing::BadSlug(message),
        Err(PublishError::Invalid(problems)) => Publishing::Refused(problems),
        // Archived meanwhile, or made a moment ago by another request.
        Err(PublishError::Store(StoreError::Conflict(message))) => {
            Publishing::Refused(vec![FieldError::new("", message)])
        }
        Err(PublishError::Store(e)) => return Err(e.into()),
    })
}

/// `POST /app/admin/workflows/{slug}`: the typed definition published as the
/// workflow's next version, or the text back with each problem at its
/// pointer (422).
pub async fn publish_version(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    // Only an existing workflow: a new one is made on its own page.
    let record = state.store.tenant(viewer.tenant_id()).workflow(&slug).await?;
    let text = form.get("document").cloned().unwrap_or_default();
    let problems = match publish_typed(&state, &viewer, &slug, &text).await? {
        Publishing::Published(version) => {
            return Ok(Redirect::to(&format!("{}?published={version}", workflow_path(&slug))).into_response());
        }
        Publishing::BadSlug(message) => vec![FieldError::new("", message)],
        Publishing::Refused(problems) => problems,
    };
    let typed = Typed {
        text: &text,
        problems: &problems,
    };
    let page = render(&state, &viewer, &record, Some(typed), None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// The new workflow's form: its slug and its definition.
fn render_new(viewer: &Viewer, slug: &str, slug_problem: Option<&str>, typed: Typed<'_>) -> Markup {
    let w = viewer.words();
    let body = html! {
        p { a href="/app/admin/workflows" { "← " (w.workflows) } }
        (problems_at_pointers(viewer, PROBLEMS_ID, typed.problems, serde_json::from_str::<Value>(typed.text).ok().as_ref()))
        form method="post" action="/app/admin/workflows/new" novalidate {
            (csrf(viewer))
            label for="slug" { (w.workflow_slug) }
            input #slug name="slug" value=(slug) required maxlength="63" pattern="[a-z0-9]([a-z0-9-]*[a-z0-9])?"
                aria-invalid=[slug_problem.is_some().then_some("true")]
                aria-describedby=[slug_problem.is_some().then_some("slug-problem")];
            @if let Some(problem) = slug_problem { p.error #slug-problem role="alert" { (problem) } }
            p.muted { (w.slug_hint) }
            (definition_area(w, typed.text, typed.problems, false))
            p { button type="submit" { (w.create) } }
        }
    };
    page(viewer, Section::Workflows, w.new_workflow, body)
}

/// `GET /app/admin/workflows/new`: a starting point to fill in.
pub async fn new_form(viewer: Viewer) -> Response {
    let starting_point = json!({
        "name": "",
        "trigger": {"on": "manual"},
        "steps": [
            {"id": "pause", "kind": "wait", "for": "3d"},
            {"id": "handoff", "kind": "hand_to_sales"}
        ]
    });
    let text = serde_json::to_string_pretty(&starting_point).unwrap_or_default();
    let typed = Typed {
        text: &text,
        problems: &[],
    };
    render_new(&viewer, "", None, typed).into_response()
}

/// Whether the page cannot take `slug` for a new workflow: a workflow has
/// it, or it is this page's own path.
async fn slug_taken(store: &TenantStore<'_>, slug: &str) -> Result<bool, PageError> {
    match store.workflow(slug).await {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound) => Ok(slug == "new"),
        Err(e) => Err(e.into()),
    }
}

/// `POST /app/admin/workflows/new`: the workflow made at version 1, or the
/// form back with what is wrong (422). An existing slug is refused here,
/// where the API's PUT would publish its next version.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let slug = form.get("slug").map(|s| s.trim()).unwrap_or("");
    let text = form.get("document").cloned().unwrap_or_default();
    let store = state.store.tenant(viewer.tenant_id());
    let outcome = if slug_taken(&store, slug).await? {
        Publishing::BadSlug(viewer.words().slug_taken.to_owned())
    } else {
        publish_typed(&state, &viewer, slug, &text).await?
    };
    let (slug_problem, problems) = match outcome {
        Publishing::Published(version) => {
            return Ok(Redirect::to(&format!("{}?published={version}", workflow_path(slug))).into_response());
        }
        Publishing::BadSlug(message) => (Some(message), Vec::new()),
        Publishing::Refused(problems) => (None, problems),
    };
    let typed = Typed {
        text: &text,
        problems: &problems,
    };
    let page = render_new(&viewer, slug, slug_problem.as_deref(), typed);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
