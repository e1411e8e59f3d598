//! The plugin host a server runs: compiled components, and calls made off
//! the async workers behind a per-tenant limit and the pool's slots, so one
//! tenant's slow plugin cannot take the machine from another tenant.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::component::{ComponentCache, PluginComponent, Rejection, World};
use super::sandbox::{Failure, Limits, Sandbox};
use crate::storage::{PluginRecord, StoreResult, TenantStore};

/// Plugin calls one tenant may have running at once.
const CALLS_PER_TENANT: usize = 2;
/// Failures in a row after which a plugin is switched off.
pub const DISABLE_AFTER: i32 = 5;

pub struct PluginHost {
    cache: Arc<ComponentCache>,
    tenant_slots: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Each tenant's enabled plugins by world, read once per `ENABLED_TTL`
    /// rather than for every lead; changes made in this process apply at once.
    enabled: Mutex<HashMap<(String, World), EnabledPlugins>>,
    /// Each tenant's CPU limit setting, cached the same way.
    fuel: Mutex<HashMap<String, Fetched<Option<i64>>>>,
}

/// A value read from the database, and when.
type Fetched<T> = (T, Instant);
type EnabledPlugins = Fetched<Vec<PluginRecord>>;

/// How long another process's plugin change may take to reach this one.
const ENABLED_TTL: Duration = Duration::from_secs(2);

impl PluginHost {
    pub fn new(cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let sandbox = Sandbox::new().map_err(|e| anyhow::anyhow!("starting the plugin sandbox: {e:#}"))?;
        Ok(Self {
            cache: Arc::new(ComponentCache::new(Arc::new(sandbox), cache_dir)),
            tenant_slots: Mutex::default(),
            enabled: Mutex::default(),
            fuel: Mutex::default(),
        })
    }

    /// Checks and compiles an upload (blocking work; call off the workers).
    pub fn check_upload(&self, bytes: &[u8], world: World) -> Result<Arc<PluginComponent>, Rejection> {
        self.cache.load(bytes, world)
    }

    /// The tenant's enabled plugins of `world`, by name.
    pub async fn enabled(&self, store: &TenantStore<'_>, world: World) -> StoreResult<Vec<PluginRecord>> {
        let key = (store.tenant_id().to_owned(), world);
        if let Some((plugins, at)) = self.enabled.lock().expect("enabled plugins lock").get(&key)
            && at.elapsed() < ENABLED_TTL
        {
            return Ok(plugins.clone());
        }
        let plugins = store.enabled_plugins(world.as_str()).await?;
        self.enabled
            .lock()
            .expect("enabled plugins lock")
            .insert(key, (plugins.clone(), Instant::now()));
        Ok(plugins)
    }

    /// Drops what is cached of a tenant's plugins after a change.
    pub fn forget(&self, tenant_id: &str) {
        self.enabled
            .lock()
            .expect("enabled plugins lock")
            .retain(|(tenant, _), _| tenant != tenant_id);
        self.fuel.lock().expect("fuel lock").remove(tenant_id);
    }

    /// The tenant's limits: its own CPU limit if set (read at most once per
    /// `ENABLED_TTL`, like the plugin list).
    pub async fn limits(&self, store: &TenantStore<'_>) -> StoreResult<Limits> {
        let cached = self.fuel.lock().expect("fuel lock").get(store.tenant_id()).copied();
        let fuel = match cached {
            Some((fuel, at)) if at.elapsed() < ENABLED_TTL => fuel,
            _ => {
                let fuel = store.plugin_fuel().await?;
                self.fuel
                    .lock()
                    .expect("fuel lock")
                    .insert(store.tenant_id().to_owned(), (fuel, Instant::now()));
                fuel
            }
        };
        let mut limits = Limits::default();
        if let Some(fuel) = fuel {
            limits.fuel = fuel.max(1) as u64;
        }
        Ok(limits)
    }

    /// The compiled component of a stored plugin, compiling it from the
    /// database's bytes on first use in this process.
    pub async fn component(
        &self,
        store: &TenantStore<'_>,
        plugin: &PluginRecord,
    ) -> Result<Arc<PluginComponent>, Failure> {
        let world: World = plugin.world.parse().map_err(Failure::Instantiate)?;
        if let Some(found) = self.cache.cached(&plugin.sha256, world) {
            return Ok(found);
        }
        let bytes = store
            .plugin_component(&plugin.id)
            .await
            .map_err(|e| Failure::Instantiate(e.to_string()))?;
        let cache = self.cache.clone();
        tokio::task::spawn_blocking(move || cache.load(&bytes, world))
            .await
            .map_err(|e| Failure::Instantiate(e.to_string()))?
            .map_err(|e| Failure::Instantiate(e.to_string()))
    }

    /// Runs `work` (plugin calls) on a blocking thread once the tenant and
    /// the pool both have room; queues otherwise. One trip may hold several
    /// calls: each trip off the async workers costs thread hand-offs.
    pub async fn run<T: Send + 'static>(
        &self,
        tenant_id: &str,
        work: impl FnOnce(&Sandbox) -> T + Send + 'static,
    ) -> Result<T, Failure> {
        let tenant = {
            let mut slots = self.tenant_slots.lock().expect("tenant slots lock");
            slots
                .entry(tenant_id.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(CALLS_PER_TENANT)))
                .clone()
        };
        let _tenant_permit = tenant.acquire_owned().await.expect("tenant semaphore never closes");
        let sandbox = self.cache.sandbox().clone();
        let _slot = sandbox.slot().await;
        tokio::task::spawn_blocking(move || work(&sandbox))
            .await
            .map_err(|err| Failure::Trap(format!("the call's thread failed: {err}")))
    }
}
