//! Who owns a lead. Every owner change (routing, a claim from the pool, a
//! manager's reassignment, a release, a recycle) goes through
//! [`change_owner`], which sets the owner and the first-touch deadline with
//! its jobs, keeps both owners' open-lead counts, writes the timeline entry
//! and announces the change.

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::domain::{NoticeKind, Stage, Tier, WebhookEvent};
use crate::followup::{SlaPolicy, deadlines};
use crate::notifications::{Notice, notify};
use crate::storage::Unit;

/// Why a lead changes hands; each has its timeline entry and announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerCause {
    /// A new lead's first step placed it (a rep, a team's pick, the pool).
    Routed,
    /// A rep took it from the public pool.
    Claimed,
    /// A manager gave it to a rep by hand.
    Reassigned,
    /// Its owner (or a manager) returned it to the pool.
    Released,
    /// Not followed up in time: returned to the pool by its SLA.
    Recycled,
}

impl OwnerCause {
    /// The kind of its timeline entry.
    fn timeline_kind(self) -> &'static str {
        match self {
            OwnerCause::Routed => "routed",
            OwnerCause::Claimed => "claimed",
            OwnerCause::Reassigned => "reassigned",
            OwnerCause::Released => "released",
            OwnerCause::Recycled => "recycled",
        }
    }
}

/// A lead changing hands, as it stands when the change is made.
pub struct OwnerChange<'a> {
    pub lead_id: &'a str,
    pub previous: Option<&'a str>,
    /// `None`: the public pool.
    pub owner: Option<&'a str>,
    pub tier: Tier,
    pub stage: Stage,
    pub cause: OwnerCause,
    /// The timeline entry's detail (who or what decided, and why).
    pub detail: Value,
}

/// Sets the lead's owner and everything that goes with it. `announce` is
/// false when the tenant has no webhook (nothing to queue).
pub fn change_owner(
    unit: &mut Unit<'_>,
    change: OwnerChange<'_>,
    policy: Option<&SlaPolicy>,
    announce: bool,
    now: Timestamp,
) {
    let OwnerChange {
        lead_id,
        previous,
        owner,
        tier,
        stage,
        cause,
        detail,
    } = change;
    let due = deadlines::first_touch(unit, lead_id, owner, tier, policy, now);
    unit.set_owner(lead_id, owner, due, now);
    crate::dashboard::rollup::owner_changed(unit, lead_id, owner, due);
    // An open lead counts against its owner's capacity.
    if previous != owner && stage.is_open() {
        for (user, delta) in [(previous, -1), (owner, 1)] {
            if let Some(user) = user {
                unit.add_open_leads(user, delta);
            }
        }
    }
    unit.timeline(lead_id, cause.timeline_kind(), &detail, now);
    // A hot lead given to someone (not taken by them) reaches them at once.
    if let (OwnerCause::Routed | OwnerCause::Reassigned, Some(owner), Tier::Hot) = (cause, owner, tier)
        && previous != Some(owner)
    {
        let notice = Notice {
            user_id: owner,
            kind: NoticeKind::HotLeadAssigned,
            lead_id: Some(lead_id),
            message: "A hot lead was assigned to you".into(),
        };
        notify(unit, notice, now);
    }
    if !announce {
        return;
    }
    match (cause, owner) {
        (OwnerCause::Routed | OwnerCause::Reassigned, Some(owner)) if previous != Some(owner) => {
            let data = json!({"lead_id": lead_id, "owner": owner, "previous_owner": previous, "tier": tier});
            unit.announce(WebhookEvent::LeadAssigned, &data, now);
        }
        (OwnerCause::Claimed, Some(owner)) => {
            let data = json!({"lead_id": lead_id, "owner": owner, "tier": tier});
            unit.announce(WebhookEvent::LeadClaimed, &data, now);
        }
        (OwnerCause::Recycled, _) => {
            let data = json!({"lead_id": lead_id, "from": previous});
            unit.announce(WebhookEvent::LeadRecycled, &data, now);
        }
        _ => {}
    }
}
