//! Nurture email benchmark (issue 15): `--leads` leads enrolled in a
//! one-email workflow, every run due at the same moment, sent through the
//! real server to a local SMTP sink (`smtp_counter`, in this process).
//!
//!   cargo build -p leadhost --bins && cargo build -p leadhost-tests --bins
//!   target/debug/bench-nurture [--leads 100000] [--backend sqlite|postgres|both] [--timeout 900]
//!
//! The runs and their `nurture` jobs are written straight into the database
//! with the server stopped (as enrolment writes them, without the timeline
//! entry), then made due at T0, a few seconds after the server is started,
//! so the measurement begins with the server up and every job due at once.
//! It ends when the sink holds `--leads` distinct Message-IDs, or at
//! `--timeout` seconds or a Ctrl-C or SIGTERM, with the figures so far.
//! Prints figures; BENCHMARKS.md keeps the latest.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use leadhost_tests::bulk::{self, now_micros};
use leadhost_tests::smtp_counter::SmtpCounter;
use leadhost_tests::{Backend, StatusCode, TestServer};
use reqwest::Method;
use serde_json::json;
use sqlx::{Connection, Row};
use tokio::signal::unix::{SignalKind, signal};

const TENANT: &str = "bench";
const WORKFLOW: &str = "one-email";
/// Due time of the jobs while the server is stopped: never.
const NOT_YET: i64 = i64::MAX / 2;
/// How long after the jobs are made due the server is started: long enough
/// for it to be listening at T0 (it starts in well under a second).
const START_MARGIN: Duration = Duration::from_secs(3);
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How long the outbox may take to record the last accepted sends.
const SETTLE: Duration = Duration::from_secs(30);

struct Options {
    leads: usize,
    backends: Vec<Backend>,
    timeout: Duration,
}

fn options() -> anyhow::Result<Options> {
    let mut opts = Options {
        leads: 100_000,
        backends: vec![Backend::Sqlite, Backend::Postgres],
        timeout: Duration::from_secs(900),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--leads" => opts.leads = value()?.replace('_', "").parse()?,
            "--backend" => opts.backends = Backend::parse_list(&value()?)?,
            "--timeout" => opts.timeout = Duration::from_secs(value()?.parse()?),
            other => bail!("unknown flag {other}"),
        }
    }
    ensure!(opts.leads > 0, "--leads must be at least 1");
    Ok(opts)
}

/// One backend's figures.
struct Measured {
    backend: Backend,
    leads: usize,
    /// Distinct messages the sink received (all `leads` unless timed out).
    received: usize,
    /// From T0 to the last message received.
    total: Duration,
    /// Due (T0) to received, per message: p50, p99, max.
    due_to_received: [Duration; 3],
    /// Written to the outbox (`emails.created_at`) to sent (`sent_at`).
    queued_to_sent: [Duration; 3],
    duplicates: usize,
}

/// The tenant, its form (whose `consent` field gives consent), the
/// workflow, and a sending rate that never holds the bench back.
async fn setup(server: &TestServer) -> anyhow::Result<()> {
    let token = server.create_tenant(TENANT).await?;
    server
        .create_form_from_file(&token, "website-demo-request.json")
        .await?;
    let workflow = json!({
        "name": "One email",
        "trigger": {"on": "manual"},
        "steps": [{"id": "hello", "kind": "send_email", "email": {
            "subject": "Hello {{ fields.name }}", "text": "Hi {{ fields.name }}",
            "fallbacks": {"name": "there"}}}]
    });
    let path = format!("/api/v1/workflows/{WORKFLOW}");
    let (status, body) = server.send_json(Method::PUT, &token, &path, &workflow).await?;
    ensure!(
        status == StatusCode::CREATED,
        "publishing the workflow: {status} {body}"
    );
    let settings = json!({"emails_per_minute": 100_000, "email_from": "Bench <bench@bench.example>"});
    let (status, body) = server
        .send_json(Method::PATCH, &token, "/api/v1/settings", &settings)
        .await?;
    ensure!(status == StatusCode::OK, "raising the sending rate: {status} {body}");
    Ok(())
}

/// (label, count) rows of a GROUP BY, as "label count, …".
async fn counts(conn: &mut sqlx::AnyConnection, sql: &str) -> anyhow::Result<String> {
    let rows = sqlx::query(sql).fetch_all(conn).await?;
    let parts: Vec<String> = rows
        .iter()
        .map(|r| Ok(format!("{} {}", r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
        .collect::<anyhow::Result<_>>()?;
    Ok(if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    })
}

const JOBS_BY_KIND: &str = "SELECT kind, COUNT(*) FROM jobs GROUP BY kind ORDER BY kind";
const EMAILS_BY_STATUS: &str = "SELECT status, COUNT(*) FROM emails GROUP BY status ORDER BY status";

fn percentiles(mut values: Vec<i64>) -> [Duration; 3] {
    if values.is_empty() {
        return [Duration::ZERO; 3];
    }
    values.sort_unstable();
    let at = |p: f64| {
        let micros = values[((values.len() as f64 - 1.0) * p).round() as usize];
        Duration::from_micros(micros.max(0) as u64)
    };
    [at(0.5), at(0.99), at(1.0)]
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// User + system CPU of this process (the sink and the sampling).
fn own_cpu() -> Duration {
    // SAFETY: a zeroed rusage is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid out-pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::from_micros(t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The 1, 5 and 15 minute load averages: anything else busy on the two
/// cores during a run shows here.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

async fn bench(backend: Backend, opts: &Options) -> anyhow::Result<Measured> {
    let n = opts.leads;
    println!("\n== {backend:?}, {n} leads");
    let server = TestServer::start(backend).await?;
    setup(&server).await?;
    let db = server.stop();
    let url = db.url.clone();

    let filling = Instant::now();
    let fill = bulk::Fill {
        leads: n,
        varied_fields: true,
        identities: false,
        behaviour: false,
    };
    bulk::fill(backend, &url, TENANT, &fill).await?;
    bulk::enrol(backend, &url, TENANT, WORKFLOW, n, NOT_YET).await?;
    println!(
        "filled {n} leads (each with consent) and {n} runs with their nurture jobs in {:.1} s",
        filling.elapsed().as_secs_f64()
    );

    let sink = SmtpCounter::start().await?;
    let mut conn = sqlx::AnyConnection::connect(&url).await?;
    let t0 = now_micros() + START_MARGIN.as_micros() as i64;
    let due = sqlx::query("UPDATE jobs SET run_at = $1 WHERE kind = 'nurture'")
        .bind(t0)
        .execute(&mut conn)
        .await?;
    ensure!(
        due.rows_affected() == n as u64,
        "{} nurture jobs, not {n}",
        due.rows_affected()
    );
    let server = TestServer::start_on(db, &["--smtp-url", &sink.url()]).await?;
    let ready = now_micros();
    if ready > t0 {
        println!(
            "note: the server was listening only {} ms after T0",
            (ready - t0) / 1000
        );
    }
    tokio::time::sleep(Duration::from_micros((t0 - now_micros()).max(0) as u64)).await;
    let cpu_at_t0 = own_cpu();
    println!("T0; load average {}", load_average());
    let started = Instant::now();

    // A long run stopped from outside (Ctrl-C, SIGTERM) still reports what
    // arrived, and its server and database are still cleaned up.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut next_report = PROGRESS_EVERY;
    let mut last_count = 0;
    let stopped = loop {
        if sink.distinct() >= n {
            break None;
        }
        if started.elapsed() > opts.timeout {
            break Some("timed out");
        }
        if started.elapsed() >= next_report {
            let count = sink.distinct();
            println!(
                "{:>5.0} s: {count} received ({:.0}/s over the last {} s, {:.0}/s since T0); jobs: {}; emails: {}",
                started.elapsed().as_secs_f64(),
                (count - last_count) as f64 / PROGRESS_EVERY.as_secs_f64(),
                PROGRESS_EVERY.as_secs(),
                count as f64 / started.elapsed().as_secs_f64(),
                counts(&mut conn, JOBS_BY_KIND).await?,
                counts(&mut conn, EMAILS_BY_STATUS).await?,
            );
            last_count = count;
            next_report += PROGRESS_EVERY;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = terminate.recv() => break Some("stopped by SIGTERM"),
            _ = interrupt.recv() => break Some("stopped by SIGINT"),
        }
    };
    let sink_cpu = own_cpu() - cpu_at_t0;
    println!("done; load average {}", load_average());
    let received = sink.received();
    if let Some(why) = stopped {
        println!(
            "{why} after {:.0} s with {} of {n} received",
            started.elapsed().as_secs_f64(),
            sink.distinct()
        );
    }

    // The sink answers before the server records the send: wait for the
    // outbox to catch up before reading it.
    let settling = Instant::now();
    let sent_sql = "SELECT COUNT(*) FROM emails WHERE status = 'sent'";
    while (sqlx::query(sent_sql).fetch_one(&mut conn).await?.try_get::<i64, _>(0)? as usize) < sink.distinct()
        && settling.elapsed() < SETTLE
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let last = received.iter().map(|r| r.at).max().unwrap_or(t0);
    let first = received.iter().map(|r| r.at).min().unwrap_or(t0);
    let distinct: HashSet<&str> = received.iter().map(|r| r.message_id.as_str()).collect();
    let duplicates = received.len() - distinct.len();
    let due_to_received = percentiles(received.iter().map(|r| r.at - t0).collect());

    let rows = sqlx::query("SELECT message_id, created_at, sent_at FROM emails")
        .fetch_all(&mut conn)
        .await?;
    let mut outbox_ids = HashSet::new();
    let (mut queued_to_sent, mut due_to_queued) = (Vec::new(), Vec::new());
    for row in &rows {
        let created: i64 = row.try_get(1)?;
        outbox_ids.insert(format!("<{}>", row.try_get::<String, _>(0)?));
        due_to_queued.push(created - t0);
        if let Some(sent) = row.try_get::<Option<i64>, _>(2)? {
            queued_to_sent.push(sent - created);
        }
    }
    let unknown = distinct.iter().filter(|id| !outbox_ids.contains(**id)).count();
    let queued_to_sent = percentiles(queued_to_sent);
    // The nurture lane runs a tenant's jobs one after another, so the
    // typical gap between consecutive outbox writes is one step's time.
    let mut written = due_to_queued.clone();
    written.sort_unstable();
    let gaps: Vec<i64> = written.windows(2).map(|w| w[1] - w[0]).collect();
    let step_time = percentiles(gaps)[0];
    let due_to_queued = percentiles(due_to_queued);
    let total = Duration::from_micros((last - t0).max(0) as u64);

    println!(
        "{} distinct messages ({} in all, {duplicates} duplicates, {unknown} not in the outbox) over {} connections",
        distinct.len(),
        received.len(),
        sink.connections()
    );
    println!(
        "the last received {} after T0: {:.0} emails/s from T0 ({:.0}/s from the first to the last message, \
         the first {} after T0)",
        secs(total),
        distinct.len() as f64 / total.as_secs_f64().max(1e-6),
        (distinct.len().saturating_sub(1)) as f64 / ((last - first) as f64 / 1e6).max(1e-6),
        secs(Duration::from_micros((first - t0).max(0) as u64)),
    );
    let show = |[p50, p99, max]: [Duration; 3]| format!("p50 {} / p99 {} / max {}", secs(p50), secs(p99), secs(max));
    println!("due (T0) to received by the sink: {}", show(due_to_received));
    println!(
        "due (T0) to written to the outbox (the nurture step): {}",
        show(due_to_queued)
    );
    println!(
        "one nurture step every {:.1} ms (the median gap between consecutive outbox writes)",
        step_time.as_secs_f64() * 1e3
    );
    println!(
        "written to the outbox to sent (the email job): {}",
        show(queued_to_sent)
    );
    println!("emails: {}", counts(&mut conn, EMAILS_BY_STATUS).await?);
    println!("jobs left: {}", counts(&mut conn, JOBS_BY_KIND).await?);
    println!("this process (sink and sampling) used {} of CPU", secs(sink_cpu));
    let log = server.log();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    if !warnings.is_empty() {
        println!("the server logged {} warnings or errors; the first:", warnings.len());
        for line in warnings.iter().take(5) {
            println!("  {line}");
        }
    }
    drop(server);
    Ok(Measured {
        backend,
        leads: n,
        received: distinct.len(),
        total,
        due_to_received,
        queued_to_sent,
        duplicates,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = options()?;
    sqlx::any::install_default_drivers();
    println!(
        "bench-nurture: {} leads in a one-email workflow, to an SMTP sink in this process",
        opts.leads
    );
    let mut all = Vec::new();
    for backend in &opts.backends {
        all.push(bench(*backend, &opts).await?);
    }
    println!(
        "\n| backend | leads | received | the last after T0 | emails/s | due → received p50 / p99 / max \
         | queued → sent p50 / p99 / max | duplicates |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for m in &all {
        let three = |[a, b, c]: [Duration; 3]| {
            format!(
                "{:.1} / {:.1} / {:.1} s",
                a.as_secs_f64(),
                b.as_secs_f64(),
                c.as_secs_f64()
            )
        };
        println!(
            "| {:?} | {} | {} | {:.1} s | {:.0} | {} | {} | {} |",
            m.backend,
            m.leads,
            m.received,
            m.total.as_secs_f64(),
            m.received as f64 / m.total.as_secs_f64().max(1e-6),
            three(m.due_to_received),
            three(m.queued_to_sent),
            m.duplicates
        );
    }
    Ok(())
}
