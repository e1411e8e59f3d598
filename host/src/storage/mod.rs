//! The data layer: one `Store` over SQLite or PostgreSQL.
//!
//! The SQL is portable runtime SQL on sqlx's `Any` driver (the checked macros
//! do not work with `AnyPool`); where the backends really differ, the arm for
//! each sits next to the shared body. Every tenant-owned row is reached
//! through [`TenantStore`], which binds the tenant id itself, so no call site
//! can forget the scope.

mod batch;
mod behaviour;
mod clock;
mod followup;
mod forms;
mod group_commit;
mod leads;
mod pipeline;
mod plugins;
mod routing;
mod scoring;
mod stages;
mod tenants;
mod webhooks;

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor, Transaction};

pub use behaviour::{BehaviourEventRecord, NewBehaviourEvent, RecordedEvent};
pub use followup::{ActivityRecord, Agenda, AgendaLead, NewActivity, TaskRecord};
pub use forms::{FormRecord, FormVersionRecord, NewFormVersion};
pub use leads::{
    IntakeOutcome, LeadFilter, LeadOrder, LeadPage, LeadRecord, LeadVisibility, NewSubmission, POOL, TouchContext,
    TouchRecord,
};
pub use pipeline::{EventRecord, Finished, RepRecord};
pub use plugins::{NewPlugin, PluginRecord};
pub use routing::{NewTeam, PoolSettings, StoredRules, TeamMemberRecord, TeamRecord};
pub use scoring::{PreparedScores, RescoreRun, StartedRescore, StoredModel, decay_job_id};
pub use stages::{StageChange, StageRecord};
pub use tenants::{Authenticated, NewUser, RepAttributes, TenantRecord, UserRecord};
pub use webhooks::{DeliveryRecord, WEBHOOK_EVENTS, WebhookRecord};

/// Which database engine is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// A request the data layer cannot carry out as asked (a bad cursor).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How the SQLite file trades speed for durability. `Normal` (the default,
/// with WAL) survives a killed process; `Full` also survives power loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    #[default]
    Normal,
    Full,
}

#[derive(Clone)]
pub struct Store {
    /// Readers: several connections on both backends.
    read: AnyPool,
    /// Writers: on SQLite a single connection, so writes queue in process
    /// instead of failing with "database is locked"; on PostgreSQL the same
    /// pool as `read`.
    write: AnyPool,
    backend: Backend,
    /// SQLite only: the group-commit writer that intake and pipeline writes go through.
    write_queue: Option<group_commit::WriteQueue>,
}

impl Store {
    /// Connects and applies the backend's migrations.
    pub async fn open(url: &str, sqlite_sync: SqliteSync) -> StoreResult<Self> {
        install_default_drivers();
        let store = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            Store {
                read: pool.clone(),
                write: pool,
                backend: Backend::Postgres,
                write_queue: None,
            }
        } else if url.starts_with("sqlite:") {
            let sync = match sqlite_sync {
                SqliteSync::Normal => "NORMAL",
                SqliteSync::Full => "FULL",
            };
            let pragmas = format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; \
                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;"
            );
            // Page cache per connection (SQLite's default is 2 MB): the
            // writer's is large because updating scores moves entries in
            // indexes spread over the whole leads table; at 1M leads a re-score
            // with 2 MB re-read the same index pages from the OS again and again.
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
            Store {
                read,
                write,
                backend: Backend::Sqlite,
                write_queue: None,
            }
        } else {
            return Err(StoreError::Conflict(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://..."
            )));
        };
        store.migrate().await?;
        Ok(match store.backend {
            Backend::Sqlite => {
                let queue = group_commit::WriteQueue::start(store.clone());
                Store {
                    write_queue: Some(queue),
                    ..store
                }
            }
            Backend::Postgres => store,
        })
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.write.acquire().await?;
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&mut *conn).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&mut *conn).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so a transaction that reads before it writes waits
    /// for another process's writer instead of failing half-way.
    pub(crate) async fn begin_write(&self) -> StoreResult<Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        })
    }

    /// A SQLite write transaction on a connection the caller holds.
    pub(crate) async fn begin_write_on(conn: &mut sqlx::AnyConnection) -> StoreResult<Transaction<'_, Any>> {
        Ok(sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await?)
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    /// The data of one tenant; every query through it is scoped to that tenant.
    pub fn tenant(&self, tenant_id: &str) -> TenantStore<'_> {
        TenantStore {
            store: self,
            tenant_id: tenant_id.to_owned(),
        }
    }
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

/// One tenant's view of the store.
pub struct TenantStore<'s> {
    store: &'s Store,
    tenant_id: String,
}

impl TenantStore<'_> {
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }
}

/// A fresh time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A column holding one of the domain's words (a stage, a tier, ...): a
/// word the code does not know means the row is corrupt, never a default.
pub(crate) fn word<T>(row: &sqlx::any::AnyRow, column: &str) -> StoreResult<T>
where
    T: std::str::FromStr<Err = crate::domain::ParseError>,
{
    use sqlx::Row;
    let raw: String = row.try_get(column)?;
    raw.parse()
        .map_err(|e: crate::domain::ParseError| StoreError::Corrupt(format!("{column}: {e}")))
}

/// True for a unique-constraint violation on either backend.
fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
