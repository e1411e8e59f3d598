//! leadhost: a self-hosted lead management server.
//!
//! A lead's life, and the module that owns each part of it (docs/ARCHITECTURE.md
//! has the whole map):
//!
//! - `forms`: design, check and compile a form; render its public page.
//! - `leads`: intake (validate, normalise, dedup, store: one path for every
//!   channel), who owns a lead (`leads::ownership`, the one owner-change
//!   path), moving it through its stages by hand, behaviour events.
//! - `pipeline`: a lead's step (prepare -> score -> tier and stage -> route
//!   -> write), run for each new lead, event and decay.
//! - `scoring`: the model, tiers and promotions, scorer plugins, decay,
//!   tenant-wide re-scores.
//! - `routing`: assignment rules, team strategies and picks, router
//!   plugins, the public pool (claims, releases, recycles).
//! - `followup`: the SLA policy, deadlines and their jobs, activities.
//! - `nurture`: nurture workflows: checked, versioned definitions; runs
//!   enrolled and ended with each change to a lead; steps as durable jobs;
//!   held leads handed to sales.
//! - `email`: the outbox, delivery over SMTP, unsubscribe and suppression.
//! - `webhooks`: signed delivery of the events the modules above announce.
//! - `plugins`: the WASM sandbox, components, calls and their failures.
//! - `jobs`: the durable jobs table's sweeper: claims a due job and hands it
//!   to the module that owns its kind.
//! - `storage`: data access only (SQLite and PostgreSQL), with the unit of
//!   work in which domain modules make their decisions.
//! - `domain`: plain data: parsed values, the domain's words as enums, job
//!   payloads, the records handed to storage.
//! - Around them: `auth`, `tenants`, `clock`, `recent` (the TTL cache),
//!   `metrics`, `config`, `error`; and the composition root: `app` (state),
//!   `http` (the API and pages), `cli`, `demo`.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod domain;
pub mod email;
pub mod error;
pub mod followup;
pub mod forms;
pub mod http;
pub mod i18n;
pub mod jobs;
pub mod leads;
pub mod metrics;
pub mod notifications;
pub mod nurture;

pub mod pipeline;
pub mod plugins;
pub mod recent;
pub mod routing;
pub mod scoring;
pub mod setup;
pub mod storage;
pub mod tenants;
pub mod webhooks;
