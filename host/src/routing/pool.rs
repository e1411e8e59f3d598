//! The public pool: leads nobody owns, which any rep may claim. A claim is
//! refused past the rep's daily claim limit and to a lead's previous owner
//! while they are barred; of two reps claiming at once one wins and the
//! other gets a conflict. Managers reassign by hand; owners release; the
//! SLA recycles what was not followed up. Each is an owner change
//! (`leads::change_owner`) decided inside one unit of work.

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::domain::DeadlineJob;
use crate::followup::deadlines::stored_policy;
use crate::followup::sla::still_stands;
use crate::leads::{OwnerCause, OwnerChange, change_owner};
use crate::storage::{OwnedLead, StoreError, StoreResult, Unit, UnitOfWork};

const DAY_MICROS: i64 = 86_400_000_000;
const HOUR_MICROS: i64 = 3_600_000_000;

/// A claim's answer when another rep was first.
pub const CLAIMED_BY_ANOTHER: &str = "another rep has claimed this lead; it is no longer in the pool";

/// A rep takes a pool lead.
pub struct Claim {
    pub lead_id: String,
    pub user_id: String,
}

#[async_trait::async_trait]
impl UnitOfWork for Claim {
    type Output = ();

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<()> {
        let now = Timestamp::now();
        let (lead_id, user_id) = (self.lead_id.as_str(), self.user_id.as_str());
        if let Some(until) = unit.pool_bar(lead_id, user_id, now).await? {
            return Err(StoreError::Conflict(format!(
                "this lead left you recently; you may claim it back after {until}"
            )));
        }
        if let Some(limit) = unit.pool_settings().await?.claim_limit {
            let claimed = unit.claims_since(user_id, Timestamp(now.micros() - DAY_MICROS)).await?;
            if claimed >= limit {
                return Err(StoreError::Conflict(format!(
                    "you have claimed {claimed} pool leads in the last 24 hours; the limit is {limit}"
                )));
            }
        }
        let lead = unit.lead_for_owner_change(lead_id).await?.ok_or(StoreError::NotFound)?;
        if lead.owner.is_some() {
            return Err(StoreError::Conflict(CLAIMED_BY_ANOTHER.into()));
        }
        if lead.held {
            return Err(StoreError::Conflict(
                "this lead is held for nurture, not in the pool; a workflow hands it to sales".into(),
            ));
        }
        let detail = json!({"rep": user_id});
        hand_over(unit, lead_id, &lead, Some(user_id), OwnerCause::Claimed, detail, now);
        unit.record_pool_claim(user_id, lead_id, now);
        Ok(())
    }
}

/// A manager gives a lead to a rep, or an owner (or manager) returns it
/// to the pool (`to: None`).
pub struct Reassign {
    pub lead_id: String,
    pub to: Option<String>,
    /// The timeline entry's detail.
    pub detail: Value,
}

#[async_trait::async_trait]
impl UnitOfWork for Reassign {
    type Output = ();

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<()> {
        let now = Timestamp::now();
        let lead = unit
            .lead_for_owner_change(&self.lead_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let cause = match self.to {
            Some(_) => OwnerCause::Reassigned,
            None => OwnerCause::Released,
        };
        hand_over(
            unit,
            &self.lead_id,
            &lead,
            self.to.as_deref(),
            cause,
            self.detail.clone(),
            now,
        );
        // A released lead's previous owner may not claim it straight back.
        if self.to.is_none() {
            bar_previous_owner(unit, &self.lead_id, lead.owner.as_deref(), now).await?;
        }
        Ok(())
    }
}

/// A breached lead not followed up in time goes back to the pool (run with
/// its job's removal; a recycle whose deadline has moved does nothing).
pub struct Recycle {
    pub job_id: String,
    pub deadline: DeadlineJob,
}

#[async_trait::async_trait]
impl UnitOfWork for Recycle {
    type Output = ();

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<()> {
        let now = Timestamp::now();
        if !unit.take_job(&self.job_id).await? || !still_stands(unit, &self.deadline).await? {
            return Ok(());
        }
        let lead_id = &self.deadline.lead_id;
        let lead = unit.lead_for_owner_change(lead_id).await?.ok_or(StoreError::NotFound)?;
        let reason = "not followed up in time: returned to the public pool";
        let detail = json!({"from": self.deadline.owner, "reason": reason});
        hand_over(unit, lead_id, &lead, None, OwnerCause::Recycled, detail, now);
        bar_previous_owner(unit, lead_id, lead.owner.as_deref(), now).await
    }
}

fn hand_over(
    unit: &mut Unit<'_>,
    lead_id: &str,
    lead: &OwnedLead,
    to: Option<&str>,
    cause: OwnerCause,
    detail: Value,
    now: Timestamp,
) {
    let policy = stored_policy(lead.sla_policy.as_deref());
    // A held lead given to a rep by hand is with sales now.
    if lead.held && to.is_some() {
        unit.set_held(lead_id, None);
    }
    let change = OwnerChange {
        lead_id,
        previous: lead.owner.as_deref(),
        owner: to,
        tier: lead.tier,
        stage: lead.stage,
        cause,
        detail,
    };
    change_owner(unit, change, policy.as_ref(), true, now);
}

/// Keeps a lead's previous owner from claiming it back for the pool's
/// `bar_hours`, when set.
async fn bar_previous_owner(
    unit: &mut Unit<'_>,
    lead_id: &str,
    previous: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    if let (Some(previous), Some(hours)) = (previous, unit.pool_settings().await?.bar_hours) {
        unit.bar_from_pool(lead_id, previous, Timestamp(now.micros() + hours * HOUR_MICROS));
    }
    Ok(())
}
