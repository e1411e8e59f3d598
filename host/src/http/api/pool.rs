//! The public pool: leads nobody owns, which any rep may claim. Reps claim
//! and release; managers reassign by hand.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::leads::visible;
use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::{NormalizedEmail, Role};
use crate::error::{ApiError, FieldError};
use crate::http::body::JsonBody;
use crate::routing::pool::{Claim, Reassign};
use crate::setup::Setting;
use crate::storage::{LeadVisibility, StoreError};

/// `POST /api/v1/leads/{id}/claim`: a rep takes a pool lead. Of two reps
/// claiming at once, one gets it and the other a 409.
pub async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let user_id = caller.user_id.clone().ok_or(ApiError::Forbidden)?;
    // Not limited to what the rep sees: a lead another rep just claimed is
    // out of their sight, and the answer to losing that race is a 409.
    let lead = match store.lead(&id, &LeadVisibility::All).await {
        Err(StoreError::NotFound) => return Err(ApiError::NotFound(format!("no lead {id:?}"))),
        other => other?,
    };
    match lead.owner_id.as_deref() {
        Some(owner) if owner == user_id => return Err(ApiError::Conflict("you already own this lead".into())),
        Some(_) => return Err(ApiError::Conflict(crate::routing::pool::CLAIMED_BY_ANOTHER.into())),
        None => {}
    }
    store
        .run(Claim {
            lead_id: lead.id.clone(),
            user_id,
        })
        .await?;
    Ok(Json(json!(store.lead(&lead.id, &LeadVisibility::All).await?)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/leads/{id}/release`: the owner (or a manager) returns the
/// lead to the pool; the previous owner may be barred from claiming it back.
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReleaseBody>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let lead = visible(&store, &caller, &id).await?;
    let Some(owner) = lead.owner_id.clone() else {
        return Err(ApiError::Conflict("the lead is already in the pool".into()));
    };
    if caller.role == Role::Rep && caller.user_id.as_deref() != Some(owner.as_str()) {
        return Err(ApiError::Forbidden);
    }
    let reason = body.reason.unwrap_or_else(|| "released by hand".into());
    let detail = json!({"from": owner, "by": caller.user_id, "reason": reason});
    let release = Reassign {
        lead_id: lead.id.clone(),
        to: None,
        detail,
    };
    store.run(release).await?;
    Ok(Json(json!(store.lead(&lead.id, &LeadVisibility::All).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The rep's email.
    rep: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/leads/{id}/assign`: a manager or admin gives the lead to a rep.
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AssignBody>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let lead = visible(&store, &caller, &id).await?;
    let invalid =
        |message: String| ApiError::validation("the assignment is not valid", vec![FieldError::new("/rep", message)]);
    let email = NormalizedEmail::parse(&body.rep).map_err(|e| invalid(e.0))?;
    let rep = match store.user_by_email(email.as_str()).await {
        Ok(user) if user.deactivated_at.is_some() => return Err(invalid(format!("{} has left", user.email))),
        Ok(user) if user.role == Role::Rep => user,
        Ok(user) => return Err(invalid(format!("{} is a {}, not a rep", user.email, user.role))),
        Err(StoreError::NotFound) => return Err(invalid(format!("no rep has the email {}", email.as_str()))),
        Err(other) => return Err(other.into()),
    };
    if let (Role::Manager, Some(me)) = (caller.role, caller.user_id.as_deref())
        && !store.manages(me, &rep.id).await?
    {
        return Err(invalid(format!("{} is not in a team you manage", rep.email)));
    }
    let detail = json!({"from": lead.owner_id, "to": rep.id, "by": caller.user_id,
                        "reason": body.reason.unwrap_or_else(|| "reassigned by hand".into())});
    let assign = Reassign {
        lead_id: lead.id.clone(),
        to: Some(rep.id),
        detail,
    };
    store.run(assign).await?;
    Ok(Json(json!(store.lead(&lead.id, &LeadVisibility::All).await?)))
}

pub async fn settings(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        state.store.tenant(caller.tenant_id()?).pool_settings().await?
    )))
}

/// `PUT /api/v1/pool/settings`: `null` (or absent) turns a rule off.
pub async fn update_settings(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let saved = Setting::PoolSettings
        .replace(&state, caller.tenant_id()?, caller.user_id.as_deref(), body)
        .await?;
    Ok(Json(saved))
}

/// `GET /api/v1/pool`: pool leads, highest score first (the lead list with
/// `owner=pool&sort=score`).
pub async fn list(state: State<AppState>, caller: Caller, RawQuery(query): RawQuery) -> Result<Json<Value>, ApiError> {
    let mut query = query.unwrap_or_default();
    for (key, value) in [("owner", "pool"), ("sort", "score")] {
        if !query.split('&').any(|pair| pair.starts_with(&format!("{key}="))) {
            query.push_str(&format!("&{key}={value}"));
        }
    }
    super::leads::list(state, caller, RawQuery(Some(query))).await
}
