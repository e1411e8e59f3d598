//! Group commit for SQLite writes on the hot path.
//!
//! SQLite has one writer. Taking turns one write per transaction makes the
//! write lock's hold time include every async hop of every statement, so
//! under load the writer, not the disk, sets the pace. Instead one task owns
//! these writes: it takes whatever is queued (up to `MAX_BATCH` submissions
//! and finished pipeline steps), decides each one's writes in order (each
//! still reads what it must, e.g. intake's dedup lookup), sends them all at
//! the end (`PendingWrites`), commits, and only then answers each caller, so
//! a 201 still means "committed". A read that could see an earlier write of
//! the batch sends the pending writes first, so dedup within a batch is
//! exact.
//!
//! If the batch fails, its writes are retried one transaction each, so one
//! bad write cannot fail its neighbours. (On SQLite, one writer: a lost race
//! cannot happen there, so a submission needs no retry loop.)

use std::time::{Duration, Instant};

use sqlx::{Any, AnyConnection, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::batch::PendingWrites;
use super::pipeline::Finished;
use super::{IntakeOutcome, NewSubmission, Store, StoreError, StoreResult};
use crate::domain::ProcessedLead;

const MAX_BATCH: usize = 64;
const QUEUE_DEPTH: usize = 4096;
/// How long the writer keeps the connection while batches keep coming.
const HOLD: Duration = Duration::from_millis(20);

/// A write the queue applies.
pub(crate) enum Write {
    Submission(Box<NewSubmission>),
    Finish {
        job_id: String,
        done: Box<ProcessedLead>,
        disable_after: i32,
    },
}

/// What a write produced.
pub(crate) enum Written {
    Submission(IntakeOutcome),
    Finish(Finished),
}

struct Job {
    tenant_id: String,
    write: Write,
    reply: oneshot::Sender<StoreResult<Written>>,
}

#[derive(Clone)]
pub(crate) struct WriteQueue {
    jobs: mpsc::Sender<Job>,
}

impl WriteQueue {
    /// Starts the writer task on `store` (which must not itself have a queue).
    pub fn start(store: Store) -> Self {
        let (jobs, receiver) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(store, receiver));
        Self { jobs }
    }

    pub async fn write(&self, tenant_id: &str, write: Write) -> StoreResult<Written> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            tenant_id: tenant_id.to_owned(),
            write,
            reply,
        };
        let gone = || StoreError::Conflict("the database writer stopped; retry".into());
        self.jobs.send(job).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(store: Store, mut receiver: mpsc::Receiver<Job>) {
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
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(StoreError::Conflict(err.to_string())));
                }
                continue;
            }
        };
        let held = Instant::now();
        loop {
            let applied = apply_batch(&store, &mut conn, &batch).await;
            match applied {
                Ok(results) => {
                    for (job, result) in batch.drain(..).zip(results) {
                        let _ = job.reply.send(Ok(result));
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, size = batch.len(), "write batch failed; retrying one by one");
                    for job in batch.drain(..) {
                        let result = apply_alone(&store, &mut conn, &job).await;
                        let _ = job.reply.send(result);
                    }
                }
            }
            if held.elapsed() >= HOLD {
                break;
            }
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
        }
    }
}

async fn apply_batch(store: &Store, conn: &mut AnyConnection, batch: &[Job]) -> StoreResult<Vec<Written>> {
    let mut tx = Store::begin_write_on(conn).await?;
    let mut pending = PendingWrites::default();
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        results.push(decide(store, &mut tx, &mut pending, job).await?);
    }
    // One writer holds the lock, so nothing can race this transaction.
    pending.settle(store.backend, &mut tx).await?;
    tx.commit().await?;
    Ok(results)
}

async fn apply_alone(store: &Store, conn: &mut AnyConnection, job: &Job) -> StoreResult<Written> {
    let mut written = apply_batch(store, conn, std::slice::from_ref(job)).await?;
    Ok(written.remove(0))
}

/// Reads what the write needs and adds its writes to `pending`.
async fn decide(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    pending: &mut PendingWrites,
    job: &Job,
) -> StoreResult<Written> {
    let tenant = store.tenant(&job.tenant_id);
    Ok(match &job.write {
        Write::Submission(submission) => Written::Submission(tenant.try_record(tx, pending, submission).await?),
        Write::Finish {
            job_id,
            done,
            disable_after,
        } => Written::Finish(tenant.finish_in(tx, pending, job_id, done, *disable_after).await?),
    })
}
