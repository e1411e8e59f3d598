//! leadhost: a self-hosted lead management server.
//!
//! The pipeline, one module per stage or capability:
//! `forms` (design, validate, render) -> `leads` (intake, dedup) ->
//! `storage` (SQLite / PostgreSQL). Around it: `auth` (tokens, roles, the
//! permission table), `tenants`, `http` (routes), `cli`.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod followup;
pub mod forms;
pub mod http;
pub mod jobs;
pub mod leads;
pub mod metrics;

pub mod pipeline;
pub mod plugins;
pub mod recent;
pub mod routing;
pub mod scoring;
pub mod storage;
pub mod tenants;
pub mod webhooks;
