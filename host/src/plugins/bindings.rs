//! Host bindings for the `leadhost:plugin@0.1.0` worlds, generated in one
//! place. The router and nurture-step worlds reuse the scorer's generated
//! `types` and `host` interfaces, so a `Lead` is one Rust type for all three.

pub mod scorer {
    wasmtime::component::bindgen!({
        path: "../wit/leadhost-plugin@0.1.0",
        world: "scorer",
    });
}

pub mod router {
    wasmtime::component::bindgen!({
        path: "../wit/leadhost-plugin@0.1.0",
        world: "router",
        with: {
            "leadhost:plugin/types": super::scorer::leadhost::plugin::types,
            "leadhost:plugin/host": super::scorer::leadhost::plugin::host,
        },
    });
}

pub mod nurture_step {
    wasmtime::component::bindgen!({
        path: "../wit/leadhost-plugin@0.1.0",
        world: "nurture-step",
        with: {
            "leadhost:plugin/types": super::scorer::leadhost::plugin::types,
            "leadhost:plugin/host": super::scorer::leadhost::plugin::host,
        },
    });
}

pub use scorer::leadhost::plugin::host::{Host, LogLevel};
pub use scorer::leadhost::plugin::types::{
    Action, Assignment, BehaviourCount, Email, Lead, Rep, RouteDecision, ScorePart,
};
