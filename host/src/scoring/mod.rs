//! Scoring a lead. The built-in model arrives with the scoring issue; until
//! then the built-in score is 0 and each enabled scorer plugin's parts add
//! to it, every part with its reason.

use serde_json::json;

use crate::jobs::StepContext;
use crate::plugins::contract::{check_score, score_json};
use crate::storage::StoreResult;

/// Runs the tenant's scorers; returns the lead's new score.
pub async fn score_lead(step: &mut StepContext<'_>) -> StoreResult<i32> {
    let plugins = step
        .state
        .store
        .tenant(&step.tenant_id)
        .enabled_plugins("scorer")
        .await?;
    let mut total = 0i32;
    let mut parts = Vec::new();
    for plugin in &plugins {
        let config = plugin.config.to_string();
        let scored = step
            .invoke(
                plugin,
                move |component, sandbox, limits, lead| {
                    component.score(sandbox, limits, lead, &config).map(check_score)
                },
                |parts| score_json(parts),
            )
            .await;
        for part in scored.unwrap_or_default() {
            total = total.saturating_add(part.points);
            parts.push(json!({"source": plugin.name, "points": part.points, "reason": part.reason}));
        }
    }
    if !plugins.is_empty() {
        step.event("scored", json!({"score": total, "parts": parts}));
    }
    Ok(total)
}
