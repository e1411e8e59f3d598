//! Nurture workflows: leads not ready for sales, held and sent content on a
//! schedule until they are. This first part holds the definitions: checked
//! (`workflow`) and stored as immutable versions, paused and archived over
//! the API. Runs, waits, email and the hand-over to sales build on it.

pub mod workflow;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::domain::World;
use crate::storage::{StoreResult, TenantStore};
pub use workflow::{TenantFacts, Workflow};

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
