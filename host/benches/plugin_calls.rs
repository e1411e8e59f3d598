//! Plugin call cost: a fresh Store, instantiation from the InstancePre
//! (pooling allocator) and one call, for the example scorer and router; then
//! the BANT scorer built in each language (Rust, JavaScript on QuickJS and
//! on StarlingMonkey, Python): compile time, and a call on a fresh instance
//! in leadhost's sandbox beside bare wasmtime (default config: no pool, no
//! fuel, no epochs), measured in the same run.
//!
//! Run (release, outside the test command; build the plugins first):
//!   bash tests/run.sh   (or build plugins/ and plugins/examples/bant-scorer-{js,py})
//!   cargo bench -p leadhost --bench plugin_calls
//! Prints figures; BENCHMARKS.md keeps the latest.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leadhost::domain::World;
use leadhost::plugins::bindings::{Lead, LogLevel, Rep, scorer};
use leadhost::plugins::component::ComponentCache;
use leadhost::plugins::contract::{LeadInput, RepInput};
use leadhost::plugins::sandbox::{Limits, Sandbox};

const CALLS: usize = 20_000;

fn wasm(name: &str) -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../plugins/target/wasm32-wasip2/release/{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; build plugins/ first", path.display()))
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    println!(
        "{what:<44} p50 {:>6.1} µs   p99 {:>6.1} µs   ({} calls)",
        at(0.5),
        at(0.99),
        times.len()
    );
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples");
    let lead: LeadInput =
        serde_json::from_str(&std::fs::read_to_string(root.join("sample-lead.json")).unwrap()).unwrap();
    let lead = Lead::from(lead);
    let bant_config = std::fs::read_to_string(root.join("bant-scorer/config.json")).unwrap();
    let reps: Vec<RepInput> = serde_json::from_str(
        r#"[{"id": "u1", "regions": ["zhejiang"], "open_leads": 3}, {"id": "u2", "regions": ["zhejiang"], "open_leads": 1},
            {"id": "u3", "regions": ["beijing"]}, {"id": "u4", "regions": ["guangdong"]}]"#,
    )
    .unwrap();
    let reps: Vec<Rep> = reps.into_iter().map(Rep::from).collect();

    let cache = ComponentCache::new(Arc::new(Sandbox::new().expect("sandbox")), None);
    let limits = Limits::default();
    let scorer = cache.load(&wasm("bant_scorer"), World::Scorer).expect("bant scorer");
    let router = cache
        .load(&wasm("region_router"), World::Router)
        .expect("region router");
    let sandbox = cache.sandbox();

    let times = (0..CALLS)
        .map(|_| {
            let t = Instant::now();
            let store = sandbox.store(&limits).unwrap();
            let e = t.elapsed();
            drop(store);
            e
        })
        .collect();
    report("store only", times);
    println!("plugin calls on a fresh Store each (pooling allocator, fuel + epoch limits on)");
    for _ in 0..500 {
        scorer
            .score(sandbox, &limits, &lead, &bant_config)
            .outcome
            .expect("warm-up");
    }
    let times = (0..CALLS)
        .map(|_| {
            let t = Instant::now();
            let record = scorer.score(sandbox, &limits, &lead, &bant_config);
            let elapsed = t.elapsed();
            assert!(record.outcome.is_ok());
            elapsed
        })
        .collect();
    report("bant-scorer (119 KB): instantiate + score", times);

    let times = (0..CALLS)
        .map(|_| {
            let t = Instant::now();
            let record = router.route(sandbox, &limits, &lead, &reps, "{}");
            let elapsed = t.elapsed();
            assert!(record.outcome.is_ok());
            elapsed
        })
        .collect();
    report("region-router (125 KB): instantiate + route", times);

    // The floor: a router that answers at once, without parsing anything.
    let trivial = cache.load(&wasm("lying_router"), World::Router).expect("lying router");
    let times = (0..CALLS)
        .map(|_| {
            let t = Instant::now();
            let record = trivial.route(sandbox, &limits, &lead, &reps, "{}");
            let elapsed = t.elapsed();
            assert!(record.outcome.is_ok());
            elapsed
        })
        .collect();
    report("trivial router (47 KB): instantiate + route", times);

    languages(&lead, &bant_config);
}

/// How long each language's build of the BANT scorer takes to compile, and
/// a call on a fresh instance, in leadhost's sandbox and in bare wasmtime.
fn languages(lead: &Lead, config: &str) {
    println!("\nthe BANT scorer by language: compile once, then calls on a fresh instance each");
    let builds = [
        ("Rust", "bant_scorer"),
        ("JavaScript (QuickJS)", "bant_scorer_js"),
        ("JavaScript (StarlingMonkey)", "bant_scorer_js_sm"),
        ("Python", "bant_scorer_py"),
    ];
    let cache = ComponentCache::new(Arc::new(Sandbox::new().expect("sandbox")), None);
    let limits = Limits::default();
    let bare = BareWasmtime::new();
    for (language, name) in builds {
        let bytes = wasm(name);
        let t = Instant::now();
        let plugin = cache.load(&bytes, World::Scorer).expect(name);
        let compile = t.elapsed();
        let t = Instant::now();
        let floor = bare.prepare(&bytes);
        let bare_compile = t.elapsed();
        let record = plugin.score(cache.sandbox(), &limits, lead, config);
        let fuel = record.fuel_used;
        assert!(record.outcome.is_ok(), "{name}: {:?}", record.outcome);
        println!(
            "{language} ({:.1} MB): compile {:.2} s (bare wasmtime {:.2} s), {:.2}M fuel a call",
            bytes.len() as f64 / 1e6,
            compile.as_secs_f64(),
            bare_compile.as_secs_f64(),
            fuel as f64 / 1e6
        );
        let sandboxed = timed(|| {
            let record = plugin.score(cache.sandbox(), &limits, lead, config);
            assert!(record.outcome.is_ok());
        });
        report("  leadhost sandbox: store + instantiate + score", sandboxed);
        let bare_times = timed(|| bare.score(&floor, lead, config));
        report("  bare wasmtime:    store + instantiate + score", bare_times);
    }
}

/// Calls `call` up to 20,000 times or for 10 s, after a warm-up; the times.
fn timed(mut call: impl FnMut()) -> Vec<Duration> {
    for _ in 0..20 {
        call();
    }
    let started = Instant::now();
    let mut times = Vec::new();
    while times.len() < CALLS && started.elapsed() < Duration::from_secs(10) {
        let t = Instant::now();
        call();
        times.push(t.elapsed());
    }
    times
}

/// wasmtime as its defaults set it up: the floor leadhost's limits add to.
struct BareWasmtime {
    engine: wasmtime::Engine,
    linker: wasmtime::component::Linker<BareState>,
}

struct BareState {
    wasi: wasmtime_wasi::WasiCtx,
    table: wasmtime::component::ResourceTable,
}

impl wasmtime_wasi::WasiView for BareState {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl scorer::leadhost::plugin::host::Host for BareState {
    fn log(&mut self, _level: LogLevel, _message: String) {}
}

impl scorer::leadhost::plugin::types::Host for BareState {}

impl BareWasmtime {
    fn new() -> Self {
        let engine = wasmtime::Engine::default();
        let mut linker = wasmtime::component::Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("wasi");
        scorer::Scorer::add_to_linker::<BareState, wasmtime::component::HasSelf<BareState>>(&mut linker, |s| s)
            .expect("leadhost imports");
        Self { engine, linker }
    }

    fn prepare(&self, bytes: &[u8]) -> scorer::ScorerPre<BareState> {
        let component = wasmtime::component::Component::new(&self.engine, bytes).expect("compiles");
        scorer::ScorerPre::new(self.linker.instantiate_pre(&component).expect("links")).expect("a scorer")
    }

    fn score(&self, pre: &scorer::ScorerPre<BareState>, lead: &Lead, config: &str) {
        let state = BareState {
            wasi: wasmtime_wasi::WasiCtx::builder().build(),
            table: wasmtime::component::ResourceTable::new(),
        };
        let mut store = wasmtime::Store::new(&self.engine, state);
        let scorer = pre.instantiate(&mut store).expect("instantiates");
        let parts = scorer.call_score(&mut store, lead, config).expect("no trap");
        assert!(parts.is_ok());
    }
}
