//! Statements built at run time and run as a batch.
//!
//! Every statement is a round trip to the database (on SQLite, to sqlx's
//! worker thread for the connection); under load those, not the database,
//! bound intake. So writes are held ([`PendingWrites`]) and sent as one
//! batch, in the shape each backend takes (`sqlite.rs`, `postgres.rs`).

use std::collections::HashSet;

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};

use super::{Backend, StoreError, StoreResult};

/// A value bound to one `$N` parameter.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
}

impl From<&str> for Bind {
    fn from(v: &str) -> Self {
        Bind::Text(Some(v.to_owned()))
    }
}
impl From<String> for Bind {
    fn from(v: String) -> Self {
        Bind::Text(Some(v))
    }
}
impl From<&String> for Bind {
    fn from(v: &String) -> Self {
        Bind::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Bind {
    fn from(v: Option<String>) -> Self {
        Bind::Text(v)
    }
}
impl From<Option<&str>> for Bind {
    fn from(v: Option<&str>) -> Self {
        Bind::Text(v.map(str::to_owned))
    }
}
impl From<i64> for Bind {
    fn from(v: i64) -> Self {
        Bind::Int(v)
    }
}
impl From<Option<i64>> for Bind {
    fn from(v: Option<i64>) -> Self {
        Bind::OptInt(v)
    }
}
impl From<i32> for Bind {
    fn from(v: i32) -> Self {
        Bind::Int(v.into())
    }
}

/// One SQL statement with `$1..$n` parameters and their values.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub sql: String,
    pub binds: Vec<Bind>,
}

impl Statement {
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            binds: Vec::new(),
        }
    }

    pub fn bind(mut self, value: impl Into<Bind>) -> Self {
        self.binds.push(value.into());
        self
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        bind_all(sqlx::query(&self.sql), self.binds.clone())
    }
}

pub(crate) fn bind_all<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    binds: Vec<Bind>,
) -> Query<'q, Any, AnyArguments<'q>> {
    for bind in binds {
        query = match bind {
            Bind::Text(s) => query.bind(s),
            Bind::Int(i) => query.bind(i),
            Bind::OptInt(i) => query.bind(i),
        };
    }
    query
}

/// A statement's placeholders and their values, in the order they appear,
/// in the backend's style (see `Backend::placeholder`).
pub(crate) struct Params {
    backend: Backend,
    pub binds: Vec<Bind>,
}

impl Params {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            binds: Vec::new(),
        }
    }

    /// Adds a value; returns its placeholder.
    pub fn push(&mut self, value: impl Into<Bind>) -> String {
        self.binds.push(value.into());
        self.backend.placeholder(self.binds.len())
    }
}

/// `INSERT ... VALUES (...), (...)` over `rows`, or `None` for no rows.
pub(crate) fn multi_row_insert(
    backend: Backend,
    head: &str,
    rows: impl Iterator<Item = Vec<Bind>>,
    tail: &str,
) -> Option<Statement> {
    let mut sql = String::from(head);
    let mut p = Params::new(backend);
    for (i, row) in rows.enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let placeholders: Vec<String> = row.into_iter().map(|bind| p.push(bind)).collect();
        sql.push('(');
        sql.push_str(&placeholders.join(", "));
        sql.push(')');
    }
    if p.binds.is_empty() {
        return None;
    }
    sql.push_str(tail);
    Some(Statement { sql, binds: p.binds })
}

/// The columns a unit sets on one lead's row, gathered into one update: on
/// PostgreSQL a batch is one statement, in which a row may change only once.
#[derive(Default)]
struct LeadSets(Vec<(&'static str, Bind)>);

impl LeadSets {
    fn set(&mut self, column: &'static str, value: Bind) {
        match self.0.iter_mut().find(|(c, _)| *c == column) {
            Some(slot) => slot.1 = value,
            None => self.0.push((column, value)),
        }
    }

    fn update(self, tenant_id: &str, lead_id: &str) -> Statement {
        let sets: Vec<String> = self
            .0
            .iter()
            .enumerate()
            .map(|(i, (column, _))| format!("{column} = ${}", i + 3))
            .collect();
        let mut statement = Statement::new(format!(
            "UPDATE leads SET {} WHERE tenant_id = $1 AND id = $2",
            sets.join(", ")
        ))
        .bind(tenant_id)
        .bind(lead_id);
        for (_, value) in self.0 {
            statement = statement.bind(value);
        }
        statement
    }
}

/// Writes decided on in a transaction but not sent yet.
///
/// Every statement is a round trip to SQLite's worker thread and back, and
/// the writer's round trips, not SQLite, set the pace of intake. So a unit
/// of work's writes are held here and sent in two batches at its end (in the
/// group commit: at the end of the whole batch of units). A read inside the
/// transaction that could see one of them must [`settle`](Self::settle)
/// first; the unit's reads check [`holds_lead`](Self::holds_lead) and friends
/// themselves.
#[derive(Default)]
pub(crate) struct PendingWrites {
    /// Statements each of which must change exactly one row (fewer means a
    /// concurrent transaction took an identity or a key first).
    exact: Vec<Statement>,
    /// The rest: those with bare `?` parameters, then those with `$N` ones,
    /// the order `sqlite::execute_batch` needs.
    first: Vec<Statement>,
    rest: Vec<Statement>,
    /// Timeline rows (`lead_events`), sent as one insert.
    timeline: Vec<Vec<Bind>>,
    /// Column changes of leads' own rows, one update per lead.
    lead_sets: Vec<((String, String), LeadSets)>,
    /// (tenant, lead) of every lead written.
    leads: HashSet<(String, String)>,
    /// (tenant, kind, value) of every identity claimed.
    identities: HashSet<(String, String, String)>,
    /// (tenant, idempotency key) of every touch.
    keys: HashSet<(String, String)>,
    /// What the dashboard counts of the changes (see `storage::dashboard`).
    dashboard: super::dashboard::PendingCounts,
}

impl PendingWrites {
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
            && self.first.is_empty()
            && self.rest.is_empty()
            && self.timeline.is_empty()
            && self.lead_sets.is_empty()
            && self.dashboard.is_empty()
    }

    pub fn holds_lead(&self, tenant_id: &str, lead_id: &str) -> bool {
        self.leads.contains(&(tenant_id.to_owned(), lead_id.to_owned()))
    }

    pub fn holds_identity(&self, tenant_id: &str, kind: &str, value: &str) -> bool {
        self.identities
            .contains(&(tenant_id.to_owned(), kind.to_owned(), value.to_owned()))
    }

    pub fn holds_key(&self, tenant_id: &str, key: &str) -> bool {
        self.keys.contains(&(tenant_id.to_owned(), key.to_owned()))
    }

    pub fn hold_lead(&mut self, tenant_id: &str, lead_id: &str) {
        self.leads.insert((tenant_id.to_owned(), lead_id.to_owned()));
    }

    pub fn hold_identity(&mut self, tenant_id: &str, kind: &str, value: &str) {
        self.identities
            .insert((tenant_id.to_owned(), kind.to_owned(), value.to_owned()));
    }

    pub fn hold_key(&mut self, tenant_id: &str, key: &str) {
        self.keys.insert((tenant_id.to_owned(), key.to_owned()));
    }

    pub fn add_exact(&mut self, statement: Statement) {
        self.exact.push(statement);
    }

    pub fn add(&mut self, statement: Statement) {
        match statement.sql.contains('?') {
            true => self.first.push(statement),
            false => self.rest.push(statement),
        }
    }

    /// A `lead_events` row: id, tenant_id, lead_id, kind, detail, created_at.
    pub fn add_timeline_row(&mut self, row: Vec<Bind>) {
        self.timeline.push(row);
    }

    pub fn count_for_dashboard(&mut self, tenant_id: &str, lead_id: &str, change: crate::domain::DashboardChange) {
        self.dashboard.push(tenant_id, lead_id, change);
    }

    /// Sets a column of a lead's own row (a later set of the same column wins).
    pub fn set_lead(&mut self, tenant_id: &str, lead_id: &str, column: &'static str, value: Bind) {
        let key = (tenant_id.to_owned(), lead_id.to_owned());
        match self.lead_sets.iter_mut().find(|(k, _)| *k == key) {
            Some((_, sets)) => sets.set(column, value),
            None => {
                let mut sets = LeadSets::default();
                sets.set(column, value);
                self.lead_sets.push((key, sets));
            }
        }
        self.hold_lead(tenant_id, lead_id);
    }

    /// Sends everything held; `false` when a statement that had to change
    /// one row changed none (a concurrent transaction won a race: roll back
    /// and retry).
    pub async fn flush(&mut self, backend: Backend, conn: &mut AnyConnection) -> StoreResult<bool> {
        let exact = std::mem::take(&mut self.exact);
        let timeline = multi_row_insert(
            backend,
            "INSERT INTO lead_events (id, tenant_id, lead_id, kind, detail, created_at) VALUES ",
            std::mem::take(&mut self.timeline).into_iter(),
            "",
        );
        let mut statements: Vec<Statement> = timeline.into_iter().collect();
        statements.append(&mut self.first);
        statements.append(&mut self.rest);
        statements.extend(
            std::mem::take(&mut self.lead_sets)
                .into_iter()
                .map(|((tenant, lead), sets)| sets.update(&tenant, &lead)),
        );
        self.leads.clear();
        self.identities.clear();
        self.keys.clear();
        if !exact.is_empty() && backend.execute_batch(conn, &exact).await? < exact.len() as u64 {
            return Ok(false);
        }
        // After `exact` (a new lead's row exists); bare `?` parameters on
        // SQLite, so they go before the `$N` statements.
        let counted = self.dashboard.statements(backend, conn).await?;
        statements.splice(0..0, counted);
        if !statements.is_empty() {
            backend.execute_batch(conn, &statements).await?;
        }
        Ok(true)
    }

    /// Sends everything held where no other writer can race (SQLite's one
    /// writer, or rows this transaction holds locked): a lost race would
    /// mean the data changed under us.
    pub async fn settle(&mut self, backend: Backend, conn: &mut AnyConnection) -> StoreResult<()> {
        match self.is_empty() || self.flush(backend, conn).await? {
            true => Ok(()),
            false => Err(StoreError::Raced),
        }
    }
}

/// `$1` becomes `$(1 + offset)`.
pub(crate) fn shift_parameters(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' {
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            match digits.parse::<usize>() {
                Ok(n) => out.push_str(&(n + offset).to_string()),
                Err(_) => out.push_str(&digits),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_shift_by_the_offset() {
        assert_eq!(
            shift_parameters("VALUES ($1, $2, $12, $2)", 3),
            "VALUES ($4, $5, $15, $5)"
        );
        assert_eq!(shift_parameters("SELECT 1", 9), "SELECT 1");
    }
}
