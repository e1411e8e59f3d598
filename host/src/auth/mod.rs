//! Who is calling and what they may do.
//!
//! Every `/api/v1` route passes [`authorize`]: it turns the bearer token into
//! a [`Caller`] and checks the caller's role against [`permissions::allowed`],
//! the single table of who may call what. Handlers receive the `Caller` and
//! never check roles themselves.

mod password;
mod permissions;
pub mod personal_data;
mod token;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

pub use password::{hash_password, verify_password};
pub use permissions::allowed;
pub use token::{ApiToken, hash_token};

use crate::app::AppState;
use crate::domain::Role;
use crate::error::ApiError;
use crate::storage::{LeadVisibility, StoreError};

/// An authenticated caller, scoped to one tenant (or none, for the operator).
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub role: Role,
}

impl Caller {
    /// The caller's tenant. Operator tokens have none, and the permission
    /// table never lets them reach a tenant route.
    pub fn tenant_id(&self) -> Result<&str, ApiError> {
        self.tenant_id.as_deref().ok_or(ApiError::Forbidden)
    }

    /// Which leads this caller may read.
    pub fn lead_visibility(&self) -> LeadVisibility {
        match (self.role, &self.user_id) {
            (Role::Rep, Some(user_id)) => LeadVisibility::OwnAndPool {
                user_id: user_id.clone(),
            },
            _ => LeadVisibility::All,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or(ApiError::Unauthorized)
    }
}

/// Middleware on the API router: authenticate, then authorise by route.
pub async fn authorize(State(state): State<AppState>, mut request: Request, next: Next) -> Result<Response, ApiError> {
    let token = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)?;
    let caller = state.authenticate(token).await?;
    let path = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let Some(path) = path else {
        return Err(ApiError::NotFound("no such API route".into()));
    };
    if !allowed(request.method(), &path).contains(&caller.role) {
        tracing::info!(role = %caller.role, method = %request.method(), %path, "forbidden");
        return Err(ApiError::Forbidden);
    }
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

impl AppState {
    async fn authenticate(&self, token: &str) -> Result<Caller, ApiError> {
        let hash = hash_token(token);
        if self.operator_token_hash.as_deref() == Some(hash.as_str()) {
            return Ok(Caller {
                tenant_id: None,
                user_id: None,
                role: Role::Operator,
            });
        }
        match self.store.authenticate(&hash).await {
            Ok(found) => Ok(Caller {
                tenant_id: found.tenant_id,
                user_id: found.user_id,
                role: found.role,
            }),
            Err(StoreError::NotFound) => Err(ApiError::Unauthorized),
            Err(e) => Err(e.into()),
        }
    }
}
