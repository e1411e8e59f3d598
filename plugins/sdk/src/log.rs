//! Logging through the host's `log` import (`leadhost:plugin/host@0.1.0`).
//!
//! Lines are kept (bounded) with the call record and shown by
//! `leadhost plugin run`. Outside WebAssembly (native unit tests) they are
//! written to stderr instead, so plugin logic that logs can be tested with a
//! plain `cargo test`.
//!
//! ```
//! use leadhost_plugin::log;
//!
//! log::info("scoring lead");
//! log::warn(format!("unknown budget value {:?}", "lots"));
//! ```

use crate::LogLevel;

/// Log `message` at `level`.
pub fn log(level: LogLevel, message: impl AsRef<str>) {
    emit(level, message.as_ref());
}

/// Log a debug line.
pub fn debug(message: impl AsRef<str>) {
    emit(LogLevel::Debug, message.as_ref());
}

/// Log an informational line.
pub fn info(message: impl AsRef<str>) {
    emit(LogLevel::Info, message.as_ref());
}

/// Log a warning.
pub fn warn(message: impl AsRef<str>) {
    emit(LogLevel::Warn, message.as_ref());
}

/// Log an error (the plugin may still return `Ok`).
pub fn error(message: impl AsRef<str>) {
    emit(LogLevel::Error, message.as_ref());
}

/// Call the host import.
#[cfg(target_arch = "wasm32")]
fn emit(level: LogLevel, message: &str) {
    crate::scorer::leadhost::plugin::host::log(level, message);
}

/// Native builds have no host to call: write to stderr (captured by the test
/// harness and shown for failing tests).
#[cfg(not(target_arch = "wasm32"))]
fn emit(level: LogLevel, message: &str) {
    let level = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    eprintln!("[plugin {level}] {message}");
}
