//! The plugin calls one lead's step makes: the lead as plugins see it, the
//! tenant's limits, and each call's record. Plugins are prepared (their
//! components resolved) on the async side, run together in one trip off the
//! async workers, and recorded here: each call counted on its plugin, each
//! failure on the lead's timeline.

use std::sync::Arc;

use serde_json::{Value, json};

use super::PluginHost;
use super::bindings::{BehaviourCount, Lead};
use super::component::PluginComponent;
use super::sandbox::{CallRecord, Failure, Limits};
use crate::clock::Timestamp;
use crate::domain::{PluginCall, PluginOutcome};
use crate::storage::{LeadRecord, PluginRecord, TenantStore};

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

/// Resolves each plugin's compiled component.
pub async fn prepare(host: &PluginHost, store: &TenantStore<'_>, plugins: Vec<PluginRecord>) -> Vec<Prepared> {
    let mut prepared = Vec::with_capacity(plugins.len());
    for plugin in plugins {
        let component = host.component(store, &plugin).await;
        prepared.push(Prepared { plugin, component });
    }
    prepared
}

/// One step's plugin calls as they are made.
pub struct StepCalls<'a> {
    pub host: &'a PluginHost,
    pub tenant_id: String,
    pub lead: Arc<Lead>,
    pub limits: Limits,
    /// The records kept (every failure; successes sampled).
    pub calls: Vec<PluginCall>,
    /// How each call went, for the plugins' counters.
    pub outcomes: Vec<PluginOutcome>,
    /// Timeline entries: each failure.
    pub events: Vec<(String, Value)>,
}

impl<'a> StepCalls<'a> {
    pub fn new(
        host: &'a PluginHost,
        tenant_id: &str,
        lead: &LeadRecord,
        behaviour: Vec<BehaviourCount>,
        limits: Limits,
    ) -> Self {
        Self {
            host,
            tenant_id: tenant_id.to_owned(),
            lead: Arc::new(plugin_lead(lead, behaviour)),
            limits,
            calls: Vec::new(),
            outcomes: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Records one call; returns its value when it succeeded.
    pub fn record<T>(
        &mut self,
        plugin: &PluginRecord,
        record: CallRecord<T>,
        render: impl FnOnce(&T) -> Value,
    ) -> Option<T> {
        let error = record.outcome.as_ref().err().map(|f| f.to_string());
        match &error {
            Some(error) => {
                let error = super::capped::for_log(error);
                tracing::info!(tenant = %self.tenant_id, plugin = %plugin.name, lead = %self.lead.id, %error, "plugin call failed");
                self.events.push((
                    "plugin_failed".to_owned(),
                    json!({"plugin": plugin.name, "world": plugin.world, "error": error}),
                ));
            }
            None => self.host.count_success(&self.tenant_id, &plugin.id, Timestamp::now()),
        }
        // Every failure keeps its record; successes are sampled (see
        // `PluginHost::keep_success`). Counters count every call.
        if error.is_some() || self.host.keep_success(&plugin.id) {
            self.calls.push(PluginCall {
                plugin_id: plugin.id.clone(),
                lead_id: Some(self.lead.id.clone()),
                error: error.clone(),
                result: record.outcome.as_ref().ok().map(render),
                logs: json!(record.logs),
                stdout: record.stdout,
                stderr: record.stderr,
                fuel_used: record.fuel_used,
                duration_us: record.duration.as_micros() as u64,
                started_at: record.env.map(|env| env.at),
                seed: record.env.map(|env| env.seed),
            });
        }
        let recent = self.host.note_outcome(&plugin.id, error.is_some());
        self.outcomes.push(PluginOutcome {
            plugin_id: plugin.id.clone(),
            plugin_name: plugin.name.clone(),
            error,
            recent,
        });
        record.outcome.ok()
    }
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
