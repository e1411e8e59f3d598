//! Teams, edited one at a time as JSON (`{"name", "manager"?, "strategy",
//! "members": [{"email", "weight"?}]}`): checked against the tenant (the
//! manager and each member must be users of the right role), saved, logged
//! as a change of `teams`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{SetupError, user_with_role};
use crate::domain::{Role, Strategy};
use crate::error::FieldError;
use crate::storage::{NewTeam, TeamRecord, TenantStore};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamBody {
    name: String,
    /// The manager's email.
    #[serde(default)]
    manager: Option<String>,
    strategy: String,
    members: Vec<MemberBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    email: String,
    /// For the weighted strategy (default 1).
    #[serde(default)]
    weight: Option<i64>,
}

fn invalid(problems: Vec<FieldError>) -> SetupError {
    SetupError::Invalid {
        title: "the team is not valid",
        problems,
    }
}

/// Saves a team: a new one, or with `existing` the team of that name (the
/// document must keep its name). `NotFound` for no such team.
pub async fn save_team(
    store: &TenantStore<'_>,
    by: Option<&str>,
    body: Value,
    existing: Option<&str>,
) -> Result<TeamRecord, SetupError> {
    let parsed: TeamBody =
        serde_path_to_error::deserialize(body.clone()).map_err(|e| invalid(vec![FieldError::from_path(&e)]))?;
    if let Some(name) = existing
        && parsed.name != name
    {
        return Err(invalid(vec![FieldError::new(
            "/name",
            "must be the team's name in the path",
        )]));
    }
    let team = checked(store, parsed).await?;
    Ok(store.save_team(&team, existing.is_some(), by, &body).await?)
}

/// A team as its editor shows it: the document `save_team` takes.
pub fn document(team: &TeamRecord, manager_email: Option<&str>) -> Value {
    let members: Vec<Value> = team
        .members
        .iter()
        .map(|m| json!({"email": m.email, "weight": m.weight}))
        .collect();
    let mut doc = json!({"name": team.name, "strategy": team.strategy.as_str(), "members": members});
    if let Some(email) = manager_email {
        doc["manager"] = json!(email);
    }
    doc
}

async fn checked(store: &TenantStore<'_>, body: TeamBody) -> Result<NewTeam, SetupError> {
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
        _ => Err(invalid(problems)),
    }
}
