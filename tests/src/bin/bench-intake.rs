//! Intake benchmark: leads/s and latency over HTTP on SQLite and PostgreSQL,
//! and the dedup lookup with 1,000,000 leads in the table.
//!
//! Run (release, outside the test command):
//!   cargo build --release -p leadhost -p leadhost-tests
//!   target/release/bench-intake [--leads 20000] [--concurrency 32] [--million 1000000] [--backend sqlite|postgres|both]
//!   target/release/bench-intake --pipeline [--leads 10000] [--placing pool|builtin|plugins|js] [--backend ...]
//! Prints figures; BENCHMARKS.md keeps the latest.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use leadhost_tests::{Backend, StatusCode, TestServer, bulk};
use serde_json::{Value, json};
use sqlx::{Connection, Row};

struct Options {
    leads: usize,
    concurrency: usize,
    million: usize,
    backends: Vec<Backend>,
    /// Measure the whole pipeline (intake, then score and route) with and
    /// without the example scorer and router, instead of dedup at 1M.
    pipeline: bool,
    /// The `--pipeline` cases to run (all three unless `--placing` names one).
    placings: Vec<Placing>,
}

fn options() -> anyhow::Result<Options> {
    let mut opts = Options {
        leads: 20_000,
        concurrency: 32,
        million: 1_000_000,
        backends: vec![Backend::Sqlite, Backend::Postgres],
        pipeline: false,
        placings: vec![Placing::Pool, Placing::Builtin, Placing::Plugins, Placing::JsScorer],
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().context("flag needs a value");
        match flag.as_str() {
            "--leads" => opts.leads = value()?.parse()?,
            "--concurrency" => opts.concurrency = value()?.parse()?,
            "--million" => opts.million = value()?.parse()?,
            "--pipeline" => opts.pipeline = true,
            "--backend" => opts.backends = Backend::parse_list(&value()?)?,
            "--placing" => opts.placings = vec![Placing::parse(&value()?)?],
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(opts)
}

const FORM: &str = "website-demo-request";

fn lead(i: usize) -> Value {
    json!({
        "name": format!("Bench {i}"), "email": format!("bench{i}@example.com"),
        "phone": format!("137{i:08}"), "company": format!("Company {i}"),
        "province": "zhejiang", "company_size": "200-999", "budget": "200k-1m",
        "authority": "decision_maker", "timeline": "this_quarter", "consent": true
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// `total` submissions from `concurrency` workers; returns (elapsed, sorted latencies).
async fn load(
    server: &TestServer,
    bodies: Arc<Vec<Vec<u8>>>,
    concurrency: usize,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let next = Arc::new(AtomicUsize::new(0));
    let url = server.url(&format!("/f/bench/{FORM}"));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, bodies, url, http) = (next.clone(), bodies.clone(), url.clone(), server.http.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let t = Instant::now();
                let res = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                let status = res.status();
                res.bytes().await?;
                if status != StatusCode::CREATED {
                    bail!("submission {i} got {status}");
                }
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    all.sort();
    Ok((elapsed, all))
}

async fn setup(backend: Backend) -> anyhow::Result<(TestServer, String)> {
    let server = TestServer::start_with(backend, &["--body-limit", "65536"]).await?;
    let token = server.create_tenant("bench").await?;
    server.create_form_from_file(&token, &format!("{FORM}.json")).await?;
    Ok((server, token))
}

/// The dedup query intake runs, timed alone against the filled table.
async fn time_lookups(backend: Backend, url: &str, n: usize, samples: usize) -> anyhow::Result<Vec<Duration>> {
    let sql = "SELECT kind, lead_id FROM lead_identities WHERE tenant_id = $1 \
               AND ((kind = 'email' AND value = $2) OR (kind = 'phone' AND value = $3))";
    let mut latencies = Vec::with_capacity(samples);
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let mut pick = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x as usize % n) + 1
    };
    macro_rules! run {
        ($conn:expr, $tenant:expr) => {
            for _ in 0..samples {
                let i = pick();
                let t = Instant::now();
                let rows = sqlx::query(sql)
                    .bind(&$tenant)
                    .bind(format!("nobody{i}@example.com"))
                    .bind(format!("+861390{i:07}"))
                    .fetch_all(&mut $conn)
                    .await?;
                latencies.push(t.elapsed());
                anyhow::ensure!(rows.len() == 1, "lead {i} not found by phone");
            }
        };
    }
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await?;
            let tenant: String = sqlx::query("SELECT id FROM tenants WHERE slug = 'bench'")
                .fetch_one(&mut conn)
                .await?
                .get(0);
            run!(conn, tenant);
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            let tenant: String = sqlx::query("SELECT id FROM tenants WHERE slug = 'bench'")
                .fetch_one(&mut conn)
                .await?
                .get(0);
            run!(conn, tenant);
        }
    }
    latencies.sort();
    Ok(latencies)
}

/// Starts a measured run from a clean database server: on PostgreSQL, writes
/// out what earlier work (the last run's database, dropped) left dirty, so
/// its checkpoint does not land inside this run.
async fn checkpoint(backend: Backend, url: &str) -> anyhow::Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("CHECKPOINT")
            .execute(&mut sqlx::PgConnection::connect(url).await?)
            .await?;
    }
    Ok(())
}

/// Leads not yet scored and routed.
async fn unprocessed(backend: Backend, url: &str) -> anyhow::Result<i64> {
    let sql = "SELECT COUNT(*) FROM leads WHERE processed_at IS NULL";
    Ok(match backend {
        Backend::Sqlite => sqlx::query(sql)
            .fetch_one(&mut sqlx::SqliteConnection::connect(url).await?)
            .await?
            .get(0),
        Backend::Postgres => sqlx::query(sql)
            .fetch_one(&mut sqlx::PgConnection::connect(url).await?)
            .await?
            .get(0),
    })
}

/// What scores and places each lead in a `--pipeline` run.
#[derive(Clone, Copy, PartialEq)]
enum Placing {
    /// Nothing: no model, no rules, no plugins; every lead scores 0 and goes
    /// to the public pool.
    Pool,
    /// The two plugins' tables as a built-in scoring model and routing
    /// rules: the same scores, tiers, stages and owners, with no plugin.
    Builtin,
    /// The bant-scorer and the region-router.
    Plugins,
    /// The JavaScript bant-scorer (jco, QuickJS) with the built-in routing
    /// rules: against `Builtin`, what scoring in JavaScript costs.
    JsScorer,
}

const REGIONS: [&str; 4] = ["zhejiang", "beijing", "guangdong", "shanghai"];

/// bant-scorer's default points as built-in model rules (the tenant default's
/// thresholds), so a lead gets the score the plugin gives it.
fn bant_model() -> Value {
    let rule = |id: &str, cases: &[(&str, i32)]| {
        let cases: Vec<Value> = cases.iter().map(|(v, p)| json!({"equals": v, "points": p})).collect();
        json!({"kind": "bant", "id": id, "label": id, "dimension": id, "field": id, "cases": cases})
    };
    json!({
        "tiers": {"warm": 8, "hot": 13}, "promote": {"mql": 8, "sql": 13},
        "rules": [
            rule("budget", &[("<50k", 5), ("50k-200k", 10), ("200k-1m", 20), (">1m", 25)]),
            rule("authority", &[("decision_maker", 20), ("influencer", 10), ("evaluator", 5), ("user", 2)]),
            rule("timeline", &[("this_month", 20), ("this_quarter", 15), ("this_year", 5)]),
        ]
    })
}

/// region-router's decision as rules: each province to the rep covering it.
fn region_rules() -> Value {
    let rules: Vec<Value> = REGIONS
        .iter()
        .enumerate()
        .map(|(i, region)| {
            json!({"id": region, "when": {"fields": {"province": {"one_of": [region]}}},
                   "assign": {"rep": format!("rep{i}@bench.example")}})
        })
        .collect();
    json!({ "rules": rules })
}

impl Placing {
    fn parse(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "pool" => Placing::Pool,
            "builtin" => Placing::Builtin,
            "plugins" => Placing::Plugins,
            "js" => Placing::JsScorer,
            other => bail!("unknown placing {other:?}: pool, builtin, plugins or js"),
        })
    }
}

async fn pipeline(opts: &Options, backend: Backend, placing: Placing) -> anyhow::Result<()> {
    let (server, token) = setup(backend).await?;
    if placing != Placing::Pool {
        for (i, region) in REGIONS.iter().enumerate() {
            server.cli(&[
                "user",
                "add",
                "--tenant",
                "bench",
                "--email",
                &format!("rep{i}@bench.example"),
                "--role",
                "rep",
                "--region",
                region,
            ])?;
        }
    }
    let built_in = match placing {
        Placing::Builtin => vec![
            ("/api/v1/scoring/model", bant_model()),
            ("/api/v1/routing/rules", region_rules()),
        ],
        Placing::JsScorer => vec![("/api/v1/routing/rules", region_rules())],
        Placing::Pool | Placing::Plugins => vec![],
    };
    for (path, body) in built_in {
        let res = server
            .http
            .put(server.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("PUT {path}: {} {}", res.status(), res.text().await?);
        }
    }
    if placing == Placing::Plugins {
        server.install_bant_and_regions(&token).await?;
    }
    if placing == Placing::JsScorer {
        server
            .install_plugin(&token, "bant-js", "scorer", "bant_scorer_js", json!({}))
            .await?;
    }
    let warm: Vec<Vec<u8>> = (0..500)
        .map(|i| serde_json::to_vec(&lead(10_000_000 + i)).unwrap())
        .collect();
    load(&server, Arc::new(warm), opts.concurrency).await?;
    while unprocessed(backend, &server.db().url).await? > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    checkpoint(backend, &server.db().url).await?;
    let bodies: Vec<Vec<u8>> = (0..opts.leads).map(|i| serde_json::to_vec(&lead(i)).unwrap()).collect();
    let started = Instant::now();
    let (accepted, lat) = load(&server, Arc::new(bodies), opts.concurrency).await?;
    while unprocessed(backend, &server.db().url).await? > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let processed = started.elapsed();
    println!(
        "{:<30} accepted {:>6.0} leads/s (p50 {}, p99 {})   scored+routed {:>6.0} leads/s",
        match placing {
            Placing::Pool => "no plugins, to the pool",
            Placing::Builtin => "the same as a model and rules",
            Placing::Plugins => "bant-scorer + region-router",
            Placing::JsScorer => "bant-scorer in JavaScript + rules",
        },
        lat.len() as f64 / accepted.as_secs_f64(),
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        lat.len() as f64 / processed.as_secs_f64(),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = options()?;
    if opts.pipeline {
        println!(
            "bench-intake --pipeline: {} leads at concurrency {}",
            opts.leads, opts.concurrency
        );
        for backend in &opts.backends {
            println!("\n== {backend:?}");
            for placing in &opts.placings {
                pipeline(&opts, *backend, *placing).await?;
            }
        }
        return Ok(());
    }
    println!(
        "bench-intake: {} leads at concurrency {}, dedup at {} leads",
        opts.leads, opts.concurrency, opts.million
    );
    for backend in &opts.backends {
        let backend = *backend;
        println!("\n== {backend:?}");
        let (server, _) = setup(backend).await?;

        // Warm up connections and caches, then the measured run.
        let warm: Vec<Vec<u8>> = (0..500)
            .map(|i| serde_json::to_vec(&lead(10_000_000 + i)).unwrap())
            .collect();
        load(&server, Arc::new(warm), opts.concurrency).await?;
        let bodies: Vec<Vec<u8>> = (0..opts.leads).map(|i| serde_json::to_vec(&lead(i)).unwrap()).collect();
        let (elapsed, lat) = load(&server, Arc::new(bodies), opts.concurrency).await?;
        println!(
            "intake, new leads:  {:>7.0} leads/s  p50 {}  p99 {}  ({} leads in {:.2} s)",
            lat.len() as f64 / elapsed.as_secs_f64(),
            ms(percentile(&lat, 0.50)),
            ms(percentile(&lat, 0.99)),
            lat.len(),
            elapsed.as_secs_f64()
        );

        // The same people again, phone typed another way: every one a merge.
        let dupes: Vec<Vec<u8>> = (0..opts.leads.min(5_000))
            .map(|i| {
                let mut body = lead(i);
                body["email"] = json!(format!("other{i}@example.com"));
                body["phone"] = json!(format!("+86 137-{:04}-{:04}", i / 10_000, i % 10_000));
                serde_json::to_vec(&body).unwrap()
            })
            .collect();
        let (elapsed, lat) = load(&server, Arc::new(dupes), opts.concurrency).await?;
        println!(
            "intake, duplicates: {:>7.0} leads/s  p50 {}  p99 {}",
            lat.len() as f64 / elapsed.as_secs_f64(),
            ms(percentile(&lat, 0.50)),
            ms(percentile(&lat, 0.99))
        );

        let db = server.stop();
        let t = Instant::now();
        let fill = bulk::Fill {
            leads: opts.million,
            varied_fields: false,
            identities: true,
            behaviour: false,
        };
        bulk::fill(backend, &db.url, "bench", &fill).await?;
        println!(
            "filled {} leads + identities in {:.1} s",
            opts.million,
            t.elapsed().as_secs_f64()
        );
        let lat = time_lookups(backend, &db.url, opts.million, 20_000).await?;
        println!(
            "dedup lookup at {} leads: p50 {:.1} µs  p99 {:.1} µs  (the intake query alone, 20,000 random phones)",
            opts.million,
            percentile(&lat, 0.50).as_secs_f64() * 1e6,
            percentile(&lat, 0.99).as_secs_f64() * 1e6
        );

        // End to end: a duplicate submission by phone against the full table.
        let server = TestServer::start_on(db, &[]).await?;
        let samples: Vec<Vec<u8>> = (0..2_000)
            .map(|k| {
                let i = (k * 7919) % opts.million + 1;
                let mut body = lead(20_000_000 + k);
                body["phone"] = json!(format!("1390 {:03} {:04}", i / 10_000, i % 10_000));
                serde_json::to_vec(&body).unwrap()
            })
            .collect();
        let (elapsed, lat) = load(&server, Arc::new(samples), 1).await?;
        println!(
            "duplicate submission over HTTP at {} leads, one client: p50 {}  p99 {}  ({:.0}/s)",
            opts.million,
            ms(percentile(&lat, 0.50)),
            ms(percentile(&lat, 0.99)),
            lat.len() as f64 / elapsed.as_secs_f64()
        );
        drop(server);
    }
    Ok(())
}
