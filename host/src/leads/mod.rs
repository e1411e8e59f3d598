//! Leads: the one intake path every channel goes through, and reading leads.

pub mod behaviour;
mod context;
mod intake;

pub use context::ContextParams;
pub use intake::{IntakeRequest, submit};
