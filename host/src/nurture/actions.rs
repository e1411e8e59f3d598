//! A nurture-step plugin's actions, as the host carries them out: in order,
//! each checked. A plugin may email only the lead's own address, wait at
//! most 90 days, add a few tags and notify the owner a few times per call;
//! anything else is refused, recorded, and the rest goes on.

use serde::{Deserialize, Serialize};

use super::workflow::MAX_WAIT;
use crate::domain::Tag;
use crate::email::compose::Composed;
use crate::plugins::bindings::Action;

/// Tags one call may add.
pub const MAX_TAGS_PER_CALL: usize = 5;
/// Owner notifications one call may send.
pub const MAX_NOTIFICATIONS_PER_CALL: usize = 3;
const MAX_MESSAGE_CHARS: usize = 1000;

/// An action as stored between a plugin's wait and the actions after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    SendEmail {
        to: String,
        subject: String,
        text: String,
        html: Option<String>,
    },
    Wait(u64),
    AddTag(String),
    NotifyOwner(String),
}

impl From<Action> for StepAction {
    fn from(action: Action) -> Self {
        match action {
            Action::SendEmail(e) => StepAction::SendEmail {
                to: e.to,
                subject: e.subject,
                text: e.body_text,
                html: e.body_html,
            },
            Action::Wait(seconds) => StepAction::Wait(seconds),
            Action::AddTag(tag) => StepAction::AddTag(tag),
            Action::NotifyOwner(message) => StepAction::NotifyOwner(message),
        }
    }
}

/// What the host does for one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Email(Composed),
    Wait(std::time::Duration),
    AddTag(String),
    NotifyOwner(String),
}

/// Counts of the capped actions carried out so far in one call.
#[derive(Debug, Default)]
pub struct ActionTally {
    tags: usize,
    notifications: usize,
}

impl StepAction {
    /// The action's name, for the run's log.
    pub fn name(&self) -> &'static str {
        match self {
            StepAction::SendEmail { .. } => "send_email",
            StepAction::Wait(_) => "wait",
            StepAction::AddTag(_) => "add_tag",
            StepAction::NotifyOwner(_) => "notify_owner",
        }
    }

    /// Checks the action for a lead whose address is `lead_email`; `Err`
    /// says why it is refused.
    pub fn check(&self, lead_email: Option<&str>, tally: &mut ActionTally) -> Result<Checked, String> {
        match self {
            StepAction::SendEmail {
                to,
                subject,
                text,
                html,
            } => {
                let own = lead_email.is_some_and(|own| own.eq_ignore_ascii_case(to.trim()));
                if !own {
                    return Err(format!(
                        "send-email to {to:?}: a plugin may email only the lead's own address"
                    ));
                }
                Composed::checked(subject, text, html.as_deref()).map(Checked::Email)
            }
            StepAction::Wait(seconds) => {
                let wait = std::time::Duration::from_secs(*seconds);
                if wait.is_zero() || wait > MAX_WAIT {
                    return Err(format!("wait of {seconds} s: must be 1 s to 90 days"));
                }
                Ok(Checked::Wait(wait))
            }
            StepAction::AddTag(tag) => {
                if tally.tags >= MAX_TAGS_PER_CALL {
                    return Err(format!("add-tag {tag:?}: at most {MAX_TAGS_PER_CALL} tags per call"));
                }
                let tag = Tag::parse(tag).map_err(|e| format!("add-tag {tag:?}: {}", e.0))?;
                tally.tags += 1;
                Ok(Checked::AddTag(tag.as_str().to_owned()))
            }
            StepAction::NotifyOwner(message) => {
                if tally.notifications >= MAX_NOTIFICATIONS_PER_CALL {
                    return Err(format!(
                        "notify-owner: at most {MAX_NOTIFICATIONS_PER_CALL} notifications per call"
                    ));
                }
                if message.trim().is_empty() || message.chars().count() > MAX_MESSAGE_CHARS {
                    return Err(format!("notify-owner: a message is 1-{MAX_MESSAGE_CHARS} characters"));
                }
                tally.notifications += 1;
                Ok(Checked::NotifyOwner(message.trim().to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(to: &str) -> StepAction {
        StepAction::SendEmail {
            to: to.into(),
            subject: "Hi".into(),
            text: "Hello".into(),
            html: None,
        }
    }

    #[test]
    fn email_goes_only_to_the_leads_own_address() {
        let mut tally = ActionTally::default();
        assert!(matches!(
            email("Ada@Example.com").check(Some("ada@example.com"), &mut tally),
            Ok(Checked::Email(_))
        ));
        let refused = email("boss@example.com")
            .check(Some("ada@example.com"), &mut tally)
            .unwrap_err();
        assert!(refused.contains("only the lead's own address"), "{refused}");
        assert!(email("ada@example.com").check(None, &mut tally).is_err());
    }

    #[test]
    fn waits_tags_and_notifications_are_bounded() {
        let mut tally = ActionTally::default();
        assert!(StepAction::Wait(0).check(None, &mut tally).is_err());
        assert!(StepAction::Wait(91 * 24 * 3600).check(None, &mut tally).is_err());
        assert!(StepAction::Wait(60).check(None, &mut tally).is_ok());
        for i in 0..MAX_TAGS_PER_CALL {
            assert!(StepAction::AddTag(format!("t{i}")).check(None, &mut tally).is_ok());
        }
        assert!(StepAction::AddTag("one-more".into()).check(None, &mut tally).is_err());
        assert!(StepAction::NotifyOwner(String::new()).check(None, &mut tally).is_err());
        for _ in 0..MAX_NOTIFICATIONS_PER_CALL {
            assert!(StepAction::NotifyOwner("call".into()).check(None, &mut tally).is_ok());
        }
        assert!(StepAction::NotifyOwner("call".into()).check(None, &mut tally).is_err());
    }

    #[test]
    fn actions_survive_a_wait_as_json() {
        let actions = vec![email("a@b.c"), StepAction::AddTag("x".into())];
        let stored = serde_json::to_value(&actions).unwrap();
        assert_eq!(serde_json::from_value::<Vec<StepAction>>(stored).unwrap(), actions);
    }
}
