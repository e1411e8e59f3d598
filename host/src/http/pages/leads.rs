//! `/app/leads`: a rep's own leads (a manager's: their teams'; an admin's:
//! all), sorted and filtered; and `/app/leads/{id}`: one lead with its whole
//! timeline, where the rep logs an activity and moves the stage.

use std::collections::{BTreeMap, HashMap};

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::Value;

use super::frame::{self, Section, countdown, csrf, local_time, page, parse_input_time};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::clock::Timestamp;
use crate::domain::{ActivityKind, Role, Stage, Tag, Tier};
use crate::followup::activity::{ActivityInput, LogActivity};
use crate::leads::StageRequest;
use crate::leads::deal::{deal_for, records_deal};
use crate::leads::tags::{AddTag, RemoveTag};
use crate::storage::{LeadFilter, LeadOrder, LeadRecord, StoreError, TenantStore};

const PAGE_SIZE: u32 = 50;

/// `GET /app/leads?sort=&stage=&tier=&tag=&q=&after=`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Markup, PageError> {
    let w = viewer.words();
    let given = |key: &str| query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let order = match given("sort") {
        Some("score") => LeadOrder::Score,
        Some("tier") => LeadOrder::Tier,
        Some("newest") => LeadOrder::Newest,
        _ => LeadOrder::FollowUpDue,
    };
    let filter = LeadFilter {
        stage: given("stage").and_then(Stage::parse),
        tier: given("tier").and_then(Tier::parse),
        tag: given("tag").map(str::to_owned),
        text: given("q").map(str::to_owned),
        owner_id: (viewer.caller.role == Role::Rep).then(|| viewer.user_id().to_owned()),
        // A manager's list is their teams' leads; the pool has its own page.
        owned_only: viewer.caller.role == Role::Manager,
        order,
        after: given("after").map(str::to_owned),
        limit: PAGE_SIZE,
        ..LeadFilter::default()
    };
    let store = state.store.tenant(viewer.tenant_id());
    let found = match store.leads(&filter, &viewer.caller.lead_visibility()).await {
        Err(StoreError::Invalid(_)) => return Err(PageError::NotFound),
        other => other?,
    };
    let owners = owner_names(&store).await?;
    let now = Timestamp::now();
    let sort_name = match order {
        LeadOrder::Score => "score",
        LeadOrder::Tier => "tier",
        LeadOrder::Newest => "newest",
        LeadOrder::FollowUpDue => "follow_up_due",
    };
    let next_link = found.next.as_ref().map(|next| {
        let mut params: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "after")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        params.push(("after".into(), next.clone()));
        let encoded: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("/app/leads?{encoded}")
    });
    let title = match viewer.caller.role {
        Role::Rep => w.my_leads,
        Role::Manager => w.team_leads,
        _ => w.all_leads,
    };
    let body = html! {
        section {
            form.filters method="get" action="/app/leads" role="search" {
                div {
                    label for="q" { (w.search) }
                    input #q type="search" name="q" value=(given("q").unwrap_or("")) placeholder=(w.search_hint);
                }
                div {
                    label for="stage" { (w.stage) }
                    select #stage name="stage" {
                        option value="" { (w.any_stage) }
                        @for stage in Stage::ALL { option value=(stage.as_str()) selected[filter.stage == Some(*stage)] { (viewer.lang.term(stage.as_str())) } }
                    }
                }
                div {
                    label for="tier" { (w.tier) }
                    select #tier name="tier" {
                        option value="" { (w.any_tier) }
                        @for tier in [Tier::Hot, Tier::Warm, Tier::Cold] { option value=(tier.as_str()) selected[filter.tier == Some(tier)] { (viewer.lang.term(tier.as_str())) } }
                    }
                }
                div {
                    label for="tag" { (w.tags) }
                    input #tag name="tag" value=(given("tag").unwrap_or("")) size="10";
                }
                div {
                    label for="sort" { (w.sort_by) }
                    select #sort name="sort" {
                        @for (value, label) in [("follow_up_due", w.sla_due), ("score", w.score), ("tier", w.tier), ("newest", w.created)] {
                            option value=(value) selected[sort_name == value] { (label) }
                        }
                    }
                }
                div { button type="submit" { (w.apply) } }
            }
        }
        section {
            (lead_rows(&viewer, &found.leads, &owners, now))
            @if let Some(next) = next_link { p { a href=(next) rel="next" { (w.next_page) " →" } } }
        }
    };
    Ok(page(&viewer, Section::Leads, title, body))
}

/// Users' names by id (a tenant has tens of users, not thousands).
pub(super) async fn owner_names(store: &TenantStore<'_>) -> Result<HashMap<String, String>, PageError> {
    Ok(store.users().await?.into_iter().map(|u| (u.id, u.name)).collect())
}

/// The leads table the lead list and the pool share.
pub(super) fn lead_rows(
    viewer: &Viewer,
    leads: &[LeadRecord],
    owners: &HashMap<String, String>,
    now: Timestamp,
) -> Markup {
    let w = viewer.words();
    html! {
        @if leads.is_empty() {
            p.muted { (w.nothing_here) }
        } @else {
            table #leads {
                thead { tr {
                    th { (w.name) } th { (w.company) } th { (w.tier) } th { (w.score) }
                    th { (w.sla_due) } th { (w.stage) } th { (w.owner) } th { (w.created) }
                } }
                tbody {
                    @for lead in leads {
                        tr.lead data-id=(lead.id) {
                            td { a href=(format!("/app/leads/{}", lead.id)) { (lead.name.as_deref().or(lead.email.as_deref()).unwrap_or("—")) } }
                            td { (lead.company.as_deref().unwrap_or("")) }
                            td class=(format!("tier-{}", lead.tier.as_str())) { (viewer.lang.term(lead.tier.as_str())) }
                            td { (lead.score) }
                            td { @if let Some(due) = lead.follow_up_due_at { (countdown(viewer, due, now)) } }
                            td { (viewer.lang.term(lead.stage.as_str())) }
                            td { (owner_label(viewer, lead, owners)) }
                            td.muted { (local_time(viewer, lead.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

fn owner_label(viewer: &Viewer, lead: &LeadRecord, owners: &HashMap<String, String>) -> String {
    let w = viewer.words();
    match &lead.owner_id {
        Some(id) => owners.get(id).cloned().unwrap_or_else(|| id.clone()),
        None if lead.held_at.is_some() => w.held.to_owned(),
        None => w.pool.to_owned(),
    }
}

/// A lead the viewer may see (another's is a 404, as over the API).
async fn visible_lead(store: &TenantStore<'_>, viewer: &Viewer, id: &str) -> Result<LeadRecord, PageError> {
    Ok(store.lead(id, &viewer.caller.lead_visibility()).await?)
}

/// What the lead page shows besides the lead: a message after a change, or
/// the problems of a form sent back.
#[derive(Default)]
struct LeadPageState {
    done: Option<&'static str>,
    problems: Vec<String>,
    activity: BTreeMap<String, String>,
}

/// `GET /app/leads/{id}[?done=activity|stage|claimed]`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Markup, PageError> {
    let w = viewer.words();
    let done = match query.get("done").map(String::as_str) {
        Some("activity") => Some(w.activity_saved),
        Some("stage") => Some(w.stage_changed),
        Some("claimed") => Some(w.claimed),
        Some("tag") => Some(w.tag_added),
        Some("task") => Some(w.task_added),
        _ => None,
    };
    let page_state = LeadPageState {
        done,
        ..LeadPageState::default()
    };
    lead_page(&state, &viewer, &id, page_state).await
}

async fn lead_page(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    page_state: LeadPageState,
) -> Result<Markup, PageError> {
    let w = viewer.words();
    let store = state.store.tenant(viewer.tenant_id());
    let lead = visible_lead(&store, viewer, id).await?;
    let owners = owner_names(&store).await?;
    let timeline = timeline(viewer, &store, &lead, &owners).await?;
    let tags = store.lead_tags(&lead.id).await?;
    let tasks = store.open_tasks_of_lead(&lead.id).await?;
    let now = Timestamp::now();
    let title = lead
        .name
        .clone()
        .or(lead.email.clone())
        .unwrap_or_else(|| lead.id.clone());
    let can_claim = lead.owner_id.is_none() && lead.held_at.is_none() && viewer.caller.role == Role::Rep;
    let body = html! {
        @if let Some(done) = page_state.done { (frame::notice(done)) }
        (frame::problems(viewer, &page_state.problems))
        div.grid {
            div {
                section #timeline {
                    h2 { (w.timeline) }
                    ol.timeline reversed {
                        @for item in timeline.iter().rev() {
                            li data-kind=(item.kind) {
                                span.what { (item.kind) } " " span.muted { (local_time(viewer, item.at)) }
                                @if !item.detail.is_empty() { div { (item.detail) } }
                            }
                        }
                    }
                }
            }
            div {
                section #lead-facts {
                    dl {
                        @for (label, value) in [(w.email, &lead.email), (w.phone, &lead.phone), (w.company, &lead.company)] {
                            @if let Some(value) = value { dt { (label) } dd { (value) } }
                        }
                        dt { (w.score) } dd { (lead.score) " · " span class=(format!("tier-{}", lead.tier.as_str())) { (viewer.lang.term(lead.tier.as_str())) } }
                        dt { (w.stage) } dd #stage-now data-stage=(lead.stage.as_str()) { (viewer.lang.term(lead.stage.as_str())) }
                        dt { (w.owner) } dd #owner { (owner_label(viewer, &lead, &owners)) }
                        dt { (w.source) } dd { (lead.source) }
                        @if let Some(due) = lead.follow_up_due_at { dt { (w.sla_due) } dd { (countdown(viewer, due, now)) } }
                        @if let Some(value) = lead.deal_value {
                            dt { (w.deal_value) } dd #deal { (format!("{:.2}", value as f64 / 100.0)) " · " (lead.expected_close_on.as_deref().unwrap_or("")) }
                        }
                    }
                    @if can_claim {
                        form method="post" action=(format!("/app/leads/{}/claim", lead.id)) {
                            (csrf(viewer))
                            p { button #claim type="submit" { (w.claim) } }
                        }
                    }
                }
                section #tags-and-tasks {
                    h2 { (w.tags) }
                    ul #tags {
                        @for tag in &tags {
                            li {
                                (tag) " "
                                form method="post" action=(format!("/app/leads/{}/tags/remove", lead.id)) style="display:inline" {
                                    (csrf(viewer))
                                    input type="hidden" name="tag" value=(tag);
                                    button type="submit" aria-label=(format!("{} {tag}", w.remove)) { "×" }
                                }
                            }
                        }
                    }
                    form method="post" action=(format!("/app/leads/{}/tags", lead.id)) novalidate {
                        (csrf(viewer))
                        label for="new-tag" { (w.add_tag) }
                        input #new-tag name="tag" maxlength="64";
                        " " button type="submit" { (w.add_tag) }
                    }
                    h2 { (w.tasks) }
                    ul #tasks {
                        @for task in &tasks { li { (task.title) " · " (countdown(viewer, task.due_at, now)) } }
                    }
                    form method="post" action=(format!("/app/leads/{}/tasks", lead.id)) novalidate {
                        (csrf(viewer))
                        label for="task-title" { (w.task_title) }
                        input #task-title name="title" maxlength="200";
                        label for="task-due" { (w.due) }
                        input #task-due type="datetime-local" name="due_at";
                        p { button type="submit" { (w.add_task) } }
                    }
                }
                section #log-activity {
                    h2 { (w.log_activity) }
                    form method="post" action=(format!("/app/leads/{}/activities", lead.id)) novalidate {
                        (csrf(viewer))
                        label for="kind" { (w.kind) }
                        select #kind name="kind" {
                            @for kind in ActivityKind::ALL {
                                option value=(kind.as_str()) selected[page_state.activity.get("kind").map(String::as_str) == Some(kind.as_str())] { (viewer.lang.term(kind.as_str())) }
                            }
                        }
                        label for="outcome" { (w.outcome) }
                        input #outcome name="outcome" value=(page_state.activity.get("outcome").map(String::as_str).unwrap_or(""));
                        label for="note" { (w.note) }
                        textarea #note name="note" { (page_state.activity.get("note").map(String::as_str).unwrap_or("")) }
                        label for="next_follow_up_at" { (w.next_follow_up) }
                        input #next_follow_up_at type="datetime-local" name="next_follow_up_at"
                            value=(page_state.activity.get("next_follow_up_at").map(String::as_str).unwrap_or(""));
                        p { button type="submit" { (w.save) } }
                    }
                }
                @if !lead.stage.next_by_hand().is_empty() {
                    section #change-stage {
                        h2 { (w.change_stage) }
                        form method="post" action=(format!("/app/leads/{}/stage", lead.id)) novalidate {
                            (csrf(viewer))
                            label for="to-stage" { (w.stage) }
                            select #to-stage name="stage" {
                                @for stage in lead.stage.next_by_hand() { option value=(stage.as_str()) { (viewer.lang.term(stage.as_str())) } }
                            }
                            label for="reason" { (w.reason) }
                            input #reason name="reason";
                            @if lead.stage.next_by_hand().iter().any(|s| records_deal(*s)) {
                                label for="deal_value" { (w.deal_value) }
                                input #deal_value name="deal_value" inputmode="decimal";
                                label for="expected_close" { (w.expected_close) }
                                input #expected_close type="date" name="expected_close";
                            }
                            p { button type="submit" { (w.save) } }
                        }
                    }
                }
            }
        }
    };
    Ok(page(viewer, Section::Leads, &title, body))
}

/// One entry of a lead's timeline.
struct TimelineItem {
    at: Timestamp,
    kind: String,
    detail: String,
}

/// Everything that happened to a lead, oldest first: touches, the
/// timeline's events (score changes with their reasons, assignments,
/// emails, plugin failures, ...), behaviour events, stages and activities.
async fn timeline(
    viewer: &Viewer,
    store: &TenantStore<'_>,
    lead: &LeadRecord,
    owners: &HashMap<String, String>,
) -> Result<Vec<TimelineItem>, PageError> {
    let mut items = Vec::new();
    for touch in store.touches(&lead.id).await? {
        items.push(TimelineItem {
            at: touch.created_at,
            kind: format!("touch · {}", touch.channel),
            detail: [Some(touch.form), Some(touch.source), touch.utm_campaign, touch.note]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
        });
    }
    for event in store.lead_events(&lead.id).await? {
        items.push(TimelineItem {
            at: event.at,
            kind: event.kind.replace('.', " · "),
            detail: summary(&event.detail, owners),
        });
    }
    for event in store.behaviour_events(&lead.id).await? {
        items.push(TimelineItem {
            at: event.occurred_at,
            kind: format!("event · {}", event.kind),
            detail: event.url.unwrap_or_default(),
        });
    }
    for stage in store.lead_stages(&lead.id).await? {
        items.push(TimelineItem {
            at: stage.entered_at,
            kind: format!("stage · {}", stage.stage.as_str()),
            detail: [stage.from.map(|s| format!("{} →", s.as_str())), Some(stage.reason)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        });
    }
    for activity in store.activities(&lead.id).await? {
        let who = owners.get(&activity.user_id).cloned().unwrap_or(activity.user_id);
        let next = activity
            .next_follow_up_at
            .map(|at| format!("{} → {}", viewer.words().next_follow_up, local_time(viewer, at)));
        items.push(TimelineItem {
            at: activity.created_at,
            kind: format!("activity · {}", activity.kind.as_str()),
            detail: [Some(who), activity.outcome, activity.note, next]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
        });
    }
    items.sort_by_key(|item| item.at);
    Ok(items)
}

/// An event's detail in a line: its plain values, users by name.
fn summary(detail: &Value, owners: &HashMap<String, String>) -> String {
    let Value::Object(map) = detail else {
        return String::new();
    };
    map.iter()
        .filter_map(|(key, value)| {
            let text = match value {
                Value::String(s) => owners.get(s).cloned().unwrap_or_else(|| s.clone()),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(items) if !items.is_empty() && items.len() <= 5 => items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => s.clone(),
                        Value::Object(o) => o
                            .get("reason")
                            .or_else(|| o.get("rule"))
                            .map(|r| r.as_str().map(str::to_owned).unwrap_or_else(|| r.to_string()))
                            .unwrap_or_default(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => return None,
            };
            Some(format!("{key}: {text}"))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `POST /app/leads/{id}/activities`: the activity, then back to the lead
/// (or the form again with its problems).
pub async fn log_activity(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let store = state.store.tenant(viewer.tenant_id());
    let lead = visible_lead(&store, &viewer, &id).await?;
    let field = |key: &str| form.get(key).cloned();
    let next = match field("next_follow_up_at").filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(raw) => parse_input_time(&viewer, &raw)
            .map(Some)
            .ok_or_else(|| "must be a date and time".to_owned()),
    };
    let input = ActivityInput {
        kind: field("kind").unwrap_or_default(),
        outcome: field("outcome"),
        note: field("note"),
        next_follow_up_at: next,
    };
    let activity = match input.check(Timestamp::now()) {
        Ok(activity) => activity,
        Err(problems) => {
            let page_state = LeadPageState {
                problems: problems
                    .iter()
                    .map(|p| format!("{} {}", p.pointer, p.message))
                    .collect(),
                activity: form,
                ..LeadPageState::default()
            };
            let markup = lead_page(&state, &viewer, &id, page_state).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response());
        }
    };
    store
        .run(LogActivity {
            lead_id: lead.id.clone(),
            user_id: viewer.user_id().to_owned(),
            activity,
            workflows: crate::nurture::active_workflows(&state.nurture.active, &store).await?,
        })
        .await?;
    Ok(Redirect::to(&format!("/app/leads/{}?done=activity", lead.id)).into_response())
}

/// `POST /app/leads/{id}/stage`.
pub async fn change_stage(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let store = state.store.tenant(viewer.tenant_id());
    let lead = visible_lead(&store, &viewer, &id).await?;
    let to = form.get("stage").and_then(|s| Stage::parse(s));
    let reason = form
        .get("reason")
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let field = |key: &str| form.get(key).map(String::as_str);
    let problems = match to {
        None => vec!["/stage: not a stage".to_owned()],
        Some(to) => {
            let (deal, deal_problems) = match deal_for(to, field("deal_value"), field("expected_close"), &viewer.zone) {
                Ok(deal) => (deal, Vec::new()),
                Err(problems) => (None, problems),
            };
            let change = StageRequest {
                lead_id: lead.id.clone(),
                from: lead.stage,
                to,
                reason,
                by: viewer.user_id().to_owned(),
                deal,
                workflows: crate::nurture::active_workflows(&state.nurture.active, &store).await?,
            };
            let problems = change.problems_with(deal_problems);
            if problems.is_empty() {
                store.run(change).await?;
                return Ok(Redirect::to(&format!("/app/leads/{}?done=stage", lead.id)).into_response());
            }
            problems
                .iter()
                .map(|p| format!("{} {}", p.pointer, p.message))
                .collect()
        }
    };
    sent_back(&state, &viewer, &id, problems).await
}

/// The lead's page again with `problems` (a 422), for a form sent back.
async fn sent_back(state: &AppState, viewer: &Viewer, id: &str, problems: Vec<String>) -> Result<Response, PageError> {
    let page_state = LeadPageState {
        problems,
        ..LeadPageState::default()
    };
    let markup = lead_page(state, viewer, id, page_state).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response())
}

/// `POST /app/leads/{id}/tags`.
pub async fn add_tag(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let store = state.store.tenant(viewer.tenant_id());
    let lead = visible_lead(&store, &viewer, &id).await?;
    let tag = match Tag::parse(form.get("tag").map(String::as_str).unwrap_or("")) {
        Ok(tag) => tag,
        Err(problem) => return sent_back(&state, &viewer, &id, vec![format!("/tag {}", problem.0)]).await,
    };
    store
        .run(AddTag {
            lead_id: lead.id.clone(),
            tag,
            by: viewer.user_id().to_owned(),
            workflows: crate::nurture::active_workflows(&state.nurture.active, &store).await?,
        })
        .await?;
    Ok(Redirect::to(&format!("/app/leads/{}?done=tag", lead.id)).into_response())
}

/// `POST /app/leads/{id}/tags/remove`.
pub async fn remove_tag(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let store = state.store.tenant(viewer.tenant_id());
    let lead = visible_lead(&store, &viewer, &id).await?;
    let tag = form.get("tag").cloned().unwrap_or_default();
    let by = viewer.user_id().to_owned();
    store
        .run(RemoveTag {
            lead_id: lead.id.clone(),
            tag,
            by,
        })
        .await?;
    Ok(Redirect::to(&format!("/app/leads/{}", lead.id)).into_response())
}

/// `POST /app/leads/{id}/tasks`: a task for the viewer about this lead.
pub async fn add_task(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let store = state.store.tenant(viewer.tenant_id());
    let lead = visible_lead(&store, &viewer, &id).await?;
    let mut problems = Vec::new();
    let title = crate::followup::task_title(form.get("title").map(String::as_str).unwrap_or(""))
        .map_err(|p| problems.push(format!("{} {}", p.pointer, p.message)))
        .ok();
    let due = parse_input_time(&viewer, form.get("due_at").map(String::as_str).unwrap_or(""));
    if due.is_none() {
        problems.push("/due_at must be a date and time".to_owned());
    }
    let (Some(title), Some(due), true) = (title, due, problems.is_empty()) else {
        return sent_back(&state, &viewer, &id, problems).await;
    };
    store.create_task(viewer.user_id(), Some(&lead.id), title, due).await?;
    Ok(Redirect::to(&format!("/app/leads/{}?done=task", lead.id)).into_response())
}
