//! # leadhost-plugin: the SDK for leadhost plugins
//!
//! leadhost runs a tenant's custom rules as WebAssembly components
//! (`wasm32-wasip2`) that implement one of three worlds of the WIT package
//! `leadhost:plugin@0.1.0`:
//!
//! | world          | export                                                       | SDK trait        | export macro             |
//! |----------------|--------------------------------------------------------------|------------------|--------------------------|
//! | `scorer`       | `score(lead, config) -> result<list<score-part>, string>`     | [`Scorer`]       | [`export_scorer!`]       |
//! | `router`       | `route(lead, candidates, config) -> result<route-decision, string>` | [`Router`] | [`export_router!`]       |
//! | `nurture-step` | `run(lead, config) -> result<list<action>, string>`          | [`NurtureStep`]  | [`export_nurture_step!`] |
//!
//! A plugin crate is a `cdylib` that depends on this crate, implements one
//! trait and calls the matching macro once:
//!
//! ```standalone_crate
//! use leadhost_plugin::{export_scorer, Fields, Lead, ScorePart, Scorer};
//!
//! struct HasPhone;
//!
//! impl Scorer for HasPhone {
//!     fn score(lead: &Lead, _config: &str) -> Result<Vec<ScorePart>, String> {
//!         let fields = Fields::from_lead(lead)?;
//!         Ok(match fields.str("phone") {
//!             Some(_) => vec![ScorePart::new(5, "Left a phone number: +5")],
//!             None => vec![],
//!         })
//!     }
//! }
//!
//! export_scorer!(HasPhone);
//! ```
//!
//! The resulting component exports only its world's function and imports only
//! `leadhost:plugin/host@0.1.0` (for [`log`]) plus the WASI interfaces the
//! Rust standard library links in.
//!
//! Besides the bindings, the SDK gives plugins:
//!
//! - [`Fields`]: typed access to the lead's form fields (`lead.fields` is a
//!   JSON object in a string);
//! - [`Config`]: parse the tenant's JSON configuration into your own
//!   `serde::Deserialize` type with a readable error;
//! - [`log`]: `debug`/`info`/`warn`/`error` through the host's `log` import;
//! - small constructors and helpers on the generated types
//!   ([`ScorePart::new`], [`RouteDecision::to_rep`], [`Rep::has_capacity`],
//!   [`Lead::behaviour_count`], [`Lead::from_json`], ...).
//!
//! The crate also compiles for the native target, so a plugin's logic can be
//! unit-tested with a plain `cargo test`; there [`log`] writes to stderr
//! instead of calling the host.

#![warn(missing_docs)]

mod config;
mod fields;
mod helpers;
pub mod log;

pub use config::Config;
pub use fields::Fields;
/// The `serde_json` the SDK uses (for [`Fields::get`]'s `Value`), so plugins
/// need not depend on it themselves.
pub use serde_json;

// How one crate can hold the bindings of three worlds while each plugin is a
// component of exactly one: with `pub_export_macro`, wit-bindgen embeds in
// *this* crate only an "exports removed" copy of each world (its imports and
// types; wit-component drops imports a module does not use), and the full
// world's `component-type` custom section is emitted by that world's
// `export!` macro, i.e. in the plugin crate that calls `export_scorer!` (or
// the router/nurture-step macro). The `types` and `host` interfaces are
// generated once, in `scorer`, and reused by the other two through `with:`,
// so `Lead` & co. are one Rust type each.

/// Bindings generated for the `scorer` world.
///
/// This module also holds the one generated copy of the shared `types` and
/// `host` interfaces (`scorer::leadhost::plugin::{types, host}`); the other
/// worlds' bindings reuse it, so a [`Lead`] is the same Rust type in every
/// world. Plugins normally use the re-exports at the crate root and
/// [`export_scorer!`] instead of this module.
#[allow(missing_docs)]
pub mod scorer {
    wit_bindgen::generate!({
        world: "scorer",
        path: "../../wit/leadhost-plugin@0.1.0",
        additional_derives: [PartialEq],
        pub_export_macro: true,
        default_bindings_module: "::leadhost_plugin::scorer",
    });
}

/// Bindings generated for the `router` world (shared types come from
/// [`scorer`]). Plugins normally use [`export_router!`] instead.
#[allow(missing_docs)]
pub mod router {
    wit_bindgen::generate!({
        world: "router",
        path: "../../wit/leadhost-plugin@0.1.0",
        with: {
            "leadhost:plugin/types@0.1.0": crate::scorer::leadhost::plugin::types,
            "leadhost:plugin/host@0.1.0": crate::scorer::leadhost::plugin::host,
        },
        pub_export_macro: true,
        default_bindings_module: "::leadhost_plugin::router",
    });
}

/// Bindings generated for the `nurture-step` world (shared types come from
/// [`scorer`]). Plugins normally use [`export_nurture_step!`] instead.
#[allow(missing_docs)]
pub mod nurture_step {
    wit_bindgen::generate!({
        world: "nurture-step",
        path: "../../wit/leadhost-plugin@0.1.0",
        with: {
            "leadhost:plugin/types@0.1.0": crate::scorer::leadhost::plugin::types,
            "leadhost:plugin/host@0.1.0": crate::scorer::leadhost::plugin::host,
        },
        pub_export_macro: true,
        default_bindings_module: "::leadhost_plugin::nurture_step",
    });
}

/// The WIT types shared by all worlds (`leadhost:plugin/types@0.1.0`).
pub use scorer::leadhost::plugin::types::{
    Action, Assignment, BehaviourCount, Email, Lead, Rep, RouteDecision, ScorePart,
};

/// Severity of a line logged through [`log`] (`leadhost:plugin/host.log-level`).
pub use scorer::leadhost::plugin::host::LogLevel;

/// A plugin for the `scorer` world: adds points to a lead, with reasons.
///
/// Export it with [`export_scorer!`].
pub trait Scorer {
    /// Score `lead`.
    ///
    /// `config` is the JSON configuration the tenant uploaded with the plugin
    /// (`{}` when none; parse it with [`Config::parse`]). The host adds the
    /// points of every returned part to the built-in score and shows each
    /// reason on the lead's timeline. An `Err` is recorded on the timeline
    /// and the built-in score applies.
    fn score(lead: &Lead, config: &str) -> Result<Vec<ScorePart>, String>;
}

/// A plugin for the `router` world: decides who gets a lead.
///
/// Export it with [`export_router!`].
pub trait Router {
    /// Route `lead` to one of `candidates` ([`RouteDecision::Rep`], naming a
    /// candidate's id), to a team ([`RouteDecision::Team`]) or to the public
    /// pool ([`RouteDecision::PublicPool`]). `config` is the tenant's JSON
    /// configuration (`{}` when none).
    fn route(lead: &Lead, candidates: &[Rep], config: &str) -> Result<RouteDecision, String>;
}

/// A plugin for the `nurture-step` world: decides what happens next to a lead
/// in a workflow.
///
/// Export it with [`export_nurture_step!`].
pub trait NurtureStep {
    /// Return the actions for this step, in order; an empty list is allowed.
    /// `config` is the tenant's JSON configuration (`{}` when none).
    fn run(lead: &Lead, config: &str) -> Result<Vec<Action>, String>;
}

/// Export a type implementing [`Scorer`] as the component's `score` function.
///
/// Call it exactly once, at the top level of a `cdylib` crate; the crate then
/// builds (`cargo build --release --target wasm32-wasip2`) into a component
/// of the `leadhost:plugin/scorer@0.1.0` world.
///
/// ```standalone_crate
/// use leadhost_plugin::{Lead, ScorePart, Scorer};
///
/// struct MyScorer;
///
/// impl Scorer for MyScorer {
///     fn score(_lead: &Lead, _config: &str) -> Result<Vec<ScorePart>, String> {
///         Ok(vec![ScorePart::new(1, "Scored: +1")])
///     }
/// }
///
/// leadhost_plugin::export_scorer!(MyScorer);
/// ```
#[macro_export]
macro_rules! export_scorer {
    ($ty:ty) => {
        const _: () = {
            /// Adapter from the generated `scorer` bindings to the SDK trait.
            struct __LeadhostScorerExport;

            impl $crate::scorer::Guest for __LeadhostScorerExport {
                fn score(
                    lead: $crate::Lead,
                    config: ::std::string::String,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<$crate::ScorePart>,
                    ::std::string::String,
                > {
                    <$ty as $crate::Scorer>::score(&lead, &config)
                }
            }

            $crate::scorer::export!(__LeadhostScorerExport with_types_in $crate::scorer);
        };
    };
}

/// Export a type implementing [`Router`] as the component's `route` function.
///
/// Call it exactly once, at the top level of a `cdylib` crate; the crate then
/// builds into a component of the `leadhost:plugin/router@0.1.0` world.
///
/// ```standalone_crate
/// use leadhost_plugin::{Lead, Rep, RouteDecision, Router};
///
/// struct MyRouter;
///
/// impl Router for MyRouter {
///     fn route(_lead: &Lead, _reps: &[Rep], _config: &str) -> Result<RouteDecision, String> {
///         Ok(RouteDecision::public_pool("Nobody home"))
///     }
/// }
///
/// leadhost_plugin::export_router!(MyRouter);
/// ```
#[macro_export]
macro_rules! export_router {
    ($ty:ty) => {
        const _: () = {
            /// Adapter from the generated `router` bindings to the SDK trait.
            struct __LeadhostRouterExport;

            impl $crate::router::Guest for __LeadhostRouterExport {
                fn route(
                    lead: $crate::Lead,
                    candidates: ::std::vec::Vec<$crate::Rep>,
                    config: ::std::string::String,
                ) -> ::core::result::Result<$crate::RouteDecision, ::std::string::String> {
                    <$ty as $crate::Router>::route(&lead, &candidates, &config)
                }
            }

    $crate::router::export!(__LeadhostRouterExport with_types_in $crate::router);
        };
    };
}

/// Export a type implementing [`NurtureStep`] as the component's `run`
/// function.
///
/// Call it exactly once, at the top level of a `cdylib` crate; the crate then
/// builds into a component of the `leadhost:plugin/nurture-step@0.1.0` world.
///
/// ```standalone_crate
/// use leadhost_plugin::{Action, Lead, NurtureStep};
///
/// struct MyStep;
///
/// impl NurtureStep for MyStep {
///     fn run(_lead: &Lead, _config: &str) -> Result<Vec<Action>, String> {
///         Ok(vec![Action::Wait(3600)])
///     }
/// }
///
/// leadhost_plugin::export_nurture_step!(MyStep);
/// ```
#[macro_export]
macro_rules! export_nurture_step {
    ($ty:ty) => {
        const _: () = {
            /// Adapter from the generated `nurture-step` bindings to the SDK trait.
            struct __LeadhostNurtureStepExport;

            impl $crate::nurture_step::Guest for __LeadhostNurtureStepExport {
                fn run(
                    lead: $crate::Lead,
                    config: ::std::string::String,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::Action>, ::std::string::String>
                {
                    <$ty as $crate::NurtureStep>::run(&lead, &config)
                }
            }

            $crate::nurture_step::export!(
                __LeadhostNurtureStepExport with_types_in $crate::nurture_step
            );
        };
    };
}
