//! The tenant's sending rate, shared by every process through the
//! database (`send_windows`: emails taken per minute), taken in blocks.
//!
//! Taking one slot per email made every email a write transaction of its
//! own on the database's one writer, beside the group commit. A process
//! now takes a block of slots at once and hands them out from memory; a
//! block is a twentieth of the rate (at most 64), so processes sharing a
//! tenant still share its minute, and the rate is never exceeded: slots a
//! process took and did not use by the minute's end are lost, not carried.

use std::collections::HashMap;

use tokio::sync::Mutex;

use crate::clock::Timestamp;
use crate::storage::{StoreResult, TenantStore};

/// The most slots taken at once.
const MAX_BLOCK: i64 = 64;

/// Slots this process holds, per tenant, for the current minute.
#[derive(Default)]
pub struct SendAllowance {
    held: Mutex<HashMap<String, Held>>,
}

#[derive(Default)]
struct Held {
    minute: i64,
    left: i64,
}

impl SendAllowance {
    /// Takes a slot to send one email now under the tenant's `per_minute`
    /// rate; `false` when the minute's slots are all taken.
    pub async fn take(&self, store: &TenantStore<'_>, now: Timestamp, per_minute: i32) -> StoreResult<bool> {
        let minute = now.micros() / 60_000_000;
        // One reservation at a time: the others wait for its block.
        let mut held = self.held.lock().await;
        let slot = held.entry(store.tenant_id().to_owned()).or_default();
        if slot.minute != minute {
            *slot = Held { minute, left: 0 };
        }
        if slot.left == 0 {
            let block = (i64::from(per_minute) / 20).clamp(1, MAX_BLOCK);
            slot.left = store.take_send_slots(minute, block, per_minute).await?;
        }
        if slot.left == 0 {
            return Ok(false);
        }
        slot.left -= 1;
        Ok(true)
    }
}
