//! Re-score benchmark (issue 4): a tenant with 1,000,000 leads re-scored by
//! `leadhost scoring model` (the built-in model) and then by `leadhost
//! scoring rescore` with the example profile-scorer plugin added; wall time
//! and peak memory of each CLI process, on SQLite and PostgreSQL.
//!
//! Run (release, outside the test command):
//!   cargo build --release -p leadhost -p leadhost-tests --bins
//!   (cd plugins && cargo build --release --target wasm32-wasip2)
//!   target/release/bench-rescore [--leads 1000000] [--backend sqlite|postgres|both]
//! Prints figures; BENCHMARKS.md keeps the latest.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use leadhost_tests::{Backend, TestServer, bulk, leadhost_bin, plugin_wasm};
use sqlx::{Connection, Row};

const TENANT: &str = "bench";

struct Options {
    leads: usize,
    backends: Vec<Backend>,
}

fn options() -> anyhow::Result<Options> {
    let mut opts = Options {
        leads: 1_000_000,
        backends: vec![Backend::Sqlite, Backend::Postgres],
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().context("flag needs a value");
        match flag.as_str() {
            "--leads" => opts.leads = value()?.replace('_', "").parse()?,
            "--backend" => opts.backends = Backend::parse_list(&value()?)?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(opts)
}

/// One measured CLI run.
struct Measured {
    backend: Backend,
    case: &'static str,
    leads: usize,
    /// Wall time of the whole process (start, migrations check, the run).
    wall: Duration,
    /// User + system CPU time of the process.
    cpu: Duration,
    peak_rss_kib: i64,
    /// What the command printed last (`re-scored N leads (M changed) in X s`).
    summary: String,
}

/// Runs `leadhost args… --database-url url` in `dir` and waits for it with
/// `wait4`, which gives this child's own resource usage (peak RSS, CPU).
/// `getrusage(RUSAGE_CHILDREN)` would give the largest peak of every child
/// reaped so far, the stopped server and the earlier runs included.
fn measure(dir: &Path, url: &str, args: &[&str]) -> anyhow::Result<(Duration, Duration, i64, String)> {
    let started = Instant::now();
    let mut child = Command::new(leadhost_bin())
        .args(args)
        .args(["--database-url", url])
        .current_dir(dir)
        .env("LEADHOST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting leadhost")?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value to be overwritten by wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child by pid; status and usage are valid out-pointers.
    let reaped = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    ensure!(reaped > 0, "wait4: {}", std::io::Error::last_os_error());
    let (out, err) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("leadhost {args:?} failed (wait status {status}):\n{out}\n{err}");
    }
    let tv = |t: libc::timeval| Duration::from_micros(t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64);
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    let summary = out.lines().last().unwrap_or_default().trim().to_owned();
    Ok((wall, cpu, usage.ru_maxrss, summary))
}

/// Scores and tiers after a run, read straight from the database.
struct Snapshot {
    leads: i64,
    positive: i64,
    average: f64,
    tiers: Vec<(String, i64)>,
    stages: Vec<(String, i64)>,
    timeline: i64,
    decay_jobs: i64,
}

/// (label, count) rows of a GROUP BY.
async fn counts(conn: &mut sqlx::AnyConnection, sql: &'static str) -> anyhow::Result<Vec<(String, i64)>> {
    let rows = sqlx::query(sql).fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
        .collect()
}

async fn snapshot(url: &str) -> anyhow::Result<Snapshot> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, SUM(CASE WHEN score > 0 THEN 1 ELSE 0 END) AS positive, \
         CAST(AVG(score) AS DOUBLE PRECISION) AS average FROM leads",
    )
    .fetch_one(&mut conn)
    .await?;
    let (leads, positive, average) = (row.try_get("n")?, row.try_get("positive")?, row.try_get("average")?);
    let tiers = counts(
        &mut conn,
        "SELECT tier, COUNT(*) FROM leads GROUP BY tier ORDER BY tier",
    )
    .await?;
    let stages = counts(
        &mut conn,
        "SELECT stage, COUNT(*) FROM leads GROUP BY stage ORDER BY stage",
    )
    .await?;
    let timeline = sqlx::query("SELECT COUNT(*) FROM lead_events")
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    let decay_jobs = sqlx::query("SELECT COUNT(*) FROM jobs WHERE kind = 'decay'")
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    Ok(Snapshot {
        leads,
        positive,
        average,
        tiers,
        stages,
        timeline,
        decay_jobs,
    })
}

fn show(label: &str, s: &Snapshot) {
    let list = |v: &[(String, i64)]| v.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ");
    println!(
        "  {label}: {} leads, {} with a score > 0, mean score {:.2}; tiers: {}; stages: {}; \
         {} timeline entries, {} decay jobs",
        s.leads,
        s.positive,
        s.average,
        list(&s.tiers),
        list(&s.stages),
        s.timeline,
        s.decay_jobs
    );
}

async fn scalar(url: &str, sql: &str) -> anyhow::Result<i64> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    Ok(sqlx::query(sql).fetch_one(&mut conn).await?.try_get(0)?)
}

async fn bench(backend: Backend, leads: usize) -> anyhow::Result<Vec<Measured>> {
    println!("\n== {backend:?}");
    let server = TestServer::start(backend).await?;
    let token = server.create_tenant(TENANT).await?;
    server
        .create_form_from_file(&token, "website-demo-request.json")
        .await?;
    let db = server.stop();
    let url = db.url.clone();
    let t = Instant::now();
    let fill = bulk::Fill {
        leads,
        varied_fields: true,
        identities: false,
        behaviour: true,
    };
    bulk::fill(backend, &url, TENANT, &fill).await?;
    let events = scalar(&url, "SELECT COUNT(*) FROM behaviour_events").await?;
    let with_events = scalar(&url, "SELECT COUNT(DISTINCT lead_id) FROM behaviour_events").await?;
    println!(
        "filled {leads} leads and {events} behaviour events (on {with_events} leads) in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let model: PathBuf = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/scoring-model.json");
    let model = model.canonicalize().with_context(|| model.display().to_string())?;
    let model = model.to_str().context("model path")?;
    let mut results = Vec::new();

    let (wall, cpu, rss, summary) = measure(db.dir(), &url, &["scoring", "model", model, "--tenant", TENANT])?;
    println!("built-in model: {summary}");
    let after = snapshot(&url).await?;
    show("after the built-in model", &after);
    ensure!(
        after.leads == leads as i64,
        "expected {leads} leads, found {}",
        after.leads
    );
    ensure!(
        after.positive * 10 >= after.leads * 9,
        "only {} of {} leads have a score above 0",
        after.positive,
        after.leads
    );
    for tier in ["cold", "warm", "hot"] {
        let n = after.tiers.iter().find(|(t, _)| t == tier).map_or(0, |(_, n)| *n);
        ensure!(n * 100 >= after.leads, "tier {tier} has {n} leads: not distributed");
    }
    results.push(Measured {
        backend,
        case: "built-in model",
        leads,
        wall,
        cpu,
        peak_rss_kib: rss,
        summary,
    });

    let config = db.dir().join("profile-scorer.json");
    std::fs::write(
        &config,
        r#"{"target_industries": ["manufacturing", "logistics", "software", "retail"]}"#,
    )?;
    let wasm = plugin_wasm("profile_scorer");
    let (_, _, _, uploaded) = measure(
        db.dir(),
        &url,
        &[
            "plugin",
            "upload",
            wasm.to_str().context("wasm path")?,
            "--tenant",
            TENANT,
            "--name",
            "profile",
            "--world",
            "scorer",
            "--config",
            config.to_str().context("config path")?,
        ],
    )?;
    println!("{uploaded}");
    let (wall, cpu, rss, summary) = measure(db.dir(), &url, &["scoring", "rescore", "--tenant", TENANT])?;
    println!("built-in model + profile-scorer: {summary}");
    let with_plugin = snapshot(&url).await?;
    show("after adding profile-scorer", &with_plugin);
    let (calls, failures) = {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url).await?;
        let row = sqlx::query("SELECT calls, failures FROM plugins WHERE name = 'profile'")
            .fetch_one(&mut conn)
            .await?;
        (row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?)
    };
    println!("  profile-scorer: {calls} calls, {failures} failures");
    ensure!(
        calls == leads as i64 && failures == 0,
        "expected {leads} plugin calls and no failures"
    );
    ensure!(
        with_plugin.average > after.average,
        "the plugin's parts did not raise the scores"
    );
    results.push(Measured {
        backend,
        case: "+ profile-scorer plugin",
        leads,
        wall,
        cpu,
        peak_rss_kib: rss,
        summary,
    });
    drop(db);
    Ok(results)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = options()?;
    println!("bench-rescore: {} leads", opts.leads);
    let mut all = Vec::new();
    for backend in &opts.backends {
        all.extend(bench(*backend, opts.leads).await?);
    }
    println!("\n| backend | case | leads | seconds | leads/s | CPU s (leadhost) | peak RSS MiB | the CLI's own line |");
    println!("|---|---|---|---|---|---|---|---|");
    for m in &all {
        println!(
            "| {:?} | {} | {} | {:.1} | {:.0} | {:.1} | {:.0} | {} |",
            m.backend,
            m.case,
            m.leads,
            m.wall.as_secs_f64(),
            m.leads as f64 / m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
            m.peak_rss_kib as f64 / 1024.0,
            m.summary
        );
    }
    Ok(())
}
