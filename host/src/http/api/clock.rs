//! The manual clock, for tests that drive time: `GET` reads it, `POST`
//! advances it and runs every job that became due. Only a server started
//! with `--manual-clock` has one; the operator alone may move it.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::clock::{self, Timestamp};
use crate::error::{ApiError, FieldError};
use crate::http::body::JsonBody;
use crate::jobs;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// Seconds to move forward.
    #[serde(default)]
    advance_seconds: Option<u64>,
}

pub async fn show(State(_state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let now = Timestamp::now();
    Ok(Json(json!({"now": now, "manual": clock::manual().is_some()})))
}

pub async fn advance(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Advance>,
) -> Result<Json<Value>, ApiError> {
    let Some(current) = clock::manual() else {
        return Err(ApiError::Conflict(
            "this server runs on the system clock; start it with --manual-clock to move time".into(),
        ));
    };
    let seconds = body
        .advance_seconds
        .filter(|s| *s > 0 && *s <= 10 * 365 * 86_400)
        .ok_or_else(|| {
            ApiError::validation(
                "the clock change is not valid",
                vec![FieldError::new(
                    "/advance_seconds",
                    "give 1 to 315360000 seconds to move forward",
                )],
            )
        })?;
    let now = current.plus(std::time::Duration::from_secs(seconds));
    state.store.save_manual_clock(now).await?;
    clock::set_manual(now);
    let jobs_run = jobs::sweep(&state).await;
    Ok(Json(json!({"now": now, "jobs_run": jobs_run})))
}
