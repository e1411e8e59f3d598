//! `/api/v1/emails` and `/suppressions`: the email log with each delivery
//! attempt, a lead's emails, and the addresses no email goes to.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, missing};

const PAGE: i64 = 100;

#[derive(Deserialize)]
pub struct LogQuery {
    /// An email id: the page after it (older).
    before: Option<String>,
    limit: Option<i64>,
}

/// The tenant's emails, newest first, with their attempts.
pub async fn log(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<LogQuery>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let limit = query.limit.unwrap_or(PAGE).clamp(1, 500);
    let emails = store.emails(limit, query.before.as_deref()).await?;
    let mut out = Vec::with_capacity(emails.len());
    for email in &emails {
        let mut body = json!(email);
        body["attempts_log"] = json!(store.email_attempts(&email.id).await?);
        out.push(body);
    }
    let next = (emails.len() as i64 == limit).then(|| emails.last().map(|e| e.id.clone()));
    Ok(Json(json!({"emails": out, "next_before": next.flatten()})))
}

/// One email with every attempt and the server's answers.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let email = store.email(&id).await.map_err(missing(|| format!("no email {id:?}")))?;
    let mut body = json!(email);
    body["attempts_log"] = json!(store.email_attempts(&email.id).await?);
    body["engagement"] = json!(store.email_events(&email.id).await?);
    Ok(Json(body))
}

/// A lead's emails, oldest first.
pub async fn of_lead(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let lead = super::leads::visible(&store, &caller, &id).await?;
    Ok(Json(
        json!({"lead_id": lead.id, "emails": store.lead_emails(&lead.id).await?}),
    ))
}

pub async fn suppressions(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    Ok(Json(json!({"suppressions": store.suppressions().await?})))
}
