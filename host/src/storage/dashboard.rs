//! The dashboard's rollups: written with the change that moves them, read
//! summed by day.
//!
//! A unit records what happened to a lead ([`Unit::count_for_dashboard`],
//! a `DashboardChange`); the counts are held with the unit's other writes
//! ([`PendingCounts`]) and worked out when they are sent: the facts of the
//! leads concerned are read (one query for the batch; held on PostgreSQL,
//! though every change to a lead is made under its lead's row lock anyway),
//! the changes applied in order, and each lead's rollup row moved by the
//! difference between what its facts counted before and after. The rollup
//! rows are then written as one upsert per table, every row once and in key
//! order (PostgreSQL allows a row to change once per statement, and a
//! fixed order keeps two transactions from deadlocking on shared days), as
//! part of the unit's last batch, so a hot row is held only for the commit.
//!
//! [`TenantStore::rebuild_dashboard`] counts a tenant's rows again from the
//! source tables (`leadhost dashboard rebuild`), applying the same changes
//! to each lead's history ([`LeadHistory`]) and writing through the same
//! statements.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::batch::{Bind, Params, Statement, bind_all};
use super::unit::Unit;
use super::{Backend, StoreResult, TenantStore, word};
use crate::clock::Timestamp;
use crate::domain::{
    ActivityCounts, ActivityKey, COUNTERS, Counts, DashboardChange, FirstTouch, LeadFacts, LeadHistory, RollupKey,
    activity_index,
};

/// Rows per multi-row statement: under both backends' parameter limits.
const ROWS_PER_STATEMENT: usize = 300;

/// The dimension columns of a rollup row, after `tenant_id`.
const KEY_COLUMNS: [&str; 7] = ["day", "source", "campaign", "form_id", "channel", "owner_id", "shard"];

/// The columns of `dashboard_leads`, in the order [`facts_row`] binds them.
const FACT_COLUMNS: [&str; 29] = [
    "lead_id",
    "tenant_id",
    "day",
    "source",
    "campaign",
    "form_id",
    "channel",
    "owner_id",
    "shard",
    "created_at",
    "stage",
    "stage_since",
    "level",
    "lost",
    "disqualified",
    "tier",
    "deal_value",
    "won_at",
    "new_secs",
    "new_stays",
    "mql_secs",
    "mql_stays",
    "sql_secs",
    "sql_stays",
    "opportunity_secs",
    "opportunity_stays",
    "sla_due",
    "first_touch",
    "breaches",
];

/// An activity rollup's counter column for each kind, in `ActivityKind::ALL` order.
pub const ACTIVITY_COLUMNS: [&str; 5] = ["calls", "emails", "meetings", "messages", "notes"];

/// PostgreSQL: the advisory lock (this class, the tenant id's hash) that
/// keeps a tenant's counting and a rebuild of its rows apart. Counting
/// holds it shared from its first read of the rows to its commit, a
/// rebuild alone; on SQLite the one writer does the same.
const COUNTING_LOCK: &str = "17, hashtext($1)";

/// Leads a rebuild reads and writes at a time.
const REBUILD_PAGE: usize = 1000;

/// Changes held until the unit's writes are sent.
#[derive(Default)]
pub(crate) struct PendingCounts {
    /// (tenant, lead, change), in the order they were made.
    changes: Vec<(String, String, DashboardChange)>,
}

impl PendingCounts {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn push(&mut self, tenant_id: &str, lead_id: &str, change: DashboardChange) {
        self.changes.push((tenant_id.to_owned(), lead_id.to_owned(), change));
    }

    /// Reads what the held changes need and turns them into the writes
    /// that record them (facts, rollups, activities); nothing is held after.
    pub async fn statements(&mut self, backend: Backend, conn: &mut AnyConnection) -> StoreResult<Vec<Statement>> {
        let changes = std::mem::take(&mut self.changes);
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        // Before the facts are read: a rebuild of the tenant waits for this
        // transaction, or this one for the rebuild (and then reads its facts).
        if backend == Backend::Postgres {
            let mut tenants: Vec<&str> = changes.iter().map(|(t, _, _)| t.as_str()).collect();
            tenants.sort_unstable();
            tenants.dedup();
            for tenant in tenants {
                sqlx::query(&format!("SELECT pg_advisory_xact_lock_shared({COUNTING_LOCK})"))
                    .bind(tenant)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        let zones = time_zones(backend, conn, &changes).await?;
        let day_of = |tenant: &str, at: Timestamp| day_in(zones.get(tenant), at);
        // Facts of leads made in this batch start here; the others are read.
        let made: HashSet<&str> = changes
            .iter()
            .filter(|(_, _, change)| matches!(change, DashboardChange::Created { .. }))
            .map(|(_, lead, _)| lead.as_str())
            .collect();
        let to_read: Vec<&str> = {
            let mut ids: Vec<&str> = changes
                .iter()
                .map(|(_, lead, _)| lead.as_str())
                .filter(|lead| !made.contains(*lead))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let mut leads: BTreeMap<String, Tracked> = BTreeMap::new();
        for facts in read_facts(backend, conn, &to_read).await? {
            leads.insert(
                facts.1.lead_id.clone(),
                Tracked {
                    tenant_id: facts.0,
                    before: Some(facts.1.clone()),
                    now: Some(facts.1),
                },
            );
        }
        let mut activity: BTreeMap<(String, ActivityKey), ActivityCounts> = BTreeMap::new();
        for (tenant, lead_id, change) in &changes {
            if let DashboardChange::Created { created_at, .. } = change {
                let facts = LeadFacts::new(lead_id, day_of(tenant, *created_at), change);
                leads.insert(
                    lead_id.clone(),
                    Tracked {
                        tenant_id: tenant.clone(),
                        before: None,
                        now: facts,
                    },
                );
                continue;
            }
            // A lead without facts (or another tenant's id) has nothing to count.
            let Some(facts) = leads
                .get_mut(lead_id)
                .filter(|t| t.tenant_id == *tenant)
                .and_then(|t| t.now.as_mut())
            else {
                tracing::debug!(%tenant, lead = %lead_id, "no dashboard facts for the lead; not counted");
                continue;
            };
            if let DashboardChange::Activity { user_id, kind, at } = change {
                let key = ActivityKey {
                    day: day_of(tenant, *at),
                    user_id: user_id.clone(),
                    source: facts.key.source.clone(),
                    campaign: facts.key.campaign.clone(),
                    form_id: facts.key.form_id.clone(),
                };
                activity.entry((tenant.clone(), key)).or_default()[activity_index(*kind)] += 1;
                continue;
            }
            facts.apply(change);
        }
        // Each changed lead moves its rollup row(s) by the difference.
        let mut rollups: BTreeMap<(String, RollupKey), Counts> = BTreeMap::new();
        let mut changed_facts = Vec::new();
        for tracked in leads.into_values() {
            let Some(now) = tracked.now else { continue };
            if tracked.before.as_ref() == Some(&now) {
                continue;
            }
            if let Some(before) = &tracked.before {
                let row = rollups
                    .entry((tracked.tenant_id.clone(), before.key.clone()))
                    .or_insert([0; COUNTERS.len()]);
                for (sum, c) in row.iter_mut().zip(before.counts()) {
                    *sum -= c;
                }
            }
            let row = rollups
                .entry((tracked.tenant_id.clone(), now.key.clone()))
                .or_insert([0; COUNTERS.len()]);
            for (sum, c) in row.iter_mut().zip(now.counts()) {
                *sum += c;
            }
            changed_facts.push(facts_row(&tracked.tenant_id, &now));
        }
        rollups.retain(|_, counts| counts.iter().any(|c| *c != 0));
        let mut statements = facts_statements(backend, changed_facts);
        statements.extend(rollup_statements(backend, rollups));
        statements.extend(activity_statements(backend, activity));
        Ok(statements)
    }
}

/// Each lead's `dashboard_leads` row written as given.
fn facts_statements(backend: Backend, rows: Vec<Vec<Bind>>) -> Vec<Statement> {
    upserts(
        backend,
        "dashboard_leads",
        &FACT_COLUMNS,
        "lead_id",
        &FACT_COLUMNS[2..],
        false,
        rows,
    )
}

/// `dashboard_days` rows moved by these counts (by tenant and key).
fn rollup_statements(backend: Backend, rollups: BTreeMap<(String, RollupKey), Counts>) -> Vec<Statement> {
    let columns: Vec<&str> = ["tenant_id"].into_iter().chain(KEY_COLUMNS).chain(COUNTERS).collect();
    let rows = rollups.into_iter().map(|((tenant, key), counts)| {
        let mut row: Vec<Bind> = vec![
            tenant.into(),
            key.day.into(),
            key.source.into(),
            key.campaign.into(),
            key.form_id.into(),
            key.channel.into(),
            key.owner_id.into(),
            Bind::Int(key.shard),
        ];
        row.extend(counts.into_iter().map(Bind::Int));
        row
    });
    upserts(
        backend,
        "dashboard_days",
        &columns,
        "tenant_id, day, source, campaign, form_id, channel, owner_id, shard",
        &COUNTERS,
        true,
        rows.collect(),
    )
}

/// `dashboard_activity_days` rows moved by these counts (by tenant and key).
fn activity_statements(backend: Backend, activity: BTreeMap<(String, ActivityKey), ActivityCounts>) -> Vec<Statement> {
    let columns: Vec<&str> = ["tenant_id", "day", "user_id", "source", "campaign", "form_id"]
        .into_iter()
        .chain(ACTIVITY_COLUMNS)
        .collect();
    let rows = activity.into_iter().map(|((tenant, key), counts)| {
        let mut row: Vec<Bind> = vec![
            tenant.into(),
            key.day.into(),
            key.user_id.into(),
            key.source.into(),
            key.campaign.into(),
            key.form_id.into(),
        ];
        row.extend(counts.into_iter().map(Bind::Int));
        row
    });
    upserts(
        backend,
        "dashboard_activity_days",
        &columns,
        "tenant_id, day, user_id, source, campaign, form_id",
        &ACTIVITY_COLUMNS,
        true,
        rows.collect(),
    )
}

/// A lead's facts as read (`before`) and as the changes leave them (`now`).
struct Tracked {
    tenant_id: String,
    before: Option<LeadFacts>,
    now: Option<LeadFacts>,
}

/// The time zone of each tenant whose changes need a day.
async fn time_zones(
    backend: Backend,
    conn: &mut AnyConnection,
    changes: &[(String, String, DashboardChange)],
) -> StoreResult<HashMap<String, jiff::tz::TimeZone>> {
    let mut tenants: Vec<&str> = changes
        .iter()
        .filter(|(_, _, c)| matches!(c, DashboardChange::Created { .. } | DashboardChange::Activity { .. }))
        .map(|(t, _, _)| t.as_str())
        .collect();
    tenants.sort_unstable();
    tenants.dedup();
    if tenants.is_empty() {
        return Ok(HashMap::new());
    }
    let mut p = Params::new(backend);
    let list: Vec<String> = tenants.iter().map(|t| p.push(*t)).collect();
    let sql = format!("SELECT id, time_zone FROM tenants WHERE id IN ({})", list.join(", "));
    let rows = bind_all(sqlx::query(&sql), p.binds).fetch_all(&mut *conn).await?;
    let mut zones = HashMap::new();
    for row in rows {
        let name: String = row.try_get("time_zone")?;
        zones.insert(row.try_get("id")?, zone_named(&name));
    }
    Ok(zones)
}

/// A tenant's time zone by its name (UTC for a name not known).
fn zone_named(name: &str) -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// `YYYY-MM-DD` of an instant in a time zone (UTC when it has none).
pub fn day_in(zone: Option<&jiff::tz::TimeZone>, at: Timestamp) -> String {
    let instant = jiff::Timestamp::from_microsecond(at.micros()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    instant
        .to_zoned(zone.cloned().unwrap_or(jiff::tz::TimeZone::UTC))
        .date()
        .to_string()
}

/// The stored facts of these leads, with their tenant; held until the
/// transaction ends on PostgreSQL.
async fn read_facts(
    backend: Backend,
    conn: &mut AnyConnection,
    lead_ids: &[&str],
) -> StoreResult<Vec<(String, LeadFacts)>> {
    let mut out = Vec::with_capacity(lead_ids.len());
    for chunk in lead_ids.chunks(ROWS_PER_STATEMENT) {
        let mut p = Params::new(backend);
        let ids: Vec<String> = chunk.iter().map(|id| p.push(*id)).collect();
        let sql = format!(
            "SELECT {} FROM dashboard_leads WHERE lead_id IN ({}) ORDER BY lead_id{}",
            FACT_COLUMNS.join(", "),
            ids.join(", "),
            backend.lock_rows()
        );
        for row in bind_all(sqlx::query(&sql), p.binds).fetch_all(&mut *conn).await? {
            out.push((row.try_get("tenant_id")?, facts_from_row(&row)?));
        }
    }
    Ok(out)
}

fn facts_from_row(row: &AnyRow) -> StoreResult<LeadFacts> {
    let int = |column: &str| -> StoreResult<i64> { Ok(row.try_get::<i64, _>(column)?) };
    let pair = |stage: &str| -> StoreResult<(i64, i64)> {
        Ok((int(&format!("{stage}_secs"))?, int(&format!("{stage}_stays"))?))
    };
    let stays = [pair("new")?, pair("mql")?, pair("sql")?, pair("opportunity")?];
    Ok(LeadFacts {
        lead_id: row.try_get("lead_id")?,
        key: RollupKey {
            day: row.try_get("day")?,
            source: row.try_get("source")?,
            campaign: row.try_get("campaign")?,
            form_id: row.try_get("form_id")?,
            channel: row.try_get("channel")?,
            owner_id: row.try_get("owner_id")?,
            shard: int("shard")?,
        },
        created_at: Timestamp(int("created_at")?),
        stage: word(row, "stage")?,
        stage_since: Timestamp(int("stage_since")?),
        level: int("level")?.clamp(0, 4) as u8,
        lost: int("lost")? != 0,
        disqualified: int("disqualified")? != 0,
        tier: word(row, "tier")?,
        deal_value: int("deal_value")?,
        won_at: row.try_get::<Option<i64>, _>("won_at")?.map(Timestamp),
        stage_secs: stays.map(|(secs, _)| secs),
        stage_stays: stays.map(|(_, n)| n),
        sla_due: int("sla_due")? != 0,
        first_touch: FirstTouch::from_code(int("first_touch")?),
        breaches: int("breaches")?,
    })
}

/// A `dashboard_leads` row, in [`FACT_COLUMNS`] order.
fn facts_row(tenant_id: &str, f: &LeadFacts) -> Vec<Bind> {
    let mut row: Vec<Bind> = vec![
        f.lead_id.as_str().into(),
        tenant_id.into(),
        f.key.day.as_str().into(),
        f.key.source.as_str().into(),
        f.key.campaign.as_str().into(),
        f.key.form_id.as_str().into(),
        f.key.channel.as_str().into(),
        f.key.owner_id.as_str().into(),
        Bind::Int(f.key.shard),
        Bind::Int(f.created_at.micros()),
        f.stage.as_str().into(),
        Bind::Int(f.stage_since.micros()),
        Bind::Int(f.level.into()),
        Bind::Int(f.lost.into()),
        Bind::Int(f.disqualified.into()),
        f.tier.as_str().into(),
        Bind::Int(f.deal_value),
        Bind::OptInt(f.won_at.map(Timestamp::micros)),
    ];
    for i in 0..4 {
        row.push(Bind::Int(f.stage_secs[i]));
        row.push(Bind::Int(f.stage_stays[i]));
    }
    row.push(Bind::Int(f.sla_due.into()));
    row.push(Bind::Int(f.first_touch as i64));
    row.push(Bind::Int(f.breaches));
    row
}

/// Multi-row upserts of `rows` into `table`: on a conflict on `key`, the
/// `set` columns take the new values, or (`add`) grow by them.
fn upserts(
    backend: Backend,
    table: &str,
    columns: &[&str],
    key: &str,
    set: &[&str],
    add: bool,
    rows: Vec<Vec<Bind>>,
) -> Vec<Statement> {
    let sets: Vec<String> = set
        .iter()
        .map(|c| match add {
            true => format!("{c} = {table}.{c} + excluded.{c}"),
            false => format!("{c} = excluded.{c}"),
        })
        .collect();
    let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let tail = format!(" ON CONFLICT ({key}) DO UPDATE SET {}", sets.join(", "));
    let mut rows = rows.into_iter().peekable();
    let mut statements = Vec::new();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Bind>> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
        if let Some(statement) = super::batch::multi_row_insert(backend, &head, chunk.into_iter(), &tail) {
            statements.push(statement);
        }
    }
    statements
}

impl Unit<'_> {
    /// Counts a change to the lead on the dashboard, with the unit's writes.
    pub fn count_for_dashboard(&mut self, lead_id: &str, change: DashboardChange) {
        self.pending.count_for_dashboard(self.tenant_id, lead_id, change);
    }
}

/// What the dashboard reads: the rollups of one tenant, summed over a range
/// of days and the filters, grouped by the dimensions the views show.
#[derive(Debug, Clone, Default)]
pub struct RollupFilter {
    /// Inclusive, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    /// Only rows of these owners (activity: of these users); `None`: all.
    pub owners: Option<Vec<String>>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub form_id: Option<String>,
}

/// Rollup sums for one (source, campaign, channel, owner).
#[derive(Debug, Clone)]
pub struct RollupSums {
    pub source: String,
    pub campaign: String,
    pub channel: String,
    pub owner_id: String,
    pub counts: Counts,
}

/// Activity sums for one user.
#[derive(Debug, Clone)]
pub struct ActivitySums {
    pub user_id: String,
    pub counts: ActivityCounts,
}

impl TenantStore<'_> {
    /// The rollups in the filter's range, summed per (source, campaign,
    /// channel, owner).
    pub async fn dashboard_sums(&self, filter: &RollupFilter) -> StoreResult<Vec<RollupSums>> {
        let mut p = Params::new(self.store.backend);
        let conditions = self.conditions(&mut p, filter, "owner_id");
        let sums: Vec<String> = COUNTERS
            .iter()
            .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
            .collect();
        let sql = format!(
            "SELECT source, campaign, channel, owner_id, {} FROM dashboard_days WHERE {} \
             GROUP BY source, campaign, channel, owner_id",
            sums.join(", "),
            conditions
        );
        let rows = bind_all(sqlx::query(&sql), p.binds).fetch_all(&self.store.read).await?;
        rows.iter()
            .map(|row| {
                let mut counts = [0; COUNTERS.len()];
                for (i, c) in COUNTERS.iter().enumerate() {
                    counts[i] = row.try_get::<Option<i64>, _>(*c)?.unwrap_or(0);
                }
                Ok(RollupSums {
                    source: row.try_get("source")?,
                    campaign: row.try_get("campaign")?,
                    channel: row.try_get("channel")?,
                    owner_id: row.try_get("owner_id")?,
                    counts,
                })
            })
            .collect()
    }

    /// Activities logged in the filter's range, summed per user.
    pub async fn dashboard_activity(&self, filter: &RollupFilter) -> StoreResult<Vec<ActivitySums>> {
        let mut p = Params::new(self.store.backend);
        let conditions = self.conditions(&mut p, filter, "user_id");
        let sums: Vec<String> = ACTIVITY_COLUMNS
            .iter()
            .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
            .collect();
        let sql = format!(
            "SELECT user_id, {} FROM dashboard_activity_days WHERE {} GROUP BY user_id",
            sums.join(", "),
            conditions
        );
        let rows = bind_all(sqlx::query(&sql), p.binds).fetch_all(&self.store.read).await?;
        rows.iter()
            .map(|row| {
                let mut counts = [0; ACTIVITY_COLUMNS.len()];
                for (i, c) in ACTIVITY_COLUMNS.iter().enumerate() {
                    counts[i] = row.try_get::<Option<i64>, _>(*c)?.unwrap_or(0);
                }
                Ok(ActivitySums {
                    user_id: row.try_get("user_id")?,
                    counts,
                })
            })
            .collect()
    }

    /// The WHERE clause of a rollup read (tenant first, then the day range:
    /// the primary key's order).
    fn conditions(&self, p: &mut Params, filter: &RollupFilter, who: &str) -> String {
        let mut sql = format!(
            "tenant_id = {} AND day >= {} AND day <= {}",
            p.push(&self.tenant_id),
            p.push(&filter.from),
            p.push(&filter.to)
        );
        if let Some(owners) = &filter.owners {
            if owners.is_empty() {
                sql.push_str(" AND 1 = 0");
            } else {
                let list: Vec<String> = owners.iter().map(|o| p.push(o)).collect();
                sql.push_str(&format!(" AND {who} IN ({})", list.join(", ")));
            }
        }
        for (column, value) in [
            ("source", &filter.source),
            ("campaign", &filter.campaign),
            ("form_id", &filter.form_id),
        ] {
            if let Some(value) = value {
                sql.push_str(&format!(" AND {column} = {}", p.push(value)));
            }
        }
        sql
    }

    /// The ids of the members of a team (by its name); `None` when there is
    /// no such team.
    pub async fn team_member_ids(&self, team: &str) -> StoreResult<Option<Vec<String>>> {
        let exists = sqlx::query("SELECT id FROM teams WHERE tenant_id = $1 AND name = $2")
            .bind(&self.tenant_id)
            .bind(team)
            .fetch_optional(&self.store.read)
            .await?;
        let Some(row) = exists else { return Ok(None) };
        let team_id: String = row.try_get("id")?;
        let rows =
            sqlx::query("SELECT user_id FROM team_members WHERE tenant_id = $1 AND team_id = $2 ORDER BY user_id")
                .bind(&self.tenant_id)
                .bind(&team_id)
                .fetch_all(&self.store.read)
                .await?;
        Ok(Some(
            rows.iter().map(|r| r.try_get("user_id")).collect::<Result<_, _>>()?,
        ))
    }

    /// The names of the teams a user manages.
    pub async fn teams_managed_by(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT name FROM teams WHERE tenant_id = $1 AND manager_id = $2 ORDER BY name")
            .bind(&self.tenant_id)
            .bind(user_id)
            .fetch_all(&self.store.read)
            .await?;
        Ok(rows.iter().map(|r| r.try_get("name")).collect::<Result<_, _>>()?)
    }

    /// Each user's id and email (for naming reps on the dashboard).
    pub async fn user_emails(&self) -> StoreResult<HashMap<String, String>> {
        let rows = sqlx::query("SELECT id, email FROM users WHERE tenant_id = $1")
            .bind(&self.tenant_id)
            .fetch_all(&self.store.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("email")?)))
            .collect()
    }
}

/// What a rebuild counted for one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuiltDashboard {
    /// The time zone the days were counted in.
    pub time_zone: String,
    pub leads: u64,
    /// Leads whose stored facts differed from those counted (their day in
    /// another zone, a change not counted, ...).
    pub changed: u64,
    pub activities: u64,
}

impl TenantStore<'_> {
    /// Counts the tenant's dashboard again from the source tables, in one
    /// transaction: each lead's facts from its history ([`LeadHistory`]:
    /// the same changes the live counting applies, read from `leads`, the
    /// first touch, `lead_stages` and the `sla_breached` timeline entries,
    /// as migration 0017's backfill reads them), its day in the tenant's
    /// time zone now; the rollup rows summed from those facts; activities
    /// by their day. The first-touch SLA carries over from the stored facts
    /// (nothing else keeps the deadline that stood at a first touch).
    ///
    /// Safe beside a running server: the tenant's counting waits for it
    /// (the advisory lock on PostgreSQL; on SQLite every write, behind the
    /// one writer), then moves the rebuilt rows by its own changes, which
    /// the rebuild did not see. So a large tenant's changes wait as long as
    /// it runs.
    pub async fn rebuild_dashboard(&self) -> StoreResult<RebuiltDashboard> {
        let backend = self.store.backend;
        let tenant = self.tenant_id.as_str();
        let mut tx = self.store.begin_write().await?;
        if backend == Backend::Postgres {
            sqlx::query(&format!("SELECT pg_advisory_xact_lock({COUNTING_LOCK})"))
                .bind(tenant)
                .execute(&mut *tx)
                .await?;
        }
        let time_zone: String = sqlx::query("SELECT time_zone FROM tenants WHERE id = $1")
            .bind(tenant)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(super::StoreError::NotFound)?
            .try_get("time_zone")?;
        let zone = zone_named(&time_zone);
        for table in ["dashboard_days", "dashboard_activity_days"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1"))
                .bind(tenant)
                .execute(&mut *tx)
                .await?;
        }
        let mut report = RebuiltDashboard {
            time_zone,
            ..Default::default()
        };
        let mut rollups: BTreeMap<(String, RollupKey), Counts> = BTreeMap::new();
        let mut activity: BTreeMap<(String, ActivityKey), ActivityCounts> = BTreeMap::new();
        let mut after = String::new();
        loop {
            let mut histories = lead_histories(&mut tx, tenant, &after).await?;
            let (Some(first), Some(last)) = (histories.first(), histories.last()) else {
                break;
            };
            let (first, last) = (first.lead_id.clone(), last.lead_id.clone());
            let ids: Vec<&str> = histories.iter().map(|h| h.lead_id.as_str()).collect();
            let stored: HashMap<String, LeadFacts> = read_facts(backend, &mut tx, &ids)
                .await?
                .into_iter()
                .filter(|(t, _)| t == tenant)
                .map(|(_, facts)| (facts.lead_id.clone(), facts))
                .collect();
            let mut page_facts = HashMap::with_capacity(histories.len());
            let mut fact_rows = Vec::with_capacity(histories.len());
            for history in &mut histories {
                let stored = stored.get(&history.lead_id);
                if let Some(stored) = stored {
                    history.sla_due = stored.sla_due;
                    history.first_touch = stored.first_touch;
                }
                let facts = history.facts(day_in(Some(&zone), history.created_at));
                report.leads += 1;
                report.changed += u64::from(stored != Some(&facts));
                let row = rollups
                    .entry((tenant.to_owned(), facts.key.clone()))
                    .or_insert([0; COUNTERS.len()]);
                for (sum, c) in row.iter_mut().zip(facts.counts()) {
                    *sum += c;
                }
                fact_rows.push(facts_row(tenant, &facts));
                page_facts.insert(facts.lead_id.clone(), facts);
            }
            for statement in facts_statements(backend, fact_rows) {
                statement.query().execute(&mut *tx).await?;
            }
            let logged = sqlx::query(
                "SELECT lead_id, user_id, kind, created_at FROM activities \
                 WHERE tenant_id = $1 AND lead_id >= $2 AND lead_id <= $3",
            )
            .bind(tenant)
            .bind(&first)
            .bind(&last)
            .fetch_all(&mut *tx)
            .await?;
            for row in &logged {
                let lead_id: String = row.try_get("lead_id")?;
                let Some(facts) = page_facts.get(&lead_id) else {
                    continue;
                };
                let key = ActivityKey {
                    day: day_in(Some(&zone), Timestamp(row.try_get("created_at")?)),
                    user_id: row.try_get("user_id")?,
                    source: facts.key.source.clone(),
                    campaign: facts.key.campaign.clone(),
                    form_id: facts.key.form_id.clone(),
                };
                activity.entry((tenant.to_owned(), key)).or_default()[activity_index(word(row, "kind")?)] += 1;
                report.activities += 1;
            }
            after = last;
        }
        for statement in rollup_statements(backend, rollups)
            .into_iter()
            .chain(activity_statements(backend, activity))
        {
            statement.query().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(report)
    }
}

/// The next page of the tenant's leads after `after` (by id), as the
/// source tables keep them; the SLA as not counted yet.
async fn lead_histories(conn: &mut AnyConnection, tenant: &str, after: &str) -> StoreResult<Vec<LeadHistory>> {
    let leads = sqlx::query(&format!(
        "SELECT l.id, l.created_at, l.source, l.form_id, l.channel, l.owner_id, l.stage, l.stage_entered_at, \
           l.tier, l.deal_value, \
           COALESCE((SELECT tc.utm_campaign FROM touches tc WHERE tc.tenant_id = l.tenant_id AND tc.lead_id = l.id \
                     ORDER BY tc.created_at, tc.id LIMIT 1), '') AS campaign \
         FROM leads l WHERE l.tenant_id = $1 AND l.id > $2 ORDER BY l.id LIMIT {REBUILD_PAGE}"
    ))
    .bind(tenant)
    .bind(after)
    .fetch_all(&mut *conn)
    .await?;
    let mut histories = leads
        .iter()
        .map(|row| {
            Ok(LeadHistory {
                lead_id: row.try_get("id")?,
                created_at: Timestamp(row.try_get("created_at")?),
                source: row.try_get("source")?,
                campaign: row.try_get("campaign")?,
                form_id: row.try_get("form_id")?,
                channel: row.try_get("channel")?,
                stages: Vec::new(),
                stage: word(row, "stage")?,
                stage_entered_at: row.try_get::<Option<i64>, _>("stage_entered_at")?.map(Timestamp),
                tier: word(row, "tier")?,
                owner: row.try_get("owner_id")?,
                deal_value: row.try_get("deal_value")?,
                breaches: 0,
                sla_due: false,
                first_touch: FirstTouch::None,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let (Some(first), Some(last)) = (histories.first(), histories.last()) else {
        return Ok(histories);
    };
    let (first, last) = (first.lead_id.clone(), last.lead_id.clone());
    let at: HashMap<String, usize> = histories
        .iter()
        .enumerate()
        .map(|(i, h)| (h.lead_id.clone(), i))
        .collect();
    // The page's leads are the tenant's between its first and last id.
    let stages = sqlx::query(
        "SELECT lead_id, stage, entered_at FROM lead_stages \
         WHERE tenant_id = $1 AND lead_id >= $2 AND lead_id <= $3 ORDER BY lead_id, entered_at, id",
    )
    .bind(tenant)
    .bind(&first)
    .bind(&last)
    .fetch_all(&mut *conn)
    .await?;
    for row in &stages {
        if let Some(&i) = at.get(&row.try_get::<String, _>("lead_id")?) {
            histories[i]
                .stages
                .push((word(row, "stage")?, Timestamp(row.try_get("entered_at")?)));
        }
    }
    let breaches = sqlx::query(
        "SELECT lead_id, COUNT(*) AS breaches FROM lead_events \
         WHERE tenant_id = $1 AND lead_id >= $2 AND lead_id <= $3 AND kind = 'sla_breached' GROUP BY lead_id",
    )
    .bind(tenant)
    .bind(&first)
    .bind(&last)
    .fetch_all(&mut *conn)
    .await?;
    for row in &breaches {
        if let Some(&i) = at.get(&row.try_get::<String, _>("lead_id")?) {
            histories[i].breaches = row.try_get("breaches")?;
        }
    }
    Ok(histories)
}
