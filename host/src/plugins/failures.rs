//! A plugin that keeps failing is switched off, with a visible reason: a
//! step's failed calls are counted on their plugins with the lead they
//! failed on, and the plugin goes off after `disable_after` failures in a
//! row (a success ends a run of failures), or once half or more of its
//! latest `RECENT_CALLS` calls failed (a plugin failing every other call
//! never fails twice in a row; exactly alternating, half of any 50 fail).

use serde_json::json;

use crate::clock::Timestamp;
use crate::domain::{ProcessedLead, RecentCalls};
use crate::plugins::host::RECENT_CALLS;
use crate::storage::{StoreResult, Unit};

/// Counts the step's failed calls (after the failing plugins' earlier
/// successes, counted in memory, which reset the run); returns the names
/// of the plugins this step switched off, each also on the lead's timeline.
pub async fn count_failures(
    unit: &mut Unit<'_>,
    done: &ProcessedLead,
    disable_after: i32,
    now: Timestamp,
) -> StoreResult<Vec<String>> {
    for (plugin_id, calls, last_at) in &done.earlier_successes {
        unit.plugin_successes(plugin_id, *calls, *last_at);
    }
    let mut switched_off = Vec::new();
    for outcome in done.failures() {
        let Some(error) = &outcome.error else { continue };
        let Some((streak, enabled)) = unit.plugin_streak(&outcome.plugin_id).await? else {
            continue; // removed meanwhile
        };
        let RecentCalls { failed, calls } = outcome.recent;
        let reason = if !enabled {
            None
        } else if streak + 1 >= disable_after {
            Some(format!(
                "switched off after {disable_after} failures in a row; the last: {error}"
            ))
        } else if calls as usize >= RECENT_CALLS && failed * 2 >= calls {
            Some(format!(
                "switched off: {failed} of its last {calls} calls failed; the last: {error}"
            ))
        } else {
            None
        };
        unit.plugin_failed(&outcome.plugin_id, error, reason.as_deref(), now);
        if let Some(reason) = reason {
            tracing::warn!(tenant = %unit.tenant_id(), plugin = %outcome.plugin_name, "plugin switched off");
            let detail = json!({"plugin": outcome.plugin_name, "reason": reason});
            unit.timeline(&done.lead_id, "plugin_disabled", &detail, now);
            switched_off.push(outcome.plugin_name.clone());
        }
    }
    Ok(switched_off)
}
