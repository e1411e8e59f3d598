//! A unit of work: one write transaction handed to domain code.
//!
//! Decisions that must read and write under one lock (dedup and identity
//! ownership, a claim within its limits, a team's pick, an SLA job against
//! the deadline it was set for) are made by the domain module that owns the
//! rule, inside a [`Unit`]: it reads through the unit's typed reads, which
//! lock what another writer could change (`FOR UPDATE` on PostgreSQL; SQLite
//! has one writer), and writes through its typed writes. Storage decides
//! nothing; it only knows how to read and write.
//!
//! Writes are held and sent together (see `batch::PendingWrites`): a read
//! that could see a held write sends them first, so domain code never has
//! to think about it. A work item run through [`TenantStore::run`] shares
//! its transaction with its neighbours in the SQLite group commit; on
//! PostgreSQL it has one of its own, retried when a concurrent one won a
//! race for a row it must create.

use std::any::Any as AnyValue;

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Transaction};

use super::batch::{PendingWrites, Statement};
use super::{Backend, StoreError, StoreResult, TenantStore};

/// How often work is retried when a concurrent transaction won a race for
/// a row it must create (PostgreSQL); the retry then reads the winner's row.
const ATTEMPTS: usize = 5;

/// One transaction as domain code sees it.
pub struct Unit<'u> {
    pub(super) backend: Backend,
    pub(super) tenant_id: &'u str,
    pub(super) conn: &'u mut AnyConnection,
    pub(super) pending: &'u mut PendingWrites,
}

impl Unit<'_> {
    pub fn tenant_id(&self) -> &str {
        self.tenant_id
    }

    /// Sends the held writes, so that the next read sees them.
    pub(super) async fn settle(&mut self) -> StoreResult<()> {
        self.pending.settle(self.backend, self.conn).await
    }

    /// Sends the held writes first if `held` says one could change what a
    /// read is about to see.
    pub(super) async fn settle_if(&mut self, held: impl FnOnce(&PendingWrites) -> bool) -> StoreResult<()> {
        if held(self.pending) {
            self.settle().await?;
        }
        Ok(())
    }

    /// The lead's `columns` (an SQL select list), its row held until the
    /// unit commits (a concurrent decision about the lead waits, then sees
    /// this one's writes); `None` for no such lead.
    pub(super) async fn held_lead_row(&mut self, lead_id: &str, columns: &str) -> StoreResult<Option<AnyRow>> {
        let tenant = self.tenant_id;
        self.settle_if(|held| held.holds_lead(tenant, lead_id)).await?;
        let sql = format!(
            "SELECT {columns} FROM leads WHERE tenant_id = $1 AND id = $2{}",
            self.backend.lock_rows()
        );
        Ok(sqlx::query(&sql)
            .bind(self.tenant_id)
            .bind(lead_id)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    /// A write that must change exactly one row: fewer means a concurrent
    /// transaction took the row first, and the work is run again.
    pub(super) fn write_one(&mut self, statement: Statement) {
        self.pending.add_exact(statement);
    }

    /// A write held until the unit's writes are sent.
    pub(super) fn write(&mut self, statement: Statement) {
        self.pending.add(statement);
    }

    /// The tenant id, owned (for statements).
    pub(super) fn tenant(&self) -> String {
        self.tenant_id.to_owned()
    }
}

/// Work done in one unit: a domain decision with the writes it makes.
#[async_trait::async_trait]
pub trait UnitOfWork: Send + Sync + 'static {
    type Output: Send + 'static;

    async fn run(&self, unit: &mut Unit<'_>) -> StoreResult<Self::Output>;
}

/// A unit of work with its output type erased, as the SQLite group commit
/// queues it beside other kinds.
#[async_trait::async_trait]
pub(super) trait QueuedWork: Send + Sync {
    async fn run_queued(&self, unit: &mut Unit<'_>) -> StoreResult<Box<dyn AnyValue + Send>>;
}

#[async_trait::async_trait]
impl<W: UnitOfWork> QueuedWork for W {
    async fn run_queued(&self, unit: &mut Unit<'_>) -> StoreResult<Box<dyn AnyValue + Send>> {
        Ok(Box::new(self.run(unit).await?))
    }
}

/// A unit's transaction, held by the caller: `unit()` to work in it, then
/// `commit()`.
pub struct UnitTx {
    backend: Backend,
    tenant_id: String,
    tx: Transaction<'static, Any>,
    pending: PendingWrites,
}

impl UnitTx {
    pub fn unit(&mut self) -> Unit<'_> {
        Unit {
            backend: self.backend,
            tenant_id: &self.tenant_id,
            conn: &mut self.tx,
            pending: &mut self.pending,
        }
    }

    /// Sends the held writes and commits; `StoreError::Raced` (after a
    /// rollback) when a write that had to change one row changed none.
    pub async fn commit(mut self) -> StoreResult<()> {
        if self.pending.flush(self.backend, &mut self.tx).await? {
            self.tx.commit().await?;
            Ok(())
        } else {
            self.tx.rollback().await?;
            Err(StoreError::Raced)
        }
    }
}

impl TenantStore<'_> {
    /// A unit in a transaction of its own (on SQLite it takes the write lock
    /// up front).
    pub async fn begin_unit(&self) -> StoreResult<UnitTx> {
        Ok(UnitTx {
            backend: self.store.backend,
            tenant_id: self.tenant_id.clone(),
            tx: self.store.begin_write().await?,
            pending: PendingWrites::default(),
        })
    }

    /// Runs `work` and commits it: on SQLite through the group-commit
    /// writer (with whatever else is queued), elsewhere in a transaction of
    /// its own, run again when a concurrent one won a race.
    pub async fn run<W: UnitOfWork>(&self, work: W) -> StoreResult<W::Output> {
        match &self.store.write_queue {
            Some(queue) => {
                let output = queue.run(&self.tenant_id, Box::new(work)).await?;
                Ok(*output
                    .downcast::<W::Output>()
                    .expect("the writer answers a work item with its own output"))
            }
            None => self.run_alone(&work).await,
        }
    }

    async fn run_alone<W: UnitOfWork>(&self, work: &W) -> StoreResult<W::Output> {
        for _ in 0..ATTEMPTS {
            let mut tx = self.begin_unit().await?;
            let output = work.run(&mut tx.unit()).await?;
            match tx.commit().await {
                Ok(()) => return Ok(output),
                Err(StoreError::Raced) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Conflict(
            "the write kept racing with concurrent ones; retry it".into(),
        ))
    }
}
