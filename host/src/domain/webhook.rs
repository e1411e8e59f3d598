//! The changes a tenant's webhooks may subscribe to. Each is announced by
//! the domain module that makes the change.

use super::words::word_enum;

word_enum!(
    WebhookEvent, "webhook event" {
        /// A new lead's first step finished (scored and routed).
        LeadCreated = "lead.created",
        /// A lead got a new owner by routing or by hand.
        LeadAssigned = "lead.assigned",
        /// A rep took a lead from the public pool.
        LeadClaimed = "lead.claimed",
        SlaWarning = "sla.warning",
        SlaBreached = "sla.breached",
        /// A lead not followed up in time went back to the pool.
        LeadRecycled = "lead.recycled",
        StageChanged = "stage.changed",
    }
);
