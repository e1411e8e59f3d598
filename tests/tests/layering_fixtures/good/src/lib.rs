//! Skipped by the check.
pub mod app;
