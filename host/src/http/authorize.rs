//! The API's gate: authenticate the bearer token, then authorise the call
//! by the permission table.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::auth::{allowed, authenticate};
use crate::error::ApiError;

/// Middleware on the API router: authenticate, then authorise by route.
pub async fn authorize(State(state): State<AppState>, mut request: Request, next: Next) -> Result<Response, ApiError> {
    let token = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)?;
    let caller = authenticate(&state.store, state.operator_token_hash.as_deref(), token).await?;
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
