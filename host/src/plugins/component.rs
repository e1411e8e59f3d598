//! A tenant's component: checked against its world, compiled once per
//! content hash (in memory and on disk across restarts), and called.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre};

use super::bindings::Action;
use super::bindings::{Lead, Rep, RouteDecision, ScorePart, nurture_step, router, scorer};
use super::contract::{actions_json, check_actions, check_route, check_score, route_json, score_json};
use super::sandbox::{CallRecord, CallState, Failure, Limits, Sandbox, run};
use crate::domain::World;

/// The largest component accepted at upload: componentize-py's Python
/// runtime alone is about 18 MB, and jco's StarlingMonkey engine 12 MB.
pub const MAX_COMPONENT_BYTES: usize = 32 << 20;

/// Imports a plugin may have: our host interface, and the WASI interfaces
/// Rust's std and other toolchains pull in, which are linked with an empty
/// context. Sockets are linked with a context that refuses every socket
/// and address (see `Sandbox::store`), and HTTP refusing every request
/// (`http_refusal`): a plugin that connects gets an error back, and nothing
/// leaves the machine.
const GRANTED_IMPORTS: [&str; 8] = [
    "leadhost:plugin/",
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
    "wasi:http/",
];

/// Why a component was refused at upload or check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the file is {0} bytes; the limit is {MAX_COMPONENT_BYTES}")]
    TooLarge(usize),
    #[error("the file is not WebAssembly")]
    NotWasm,
    #[error(
        "this is a core WebAssembly module, not a component; build for wasm32-wasip2 (or run `wasm-tools component new`)"
    )]
    CoreModule,
    #[error("the component is not valid: {0}")]
    Invalid(String),
    #[error("the component imports {0}, which is not granted to plugins")]
    NotGranted(String),
    #[error("the component is not a {expected}: {detail}")]
    WrongWorld { expected: World, detail: String },
}

enum Typed {
    Scorer(scorer::ScorerPre<CallState>),
    Router(router::RouterPre<CallState>),
    NurtureStep(nurture_step::NurtureStepPre<CallState>),
}

/// A checked, compiled component of one world, ready to instantiate.
pub struct PluginComponent {
    pub world: World,
    pub sha256: String,
    typed: Typed,
}

/// Compiles components and keeps them by content hash.
pub struct ComponentCache {
    sandbox: Arc<Sandbox>,
    dir: Option<PathBuf>,
    compiled: Mutex<HashMap<(String, World), Arc<PluginComponent>>>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl ComponentCache {
    /// `dir` keeps compiled code across restarts; `None` keeps it in memory only.
    pub fn new(sandbox: Arc<Sandbox>, dir: Option<PathBuf>) -> Self {
        if let Some(dir) = &dir
            && let Err(err) = std::fs::create_dir_all(dir)
        {
            tracing::warn!(dir = %dir.display(), %err, "plugin cache folder unavailable; compiling in memory only");
        }
        Self {
            sandbox,
            dir,
            compiled: Mutex::default(),
        }
    }

    pub fn sandbox(&self) -> &Arc<Sandbox> {
        &self.sandbox
    }

    /// Checks `bytes` as a component of `world` and compiles it (or finds
    /// it compiled). Everything an upload must pass.
    pub fn load(&self, bytes: &[u8], world: World) -> Result<Arc<PluginComponent>, Rejection> {
        let sha256 = sha256_hex(bytes);
        if let Some(found) = self
            .compiled
            .lock()
            .expect("component cache lock")
            .get(&(sha256.clone(), world))
        {
            return Ok(found.clone());
        }
        let component = self.compile(bytes, &sha256)?;
        let loaded = Arc::new(self.prepare(component, world, sha256.clone())?);
        self.compiled
            .lock()
            .expect("component cache lock")
            .insert((sha256, world), loaded.clone());
        Ok(loaded)
    }

    /// A component compiled earlier, by its hash, without its bytes.
    pub fn cached(&self, sha256: &str, world: World) -> Option<Arc<PluginComponent>> {
        self.compiled
            .lock()
            .expect("component cache lock")
            .get(&(sha256.to_owned(), world))
            .cloned()
    }

    /// Which worlds the component satisfies (for `leadhost plugin check`).
    pub fn detect_worlds(&self, bytes: &[u8]) -> Result<Vec<World>, Rejection> {
        let component = self.compile(bytes, &sha256_hex(bytes))?;
        Ok(World::ALL
            .iter()
            .copied()
            .filter(|world| self.prepare(component.clone(), *world, String::new()).is_ok())
            .collect())
    }

    /// The component's import names.
    pub fn imports(&self, bytes: &[u8]) -> Result<Vec<String>, Rejection> {
        let component = self.compile(bytes, &sha256_hex(bytes))?;
        Ok(component
            .component_type()
            .imports(&self.sandbox.engine)
            .map(|(name, _)| name.to_owned())
            .collect())
    }

    /// What can be told without compiling: the size, and that the file is
    /// a component (not a core module, not something else).
    pub fn precheck(bytes: &[u8]) -> Result<(), Rejection> {
        if bytes.len() > MAX_COMPONENT_BYTES {
            return Err(Rejection::TooLarge(bytes.len()));
        }
        match bytes.get(..8) {
            Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => Err(Rejection::CoreModule),
            Some([0, b'a', b's', b'm', _, _, 1, 0]) => Ok(()),
            _ => Err(Rejection::NotWasm),
        }
    }

    /// Whether the component is compiled already, here or on disk: then
    /// loading it costs milliseconds, whatever its size.
    pub fn is_compiled(&self, sha256: &str) -> bool {
        let in_memory = self
            .compiled
            .lock()
            .expect("component cache lock")
            .keys()
            .any(|(sha, _)| sha == sha256);
        in_memory || self.compiled_file(sha256).is_some_and(|path| path.exists())
    }

    fn compiled_file(&self, sha256: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|dir| dir.join(format!("{sha256}.cwasm")))
    }

    fn compile(&self, bytes: &[u8], sha256: &str) -> Result<Component, Rejection> {
        Self::precheck(bytes)?;
        let Some(path) = self.compiled_file(sha256) else {
            return self.compile_now(bytes);
        };
        if let Some(found) = self.read_compiled(&path) {
            return Ok(found);
        }
        // Another process sharing the folder (a second server, `leadhost
        // plugin run`) may be compiling the same component: the first to
        // take the lock compiles it, the others then read its file.
        let _lock = lock(&path.with_extension("lock"));
        if let Some(found) = self.read_compiled(&path) {
            return Ok(found);
        }
        let component = self.compile_now(bytes)?;
        if let Err(err) = keep_compiled(&component, &path) {
            tracing::warn!(path = %path.display(), %err, "could not cache a compiled plugin");
        }
        Ok(component)
    }

    fn compile_now(&self, bytes: &[u8]) -> Result<Component, Rejection> {
        Component::new(&self.sandbox.engine, bytes).map_err(|e| Rejection::Invalid(format!("{e:#}")))
    }

    /// The compiled code kept at `path`, if it is there and fits this engine.
    fn read_compiled(&self, path: &std::path::Path) -> Option<Component> {
        if !path.exists() {
            return None;
        }
        // SAFETY: the file is one this process family wrote from a component
        // it compiled (renamed into place whole); wasmtime checks it matches
        // this engine and its version, and on any mismatch we recompile.
        match unsafe { Component::deserialize_file(&self.sandbox.engine, path) } {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::info!(path = %path.display(), %err, "recompiling a stale cached plugin");
                None
            }
        }
    }

    fn prepare(&self, component: Component, world: World, sha256: String) -> Result<PluginComponent, Rejection> {
        let engine = &self.sandbox.engine;
        for (name, _) in component.component_type().imports(engine) {
            if !GRANTED_IMPORTS.iter().any(|granted| name.starts_with(granted)) {
                return Err(Rejection::NotGranted(name.to_owned()));
            }
        }
        let pre: InstancePre<CallState> = self
            .sandbox
            .linker
            .instantiate_pre(&component)
            .map_err(|e| Rejection::Invalid(format!("{e:#}")))?;
        let wrong = |e: wasmtime::Error| Rejection::WrongWorld {
            expected: world,
            detail: format!("{e:#}"),
        };
        let typed = match world {
            World::Scorer => Typed::Scorer(scorer::ScorerPre::new(pre).map_err(wrong)?),
            World::Router => Typed::Router(router::RouterPre::new(pre).map_err(wrong)?),
            World::NurtureStep => Typed::NurtureStep(nurture_step::NurtureStepPre::new(pre).map_err(wrong)?),
        };
        Ok(PluginComponent { world, sha256, typed })
    }
}

/// Holds an exclusive lock on `path` (created if missing) until dropped;
/// `None` if the folder does not allow it (then compiles may overlap).
fn lock(path: &std::path::Path) -> Option<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ok()?;
    file.lock().ok()?;
    Some(file)
}

/// Writes compiled code beside its final name, then renames it there: other
/// processes sharing the folder (several servers, `leadhost plugin run`) map
/// these files, and must never see one half written.
fn keep_compiled(component: &Component, path: &std::path::Path) -> std::io::Result<()> {
    let code = component
        .serialize()
        .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    let partial = path.with_extension(format!("{}.partial", uuid::Uuid::new_v4().simple()));
    std::fs::write(&partial, code)?;
    std::fs::rename(&partial, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })
}

impl PluginComponent {
    fn wrong_world<T>(&self, wanted: World) -> CallRecord<T> {
        CallRecord::failed(Failure::Instantiate(format!(
            "a {} cannot be called as a {wanted}",
            self.world
        )))
    }

    /// Runs `call` in a fresh store with `limits`.
    fn in_fresh_store<T>(
        &self,
        sandbox: &Sandbox,
        limits: &Limits,
        call: impl FnOnce(&mut wasmtime::Store<CallState>) -> wasmtime::Result<Result<T, String>>,
    ) -> CallRecord<T> {
        match sandbox.store(limits) {
            Ok(store) => run(store, limits, call),
            Err(err) => CallRecord::failed(Failure::Instantiate(format!("{err:#}"))),
        }
    }

    /// Calls `score` in a fresh store. Blocking: run it off the async workers.
    pub fn score(&self, sandbox: &Sandbox, limits: &Limits, lead: &Lead, config: &str) -> CallRecord<Vec<ScorePart>> {
        let Typed::Scorer(pre) = &self.typed else {
            return self.wrong_world(World::Scorer);
        };
        self.in_fresh_store(sandbox, limits, |store| {
            pre.instantiate(&mut *store)?.call_score(&mut *store, lead, config)
        })
    }

    /// Calls `route` in a fresh store. Blocking.
    pub fn route(
        &self,
        sandbox: &Sandbox,
        limits: &Limits,
        lead: &Lead,
        candidates: &[Rep],
        config: &str,
    ) -> CallRecord<RouteDecision> {
        let Typed::Router(pre) = &self.typed else {
            return self.wrong_world(World::Router);
        };
        self.in_fresh_store(sandbox, limits, |store| {
            pre.instantiate(&mut *store)?
                .call_route(&mut *store, lead, candidates, config)
        })
    }

    /// Calls `run` of a nurture step in a fresh store. Blocking.
    pub fn run_step(&self, sandbox: &Sandbox, limits: &Limits, lead: &Lead, config: &str) -> CallRecord<Vec<Action>> {
        let Typed::NurtureStep(pre) = &self.typed else {
            return self.wrong_world(World::NurtureStep);
        };
        self.in_fresh_store(sandbox, limits, |store| {
            pre.instantiate(&mut *store)?.call_run(&mut *store, lead, config)
        })
    }

    /// Calls the component in its world on `lead`, checks the result as the
    /// pipeline would, and reports everything as JSON: the integrator's view
    /// (`leadhost plugin run`, `POST /api/v1/plugins/{name}/run`). Blocking.
    pub fn trial(
        &self,
        sandbox: &Sandbox,
        limits: &Limits,
        lead: &Lead,
        candidates: &[Rep],
        config: &str,
    ) -> serde_json::Value {
        let mut report = match self.world {
            World::Scorer => self
                .score(sandbox, limits, lead, config)
                .map(check_score)
                .to_json(|p| score_json(p)),
            World::Router => self
                .route(sandbox, limits, lead, candidates, config)
                .map(|d| check_route(d, candidates, None))
                .to_json(route_json),
            World::NurtureStep => self
                .run_step(sandbox, limits, lead, config)
                .map(check_actions)
                .to_json(|a| actions_json(a)),
        };
        report["world"] = serde_json::json!(self.world);
        report["fuel_limit"] = serde_json::json!(limits.fuel);
        report
    }
}
