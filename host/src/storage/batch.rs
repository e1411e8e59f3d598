//! Statements built at run time and run as a batch.
//!
//! sqlx's SQLite driver runs each statement on the connection's worker
//! thread, so every statement costs a round trip (two context switches);
//! under load those, not SQLite, bound intake. On SQLite a batch is therefore
//! sent as one multi-statement query (its `$N` parameters renumbered to be
//! absolute, as the driver binds them). PostgreSQL's extended protocol takes
//! one statement at a time, so there a batch becomes one statement of
//! data-modifying CTEs.

use std::collections::HashSet;

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Transaction};

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

/// Runs the statements in order; returns the rows they changed, in total.
pub(crate) async fn execute_all(
    backend: Backend,
    tx: &mut Transaction<'_, Any>,
    statements: &[Statement],
) -> StoreResult<u64> {
    match backend {
        Backend::Sqlite => {
            // The driver numbers bare `?` parameters from the count of bare
            // ones before them, so those statements must come before any with
            // `$N` ones.
            debug_assert!(
                !statements
                    .iter()
                    .skip_while(|s| !s.sql.contains('$'))
                    .any(|s| s.sql.contains('?')),
                "a statement with `?` parameters follows one with `$N` ones"
            );
            let mut sql = String::new();
            let mut binds = Vec::new();
            for statement in statements {
                sql.push_str(&shift_parameters(&statement.sql, binds.len()));
                sql.push_str(";\n");
                binds.extend(statement.binds.iter().cloned());
            }
            Ok(bind_all(sqlx::query(&sql), binds)
                .execute(&mut **tx)
                .await?
                .rows_affected())
        }
        Backend::Postgres if statements.len() > 1 => {
            // One round trip: each statement becomes a data-modifying CTE
            // (all share one snapshot; foreign keys are checked at the end
            // of the statement), and the rows they changed are counted.
            let mut sql = String::from("WITH ");
            let mut binds = Vec::new();
            for (i, statement) in statements.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "s{i} AS ({} RETURNING 1)",
                    shift_parameters(&statement.sql, binds.len())
                ));
                binds.extend(statement.binds.iter().cloned());
            }
            let counts: Vec<String> = (0..statements.len())
                .map(|i| format!("(SELECT COUNT(*) FROM s{i})"))
                .collect();
            sql.push_str(&format!(" SELECT {} AS changed", counts.join(" + ")));
            let row = bind_all(sqlx::query(&sql), binds).fetch_one(&mut **tx).await?;
            Ok(sqlx::Row::try_get::<i64, _>(&row, "changed")?.max(0) as u64)
        }
        Backend::Postgres => {
            let mut changed = 0;
            for statement in statements {
                changed += statement.query().execute(&mut **tx).await?.rows_affected();
            }
            Ok(changed)
        }
    }
}

/// Writes decided on in a transaction but not sent yet.
///
/// Every statement is a round trip to SQLite's worker thread and back, and
/// the writer's round trips, not SQLite, set the pace of intake. So the group
/// commit collects the writes of its whole batch here and sends them in two
/// batches at its end (see `group_commit`). A read inside the transaction
/// that could see one of them must [`settle`](Self::settle) first: the
/// caller checks [`holds_lead`](Self::holds_lead) and friends. Outside the
/// group commit each write flushes its own at once.
#[derive(Default)]
pub(crate) struct PendingWrites {
    /// Intake's statements, each of which must change exactly one row
    /// (fewer means a concurrent transaction took an identity or a key).
    intake: Vec<Statement>,
    /// Finished steps' statements with bare `?` parameters, then the rest:
    /// the order `execute_all` needs. A step's statements are already in
    /// that order, and steps of different leads do not depend on each other.
    steps_first: Vec<Statement>,
    steps_rest: Vec<Statement>,
    /// (tenant, lead) of every lead written.
    leads: HashSet<(String, String)>,
    /// (tenant, kind, value) of every identity claimed.
    identities: HashSet<(String, String, String)>,
    /// (tenant, idempotency key) of every touch.
    keys: HashSet<(String, String)>,
}

impl PendingWrites {
    pub fn is_empty(&self) -> bool {
        self.intake.is_empty() && self.steps_first.is_empty() && self.steps_rest.is_empty()
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

    /// A submission's writes: its lead's, the identities it claims and its
    /// idempotency key.
    pub fn add_intake<'a>(
        &mut self,
        tenant_id: &str,
        lead_id: &str,
        statements: Vec<Statement>,
        identities: impl IntoIterator<Item = (&'a str, &'a str)>,
        key: Option<&str>,
    ) {
        self.leads.insert((tenant_id.to_owned(), lead_id.to_owned()));
        for (kind, value) in identities {
            self.identities
                .insert((tenant_id.to_owned(), kind.to_owned(), value.to_owned()));
        }
        if let Some(key) = key {
            self.keys.insert((tenant_id.to_owned(), key.to_owned()));
        }
        self.intake.extend(statements);
    }

    /// A finished step's writes, `?`-numbered statements first.
    pub fn add_step(&mut self, tenant_id: &str, lead_id: &str, statements: Vec<Statement>) {
        self.leads.insert((tenant_id.to_owned(), lead_id.to_owned()));
        for statement in statements {
            match statement.sql.contains('?') {
                true => self.steps_first.push(statement),
                false => self.steps_rest.push(statement),
            }
        }
    }

    /// Sends everything held; `false` when an intake statement changed no
    /// row (a concurrent transaction won a race: roll back and retry).
    pub async fn flush(&mut self, backend: Backend, tx: &mut Transaction<'_, Any>) -> StoreResult<bool> {
        let intake = std::mem::take(&mut self.intake);
        let mut steps = std::mem::take(&mut self.steps_first);
        steps.append(&mut self.steps_rest);
        self.leads.clear();
        self.identities.clear();
        self.keys.clear();
        if !intake.is_empty() && execute_all(backend, tx, &intake).await? < intake.len() as u64 {
            return Ok(false);
        }
        if !steps.is_empty() {
            execute_all(backend, tx, &steps).await?;
        }
        Ok(true)
    }

    /// Sends everything held where no other writer can race (SQLite's one
    /// writer): a lost race would mean the data changed under us.
    pub async fn settle(&mut self, backend: Backend, tx: &mut Transaction<'_, Any>) -> StoreResult<()> {
        match self.is_empty() || self.flush(backend, tx).await? {
            true => Ok(()),
            false => Err(StoreError::Conflict("a write batch raced another writer".into())),
        }
    }
}

/// `$1` becomes `$(1 + offset)`.
fn shift_parameters(sql: &str, offset: usize) -> String {
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
