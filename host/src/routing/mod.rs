//! Routing a new lead, once it is scored. With assignment rules set, the
//! first rule whose conditions hold and that can place the lead decides: a
//! team (its strategy picks the rep when the step is written), a rep, a
//! router plugin, or the public pool. Without rules, the tenant's first
//! enabled router plugin decides. Whatever no rule or plugin places goes to
//! the public pool. Every decision records who or what made it and why.

pub mod departure;
pub mod placement;
pub mod pool;
pub mod rules;
pub mod strategy;

use std::collections::HashMap;
use std::sync::Arc;

pub use rules::{RoutedLead, RoutingRules};

use crate::domain::{RouteStep, RouteTo, World};
use crate::plugins::bindings::{Lead, Rep, RouteDecision};
use crate::plugins::contract::{TeamRef, check_route, route_json};
use crate::plugins::sandbox::{CallRecord, Limits, Sandbox};
use crate::plugins::{PluginHost, Prepared, StepCalls, prepare};
use crate::recent::Recent;
use crate::storage::{RepRecord, StoreError, StoreResult, TenantStore};

/// Each tenant's current rules (`None`: none set), kept for a moment.
pub type RoutingRulesCache = Recent<String, Option<RoutingRules>>;

/// The tenant's current rules.
pub async fn current_rules(
    cache: &RoutingRulesCache,
    store: &TenantStore<'_>,
) -> StoreResult<Arc<Option<RoutingRules>>> {
    cache
        .get(store.tenant_id().to_owned(), async {
            match store.routing_rules().await? {
                Some(stored) => RoutingRules::parse(stored.rules).map(Some).map_err(|problems| {
                    StoreError::Corrupt(format!("stored routing rules no longer check: {problems:?}"))
                }),
                None => Ok(None),
            }
        })
        .await
}

/// What a step needs to route one lead.
pub struct Router {
    rules: Arc<Option<RoutingRules>>,
    /// Without rules: the router plugin called with the step's scorers.
    first: Option<Prepared>,
    /// With rules: the router plugins they name, by name.
    plugins: HashMap<String, Arc<Prepared>>,
    candidates: Arc<Vec<Rep>>,
    reps: Vec<RepRecord>,
    teams: Arc<Vec<TeamRef>>,
    /// A held lead handed to sales: `hold` rules are passed over.
    handing_over: bool,
}

impl Router {
    /// No routing: for steps that only score.
    pub fn none() -> Self {
        Self {
            rules: Arc::new(None),
            first: None,
            plugins: HashMap::new(),
            candidates: Arc::default(),
            reps: Vec::new(),
            teams: Arc::default(),
            handing_over: false,
        }
    }

    /// For a held lead handed to sales: its `hold` rule no longer applies.
    pub fn handing_over(mut self) -> Self {
        self.handing_over = true;
        self
    }

    pub async fn prepare(host: &PluginHost, rules: &RoutingRulesCache, store: &TenantStore<'_>) -> StoreResult<Self> {
        let rules = current_rules(rules, store).await?;
        let routers = host.enabled(store, World::Router).await?;
        let mut router = Self::none();
        match rules.as_ref() {
            None if routers.is_empty() => return Ok(router),
            None => router.first = prepare(host, store, routers.into_iter().take(1).collect()).await.pop(),
            Some(rules) => {
                let named: Vec<_> = routers
                    .into_iter()
                    .filter(|p| {
                        rules
                            .rules
                            .iter()
                            .any(|r| r.assign.plugin.as_deref() == Some(p.name.as_str()))
                    })
                    .collect();
                for prepared in prepare(host, store, named).await {
                    router.plugins.insert(prepared.plugin.name.clone(), Arc::new(prepared));
                }
            }
        }
        router.rules = rules;
        router.reps = store.reps().await?;
        router.candidates = Arc::new(router.reps.iter().map(candidate).collect());
        router.teams = Arc::new(
            store
                .teams()
                .await?
                .into_iter()
                .map(|t| TeamRef { id: t.id, name: t.name })
                .collect(),
        );
        Ok(router)
    }

    /// Whether a plugin is to be called with the step's scorers.
    pub fn is_set(&self) -> bool {
        self.first.is_some()
    }

    /// Calls the plugin that routes without rules (blocking: off the async workers).
    pub fn call(&self, sandbox: &Sandbox, lead: &Lead, limits: &Limits) -> Option<CallRecord<RouteDecision>> {
        let router = self.first.as_ref()?;
        Some(call_router(
            router,
            sandbox,
            lead,
            limits,
            &self.candidates,
            &self.teams,
        ))
    }

    /// Decides where the lead goes; `first` is the result of [`Router::call`].
    pub async fn decide(
        self,
        step: &mut StepCalls<'_>,
        first: Option<CallRecord<RouteDecision>>,
        lead: &RoutedLead<'_>,
    ) -> RouteStep {
        let Some(rules) = self.rules.as_ref().as_ref() else {
            return match (&self.first, first) {
                (Some(router), Some(record)) => {
                    let name = router.plugin.name.clone();
                    let decision = step.record(&router.plugin, record, route_json);
                    self.place(decision, &name, None)
                        .unwrap_or_else(|| pool("built-in", None, format!("router {name} gave no usable decision")))
                }
                _ => pool("built-in", None, "no router is enabled".into()),
            };
        };
        let mut skipped = Vec::new();
        for rule in &rules.rules {
            if !rule.when.matches(lead) {
                continue;
            }
            let id = Some(rule.id.clone());
            let matched = format!("rule {} matched", rule.id);
            let target = &rule.assign;
            if target.hold == Some(true) {
                // A hand-over to sales routes by the rules below the hold.
                if !self.handing_over {
                    return RouteStep {
                        to: RouteTo::Hold,
                        by: "rules".into(),
                        rule: id,
                        reason: format!("{matched}: held for nurture"),
                    };
                }
            } else if target.pool == Some(true) {
                return pool("rules", id, matched);
            } else if let Some(name) = &target.team {
                match self.teams.iter().find(|t| &t.name == name) {
                    Some(team) => return self.team(team, "rules", id, matched),
                    None => skipped.push(format!("rule {}: no team {name}", rule.id)),
                }
            } else if let Some(email) = &target.rep {
                match self.reps.iter().find(|r| r.email.eq_ignore_ascii_case(email)) {
                    Some(rep) if rep.can_take() => {
                        return RouteStep {
                            to: RouteTo::Rep(rep.id.clone()),
                            by: "rules".into(),
                            rule: id,
                            reason: matched,
                        };
                    }
                    Some(_) => skipped.push(format!("rule {}: {email} is away or at capacity", rule.id)),
                    None => skipped.push(format!("rule {}: no rep {email}", rule.id)),
                }
            } else if let Some(name) = &target.plugin {
                match self.plugins.get(name) {
                    Some(router) => {
                        let record = self.run_plugin(step, router.clone()).await;
                        let decision = step.record(&router.plugin, record, route_json);
                        match self.place(decision, name, id) {
                            Some(placed) => return placed,
                            None => skipped.push(format!("rule {}: router {name} gave no usable decision", rule.id)),
                        }
                    }
                    None => skipped.push(format!("rule {}: router {name} is not enabled", rule.id)),
                }
            }
        }
        let mut reason = "no rule placed the lead".to_owned();
        if !skipped.is_empty() {
            reason.push_str(&format!(" ({})", skipped.join("; ")));
        }
        pool("built-in", None, reason)
    }

    /// A plugin's decision as a routing step; `None` when it gave none.
    fn place(&self, decision: Option<RouteDecision>, name: &str, rule: Option<String>) -> Option<RouteStep> {
        Some(match decision? {
            RouteDecision::Rep(a) => RouteStep {
                to: RouteTo::Rep(a.id),
                by: name.to_owned(),
                rule,
                reason: a.reason,
            },
            RouteDecision::Team(a) => {
                let team = self.teams.iter().find(|t| t.id == a.id || t.name == a.id)?;
                self.team(team, name, rule, a.reason)
            }
            RouteDecision::PublicPool(reason) => pool(name, rule, reason),
        })
    }

    fn team(&self, team: &TeamRef, by: &str, rule: Option<String>, reason: String) -> RouteStep {
        RouteStep {
            to: RouteTo::Team {
                id: team.id.clone(),
                name: team.name.clone(),
            },
            by: by.to_owned(),
            rule,
            reason,
        }
    }

    /// One router plugin call in a trip of its own (rules reach plugins only
    /// after scoring).
    async fn run_plugin(&self, step: &StepCalls<'_>, router: Arc<Prepared>) -> CallRecord<RouteDecision> {
        let (lead, limits) = (step.lead.clone(), step.limits);
        let (candidates, teams) = (self.candidates.clone(), self.teams.clone());
        step.host
            .run(&step.tenant_id, move |sandbox| {
                call_router(&router, sandbox, &lead, &limits, &candidates, &teams)
            })
            .await
            .unwrap_or_else(CallRecord::failed)
    }
}

fn call_router(
    router: &Prepared,
    sandbox: &Sandbox,
    lead: &Lead,
    limits: &Limits,
    candidates: &[Rep],
    teams: &[TeamRef],
) -> CallRecord<RouteDecision> {
    let config = router.plugin.config.to_string();
    router.call(|component| {
        component
            .route(sandbox, limits, lead, candidates, &config)
            .map(|decision| check_route(decision, candidates, Some(teams)))
    })
}

fn pool(by: &str, rule: Option<String>, reason: String) -> RouteStep {
    RouteStep {
        to: RouteTo::Pool,
        by: by.to_owned(),
        rule,
        reason,
    }
}

/// A rep as a router plugin is handed them.
fn candidate(rep: &RepRecord) -> Rep {
    Rep {
        id: rep.id.clone(),
        name: rep.name.clone(),
        regions: rep.regions.clone(),
        specialties: rep.specialties.clone(),
        capacity: rep.capacity.max(0) as u32,
        open_leads: rep.open_leads.clamp(0, u32::MAX as i64) as u32,
        available: rep.available,
    }
}
