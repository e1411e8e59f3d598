//! What one lead step (score, and route a new lead) works with: the lead as plugins see it,
//! the tenant's limits, and what the step will write. Plugin calls are
//! prepared (components resolved) on the async side, run together in one
//! trip off the async workers, and recorded here: each call on its plugin,
//! each failure on the lead's timeline.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::app::AppState;
use crate::domain::{PluginCall, PluginOutcome, ProcessedLead};
use crate::plugins::bindings::{BehaviourCount, Lead};
use crate::plugins::component::PluginComponent;
use crate::plugins::sandbox::{CallRecord, Failure, Limits};
use crate::storage::{LeadRecord, PluginRecord};

pub struct StepContext<'a> {
    pub state: &'a AppState,
    pub tenant_id: String,
    pub lead: Arc<Lead>,
    pub limits: Limits,
    pub done: ProcessedLead,
}

/// A plugin ready to call: its record and its compiled component (or why
/// there is none).
pub struct Prepared {
    pub plugin: PluginRecord,
    pub component: Result<Arc<PluginComponent>, Failure>,
}

impl Prepared {
    /// Calls the component, or reports why it could not be loaded.
    pub fn call<T>(&self, call: impl FnOnce(&PluginComponent) -> CallRecord<T>) -> CallRecord<T> {
        match &self.component {
            Ok(component) => call(component),
            Err(failure) => CallRecord::failed(failure.clone()),
        }
    }
}

impl<'a> StepContext<'a> {
    pub fn new(
        state: &'a AppState,
        tenant_id: &str,
        lead: &LeadRecord,
        behaviour: Vec<BehaviourCount>,
        limits: Limits,
    ) -> Self {
        Self {
            state,
            tenant_id: tenant_id.to_owned(),
            lead: Arc::new(plugin_lead(lead, behaviour)),
            limits,
            done: ProcessedLead {
                lead_id: lead.id.clone(),
                ..Default::default()
            },
        }
    }

    pub fn event(&mut self, kind: &str, detail: Value) {
        self.done.events.push((kind.to_owned(), detail));
    }

    /// Resolves each plugin's compiled component.
    pub async fn prepare(&self, plugins: Vec<PluginRecord>) -> Vec<Prepared> {
        prepare(self.state, &self.tenant_id, plugins).await
    }

    /// Records one call; returns its value when it succeeded.
    pub fn record<T>(
        &mut self,
        plugin: &PluginRecord,
        record: CallRecord<T>,
        render: impl FnOnce(&T) -> Value,
    ) -> Option<T> {
        let error = record.outcome.as_ref().err().map(|f| f.to_string());
        if let Some(error) = &error {
            tracing::info!(tenant = %self.tenant_id, plugin = %plugin.name, lead = %self.lead.id, %error, "plugin call failed");
            self.event(
                "plugin_failed",
                json!({"plugin": plugin.name, "world": plugin.world, "error": error}),
            );
        }
        if error.is_none() {
            self.state
                .plugins
                .count_success(&self.tenant_id, &plugin.id, crate::clock::Timestamp::now());
        }
        // Every failure keeps its record; successes are sampled (see
        // `PluginHost::keep_success`). Counters count every call.
        if error.is_some() || self.state.plugins.keep_success(&plugin.id) {
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
        }
        self.done.outcomes.push(PluginOutcome {
            plugin_id: plugin.id.clone(),
            plugin_name: plugin.name.clone(),
            error,
        });
        record.outcome.ok()
    }
}

/// Resolves each plugin's compiled component.
pub async fn prepare(state: &AppState, tenant_id: &str, plugins: Vec<PluginRecord>) -> Vec<Prepared> {
    let store = state.store.tenant(tenant_id);
    let mut prepared = Vec::with_capacity(plugins.len());
    for plugin in plugins {
        let component = state.plugins.component(&store, &plugin).await;
        prepared.push(Prepared { plugin, component });
    }
    prepared
}

/// The lead as plugins see it.
pub fn plugin_lead(lead: &LeadRecord, behaviour: Vec<BehaviourCount>) -> Lead {
    Lead {
        id: lead.id.clone(),
        form: lead.form.clone(),
        form_version: lead.form_version.max(0) as u32,
        fields: lead.fields.to_string(),
        channel: lead.channel.clone(),
        source: lead.source.clone(),
        score: lead.score,
        tier: lead.tier.as_str().to_owned(),
        stage: lead.stage.as_str().to_owned(),
        behaviour,
        created_at: lead.created_at.to_rfc3339(),
    }
}
