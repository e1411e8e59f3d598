//! Leads: the one intake path every channel goes through (validate,
//! normalise, dedup, store), who owns a lead, and moving it through its
//! stages by hand.

pub mod behaviour;
mod context;
pub mod deal;
pub mod engagement;
mod intake;
pub mod ownership;
mod stage;
pub mod tags;
pub mod unsubscribe;

pub use context::ContextParams;
pub use intake::{IntakeRequest, RecordSubmission, record, submit};
pub use ownership::{OwnerCause, OwnerChange, change_owner};
pub use stage::StageRequest;
