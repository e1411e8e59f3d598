//! Scoring a lead. The built-in model arrives with the scoring issue; until
//! then the built-in score is 0 and each enabled scorer plugin's parts add
//! to it, every part with its reason.

use serde_json::json;

use crate::jobs::{Prepared, StepContext};
use crate::plugins::World;
use crate::plugins::bindings::{Lead, ScorePart};
use crate::plugins::contract::{check_score, score_json};
use crate::plugins::sandbox::{CallRecord, Limits, Sandbox};
use crate::storage::StoreResult;

/// The tenant's scorers, ready to call.
pub struct Scorers(Vec<Prepared>);

impl Scorers {
    pub async fn prepare(step: &StepContext<'_>) -> StoreResult<Self> {
        let store = step.state.store.tenant(&step.tenant_id);
        let plugins = step.state.plugins.enabled(&store, World::Scorer).await?;
        Ok(Self(step.prepare(plugins).await))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Calls every scorer (blocking: run off the async workers).
    pub fn call(&self, sandbox: &Sandbox, lead: &Lead, limits: &Limits) -> Vec<CallRecord<Vec<ScorePart>>> {
        self.0
            .iter()
            .map(|p| {
                let config = p.plugin.config.to_string();
                p.call(|component| component.score(sandbox, limits, lead, &config).map(check_score))
            })
            .collect()
    }

    /// Records the calls and returns the lead's new score.
    pub fn apply(self, step: &mut StepContext<'_>, records: Vec<CallRecord<Vec<ScorePart>>>) -> i32 {
        if self.0.is_empty() {
            return 0;
        }
        let mut total = 0i32;
        let mut parts = Vec::new();
        for (prepared, record) in self.0.iter().zip(records) {
            for part in step
                .record(&prepared.plugin, record, |parts| score_json(parts))
                .unwrap_or_default()
            {
                total = total.saturating_add(part.points);
                parts.push(json!({"source": prepared.plugin.name, "points": part.points, "reason": part.reason}));
            }
        }
        step.event("scored", json!({"score": total, "parts": parts}));
        total
    }
}
