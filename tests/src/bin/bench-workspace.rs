//! The rep workspace's pages at 1,000,000 leads, through the real server.
//!
//!   cargo build -p leadhost -p leadhost-tests --bins
//!   target/debug/bench-workspace [--leads 1000000] [--owned 20000] [--requests 40] [--backend sqlite|postgres|both]
//!
//! Creates a tenant with the demo form, one rep ("the rep", who logs in) and
//! 19 others; stops the server; bulk-loads `--leads` leads (varied fields,
//! email and phone identities, behaviour events) and spreads them: `--owned`
//! to the rep (1 in 50, some named 张伟 for the two-character search), 3 in
//! 10 left in the pool, the rest with the other reps; scores 0-99 with their
//! tiers, follow-up deadlines from two days overdue to two days ahead.
//! Restarts the server, logs in through the login page, and times each page
//! `--requests` times (after a warm-up) on one keep-alive connection: the
//! time from sending the request to the whole body received, on loopback.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use leadhost_tests::bulk::{self, Fill};
use leadhost_tests::pages::PageVisitor;
use leadhost_tests::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Connection;

const TENANT: &str = "bench";
const PASSWORD: &str = "correct horse battery";

struct Options {
    leads: usize,
    owned: usize,
    requests: usize,
    backends: Vec<Backend>,
}

fn options() -> anyhow::Result<Options> {
    let mut opts = Options {
        leads: 1_000_000,
        owned: 20_000,
        requests: 40,
        backends: vec![Backend::Sqlite, Backend::Postgres],
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--leads" => opts.leads = value()?.parse()?,
            "--owned" => opts.owned = value()?.parse()?,
            "--requests" => opts.requests = value()?.parse()?,
            "--backend" => opts.backends = Backend::parse_list(&value()?)?,
            other => bail!("unknown flag {other}"),
        }
    }
    anyhow::ensure!(opts.owned * 2 <= opts.leads, "--owned must be at most half of --leads");
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

/// Spreads the bulk-loaded leads as a sales team's table looks: the rep's
/// share (every `stride`th lead), the pool, the others' leads; scores,
/// tiers and deadlines. `$1` tenant, `$2` the rep, `$3` now.
fn spread_sql(backend: Backend, stride: usize) -> Vec<String> {
    let n = match backend {
        // Qualified: inside the subquery for the other reps, `id` would be
        // the user's.
        Backend::Sqlite => "CAST(substr(leads.id, 25) AS INTEGER)",
        Backend::Postgres => "CAST(substr(leads.id, 25) AS BIGINT)",
    };
    let other =
        format!("(SELECT id FROM users WHERE tenant_id = $1 AND email = 'other' || ({n} % 19) || '@bench.example')");
    vec![
        format!(
            "UPDATE leads SET score = ({n} * 37) % 100, \
             tier = CASE WHEN ({n} * 37) % 100 >= 70 THEN 'hot' WHEN ({n} * 37) % 100 >= 40 THEN 'warm' ELSE 'cold' END \
             WHERE tenant_id = $1 AND source = 'bulk'"
        ),
        format!(
            "UPDATE leads SET owner_id = $2, assigned_at = CAST($3 AS BIGINT) - 86400000000, \
             follow_up_due_at = CAST($3 AS BIGINT) + (({n} / {stride}) % 97 - 48) * 3600000000 \
             WHERE tenant_id = $1 AND source = 'bulk' AND {n} % {stride} = 0"
        ),
        format!(
            "UPDATE leads SET name = '张伟', search_text = '张伟 ' || search_text \
             WHERE tenant_id = $1 AND source = 'bulk' AND {n} % ({stride} * 500) = 0"
        ),
        format!(
            "UPDATE leads SET owner_id = {other}, assigned_at = CAST($3 AS BIGINT) - 86400000000, \
             follow_up_due_at = CAST($3 AS BIGINT) + ({n} % 97 - 48) * 3600000000 \
             WHERE tenant_id = $1 AND source = 'bulk' AND {n} % {stride} <> 0 AND {n} % 10 >= 3"
        ),
    ]
}

async fn spread(backend: Backend, url: &str, stride: usize) -> anyhow::Result<()> {
    let now = bulk::now_micros();
    macro_rules! run {
        ($conn:expr) => {{
            let mut conn = $conn;
            let tenant: String = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
                .bind(TENANT)
                .fetch_one(&mut conn)
                .await?;
            let rep: String =
                sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = $1 AND email = 'rep@bench.example'")
                    .bind(&tenant)
                    .fetch_one(&mut conn)
                    .await?;
            for sql in spread_sql(backend, stride) {
                sqlx::query(&sql)
                    .bind(&tenant)
                    .bind(&rep)
                    .bind(now)
                    .execute(&mut conn)
                    .await?;
            }
            sqlx::query("UPDATE users SET open_leads = (SELECT COUNT(*) FROM leads WHERE owner_id = users.id)")
                .execute(&mut conn)
                .await?;
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
    println!("== {backend:?}: {} leads, {} of them the rep's", opts.leads, opts.owned);
    let server = TestServer::start(backend).await?;
    let admin = server.create_tenant(TENANT).await?;
    server
        .create_form_from_file(&admin, "website-demo-request.json")
        .await?;
    let mut users = vec![("rep@bench.example".to_owned(), Some(PASSWORD))];
    users.extend((0..19).map(|i| (format!("other{i}@bench.example"), None)));
    for (email, password) in users {
        let body = json!({"email": email, "role": "rep", "password": password});
        let (status, answer) = server.send_json(Method::POST, &admin, "/api/v1/users", &body).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{status} {answer}");
    }
    let db = server.stop();
    let started = Instant::now();
    let fill = Fill {
        leads: opts.leads,
        varied_fields: true,
        identities: true,
        behaviour: true,
    };
    bulk::fill(backend, &db.url, TENANT, &fill).await?;
    spread(backend, &db.url, opts.leads / opts.owned).await?;
    println!("filled in {:.1} s", started.elapsed().as_secs_f64());

    let server = TestServer::start_on(db, &[]).await?;
    let (_, owned) = server.get_json(&admin, "/api/v1/leads?limit=1").await?;
    anyhow::ensure!(
        owned["leads"].as_array().is_some_and(|l| !l.is_empty()),
        "the tenant has leads"
    );
    let mut rep = PageVisitor::new(&server);
    let login = rep.log_in(TENANT, "rep@bench.example", PASSWORD).await?;
    anyhow::ensure!(login.status == StatusCode::SEE_OTHER, "login: {}", login.status);

    // A lead of the rep's with a timeline: its touch, scoring, assignment.
    let list = rep.get("/app/leads?sort=score").await?;
    let lead = list
        .html
        .split("data-id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the rep's leads page lists a lead")?
        .to_owned();
    let mine = list.html.matches("class=\"lead\"").count();
    println!("the rep's first page shows {mine} leads");
    let pages = [
        ("my leads, by follow-up due (the default)", "/app/leads".to_owned()),
        ("my leads, by score", "/app/leads?sort=score".to_owned()),
        ("my leads, by tier", "/app/leads?sort=tier".to_owned()),
        ("my leads, search 张伟", "/app/leads?q=%E5%BC%A0%E4%BC%9F".to_owned()),
        ("my leads, search part of an email", "/app/leads?q=bulk1234".to_owned()),
        (
            "my leads, hot and in stage new",
            "/app/leads?tier=hot&stage=new".to_owned(),
        ),
        ("the pool", "/app/pool".to_owned()),
        ("a lead's page", format!("/app/leads/{lead}")),
        ("the agenda", "/app/agenda".to_owned()),
    ];
    println!("| page | p50 | p95 | max |");
    println!("|---|---|---|---|");
    for (name, path) in pages {
        for _ in 0..3 {
            let warm = rep.get(&path).await?;
            anyhow::ensure!(warm.status == StatusCode::OK, "{path}: {}", warm.status);
        }
        let mut times = Vec::with_capacity(opts.requests);
        for _ in 0..opts.requests {
            let started = Instant::now();
            let page = rep.get(&path).await?;
            times.push(started.elapsed());
            anyhow::ensure!(page.status == StatusCode::OK, "{path}: {}", page.status);
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
