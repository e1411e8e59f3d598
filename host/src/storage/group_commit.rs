//! Group commit for SQLite writes on the hot path.
//!
//! SQLite has one writer. Taking turns one write per transaction makes the
//! write lock's hold time include every async hop of every statement, so
//! under load the writer, not the disk, sets the pace. Instead one task owns
//! these writes: it takes whatever is queued (up to `MAX_BATCH` submissions
//! and finished pipeline steps), applies them all in one transaction,
//! commits, and only then answers each caller, so a 201 still means
//! "committed". Writes in one batch see each other, so dedup within a batch
//! is exact.
//!
//! If the batch fails, its writes are retried one transaction each, so one
//! bad write cannot fail its neighbours.

use tokio::sync::{mpsc, oneshot};

use super::pipeline::{Finished, ProcessedLead};
use super::{IntakeOutcome, NewSubmission, Store, StoreError, StoreResult};

const MAX_BATCH: usize = 64;
const QUEUE_DEPTH: usize = 4096;

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
        match apply_batch(&store, &batch).await {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, size = batch.len(), "write batch failed; retrying one by one");
                for job in batch.drain(..) {
                    let result = apply_alone(&store, &job).await;
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

async fn apply_batch(store: &Store, batch: &[Job]) -> StoreResult<Vec<Written>> {
    let mut tx = store.begin_write().await?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let tenant = store.tenant(&job.tenant_id);
        results.push(match &job.write {
            // One writer holds the lock, so nothing can race this
            // transaction; `None` would mean the data changed under us.
            Write::Submission(submission) => match tenant.try_record(&mut tx, submission).await? {
                Some(outcome) => Written::Submission(outcome),
                None => return Err(StoreError::Conflict("a write batch raced another writer".into())),
            },
            Write::Finish {
                job_id,
                done,
                disable_after,
            } => Written::Finish(tenant.finish_in(&mut tx, job_id, done, *disable_after).await?),
        });
    }
    tx.commit().await?;
    Ok(results)
}

async fn apply_alone(store: &Store, job: &Job) -> StoreResult<Written> {
    let tenant = store.tenant(&job.tenant_id);
    match &job.write {
        Write::Submission(submission) => tenant.record_one(submission).await.map(Written::Submission),
        Write::Finish {
            job_id,
            done,
            disable_after,
        } => {
            let mut tx = store.begin_write().await?;
            let switched_off = tenant.finish_in(&mut tx, job_id, done, *disable_after).await?;
            tx.commit().await?;
            Ok(Written::Finish(switched_off))
        }
    }
}
