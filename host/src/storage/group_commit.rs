//! Group commit for SQLite intake.
//!
//! SQLite has one writer. Taking turns one submission per transaction makes
//! the write lock's hold time include every async hop of every statement, so
//! under load the writer, not the disk, sets the pace. Instead one task owns
//! intake writes: it takes whatever submissions are queued (up to
//! `MAX_BATCH`), records them all in one transaction, commits, and only then
//! answers each caller, so a 201 still means "committed". Submissions in one
//! batch see each other's writes, so dedup within a batch is exact.
//!
//! If the batch fails, its submissions are retried one transaction each, so
//! one bad submission cannot fail its neighbours.

use tokio::sync::{mpsc, oneshot};

use super::{IntakeOutcome, NewSubmission, Store, StoreError, StoreResult};

const MAX_BATCH: usize = 64;
const QUEUE_DEPTH: usize = 4096;

struct Job {
    tenant_id: String,
    submission: NewSubmission,
    reply: oneshot::Sender<StoreResult<IntakeOutcome>>,
}

#[derive(Clone)]
pub(crate) struct IntakeQueue {
    jobs: mpsc::Sender<Job>,
}

impl IntakeQueue {
    /// Starts the writer task on `store` (which must not itself have a queue).
    pub fn start(store: Store) -> Self {
        let (jobs, receiver) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(store, receiver));
        Self { jobs }
    }

    pub async fn record(&self, tenant_id: &str, submission: &NewSubmission) -> StoreResult<IntakeOutcome> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            tenant_id: tenant_id.to_owned(),
            submission: submission.clone(),
            reply,
        };
        let gone = || StoreError::Conflict("the intake writer stopped; retry".into());
        self.jobs.send(job).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(store: Store, mut receiver: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match record_batch(&store, &batch).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, size = batch.len(), "intake batch failed; retrying one by one");
                for job in batch.drain(..) {
                    let outcome = store.tenant(&job.tenant_id).record_one(&job.submission).await;
                    let _ = job.reply.send(outcome);
                }
            }
        }
    }
}

async fn record_batch(store: &Store, batch: &[Job]) -> StoreResult<Vec<IntakeOutcome>> {
    let mut tx = store.begin_write().await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        // One writer holds the lock, so no other transaction can race this
        // one; `None` would mean the data changed under us.
        match store
            .tenant(&job.tenant_id)
            .try_record(&mut tx, &job.submission)
            .await?
        {
            Some(outcome) => outcomes.push(outcome),
            None => {
                return Err(StoreError::Conflict("an intake batch raced another writer".into()));
            }
        }
    }
    tx.commit().await?;
    Ok(outcomes)
}
