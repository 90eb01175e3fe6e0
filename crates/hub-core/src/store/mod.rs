//! The hub's persistent store, one interface over SQLite (embedded default) and PostgreSQL
//! (production).
//!
//! Both back ends run the same SQL text (sqlx accepts `$N` placeholders on SQLite too); only the
//! migrations differ (`migrations/sqlite`, `migrations/postgres`). The `dispatch!` macro expands a
//! body once per back end, so each runs natively typed code without the `Any` driver's
//! conversions. Times are stored as microseconds since the epoch (`i64`) so they sort and compare
//! the same way on both; JSON bodies are stored as text, exactly as received.

mod callbacks;
mod microcpo;
mod objects;
mod outbox;
mod platforms;
mod transactions;
mod writer;

pub use callbacks::Callback;
pub use microcpo::{Charger, NewCharger};
pub use objects::{ListFilter, ListPage, ObjectChange, ObjectKey, PatchFn, StoredObject};
pub use outbox::{Delivery, NewDelivery};
pub use platforms::{Registration, ServerTokenKind, ServerTokenRow};
pub use transactions::{LearntIdTag, MeterSample, NewTransaction, OcppTransaction, TransactionUpdate};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A database error met by the SQLite group-commit writer (which does not run through sqlx).
    #[error("database: {0}")]
    Database(String),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database url (use sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Conflict(String),
    #[error("rejected: {0}")]
    Rejected(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The pool of the back end in use. Public so that crates with tables of their own (the
/// `clearing` ledger) can run their SQL in the same database without going through `Store`'s
/// methods.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Expands `$body` once for each back end with `$pool` bound to its pool.
macro_rules! dispatch {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use dispatch;

/// The store. Cheap to clone (pools are reference counted).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: Db,
    /// The group-commit writer, once [`Store::enable_group_commit`] started it (shared by clones).
    pub(crate) writer: Arc<OnceLock<writer::Writer>>,
    /// The SQLite file and its settings (for the group-commit writer's own connection).
    sqlite_file: Option<writer::SqliteFile>,
}

/// Connection options beyond the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// SQLite `synchronous` pragma: FULL (default; a commit survives power loss) or NORMAL.
    pub sqlite_synchronous_full: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 8, sqlite_synchronous_full: true }
    }
}

impl Store {
    /// Connects (creating an SQLite file and its directory if missing) and runs migrations.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self> {
        let store = Self::connect(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
        let mut sqlite_file = None;
        let db = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(if options.sqlite_synchronous_full {
                    SqliteSynchronous::Full
                } else {
                    SqliteSynchronous::Normal
                })
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            if let Some(parent) = opts.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StoreError::UnsupportedUrl(format!("cannot create {}: {e}", parent.display())))?;
            }
            sqlite_file = Some(writer::SqliteFile {
                path: opts.get_filename().to_path_buf(),
                synchronous_full: options.sqlite_synchronous_full,
            });
            let pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .connect_with(opts)
                .await?;
            Db::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await?;
            Db::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        Ok(Self { db, writer: Arc::default(), sqlite_file })
    }

    /// Turns on group commit (SQLite only; see `writer.rs`): from now on [`Store::apply`] and the
    /// charger boot and connection writes of this store and its clones are batched by a writer
    /// thread with its own connection. Returns whether it is on. A process that serves chargers
    /// and partners calls this once at start; one-shot commands (the CLI) need not.
    pub fn enable_group_commit(&self) -> bool {
        let Some(file) = &self.sqlite_file else {
            return false;
        };
        if self.writer.get().is_some() {
            return true;
        }
        match writer::Writer::spawn(file) {
            Ok(w) => {
                // A concurrent call may have won: its writer is kept, this one's thread ends.
                let _ = self.writer.set(w);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit unavailable; committing each write alone");
                false
            }
        }
    }

    /// With group commit on: (transactions committed, operations in them) since it started.
    pub fn group_commit_stats(&self) -> Option<(u64, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        self.writer.get().map(|w| (w.stats.batches.load(Relaxed), w.stats.operations.load(Relaxed)))
    }

    /// Applies the migrations of this back end.
    pub async fn migrate(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(pool) => sqlx::migrate!("../../migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("../../migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// The pool, for crates that keep tables of their own in the hub's database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn backend(&self) -> &'static str {
        match &self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }

    /// The statement that opens a transaction which reads before it writes. On SQLite a
    /// deferred transaction that reads first cannot upgrade to a writer once another connection
    /// has written ("database is locked", not retried by the busy timeout): take the write lock
    /// up front.
    pub(crate) fn begin_write(&self) -> &'static str {
        if self.is_postgres() { "BEGIN" } else { "BEGIN IMMEDIATE" }
    }

    /// Closes the pools (waits for connections to be returned).
    pub async fn close(&self) {
        dispatch!(self, pool => pool.close().await)
    }
}

/// Now, in microseconds since the epoch.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

pub(crate) fn parse_col<T: FromStr>(s: &str, what: &str) -> Result<T> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("{what}: {s}")))
}
