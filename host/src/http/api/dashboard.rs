//! `/api/v1/dashboard`: the dashboard's views as JSON, and each as CSV.
//! Who sees what is decided in `dashboard::load` (admins everything,
//! managers their teams).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::dashboard::figures::VIEWS;
use crate::dashboard::{self, Dashboard, DashboardQuery, export};
use crate::error::ApiError;
use crate::http::submission::query_params;

/// `GET /api/v1/dashboard?from=&to=&team=&source=&campaign=&form=`
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw_query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let (query, time_zone, board) = load(&state, &caller, raw_query.as_deref()).await?;
    let mut body = json!({
        "from": query.from.to_string(),
        "to": query.to.to_string(),
        "time_zone": time_zone,
        "filters": {"team": query.team, "source": query.source, "campaign": query.campaign, "form": query.form},
        "total": board.total(),
    });
    body.as_object_mut().expect("an object").extend(board.to_json());
    Ok(Json(body))
}

/// `GET /api/v1/dashboard/{view}.csv?...`: one view as CSV.
pub async fn export_view(
    State(state): State<AppState>,
    caller: Caller,
    Path(file): Path<String>,
    RawQuery(raw_query): RawQuery,
) -> Result<Response, ApiError> {
    let view = file.strip_suffix(".csv").filter(|v| VIEWS.contains(v)).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no dashboard view {file:?}; there are {}.csv",
            VIEWS.join(".csv, ")
        ))
    })?;
    let (query, _, board) = load(&state, &caller, raw_query.as_deref()).await?;
    let table = board.view(view).expect("every listed view is computed");
    let (name, body) = export::view_file(view, &query, table).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(crate::http::csv_download(&name, body))
}

async fn load(
    state: &AppState,
    caller: &Caller,
    raw_query: Option<&str>,
) -> Result<(DashboardQuery, String, Dashboard), ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let time_zone = store.settings().await?.time_zone;
    let query = DashboardQuery::parse(&query_params(raw_query), dashboard::today(&time_zone))
        .map_err(|problems| ApiError::validation("the dashboard's query is not valid", problems))?;
    let board = dashboard::load(&store, caller.role, caller.user_id.as_deref(), &query).await?;
    Ok((query, time_zone, board))
}
