//! Counting at the change: each function is called by the unit of work that
//! makes the change, so the dashboard's rollups commit (or roll back) with
//! it. What a change moves is worked out in `domain::LeadFacts`; the rows
//! are written with the unit's other writes (`storage::dashboard`).
//!
//! Where each is called:
//! - a new lead: `leads::intake::record`;
//! - its tier and a promotion's stage: every score write
//!   (`storage::scoring`, for a step and for a bulk re-score alike);
//! - a stage changed by hand and its deal: `leads::stage`;
//! - an owner and their first-touch deadline: `leads::ownership::change_owner`;
//! - an activity, and the owner's first touch: `followup::activity`;
//! - an SLA breach: `followup::sla`.

use crate::clock::Timestamp;
use crate::domain::{ActivityKind, DashboardChange, NewSubmission, Stage};
use crate::storage::Unit;

/// A new lead: its cohort (the day, source, UTM campaign, form, channel).
pub fn lead_created(unit: &mut Unit<'_>, lead_id: &str, sub: &NewSubmission, now: Timestamp) {
    let context = &sub.context;
    let change = DashboardChange::Created {
        created_at: now,
        source: context.source.clone(),
        campaign: context.utm_campaign.clone().unwrap_or_default(),
        form_id: sub.form_id.clone(),
        channel: context.channel.to_owned(),
    };
    unit.count_for_dashboard(lead_id, change);
}

/// A stage a person moved the lead to, with the deal it records, if any.
pub fn stage_changed(unit: &mut Unit<'_>, lead_id: &str, to: Stage, deal_minor: Option<i64>, now: Timestamp) {
    if let Some(value_minor) = deal_minor {
        unit.count_for_dashboard(lead_id, DashboardChange::Deal { value_minor });
    }
    unit.count_for_dashboard(lead_id, DashboardChange::Stage { to, at: now });
}

/// The lead's new owner (`None`: the pool) and their first-touch deadline.
pub fn owner_changed(unit: &mut Unit<'_>, lead_id: &str, owner: Option<&str>, first_touch_due: Option<Timestamp>) {
    let change = DashboardChange::Owner {
        owner: owner.map(str::to_owned),
        first_touch_due,
    };
    unit.count_for_dashboard(lead_id, change);
}

/// An activity a user logged; `touch` is the deadline that stood when the
/// owner's activity touched the lead (`Some(None)`: no deadline), `None`
/// when it did not touch it.
pub fn activity_logged(
    unit: &mut Unit<'_>,
    lead_id: &str,
    user_id: &str,
    kind: ActivityKind,
    touch: Option<Option<Timestamp>>,
    now: Timestamp,
) {
    let change = DashboardChange::Activity {
        user_id: user_id.to_owned(),
        kind,
        at: now,
    };
    unit.count_for_dashboard(lead_id, change);
    if let Some(due) = touch {
        unit.count_for_dashboard(lead_id, DashboardChange::Touched { at: now, due });
    }
}

/// An SLA deadline of the lead passed untouched.
pub fn sla_breached(unit: &mut Unit<'_>, lead_id: &str) {
    unit.count_for_dashboard(lead_id, DashboardChange::Breach);
}
