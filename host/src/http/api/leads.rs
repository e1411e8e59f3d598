use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::clock::Timestamp;
use crate::error::{ApiError, FieldError};
use crate::http::submission::{Target, query_params, receive};
use crate::storage::{LeadFilter, StoreError};

/// `POST /api/v1/forms/{slug}/leads`: the authenticated intake route. The
/// body is the form fields; `?source=` and `utm_*` in the query give context.
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant = state.tenants.by_id(&state.store, caller.tenant_id()?).await?;
    let target = Target::load(&state, tenant, &slug).await?;
    let query = query_params(raw_query.as_deref());
    let outcome = receive(&state, &target, "api", &query, &headers, body)
        .await
        .map_err(|r| r.error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": outcome.lead_id, "duplicate_of": outcome.duplicate_of})),
    ))
}

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// `GET /api/v1/leads?form=&source=&stage=&owner=&created_from=&created_to=&q=&after=&limit=`
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw_query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let query = query_params(raw_query.as_deref());
    let mut errors = Vec::new();
    let text = |key: &str| query.get(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let mut time = |key: &str| {
        text(key).and_then(|raw| {
            Timestamp::parse_rfc3339(&raw).or_else(|| {
                errors.push(FieldError::new(
                    format!("/{key}"),
                    "must be an RFC 3339 time, e.g. 2026-11-25T09:00:00Z",
                ));
                None
            })
        })
    };
    let created_from = time("created_from");
    let created_to = time("created_to");
    let limit = match text("limit").map(|l| l.parse::<u32>()) {
        None => DEFAULT_PAGE,
        Some(Ok(n)) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::new(
                "/limit",
                format!("must be a number from 1 to {MAX_PAGE}"),
            ));
            DEFAULT_PAGE
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation("the query is not valid", errors));
    }
    let filter = LeadFilter {
        form: text("form"),
        source: text("source"),
        stage: text("stage"),
        owner_id: text("owner"),
        created_from,
        created_to,
        text: text("q"),
        after: text("after"),
        limit,
    };
    let page = state
        .store
        .tenant(caller.tenant_id()?)
        .leads(&filter, &caller.lead_visibility())
        .await?;
    Ok(Json(json!({"leads": page.leads, "next": page.next})))
}

/// One lead with its timeline of touches. Another tenant's id is a plain 404.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let lead = store.lead(&id, &caller.lead_visibility()).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound(format!("no lead {id:?}")),
        other => other.into(),
    })?;
    let touches = store.touches(&lead.id).await?;
    let events = store.lead_events(&lead.id).await?;
    let mut body = json!(lead);
    body["touches"] = json!(touches);
    body["events"] = json!(events);
    Ok(Json(body))
}
