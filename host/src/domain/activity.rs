//! What a rep logs on a lead.

use super::words::word_enum;

word_enum!(
    ActivityKind, "activity kind" {
        Call = "call",
        Email = "email",
        Meeting = "meeting",
        Message = "message",
        Note = "note",
    }
);

impl ActivityKind {
    /// Every kind but a note counts as touching the lead (its follow-up
    /// deadline moves).
    pub fn touches_lead(self) -> bool {
        self != ActivityKind::Note
    }
}
