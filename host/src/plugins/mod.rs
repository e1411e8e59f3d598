//! Tenant plugins: WebAssembly components behind the `leadhost:plugin` WIT
//! worlds, checked at upload, compiled once per content hash, and run in a
//! fresh sandboxed store per call.

pub mod bindings;
mod output;
pub mod sandbox;
