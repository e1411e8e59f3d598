//! The sandbox: the engine configured in one place, and one call of a plugin
//! in a fresh `Store` with its CPU, memory, stack and output bounded.
//!
//! Sizing (see docs/ARCHITECTURE.md, "Plugins"): one pool sized for
//! `CONCURRENT_CALLS` components at once, each as large as the largest
//! toolchain's output we admit, and a semaphore of `CONCURRENT_CALLS` permits
//! in front, so a full pool queues and never fails. A component is several
//! core instances: a Rust wasm32-wasip2 one 3 (its module, the WASI adapter
//! and a shim), jco's QuickJS build 8, componentize-py's 14 (Python and its
//! native extensions, dynamically linked). Slots are only address space
//! until a call touches them, so sizing for the largest costs a Rust call
//! nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store, Trap,
};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::{Host, LogLevel, scorer};
use super::call_env::{CallClock, CallClocks, CallClocksView, CallEnv};
use super::capped::{ERROR_BYTES, cut_bytes};
use super::http_refusal::{self, CallHttp};
use super::output::CappedOutput;

/// Plugin calls that may run at once, across all tenants.
pub const CONCURRENT_CALLS: usize = 16;
/// componentize-py's 14, with room for a toolchain that links more.
const CORE_INSTANCES_PER_COMPONENT: u32 = 64;
/// jco's QuickJS build has 2 (the engine's and its WASI adapter's).
const MEMORIES_PER_COMPONENT: u32 = 4;
/// Each toolchain seen has 2.
const TABLES_PER_COMPONENT: u32 = 8;
/// A table's most elements: StarlingMonkey starts with 7,689 functions in
/// its table, Python 5,672.
const TABLE_ELEMENTS: usize = 100_000;
/// How often the epoch advances; the wall-clock deadline is counted in these.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Per-call limits. Defaults suit a scorer or router on a small machine;
/// a tenant may lower or raise `fuel`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// CPU, counted in wasm instructions (roughly); deterministic.
    pub fuel: u64,
    /// Wall-clock backstop for anything fuel does not count.
    pub deadline: Duration,
    /// Each linear memory's ceiling.
    pub memory_bytes: usize,
    /// Captured stdout and stderr, each.
    pub output_bytes: usize,
    /// Log lines kept (each cut to `LOG_LINE_BYTES`).
    pub log_lines: usize,
    /// What the call's wall clock reads when it starts: the step's time
    /// (`None`: the time of the call).
    pub clock_at: Option<crate::clock::Timestamp>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 200_000_000,
            deadline: Duration::from_secs(2),
            memory_bytes: 64 << 20,
            output_bytes: 16 << 10,
            log_lines: 100,
            clock_at: None,
        }
    }
}

const LOG_LINE_BYTES: usize = 1024;
const MAX_WASM_STACK: usize = 512 << 10;
/// Dirty bytes of a memory or table reset in place (and kept resident) when
/// a slot is reused, rather than returned to the kernel. A Rust scorer
/// writes some tens of KiB a call.
const KEEP_RESIDENT: usize = 2 << 20;

/// The wasmtime engine and linker every tenant's plugins share.
pub struct Sandbox {
    pub(super) engine: Engine,
    pub(super) linker: Linker<CallState>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl Sandbox {
    pub fn new() -> wasmtime::Result<Self> {
        let mut pool = PoolingAllocationConfig::default();
        let slots = CONCURRENT_CALLS as u32;
        pool.total_component_instances(slots)
            .total_core_instances(slots * CORE_INSTANCES_PER_COMPONENT)
            .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
            .total_memories(slots * MEMORIES_PER_COMPONENT)
            .max_memories_per_component(MEMORIES_PER_COMPONENT)
            .total_tables(slots * TABLES_PER_COMPONENT)
            .max_tables_per_component(TABLES_PER_COMPONENT)
            .table_elements(TABLE_ELEMENTS)
            .max_memory_size(Limits::default().memory_bytes.max(256 << 20))
            // When an instance ends, its slot is reset for the next one. By
            // default that returns the memory to the kernel (madvise): every
            // core flushes its TLB, and the next instance faults every page
            // back in, which was most of a call's cost. With Linux's
            // PAGEMAP_SCAN (6.7+) only the pages the guest wrote are found and
            // copied back from the image or zeroed, up to this much per memory,
            // and stay resident for the next call of the same plugin.
            .pagemap_scan(Enabled::Auto)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT)
            // What is still returned to the kernel goes in batches, so the
            // TLB flush is paid per batch, not per call.
            .decommit_batch_size(CONCURRENT_CALLS / 2);
        let mut config = Config::new();
        config
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            // Fuel: a deterministic CPU bound, and "fuel used" for integrators.
            .consume_fuel(true)
            // Epochs: a wall-clock deadline on top of fuel.
            .epoch_interruption(true)
            .max_wasm_stack(MAX_WASM_STACK);
        let engine = Engine::new(&config)?;
        start_epoch_ticker(&engine);

        let mut linker: Linker<CallState> = Linker::new(&engine);
        // WASI with an empty context: what Rust's std imports links, but sees
        // no files, environment, arguments or network.
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        // ... except the monotonic clock: a call's own, whose timers never
        // start a real one (a plugin's sleep or poll cannot make it wait).
        CallClocks::link(&mut linker, |state| CallClocksView {
            clock: &state.clock,
            table: &mut state.table,
        })?;
        // wasi:http, refusing every request (jco's default build imports it).
        http_refusal::link(&mut linker)?;
        // The `leadhost:plugin/host` and `types` imports, shared by all worlds.
        scorer::Scorer::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |state| state)?;
        Ok(Self {
            engine,
            linker,
            permits: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_CALLS)),
        })
    }

    /// Waits for a free slot in the pool.
    pub async fn slot(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .expect("the sandbox semaphore is never closed")
    }

    /// A fresh store for one call, with its own clocks and random (see
    /// `call_env`). stdin is empty: a read returns at once.
    pub fn store(&self, limits: &Limits) -> wasmtime::Result<Store<CallState>> {
        let stdout = CappedOutput::new(limits.output_bytes);
        let stderr = CappedOutput::new(limits.output_bytes);
        let mut env = CallEnv::fresh();
        env.at = limits.clock_at.unwrap_or(env.at);
        let mut wasi = WasiCtxBuilder::new();
        // No network: no TCP or UDP sockets, no name lookups, and (by
        // default) no address passes the address check either.
        wasi.stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let clock = env.apply(&mut wasi);
        let state = CallState {
            wasi: wasi.build(),
            env,
            clock,
            table: ResourceTable::new(),
            http: CallHttp::default(),
            memory: MemoryCeiling {
                bytes: limits.memory_bytes,
                exceeded: false,
            },
            logs: Vec::new(),
            logs_dropped: 0,
            log_lines: limits.log_lines,
            stdout,
            stderr,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        store.set_fuel(limits.fuel)?;
        let ticks = (limits.deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        Ok(store)
    }
}

/// Advances the engine's epoch every tick, for as long as the engine lives.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("plugin-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch ticker");
}

/// What one call's store holds.
pub struct CallState {
    wasi: WasiCtx,
    env: CallEnv,
    clock: CallClock,
    table: ResourceTable,
    http: CallHttp,
    memory: MemoryCeiling,
    logs: Vec<LogLine>,
    logs_dropped: usize,
    log_lines: usize,
    stdout: CappedOutput,
    stderr: CappedOutput,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl CallState {
    /// The call's `wasi:http` state and resource table, borrowed together.
    pub(super) fn http_parts(&mut self) -> (&mut CallHttp, &mut ResourceTable) {
        (&mut self.http, &mut self.table)
    }
}

impl scorer::leadhost::plugin::types::Host for CallState {}

impl Host for CallState {
    fn log(&mut self, level: LogLevel, message: String) {
        if self.logs.len() >= self.log_lines {
            self.logs_dropped += 1;
            return;
        }
        let mut message = message;
        if message.len() > LOG_LINE_BYTES {
            let mut cut = LOG_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let level = match level {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        self.logs.push(LogLine { level, message });
    }
}

/// A line the plugin logged through the host.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
}

/// Refuses memory growth past the ceiling and remembers that it did, so the
/// failure can be named "memory limit" rather than a bare trap.
struct MemoryCeiling {
    bytes: usize,
    exceeded: bool,
}

impl ResourceLimiter for MemoryCeiling {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.bytes {
            self.exceeded = true;
            wasmtime::bail!("memory limit of {} MiB exceeded", self.bytes >> 20);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS)
    }
}

/// Why a call failed. Each is recorded on the lead's timeline and the plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("ran out of CPU: the fuel limit of {0} was used up")]
    OutOfFuel(u64),
    #[error("exceeded its deadline of {0:?}")]
    Deadline(Duration),
    #[error("{0}")]
    OutOfMemory(String),
    #[error("overflowed its stack")]
    StackOverflow,
    #[error("trapped: {0}")]
    Trap(String),
    #[error("returned an error: {0}")]
    Guest(String),
    #[error("returned an invalid result: {0}")]
    InvalidResult(String),
    #[error("could not be run: {0}")]
    Instantiate(String),
}

/// One call's result with everything observed along the way.
#[derive(Debug)]
pub struct CallRecord<T> {
    pub outcome: Result<T, Failure>,
    pub logs: Vec<LogLine>,
    pub logs_dropped: usize,
    pub stdout: String,
    pub stderr: String,
    pub fuel_used: u64,
    pub duration: Duration,
    /// The time and seed the call's clocks and random started from (none
    /// for a call that never ran): the same input with them gives the same
    /// answer.
    pub env: Option<CallEnv>,
}

impl<T> CallRecord<T> {
    /// A call that never ran.
    pub fn failed(failure: Failure) -> Self {
        CallRecord {
            env: None,
            outcome: Err(failure),
            logs: Vec::new(),
            logs_dropped: 0,
            stdout: String::new(),
            stderr: String::new(),
            fuel_used: 0,
            duration: Duration::ZERO,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> Result<U, Failure>) -> CallRecord<U> {
        CallRecord {
            env: self.env,
            outcome: self.outcome.and_then(f),
            logs: self.logs,
            logs_dropped: self.logs_dropped,
            stdout: self.stdout,
            stderr: self.stderr,
            fuel_used: self.fuel_used,
            duration: self.duration,
        }
    }
}

/// Runs `call` in `store` and gathers the record. `call` instantiates and
/// invokes; its outer error is a trap or link failure, its inner one the
/// guest's own `err`.
pub(super) fn run<T>(
    mut store: Store<CallState>,
    limits: &Limits,
    call: impl FnOnce(&mut Store<CallState>) -> wasmtime::Result<Result<T, String>>,
) -> CallRecord<T> {
    let started = Instant::now();
    let result = call(&mut store);
    let duration = started.elapsed();
    let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    let outcome = match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(message)) => Err(Failure::Guest(cut_bytes(&message, ERROR_BYTES).into_owned())),
        Err(err) => Err(classify(&err, store.data(), limits)),
    };
    let state = store.into_data();
    CallRecord {
        env: Some(state.env),
        outcome,
        logs: state.logs,
        logs_dropped: state.logs_dropped,
        stdout: state.stdout.text(),
        stderr: state.stderr.text(),
        fuel_used,
        duration,
    }
}

fn classify(err: &wasmtime::Error, state: &CallState, limits: &Limits) -> Failure {
    if state.memory.exceeded {
        return Failure::OutOfMemory(format!(
            "exceeded its memory limit of {} MiB",
            limits.memory_bytes >> 20
        ));
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::OutOfFuel(limits.fuel),
        Some(Trap::Interrupt) => Failure::Deadline(limits.deadline),
        Some(Trap::StackOverflow) => Failure::StackOverflow,
        Some(Trap::UnreachableCodeReached) => Failure::Trap("panicked or aborted (wasm `unreachable` executed)".into()),
        Some(trap) => Failure::Trap(trap.to_string()),
        None => Failure::Instantiate(cut_bytes(&format!("{err:#}"), ERROR_BYTES).into_owned()),
    }
}

impl<T> CallRecord<T> {
    /// The record as JSON, with `result` rendered by `render`.
    pub fn to_json(&self, render: impl FnOnce(&T) -> serde_json::Value) -> serde_json::Value {
        let mut out = serde_json::json!({
            "logs": self.logs,
            "logs_dropped": self.logs_dropped,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "fuel_used": self.fuel_used,
            "duration_us": self.duration.as_micros() as u64,
        });
        if let Some(env) = &self.env {
            out["started_at"] = serde_json::json!(env.at);
            out["seed"] = serde_json::json!(env.seed.to_string());
        }
        match &self.outcome {
            Ok(value) => out["result"] = render(value),
            Err(failure) => out["error"] = serde_json::Value::String(failure.to_string()),
        }
        out
    }
}
