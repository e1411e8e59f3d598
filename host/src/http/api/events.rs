//! Behaviour events: `POST /api/v1/events` (the lead named by id, email or
//! phone, as a tracking script knows it) and `POST /api/v1/leads/{id}/events`.
//! Each event re-scores its lead before the response, which carries the new
//! score.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::auth::personal_data::sees_plugin_output;
use crate::clock::Timestamp;
use crate::domain::{IdentityKind, NormalizedEmail, NormalizedPhone};
use crate::error::{ApiError, FieldError};
use crate::http::body::JsonBody;
use crate::jobs;
use crate::leads::behaviour::{EventRequest, LeadRef};
use crate::storage::{LeadVisibility, NewBehaviourEvent, StoreError};

pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<EventRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (event, lead) = (request.check(Timestamp::now()), request.lead_ref());
    let (event, lead) = checked(event, lead)?;
    let tenant_id = caller.tenant_id()?;
    let store = state.store.tenant(tenant_id);
    let lead_id = match &lead {
        LeadRef::Id(id) => visible_lead(&state, &caller, id).await?,
        LeadRef::Email(raw) => {
            let email = NormalizedEmail::parse(raw).map_err(|e| invalid("/email", e.0))?;
            store
                .lead_by_identity(IdentityKind::Email, email.as_str())
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("no lead has the email {}", email.as_str())))?
        }
        LeadRef::Phone(raw) => {
            let region = crate::tenants::by_id(&state.tenants, &state.store, tenant_id)
                .await?
                .region()?;
            let phone = NormalizedPhone::parse(raw, region).map_err(|e| invalid("/phone", e.0))?;
            store
                .lead_by_identity(IdentityKind::Phone, phone.as_str())
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("no lead has the phone {}", phone.as_str())))?
        }
    };
    if !matches!(caller.lead_visibility(), LeadVisibility::All) && !matches!(lead, LeadRef::Id(_)) {
        // A rep or manager naming a lead by email or phone must still be
        // allowed to see it.
        visible_lead(&state, &caller, &lead_id).await?;
    }
    record_and_rescore(&state, &caller, &lead_id, event).await
}

pub async fn record_on_lead(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<EventRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (event, _) = checked(request.check(Timestamp::now()), request.names_no_lead())?;
    let lead_id = visible_lead(&state, &caller, &id).await?;
    record_and_rescore(&state, &caller, &lead_id, event).await
}

/// Both checks' problems in one 422.
fn checked<A, B>(event: Result<A, Vec<FieldError>>, lead: Result<B, FieldError>) -> Result<(A, B), ApiError> {
    match (event, lead) {
        (Ok(event), Ok(lead)) => Ok((event, lead)),
        (event, lead) => {
            let mut problems = event.err().unwrap_or_default();
            problems.extend(lead.err());
            Err(ApiError::validation("the event is not valid", problems))
        }
    }
}

fn invalid(pointer: &str, message: String) -> ApiError {
    ApiError::validation("the event is not valid", vec![FieldError::new(pointer, message)])
}

async fn visible_lead(state: &AppState, caller: &Caller, id: &str) -> Result<String, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    match store.lead(id, &caller.lead_visibility()).await {
        Ok(lead) => Ok(lead.id),
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("no lead {id:?}"))),
        Err(other) => Err(other.into()),
    }
}

/// Stores the event with its re-score job, runs the job now, and answers
/// with the lead's score after it (its parts only to those who may see what
/// plugins produced: see `auth::personal_data`). Should the re-score fail,
/// the event is kept and its job retried: the 201 still stands.
async fn record_and_rescore(
    state: &AppState,
    caller: &Caller,
    lead_id: &str,
    event: NewBehaviourEvent,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let recorded = crate::leads::behaviour::record(state, &store, lead_id, event).await?;
    jobs::execute(state, recorded.job).await;
    let lead = store.lead(lead_id, &LeadVisibility::All).await?;
    let mut answer = json!({
        "event_id": recorded.event_id,
        "lead_id": lead.id,
        "score": lead.score,
        "tier": lead.tier,
        "stage": lead.stage,
    });
    if sees_plugin_output(caller, store.integrators_see_personal_data().await?) {
        answer["score_parts"] = lead.score_parts;
    }
    Ok((StatusCode::CREATED, Json(answer)))
}
