//! Routing and job throughput, through the real release server.
//!
//!   cargo build --release -p leadhost -p leadhost-tests --bins
//!   target/release/bench-routing [--leads 100000] [--concurrency 32] [--backend sqlite|postgres|both]
//!
//! 1. Assign: `--leads` new leads through the public form route while the
//!    tenant has assignment rules (a round-robin team for large companies, a
//!    region-router plugin step for the rest, the pool last) and an SLA
//!    policy; timed until every lead is scored, routed and has its deadline
//!    jobs written.
//! 2. Jobs: the server runs on a manual clock; moving it past the warnings
//!    makes one warning job per assigned lead due at once, and the clock
//!    route returns when the sweep has run them all.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use leadhost_tests::{Backend, OPERATOR_TOKEN, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection, Row};

const FORM: &str = "website-demo-request";
const PROVINCES: [&str; 6] = ["zhejiang", "shanghai", "beijing", "guangdong", "sichuan", "hubei"];

struct Options {
    leads: usize,
    concurrency: usize,
    backends: Vec<Backend>,
}

fn options() -> anyhow::Result<Options> {
    let mut opts = Options {
        leads: 100_000,
        concurrency: 32,
        backends: vec![Backend::Sqlite, Backend::Postgres],
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--leads" => opts.leads = value()?.parse()?,
            "--concurrency" => opts.concurrency = value()?.parse()?,
            "--backend" => opts.backends = Backend::parse_list(&value()?)?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(opts)
}

fn lead(i: usize) -> Vec<u8> {
    let size = ["1-49", "50-199", "200-999", "1000+"][i % 4];
    json!({
        "name": format!("Route {i}"), "email": format!("route{i}@example.com"),
        "company": format!("Company {i}"), "province": PROVINCES[i % PROVINCES.len()],
        "company_size": size, "budget": "200k-1m", "authority": "decision_maker",
        "timeline": "this_quarter", "consent": true
    })
    .to_string()
    .into_bytes()
}

async fn call(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let res = server
        .http
        .request(method, server.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{path}: {status} {body}");
    }
    Ok(body)
}

/// The tenant: 20 reps (8 in a round-robin team, 12 covering regions), the
/// region router, rules, and an SLA policy.
async fn setup(server: &TestServer) -> anyhow::Result<String> {
    use reqwest::Method;
    let token = server.create_tenant("bench").await?;
    server.create_form_from_file(&token, &format!("{FORM}.json")).await?;
    let mut team = Vec::new();
    for i in 0..20 {
        let email = format!("rep{i}@bench.example");
        let regions = if i < 8 {
            json!([])
        } else {
            json!([PROVINCES[i % PROVINCES.len()]])
        };
        call(
            server,
            &token,
            Method::POST,
            "/api/v1/users",
            json!({"email": email, "role": "rep", "regions": regions}),
        )
        .await?;
        if i < 8 {
            team.push(json!({"email": email}));
        }
    }
    call(
        server,
        &token,
        Method::POST,
        "/api/v1/teams",
        json!({"name": "enterprise", "strategy": "round_robin", "members": team}),
    )
    .await?;
    server
        .install_plugin(&token, "regions", "router", "region_router", json!({}))
        .await?;
    call(server, &token, Method::PUT, "/api/v1/routing/rules", json!({"rules": [
        {"id": "enterprise", "when": {"fields": {"company_size": {"one_of": ["200-999", "1000+"]}}}, "assign": {"team": "enterprise"}},
        {"id": "by-region", "assign": {"plugin": "regions"}}
    ]}))
    .await?;
    call(
        server,
        &token,
        Method::PUT,
        "/api/v1/sla/policy",
        json!({
            "first_touch_minutes": {"hot": 5, "warm": 60, "cold": 240},
            "warn_before_minutes": 2, "follow_up_hours": 48
        }),
    )
    .await?;
    Ok(token)
}

async fn submit_all(server: &TestServer, n: usize, concurrency: usize) -> anyhow::Result<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let url = server.url(&format!("/f/bench/{FORM}"));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, url, http) = (next.clone(), url.clone(), server.http.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let res = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(lead(i))
                    .send()
                    .await?;
                let status = res.status();
                res.bytes().await?;
                if status != StatusCode::CREATED {
                    bail!("submission {i} got {status}");
                }
            }
            anyhow::Ok(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(started.elapsed())
}

async fn count(url: &str, sql: &str) -> anyhow::Result<i64> {
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    Ok(sqlx::query(sql).fetch_one(&mut conn).await?.try_get::<i64, _>(0)?)
}

async fn run(backend: Backend, opts: &Options) -> anyhow::Result<()> {
    let server = TestServer::start_with(backend, &["--manual-clock"]).await?;
    let token = setup(&server).await?;
    let url = server.db().url.clone();
    let n = opts.leads;

    let started = Instant::now();
    let intake = submit_all(&server, n, opts.concurrency).await?;
    loop {
        let processed = count(&url, "SELECT COUNT(*) FROM leads WHERE processed_at IS NOT NULL").await?;
        if processed as usize >= n {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("only {processed} of {n} leads were routed in 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let routed = started.elapsed();
    let owned = count(&url, "SELECT COUNT(*) FROM leads WHERE owner_id IS NOT NULL").await?;
    let by_plugin = count(&url, "SELECT COUNT(*) FROM plugin_calls").await?;
    let warnings = count(&url, "SELECT COUNT(*) FROM jobs WHERE kind = 'sla_warning'").await?;
    println!(
        "{backend:?}: {n} leads submitted in {:.1} s, all routed after {:.1} s: {:.0} leads/s \
         ({owned} to reps, {} to the pool; {by_plugin} router plugin calls; {warnings} warning jobs waiting)",
        intake.as_secs_f64(),
        routed.as_secs_f64(),
        n as f64 / routed.as_secs_f64(),
        n as i64 - owned,
    );
    let _ = token;

    // Every warning falls due at once (the slowest tier's is due in 238 minutes).
    let started = Instant::now();
    let res = server
        .http
        .post(server.url("/api/v1/clock"))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({"advance_seconds": 239 * 60}))
        .timeout(Duration::from_secs(3600))
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("advancing the clock: {}", res.status());
    }
    // The clock route runs a sweep; the background sweeper may take some of
    // the jobs too, so the count on the timelines says when all are done.
    loop {
        let warned = count(&url, "SELECT COUNT(*) FROM lead_events WHERE kind = 'sla_warning'").await?;
        if warned >= warnings {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("only {warned} of {warnings} warning jobs ran in 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "{backend:?}: {warnings} due SLA jobs run in {:.1} s: {:.0} jobs/s",
        elapsed.as_secs_f64(),
        warnings as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = options()?;
    sqlx::any::install_default_drivers();
    println!(
        "bench-routing: {} leads, {} concurrent submitters, 2 cores",
        opts.leads, opts.concurrency
    );
    for backend in opts.backends.clone() {
        run(backend, &opts).await?;
    }
    Ok(())
}
