//! Skipped by the check: lib.rs only declares modules.
pub mod cli;
use crate::http::serve;
