//! Leads: the one intake path every channel goes through, and reading leads.

mod context;
mod intake;

pub use context::ContextParams;
pub use intake::{IntakeRequest, submit};
