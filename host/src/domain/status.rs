//! Where a long piece of work stands: a tenant-wide re-score run, a webhook
//! delivery, a plugin's compile, a nurture workflow.

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

word_enum!(
    /// A plugin's component: only a `ready` plugin runs.
    PluginStatus, "plugin status" {
        /// Compiled and type-checked against its world.
        Ready = "ready",
        /// Waiting in, or going through, the background compile queue.
        Compiling = "compiling",
        /// The compile or the type check failed (`compile_error` says why).
        Failed = "failed",
    }
);

word_enum!(
    /// A nurture workflow.
    WorkflowStatus, "workflow status" {
        /// Enrols leads and moves its runs on.
        Active = "active",
        /// Enrols no one; its runs wait where they are.
        Paused = "paused",
        /// Ended for good: its runs end, and it takes no new versions.
        Archived = "archived",
    }
);

word_enum!(
    /// An email of the outbox.
    EmailStatus, "email status" {
        /// Written, waiting for its (next) attempt.
        Queued = "queued",
        /// The SMTP server accepted it.
        Sent = "sent",
        /// Given up (a permanent refusal, or too many attempts): the dead letter, with the last answer.
        Failed = "failed",
        /// Not sent: the address is on the tenant's suppression list.
        Suppressed = "suppressed",
    }
);

word_enum!(
    /// What a notification is about.
    NoticeKind, "notification kind" {
        /// A workflow's `notify_owner` step, or a nurture-step plugin's.
        Nurture = "nurture",
        /// The owner's follow-up deadline is near.
        SlaWarning = "sla_warning",
        /// The deadline passed (to the owner and the escalation manager).
        SlaBreach = "sla_breach",
        /// A hot lead was given to the user.
        HotLeadAssigned = "hot_lead_assigned",
        /// A nurtured lead did something that matters (a repeated pricing-page visit, a demo request).
        KeyBehaviour = "key_behaviour",
    }
);
