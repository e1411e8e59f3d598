//! What one "score and route" step works with, and the one way it calls a
//! plugin: off the async workers, with the call recorded on the plugin and
//! any failure on the lead's timeline.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::app::AppState;
use crate::plugins::bindings::Lead;
use crate::plugins::component::PluginComponent;
use crate::plugins::sandbox::{CallRecord, Limits, Sandbox};
use crate::storage::{LeadRecord, PluginCall, PluginOutcome, PluginRecord, ProcessedLead};

pub struct StepContext<'a> {
    pub state: &'a AppState,
    pub tenant_id: String,
    pub lead: Arc<Lead>,
    pub limits: Limits,
    pub done: ProcessedLead,
}

impl<'a> StepContext<'a> {
    pub fn new(state: &'a AppState, tenant_id: &str, lead: &LeadRecord, limits: Limits) -> Self {
        let plugin_lead = Lead {
            id: lead.id.clone(),
            form: lead.form.clone(),
            form_version: lead.form_version.max(0) as u32,
            fields: lead.fields.to_string(),
            channel: lead.channel.clone(),
            source: lead.source.clone(),
            score: lead.score,
            tier: lead.tier.clone(),
            stage: lead.stage.clone(),
            // Behaviour events arrive with the scoring issue.
            behaviour: Vec::new(),
            created_at: lead.created_at.to_rfc3339(),
        };
        Self {
            state,
            tenant_id: tenant_id.to_owned(),
            lead: Arc::new(plugin_lead),
            limits,
            done: ProcessedLead {
                lead_id: lead.id.clone(),
                owner_id: lead.owner_id.clone(),
                ..Default::default()
            },
        }
    }

    pub fn event(&mut self, kind: &str, detail: Value) {
        self.done.events.push((kind.to_owned(), detail));
    }

    /// Calls `plugin` through `call`; `render` turns a good result into the
    /// JSON kept with the call. `None` when the call failed (recorded).
    pub async fn invoke<T: Send + 'static>(
        &mut self,
        plugin: &PluginRecord,
        call: impl FnOnce(&PluginComponent, &Sandbox, &Limits, &Lead) -> CallRecord<T> + Send + 'static,
        render: impl FnOnce(&T) -> Value,
    ) -> Option<T> {
        let store = self.state.store.tenant(&self.tenant_id);
        let record = match self.state.plugins.component(&store, plugin).await {
            Ok(component) => {
                let (lead, limits) = (self.lead.clone(), self.limits);
                self.state
                    .plugins
                    .call(&self.tenant_id, move |sandbox| {
                        call(&component, sandbox, &limits, &lead)
                    })
                    .await
            }
            Err(failure) => CallRecord {
                outcome: Err(failure),
                logs: Vec::new(),
                logs_dropped: 0,
                stdout: String::new(),
                stderr: String::new(),
                fuel_used: 0,
                duration: Default::default(),
            },
        };
        let error = record.outcome.as_ref().err().map(|f| f.to_string());
        if let Some(error) = &error {
            tracing::info!(tenant = %self.tenant_id, plugin = %plugin.name, lead = %self.lead.id, %error, "plugin call failed");
            self.event(
                "plugin_failed",
                json!({"plugin": plugin.name, "world": plugin.world, "error": error}),
            );
        }
        self.done.calls.push(PluginCall {
            plugin_id: plugin.id.clone(),
            lead_id: Some(self.lead.id.clone()),
            error: error.clone(),
            result: record.outcome.as_ref().ok().map(render),
            logs: json!(record.logs),
            stdout: record.stdout,
            stderr: record.stderr,
            fuel_used: record.fuel_used,
            duration_us: record.duration.as_micros() as u64,
        });
        self.done.outcomes.push(PluginOutcome {
            plugin_id: plugin.id.clone(),
            plugin_name: plugin.name.clone(),
            error,
        });
        record.outcome.ok()
    }
}
