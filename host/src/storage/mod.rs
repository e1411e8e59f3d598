//! The data layer: one `Store` over SQLite or PostgreSQL. Data access only:
//! it reads and writes the records domain modules hand it, and decides
//! nothing (the rules live in the domain modules, which make their
//! decisions inside a [`Unit`] of work).
//!
//! The SQL is portable runtime SQL on sqlx's `Any` driver (the checked macros
//! do not work with `AnyPool`); where the backends really differ (pools,
//! placeholders, row locks, the batch shape, SQLite's group commit), the
//! difference lives in `sqlite.rs` and `postgres.rs`. Every tenant-owned row
//! is reached through [`TenantStore`] or a [`Unit`], which bind the tenant id
//! themselves, so no call site can forget the scope.

mod batch;
mod behaviour;
mod clock;
mod dashboard;
mod emails;
mod followup;
mod forms;
mod jobs;
mod leads;
mod notifications;
mod nurture;
mod nurture_round;
mod pipeline;
mod plugins;
mod postgres;
mod routing;
mod scoring;
mod sessions;
mod setting_changes;
mod sqlite;
mod stages;
mod tenants;
mod timeline;
mod unit;
mod webhooks;
mod workflows;

use sqlx::any::install_default_drivers;
use sqlx::{Any, AnyPool, Transaction};

pub use behaviour::{BehaviourEventRecord, NewBehaviourEvent, RecordedEvent};
pub use dashboard::{ACTIVITY_COLUMNS, ActivitySums, RebuiltDashboard, RollupFilter, RollupSums, day_in};
pub use emails::{EmailAttemptRecord, EmailEventRecord, EmailRecord, NewEmail, SuppressionRecord};
pub use followup::{ActivityRecord, Agenda, AgendaLead, NewActivity, TaskRecord};
pub use forms::{FormRecord, FormVersionRecord, FormVersionSummary, NewFormVersion};
pub use jobs::{DueJob, WRITER_LEASE};
pub use leads::{
    IdentityOwners, LeadContact, LeadFilter, LeadOrder, LeadPage, LeadRecord, LeadVisibility, POOL, TouchRecord,
};
pub use notifications::{NotificationMail, NotificationRecord};
pub use nurture::{
    ActiveVersion, NewRun, RunLogRecord, RunMove, RunRecord, StepCount, StepEmails, TenantSettings,
    sender_or_placeholder,
};
pub use nurture_round::RoundRows;
pub use pipeline::{RepRecord, StepLead};
pub use plugins::{NewPlugin, PendingCompile, PluginRecord};
pub use routing::{MemberLoad, NewTeam, OwnedLead, PoolSettings, StoredRules, TeamMemberRecord, TeamRecord};
pub use scoring::{PreparedScores, RescoreRun, StartedRescore, StoredModel, decay_job_id};
pub use sessions::{LivePasswordReset, LoginCandidate, NewPasswordReset, NewSession, SessionRecord};
pub use setting_changes::SettingChange;
pub use stages::StageRecord;
pub use tenants::{Authenticated, NewUser, RepAttributes, TenantRecord, UserRecord};
pub use timeline::EventRecord;
pub use unit::{Unit, UnitOfWork, UnitTx};
pub use webhooks::{DeliveryRecord, WebhookRecord};
pub use workflows::{WorkflowRecord, WorkflowVersionRecord};

/// Which database engine is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The `n`th (1-based) parameter of a statement built at run time.
    pub(crate) fn placeholder(self, n: usize) -> String {
        match self {
            Backend::Sqlite => sqlite::placeholder(n),
            Backend::Postgres => postgres::placeholder(n),
        }
    }

    /// Runs the statements in order as one batch, in the backend's shape
    /// (`sqlite::execute_batch`, `postgres::execute_batch`); returns the
    /// rows they changed, in total.
    pub(crate) async fn execute_batch(
        self,
        conn: &mut sqlx::AnyConnection,
        statements: &[batch::Statement],
    ) -> StoreResult<u64> {
        match self {
            Backend::Sqlite => sqlite::execute_batch(conn, statements).await,
            Backend::Postgres => postgres::execute_batch(conn, statements).await,
        }
    }

    /// Appended to a read a decision depends on (see `Unit`).
    pub(crate) fn lock_rows(self) -> &'static str {
        match self {
            Backend::Sqlite => sqlite::LOCK_ROWS,
            Backend::Postgres => postgres::LOCK_ROWS,
        }
    }

    /// `lock_rows` for one table of a join (by its alias): the rows joined
    /// to it stay free.
    pub(crate) fn lock_rows_of(self, alias: &str) -> String {
        match self {
            Backend::Sqlite => String::new(),
            Backend::Postgres => format!("{} OF {alias}", postgres::LOCK_ROWS),
        }
    }
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
    /// A concurrent transaction took a row this one had to create first;
    /// the work runs again and then sees it (see `Unit`).
    #[error("a concurrent write won a race; retry")]
    Raced,
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
    /// SQLite only: the group-commit writer that the hot path's units of
    /// work (intake, pipeline steps) go through.
    write_queue: Option<sqlite::WriteQueue>,
}

impl Store {
    /// Connects and applies the backend's migrations.
    pub async fn open(url: &str, sqlite_sync: SqliteSync) -> StoreResult<Self> {
        install_default_drivers();
        let store = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = postgres::connect(url).await?;
            Store {
                read: pool.clone(),
                write: pool,
                backend: Backend::Postgres,
                write_queue: None,
            }
        } else if url.starts_with("sqlite:") {
            let (write, read) = sqlite::connect(url, sqlite_sync).await?;
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
                let queue = sqlite::WriteQueue::start(store.clone());
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
