//! Group commit for SQLite: one writer task runs the hot writes of many callers in one
//! transaction, so that a thousand chargers' StatusNotifications cost one fsync, not a thousand.
//!
//! SQLite has one writer at a time and, with `synchronous=FULL`, one fsync per commit: callers
//! that each commit their own transaction queue on the write lock and on the disk (about 2 500
//! commits/s here). The writer takes every operation queued while the previous batch was being
//! committed, runs them in order in one `BEGIN IMMEDIATE` transaction and answers each caller
//! only after the `COMMIT`: nothing is acknowledged before it is durable, exactly as before.
//!
//! One operation's failure does not fail the others:
//! - a patch its `PatchFn` rejects fails before anything of it is written;
//! - an operation of several writes runs inside a `SAVEPOINT` and is rolled back to it;
//! - a constraint violation of a single-write operation undoes only that statement (SQLite);
//! - any other database error (I/O, disk full, busy) may have rolled back the whole transaction:
//!   the batch fails as a whole and every caller gets the error (none was acknowledged).
//!
//! PostgreSQL does not use this: its connections write concurrently and its WAL writer groups
//! their commits by itself; serializing them through one connection would only add round trips.

use super::objects::apply_in_tx;
use super::{Db, NewDelivery, ObjectChange, Result, StoreError, now_micros};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Operations in one batch at most (bounds the time the write lock is held).
pub const MAX_BATCH: usize = 512;
/// Operations waiting for the writer before callers wait to queue theirs.
const QUEUE: usize = 8 * MAX_BATCH;

/// One write, with where to send its outcome.
enum Op {
    Apply {
        change: Option<ObjectChange>,
        deliveries: Vec<NewDelivery>,
        reply: oneshot::Sender<Result<Option<String>>>,
    },
    ChargerBoot {
        charger_id: String,
        boot_info: String,
        reply: oneshot::Sender<Result<()>>,
    },
    ChargerConnected {
        charger_id: String,
        connected: bool,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// Where an operation's outcome goes.
enum Reply {
    Apply(oneshot::Sender<Result<Option<String>>>),
    Unit(oneshot::Sender<Result<()>>),
}

impl Reply {
    fn ok(self, out: Option<String>) {
        match self {
            Reply::Apply(r) => drop(r.send(Ok(out))),
            Reply::Unit(r) => drop(r.send(Ok(()))),
        }
    }

    fn err(self, e: StoreError) {
        match self {
            Reply::Apply(r) => drop(r.send(Err(e))),
            Reply::Unit(r) => drop(r.send(Err(e))),
        }
    }
}

/// An operation without its reply.
enum Work {
    Apply { change: Option<ObjectChange>, deliveries: Vec<NewDelivery> },
    ChargerBoot { charger_id: String, boot_info: String },
    ChargerConnected { charger_id: String, connected: bool },
}

impl Op {
    fn split(self) -> (Work, Reply) {
        match self {
            Op::Apply { change, deliveries, reply } => (Work::Apply { change, deliveries }, Reply::Apply(reply)),
            Op::ChargerBoot { charger_id, boot_info, reply } => (Work::ChargerBoot { charger_id, boot_info }, Reply::Unit(reply)),
            Op::ChargerConnected { charger_id, connected, reply } => {
                (Work::ChargerConnected { charger_id, connected }, Reply::Unit(reply))
            }
        }
    }
}

impl Work {
    /// Statements that write: more than one needs a savepoint to be undone alone.
    fn writes(&self) -> usize {
        match self {
            Work::Apply { change, deliveries } => usize::from(change.is_some()) + deliveries.len(),
            Work::ChargerBoot { .. } | Work::ChargerConnected { .. } => 1,
        }
    }
}

/// `StoreError` is not `Clone`: the batch's error, restated for each caller.
fn batch_error(e: &StoreError) -> StoreError {
    StoreError::Conflict(format!("write batch failed: {e}"))
}

/// Whether a failed statement left the transaction open with only itself undone (SQLite rolls
/// back just the statement on a constraint violation; I/O errors, a full disk or a busy database
/// may roll back the whole transaction).
fn statement_only(e: &StoreError) -> bool {
    match e {
        StoreError::Rejected(_) | StoreError::Corrupt(_) | StoreError::Conflict(_) => true,
        StoreError::Db(sqlx::Error::Database(db)) => !matches!(db.kind(), sqlx::error::ErrorKind::Other),
        _ => false,
    }
}

/// The handle [`Store`](super::Store) keeps when group commit is on.
#[derive(Debug)]
pub(crate) struct Writer {
    ops: mpsc::Sender<Op>,
    pub(crate) stats: Arc<Stats>,
}

/// Counters of the writer (how well commits are grouped).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) batches: AtomicU64,
    pub(crate) operations: AtomicU64,
}

impl Writer {
    /// Spawns the writer task on the current tokio runtime. It ends when every handle is dropped.
    pub(crate) fn spawn(db: Db) -> Writer {
        let (ops, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(Stats::default());
        tokio::spawn(run(db, rx, stats.clone()));
        Writer { ops, stats }
    }

    async fn submit<T>(&self, op: Op, rx: oneshot::Receiver<Result<T>>) -> Result<T> {
        if self.ops.send(op).await.is_err() {
            return Err(StoreError::Conflict("the store's writer has stopped".into()));
        }
        rx.await.unwrap_or_else(|_| Err(StoreError::Conflict("the store's writer has stopped".into())))
    }

    pub(crate) async fn apply(&self, change: Option<ObjectChange>, deliveries: Vec<NewDelivery>) -> Result<Option<String>> {
        let (reply, rx) = oneshot::channel();
        self.submit(Op::Apply { change, deliveries, reply }, rx).await
    }

    pub(crate) async fn charger_boot(&self, charger_id: &str, boot_info: String) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.submit(Op::ChargerBoot { charger_id: charger_id.to_owned(), boot_info, reply }, rx).await
    }

    pub(crate) async fn charger_connected(&self, charger_id: &str, connected: bool) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.submit(Op::ChargerConnected { charger_id: charger_id.to_owned(), connected, reply }, rx).await
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<Op>, stats: Arc<Stats>) {
    let Db::Sqlite(pool) = db else {
        // Not used on PostgreSQL (see the module comment); fail whatever arrives.
        while let Some(op) = rx.recv().await {
            op.split().1.err(StoreError::Conflict("group commit is for SQLite only".into()));
        }
        return;
    };
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.operations.fetch_add(batch.len() as u64, Ordering::Relaxed);
        commit_batch(&pool, &mut batch).await;
        batch.clear();
    }
}

/// Runs `batch` in one transaction and answers every operation.
async fn commit_batch(pool: &sqlx::SqlitePool, batch: &mut Vec<Op>) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => {
            let e = StoreError::from(e);
            for op in batch.drain(..) {
                op.split().1.err(batch_error(&e));
            }
            return;
        }
    };
    let now = now_micros();
    // Operations written, answered after the commit.
    let mut done: Vec<(Reply, Option<String>)> = Vec::with_capacity(batch.len());
    // Operations caught by (or after) a batch-fatal error.
    let mut doomed: Vec<Reply> = Vec::new();
    let mut fatal: Option<StoreError> = None;
    for op in batch.drain(..) {
        let (work, reply) = op.split();
        if fatal.is_some() {
            doomed.push(reply);
            continue;
        }
        let savepoint = work.writes() > 1;
        if savepoint && let Err(e) = sqlx::query("SAVEPOINT op").execute(&mut *tx).await {
            fatal = Some(e.into());
            doomed.push(reply);
            continue;
        }
        match run_work(&mut tx, work, now).await {
            Ok(out) => {
                if savepoint && let Err(e) = sqlx::query("RELEASE op").execute(&mut *tx).await {
                    fatal = Some(e.into());
                    doomed.push(reply);
                    continue;
                }
                done.push((reply, out));
            }
            Err(e) if statement_only(&e) => {
                if savepoint && let Err(re) = rollback_to(&mut tx).await {
                    fatal = Some(re);
                    doomed.push(reply);
                    continue;
                }
                reply.err(e);
            }
            Err(e) => {
                fatal = Some(e);
                doomed.push(reply);
            }
        }
    }
    let failure = match fatal {
        Some(e) => {
            let _ = tx.rollback().await;
            Some(e)
        }
        None => tx.commit().await.err().map(StoreError::from),
    };
    match failure {
        None => {
            for (reply, out) in done {
                reply.ok(out);
            }
        }
        Some(e) => {
            tracing::error!(error = %e, operations = done.len() + doomed.len(), "group commit failed; every operation of the batch is reported failed");
            for reply in done.into_iter().map(|(r, _)| r).chain(doomed) {
                reply.err(batch_error(&e));
            }
        }
    }
}

async fn run_work(tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>, work: Work, now: i64) -> Result<Option<String>> {
    match work {
        Work::Apply { change, deliveries } => {
            let conn: &mut sqlx::SqliteConnection = tx;
            Ok(apply_in_tx!(conn, change, &deliveries, now, ""))
        }
        Work::ChargerBoot { charger_id, boot_info } => {
            sqlx::query("UPDATE chargers SET boot_info = $1, booted_at = $2, updated_at = $2 WHERE charger_id = $3")
                .bind(&boot_info)
                .bind(now)
                .bind(&charger_id)
                .execute(&mut **tx)
                .await?;
            Ok(None)
        }
        Work::ChargerConnected { charger_id, connected } => {
            sqlx::query("UPDATE chargers SET connected = $1, updated_at = $2 WHERE charger_id = $3")
                .bind(i64::from(connected))
                .bind(now)
                .bind(&charger_id)
                .execute(&mut **tx)
                .await?;
            Ok(None)
        }
    }
}

async fn rollback_to(tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>) -> Result<()> {
    sqlx::query("ROLLBACK TO op").execute(&mut **tx).await?;
    sqlx::query("RELEASE op").execute(&mut **tx).await?;
    Ok(())
}
