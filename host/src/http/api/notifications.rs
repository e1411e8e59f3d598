//! `/api/v1/notifications`: the caller's notifications (newest first, with
//! the unread count), marking them read, and `/me/notifications`: which
//! kinds also come by email.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::NoticeKind;
use crate::error::{ApiError, FieldError};
use crate::http::body::JsonBody;

fn user(caller: &Caller) -> Result<&str, ApiError> {
    caller.user_id.as_deref().ok_or(ApiError::Forbidden)
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    unread: bool,
    limit: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let user_id = user(&caller)?;
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let notifications = store.notifications(user_id, query.unread, limit).await?;
    let unread = store.unread_notifications(user_id).await?;
    Ok(Json(json!({"unread": unread, "notifications": notifications})))
}

/// Marks one of the caller's notifications read (404 for anyone else's).
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let user_id = user(&caller)?;
    if !store.notification_exists(user_id, &id).await? {
        return Err(ApiError::NotFound(format!("no notification {id:?} of yours")));
    }
    store.mark_notifications_read(user_id, Some(&id)).await?;
    Ok(Json(json!({"unread": store.unread_notifications(user_id).await?})))
}

pub async fn read_all(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let marked = store.mark_notifications_read(user(&caller)?, None).await?;
    Ok(Json(json!({"marked": marked, "unread": 0})))
}

pub async fn email_choice(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let chosen = store.notify_by_email(user(&caller)?).await?;
    Ok(Json(json!({"email": chosen, "kinds": NoticeKind::ALL})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChoice {
    /// The kinds that also come by email.
    email: Vec<String>,
}

pub async fn choose_email(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<EmailChoice>,
) -> Result<Json<Value>, ApiError> {
    let mut kinds = Vec::new();
    let mut problems = Vec::new();
    for (i, word) in body.email.iter().enumerate() {
        match word.parse::<NoticeKind>() {
            Ok(kind) if !kinds.contains(&kind) => kinds.push(kind),
            Ok(_) => {}
            Err(e) => problems.push(FieldError::new(format!("/email/{i}"), e.0)),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation("the notification choice is not valid", problems));
    }
    let store = state.store.tenant(caller.tenant_id()?);
    store.set_notify_by_email(user(&caller)?, &kinds).await?;
    email_choice(State(state), caller).await
}
