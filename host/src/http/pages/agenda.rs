//! `/app/agenda`: a rep's day. Overdue leads first, then those due before
//! midnight in the rep's time zone, then leads newly given and not yet
//! touched, and the tasks; each deadline as a countdown.

use axum::extract::State;
use maud::{Markup, html};

use super::frame::{Section, countdown, local_time, page};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::clock::Timestamp;
use crate::storage::{AgendaLead, TaskRecord};

/// The next midnight in the viewer's zone.
fn end_of_day(viewer: &Viewer, now: Timestamp) -> Timestamp {
    let next = jiff::Timestamp::from_microsecond(now.micros())
        .ok()
        .map(|ts| ts.to_zoned(viewer.zone.clone()))
        .and_then(|zoned| zoned.tomorrow().ok())
        .and_then(|tomorrow| tomorrow.start_of_day().ok());
    match next {
        Some(midnight) => Timestamp(midnight.timestamp().as_microsecond()),
        None => now.plus(std::time::Duration::from_secs(86_400)),
    }
}

pub async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Markup, PageError> {
    let store = state.store.tenant(viewer.tenant_id());
    let now = Timestamp::now();
    let agenda = store.agenda(viewer.user_id(), now, end_of_day(&viewer, now)).await?;
    let w = viewer.words();
    let body = html! {
        section #overdue {
            h2 { (w.overdue) " (" (agenda.overdue.len() + agenda.overdue_tasks.len()) ")" }
            (lead_table(&viewer, &agenda.overdue, now))
            (task_list(&viewer, &agenda.overdue_tasks, now))
        }
        section #due-today {
            h2 { (w.due_today) " (" (agenda.due_today.len() + agenda.tasks_due_today.len()) ")" }
            (lead_table(&viewer, &agenda.due_today, now))
            (task_list(&viewer, &agenda.tasks_due_today, now))
        }
        section #new-untouched {
            h2 { (w.new_untouched) " (" (agenda.newly_assigned.len()) ")" }
            (lead_table(&viewer, &agenda.newly_assigned, now))
        }
    };
    Ok(page(&viewer, Section::Agenda, w.agenda, body))
}

fn lead_table(viewer: &Viewer, leads: &[AgendaLead], now: Timestamp) -> Markup {
    let w = viewer.words();
    html! {
        @if leads.is_empty() {
            p.muted { (w.nothing_here) }
        } @else {
            table {
                thead { tr { th { (w.name) } th { (w.company) } th { (w.tier) } th { (w.score) } th { (w.sla_due) } } }
                tbody {
                    @for lead in leads {
                        tr.lead {
                            td { a href=(format!("/app/leads/{}", lead.id)) { (lead.name.as_deref().unwrap_or("—")) } }
                            td { (lead.company.as_deref().unwrap_or("")) }
                            td class=(format!("tier-{}", lead.tier.as_str())) { (viewer.lang.term(lead.tier.as_str())) }
                            td { (lead.score) }
                            td {
                                @if let Some(due) = lead.follow_up_due_at { (countdown(viewer, due, now)) }
                                @else if let Some(at) = lead.assigned_at { span.muted { (local_time(viewer, at)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn task_list(viewer: &Viewer, tasks: &[TaskRecord], now: Timestamp) -> Markup {
    let w = viewer.words();
    html! {
        @if !tasks.is_empty() {
            h2 { (w.tasks) }
            ul {
                @for task in tasks {
                    li {
                        (task.title) " · " (countdown(viewer, task.due_at, now))
                        @if let Some(lead) = &task.lead_id { " · " a href=(format!("/app/leads/{lead}")) { (w.details) } }
                    }
                }
            }
        }
    }
}
