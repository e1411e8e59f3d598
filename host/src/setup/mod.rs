//! The tenant's setup that admins edit: the scoring model, the routing
//! rules, the SLA policy and the pool settings. Each is checked and saved
//! here, for the API and the admin pages alike: every problem at its JSON
//! pointer, every save logged with who made it (`setting_changes`).

pub mod teams;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::domain::{NormalizedEmail, Role, World};
use crate::error::{ApiError, FieldError};
use crate::followup::SlaPolicy;
use crate::routing::RoutingRules;
use crate::scoring::ScoreModel;
use crate::storage::{PoolSettings, StoreError, StoreResult, TenantStore};

/// One part of the setup, edited as one JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    ScoringModel,
    RoutingRules,
    SlaPolicy,
    PoolSettings,
}

/// Why a setting was not saved.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{title}")]
    Invalid {
        title: &'static str,
        problems: Vec<FieldError>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SetupError> for ApiError {
    fn from(e: SetupError) -> Self {
        match e {
            SetupError::Invalid { title, problems } => ApiError::validation(title, problems),
            SetupError::Store(e) => e.into(),
        }
    }
}

impl Setting {
    pub const ALL: [Setting; 4] = [
        Setting::ScoringModel,
        Setting::RoutingRules,
        Setting::SlaPolicy,
        Setting::PoolSettings,
    ];

    /// Its name in URLs and in the change log.
    pub fn slug(self) -> &'static str {
        match self {
            Setting::ScoringModel => "scoring_model",
            Setting::RoutingRules => "routing_rules",
            Setting::SlaPolicy => "sla_policy",
            Setting::PoolSettings => "pool_settings",
        }
    }

    pub fn parse(slug: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.slug() == slug)
    }

    fn invalid(self, problems: Vec<FieldError>) -> SetupError {
        let title = match self {
            Setting::ScoringModel => "the scoring model is not valid",
            Setting::RoutingRules => "the routing rules are not valid",
            Setting::SlaPolicy => "the SLA policy is not valid",
            Setting::PoolSettings => "the pool settings are not valid",
        };
        SetupError::Invalid { title, problems }
    }

    /// The document as it stands, for an editor to start from (a starting
    /// point where the tenant has none yet).
    pub async fn current(self, store: &TenantStore<'_>) -> StoreResult<Value> {
        Ok(match self {
            Setting::ScoringModel => match store.scoring_model().await? {
                Some(stored) => stored.model,
                None => json!(ScoreModel::default()),
            },
            Setting::RoutingRules => match store.routing_rules().await? {
                Some(stored) => stored.rules,
                None => json!({"rules": []}),
            },
            Setting::SlaPolicy => match store.sla_policy().await? {
                Some(policy) => policy,
                None => json!({
                    "first_touch_minutes": {"hot": 30, "warm": 240, "cold": 1440},
                    "warn_before_minutes": 15,
                    "follow_up_hours": 48
                }),
            },
            Setting::PoolSettings => json!(store.pool_settings().await?),
        })
    }

    /// Checks `body` and saves it as `by`'s change; the saved setting as the
    /// API answers it.
    pub async fn replace(
        self,
        state: &AppState,
        tenant_id: &str,
        by: Option<&str>,
        body: Value,
    ) -> Result<Value, SetupError> {
        let store = state.store.tenant(tenant_id);
        match self {
            Setting::ScoringModel => {
                let model = ScoreModel::parse(body.clone()).map_err(|p| self.invalid(p))?;
                let started = store.save_scoring_model(&body, by).await?;
                state.score_models.remember(tenant_id.to_owned(), model);
                let version = started.run.model_version;
                let run = json!(started.run);
                crate::jobs::spawn(state, started.job);
                Ok(json!({"version": version, "rescore": run}))
            }
            Setting::RoutingRules => {
                let rules = RoutingRules::parse(body.clone()).map_err(|p| self.invalid(p))?;
                let problems = rules_against_tenant(&rules, &store).await?;
                if !problems.is_empty() {
                    return Err(self.invalid(problems));
                }
                let version = store.save_routing_rules(&body, by).await?;
                state.routing_rules.remember(tenant_id.to_owned(), Some(rules));
                Ok(json!({"version": version, "rules": body}))
            }
            Setting::SlaPolicy => {
                SlaPolicy::parse(body.clone()).map_err(|p| self.invalid(p))?;
                store.set_sla_policy(Some(&body), by).await?;
                Ok(json!({"policy": body}))
            }
            Setting::PoolSettings => {
                let settings = pool_settings(body).map_err(|p| self.invalid(p))?;
                store.set_pool_settings(settings, by).await?;
                Ok(json!(settings))
            }
        }
    }
}

/// Each team, rep and router plugin a rule names must exist.
async fn rules_against_tenant(rules: &RoutingRules, store: &TenantStore<'_>) -> StoreResult<Vec<FieldError>> {
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
            && let Err(message) = user_with_role(store, email, &[Role::Rep]).await?
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
    Ok(problems)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolSettingsBody {
    #[serde(default)]
    claim_limit: Option<i64>,
    #[serde(default)]
    bar_hours: Option<i64>,
}

/// The pool's rules: `null` (or absent) turns one off.
fn pool_settings(body: Value) -> Result<PoolSettings, Vec<FieldError>> {
    let body: PoolSettingsBody = serde_path_to_error::deserialize(body).map_err(|e| vec![FieldError::from_path(&e)])?;
    let mut problems = Vec::new();
    if body.claim_limit.is_some_and(|n| !(1..=10_000).contains(&n)) {
        problems.push(FieldError::new("/claim_limit", "must be from 1 to 10000 claims a day"));
    }
    if body.bar_hours.is_some_and(|h| !(1..=24 * 365).contains(&h)) {
        problems.push(FieldError::new("/bar_hours", "must be from 1 to 8760 hours"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(PoolSettings {
        claim_limit: body.claim_limit,
        bar_hours: body.bar_hours,
    })
}

/// The id of the tenant's user with `email` and one of `roles`, or why not.
pub async fn user_with_role(
    store: &TenantStore<'_>,
    email: &str,
    roles: &[Role],
) -> StoreResult<Result<String, String>> {
    let Ok(email) = NormalizedEmail::parse(email) else {
        return Ok(Err(format!("{email:?} is not an email address")));
    };
    match store.user_by_email(email.as_str()).await {
        Ok(user) if roles.contains(&user.role) => Ok(Ok(user.id)),
        Ok(user) => Ok(Err(format!("{} is a {}, not a {}", user.email, user.role, roles[0]))),
        Err(StoreError::NotFound) => Ok(Err(format!("no user of this tenant has the email {}", email.as_str()))),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_has_one_slug() {
        for setting in Setting::ALL {
            assert_eq!(Setting::parse(setting.slug()), Some(setting));
        }
        assert_eq!(Setting::parse("nope"), None);
    }

    #[test]
    fn a_rules_problem_is_at_its_own_pointer() {
        let model = json!({"tiers": {"warm": 5, "hot": 10}, "promote": {"mql": 5, "sql": 10}, "rules": [
            {"kind": "attribute", "id": "size", "field": "company_size",
             "cases": [{"equals": "200-999", "points": "twelve"}]}
        ]});
        let problems = ScoreModel::parse(model).unwrap_err();
        assert_eq!(problems[0].pointer, "/rules/0/cases/0/points", "{problems:?}");
    }

    #[test]
    fn pool_settings_say_which_member_is_wrong() {
        let problems = pool_settings(json!({"claim_limit": 0, "bar_hours": 9000})).unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/claim_limit", "/bar_hours"]);
        let problems = pool_settings(json!({"claim_limit": "ten"})).unwrap_err();
        assert_eq!(problems[0].pointer, "/claim_limit");
        let unknown = pool_settings(json!({"limit": 3})).unwrap_err();
        assert!(unknown[0].message.contains("unknown field"), "{unknown:?}");
        assert!(pool_settings(json!({"claim_limit": 5, "bar_hours": null})).is_ok());
    }
}
