//! The dashboard at 1,000,000 leads, through the real server.
//!
//!   cargo build --release -p leadhost -p leadhost-tests --bins
//!   target/release/bench-dashboard [--leads 1000000] [--requests 20] [--backend sqlite|postgres|both]
//!
//! Creates a tenant with the demo form, 20 reps in 4 teams of 5; stops the
//! server; bulk-loads `--leads` leads and spreads them over the last 360
//! days, 5 sources, the reps (1 in 10 left in the pool), every stage (won
//! and opportunity leads with a deal) and tier, with an activity on one
//! owned lead in five; then fills the dashboard's facts and rollups with
//! the statements migration 0017 backfills existing leads with (the same
//! counts the server keeps as leads change). Restarts
//! the server, checks that the dashboard's total over the whole range is the
//! number of leads filled, and times the dashboard `--requests` times (after
//! a warm-up) for the whole tenant and for one team: the time from sending
//! the request to the whole body received, on loopback.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use leadhost_tests::bulk::{self, Fill};
use leadhost_tests::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Connection;

const TENANT: &str = "bench";
const REPS: usize = 20;
const TEAMS: usize = 4;
const DAYS: i64 = 360;

struct Options {
    leads: usize,
    requests: usize,
    backends: Vec<Backend>,
}

fn options() -> anyhow::Result<Options> {
    let mut opts = Options {
        leads: 1_000_000,
        requests: 20,
        backends: vec![Backend::Sqlite, Backend::Postgres],
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--leads" => opts.leads = value()?.parse()?,
            "--requests" => opts.requests = value()?.parse()?,
            "--backend" => opts.backends = Backend::parse_list(&value()?)?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(opts)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = options()?;
    for backend in opts.backends.clone() {
        run(backend, &opts).await?;
    }
    Ok(())
}

/// Spreads the bulk-loaded leads over days, sources, owners, stages and
/// tiers. `$1` tenant, `$2` now.
fn spread_sql(backend: Backend) -> String {
    let n = match backend {
        Backend::Sqlite => "CAST(substr(leads.id, 25) AS INTEGER)",
        Backend::Postgres => "CAST(substr(leads.id, 25) AS BIGINT)",
    };
    // Day, source and owner vary independently (every combination occurs,
    // as in a real table: about 37,800 rollup keys at 1M leads).
    let owner = format!(
        "CASE WHEN ({n} / 17) % 10 = 0 THEN NULL ELSE \
         (SELECT id FROM users WHERE tenant_id = $1 AND email = 'rep' || (({n} / 1800) % {REPS}) || '@bench.example') END"
    );
    let created = format!("CAST($2 AS BIGINT) - ({n} % {DAYS}) * 86400000000 - ({n} % 1000) * 1000000");
    let stage = format!("(({n} / 7) % 20)");
    format!(
        "UPDATE leads SET created_at = {created}, stage_entered_at = {created}, \
         source = CASE ({n} / {DAYS}) % 5 WHEN 0 THEN 'ads' WHEN 1 THEN 'partner' WHEN 2 THEN 'events' \
                  WHEN 3 THEN 'web' ELSE 'referral' END, \
         owner_id = {owner}, \
         stage = CASE WHEN {stage} < 10 THEN 'new' WHEN {stage} < 14 THEN 'mql' WHEN {stage} < 16 THEN 'sql' \
                 WHEN {stage} = 16 THEN 'opportunity' WHEN {stage} = 17 THEN 'won' \
                 WHEN {stage} = 18 THEN 'lost' ELSE 'disqualified' END, \
         deal_value = CASE WHEN {stage} IN (16, 17) THEN ({n} % 100 + 1) * 100000 ELSE NULL END, \
         tier = CASE ({n} / 11) % 3 WHEN 0 THEN 'cold' WHEN 1 THEN 'warm' ELSE 'hot' END \
         WHERE tenant_id = $1 AND source = 'bulk'"
    )
}

/// An activity by its owner an hour after one owned lead in five was made
/// (calls, emails, meetings, messages, notes in turn). `$1` tenant.
fn activities_sql(backend: Backend) -> String {
    let n = match backend {
        Backend::Sqlite => "CAST(substr(id, 25) AS INTEGER)",
        Backend::Postgres => "CAST(substr(id, 25) AS BIGINT)",
    };
    format!(
        "INSERT INTO activities (id, tenant_id, lead_id, user_id, kind, outcome, note, next_follow_up_at, created_at) \
         SELECT 'act-' || id, tenant_id, id, owner_id, \
           CASE ({n} / 5) % 5 WHEN 0 THEN 'call' WHEN 1 THEN 'email' WHEN 2 THEN 'meeting' \
           WHEN 3 THEN 'message' ELSE 'note' END, NULL, NULL, NULL, created_at + 3600000000 \
         FROM leads WHERE tenant_id = $1 AND owner_id IS NOT NULL AND {n} % 5 = 0"
    )
}

/// Spreads the unowned leads over the rollup's shards, as the server does
/// for the leads it makes (the backfill puts them all in shard 0).
fn shards_sql(backend: Backend) -> String {
    let n = match backend {
        Backend::Sqlite => "CAST(substr(lead_id, 25) AS INTEGER)",
        Backend::Postgres => "CAST(substr(lead_id, 25) AS BIGINT)",
    };
    // Not `n % 8`: that follows the day (360 is a multiple of 8).
    format!("UPDATE dashboard_leads SET shard = ({n} / 1800) % 8 WHERE owner_id = ''")
}

/// The backfill statements of migration 0017 (its `INSERT`s).
fn rollup_sql(backend: Backend) -> Vec<String> {
    let migration = match backend {
        Backend::Sqlite => include_str!("../../../host/migrations/sqlite/0017_dashboard.sql"),
        Backend::Postgres => include_str!("../../../host/migrations/postgres/0017_dashboard.sql"),
    };
    migration
        .split(";\n")
        .map(str::trim)
        .filter(|s| s.starts_with("INSERT INTO"))
        .map(str::to_owned)
        .collect()
}

async fn fill_tables(backend: Backend, url: &str) -> anyhow::Result<()> {
    let now = bulk::now_micros();
    macro_rules! run {
        ($conn:expr) => {{
            let mut conn = $conn;
            let tenant: String = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
                .bind(TENANT)
                .fetch_one(&mut conn)
                .await?;
            sqlx::query(&spread_sql(backend))
                .bind(&tenant)
                .bind(now)
                .execute(&mut conn)
                .await?;
            sqlx::query("UPDATE users SET open_leads = (SELECT COUNT(*) FROM leads WHERE owner_id = users.id)")
                .execute(&mut conn)
                .await?;
            sqlx::query(&activities_sql(backend))
                .bind(&tenant)
                .execute(&mut conn)
                .await?;
            // Only this tenant's leads exist: the backfill covers them all.
            let [facts, days, activity] = &rollup_sql(backend)[..] else {
                bail!("migration 0017 backfills facts, days and activities");
            };
            sqlx::query(facts).execute(&mut conn).await?;
            sqlx::query(&shards_sql(backend)).execute(&mut conn).await?;
            sqlx::query(days).execute(&mut conn).await?;
            sqlx::query(activity).execute(&mut conn).await?;
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dashboard_days")
                .fetch_one(&mut conn)
                .await?;
            let unowned: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dashboard_leads WHERE owner_id = ''")
                .fetch_one(&mut conn)
                .await?;
            println!("{rows} rollup rows; {unowned} leads in the pool");
            sqlx::query(bulk::analyze_statement(backend)).execute(&mut conn).await?;
        }};
    }
    match backend {
        Backend::Sqlite => run!(sqlx::SqliteConnection::connect(url).await?),
        Backend::Postgres => run!(sqlx::PgConnection::connect(url).await?),
    }
    Ok(())
}

async fn run(backend: Backend, opts: &Options) -> anyhow::Result<()> {
    println!("== {backend:?}: {} leads", opts.leads);
    let server = TestServer::start(backend).await?;
    let admin = server.create_tenant(TENANT).await?;
    server
        .create_form_from_file(&admin, "website-demo-request.json")
        .await?;
    for i in 0..REPS {
        let body = json!({"email": format!("rep{i}@bench.example"), "role": "rep"});
        let (status, answer) = server.send_json(Method::POST, &admin, "/api/v1/users", &body).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{status} {answer}");
    }
    for t in 0..TEAMS {
        let members: Vec<_> = (0..REPS)
            .filter(|i| i % TEAMS == t)
            .map(|i| json!({"email": format!("rep{i}@bench.example")}))
            .collect();
        let body = json!({"name": format!("team{t}"), "strategy": "round_robin", "members": members});
        let (status, answer) = server.send_json(Method::POST, &admin, "/api/v1/teams", &body).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{status} {answer}");
    }
    let db = server.stop();
    let started = Instant::now();
    let fill = Fill {
        leads: opts.leads,
        varied_fields: false,
        identities: false,
        behaviour: false,
    };
    bulk::fill(backend, &db.url, TENANT, &fill).await?;
    fill_tables(backend, &db.url).await?;
    println!("filled in {:.1} s", started.elapsed().as_secs_f64());

    let server = TestServer::start_on(db, &[]).await?;
    let (_, board) = server.get_json(&admin, "/api/v1/dashboard").await?;
    let to = board["to"].as_str().context("the dashboard's range")?.to_owned();
    // From the first of January of last year: every lead is in range.
    let year: i32 = to.get(..4).context("a YYYY-MM-DD date")?.parse()?;
    let from = format!("{}-01-01", year - 1);
    let range = format!("from={from}&to={to}");
    let (status, board) = server.get_json(&admin, &format!("/api/v1/dashboard?{range}")).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {board}");
    anyhow::ensure!(
        board["total"].as_i64() == Some(opts.leads as i64),
        "the dashboard counts {} leads of {} filled",
        board["total"],
        opts.leads
    );
    println!("the dashboard's total: {} leads", board["total"]);
    let views = [
        ("the whole tenant, all 360 days", format!("/api/v1/dashboard?{range}")),
        (
            "one team, all 360 days",
            format!("/api/v1/dashboard?{range}&team=team0"),
        ),
        ("the whole tenant, 30 days", "/api/v1/dashboard".to_owned()),
        (
            "one source and team, CSV of reps",
            format!("/api/v1/dashboard/reps.csv?{range}&team=team1&source=ads"),
        ),
    ];
    println!("| view | p50 | p95 | max |");
    println!("|---|---|---|---|");
    for (name, path) in views {
        for _ in 0..3 {
            let (status, body) = server.get_json(&admin, &path).await?;
            anyhow::ensure!(status == StatusCode::OK, "{path}: {status} {body}");
        }
        let mut times = Vec::with_capacity(opts.requests);
        for _ in 0..opts.requests {
            let started = Instant::now();
            let (status, _) = server.get_json(&admin, &path).await?;
            times.push(started.elapsed());
            anyhow::ensure!(status == StatusCode::OK, "{path}: {status}");
        }
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {name} | {} | {} | {} |",
            ms(at(0.5)),
            ms(at(0.95)),
            ms(*times.last().unwrap())
        );
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
