//! Settings for `leadhost serve`: CLI flags, `LEADHOST_*` environment
//! variables and an optional TOML file, in that order of precedence.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::storage::SqliteSync;

/// The embedded default database, relative to the working directory.
pub const DEFAULT_SQLITE_FILE: &str = "data/leadhost.db";
/// Where compiled plugins are kept by default.
pub const DEFAULT_PLUGIN_CACHE: &str = "data/plugin-cache";

#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    /// `None` means the embedded SQLite file plus the demo tenant.
    pub database_url: Option<String>,
    pub sqlite_sync: SqliteSync,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    pub operator_token: Option<String>,
    /// Where the demo tenant is loaded from.
    pub examples_dir: PathBuf,
    /// Where compiled plugins are kept across restarts.
    pub plugin_cache_dir: PathBuf,
    /// The SMTP relay email goes through (`smtp://`, `smtps://`); `None`:
    /// emails wait in the outbox.
    pub smtp_url: Option<String>,
    /// The address people reach this server at, for the links in emails
    /// (unsubscribe, tracking); default: `http://` and the bound address.
    pub public_url: Option<String>,
}

impl Settings {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{DEFAULT_SQLITE_FILE}"))
    }

    pub fn uses_embedded_default(&self) -> bool {
        self.database_url.is_none()
    }

    /// For CLI commands that do a server's work in process (no listening).
    pub fn for_tools() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: None,
            sqlite_sync: SqliteSync::default(),
            body_limit: 64 * 1024,
            operator_token: None,
            examples_dir: PathBuf::from("examples"),
            plugin_cache_dir: PathBuf::from(DEFAULT_PLUGIN_CACHE),
            smtp_url: None,
            public_url: None,
        }
    }
}

/// The TOML file's keys; every one optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub bind: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub sqlite_sync: Option<SqliteSync>,
    pub body_limit: Option<usize>,
    pub operator_token: Option<String>,
    pub examples_dir: Option<PathBuf>,
    pub plugin_cache_dir: Option<PathBuf>,
    pub smtp_url: Option<String>,
    pub public_url: Option<String>,
}

impl FileSettings {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}
