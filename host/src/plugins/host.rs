//! The plugin host a server runs: compiled components, and calls made off
//! the async workers behind a per-tenant limit and the pool's slots, so one
//! tenant's slow plugin cannot take the machine from another tenant.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::compile_queue::{CompileQueue, QueueFull};
use super::component::{ComponentCache, PluginComponent, Rejection, sha256_hex};
use super::sandbox::{Failure, Limits, Sandbox};
use crate::clock::Timestamp;
use crate::domain::RecentCalls;
use crate::domain::{PluginStatus, World};
use crate::recent::{Recent, SETTINGS_TTL};
use crate::storage::{NewPlugin, PendingCompile, PluginRecord, Store, StoreError, StoreResult, TenantStore};

/// Plugin calls one tenant may have running at once.
const CALLS_PER_TENANT: usize = 2;
/// Queued pieces of work one trip off the async workers takes at most,
/// before the slot goes back to the pool (fairness between tenants).
const TRIP_WORK: usize = 64;
/// Failures in a row after which a plugin is switched off.
pub const DISABLE_AFTER: i32 = 5;
/// Uploads up to this size are compiled in the request (a Rust plugin in
/// about 0.1 s, jco's QuickJS build in about a second); larger ones in the
/// background compile queue.
pub const COMPILE_IN_REQUEST_BYTES: usize = 4 << 20;
/// After a compile's database read or write failed, it is queued again this
/// much later.
const COMPILE_RETRY: Duration = Duration::from_secs(5);

pub struct PluginHost {
    cache: Arc<ComponentCache>,
    compiles: CompileQueue,
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
    /// Each tenant's enabled plugins by world, read once per `SETTINGS_TTL`
    /// rather than for every lead; changes made in this process apply at once.
    enabled: Recent<(String, World), Vec<PluginRecord>>,
    /// Each tenant's CPU limit setting, cached the same way.
    fuel: Recent<String, Option<i64>>,
    /// When each plugin last had a successful call's record kept.
    kept: Mutex<HashMap<String, Instant>>,
    /// Successful calls not yet written, by plugin id (see `count_success`).
    successes: Mutex<HashMap<String, Successes>>,
    /// Each plugin's latest outcomes (true: failed), at most `RECENT_CALLS`.
    recent: Mutex<HashMap<String, VecDeque<bool>>>,
}

/// How many of a plugin's latest calls its failure rate is taken over.
pub const RECENT_CALLS: usize = 50;

/// Successful calls of one plugin counted in memory since they were last
/// written.
#[derive(Debug, Clone, PartialEq)]
pub struct Successes {
    pub tenant_id: String,
    pub calls: i64,
    pub last_at: Timestamp,
}

impl Successes {
    fn add(&mut self, calls: i64, at: Timestamp) {
        self.calls += calls;
        self.last_at = self.last_at.max(at);
    }
}

/// How often counted successful calls are written to their plugins' rows.
pub const WRITE_SUCCESSES_EVERY: Duration = Duration::from_secs(1);

/// Successful calls of a plugin whose records are kept: at most one per this
/// long (every failure is kept). A record holds the call's logs and output;
/// two per lead at a thousand leads a second was most of what plugins cost
/// intake, and more rows than anyone reads.
const KEEP_SUCCESS_EVERY: Duration = Duration::from_secs(1);

impl PluginHost {
    pub fn new(cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let sandbox = Sandbox::new().map_err(|e| anyhow::anyhow!("starting the plugin sandbox: {e:#}"))?;
        Ok(Self {
            cache: Arc::new(ComponentCache::new(Arc::new(sandbox), cache_dir)),
            compiles: CompileQueue::default(),
            lanes: Mutex::default(),
            enabled: Recent::new(SETTINGS_TTL),
            fuel: Recent::new(SETTINGS_TTL),
            kept: Mutex::default(),
            successes: Mutex::default(),
            recent: Mutex::default(),
        })
    }

    /// Checks and compiles an upload (blocking work; call off the workers).
    pub fn check_upload(&self, bytes: &[u8], world: World) -> Result<Arc<PluginComponent>, Rejection> {
        self.cache.load(bytes, world)
    }

    /// Admits an upload: a small one (or one compiled before) is compiled
    /// and type-checked now, and is `Ready`; a large one is prechecked and
    /// will be `Compiling` once stored and queued (`queue_compile`).
    /// `sha256` is the bytes' content hash (`component::sha256_hex`).
    pub async fn admit(
        &self,
        tenant_id: &str,
        bytes: &[u8],
        sha256: &str,
        world: World,
    ) -> Result<PluginStatus, Admission> {
        ComponentCache::precheck(bytes)?;
        if bytes.len() > COMPILE_IN_REQUEST_BYTES && !self.cache.is_compiled(sha256) {
            self.compiles.has_room(tenant_id)?;
            return Ok(PluginStatus::Compiling);
        }
        let (cache, bytes) = (self.cache.clone(), bytes.to_vec());
        tokio::task::spawn_blocking(move || cache.load(&bytes, world).map(|_| PluginStatus::Ready))
            .await
            .map_err(|e| Admission::Refused(Rejection::Invalid(format!("the compile failed: {e}"))))?
            .map_err(Admission::Refused)
    }

    /// Stores a plugin that [`admit`](Self::admit) let in (with the status it
    /// gave), and queues its compile when it is `Compiling`; the tenant's
    /// plugin lists are read afresh.
    pub async fn keep(
        &self,
        store: &TenantStore<'_>,
        plugin: NewPlugin<'_>,
        replace: bool,
    ) -> StoreResult<PluginRecord> {
        let saved = store.save_plugin(plugin, replace).await?;
        if saved.status == PluginStatus::Compiling {
            self.queue_compile(PendingCompile {
                tenant_id: store.tenant_id().to_owned(),
                plugin_id: saved.id.clone(),
                sha256: saved.sha256.clone(),
                world: saved.world,
            });
        }
        self.forget(store.tenant_id());
        Ok(saved)
    }

    /// Queues a stored `Compiling` plugin for the background compiler.
    pub fn queue_compile(&self, compile: PendingCompile) {
        self.compiles.push(compile);
    }

    /// The background compiler, for the life of the server: queues the
    /// plugins a previous run left `compiling`, then compiles what is
    /// queued, one at a time, tenants taking turns.
    pub fn start_compiler(self: &Arc<Self>, store: Store) {
        let host = self.clone();
        tokio::spawn(async move {
            match store.pending_compiles().await {
                Ok(pending) => pending.into_iter().for_each(|compile| host.queue_compile(compile)),
                Err(err) => tracing::warn!(%err, "could not list the plugins waiting to compile"),
            }
            loop {
                let compile = host.compiles.next().await;
                if let Err(err) = host.compile(&store, &compile).await {
                    tracing::warn!(plugin = %compile.plugin_id, %err, "a background compile could not be recorded; retrying");
                    let host = host.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(COMPILE_RETRY).await;
                        host.queue_compile(compile);
                    });
                }
            }
        });
    }

    /// Compiles and type-checks a queued plugin and records the outcome on
    /// it. A plugin deleted or replaced meanwhile is left alone (a newer
    /// compile is queued for a replacement).
    async fn compile(&self, store: &Store, compile: &PendingCompile) -> StoreResult<()> {
        let tenant = store.tenant(&compile.tenant_id);
        let bytes = match tenant.plugin_component(&compile.plugin_id).await {
            Err(StoreError::NotFound) => return Ok(()),
            found => found?,
        };
        if sha256_hex(&bytes) != compile.sha256 {
            return Ok(());
        }
        let (cache, world) = (self.cache.clone(), compile.world);
        let started = Instant::now();
        let loaded = tokio::task::spawn_blocking(move || cache.load(&bytes, world)).await;
        let error = match loaded {
            Ok(Ok(_)) => None,
            Ok(Err(rejection)) => Some(rejection.to_string()),
            Err(join) => Some(format!("the compile failed: {join}")),
        };
        tracing::info!(
            plugin = %compile.plugin_id, tenant = %compile.tenant_id, ms = started.elapsed().as_millis() as u64,
            error = error.as_deref().unwrap_or("none"), "compiled a plugin in the background"
        );
        tenant
            .finish_compile(&compile.plugin_id, &compile.sha256, error.as_deref())
            .await?;
        self.forget(&compile.tenant_id);
        Ok(())
    }

    /// The tenant's enabled plugins of `world`, by name.
    pub async fn enabled(&self, store: &TenantStore<'_>, world: World) -> StoreResult<Vec<PluginRecord>> {
        let key = (store.tenant_id().to_owned(), world);
        let plugins = self.enabled.get(key, store.enabled_plugins(world)).await?;
        Ok(plugins.as_ref().clone())
    }

    /// Whether to keep the record of a successful call of `plugin_id`: the
    /// first in each `KEEP_SUCCESS_EVERY`.
    pub fn keep_success(&self, plugin_id: &str) -> bool {
        let mut kept = self.kept.lock().expect("kept calls lock");
        match kept.get(plugin_id) {
            Some(at) if at.elapsed() < KEEP_SUCCESS_EVERY => false,
            _ => {
                kept.insert(plugin_id.to_owned(), Instant::now());
                true
            }
        }
    }

    /// Counts a successful call. Successes are written once per
    /// `WRITE_SUCCESSES_EVERY` rather than with each lead: a counter bumped
    /// in every step's transaction made the plugin's row a lock every step
    /// of the tenant queued on (PostgreSQL) and a statement per lead on
    /// SQLite's one writer. A crash loses at most that long of the count;
    /// failures are written with their lead, at once.
    pub fn count_success(&self, tenant_id: &str, plugin_id: &str, at: Timestamp) {
        let one = Successes {
            tenant_id: tenant_id.to_owned(),
            calls: 1,
            last_at: at,
        };
        self.restore_successes([(plugin_id.to_owned(), one)]);
    }

    /// Notes one call's outcome; returns the plugin's latest calls (this
    /// one included). Kept per process: with several processes each judges
    /// the calls it made.
    pub fn note_outcome(&self, plugin_id: &str, failed: bool) -> RecentCalls {
        let mut recent = self.recent.lock().expect("recent outcomes lock");
        let window = recent.entry(plugin_id.to_owned()).or_default();
        if window.len() == RECENT_CALLS {
            window.pop_front();
        }
        window.push_back(failed);
        RecentCalls {
            failed: window.iter().filter(|f| **f).count() as u32,
            calls: window.len() as u32,
        }
    }

    /// Takes a plugin's unwritten successes, for a failure to write first
    /// (a success resets the failures-in-a-row count).
    pub fn take_successes(&self, plugin_id: &str) -> Option<Successes> {
        self.successes.lock().expect("successes lock").remove(plugin_id)
    }

    /// Adds successes to the unwritten ones (also giving back those taken
    /// but not written).
    pub fn restore_successes(&self, taken: impl IntoIterator<Item = (String, Successes)>) {
        let mut successes = self.successes.lock().expect("successes lock");
        for (plugin_id, back) in taken {
            match successes.get_mut(&plugin_id) {
                Some(entry) => entry.add(back.calls, back.last_at),
                None => {
                    successes.insert(plugin_id, back);
                }
            }
        }
    }

    /// The plugins as they stand: their rows plus the successes this
    /// process has counted and not written yet.
    pub fn with_unwritten(&self, mut plugins: Vec<PluginRecord>) -> Vec<PluginRecord> {
        let successes = self.successes.lock().expect("successes lock");
        for plugin in &mut plugins {
            if let Some(unwritten) = successes.get(&plugin.id) {
                plugin.calls += unwritten.calls;
                plugin.consecutive_failures = 0;
                plugin.last_called_at = Some(
                    plugin
                        .last_called_at
                        .map_or(unwritten.last_at, |at| at.max(unwritten.last_at)),
                );
            }
        }
        plugins
    }

    /// Writes every counted success; what cannot be written is kept for
    /// the next time.
    pub async fn write_successes(&self, store: &Store) {
        let taken: Vec<(String, Successes)> = self.successes.lock().expect("successes lock").drain().collect();
        let mut failed = Vec::new();
        for (plugin_id, successes) in taken {
            let written = store
                .tenant(&successes.tenant_id)
                .count_successes(&plugin_id, successes.calls, successes.last_at)
                .await;
            if let Err(err) = written {
                tracing::warn!(plugin = %plugin_id, %err, "writing plugin call counts failed; trying again later");
                failed.push((plugin_id, successes));
            }
        }
        self.restore_successes(failed);
    }

    /// Drops what is cached of a tenant's plugins after a change.
    pub fn forget(&self, tenant_id: &str) {
        self.enabled.retain(|(tenant, _)| tenant != tenant_id);
        self.fuel.retain(|tenant| tenant != tenant_id);
    }

    /// The tenant's limits: its own CPU limit if set (read at most once per
    /// `SETTINGS_TTL`, like the plugin list).
    pub async fn limits(&self, store: &TenantStore<'_>) -> StoreResult<Limits> {
        let fuel = self.fuel.get(store.tenant_id().to_owned(), store.plugin_fuel()).await?;
        let mut limits = Limits::default();
        if let Some(fuel) = *fuel {
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
        let world = plugin.world;
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

    /// Runs `work` (plugin calls) on a blocking thread, at most
    /// `CALLS_PER_TENANT` at a time for the tenant and within the pool's
    /// slots; queues otherwise. Queued work of a tenant is run together: a
    /// trip off the async workers costs thread hand-offs that, under load,
    /// cost more than the calls, so a trip takes everything queued by then.
    /// Whether the tenant's plugin work is queued behind its runners: then
    /// more of its background steps would only wait in that queue.
    pub fn is_busy(&self, tenant_id: &str) -> bool {
        let lanes = self.lanes.lock().expect("tenant lanes lock");
        lanes
            .get(tenant_id)
            .is_some_and(|lane| !lane.queue.lock().expect("lane queue lock").is_empty())
    }

    pub async fn run<T: Send + 'static>(
        &self,
        tenant_id: &str,
        work: impl FnOnce(&Sandbox) -> T + Send + 'static,
    ) -> Result<T, Failure> {
        let lane = {
            let mut lanes = self.lanes.lock().expect("tenant lanes lock");
            lanes.entry(tenant_id.to_owned()).or_default().clone()
        };
        let (done, result) = oneshot::channel();
        lane.push(Box::new(move |sandbox| {
            let _ = done.send(work(sandbox));
        }));
        if let Ok(runner) = lane.runners.clone().try_acquire_owned() {
            tokio::spawn(lane.drain(self.cache.sandbox().clone(), runner));
        }
        result
            .await
            .map_err(|_| Failure::Trap("the call's thread failed".into()))
    }
}

/// Work queued for the sandbox: runs and hands its result back itself.
type Queued = Box<dyn FnOnce(&Sandbox) + Send>;

/// A tenant's queue of plugin work and the runners taking it.
struct Lane {
    queue: Mutex<VecDeque<Queued>>,
    runners: Arc<Semaphore>,
}

impl Default for Lane {
    fn default() -> Self {
        Self {
            queue: Mutex::default(),
            runners: Arc::new(Semaphore::new(CALLS_PER_TENANT)),
        }
    }
}

impl Lane {
    fn push(&self, work: Queued) {
        self.queue.lock().expect("lane queue lock").push_back(work);
    }

    fn pop(&self) -> Option<Queued> {
        self.queue.lock().expect("lane queue lock").pop_front()
    }

    fn is_empty(&self) -> bool {
        self.queue.lock().expect("lane queue lock").is_empty()
    }

    /// Runs the queue in trips until it is empty. A runner lets go of its
    /// permit before the last look at the queue, so work queued meanwhile
    /// either finds the permit free or is seen by that look.
    async fn drain(self: Arc<Self>, sandbox: Arc<Sandbox>, mut runner: OwnedSemaphorePermit) {
        loop {
            let slot = sandbox.slot().await;
            let (lane, trip_sandbox) = (self.clone(), sandbox.clone());
            let trip = tokio::task::spawn_blocking(move || {
                for _ in 0..TRIP_WORK {
                    let Some(work) = lane.pop() else { break };
                    // A panic fails that work only (its caller sees the
                    // dropped reply); the rest of the queue still runs.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| work(&trip_sandbox)));
                }
            });
            let _ = trip.await;
            drop(slot);
            if self.is_empty() {
                drop(runner);
                if self.is_empty() {
                    return;
                }
                runner = match self.runners.clone().try_acquire_owned() {
                    Ok(runner) => runner,
                    Err(_) => return, // another runner has it
                };
            }
        }
    }
}

/// Why an upload was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum Admission {
    #[error(transparent)]
    Refused(#[from] Rejection),
    #[error("the compile queue is full: {0}; try again shortly")]
    QueueFull(#[from] QueueFull),
}
