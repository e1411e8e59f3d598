//! Behaviour events as callers send them: checked, every problem at its
//! pointer, before anything is stored.

use serde::Deserialize;
use serde_json::Value;

use crate::app::AppState;
use crate::clock::Timestamp;
use crate::error::FieldError;
use crate::nurture::{LeadChange, react};
use crate::storage::{NewBehaviourEvent, RecordedEvent, StoreError, StoreResult, TenantStore, Unit, UnitOfWork};

/// The kinds leadhost knows; any other lower-case name is a custom kind.
pub const KNOWN_KINDS: [&str; 7] = [
    "page_view",
    "download",
    "webinar_attended",
    "email_opened",
    "email_clicked",
    "pricing_page_viewed",
    "demo_requested",
];

/// How far ahead of the server's clock an event may claim to be.
const CLOCK_SKEW_MICROS: i64 = 5 * 60 * 1_000_000;
const MAX_DETAIL_BYTES: usize = 4096;
const MAX_URL_BYTES: usize = 2048;

pub use crate::domain::is_event_kind;

/// An event as the API takes it. Which lead it is about comes from the path
/// (`/leads/{id}/events`) or from exactly one of `lead_id`, `email`, `phone`
/// (`/events`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    pub kind: String,
    #[serde(default)]
    pub url: Option<String>,
    /// RFC 3339; default: now.
    #[serde(default)]
    pub occurred_at: Option<String>,
    #[serde(default)]
    pub detail: Option<Value>,
    #[serde(default)]
    pub lead_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// Which lead an event names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadRef {
    Id(String),
    Email(String),
    Phone(String),
}

impl EventRequest {
    /// The event to store, or every problem with it.
    pub fn check(&self, now: Timestamp) -> Result<NewBehaviourEvent, Vec<FieldError>> {
        let mut problems = Vec::new();
        if !is_event_kind(&self.kind) {
            problems.push(FieldError::new(
                "/kind",
                format!(
                    "{:?} is not an event kind: use one of {} or a custom kind of lower-case letters, digits and '_'",
                    self.kind,
                    KNOWN_KINDS.join(", ")
                ),
            ));
        }
        match &self.url {
            Some(url) if url.len() > MAX_URL_BYTES => {
                problems.push(FieldError::new("/url", format!("is longer than {MAX_URL_BYTES} bytes")))
            }
            Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(' ') => {
                problems.push(FieldError::new("/url", "must be an absolute http(s) URL"))
            }
            None if self.kind == "page_view" => {
                problems.push(FieldError::new("/url", "a page_view needs the URL of the page"))
            }
            _ => {}
        }
        let occurred_at = match &self.occurred_at {
            None => Some(now),
            Some(raw) => match Timestamp::parse_rfc3339(raw) {
                Some(at) if at.micros() > now.micros() + CLOCK_SKEW_MICROS => {
                    problems.push(FieldError::new("/occurred_at", "is in the future"));
                    None
                }
                Some(at) => Some(at),
                None => {
                    problems.push(FieldError::new(
                        "/occurred_at",
                        "must be an RFC 3339 time, e.g. 2026-11-25T09:00:00Z",
                    ));
                    None
                }
            },
        };
        let detail = self.detail.clone().unwrap_or_else(|| Value::Object(Default::default()));
        if !detail.is_object() {
            problems.push(FieldError::new("/detail", "must be a JSON object"));
        } else if detail.to_string().len() > MAX_DETAIL_BYTES {
            problems.push(FieldError::new(
                "/detail",
                format!("is larger than {MAX_DETAIL_BYTES} bytes"),
            ));
        }
        match (problems.is_empty(), occurred_at) {
            (true, Some(occurred_at)) => Ok(NewBehaviourEvent {
                kind: self.kind.clone(),
                url: self.url.clone(),
                detail,
                occurred_at,
            }),
            _ => Err(problems),
        }
    }

    /// The lead named in the body: exactly one of `lead_id`, `email`, `phone`.
    pub fn lead_ref(&self) -> Result<LeadRef, FieldError> {
        match (&self.lead_id, &self.email, &self.phone) {
            (Some(id), None, None) => Ok(LeadRef::Id(id.clone())),
            (None, Some(email), None) => Ok(LeadRef::Email(email.clone())),
            (None, None, Some(phone)) => Ok(LeadRef::Phone(phone.clone())),
            (None, None, None) => Err(FieldError::new("", "name the lead with one of lead_id, email or phone")),
            _ => Err(FieldError::new(
                "",
                "name the lead with only one of lead_id, email or phone",
            )),
        }
    }

    /// For `/leads/{id}/events`, where the path names the lead.
    pub fn names_no_lead(&self) -> Result<(), FieldError> {
        match (&self.lead_id, &self.email, &self.phone) {
            (None, None, None) => Ok(()),
            _ => Err(FieldError::new(
                "",
                "the path names the lead; leave out lead_id, email and phone",
            )),
        }
    }
}

/// Records a behaviour event with its re-score job, and what it does to the
/// lead's nurture runs (an `event` trigger enrols it, a run waiting for the
/// kind goes on), in one unit.
pub struct RecordEvent {
    pub lead_id: String,
    pub event: NewBehaviourEvent,
    pub workflows: std::sync::Arc<Vec<crate::nurture::ActiveWorkflow>>,
}

#[async_trait::async_trait]
impl UnitOfWork for RecordEvent {
    type Output = Option<RecordedEvent>;

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<Option<RecordedEvent>> {
        let now = Timestamp::now();
        if !unit.hold_lead_row(&self.lead_id).await? {
            return Ok(None);
        }
        let recorded = unit.insert_behaviour_event(&self.lead_id, &self.event, now);
        let changes = [LeadChange::Event(&self.event.kind)];
        react(unit, &self.workflows, &self.lead_id, &changes, now).await?;
        tell_owner_of_key_behaviour(unit, &self.lead_id, &self.event.kind, now).await?;
        Ok(Some(recorded))
    }
}

/// A demo request, or a pricing-page visit repeated within a week, by a
/// lead in a nurture run: its owner hears of it at once.
async fn tell_owner_of_key_behaviour(
    unit: &mut Unit<'_>,
    lead_id: &str,
    kind: &str,
    now: Timestamp,
) -> StoreResult<()> {
    const WEEK: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);
    let message = match kind {
        "demo_requested" => "A nurtured lead asked for a demo",
        "pricing_page_viewed" => "A nurtured lead keeps coming back to the pricing page",
        _ => return Ok(()),
    };
    let Some(owner) = unit.lead_owner(lead_id).await? else {
        return Ok(());
    };
    if !unit.runs_of_lead(lead_id).await?.iter().any(|r| r.is_active()) {
        return Ok(());
    }
    let since = Timestamp(now.micros() - WEEK.as_micros() as i64);
    if kind == "pricing_page_viewed" && unit.events_since(lead_id, kind, since).await? < 2 {
        return Ok(());
    }
    let notice = crate::notifications::Notice {
        user_id: &owner,
        kind: crate::domain::NoticeKind::KeyBehaviour,
        lead_id: Some(lead_id),
        message: message.into(),
    };
    crate::notifications::notify(unit, notice, now);
    Ok(())
}

/// Records `event` on the lead (see [`RecordEvent`]); `NotFound` for no such lead.
pub async fn record(
    state: &AppState,
    store: &TenantStore<'_>,
    lead_id: &str,
    event: NewBehaviourEvent,
) -> StoreResult<RecordedEvent> {
    let workflows = crate::nurture::active_workflows(&state.nurture.active, store).await?;
    store
        .run(RecordEvent {
            lead_id: lead_id.to_owned(),
            event,
            workflows,
        })
        .await?
        .ok_or(StoreError::NotFound)
}
