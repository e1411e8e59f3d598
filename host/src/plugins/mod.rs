//! Tenant plugins: WebAssembly components behind the `leadhost:plugin` WIT
//! worlds, checked at upload, compiled once per content hash, and run in a
//! fresh sandboxed store per call.

pub mod bindings;
pub mod call_env;
pub mod calls;
pub mod capped;
pub mod compile_queue;
pub mod component;
pub mod contract;
pub mod failures;
pub mod host;
mod http_refusal;
pub mod offline;
mod output;
pub mod sandbox;
pub mod scaffold;
pub mod upload;

pub use calls::{Prepared, StepCalls, plugin_lead, prepare};
pub use host::PluginHost;
