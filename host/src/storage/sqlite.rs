//! What SQLite does differently: a file in WAL mode with one writer (so no
//! row locks: the writer's transaction is the lock), bare `?` placeholders
//! where a statement has many parameters, a batch sent as one
//! multi-statement query, and the group commit that shares one transaction
//! between the work items queued for the writer.

use std::any::Any as AnyValue;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};

use super::batch::{PendingWrites, Statement, bind_all, shift_parameters};
use super::unit::{QueuedWork, Unit};
use super::{SqliteSync, Store, StoreError, StoreResult};

/// One writer holds the lock: what it reads cannot change under it.
pub(super) const LOCK_ROWS: &str = "";

/// SQLite keeps named parameters (`$N`) in a list it searches once per
/// parameter when it parses a statement, and sqlx asks each one's name back
/// when it binds, so a statement with P of them costs O(P²): at the
/// thousands of parameters of a bulk score write that was most of the time.
/// `?` costs O(1) each (a batch of `?` statements binds in order across
/// statements, see [`execute_batch`]).
pub(super) fn placeholder(_n: usize) -> String {
    "?".to_owned()
}

/// The writer's pool (one connection, so writes queue in process instead of
/// failing with "database is locked") and the readers'.
pub(super) async fn connect(url: &str, sync: SqliteSync) -> StoreResult<(AnyPool, AnyPool)> {
    let sync = match sync {
        SqliteSync::Normal => "NORMAL",
        SqliteSync::Full => "FULL",
    };
    let pragmas = format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; \
         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;"
    );
    // Page cache per connection (SQLite's default is 2 MB): the writer's is
    // large because updating scores moves entries in indexes spread over
    // the whole leads table; at 1M leads a re-score with 2 MB re-read the
    // same index pages from the OS again and again.
    let pool_with = |max: u32, cache_mib: u32| {
        let pragmas = format!("{pragmas} PRAGMA cache_size = -{};", cache_mib * 1024);
        AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            // A file in this process does not drop like a network
            // connection: a ping per checkout is a round trip to the
            // connection's thread for nothing.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                let pragmas = pragmas.clone();
                Box::pin(async move {
                    conn.execute(pragmas.as_str()).await?;
                    Ok(())
                })
            })
    };
    let write = pool_with(1, 64).connect(&with_create_mode(url)).await?;
    let read = pool_with(4, 16).connect(url).await?;
    Ok((write, read))
}

/// `sqlite://data/x.db` creates the file if missing.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// One multi-statement query: sqlx runs each statement on the connection's
/// worker thread, so every statement is a round trip of two context
/// switches; the `$N` parameters are renumbered to be absolute, as the
/// driver binds them.
pub(super) async fn execute_batch(conn: &mut AnyConnection, statements: &[Statement]) -> StoreResult<u64> {
    // The driver numbers bare `?` parameters from the count of bare ones
    // before them, so those statements must come before any with `$N` ones.
    debug_assert!(
        !statements
            .iter()
            .skip_while(|s| !s.sql.contains('$'))
            .any(|s| s.sql.contains('?')),
        "a statement with `?` parameters follows one with `$N` ones"
    );
    if statements.is_empty() {
        return Ok(0);
    }
    let mut sql = String::new();
    let mut binds = Vec::new();
    for statement in statements {
        sql.push_str(&shift_parameters(&statement.sql, binds.len()));
        sql.push_str(";\n");
        binds.extend(statement.binds.iter().cloned());
    }
    Ok(bind_all(sqlx::query(&sql), binds).execute(conn).await?.rows_affected())
}

// The group commit.
//
// SQLite has one writer. Taking turns one write per transaction makes the
// write lock's hold time include every async hop of every statement, so
// under load the writer, not the disk, sets the pace. Instead one task owns
// the hot path's writes (intake, finished pipeline steps): it takes
// whatever is queued (up to `MAX_BATCH` units of work), runs each one's
// decision in order in one transaction (each still reads what it must,
// e.g. intake's dedup lookup), sends their writes together at the end
// (`PendingWrites`), commits, and only then answers each caller, so a 201
// still means "committed". A read that could see an earlier write of the
// batch sends the held writes first, so dedup within a batch is exact.
//
// If the batch fails, its units are run again one transaction each, so one
// bad write cannot fail its neighbours. (One writer: a lost race cannot
// happen here, so a unit needs no retry loop.)

const MAX_BATCH: usize = 64;
const QUEUE_DEPTH: usize = 4096;
/// How long the writer keeps the connection while batches keep coming.
const HOLD: Duration = Duration::from_millis(20);

type Output = Box<dyn AnyValue + Send>;

struct Queued {
    tenant_id: String,
    work: Box<dyn QueuedWork>,
    reply: oneshot::Sender<StoreResult<Output>>,
}

#[derive(Clone)]
pub(crate) struct WriteQueue {
    queued: mpsc::Sender<Queued>,
}

impl WriteQueue {
    /// Starts the writer task on `store` (which must not itself have a queue).
    pub fn start(store: Store) -> Self {
        let (queued, receiver) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run_writer(store, receiver));
        Self { queued }
    }

    pub async fn run(&self, tenant_id: &str, work: Box<dyn QueuedWork>) -> StoreResult<Output> {
        let (reply, answer) = oneshot::channel();
        let queued = Queued {
            tenant_id: tenant_id.to_owned(),
            work,
            reply,
        };
        let gone = || StoreError::Conflict("the database writer stopped; retry".into());
        self.queued.send(queued).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run_writer(store: Store, mut receiver: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Checking the connection out of the pool for each batch costs a
        // round trip to its thread on the way back (sqlx pings it) and a
        // task hop; so keep it while batches keep coming, for at most
        // `HOLD`, then let the other writers have a turn.
        let mut conn = match store.write.acquire().await {
            Ok(conn) => conn,
            Err(err) => {
                let err = StoreError::from(err);
                for queued in batch.drain(..) {
                    let _ = queued.reply.send(Err(StoreError::Conflict(err.to_string())));
                }
                continue;
            }
        };
        let held = Instant::now();
        loop {
            match apply_batch(&store, &mut conn, &batch).await {
                Ok(outputs) => {
                    for (queued, output) in batch.drain(..).zip(outputs) {
                        let _ = queued.reply.send(Ok(output));
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, size = batch.len(), "write batch failed; retrying one by one");
                    for queued in batch.drain(..) {
                        let result = apply_batch(&store, &mut conn, std::slice::from_ref(&queued))
                            .await
                            .map(|mut outputs| outputs.remove(0));
                        let _ = queued.reply.send(result);
                    }
                }
            }
            if held.elapsed() >= HOLD {
                break;
            }
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(queued) => batch.push(queued),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
        }
    }
}

async fn apply_batch(store: &Store, conn: &mut AnyConnection, batch: &[Queued]) -> StoreResult<Vec<Output>> {
    let mut tx = Store::begin_write_on(conn).await?;
    let mut pending = PendingWrites::default();
    let mut outputs = Vec::with_capacity(batch.len());
    for queued in batch {
        let mut unit = Unit {
            backend: store.backend,
            tenant_id: &queued.tenant_id,
            conn: &mut tx,
            pending: &mut pending,
        };
        // A unit that panics fails with an error (its batch is then run one
        // by one, so only it fails); the writer goes on.
        let run = AssertUnwindSafe(queued.work.run_queued(&mut unit)).catch_unwind();
        let output = run.await.map_err(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(tenant = %queued.tenant_id, panic = %what, "a unit of work panicked");
            StoreError::Corrupt(format!("a write failed unexpectedly: {what}"))
        })??;
        outputs.push(output);
    }
    // One writer holds the lock, so nothing can race this transaction.
    pending.settle(store.backend, &mut tx).await?;
    tx.commit().await?;
    Ok(outputs)
}
