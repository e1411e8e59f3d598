use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::{Caller, MIN_PASSWORD_CHARS, hash_password, reset};
use crate::domain::{NormalizedEmail, Role};
use crate::error::{ApiError, FieldError};
use crate::http::body::JsonBody;
use crate::routing::departure::depart;
use crate::storage::{RepAttributes, StoreError};
use crate::tenants::{add_user, issue_token};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    email: String,
    name: Option<String>,
    role: String,
    password: Option<String>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    specialties: Vec<String>,
    #[serde(default)]
    capacity: u32,
    available: Option<bool>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateUser>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut errors = Vec::new();
    let email = NormalizedEmail::parse(&body.email)
        .map_err(|e| errors.push(FieldError::new("/email", e.0)))
        .ok();
    let role = Role::parse_tenant_role(&body.role)
        .map_err(|e| errors.push(FieldError::new("/role", e.0)))
        .ok();
    if body
        .password
        .as_ref()
        .is_some_and(|p| p.chars().count() < MIN_PASSWORD_CHARS)
    {
        errors.push(FieldError::new(
            "/password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        return Err(ApiError::validation("the user is not valid", errors));
    };
    let attributes = RepAttributes {
        regions: body.regions,
        specialties: body.specialties,
        capacity: body.capacity,
        available: body.available.unwrap_or(true),
    };
    let name = body.name.unwrap_or_else(|| email.as_str().to_owned());
    let user = add_user(
        &state.store,
        caller.tenant_id()?,
        &email,
        &name,
        role,
        body.password.as_deref(),
        attributes,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!(user))))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({"users": state.store.tenant(caller.tenant_id()?).users().await?}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// The user the token acts as, by email.
    user: String,
    label: Option<String>,
}

/// A token for one of the tenant's users; its text is in this response only.
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant_id = caller.tenant_id()?;
    let email = NormalizedEmail::parse(&body.user)
        .map_err(|e| ApiError::validation("the token request is not valid", vec![FieldError::new("/user", e.0)]))?;
    let user = match state.store.tenant(tenant_id).user_by_email(email.as_str()).await {
        Err(StoreError::NotFound) => {
            return Err(ApiError::validation(
                "the token request is not valid",
                vec![FieldError::new("/user", "no user of this tenant has that email")],
            ));
        }
        other => other?,
    };
    let label = body.label.unwrap_or_else(|| "api".to_owned());
    let token = issue_token(&state.store, tenant_id, &user.id, &label).await?;
    Ok((StatusCode::CREATED, Json(json!({"token": token, "user": user}))))
}

/// Routing attributes to change; absent members stay as they are.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// Admins only.
    role: Option<String>,
    regions: Option<Vec<String>>,
    specialties: Option<Vec<String>>,
    capacity: Option<u32>,
    available: Option<bool>,
}

/// `PATCH /api/v1/users/{id}`: admins and managers set any user's routing
/// attributes, admins their role too (the tenant keeps an admin); a rep may
/// only say whether they are taking leads.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateUser>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    if caller.role == Role::Rep
        && (caller.user_id.as_deref() != Some(id.as_str())
            || body.regions.is_some()
            || body.specialties.is_some()
            || body.capacity.is_some())
    {
        return Err(ApiError::Forbidden);
    }
    if body.role.is_some() && caller.role != Role::Admin {
        return Err(ApiError::Forbidden);
    }
    let user = match store.user_by_id(&id).await {
        Err(StoreError::NotFound) => return Err(ApiError::NotFound(format!("no user {id:?}"))),
        other => other?,
    };
    if let Some(role) = &body.role {
        let role = Role::parse_tenant_role(role)
            .map_err(|e| ApiError::validation("the user is not valid", vec![FieldError::new("/role", e.0)]))?;
        store.set_role(&id, role).await?;
    }
    let mut attributes = user.attributes;
    if let Some(regions) = body.regions {
        attributes.regions = regions;
    }
    if let Some(specialties) = body.specialties {
        attributes.specialties = specialties;
    }
    if let Some(capacity) = body.capacity {
        attributes.capacity = capacity;
    }
    if let Some(available) = body.available {
        attributes.available = available;
    }
    Ok(Json(json!(store.set_rep_attributes(&id, &attributes).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    password: String,
}

/// `PUT /api/v1/users/{id}/password`: an admin sets a user's password (the
/// first one, or a new one for a user locked out); the user's sessions end.
pub async fn set_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SetPassword>,
) -> Result<StatusCode, ApiError> {
    if body.password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::validation(
            "the password is not valid",
            vec![FieldError::new(
                "/password",
                format!("must be at least {MIN_PASSWORD_CHARS} characters"),
            )],
        ));
    }
    let store = state.store.tenant(caller.tenant_id()?);
    let password = body.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(ApiError::Internal)?;
    match store.set_password(&id, &hash, None).await {
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("no user {id:?}"))),
        other => other.map(|()| StatusCode::NO_CONTENT).map_err(Into::into),
    }
}

/// `POST /api/v1/users/{id}/password-reset`: emails the user a link that
/// sets a new password once, within the hour (through the outbox: without
/// an SMTP server it waits there, like every email).
pub async fn send_password_reset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let public_url = state.settings.public_url.as_deref().unwrap_or_default();
    match reset::send_link(
        &state.store,
        public_url,
        caller.tenant_id()?,
        &id,
        caller.user_id.as_deref(),
    )
    .await
    {
        Ok(sent) => Ok((StatusCode::ACCEPTED, Json(json!(sent)))),
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("no user {id:?}"))),
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/v1/users/{id}/deactivate`: the user has left. Their logins
/// end at once; their open leads are routed again without them (each by a
/// durable job, run here one after another); their records stay.
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let tenant_id = caller.tenant_id()?;
    let store = state.store.tenant(tenant_id);
    let departed = match depart(&store, &id, caller.user_id.as_deref()).await {
        Err(StoreError::NotFound) => return Err(ApiError::NotFound(format!("no user {id:?}"))),
        other => other?,
    };
    crate::jobs::spawn_in_turn(&state, departed.jobs.clone());
    let user = state.store.tenant(tenant_id).user_by_id(&id).await?;
    Ok(Json(json!({"user": user, "departure": departed})))
}
