//! Follow-up: the tenant's SLA policy and the deadlines it sets. When a lead
//! gets an owner, its first touch is due within the minutes its tier allows;
//! each activity the owner logs sets the next deadline (the activity's own
//! follow-up date, or the cadence). Each deadline is a pair of durable jobs:
//! a warning shortly before and a breach at the deadline. A breach
//! escalates to the owner's manager and, after the policy's hours, a recycle
//! job returns the lead to the public pool. A job whose deadline has moved
//! (the lead was touched or changed hands) does nothing.

pub mod activity;
pub mod deadlines;
pub mod sla;

/// A task's title as typed: trimmed, 1-200 characters.
pub fn task_title(raw: &str) -> Result<&str, crate::error::FieldError> {
    let title = raw.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(crate::error::FieldError::new("/title", "must be 1-200 characters"));
    }
    Ok(title)
}

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::Tier;
use crate::error::FieldError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    /// Minutes from assignment to the first touch, by tier.
    pub first_touch_minutes: ByTier,
    /// How long before a deadline the owner is warned.
    pub warn_before_minutes: u32,
    /// Hours from one touch to the next, unless the activity names a date.
    pub follow_up_hours: u32,
    /// Hours after a breach at which an untouched lead returns to the pool;
    /// absent: it stays with its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recycle_after_hours: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByTier {
    pub hot: u32,
    pub warm: u32,
    pub cold: u32,
}

impl SlaPolicy {
    pub fn parse(value: Value) -> Result<Self, Vec<FieldError>> {
        let policy: SlaPolicy = serde_path_to_error::deserialize(value).map_err(|e| vec![FieldError::from_path(&e)])?;
        let mut problems = Vec::new();
        let t = policy.first_touch_minutes;
        for (tier, minutes) in [("hot", t.hot), ("warm", t.warm), ("cold", t.cold)] {
            if !(1..=525_600).contains(&minutes) {
                problems.push(FieldError::new(
                    format!("/first_touch_minutes/{tier}"),
                    "must be from 1 minute to a year",
                ));
            }
        }
        if policy.warn_before_minutes >= t.hot.min(t.warm).min(t.cold) {
            problems.push(FieldError::new(
                "/warn_before_minutes",
                "must be shorter than every first-touch deadline",
            ));
        }
        if !(1..=8760).contains(&policy.follow_up_hours) {
            problems.push(FieldError::new("/follow_up_hours", "must be from 1 to 8760"));
        }
        if policy.recycle_after_hours.is_some_and(|h| !(1..=8760).contains(&h)) {
            problems.push(FieldError::new("/recycle_after_hours", "must be from 1 to 8760"));
        }
        if problems.is_empty() { Ok(policy) } else { Err(problems) }
    }

    pub fn first_touch(&self, tier: Tier) -> Duration {
        let minutes = match tier {
            Tier::Hot => self.first_touch_minutes.hot,
            Tier::Warm => self.first_touch_minutes.warm,
            Tier::Cold => self.first_touch_minutes.cold,
        };
        Duration::from_secs(u64::from(minutes) * 60)
    }

    pub fn warn_before(&self) -> Duration {
        Duration::from_secs(u64::from(self.warn_before_minutes) * 60)
    }

    pub fn follow_up(&self) -> Duration {
        Duration::from_secs(u64::from(self.follow_up_hours) * 3600)
    }

    pub fn recycle_after(&self) -> Option<Duration> {
        self.recycle_after_hours
            .map(|h| Duration::from_secs(u64::from(h) * 3600))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_policy_is_checked_at_its_pointers() {
        let problems = SlaPolicy::parse(json!({
            "first_touch_minutes": {"hot": 5, "warm": 0, "cold": 1440},
            "warn_before_minutes": 5, "follow_up_hours": 48
        }))
        .unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/first_touch_minutes/warm", "/warn_before_minutes"]);
        let policy = SlaPolicy::parse(json!({
            "first_touch_minutes": {"hot": 5, "warm": 60, "cold": 1440},
            "warn_before_minutes": 2, "follow_up_hours": 48, "recycle_after_hours": 24
        }))
        .unwrap();
        assert_eq!(policy.first_touch(Tier::Hot), Duration::from_secs(300));
        assert_eq!(policy.first_touch(Tier::Cold), Duration::from_secs(86_400));
    }
}
