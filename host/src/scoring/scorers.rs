//! The tenant's scorer plugins: called together in one trip off the async
//! workers, each call recorded on its plugin, each failure on the lead's
//! timeline. Their parts add to the model's.

use crate::domain::World;
use crate::plugins::bindings::{Lead, ScorePart};
use crate::plugins::contract::{check_score, score_json};
use crate::plugins::sandbox::{CallRecord, Limits, Sandbox};
use crate::plugins::{PluginHost, Prepared, StepCalls, prepare};
use crate::storage::{StoreResult, TenantStore};

use super::Contribution;

/// The tenant's scorers, ready to call.
pub struct Scorers(Vec<Prepared>);

impl Scorers {
    pub async fn prepare(host: &PluginHost, store: &TenantStore<'_>) -> StoreResult<Self> {
        let plugins = host.enabled(store, World::Scorer).await?;
        Ok(Self(prepare(host, store, plugins).await))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|p| p.plugin.name.as_str())
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

    /// The parts of the calls that worked, and each failure by plugin (for
    /// a bulk re-score, which counts calls instead of recording each).
    pub fn parts(&self, records: Vec<CallRecord<Vec<ScorePart>>>) -> (Vec<Contribution>, Vec<(&Prepared, String)>) {
        let mut parts = Vec::new();
        let mut failures = Vec::new();
        for (prepared, record) in self.0.iter().zip(records) {
            match record.outcome {
                Ok(list) => parts.extend(list.into_iter().map(|part| Contribution {
                    source: prepared.plugin.name.clone(),
                    rule: None,
                    points: part.points.into(),
                    reason: part.reason,
                })),
                Err(failure) => failures.push((prepared, failure.to_string())),
            }
        }
        (parts, failures)
    }

    pub fn prepared(&self) -> &[Prepared] {
        &self.0
    }

    /// Records the calls on the step; returns the parts of those that worked.
    pub fn apply(&self, step: &mut StepCalls<'_>, records: Vec<CallRecord<Vec<ScorePart>>>) -> Vec<Contribution> {
        let mut parts = Vec::new();
        for (prepared, record) in self.0.iter().zip(records) {
            let name = &prepared.plugin.name;
            for part in step
                .record(&prepared.plugin, record, |parts| score_json(parts))
                .unwrap_or_default()
            {
                parts.push(Contribution {
                    source: name.clone(),
                    rule: None,
                    points: part.points.into(),
                    reason: part.reason,
                });
            }
        }
        parts
    }
}
