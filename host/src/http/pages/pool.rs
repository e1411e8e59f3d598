//! `/app/pool`: leads nobody owns, best first, and claiming one. Of two reps
//! claiming at once, one gets the lead and the other a clear message.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::frame::{Section, page};
use super::leads::{lead_rows, owner_names};
use super::{PageError, Viewer};
use crate::app::AppState;
use crate::clock::Timestamp;
use crate::routing::pool::{CLAIMED_BY_ANOTHER, Claim};
use crate::storage::{LeadFilter, LeadOrder, LeadVisibility, POOL, StoreError};

/// `GET /app/pool[?after=]`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    pool_page(&state, &viewer, query.get("after").cloned(), None).await
}

/// The pool, with why a claim was refused when it was (a 409).
async fn pool_page(
    state: &AppState,
    viewer: &Viewer,
    after: Option<String>,
    refused: Option<String>,
) -> Result<Response, PageError> {
    let w = viewer.words();
    let store = state.store.tenant(viewer.tenant_id());
    let filter = LeadFilter {
        owner_id: Some(POOL.to_owned()),
        order: LeadOrder::Score,
        after,
        limit: 50,
        ..LeadFilter::default()
    };
    // The pool is everyone's to see: no narrowing by who is looking (an OR
    // of the rep's own leads would only cost the planner the pool's index).
    let found = match store.leads(&filter, &LeadVisibility::All).await {
        Err(StoreError::Invalid(_)) => return Err(PageError::NotFound),
        other => other?,
    };
    let owners = owner_names(&store).await?;
    let body = html! {
        @if let Some(refused) = &refused { p.problem role="alert" #claim-refused { (refused) } }
        section {
            (lead_rows(viewer, &found.leads, &owners, Timestamp::now()))
            @if let Some(next) = &found.next { p { a href=(format!("/app/pool?after={next}")) rel="next" { (w.next_page) " →" } } }
        }
    };
    let status = if refused.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    Ok((status, page(viewer, Section::Pool, w.pool, body)).into_response())
}

/// `POST /app/leads/{id}/claim`: the lead's page on success; the pool with
/// the reason when another rep was first.
pub async fn claim(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let store = state.store.tenant(viewer.tenant_id());
    // Not limited to what the rep sees: a lead another rep has just claimed
    // is out of their sight, and that is the race to report.
    let lead = store.lead(&id, &LeadVisibility::All).await?;
    let lost = || pool_page(&state, &viewer, None, Some(viewer.words().claim_lost.to_owned()));
    match lead.owner_id.as_deref() {
        Some(owner) if owner == viewer.user_id() => {}
        Some(_) => return lost().await,
        None => {
            let claim = Claim {
                lead_id: lead.id.clone(),
                user_id: viewer.user_id().to_owned(),
            };
            match store.run(claim).await {
                // The claim's own check, under the lead's lock, lost the race.
                Err(StoreError::Conflict(reason)) if reason == CLAIMED_BY_ANOTHER => return lost().await,
                Err(StoreError::Conflict(reason)) => return pool_page(&state, &viewer, None, Some(reason)).await,
                other => other?,
            }
        }
    }
    Ok(Redirect::to(&format!("/app/leads/{}?done=claimed", lead.id)).into_response())
}
