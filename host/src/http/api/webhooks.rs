//! Outbound webhooks: subscribe a URL to events; inspect its delivery log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::WebhookEvent;
use crate::error::{ApiError, FieldError};
use crate::http::body::JsonBody;
use crate::storage::StoreError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    url: String,
    events: Vec<String>,
    /// Shared secret for the signature; default: a new random one, shown once.
    #[serde(default)]
    secret: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<WebhookBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut problems = Vec::new();
    if !(body.url.starts_with("https://") || body.url.starts_with("http://")) || body.url.len() > 2048 {
        problems.push(FieldError::new("/url", "must be an absolute http(s) URL"));
    }
    if body.events.is_empty() {
        problems.push(FieldError::new("/events", "subscribe to at least one event"));
    }
    let mut events = Vec::with_capacity(body.events.len());
    for (i, event) in body.events.iter().enumerate() {
        match WebhookEvent::parse(event) {
            Some(event) => events.push(event),
            None => {
                let names: Vec<&str> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
                problems.push(FieldError::new(
                    format!("/events/{i}"),
                    format!("{event:?} is not an event: {}", names.join(", ")),
                ));
            }
        }
    }
    if body.secret.as_ref().is_some_and(|s| s.len() < 16) {
        problems.push(FieldError::new("/secret", "at least 16 characters"));
    }
    if !problems.is_empty() {
        return Err(ApiError::validation("the webhook is not valid", problems));
    }
    let secret = body.secret.unwrap_or_else(|| {
        let bytes: [u8; 24] = rand::thread_rng().r#gen();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    });
    let store = state.store.tenant(caller.tenant_id()?);
    let hook = store.create_webhook(&body.url, &secret, &events).await?;
    let mut answer = json!(hook);
    answer["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(answer)))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({"webhooks": state.store.tenant(caller.tenant_id()?).webhooks().await?}),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    match state.store.tenant(caller.tenant_id()?).delete_webhook(&id).await {
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("no webhook {id:?}"))),
        other => other.map(|_| StatusCode::NO_CONTENT).map_err(Into::into),
    }
}

/// `GET /api/v1/webhooks/{id}/deliveries`: newest first, with each
/// delivery's attempts, last answer and status.
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    if let Err(StoreError::NotFound) = store.webhook(&id).await {
        return Err(ApiError::NotFound(format!("no webhook {id:?}")));
    }
    Ok(Json(json!({"deliveries": store.deliveries(&id, 100).await?})))
}
