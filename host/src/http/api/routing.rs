//! Teams and the tenant's assignment rules.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::Strategy;
use crate::domain::World;
use crate::domain::{NormalizedEmail, Role};
use crate::error::{ApiError, FieldError};
use crate::http::body::JsonBody;
use crate::routing::RoutingRules;
use crate::storage::{NewTeam, StoreError, TenantStore};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamBody {
    name: String,
    /// The manager's email.
    #[serde(default)]
    manager: Option<String>,
    strategy: String,
    members: Vec<MemberBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    email: String,
    /// For the weighted strategy (default 1).
    #[serde(default)]
    weight: Option<i64>,
}

pub async fn list_teams(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let teams = state.store.tenant(caller.tenant_id()?).teams().await?;
    Ok(Json(json!({"teams": teams})))
}

pub async fn show_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match state.store.tenant(caller.tenant_id()?).team(&name).await {
        Ok(team) => Ok(Json(json!(team))),
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("no team {name:?}"))),
        Err(other) => Err(other.into()),
    }
}

pub async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<TeamBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    let team = checked_team(&store, body).await?;
    Ok((StatusCode::CREATED, Json(json!(store.save_team(&team, false).await?))))
}

/// `PUT /api/v1/teams/{name}`: a new manager, strategy or member list.
pub async fn replace_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<TeamBody>,
) -> Result<Json<Value>, ApiError> {
    if body.name != name {
        return Err(invalid_team(vec![FieldError::new(
            "/name",
            "must be the team's name in the path",
        )]));
    }
    let store = state.store.tenant(caller.tenant_id()?);
    let team = checked_team(&store, body).await?;
    match store.save_team(&team, true).await {
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("no team {name:?}"))),
        other => Ok(Json(json!(other?))),
    }
}

async fn checked_team(store: &TenantStore<'_>, body: TeamBody) -> Result<NewTeam, ApiError> {
    let mut problems = Vec::new();
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        problems.push(FieldError::new("/name", "must be 1-100 characters"));
    }
    let strategy = Strategy::parse(&body.strategy);
    if strategy.is_none() {
        problems.push(FieldError::new(
            "/strategy",
            "must be round_robin, least_loaded or weighted",
        ));
    }
    let manager_id = match &body.manager {
        None => None,
        Some(email) => match user_with_role(store, email, &[Role::Manager, Role::Admin]).await? {
            Ok(id) => Some(id),
            Err(message) => {
                problems.push(FieldError::new("/manager", message));
                None
            }
        },
    };
    let mut members = Vec::new();
    for (i, member) in body.members.iter().enumerate() {
        match user_with_role(store, &member.email, &[Role::Rep]).await? {
            Ok(id) if members.iter().any(|(m, _)| m == &id) => {
                problems.push(FieldError::new(format!("/members/{i}/email"), "is listed twice"))
            }
            Ok(id) => members.push((id, member.weight.unwrap_or(1))),
            Err(message) => problems.push(FieldError::new(format!("/members/{i}/email"), message)),
        }
        if member.weight.is_some_and(|w| !(0..=1000).contains(&w)) {
            problems.push(FieldError::new(
                format!("/members/{i}/weight"),
                "must be from 0 to 1000",
            ));
        }
    }
    match (strategy, problems.is_empty()) {
        (Some(strategy), true) => Ok(NewTeam {
            name,
            manager_id,
            strategy,
            members,
        }),
        _ => Err(invalid_team(problems)),
    }
}

fn invalid_team(problems: Vec<FieldError>) -> ApiError {
    ApiError::validation("the team is not valid", problems)
}

/// The id of the tenant's user with `email` and one of `roles`, or why not.
async fn user_with_role(
    store: &TenantStore<'_>,
    email: &str,
    roles: &[Role],
) -> Result<Result<String, String>, ApiError> {
    let Ok(email) = NormalizedEmail::parse(email) else {
        return Ok(Err(format!("{email:?} is not an email address")));
    };
    match store.user_by_email(email.as_str()).await {
        Ok(user) if roles.contains(&user.role) => Ok(Ok(user.id)),
        Ok(user) => Ok(Err(format!("{} is a {}, not a {}", user.email, user.role, roles[0]))),
        Err(StoreError::NotFound) => Ok(Err(format!("no user of this tenant has the email {}", email.as_str()))),
        Err(other) => Err(other.into()),
    }
}

/// `GET /api/v1/routing/rules` (version 0 and no rules until set).
pub async fn show_rules(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let store = state.store.tenant(caller.tenant_id()?);
    Ok(Json(match store.routing_rules().await? {
        Some(stored) => json!(stored),
        None => json!({"version": 0, "rules": {"rules": []}}),
    }))
}

/// `PUT /api/v1/routing/rules`: checked for shape, then against the tenant:
/// each team, rep and router plugin a rule names must exist.
pub async fn replace_rules(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let tenant_id = caller.tenant_id()?;
    let invalid = |problems| ApiError::validation("the routing rules are not valid", problems);
    let rules = RoutingRules::parse(body.clone()).map_err(invalid)?;
    let store = state.store.tenant(tenant_id);
    let teams = store.teams().await?;
    let routers = store.plugins().await?;
    let mut problems = Vec::new();
    for (i, rule) in rules.rules.iter().enumerate() {
        let at = |member: &str| format!("/rules/{i}/assign/{member}");
        if let Some(team) = &rule.assign.team
            && !teams.iter().any(|t| &t.name == team)
        {
            problems.push(FieldError::new(at("team"), format!("no team is named {team:?}")));
        }
        if let Some(email) = &rule.assign.rep
            && let Err(message) = user_with_role(&store, email, &[Role::Rep]).await?
        {
            problems.push(FieldError::new(at("rep"), message));
        }
        if let Some(plugin) = &rule.assign.plugin
            && !routers.iter().any(|p| &p.name == plugin && p.world == World::Router)
        {
            problems.push(FieldError::new(
                at("plugin"),
                format!("no router plugin is named {plugin:?}"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let version = store.save_routing_rules(&body, caller.user_id.as_deref()).await?;
    state.routing_rules.remember(tenant_id.to_owned(), Some(rules));
    Ok(Json(json!({"version": version, "rules": body})))
}
