//! Group commit for SQLite: one writer thread runs the hot writes of many callers in one
//! transaction, so that a thousand chargers' StatusNotifications cost one fsync, not a thousand.
//!
//! SQLite has one writer at a time and, with `synchronous=FULL`, one fsync per commit: callers
//! that each commit their own transaction queue on the write lock and on the disk (about 2 500
//! commits/s here). The writer takes every operation queued while the previous batch was being
//! committed, runs them in order in one `BEGIN IMMEDIATE` transaction and answers each caller
//! only after the `COMMIT`: nothing is acknowledged before it is durable, exactly as before.
//!
//! The writer is a dedicated OS thread with its own connection to the database file, driven
//! through rusqlite (the same bundled SQLite library as sqlx). Through sqlx every statement is a
//! round trip to sqlx's connection thread and back (two thread wake-ups, ~50 µs); a batch of 500
//! patches was then bound by those hand-offs, not by SQLite. Here a statement is a function call
//! on prepared statements kept across batches. The SQL text is the one `Store::apply` runs.
//!
//! One operation's failure does not fail the others:
//! - a patch its `PatchFn` rejects fails before anything of it is written;
//! - an operation of several writes runs inside a `SAVEPOINT` and is rolled back to it;
//! - a constraint violation of a single-write operation undoes only that statement;
//! - a patch function that panics fails its operation (the writer thread goes on);
//! - any other database error (I/O, disk full, busy) may have rolled back the whole transaction:
//!   the batch fails as a whole and every caller gets the error (none was acknowledged).
//!
//! PostgreSQL does not use this: its connections write concurrently and its WAL writer groups
//! their commits by itself.

use super::microcpo::{SET_BOOT, SET_CONNECTED};
use super::objects::{DELETE_OBJECT, UPSERT_OBJECT, recipient_of};
use super::outbox::INSERT_DELIVERY;
use super::transactions::{NOTE_CHARGING_SAMPLE, NOTE_CHARGING_TOUCH};
use super::{NewDelivery, ObjectChange, Result, StoreError, now_micros};
use rusqlite::{OptionalExtension, params};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// A patch's read and write (the same rows `Store::apply`'s `SELECT_BODY` / `UPDATE_BODY` touch).
const SELECT_SEQ_BODY: &str = "SELECT seq, body FROM objects WHERE module = ?1 AND country_code = ?2 AND party_id = ?3 AND object_id = ?4";
const UPDATE_BODY_BY_SEQ: &str = "UPDATE objects SET body = ?1, last_updated = ?2 WHERE seq = ?3";

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
    ChargingState {
        charger_id: String,
        evse_number: i64,
        charging: bool,
        ts: i64,
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
    ChargingState { charger_id: String, evse_number: i64, charging: bool, ts: i64 },
}

impl Op {
    fn split(self) -> (Work, Reply) {
        match self {
            Op::Apply { change, deliveries, reply } => (Work::Apply { change, deliveries }, Reply::Apply(reply)),
            Op::ChargerBoot { charger_id, boot_info, reply } => (Work::ChargerBoot { charger_id, boot_info }, Reply::Unit(reply)),
            Op::ChargerConnected { charger_id, connected, reply } => {
                (Work::ChargerConnected { charger_id, connected }, Reply::Unit(reply))
            }
            Op::ChargingState { charger_id, evse_number, charging, ts, reply } => {
                (Work::ChargingState { charger_id, evse_number, charging, ts }, Reply::Unit(reply))
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
            Work::ChargingState { .. } => 2,
        }
    }
}

/// An operation's failure.
enum Failure {
    /// Only this operation is undone (rejected patch, constraint violation): the batch goes on.
    Alone(StoreError),
    /// The transaction may be gone: the whole batch fails.
    Batch(String),
}

fn db_failure(e: rusqlite::Error) -> Failure {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => Failure::Alone(StoreError::Database(e.to_string())),
        _ => Failure::Batch(e.to_string()),
    }
}

/// The batch's error, stated for each caller (`StoreError` is not `Clone`).
fn batch_error(e: &str) -> StoreError {
    StoreError::Database(format!("write batch failed: {e}"))
}

/// Counters of the writer (how well commits are grouped).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) batches: AtomicU64,
    pub(crate) operations: AtomicU64,
}

/// The handle [`Store`](super::Store) keeps when group commit is on.
#[derive(Debug)]
pub(crate) struct Writer {
    ops: mpsc::Sender<Op>,
    pub(crate) stats: Arc<Stats>,
}

/// How the writer opens the database (as the sqlx pool does).
#[derive(Debug, Clone)]
pub(crate) struct SqliteFile {
    pub path: PathBuf,
    pub synchronous_full: bool,
}

impl Writer {
    /// Opens the writer's connection and starts its thread. The thread ends when every handle is
    /// dropped.
    pub(crate) fn spawn(file: &SqliteFile) -> Result<Writer> {
        let conn = open(file).map_err(|e| StoreError::UnsupportedUrl(format!("group commit writer: {e}")))?;
        let (ops, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(Stats::default());
        let thread_stats = stats.clone();
        let checkpointer = open(file).map_err(|e| StoreError::UnsupportedUrl(format!("group commit checkpointer: {e}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_writer = stop.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                run(conn, rx, &thread_stats);
                stop_writer.store(true, Ordering::Release);
            })
            .map_err(|e| StoreError::UnsupportedUrl(format!("group commit writer thread: {e}")))?;
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointer, &stop))
            .map_err(|e| StoreError::UnsupportedUrl(format!("group commit checkpointer thread: {e}")))?;
        Ok(Writer { ops, stats })
    }

    async fn submit<T>(&self, op: Op, rx: oneshot::Receiver<Result<T>>) -> Result<T> {
        if self.ops.send(op).await.is_err() {
            return Err(StoreError::Database("the store's writer has stopped".into()));
        }
        rx.await.unwrap_or_else(|_| Err(StoreError::Database("the store's writer has stopped".into())))
    }

    pub(crate) async fn apply(&self, change: Option<ObjectChange>, deliveries: Vec<NewDelivery>) -> Result<Option<String>> {
        let (reply, rx) = oneshot::channel();
        self.submit(Op::Apply { change, deliveries, reply }, rx).await
    }

    pub(crate) async fn charger_boot(&self, charger_id: &str, boot_info: String) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.submit(Op::ChargerBoot { charger_id: charger_id.to_owned(), boot_info, reply }, rx).await
    }

    pub(crate) async fn charging_state(&self, charger_id: &str, evse_number: i64, charging: bool, ts: i64) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.submit(Op::ChargingState { charger_id: charger_id.to_owned(), evse_number, charging, ts, reply }, rx).await
    }

    pub(crate) async fn charger_connected(&self, charger_id: &str, connected: bool) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.submit(Op::ChargerConnected { charger_id: charger_id.to_owned(), connected, reply }, rx).await
    }
}

fn open(file: &SqliteFile) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(&file.path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if file.synchronous_full { "FULL" } else { "NORMAL" })?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(16);
    // No automatic checkpoints on these connections: the checkpointer thread runs them beside
    // the writer, so that copying the WAL into the database (and its fsync) is not part of any
    // batch's commit. (sqlx's connections keep SQLite's default and checkpoint after their own
    // rare writes.)
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(conn)
}

/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Runs passive checkpoints (they never block the writer or readers) until the writer stops.
fn checkpoint_loop(conn: rusqlite::Connection, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        std::thread::sleep(CHECKPOINT_EVERY);
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed; retried");
        }
    }
    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
}

fn run(mut conn: rusqlite::Connection, mut rx: mpsc::Receiver<Op>, stats: &Stats) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.operations.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let (n, t0) = (batch.len(), std::time::Instant::now());
        commit_batch(&mut conn, &mut batch);
        tracing::debug!(operations = n, micros = t0.elapsed().as_micros() as u64, "group commit");
    }
}

/// Runs `batch` in one transaction and answers every operation.
fn commit_batch(conn: &mut rusqlite::Connection, batch: &mut Vec<Op>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let e = e.to_string();
        for op in batch.drain(..) {
            op.split().1.err(batch_error(&e));
        }
        return;
    }
    let now = now_micros();
    // Operations written, answered after the commit.
    let mut done: Vec<(Reply, Option<String>)> = Vec::with_capacity(batch.len());
    // Operations caught by (or after) a batch-fatal error.
    let mut doomed: Vec<Reply> = Vec::new();
    let mut fatal: Option<String> = None;
    for op in batch.drain(..) {
        let (work, reply) = op.split();
        if fatal.is_some() {
            doomed.push(reply);
            continue;
        }
        let savepoint = work.writes() > 1;
        if savepoint && let Err(e) = exec_savepoint(conn, "SAVEPOINT op") {
            fatal = Some(e.to_string());
            doomed.push(reply);
            continue;
        }
        // A patch function that panics must not take the writer (and every later write) down
        // with it: it fails its own operation. It panics before its row is written.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_work(conn, work, now)))
            .unwrap_or_else(|_| Err(Failure::Alone(StoreError::Database("internal error while applying the change".into()))));
        match outcome {
            Ok(out) => {
                if savepoint && let Err(e) = exec_savepoint(conn, "RELEASE op") {
                    fatal = Some(e.to_string());
                    doomed.push(reply);
                    continue;
                }
                done.push((reply, out));
            }
            Err(Failure::Alone(e)) => {
                if savepoint && let Err(re) = exec_savepoint(conn, "ROLLBACK TO op").and_then(|()| exec_savepoint(conn, "RELEASE op")) {
                    fatal = Some(re.to_string());
                    doomed.push(reply);
                    continue;
                }
                reply.err(e);
            }
            Err(Failure::Batch(e)) => {
                fatal = Some(e);
                doomed.push(reply);
            }
        }
    }
    let executed = std::time::Instant::now();
    let failure = match fatal {
        Some(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Some(e)
        }
        None => conn.execute_batch("COMMIT").err().map(|e| {
            // A failed COMMIT may leave the transaction open: end it.
            let _ = conn.execute_batch("ROLLBACK");
            e.to_string()
        }),
    };
    tracing::trace!(commit_micros = executed.elapsed().as_micros() as u64, "group commit: COMMIT");
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

/// A savepoint statement, prepared once.
fn exec_savepoint(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn run_work(conn: &rusqlite::Connection, work: Work, now: i64) -> std::result::Result<Option<String>, Failure> {
    let out = match work {
        Work::Apply { change, deliveries } => {
            let out = match change {
                None => None,
                Some(ObjectChange::Put { key, last_updated, body }) => {
                    let (rcc, rpid) = recipient_of(&key.module, &body).unzip();
                    conn.prepare_cached(UPSERT_OBJECT)
                        .and_then(|mut st| {
                            st.execute(params![key.module, key.country_code, key.party_id, key.id, last_updated, body, rcc, rpid])
                        })
                        .map_err(db_failure)?;
                    Some(body)
                }
                Some(ObjectChange::Patch { key, patch }) => {
                    // By rowid once found: one walk of the unique index instead of two.
                    let old: Option<(i64, String)> = conn
                        .prepare_cached(SELECT_SEQ_BODY)
                        .and_then(|mut st| {
                            st.query_row(params![key.module, key.country_code, key.party_id, key.id], |r| Ok((r.get(0)?, r.get(1)?)))
                                .optional()
                        })
                        .map_err(db_failure)?;
                    match old {
                        None => None,
                        Some((seq, old)) => {
                            let (body, last_updated) = patch(&old).map_err(|m| Failure::Alone(StoreError::Rejected(m)))?;
                            conn.prepare_cached(UPDATE_BODY_BY_SEQ)
                                .and_then(|mut st| st.execute(params![body, last_updated, seq]))
                                .map_err(db_failure)?;
                            Some(body)
                        }
                    }
                }
                Some(ObjectChange::Delete { key }) => {
                    conn.prepare_cached(DELETE_OBJECT)
                        .and_then(|mut st| st.execute(params![key.module, key.country_code, key.party_id, key.id]))
                        .map_err(db_failure)?;
                    None
                }
            };
            for d in &deliveries {
                let headers = serde_json::to_string(&d.headers).unwrap_or_else(|_| "[]".into());
                conn.prepare_cached(INSERT_DELIVERY)
                    .and_then(|mut st| {
                        st.execute(params![
                            d.target_platform_id,
                            d.object_key,
                            d.module,
                            d.interface_role.as_str(),
                            d.method,
                            d.path,
                            i64::from(d.absolute_url),
                            headers,
                            d.body,
                            now
                        ])
                    })
                    .map_err(db_failure)?;
            }
            out
        }
        Work::ChargerBoot { charger_id, boot_info } => {
            conn.prepare_cached(SET_BOOT)
                .and_then(|mut st| st.execute(params![boot_info, now, charger_id]))
                .map_err(db_failure)?;
            None
        }
        Work::ChargerConnected { charger_id, connected } => {
            conn.prepare_cached(SET_CONNECTED)
                .and_then(|mut st| st.execute(params![i64::from(connected), now, charger_id]))
                .map_err(db_failure)?;
            None
        }
        Work::ChargingState { charger_id, evse_number, charging, ts } => {
            conn.prepare_cached(NOTE_CHARGING_SAMPLE)
                .and_then(|mut st| st.execute(params![ts, i64::from(charging), charger_id, evse_number]))
                .map_err(db_failure)?;
            conn.prepare_cached(NOTE_CHARGING_TOUCH)
                .and_then(|mut st| st.execute(params![now, charger_id, evse_number]))
                .map_err(db_failure)?;
            None
        }
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rusqlite binds by position, and SQLite numbers `$N` parameters in order of first
    /// appearance (sqlx reads the number from the name): a statement shared by both must use its
    /// parameters in ascending order, or the writer would bind values to the wrong columns.
    #[test]
    fn shared_statements_number_their_parameters_in_order() {
        for sql in [UPSERT_OBJECT, DELETE_OBJECT, INSERT_DELIVERY, SET_BOOT, SET_CONNECTED, NOTE_CHARGING_SAMPLE, NOTE_CHARGING_TOUCH] {
            let mut seen: Vec<u32> = Vec::new();
            for part in sql.split('$').skip(1) {
                let n: u32 = part.chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect(sql);
                if !seen.contains(&n) {
                    seen.push(n);
                }
            }
            let ascending: Vec<u32> = (1..=seen.len() as u32).collect();
            assert_eq!(seen, ascending, "{sql}");
        }
    }
}
