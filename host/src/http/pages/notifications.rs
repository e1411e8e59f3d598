//! `/app/notifications`: assignments, SLA warnings and breaches, hot leads
//! and workflow notices, newest first, unread ones marked.

use axum::extract::State;
use axum::response::Redirect;
use maud::{Markup, html};

use super::frame::{Section, csrf, local_time, page};
use super::{PageError, Viewer};
use crate::app::AppState;

pub async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Markup, PageError> {
    let w = viewer.words();
    let store = state.store.tenant(viewer.tenant_id());
    let notifications = store.notifications(viewer.user_id(), false, 100).await?;
    let body = html! {
        @if viewer.unread > 0 {
            form method="post" action="/app/notifications/read" {
                (csrf(&viewer))
                p { button type="submit" { (w.mark_all_read) } }
            }
        }
        section {
            @if notifications.is_empty() { p.muted { (w.nothing_here) } }
            ul.timeline #notifications {
                @for n in &notifications {
                    li data-kind=(n.kind.as_str()) data-unread=[n.read_at.is_none().then_some("true")] {
                        @if n.read_at.is_none() { strong { (n.message) } } @else { (n.message) }
                        " " span.muted { (local_time(&viewer, n.created_at)) }
                        @if let Some(lead) = &n.lead_id { " · " a href=(format!("/app/leads/{lead}")) { (w.details) } }
                    }
                }
            }
        }
    };
    Ok(page(&viewer, Section::Notifications, w.notifications, body))
}

/// `POST /app/notifications/read`.
pub async fn read_all(State(state): State<AppState>, viewer: Viewer) -> Result<Redirect, PageError> {
    let store = state.store.tenant(viewer.tenant_id());
    store.mark_notifications_read(viewer.user_id(), None).await?;
    Ok(Redirect::to("/app/notifications"))
}
