//! `/app/admin/workflows`: the tenant's nurture workflows, how many leads
//! wait at each step and what each step's emails did; admins pause, resume
//! and archive them here (managers read).

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::frame::{Section, csrf, notice, page};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::domain::{Role, WorkflowStatus};
use crate::nurture::report::step_report;

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
    let may_change = viewer.caller.role == Role::Admin;
    let body = html! {
        @if let Some(status) = query.get("done") { (notice(&w.workflow_now.replace("{}", lang.term(status)))) }
        @if workflows.is_empty() { p.muted { (w.no_workflows) } }
        @for (workflow, steps) in &workflows {
            section.workflow id=(format!("workflow-{}", workflow.slug)) {
                h2 { (workflow.name) " " span.muted { "(" (workflow.slug) ")" } }
                dl {
                    dt { (w.status) } dd.status { (lang.term(workflow.status.as_str())) }
                    dt { (w.version) } dd { (workflow.current_version) }
                }
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
                @if may_change && workflow.status != WorkflowStatus::Archived {
                    form method="post" action=(format!("/app/admin/workflows/{}/status", workflow.slug)) {
                        (csrf(&viewer))
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
    };
    Ok(page(&viewer, Section::Workflows, w.workflows, body).into_response())
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
    Ok(Redirect::to(&format!("/app/admin/workflows?done={}", status.as_str())).into_response())
}
