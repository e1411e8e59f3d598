//! Filling a tenant with many leads straight in SQL, for the benchmarks
//! that need a large table (the server stopped). One generator for both
//! backends: only the number sequence and the id formatting differ.

use sqlx::{Connection, Row};

use crate::Backend;

/// What to put in the table besides the leads themselves.
#[derive(Debug, Clone, Copy)]
pub struct Fill {
    pub leads: usize,
    /// Each lead's submitted fields: `{}`, or varied values of the demo
    /// form's qualification fields (company size, industry, job title,
    /// BANT), spread so the demo scoring model gives every tier.
    pub varied_fields: bool,
    /// The leads' email and phone identities (the dedup index).
    pub identities: bool,
    /// A few recent `page_view` / `download` / `webinar_attended` events for
    /// one lead in ten.
    pub behaviour: bool,
}

/// Appends leads 1..=`fill.leads` to the tenant `slug` (into its first form).
/// Lead `n` has id `00000000-0000-7000-8000-<n, 12 digits>`, email
/// `bulk<n>@example.com` and phone `+861390<n, 7 digits>`.
pub async fn fill(backend: Backend, url: &str, slug: &str, fill: &Fill) -> anyhow::Result<()> {
    let (lead_id, phone) = match backend {
        Backend::Sqlite => ("printf('00000000-0000-7000-8000-%012d', n)", "printf('%07d', n)"),
        Backend::Postgres => (
            "'00000000-0000-7000-8000-' || lpad(n::text, 12, '0')",
            "lpad(n::text, 7, '0')",
        ),
    };
    let fields = if fill.varied_fields { VARIED_FIELDS } else { "'{}'" };
    // $1 tenant, $2 form, $3 leads, $4 now.
    let leads = over_sequence(
        backend,
        "$3",
        "INSERT INTO leads (id, tenant_id, form_id, form_version, email, phone, name, company, \
         fields, channel, source, stage, owner_id, score, tier, search_text, created_at, updated_at)",
        &format!(
            "{lead_id}, $1, $2, 1, 'bulk' || n || '@example.com', '+861390' || {phone}, 'Bulk ' || n, \
             'Company ' || n, {fields}, 'import', 'bulk', 'new', NULL, 0, 'cold', 'bulk ' || n, \
             CAST($4 AS BIGINT), CAST($4 AS BIGINT)"
        ),
        None,
    );
    // $1 tenant, $2 leads, $3 now. One lead in ten (n % 10 = 3) has 1 to 4
    // events (k), spread over the last 20 days.
    let when = "CAST($3 AS BIGINT) - ((n * 37 + k * 11) % 480) * 3600000000 - (n % 3600) * 1000000";
    let events = over_sequence(
        backend,
        "$2",
        "INSERT INTO behaviour_events (id, tenant_id, lead_id, kind, url, detail, occurred_at, created_at)",
        &format!(
            "'bev-' || n || '-' || k, $1, {lead_id}, \
             CASE WHEN (n / 10 + k) % 5 = 4 THEN 'webinar_attended' \
                  WHEN (n + k) % 3 = 0 THEN 'download' ELSE 'page_view' END, \
             CASE WHEN (n + k) % 3 = 0 THEN 'https://example.com/whitepaper.pdf' \
                  ELSE 'https://example.com/pricing' END, '{{}}', {when}, {when}"
        ),
        Some("n % 10 = 3 AND k <= 1 + (n / 10) % 4"),
    );
    let ids = "SELECT f.tenant_id, f.id FROM forms f JOIN tenants t ON t.id = f.tenant_id WHERE t.slug = $1 \
               ORDER BY f.created_at LIMIT 1";
    let now = now_micros();
    macro_rules! run {
        ($conn:expr) => {{
            let mut conn = $conn;
            let row = sqlx::query(ids).bind(slug).fetch_one(&mut conn).await?;
            let (tenant, form): (String, String) = (row.get(0), row.get(1));
            sqlx::query(&leads)
                .bind(&tenant)
                .bind(&form)
                .bind(fill.leads as i64)
                .bind(now)
                .execute(&mut conn)
                .await?;
            if fill.identities {
                for kind in ["email", "phone"] {
                    sqlx::query(&format!(
                        "INSERT INTO lead_identities (tenant_id, kind, value, lead_id) \
                         SELECT tenant_id, '{kind}', {kind}, id FROM leads WHERE source = 'bulk'"
                    ))
                    .execute(&mut conn)
                    .await?;
                }
            }
            if fill.behaviour {
                sqlx::query(&events)
                    .bind(&tenant)
                    .bind(fill.leads as i64)
                    .bind(now)
                    .execute(&mut conn)
                    .await?;
            }
            sqlx::query(analyze_statement(backend)).execute(&mut conn).await?;
        }};
    }
    match backend {
        Backend::Sqlite => run!(sqlx::SqliteConnection::connect(url).await?),
        Backend::Postgres => run!(sqlx::PgConnection::connect(url).await?),
    }
    Ok(())
}

/// Enrols leads 1..=`leads` of [`fill`] in the tenant's workflow
/// `workflow` (by slug, at its current version) as `nurture::enrolment::enrol`
/// does, without its timeline entry: a run at step 0, seq 1, and its
/// `nurture` job, due at `due_at` (microseconds since the epoch). Run `n`
/// has id `00000000-0000-7000-9000-<n, 12 digits>`, its job the same with
/// `a000`. One transaction.
pub async fn enrol(
    backend: Backend,
    url: &str,
    slug: &str,
    workflow: &str,
    leads: usize,
    due_at: i64,
) -> anyhow::Result<()> {
    let id = |group: &str| match backend {
        Backend::Sqlite => format!("printf('00000000-0000-7000-{group}-%012d', n)"),
        Backend::Postgres => format!("'00000000-0000-7000-{group}-' || lpad(n::text, 12, '0')"),
    };
    let (lead_id, run_id, job_id) = (id("8000"), id("9000"), id("a000"));
    // $1 tenant, $2 workflow, $3 version, $4 leads, $5 now.
    let runs = over_sequence(
        backend,
        "$4",
        "INSERT INTO workflow_runs (id, tenant_id, workflow_id, version, lead_id, step, seq, started_at, updated_at)",
        &format!("{run_id}, $1, $2, $3, {lead_id}, 0, 1, CAST($5 AS BIGINT), CAST($5 AS BIGINT)"),
        None,
    );
    // $1 tenant, $2 leads, $3 due, $4 now.
    let jobs = over_sequence(
        backend,
        "$2",
        "INSERT INTO jobs (id, tenant_id, kind, payload, run_at, attempts, locked_until, created_at)",
        &format!(
            "{job_id}, $1, 'nurture', '{{\"run_id\":\"' || {run_id} || '\",\"seq\":1}}', CAST($3 AS BIGINT), 0, NULL, \
             CAST($4 AS BIGINT)"
        ),
        None,
    );
    let ids = "SELECT w.tenant_id, w.id, w.current_version FROM workflows w JOIN tenants t ON t.id = w.tenant_id \
               WHERE t.slug = $1 AND w.slug = $2";
    let now = now_micros();
    macro_rules! run {
        ($conn:expr) => {{
            let mut conn = $conn;
            let mut tx = conn.begin().await?;
            let row = sqlx::query(ids).bind(slug).bind(workflow).fetch_one(&mut *tx).await?;
            let (tenant, workflow_id, version): (String, String, i32) = (row.get(0), row.get(1), row.get(2));
            sqlx::query(&runs)
                .bind(&tenant)
                .bind(&workflow_id)
                .bind(version)
                .bind(leads as i64)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(&jobs)
                .bind(&tenant)
                .bind(leads as i64)
                .bind(due_at)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }};
    }
    match backend {
        Backend::Sqlite => run!(sqlx::SqliteConnection::connect(url).await?),
        Backend::Postgres => run!(sqlx::PgConnection::connect(url).await?),
    }
    Ok(())
}

/// `insert` `SELECT select` for each `n` in 1..=`count` (a parameter); with
/// `per_k`, for each (n, k) with k in 1..=4 that passes that condition.
fn over_sequence(backend: Backend, count: &str, insert: &str, select: &str, per_k: Option<&str>) -> String {
    const KS: &str = "ks(k) AS (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4)";
    let cross = per_k.map_or(String::new(), |cond| format!(" CROSS JOIN ks WHERE {cond}"));
    match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {count}){} \
             {insert} SELECT {select} FROM seq{cross}",
            if per_k.is_some() {
                format!(", {KS}")
            } else {
                String::new()
            }
        ),
        Backend::Postgres => format!(
            "{}{insert} SELECT {select} FROM generate_series(1, {count}::bigint) AS n{cross}",
            if per_k.is_some() {
                format!("WITH {KS} ")
            } else {
                String::new()
            }
        ),
    }
}

/// Microseconds since the Unix epoch, as the tables keep times.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_micros() as i64
}

/// The demo form's fields as a JSON object built in SQL from `n`. Each field
/// takes its value from `n` modulo a different prime, so every combination
/// occurs; the weights make small companies, vague budgets and junior titles
/// the common case, as in real intake.
const VARIED_FIELDS: &str = "'{\"name\":\"Bulk ' || n || '\",\"email\":\"bulk' || n || '@example.com\",\
\"company\":\"Company ' || n || '\",\"consent\":true,\"province\":\"' || \
CASE n % 5 WHEN 0 THEN 'zhejiang' WHEN 1 THEN 'beijing' WHEN 2 THEN 'guangdong' WHEN 3 THEN 'shanghai' \
ELSE 'jiangsu' END || '\",\"company_size\":\"' || \
CASE WHEN n % 17 < 7 THEN '1-49' WHEN n % 17 < 12 THEN '50-199' WHEN n % 17 < 15 THEN '200-999' \
ELSE '1000+' END || '\",\"industry\":\"' || \
CASE WHEN n % 19 < 4 THEN 'manufacturing' WHEN n % 19 < 6 THEN 'retail' WHEN n % 19 < 8 THEN 'finance' \
WHEN n % 19 < 10 THEN 'healthcare' WHEN n % 19 < 12 THEN 'education' WHEN n % 19 < 14 THEN 'software' \
WHEN n % 19 < 15 THEN 'logistics' ELSE 'other' END || '\",\"job_title\":\"' || \
CASE n % 23 WHEN 0 THEN 'CEO' WHEN 1 THEN 'Founder' WHEN 2 THEN 'VP Sales' WHEN 3 THEN '总经理' \
WHEN 4 THEN 'IT Director' WHEN 5 THEN 'Head of Procurement' WHEN 6 THEN '采购总监' \
WHEN 7 THEN 'Marketing Manager' WHEN 8 THEN 'Project Manager' WHEN 9 THEN 'Team Lead' WHEN 10 THEN '销售经理' \
WHEN 11 THEN 'IT主管' WHEN 12 THEN 'Operations Manager' WHEN 13 THEN 'Engineer' \
WHEN 14 THEN 'Software Engineer' WHEN 15 THEN 'Analyst' WHEN 16 THEN 'Sales Representative' \
WHEN 17 THEN 'Consultant' WHEN 18 THEN 'Purchasing Specialist' WHEN 19 THEN '工程师' \
WHEN 20 THEN '行政助理' WHEN 21 THEN 'Student' ELSE 'Accountant' END || '\",\"budget\":\"' || \
CASE WHEN n % 13 < 4 THEN 'unknown' WHEN n % 13 < 7 THEN '<50k' WHEN n % 13 < 10 THEN '50k-200k' \
WHEN n % 13 < 12 THEN '200k-1m' ELSE '>1m' END || '\",\"authority\":\"' || \
CASE WHEN n % 11 < 2 THEN 'decision_maker' WHEN n % 11 < 5 THEN 'influencer' WHEN n % 11 < 8 THEN 'evaluator' \
ELSE 'user' END || '\",\"timeline\":\"' || \
CASE WHEN n % 7 < 1 THEN 'this_month' WHEN n % 7 < 3 THEN 'this_quarter' WHEN n % 7 < 5 THEN 'this_year' \
ELSE 'exploring' END || '\"' || \
CASE n % 29 WHEN 0 THEN ',\"need\":\"Replace spreadsheets for lead follow-up\"' \
WHEN 1 THEN ',\"need\":\"需要统一管理各渠道线索\"' WHEN 2 THEN ',\"need\":\"Route leads to reps by region\"' \
WHEN 3 THEN ',\"need\":\"Score inbound demo requests\"' WHEN 4 THEN ',\"need\":\"CRM integration, 200 seats\"' \
WHEN 5 THEN ',\"need\":\"Nurture webinar sign-ups\"' WHEN 6 THEN ',\"need\":\"跟进展会收集的名片\"' \
WHEN 7 THEN ',\"need\":\"Evaluate vendors this year\"' WHEN 8 THEN ',\"need\":\"Faster response to hot leads\"' \
ELSE '' END || '}'";

/// Fresh planner statistics after a bulk load; on PostgreSQL also VACUUM, as
/// autovacuum would soon after a load this size (otherwise it runs during
/// the measurement).
pub fn analyze_statement(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "ANALYZE",
        Backend::Postgres => "VACUUM ANALYZE",
    }
}
