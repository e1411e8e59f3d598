//! Nurture workflows: leads not ready for sales, held and sent content on a
//! schedule until they are.
//!
//! - `workflow`: the definition, checked at PUT (every problem at its pointer).
//! - `enrolment`: what a lead's change does to runs, in the unit that makes
//!   the change: enrols it, ends runs whose exit conditions it meets, and
//!   wakes runs waiting for it. Never a periodic scan.
//! - `run`: a run's next steps (the `nurture` job): evaluated, then written
//!   with the job's removal in one unit, so a crash neither loses nor
//!   repeats a step.
//! - `actions`: a nurture-step plugin's actions, each checked.
//! - `publish`: a definition checked and stored as the next version (the
//!   API's PUT and the workflows page).

pub mod actions;
pub mod enrolment;
pub mod publish;
pub mod report;
pub mod run;
pub mod workflow;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use crate::domain::World;
use crate::recent::{Recent, SETTINGS_TTL};
use crate::storage::{StoreError, StoreResult, TenantStore};
pub use enrolment::{LeadChange, react};
pub use workflow::{TenantFacts, Workflow};

/// A workflow enrolling leads now: its current version.
#[derive(Debug, Clone)]
pub struct ActiveWorkflow {
    pub workflow_id: String,
    pub slug: String,
    pub version: i32,
    pub workflow: Workflow,
}

/// Each tenant's active workflows, read once a while (every change that
/// could enrol a lead consults them).
pub type ActiveWorkflows = Recent<String, Vec<ActiveWorkflow>>;

/// What runs and enrolments read again and again, kept a while (a change
/// made through this process applies at once; another's within the TTL).
pub struct NurtureCaches {
    pub active: ActiveWorkflows,
    /// Each tenant's consent fields.
    pub consent: Recent<String, BTreeSet<String>>,
    /// Workflow versions by (workflow id, version): they never change.
    pub versions: Recent<(String, i32), Workflow>,
}

impl Default for NurtureCaches {
    fn default() -> Self {
        Self {
            active: ActiveWorkflows::new(SETTINGS_TTL),
            consent: Recent::new(SETTINGS_TTL),
            versions: Recent::forever(),
        }
    }
}

impl NurtureCaches {
    /// Forgets the tenant's active workflows (one was published, paused, ...).
    pub fn forget(&self, tenant_id: &str) {
        self.active.retain(|tenant| tenant != tenant_id);
    }

    pub async fn consent_fields(&self, store: &TenantStore<'_>) -> StoreResult<Arc<BTreeSet<String>>> {
        self.consent
            .get(store.tenant_id().to_owned(), consent_fields(store))
            .await
    }

    /// A run's workflow as its version says, and the workflow's status now
    /// (an active workflow's from the cache, else read).
    pub async fn run_workflow(
        &self,
        store: &TenantStore<'_>,
        workflow_id: &str,
        version: i32,
    ) -> StoreResult<(crate::domain::WorkflowStatus, Arc<Workflow>)> {
        let active = active_workflows(&self.active, store).await?;
        let key = (workflow_id.to_owned(), version);
        if active.iter().any(|w| w.workflow_id == workflow_id)
            && let Some(workflow) = self.versions.fresh(&key)
        {
            return Ok((crate::domain::WorkflowStatus::Active, workflow));
        }
        let (status, definition) = store.run_workflow(workflow_id, version).await?;
        let workflow = self.versions.remember(key, Workflow::stored(definition)?);
        Ok((status, workflow))
    }
}

/// The tenant's active workflows at their current versions.
pub async fn active_workflows(
    cache: &ActiveWorkflows,
    store: &TenantStore<'_>,
) -> StoreResult<Arc<Vec<ActiveWorkflow>>> {
    cache
        .get(store.tenant_id().to_owned(), async {
            store
                .active_workflow_versions()
                .await?
                .into_iter()
                .map(|stored| {
                    Ok(ActiveWorkflow {
                        workflow: Workflow::stored(stored.definition)?,
                        workflow_id: stored.workflow_id,
                        slug: stored.slug,
                        version: stored.version,
                    })
                })
                .collect()
        })
        .await
}

impl Workflow {
    /// A stored version (checked when it was published).
    pub fn stored(definition: Value) -> StoreResult<Self> {
        serde_json::from_value(definition).map_err(|e| StoreError::Corrupt(format!("stored workflow: {e}")))
    }
}

/// What a tenant's workflows are checked against: each form's fields (of its
/// current version, conditional ones included) and its nurture-step plugins.
pub async fn tenant_facts(store: &TenantStore<'_>) -> StoreResult<TenantFacts> {
    let mut form_fields = BTreeMap::new();
    for form in store.forms().await? {
        let version = store.form_version(&form.id, form.current_version).await?;
        let schema: Value = serde_json::from_str(&version.schema).unwrap_or(Value::Null);
        let mut fields = BTreeSet::new();
        collect_properties(&schema, &mut fields);
        form_fields.insert(form.slug, fields);
    }
    let step_plugins = store
        .plugins()
        .await?
        .into_iter()
        .filter(|plugin| plugin.world == World::NurtureStep)
        .map(|plugin| plugin.name)
        .collect();
    Ok(TenantFacts {
        form_fields,
        step_plugins,
    })
}

/// The fields the tenant's forms mark as consent to email
/// (`"x-lead-field": "consent"`), in any version: a lead consents when one
/// of them is `true` in its fields.
pub async fn consent_fields(store: &TenantStore<'_>) -> StoreResult<BTreeSet<String>> {
    let mut fields = BTreeSet::new();
    for form in store.forms().await? {
        let version = store.form_version(&form.id, form.current_version).await?;
        let schema: Value = serde_json::from_str(&version.schema).unwrap_or(Value::Null);
        collect_marked(&schema, "consent", &mut fields);
    }
    Ok(fields)
}

/// Whether the lead's fields give consent through one of `consent_fields`.
pub fn consents(fields: &Value, consent_fields: &BTreeSet<String>) -> bool {
    consent_fields.iter().any(|f| fields.get(f) == Some(&Value::Bool(true)))
}

/// The properties marked `"x-lead-field": role`, at any depth.
fn collect_marked(schema: &Value, role: &str, into: &mut BTreeSet<String>) {
    match schema {
        Value::Object(members) => {
            if let Some(Value::Object(properties)) = members.get("properties") {
                for (name, property) in properties {
                    if property.get("x-lead-field").and_then(Value::as_str) == Some(role) {
                        into.insert(name.clone());
                    }
                }
            }
            members.values().for_each(|member| collect_marked(member, role, into));
        }
        Value::Array(items) => items.iter().for_each(|item| collect_marked(item, role, into)),
        _ => {}
    }
}

/// The names under every `properties` in a JSON Schema: top-level fields
/// and those inside `if`/`then`/`else` and `allOf`.
fn collect_properties(schema: &Value, into: &mut BTreeSet<String>) {
    match schema {
        Value::Object(members) => {
            if let Some(Value::Object(properties)) = members.get("properties") {
                into.extend(properties.keys().cloned());
            }
            members.values().for_each(|member| collect_properties(member, into));
        }
        Value::Array(items) => items.iter().for_each(|item| collect_properties(item, into)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_fields_count() {
        let schema = serde_json::json!({
            "properties": {"name": {}, "budget": {}},
            "allOf": [{"if": {"properties": {"budget": {"const": ">1m"}}},
                       "then": {"properties": {"procurement": {"type": "string"}}}}]
        });
        let mut fields = BTreeSet::new();
        collect_properties(&schema, &mut fields);
        assert_eq!(fields, ["budget", "name", "procurement"].map(String::from).into());
    }
}
