//! Routing a lead. Rules, teams and strategies arrive with the routing
//! issue; today the tenant's first enabled router plugin decides among the
//! reps, and a lead no router places goes to the public pool (no owner).

use serde_json::json;

use crate::jobs::{Prepared, StepContext};
use crate::plugins::World;
use crate::plugins::bindings::{Lead, Rep, RouteDecision};
use crate::plugins::contract::{check_route, route_json};
use crate::plugins::sandbox::{CallRecord, Limits, Sandbox};
use crate::storage::StoreResult;

/// The tenant's router (if any) with the reps it may choose from.
pub struct Router {
    router: Option<Prepared>,
    candidates: Vec<Rep>,
}

impl Router {
    pub async fn prepare(step: &StepContext<'_>) -> StoreResult<Self> {
        let store = step.state.store.tenant(&step.tenant_id);
        let Some(plugin) = step
            .state
            .plugins
            .enabled(&store, World::Router)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(Self::none());
        };
        let candidates = store
            .reps()
            .await?
            .into_iter()
            .map(|r| Rep {
                id: r.id,
                name: r.name,
                regions: r.regions,
                specialties: r.specialties,
                capacity: r.capacity.max(0) as u32,
                open_leads: r.open_leads.clamp(0, u32::MAX as i64) as u32,
                available: r.available,
            })
            .collect();
        let router = step.prepare(vec![plugin]).await.pop();
        Ok(Self { router, candidates })
    }

    /// No router: for steps that do not route.
    pub fn none() -> Self {
        Self {
            router: None,
            candidates: Vec::new(),
        }
    }

    pub fn is_set(&self) -> bool {
        self.router.is_some()
    }

    /// Calls the router (blocking: run off the async workers).
    pub fn call(&self, sandbox: &Sandbox, lead: &Lead, limits: &Limits) -> Option<CallRecord<RouteDecision>> {
        let router = self.router.as_ref()?;
        let config = router.plugin.config.to_string();
        Some(router.call(|component| {
            component
                .route(sandbox, limits, lead, &self.candidates, &config)
                .map(|decision| check_route(decision, &self.candidates))
        }))
    }

    /// Records the call; returns the owner the lead should have (`None`:
    /// the public pool).
    pub fn apply(self, step: &mut StepContext<'_>, record: Option<CallRecord<RouteDecision>>) -> Option<String> {
        let (Some(router), Some(record)) = (self.router, record) else {
            step.event(
                "routed",
                json!({"to": "public_pool", "by": "built-in", "reason": "no router is enabled"}),
            );
            return None;
        };
        let name = router.plugin.name.clone();
        let (owner, detail) = match step.record(&router.plugin, record, route_json) {
            Some(RouteDecision::Rep(assignment)) => (
                Some(assignment.id.clone()),
                json!({"to": "rep", "rep": assignment.id, "by": name, "reason": assignment.reason}),
            ),
            Some(RouteDecision::PublicPool(reason)) => {
                (None, json!({"to": "public_pool", "by": name, "reason": reason}))
            }
            // Teams do not exist yet, so `check_route` refuses them; a failed
            // call lands here too, and the built-in fallback applies.
            Some(RouteDecision::Team(_)) | None => (
                None,
                json!({"to": "public_pool", "by": "built-in", "reason": format!("router {name} gave no usable decision")}),
            ),
        };
        step.event("routed", detail);
        owner
    }
}
