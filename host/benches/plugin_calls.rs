//! Plugin call cost: a fresh Store, instantiation from the InstancePre
//! (pooling allocator) and one call, for the example scorer and router.
//!
//! Run (release, outside the test command; build the plugins first):
//!   (cd plugins && cargo build --release --target wasm32-wasip2)
//!   cargo bench -p leadhost --bench plugin_calls
//! Prints figures; BENCHMARKS.md keeps the latest.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leadhost::domain::World;
use leadhost::plugins::bindings::{Lead, Rep};
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
}
