//! The records domain modules hand to storage to write: plain data, built
//! by scoring, routing and the pipeline, written by storage as they are.

use serde_json::Value;

use super::{IdempotencyKey, JobRecord, NormalizedEmail, NormalizedPhone, Stage, Tier};
use crate::clock::Timestamp;

/// A stage the lead enters with this write.
#[derive(Debug, Clone)]
pub struct StageEntry {
    pub stage: Stage,
    pub from: Stage,
    pub reason: String,
    /// A user id, or `scoring` for an automatic promotion.
    pub by: String,
}

/// One lead's new score, computed from revision `expected_rev`.
#[derive(Debug, Clone)]
pub struct ScoreWrite {
    pub lead_id: String,
    pub expected_rev: i64,
    pub score: i32,
    pub tier: Tier,
    pub parts: Value,
    pub stage: Option<StageEntry>,
    /// Timeline entries: the score change, tier change, promotion.
    pub events: Vec<(String, Value)>,
    /// When the score will next change by itself (fading, a window closing):
    /// a decay job is kept for then.
    pub next_check: Option<Timestamp>,
}

/// Where the routing step sends a lead; a team's rep is picked when the
/// step is written.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteTo {
    Rep(String),
    Team {
        id: String,
        name: String,
    },
    Pool,
    /// Held for nurture: no owner, out of the pool, no SLA timers, until a
    /// workflow hands it to sales.
    Hold,
}

/// A routing decision with who or what made it and why.
#[derive(Debug, Clone)]
pub struct RouteStep {
    pub to: RouteTo,
    /// `rules`, a plugin's name, or `built-in`.
    pub by: String,
    pub rule: Option<String>,
    pub reason: String,
}

/// How a plugin call went, for its counters.
#[derive(Debug, Clone)]
pub struct PluginOutcome {
    pub plugin_id: String,
    pub plugin_name: String,
    pub error: Option<String>,
    /// Of the plugin's latest calls seen by this process (this one
    /// included), how many failed, and how many there were.
    pub recent: RecentCalls,
}

/// A plugin's latest calls: how many failed, of how many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecentCalls {
    pub failed: u32,
    pub calls: u32,
}

/// Everything one score-and-route step writes.
#[derive(Debug, Clone, Default)]
pub struct ProcessedLead {
    pub lead_id: String,
    /// The new score, when the step scored the lead.
    pub scored: Option<ScoreWrite>,
    /// Where the step routed the lead, when it routed it.
    pub route: Option<RouteStep>,
    pub events: Vec<(String, Value)>,
    pub calls: Vec<PluginCall>,
    pub outcomes: Vec<PluginOutcome>,
    /// Earlier successful calls of the plugins that failed in this step,
    /// counted in memory and not written yet: (plugin id, calls, last call).
    /// They are written before the failures, since a success resets the
    /// failures-in-a-row count. (Other successes are written apart, once a
    /// second: `PluginHost::count_success`.)
    pub earlier_successes: Vec<(String, i64, Timestamp)>,
}

impl ProcessedLead {
    /// The calls that failed.
    pub fn failures(&self) -> impl Iterator<Item = &PluginOutcome> {
        self.outcomes.iter().filter(|o| o.error.is_some())
    }
}

/// One plugin call, as kept on the plugin.
#[derive(Debug, Clone)]
pub struct PluginCall {
    pub plugin_id: String,
    pub lead_id: Option<String>,
    pub error: Option<String>,
    pub result: Option<Value>,
    pub logs: Value,
    pub stdout: String,
    pub stderr: String,
    pub fuel_used: u64,
    pub duration_us: u64,
    /// When the call's clocks started (its wall clock read this) and its
    /// random's seed: the call runs the same again with them.
    pub started_at: Option<Timestamp>,
    pub seed: Option<u64>,
}

/// Where a touch came from.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TouchContext {
    /// `form_page`, `api`, `import` or `webhook`.
    pub channel: &'static str,
    pub source: String,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub referrer: Option<String>,
    #[serde(skip)]
    pub idempotency_key: Option<IdempotencyKey>,
}

/// A validated, normalised submission ready to be stored.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    pub form_id: String,
    pub form_version: i32,
    pub fields: serde_json::Map<String, Value>,
    pub email: Option<NormalizedEmail>,
    pub phone: Option<NormalizedPhone>,
    pub name: Option<String>,
    pub company: Option<String>,
    pub context: TouchContext,
}

/// Where a stored submission landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeOutcome {
    pub lead_id: String,
    /// The existing lead the submission was merged into; `None` for a new lead.
    pub duplicate_of: Option<String>,
    /// The job written with the submission, to run at once: "score and
    /// route" for a new lead, "re-score" for a touch that filled fields.
    pub job: Option<JobRecord>,
}
