//! What PostgreSQL does differently: a pool of connections shared by reads
//! and writes, `$N` placeholders, row locks (`FOR UPDATE`) on whatever a
//! decision reads and another writer could change, and a batch sent as one
//! statement of data-modifying CTEs (its extended protocol takes one
//! statement at a time).

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool};

use super::StoreResult;
use super::batch::{Statement, bind_all, shift_parameters};

/// Appended to a read a decision depends on: holds the rows it returns
/// until the transaction ends, so a concurrent writer waits and then sees
/// the decision's writes.
pub(super) const LOCK_ROWS: &str = " FOR UPDATE";

pub(super) fn placeholder(n: usize) -> String {
    format!("${n}")
}

pub(super) async fn connect(url: &str) -> StoreResult<AnyPool> {
    Ok(AnyPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?)
}

pub(super) async fn execute_batch(conn: &mut AnyConnection, statements: &[Statement]) -> StoreResult<u64> {
    match statements {
        [] => return Ok(0),
        [statement] => return Ok(statement.query().execute(conn).await?.rows_affected()),
        _ => {}
    }
    // One round trip: each statement becomes a data-modifying CTE (all
    // share one snapshot; foreign keys are checked at the end of the
    // statement), and the rows they changed are counted.
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
    let row = bind_all(sqlx::query(&sql), binds).fetch_one(conn).await?;
    Ok(sqlx::Row::try_get::<i64, _>(&row, "changed")?.max(0) as u64)
}
