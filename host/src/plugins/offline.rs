//! `leadhost plugin check` and `leadhost plugin run`: the integrator's loop,
//! without a server or a database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::bindings::{Lead, Rep};
use super::component::{ComponentCache, Rejection, sha256_hex};
use super::contract::{LeadInput, RepInput};
use super::sandbox::{Limits, Sandbox};
use crate::domain::World;

/// Compiled components are kept across runs (a 12 MB JavaScript component
/// takes seconds to compile): in `dir` (`--plugin-cache` or
/// `LEADHOST_PLUGIN_CACHE`, as for `serve`, so a server's folder can be
/// shared), else the user's cache folder, keyed by content hash like the
/// server's.
fn cache(dir: Option<&Path>) -> anyhow::Result<ComponentCache> {
    let sandbox = Sandbox::new().map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("leadhost/plugins")))
        .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/leadhost/plugins")))
        .filter(|dir| std::fs::create_dir_all(dir).is_ok());
    Ok(ComponentCache::new(Arc::new(sandbox), dir))
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Which world the file implements, its imports, and whether it would be
/// accepted at upload.
pub fn check(path: &Path, cache_dir: Option<&Path>) -> anyhow::Result<Value> {
    let bytes = read(path)?;
    let cache = cache(cache_dir)?;
    let worlds = cache.detect_worlds(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let imports = cache.imports(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let world = match worlds.as_slice() {
        [world] => *world,
        [] => {
            // Say why, with the scorer's error as the most common intent.
            let why = World::ALL
                .iter()
                .find_map(|w| cache.load(&bytes, *w).err())
                .map(|e| e.to_string());
            bail!(
                "{}",
                why.unwrap_or_else(|| "the component implements no leadhost world".into())
            );
        }
        many => {
            bail!("the component implements several worlds ({many:?}); a plugin implements one")
        }
    };
    Ok(json!({
        "file": path.display().to_string(),
        "bytes": bytes.len(),
        "sha256": sha256_hex(&bytes),
        "world": world,
        "imports": imports,
        "type_checks": true,
    }))
}

pub struct RunRequest<'a> {
    pub file: &'a Path,
    pub world: Option<World>,
    pub lead: LeadInput,
    pub config: String,
    pub candidates: Vec<RepInput>,
    pub limits: Limits,
    /// Where compiled components are kept (see `cache`).
    pub cache_dir: Option<&'a Path>,
}

/// Calls the plugin once on the lead; the result, logs, fuel and time used.
pub fn run(request: RunRequest<'_>) -> anyhow::Result<Value> {
    let bytes = read(request.file)?;
    let cache = cache(request.cache_dir)?;
    let world = match request.world {
        Some(world) => world,
        None => match cache
            .detect_worlds(&bytes)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .as_slice()
        {
            [world] => *world,
            _ => bail!("cannot tell the component's world; pass --world"),
        },
    };
    let component = cache
        .load(&bytes, world)
        .map_err(|e: Rejection| anyhow::anyhow!("{e}"))?;
    let lead = Lead::from(request.lead);
    let candidates: Vec<Rep> = request.candidates.into_iter().map(Rep::from).collect();
    let report = component.trial(cache.sandbox(), &request.limits, &lead, &candidates, &request.config);
    Ok(report)
}
