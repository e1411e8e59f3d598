//! Data access: domain types and the clock only.
mod leads;
use crate::clock::Clock;
use crate::domain::{Email, Phone};
pub(crate) struct Store;
pub(in crate::storage) fn helper() {}
