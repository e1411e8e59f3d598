//! The domain's plain data: parsed values (once a raw string becomes one of
//! these it is known good, so nothing deeper re-checks it), the words of the
//! domain as enums, and the records domain modules hand to storage to write.
//! It imports nothing of the application but the clock.

mod activity;
mod dashboard;
mod email;
mod idempotency;
mod identity;
mod job;
mod phone;
mod role;
mod slug;
mod stage;
mod status;
mod strategy;
mod tag;
mod tier;
mod webhook;
mod words;
mod world;
mod writes;

pub use activity::ActivityKind;
pub use dashboard::{
    ActivityCounts, ActivityKey, COUNTERS, Counts, DashboardChange, FirstTouch, LeadFacts, LeadHistory, RollupKey,
    SHARDS, TIMED_STAGES, activity_index, counter, funnel_level,
};
pub use email::NormalizedEmail;
pub use idempotency::IdempotencyKey;
pub use identity::IdentityKind;
pub use job::{
    CLAIM_LEASE, DeadlineJob, DeliveryJob, EmailJob, Job, JobKind, JobRecord, LeadJob, NoticeJob, RescoreJob,
    RescoreRunJob, RunJob,
};
pub use phone::{NormalizedPhone, Region};
pub use role::Role;
pub use slug::{FormSlug, PluginName, TenantSlug};
pub use stage::Stage;
pub use status::{DeliveryStatus, EmailStatus, NoticeKind, PluginStatus, RunStatus, WorkflowStatus};
pub use strategy::Strategy;
pub use tag::{MAX_TAG_CHARS, Tag};
pub use tier::Tier;
pub use webhook::WebhookEvent;
pub use world::World;
pub use writes::{
    IntakeOutcome, NewSubmission, PluginCall, PluginOutcome, ProcessedLead, RecentCalls, RouteStep, RouteTo,
    ScoreWrite, StageEntry, TouchContext,
};

/// A behaviour event's kind: `page_view`, `webinar_attended`,
/// `trial_started`: 1-40 lower-case letters, digits and `_`, starting with a
/// letter.
pub fn is_event_kind(kind: &str) -> bool {
    let mut chars = kind.chars();
    (1..=40).contains(&kind.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A value that failed to parse, with a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);
