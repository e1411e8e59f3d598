//! Routing a lead. Rules, teams and strategies arrive with the routing
//! issue; today the tenant's first enabled router plugin decides among the
//! reps, and a lead no router places goes to the public pool (no owner).

use serde_json::json;

use crate::jobs::StepContext;
use crate::plugins::bindings::{Rep, RouteDecision};
use crate::plugins::contract::{check_route, route_json};
use crate::storage::StoreResult;

/// Returns the owner the lead should have (`None`: the public pool).
pub async fn route_lead(step: &mut StepContext<'_>) -> StoreResult<Option<String>> {
    let store = step.state.store.tenant(&step.tenant_id);
    let Some(router) = store.enabled_plugins("router").await?.into_iter().next() else {
        step.event(
            "routed",
            json!({"to": "public_pool", "by": "built-in", "reason": "no router is enabled"}),
        );
        return Ok(None);
    };
    let candidates: Vec<Rep> = store
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
    let config = router.config.to_string();
    let decision = step
        .invoke(
            &router,
            move |component, sandbox, limits, lead| {
                component
                    .route(sandbox, limits, lead, &candidates, &config)
                    .map(|decision| check_route(decision, &candidates))
            },
            route_json,
        )
        .await;
    let (owner, detail) = match decision {
        Some(RouteDecision::Rep(assignment)) => (
            Some(assignment.id.clone()),
            json!({"to": "rep", "rep": assignment.id, "by": router.name, "reason": assignment.reason}),
        ),
        Some(RouteDecision::PublicPool(reason)) => {
            (None, json!({"to": "public_pool", "by": router.name, "reason": reason}))
        }
        // Teams do not exist yet, so `check_route` refuses them; a failed
        // call lands here too, and the built-in fallback applies.
        Some(RouteDecision::Team(_)) | None => (
            None,
            json!({"to": "public_pool", "by": "built-in", "reason": format!("router {} gave no usable decision", router.name)}),
        ),
    };
    step.event("routed", detail);
    Ok(owner)
}
