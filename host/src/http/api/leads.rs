use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::clock::Timestamp;
use crate::domain::{Stage, Tag, Tier};
use crate::error::{ApiError, FieldError};
use crate::http::body::JsonBody;
use crate::http::submission::{Target, query_params, receive};
use crate::leads;
use crate::leads::deal::deal_for;
use crate::leads::tags::{AddTag, RemoveTag};
use crate::storage::{LeadFilter, LeadOrder, LeadRecord, LeadVisibility, StageRecord, StoreError, TenantStore};

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
    let tenant = crate::tenants::by_id(&state.tenants, &state.store, caller.tenant_id()?).await?;
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

/// `GET /api/v1/leads?form=&source=&stage=&tier=&owner=&created_from=&created_to=&q=&sort=&after=&limit=`
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
    let order = match text("sort").as_deref() {
        None | Some("newest") => LeadOrder::Newest,
        Some("score") => LeadOrder::Score,
        Some("tier") => LeadOrder::Tier,
        Some("follow_up_due") => LeadOrder::FollowUpDue,
        Some(_) => {
            errors.push(FieldError::new("/sort", "must be newest, score, tier or follow_up_due"));
            LeadOrder::Newest
        }
    };
    let stage = text("stage").and_then(|stage| {
        let parsed = Stage::parse(&stage);
        if parsed.is_none() {
            errors.push(FieldError::new(
                "/stage",
                format!("{stage:?} is not a stage: {}", stage_names()),
            ));
        }
        parsed
    });
    let tier = text("tier").and_then(|tier| {
        let parsed = Tier::parse(&tier);
        if parsed.is_none() {
            errors.push(FieldError::new("/tier", "must be cold, warm or hot"));
        }
        parsed
    });
    if !errors.is_empty() {
        return Err(ApiError::validation("the query is not valid", errors));
    }
    let filter = LeadFilter {
        form: text("form"),
        source: text("source"),
        stage,
        tier,
        tag: text("tag"),
        order,
        owner_id: text("owner"),
        owned_only: false,
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

/// One lead with its timeline: touches, score changes and other events,
/// behaviour events, and every stage it entered. Another tenant's id is a
/// plain 404.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let lead = visible(&store, &caller, &id).await?;
    let touches = store.touches(&lead.id).await?;
    let events = store.lead_events(&lead.id).await?;
    let behaviour = store.behaviour_events(&lead.id).await?;
    let mut stages = vec![StageRecord {
        stage: Stage::New,
        from: None,
        reason: "captured".into(),
        by: lead.channel.clone(),
        entered_at: lead.created_at,
    }];
    stages.extend(store.lead_stages(&lead.id).await?);
    let mut body = json!(lead);
    body["touches"] = json!(touches);
    body["events"] = json!(events);
    body["behaviour"] = json!(behaviour);
    body["stages"] = json!(stages);
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageBody {
    stage: String,
    #[serde(default)]
    reason: Option<String>,
    /// For opportunity and won: the deal's value (a number, or a string
    /// such as "120000.50") and its expected close date (YYYY-MM-DD; a won
    /// deal without one closed today).
    #[serde(default)]
    deal_value: Option<Value>,
    #[serde(default)]
    expected_close: Option<String>,
}

/// `POST /api/v1/leads/{id}/stage`: a person moves the lead, within the
/// allowed transitions; lost and disqualified need a reason.
pub async fn change_stage(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<StageBody>,
) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let lead = visible(&store, &caller, &id).await?;
    let reason = request.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let Some(to) = Stage::parse(&request.stage) else {
        let mut problems = vec![FieldError::new(
            "/stage",
            format!("{:?} is not a stage: {}", request.stage, stage_names()),
        )];
        if reason.is_some_and(|r| r.chars().count() > 500) {
            problems.push(FieldError::new("/reason", "at most 500 characters"));
        }
        return Err(ApiError::validation("the stage change is not allowed", problems));
    };
    let value = match &request.deal_value {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let zone = jiff::tz::TimeZone::get(&store.settings().await?.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let (deal, deal_problems) = match deal_for(to, value.as_deref(), request.expected_close.as_deref(), &zone) {
        Ok(deal) => (deal, Vec::new()),
        Err(problems) => (None, problems),
    };
    let change = leads::StageRequest {
        lead_id: lead.id.clone(),
        from: lead.stage,
        to,
        reason: reason.map(str::to_owned),
        by: caller.user_id.clone().unwrap_or_default(),
        deal,
        workflows: crate::nurture::active_workflows(&state.nurture.active, &store).await?,
    };
    let problems = change.problems_with(deal_problems);
    if !problems.is_empty() {
        return Err(ApiError::validation("the stage change is not allowed", problems));
    }
    store.run(change).await?;
    Ok(Json(json!(store.lead(&lead.id, &LeadVisibility::All).await?)))
}

pub(super) async fn visible(store: &TenantStore<'_>, caller: &Caller, id: &str) -> Result<LeadRecord, ApiError> {
    store.lead(id, &caller.lead_visibility()).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound(format!("no lead {id:?}")),
        other => other.into(),
    })
}

fn stage_names() -> String {
    Stage::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagBody {
    tag: String,
}

/// `POST /api/v1/leads/{id}/tags`: tags the lead (201, or 200 when it had
/// the tag); a `tag_added` workflow may enrol it. Answers with its tags.
pub async fn add_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TagBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let lead = visible(&store, &caller, &id).await?;
    let tag = Tag::parse(&body.tag)
        .map_err(|e| ApiError::validation("the tag is not valid", vec![FieldError::new("/tag", e.0)]))?;
    let added = store
        .run(AddTag {
            lead_id: lead.id.clone(),
            tag,
            by: caller.user_id.clone().unwrap_or_default(),
            workflows: crate::nurture::active_workflows(&state.nurture.active, &store).await?,
        })
        .await?;
    let status = if added { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({"tags": store.lead_tags(&lead.id).await?}))))
}

/// `DELETE /api/v1/leads/{id}/tags/{tag}`.
pub async fn remove_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let lead = visible(&store, &caller, &id).await?;
    let by = caller.user_id.clone().unwrap_or_default();
    match store
        .run(RemoveTag {
            lead_id: lead.id,
            tag,
            by,
        })
        .await?
    {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::NotFound("the lead has no such tag".into())),
    }
}
