//! Follow-up over the API: the SLA policy, activities on a lead, tasks, and
//! a rep's agenda.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::leads::visible;
use crate::app::AppState;
use crate::auth::Caller;
use crate::clock::Timestamp;
use crate::domain::Role;
use crate::error::{ApiError, FieldError};
use crate::followup::activity::{ActivityInput, LogActivity};
use crate::http::body::JsonBody;
use crate::http::submission::query_params;
use crate::setup::Setting;
use crate::storage::StoreError;

/// `GET /api/v1/sla/policy` (`null` until set).
pub async fn show_policy(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let policy = state.store.tenant(caller.tenant_id()?).sla_policy().await?;
    Ok(Json(json!({"policy": policy})))
}

/// `PUT /api/v1/sla/policy`: applies to leads assigned from now on.
pub async fn replace_policy(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let saved = Setting::SlaPolicy
        .replace(&state, caller.tenant_id()?, caller.user_id.as_deref(), body)
        .await?;
    Ok(Json(saved))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityBody {
    kind: String,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    note: Option<String>,
    /// RFC 3339: when to follow up next (default: the policy's cadence).
    #[serde(default)]
    next_follow_up_at: Option<String>,
}

/// `POST /api/v1/leads/{id}/activities`: a call, email, meeting, message or
/// note. The owner's activity (not a note) touches the lead and sets its next
/// deadline.
pub async fn record_activity(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ActivityBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let lead = visible(&store, &caller, &id).await?;
    let user_id = caller.user_id.clone().ok_or(ApiError::Forbidden)?;
    let input = ActivityInput {
        kind: body.kind,
        outcome: body.outcome,
        note: body.note,
        next_follow_up_at: match &body.next_follow_up_at {
            None => Ok(None),
            Some(raw) => Timestamp::parse_rfc3339(raw)
                .map(Some)
                .ok_or_else(|| "must be an RFC 3339 time".to_owned()),
        },
    };
    let activity = input
        .check(Timestamp::now())
        .map_err(|problems| ApiError::validation("the activity is not valid", problems))?;
    let log = LogActivity {
        lead_id: lead.id.clone(),
        user_id,
        activity,
        workflows: crate::nurture::active_workflows(&state.nurture.active, &store).await?,
    };
    let record = store.run(log).await?;
    Ok((StatusCode::CREATED, Json(json!(record))))
}

pub async fn activities(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let lead = visible(&store, &caller, &id).await?;
    Ok(Json(json!({"activities": store.activities(&lead.id).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskBody {
    title: String,
    /// RFC 3339.
    due_at: String,
    #[serde(default)]
    lead_id: Option<String>,
    /// A user id; default: the caller. Only managers and admins give tasks to others.
    #[serde(default)]
    user_id: Option<String>,
}

pub async fn create_task(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<TaskBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let me = caller.user_id.clone().ok_or(ApiError::Forbidden)?;
    let user_id = body.user_id.clone().unwrap_or_else(|| me.clone());
    if user_id != me && caller.role == Role::Rep {
        return Err(ApiError::Forbidden);
    }
    let mut problems = Vec::new();
    let title = crate::followup::task_title(&body.title)
        .map_err(|problem| problems.push(problem))
        .unwrap_or_default();
    let due = Timestamp::parse_rfc3339(&body.due_at);
    if due.is_none() {
        problems.push(FieldError::new("/due_at", "must be an RFC 3339 time"));
    }
    if let Err(StoreError::NotFound) = store.user_by_id(&user_id).await {
        problems.push(FieldError::new("/user_id", "no user of this tenant has this id"));
    }
    let lead = match &body.lead_id {
        Some(id) => match visible(&store, &caller, id).await {
            Ok(lead) => Some(lead.id),
            Err(_) => {
                problems.push(FieldError::new("/lead_id", "no lead you can see has this id"));
                None
            }
        },
        None => None,
    };
    let (Some(due), true) = (due, problems.is_empty()) else {
        return Err(ApiError::validation("the task is not valid", problems));
    };
    let task = store.create_task(&user_id, lead.as_deref(), title, due).await?;
    Ok((StatusCode::CREATED, Json(json!(task))))
}

/// `POST /api/v1/tasks/{id}/done`.
pub async fn complete_task(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let only_mine = (caller.role == Role::Rep).then(|| caller.user_id.clone()).flatten();
    match store.complete_task(&id, only_mine.as_deref()).await {
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("no task {id:?} of yours"))),
        other => {
            other?;
            Ok(Json(json!({"id": id, "done": true})))
        }
    }
}

/// `GET /api/v1/agenda[?user=ID]`: the caller's day (a manager may look at a
/// rep's): overdue and due-today leads and tasks, and leads newly given and
/// not yet touched. "Today" ends at midnight UTC.
pub async fn agenda(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let query = query_params(query.as_deref());
    let me = caller.user_id.clone().ok_or(ApiError::Forbidden)?;
    let user = query.get("user").cloned().unwrap_or(me.clone());
    let theirs = match caller.role {
        _ if user == me => true,
        Role::Admin => true,
        Role::Manager => store.manages(&me, &user).await?,
        _ => false,
    };
    if !theirs {
        return Err(ApiError::Forbidden);
    }
    let now = Timestamp::now();
    let day = 86_400_000_000;
    let end_of_day = Timestamp((now.micros().div_euclid(day) + 1) * day);
    Ok(Json(json!(store.agenda(&user, now, end_of_day).await?)))
}
