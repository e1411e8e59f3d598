//! Deadlines: when an owner must next touch a lead, and the pair of jobs
//! (a warning shortly before, a breach at the deadline) that watch it. A job
//! whose deadline has moved since finds it so and does nothing, so a new
//! deadline never needs the old jobs removed.

use super::SlaPolicy;
use crate::clock::Timestamp;
use crate::domain::{DeadlineJob, Job, JobRecord, Tier};
use crate::storage::{Unit, new_id};

/// A tenant's stored SLA policy, if it has one that still checks.
pub fn stored_policy(text: Option<&str>) -> Option<SlaPolicy> {
    text.and_then(|t| serde_json::from_str(t).ok())
        .and_then(|v| SlaPolicy::parse(v).ok())
}

/// A new owner's first-touch deadline, within the minutes the lead's tier
/// allows, with its jobs; `None` without an owner or a policy. The caller
/// records the deadline on the lead.
pub fn first_touch(
    unit: &mut Unit<'_>,
    lead_id: &str,
    owner: Option<&str>,
    tier: Tier,
    policy: Option<&SlaPolicy>,
    now: Timestamp,
) -> Option<Timestamp> {
    let (owner, policy) = (owner?, policy?);
    let due = now.plus(policy.first_touch(tier));
    watch(unit, lead_id, owner, due, policy, now);
    Some(due)
}

/// Writes the warning job (unless its time has passed) and the breach job
/// of a deadline.
pub fn watch(unit: &mut Unit<'_>, lead_id: &str, owner: &str, due: Timestamp, policy: &SlaPolicy, now: Timestamp) {
    let deadline = DeadlineJob {
        lead_id: lead_id.to_owned(),
        owner: owner.to_owned(),
        due_at: due.micros(),
    };
    let warn_at = Timestamp(due.micros() - policy.warn_before().as_micros() as i64);
    if warn_at > now {
        let warning = JobRecord::held(new_id(), unit.tenant_id(), Job::SlaWarning(deadline.clone()));
        unit.add_job_at(&warning, warn_at, now);
    }
    let breach = JobRecord::held(new_id(), unit.tenant_id(), Job::SlaBreach(deadline));
    unit.add_job_at(&breach, due, now);
}
