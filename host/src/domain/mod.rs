//! Parsed values: once a raw string becomes one of these it is known good,
//! so nothing deeper in the pipeline re-checks it.

mod email;
mod phone;
mod role;
mod slug;

pub use email::NormalizedEmail;
pub use phone::{NormalizedPhone, Region};
pub use role::Role;
pub use slug::{FormSlug, PluginName, TenantSlug};

/// A value that failed to parse, with a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);
