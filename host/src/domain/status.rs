//! Where a long piece of work stands: a tenant-wide re-score run, a webhook
//! delivery.

use super::words::word_enum;

word_enum!(
    /// A tenant-wide re-score run.
    RunStatus, "run status" {
        Running = "running",
        Done = "done",
        /// A newer model started a newer run.
        Superseded = "superseded",
    }
);

word_enum!(
    /// A webhook delivery.
    DeliveryStatus, "delivery status" {
        Pending = "pending",
        Delivered = "delivered",
        /// Given up after the last attempt.
        Failed = "failed",
    }
);
