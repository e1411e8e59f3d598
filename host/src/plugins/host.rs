//! The plugin host a server runs: compiled components, and calls made off
//! the async workers behind a per-tenant limit and the pool's slots, so one
//! tenant's slow plugin cannot take the machine from another tenant.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::component::{ComponentCache, PluginComponent, Rejection, World};
use super::sandbox::{CallRecord, Failure, Limits, Sandbox};
use crate::storage::{PluginRecord, StoreResult, TenantStore};

/// Plugin calls one tenant may have running at once.
const CALLS_PER_TENANT: usize = 2;
/// Failures in a row after which a plugin is switched off.
pub const DISABLE_AFTER: i32 = 5;

pub struct PluginHost {
    cache: Arc<ComponentCache>,
    tenant_slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl PluginHost {
    pub fn new(cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let sandbox = Sandbox::new().map_err(|e| anyhow::anyhow!("starting the plugin sandbox: {e:#}"))?;
        Ok(Self {
            cache: Arc::new(ComponentCache::new(Arc::new(sandbox), cache_dir)),
            tenant_slots: Mutex::default(),
        })
    }

    /// Checks and compiles an upload (blocking work; call off the workers).
    pub fn check_upload(&self, bytes: &[u8], world: World) -> Result<Arc<PluginComponent>, Rejection> {
        self.cache.load(bytes, world)
    }

    /// The tenant's limits: its own CPU limit if set.
    pub async fn limits(&self, store: &TenantStore<'_>) -> StoreResult<Limits> {
        let mut limits = Limits::default();
        if let Some(fuel) = store.plugin_fuel().await? {
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

    /// Runs `call` on a blocking thread once the tenant and the pool both
    /// have room; queues otherwise.
    pub async fn call<T: Send + 'static>(
        &self,
        tenant_id: &str,
        call: impl FnOnce(&Sandbox) -> CallRecord<T> + Send + 'static,
    ) -> CallRecord<T> {
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
        match tokio::task::spawn_blocking(move || call(&sandbox)).await {
            Ok(record) => record,
            Err(err) => CallRecord {
                outcome: Err(Failure::Trap(format!("the call's thread failed: {err}"))),
                logs: Vec::new(),
                logs_dropped: 0,
                stdout: String::new(),
                stderr: String::new(),
                fuel_used: 0,
                duration: Default::default(),
            },
        }
    }
}
