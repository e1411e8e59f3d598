use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::domain::{NormalizedEmail, Region, TenantSlug};
use crate::error::{ApiError, FieldError};
use crate::http::body::JsonBody;
use crate::tenants::{NewTenant, create_tenant};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    slug: String,
    name: Option<String>,
    default_region: Option<String>,
    admin_email: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateTenant>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut errors = Vec::new();
    let slug = TenantSlug::parse(&body.slug)
        .map_err(|e| errors.push(FieldError::new("/slug", e.0)))
        .ok();
    let region = Region::parse(body.default_region.as_deref().unwrap_or("CN"))
        .map_err(|e| errors.push(FieldError::new("/default_region", e.0)))
        .ok();
    let admin_email = body
        .admin_email
        .clone()
        .unwrap_or_else(|| format!("admin@{}.invalid", body.slug));
    let admin_email = NormalizedEmail::parse(&admin_email)
        .map_err(|e| errors.push(FieldError::new("/admin_email", e.0)))
        .ok();
    let (Some(slug), Some(region), Some(admin_email)) = (slug, region, admin_email) else {
        return Err(ApiError::validation("the tenant is not valid", errors));
    };
    let name = body.name.unwrap_or_else(|| slug.to_string());
    let created = create_tenant(
        &state.store,
        NewTenant {
            slug,
            name,
            region,
            admin_email,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"tenant": created.tenant, "admin": created.admin, "admin_token": created.admin_token})),
    ))
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"tenants": state.store.list_tenants().await?})))
}
