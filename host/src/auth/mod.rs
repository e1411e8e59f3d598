//! Who is calling and what they may do.
//!
//! Every `/api/v1` route passes `http::authorize`: it turns the bearer token
//! into a [`Caller`] ([`authenticate`]) and checks the caller's role against
//! [`permissions::allowed`], the single table of who may call what.
//! Handlers receive the `Caller` and never check roles themselves.

mod password;
mod permissions;
pub mod personal_data;
pub mod reset;
pub mod session;
mod token;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub use password::{MIN_PASSWORD_CHARS, hash_password, verify_password};
pub use permissions::allowed;
pub use token::{ApiToken, hash_token};

use crate::domain::Role;
use crate::error::ApiError;
use crate::storage::{LeadVisibility, Store, StoreError};

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
            (Role::Manager, Some(user_id)) => LeadVisibility::ManagedTeams {
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

/// The caller a bearer token stands for: the operator (whose token's hash
/// the server was given at start) or a tenant's user.
pub async fn authenticate(store: &Store, operator_token_hash: Option<&str>, token: &str) -> Result<Caller, ApiError> {
    let hash = hash_token(token);
    if operator_token_hash == Some(hash.as_str()) {
        return Ok(Caller {
            tenant_id: None,
            user_id: None,
            role: Role::Operator,
        });
    }
    match store.authenticate(&hash).await {
        Ok(found) => Ok(Caller {
            tenant_id: found.tenant_id,
            user_id: found.user_id,
            role: found.role,
        }),
        Err(StoreError::NotFound) => Err(ApiError::Unauthorized),
        Err(e) => Err(e.into()),
    }
}
