//! Shared harness for the end-to-end tests of the `ocpi-hub` binary.
//!
//! Use it from a file in `tests/` with `mod common;` and `use common::*;`.
//!
//! * [`TestDb`]: a throw-away database. SQLite in a temp dir, or a fresh PostgreSQL database
//!   when `HUB_TEST_POSTGRES_URL` is set. It is removed or dropped when the value is dropped.
//! * [`Hub`]: the real `ocpi-hub serve` process on free ports, with its output captured in a log
//!   file. The log's last lines are printed if the test panics.
//! * [`Party`]: a small, configurable OCPI 2.2.1 platform (CPO, eMSP, SCSP, ...) served by
//!   actix-web in a background thread. It records every request it receives, can register with a
//!   hub in either direction, can call the hub, and can be stopped and restarted on the same port.
//!
//! Blocking helpers (`TestDb`, `Hub`, `Party::new/stop/start`) are synchronous and work in
//! `#[test]` and `#[tokio::test]` alike. The helpers that are HTTP clients (`Party::register`,
//! `Party::call`, `Party::wait_for`, ...) are `async` and need a tokio runtime.
//!
//! Scratch files (SQLite databases, hub logs) live under `target/tmp/e2e/`. They are deleted
//! when a test passes and kept when it panics.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::header::HeaderMap;
use reqwest::{Method, Url};
use serde_json::{Value, json};
use uuid::Uuid;

// =============================================================================================
// Small helpers
// =============================================================================================

/// Installs the process-wide rustls crypto provider (reqwest is built with `rustls-no-provider`,
/// so building a client without one panics). Idempotent; every harness constructor calls it.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client for tests: provider installed, 30 s timeout, no proxy.
pub fn http_client() -> reqwest::Client {
    init();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()
        .expect("build reqwest client")
}

/// The OCPI 2.2.1 `Authorization` header value for `token`: `Token <base64(token)>`.
pub fn auth_header(token: &str) -> String {
    format!("Token {}", B64.encode(token))
}

/// The current time as an OCPI DateTime (`2024-01-31T12:00:00Z`).
pub fn now_ts() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An OCPI success envelope: `{"data": data, "status_code": 1000, ...}`.
pub fn envelope(data: Value) -> Value {
    json!({"data": data, "status_code": 1000, "status_message": "Success", "timestamp": now_ts()})
}

/// An OCPI envelope without data: `{"status_code": status_code, "status_message": message, ...}`.
pub fn envelope_status(status_code: u32, message: &str) -> Value {
    json!({"status_code": status_code, "status_message": message, "timestamp": now_ts()})
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct TCP ports on 127.0.0.1 that were free a moment ago.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local_addr").port())
}

/// A fresh directory under `target/tmp/e2e/`.
fn scratch_dir(kind: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e")
        .join(format!("{kind}-{}", Uuid::new_v4().simple()));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// Locks a mutex, ignoring poisoning: a panicking test must not hide the harness's state.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f()` to completion on a new thread with its own current-thread tokio runtime, so it
/// works whether or not the caller is inside a runtime (and from `Drop`).
fn on_own_runtime<T, F, Fut>(f: F) -> std::thread::Result<T>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build tokio runtime")
            .block_on(f())
    })
    .join()
}

/// The last `n` lines of a file (or a note that it cannot be read).
fn tail_of(path: &Path, n: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// Parses a response body: `Null` when empty, the JSON value when it is JSON, else a string.
fn parse_body(bytes: &[u8]) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    }
}

/// Joins an endpoint URL and a suffix (`/NL/CPO/LOC1`, `LOC1`, `?offset=10` or empty).
fn join_url(base: &str, suffix: &str) -> String {
    if suffix.is_empty() {
        return base.to_string();
    }
    let base = base.trim_end_matches('/');
    if suffix.starts_with('/') || suffix.starts_with('?') {
        format!("{base}{suffix}")
    } else {
        format!("{base}/{suffix}")
    }
}

// =============================================================================================
// TestDb
// =============================================================================================

/// A throw-away database for one hub.
///
/// SQLite: `sqlite://{temp dir}/hub.db` (the hub creates the file). PostgreSQL: a database
/// `hub_test_<uuid>` created on the server of `HUB_TEST_POSTGRES_URL` and dropped
/// (`WITH (FORCE)`) when the `TestDb` is dropped. Declare it before the [`Hub`] that uses it, so
/// the hub is dropped (killed) first.
pub struct TestDb {
    url: String,
    backend: Backend,
}

enum Backend {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, name: String },
}

/// Runs one statement on its own connection to `url`.
async fn pg_exec(url: String, sql: String) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    init();
    let mut conn = sqlx::postgres::PgConnection::connect(&url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await?;
    conn.close().await
}

impl TestDb {
    /// A SQLite database file in a fresh temp dir.
    pub fn sqlite() -> TestDb {
        let dir = scratch_dir("db");
        let url = format!("sqlite://{}/hub.db", dir.display());
        TestDb {
            url,
            backend: Backend::Sqlite { dir },
        }
    }

    /// A fresh PostgreSQL database, or `None` when `HUB_TEST_POSTGRES_URL` is not set.
    /// Panics when the variable is set but the database cannot be created.
    pub fn postgres() -> Option<TestDb> {
        let admin_url = std::env::var("HUB_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())?;
        let name = format!("hub_test_{}", Uuid::new_v4().simple());
        let mut url = Url::parse(&admin_url)
            .unwrap_or_else(|e| panic!("HUB_TEST_POSTGRES_URL={admin_url:?} is not a URL: {e}"));
        url.set_path(&format!("/{name}"));

        let (admin, sql) = (admin_url.clone(), format!(r#"CREATE DATABASE "{name}""#));
        match on_own_runtime(move || pg_exec(admin, sql)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                panic!("HUB_TEST_POSTGRES_URL is set, but CREATE DATABASE {name} failed: {e}")
            }
            Err(_) => panic!("HUB_TEST_POSTGRES_URL is set, but CREATE DATABASE {name} panicked"),
        }
        Some(TestDb {
            url: url.to_string(),
            backend: Backend::Postgres { admin_url, name },
        })
    }

    /// SQLite, plus PostgreSQL when configured: run a scenario once per backend with
    /// `for db in TestDb::all() { ... }`.
    pub fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite()];
        dbs.extend(TestDb::postgres());
        dbs
    }

    /// The URL to give the hub as `HUB__DATABASE__URL`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres { .. })
    }

    /// `"sqlite"` or `"postgres"`, for messages.
    pub fn kind(&self) -> &'static str {
        if self.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// The PostgreSQL database name (`hub_test_<uuid>`), if this is one.
    pub fn pg_database(&self) -> Option<&str> {
        match &self.backend {
            Backend::Postgres { name, .. } => Some(name),
            Backend::Sqlite { .. } => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.backend {
            Backend::Sqlite { dir } => {
                if std::thread::panicking() {
                    eprintln!("[harness] keeping SQLite database in {}", dir.display());
                } else {
                    let _ = fs::remove_dir_all(dir);
                }
            }
            Backend::Postgres { admin_url, name } => {
                let (admin, sql) = (
                    admin_url.clone(),
                    format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#),
                );
                match on_own_runtime(move || pg_exec(admin, sql)) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("[harness] could not drop database {name}: {e}"),
                    Err(_) => eprintln!("[harness] dropping database {name} panicked"),
                }
            }
        }
    }
}

// =============================================================================================
// Hub
// =============================================================================================

/// The hub binary under test.
pub const HUB_BIN: &str = env!("CARGO_BIN_EXE_ocpi-hub");

/// How long [`Hub::start`] waits for `GET /ocpi/versions` to answer.
pub const HUB_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The real `ocpi-hub serve` process, on free ports, with fast delivery/forwarding timings.
///
/// Its stdout and stderr go to a log file (appended across restarts); when the test panics,
/// dropping the `Hub` prints the log path and its last 100 lines. Dropping kills the process.
pub struct Hub {
    program: PathBuf,
    env: Vec<(String, String)>,
    http_port: u16,
    ocpp_port: u16,
    dir: PathBuf,
    log_path: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Hub {
    /// Starts `ocpi-hub serve` on `db` and waits until it answers.
    pub fn start(db: &TestDb) -> Hub {
        Hub::start_with_env(db, &[])
    }

    /// Like [`Hub::start`], with extra or overriding environment variables
    /// (e.g. `("HUB__FORWARDING__TIMEOUT_MS", "500")`).
    pub fn start_with_env(db: &TestDb, env: &[(&str, &str)]) -> Hub {
        Hub::start_program(Path::new(HUB_BIN), &db.url(), env)
    }

    /// Starts `program serve` with the hub's environment. [`Hub::start`] uses the real binary;
    /// the harness self-test uses a stand-in program.
    pub fn start_program(program: &Path, db_url: &str, env: &[(&str, &str)]) -> Hub {
        init();
        let [http_port, ocpp_port] = free_ports::<2>();
        let dir = scratch_dir("hub");
        let mut vars: Vec<(String, String)> = [
            ("HUB__DATABASE__URL", db_url.to_string()),
            ("HUB__HTTP__LISTEN", format!("127.0.0.1:{http_port}")),
            (
                "HUB__HTTP__PUBLIC_URL",
                format!("http://127.0.0.1:{http_port}"),
            ),
            ("HUB__OCPP__LISTEN", format!("127.0.0.1:{ocpp_port}")),
            ("HUB__IDENTITY__COUNTRY_CODE", "NL".to_string()),
            ("HUB__IDENTITY__PARTY_ID", "HUB".to_string()),
            ("HUB__DELIVERY__MIN_BACKOFF_MS", "100".to_string()),
            ("HUB__DELIVERY__MAX_BACKOFF_MS", "500".to_string()),
            ("HUB__DELIVERY__POLL_MS", "100".to_string()),
            ("HUB__FORWARDING__TIMEOUT_MS", "2000".to_string()),
            ("RUST_LOG", "info".to_string()),
            // The log is a file: no ANSI colours (tracing-subscriber honours NO_COLOR).
            ("NO_COLOR", "1".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in env {
            match vars.iter_mut().find(|(key, _)| key == k) {
                Some(slot) => slot.1 = v.to_string(),
                None => vars.push((k.to_string(), v.to_string())),
            }
        }
        let hub = Hub {
            program: program.to_path_buf(),
            env: vars,
            http_port,
            ocpp_port,
            log_path: dir.join("hub.log"),
            dir,
            child: Mutex::new(None),
        };
        hub.spawn();
        hub
    }

    /// `http://127.0.0.1:{port}` (also the hub's `HUB__HTTP__PUBLIC_URL`).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// `{base_url}/ocpi/versions`.
    pub fn versions_url(&self) -> String {
        format!("{}/ocpi/versions", self.base_url())
    }

    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The port given as `HUB__OCPP__LISTEN`.
    pub fn ocpp_port(&self) -> u16 {
        self.ocpp_port
    }

    /// `ws://127.0.0.1:{ocpp_port}`.
    pub fn ocpp_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.ocpp_port)
    }

    /// The environment the hub (and [`Hub::cli`]) runs with.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// The working directory of the hub process (a temp dir).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A `Command` for the binary with the hub's environment and working directory, without
    /// arguments. `HUB__*` variables inherited from the test's environment are removed.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("HUB__") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.dir);
        cmd
    }

    /// Runs `ocpi-hub <args>` with the hub's environment and returns its raw output.
    pub fn cli_output(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {} {}: {e}", self.program.display(), args.join(" ")))
    }

    /// Runs `ocpi-hub <args>`, asserts it succeeded, and parses its stdout as JSON.
    pub fn cli(&self, args: &[&str]) -> Value {
        let out = self.cli_output(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "`ocpi-hub {}` failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            args.join(" "),
            out.status
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "`ocpi-hub {}` did not print JSON on stdout ({e})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
                args.join(" ")
            )
        })
    }

    /// `ocpi-hub party invite`, returning the invite token (the spec's token A).
    pub fn invite(&self) -> String {
        let out = self.cli(&["party", "invite"]);
        out["token"]
            .as_str()
            .unwrap_or_else(|| panic!("`party invite` printed no token: {out}"))
            .to_string()
    }

    /// Kills the process (SIGKILL) and waits for it. No-op when it is not running.
    pub fn kill(&self) {
        if let Some(mut child) = lock(&self.child).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits up to `grace` for the process to exit, then SIGKILLs it.
    pub fn terminate(&self, grace: Duration) {
        let Some(mut child) = lock(&self.child).take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills the process if it runs, then starts it again with the same database, ports and
    /// environment, and waits until it answers.
    pub fn restart(&self) {
        self.kill();
        self.spawn();
    }

    /// Whether the process is still alive.
    pub fn is_running(&self) -> bool {
        match lock(&self.child).as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        tail_of(&self.log_path, n)
    }

    fn spawn(&self) {
        let mut log = File::options()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.log_path.display()));
        let _ = writeln!(
            log,
            "===== [harness] {} serve (http {}, ocpp {}) =====",
            self.program.display(),
            self.http_port,
            self.ocpp_port
        );
        let stdout = log.try_clone().expect("clone log file handle");
        let child = self
            .command()
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {} serve: {e}", self.program.display()));
        *lock(&self.child) = Some(child);
        self.wait_ready();
    }

    /// Polls `GET /ocpi/versions` until any HTTP response comes back.
    fn wait_ready(&self) {
        let deadline = Instant::now() + HUB_STARTUP_TIMEOUT;
        loop {
            let exited = lock(&self.child)
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!("ocpi-hub exited during startup ({status}); see its log below");
            }
            if http_answers(self.http_port) {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "ocpi-hub did not answer GET /ocpi/versions on port {} within {:?}; see its log below",
                    self.http_port, HUB_STARTUP_TIMEOUT
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Whether something on 127.0.0.1:`port` answers `GET /ocpi/versions` with an HTTP response.
fn http_answers(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /ocpi/versions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "\n[harness] ocpi-hub log: {}\n----- last 100 lines -----\n{}\n----- end of hub log -----",
                self.log_path.display(),
                self.log_tail(100)
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

// =============================================================================================
// Party: recorded requests and replies
// =============================================================================================

/// One request a [`Party`] received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Sequence number within the party (survives `clear_received`).
    pub seq: u64,
    /// Upper-case method (`GET`, `PUT`, ...).
    pub method: String,
    /// The path, e.g. `/ocpi/2.2.1/receiver/locations/NL/CPO/LOC1`.
    pub path: String,
    /// The raw query string without `?` (empty when none).
    pub query: String,
    /// Headers with lower-cased names; repeated headers are joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The body: `Null` when empty, the JSON value, or a string when it is not JSON.
    pub body: Value,
    /// The HTTP status the party answered (set once the answer is chosen).
    pub status: Option<u16>,
    pub received_at: Instant,
}

impl Recorded {
    /// A header by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// A decoded query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        query_pairs(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// `method` matches (case-insensitive, `*` for any) and the path starts with `path_prefix`
    /// (absolute, or relative to `/ocpi/2.2.1/` when it does not start with `/`).
    pub fn is(&self, method: &str, path_prefix: &str) -> bool {
        (method == "*" || self.method.eq_ignore_ascii_case(method))
            && self.path.starts_with(&normalize_prefix(path_prefix))
    }

    /// The token in `Authorization: Token <base64>`, decoded (None when absent or not Base64).
    pub fn token(&self) -> Option<String> {
        self.header("authorization").and_then(decode_token)
    }

    /// One line: `PUT /path?query -> 200 {body...}`.
    pub fn summary(&self) -> String {
        let mut body = self.body.to_string();
        if body.len() > 300 {
            let mut cut = 300;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            body.push_str("...");
        }
        let query = if self.query.is_empty() {
            String::new()
        } else {
            format!("?{}", self.query)
        };
        let status = self.status.map_or("-".to_string(), |s| s.to_string());
        format!(
            "#{} {} {}{} -> {} {}",
            self.seq, self.method, self.path, query, status, body
        )
    }
}

/// Decodes a raw query string into `(name, value)` pairs.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    match Url::parse(&format!("http://x/?{query}")) {
        Ok(parsed) => parsed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Makes a path prefix absolute: `sender/tokens` → `/ocpi/2.2.1/sender/tokens`.
fn normalize_prefix(prefix: &str) -> String {
    if prefix.starts_with('/') {
        prefix.to_string()
    } else {
        format!("/ocpi/2.2.1/{prefix}")
    }
}

/// Decodes `Token <base64>` (2.2.1 form only; the raw form is rejected).
fn decode_token(header: &str) -> Option<String> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("token") {
        return None;
    }
    String::from_utf8(B64.decode(rest.trim()).ok()?).ok()
}

/// An answer a [`Party`] gives.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// JSON body; `Null` sends an empty body.
    pub body: Value,
    pub headers: Vec<(String, String)>,
    /// Wait this long before answering (the request is recorded before the wait).
    pub delay: Option<Duration>,
}

impl Reply {
    /// HTTP 200 with a success envelope around `data`.
    pub fn ok(data: Value) -> Reply {
        Reply::json(200, envelope(data))
    }

    /// HTTP 200 with `{"status_code":1000,"timestamp":...}` (the default answer to a push).
    pub fn ack() -> Reply {
        Reply::json(200, json!({"status_code": 1000, "timestamp": now_ts()}))
    }

    /// Any status with any JSON body.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body,
            headers: Vec::new(),
            delay: None,
        }
    }

    /// `http_status` with an envelope carrying `status_code` and `message` and no data.
    pub fn ocpi(http_status: u16, status_code: u32, message: &str) -> Reply {
        Reply::json(http_status, envelope_status(status_code, message))
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn with_delay(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }

    fn into_response(self) -> HttpResponse {
        let status = actix_web::http::StatusCode::from_u16(self.status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = HttpResponse::build(status);
        for (name, value) in &self.headers {
            resp.insert_header((name.as_str(), value.as_str()));
        }
        if self.body.is_null() {
            resp.finish()
        } else {
            resp.content_type("application/json")
                .body(self.body.to_string())
        }
    }
}

/// A custom answer: returns `Some(reply)` to answer a request, `None` to let the next responder
/// (or the default behaviour) handle it.
pub type Responder = Arc<dyn Fn(&Recorded) -> Option<Reply> + Send + Sync>;

// =============================================================================================
// Party: configuration and registration state
// =============================================================================================

/// One OCPI role of a party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRole {
    pub country_code: String,
    pub party_id: String,
    /// `CPO`, `EMSP`, `SCSP`, `NSP`, `NAP`, `HUB`, `OTHER`.
    pub role: String,
}

/// One entry of a version details `endpoints` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub identifier: String,
    /// `SENDER` or `RECEIVER`.
    pub role: String,
    pub url: String,
}

/// What a party knows about the platform it registered with (normally the hub).
#[derive(Debug, Clone)]
pub struct HubLink {
    /// The token the party sends when it calls the hub (the spec's token C when the party
    /// initiated the registration; the token from the hub's POST when the hub did).
    pub token: String,
    pub versions_url: String,
    /// The hub's 2.2.1 version details endpoints.
    pub endpoints: Vec<Endpoint>,
    /// The hub's credentials object as received.
    pub credentials: Value,
}

impl HubLink {
    /// The endpoint for `module` (identifier) and `interface` (`sender`/`receiver`, any case).
    pub fn endpoint(&self, module: &str, interface: &str) -> Option<&Endpoint> {
        self.endpoints
            .iter()
            .find(|e| e.identifier == module && e.role.eq_ignore_ascii_case(interface))
    }
}

/// Default modules by role: `(module, interface)` with the interface this party implements.
fn default_modules(roles: &[PartyRole]) -> Vec<(String, String)> {
    let mut modules: Vec<(String, String)> = Vec::new();
    for role in roles {
        let list: &[(&str, &str)] = match role.role.as_str() {
            "CPO" => &[
                ("locations", "sender"),
                ("sessions", "sender"),
                ("cdrs", "sender"),
                ("tariffs", "sender"),
                ("tokens", "receiver"),
                ("commands", "receiver"),
                ("chargingprofiles", "receiver"),
            ],
            "EMSP" => &[
                ("locations", "receiver"),
                ("sessions", "receiver"),
                ("cdrs", "receiver"),
                ("tariffs", "receiver"),
                ("tokens", "sender"),
                ("commands", "sender"),
            ],
            "SCSP" => &[
                ("chargingprofiles", "sender"),
                ("locations", "receiver"),
                ("sessions", "receiver"),
            ],
            "NSP" => &[("locations", "receiver"), ("tariffs", "receiver")],
            _ => &[],
        };
        for (m, i) in list {
            let entry = (m.to_string(), i.to_string());
            if !modules.contains(&entry) {
                modules.push(entry);
            }
        }
    }
    modules
}

fn normalize_modules(modules: &[(&str, &str)]) -> Vec<(String, String)> {
    modules
        .iter()
        .map(|(m, i)| {
            let i = i.to_ascii_lowercase();
            assert!(
                i == "sender" || i == "receiver",
                "interface must be sender or receiver, got {i:?}"
            );
            (m.to_ascii_lowercase(), i)
        })
        .collect()
}

struct PartyConfig {
    modules: Vec<(String, String)>,
    lists: BTreeMap<String, Vec<Value>>,
    page_limit: usize,
    responders: Vec<Responder>,
    token_a_valid: bool,
}

/// State shared between a [`Party`] handle and its server thread.
struct PartyState {
    base_url: String,
    roles: Vec<PartyRole>,
    token_a: String,
    token_b: String,
    config: Mutex<PartyConfig>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    seq: AtomicU64,
    link: Mutex<Option<HubLink>>,
}

enum Auth {
    /// Token B: the token this party issued for calls to it.
    B,
    /// Token A: the registration token, valid until a successful credentials POST.
    A,
    None,
}

impl PartyState {
    fn credentials(&self) -> Value {
        json!({
            "token": self.token_b,
            "url": format!("{}/ocpi/versions", self.base_url),
            "roles": self.roles.iter().map(|r| json!({
                "role": r.role,
                "party_id": r.party_id,
                "country_code": r.country_code,
                "business_details": {"name": format!("{} {} test party", r.country_code, r.party_id)},
            })).collect::<Vec<_>>(),
        })
    }

    fn endpoints(&self) -> Vec<Value> {
        let v221 = format!("{}/ocpi/2.2.1", self.base_url);
        let mut endpoints = vec![
            json!({"identifier": "credentials", "role": "SENDER", "url": format!("{v221}/credentials")}),
            json!({"identifier": "credentials", "role": "RECEIVER", "url": format!("{v221}/credentials")}),
        ];
        for (module, iface) in &lock(&self.config).modules {
            endpoints.push(json!({
                "identifier": module,
                "role": iface.to_ascii_uppercase(),
                "url": format!("{v221}/{iface}/{module}"),
            }));
        }
        endpoints
    }

    fn authenticate(&self, rec: &Recorded) -> Auth {
        match rec.token() {
            Some(t) if t == self.token_b => Auth::B,
            Some(t) if t == self.token_a && lock(&self.config).token_a_valid => Auth::A,
            _ => Auth::None,
        }
    }

    fn record(&self, mut rec: Recorded) -> Recorded {
        rec.seq = self.seq.fetch_add(1, Ordering::SeqCst);
        lock(&self.recorded).push(rec.clone());
        rec
    }

    fn set_status(&self, seq: u64, status: u16) {
        if let Some(r) = lock(&self.recorded).iter_mut().rev().find(|r| r.seq == seq) {
            r.status = Some(status);
        }
    }

    fn custom_reply(&self, rec: &Recorded) -> Option<Reply> {
        let responders: Vec<Responder> = lock(&self.config).responders.clone();
        responders.iter().rev().find_map(|f| f(rec))
    }

    async fn dispatch(&self, rec: &Recorded) -> Reply {
        let path = rec.path.trim_end_matches('/');
        let registration = path == "/ocpi/versions"
            || path == "/ocpi/2.2.1"
            || (path == "/ocpi/2.2.1/credentials" && rec.method == "POST");
        let auth = self.authenticate(rec);
        match auth {
            Auth::B => {}
            Auth::A if registration => {}
            _ => return Reply::ocpi(401, 2000, "Invalid or missing token"),
        }
        if let Some(reply) = self.custom_reply(rec) {
            return reply;
        }
        match path {
            "/ocpi/versions" => Reply::ok(json!([
                {"version": "2.2.1", "url": format!("{}/ocpi/2.2.1", self.base_url)}
            ])),
            "/ocpi/2.2.1" => Reply::ok(json!({"version": "2.2.1", "endpoints": self.endpoints()})),
            "/ocpi/2.2.1/credentials" => self.credentials_endpoint(rec, auth).await,
            p if p.starts_with("/ocpi/2.2.1/") => {
                self.module_endpoint(rec, &p["/ocpi/2.2.1/".len()..])
            }
            _ => Reply::ocpi(404, 2000, "Unknown path"),
        }
    }

    async fn credentials_endpoint(&self, rec: &Recorded, auth: Auth) -> Reply {
        match (rec.method.as_str(), auth) {
            ("GET", Auth::B) => Reply::ok(self.credentials()),
            ("POST", Auth::A) | ("PUT", Auth::B) => {
                let (Some(token), Some(url)) =
                    (rec.body["token"].as_str(), rec.body["url"].as_str())
                else {
                    return Reply::ocpi(400, 2001, "credentials need token and url");
                };
                // As the spec's server: fetch the client's versions and details with its token.
                match discover(&http_client(), url, token).await {
                    Ok((_, endpoints)) => {
                        *lock(&self.link) = Some(HubLink {
                            token: token.to_string(),
                            versions_url: url.to_string(),
                            endpoints,
                            credentials: rec.body.clone(),
                        });
                        if rec.method == "POST" {
                            lock(&self.config).token_a_valid = false;
                        }
                        Reply::ok(self.credentials())
                    }
                    Err(e) => {
                        Reply::ocpi(400, 3001, &format!("Unable to use the client's API: {e}"))
                    }
                }
            }
            ("POST", _) => Reply::ocpi(405, 2000, "Already registered; use PUT"),
            ("DELETE", Auth::B) => {
                *lock(&self.link) = None;
                Reply::ack()
            }
            _ => Reply::ocpi(405, 2000, "Method not allowed"),
        }
    }

    /// `rest` is `{sender|receiver}/{module}[/...]`.
    fn module_endpoint(&self, rec: &Recorded, rest: &str) -> Reply {
        let mut segments = rest.split('/');
        let iface = segments.next().unwrap_or_default();
        let module = segments.next().unwrap_or_default();
        let tail: Vec<&str> = segments.filter(|s| !s.is_empty()).collect();
        let config = lock(&self.config);
        if !config
            .modules
            .iter()
            .any(|(m, i)| m == module && i == iface)
        {
            return Reply::ocpi(
                404,
                2000,
                &format!("This party does not implement {module} {iface}"),
            );
        }
        match (rec.method.as_str(), iface) {
            ("GET", "sender") if tail.is_empty() => {
                let items = config.lists.get(module).cloned().unwrap_or_default();
                self.page(rec, items, config.page_limit)
            }
            ("GET", "sender") => {
                let items = config.lists.get(module).cloned().unwrap_or_default();
                let id_of = |v: &Value| {
                    v.get("id")
                        .or_else(|| v.get("uid"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                let mut found = items
                    .into_iter()
                    .find(|v| id_of(v).as_deref() == Some(tail[0]));
                for seg in &tail[1..] {
                    found = found.and_then(|v| {
                        let children = v
                            .get("evses")
                            .or_else(|| v.get("connectors"))?
                            .as_array()?
                            .clone();
                        children
                            .into_iter()
                            .find(|c| id_of(c).as_deref() == Some(seg))
                    });
                }
                match found {
                    Some(obj) => Reply::ok(obj),
                    None => Reply::ocpi(404, 2003, "Unknown object"),
                }
            }
            ("GET", _) => Reply::ocpi(404, 2003, "Unknown object"),
            _ => Reply::ack(),
        }
    }

    /// A page of `items` per the request's `offset`/`limit`, with `X-Total-Count`, `X-Limit`
    /// and, when more remain, `Link: <...>; rel="next"`.
    fn page(&self, rec: &Recorded, items: Vec<Value>, page_limit: usize) -> Reply {
        let total = items.len();
        let offset = rec
            .query_param("offset")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0usize)
            .min(total);
        let limit = rec
            .query_param("limit")
            .and_then(|s| s.parse().ok())
            .filter(|l: &usize| *l > 0)
            .unwrap_or(page_limit)
            .min(page_limit)
            .max(1);
        let end = (offset + limit).min(total);
        let mut reply = Reply::ok(Value::Array(items[offset..end].to_vec()))
            .with_header("X-Total-Count", &total.to_string())
            .with_header("X-Limit", &limit.to_string());
        if end < total {
            let mut next = Url::parse(&format!("{}{}", self.base_url, rec.path)).expect("own URL");
            {
                let mut pairs = next.query_pairs_mut();
                for (k, v) in query_pairs(&rec.query) {
                    if k != "offset" && k != "limit" {
                        pairs.append_pair(&k, &v);
                    }
                }
                pairs.append_pair("offset", &end.to_string());
                pairs.append_pair("limit", &limit.to_string());
            }
            reply = reply.with_header("Link", &format!("<{next}>; rel=\"next\""));
        }
        reply
    }
}

/// GET an OCPI URL with `token`; the envelope's `data` when HTTP 2xx and status_code 1000.
async fn get_ocpi(client: &reqwest::Client, url: &str, token: &str) -> Result<Value, String> {
    let resp = client
        .get(url)
        .header("Authorization", auth_header(token))
        .header("X-Request-ID", Uuid::new_v4().to_string())
        .header("X-Correlation-ID", Uuid::new_v4().to_string())
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: reading body: {e}"))?;
    let body = parse_body(&bytes);
    if !status.is_success() || body["status_code"] != 1000 {
        return Err(format!("GET {url}: HTTP {status}, body {body}"));
    }
    Ok(body["data"].clone())
}

/// Sends `method url` with `token` (Base64-encoded into `Authorization`), fresh `X-Request-ID`
/// and `X-Correlation-ID`, optional `OCPI-from-*`/`OCPI-to-*` `(country_code, party_id)` and an
/// optional JSON body. Returns the status, headers and body (`Null` when empty, a string when
/// not JSON). Panics when the request cannot be sent at all (connection refused, timeout).
pub async fn send_ocpi(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    token: &str,
    from: Option<(&str, &str)>,
    to: Option<(&str, &str)>,
    body: Option<Value>,
) -> (u16, HeaderMap, Value) {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .unwrap_or_else(|_| panic!("bad HTTP method {method:?}"));
    let mut req = client
        .request(method.clone(), url)
        .header("Authorization", auth_header(token))
        .header("X-Request-ID", Uuid::new_v4().to_string())
        .header("X-Correlation-ID", Uuid::new_v4().to_string());
    if let Some((cc, id)) = from {
        req = req
            .header("OCPI-from-country-code", cc)
            .header("OCPI-from-party-id", id);
    }
    if let Some((cc, id)) = to {
        req = req
            .header("OCPI-to-country-code", cc)
            .header("OCPI-to-party-id", id);
    }
    if let Some(body) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: reading body: {e}"));
    (status, headers, parse_body(&bytes))
}

/// Fetches versions, picks 2.2.1, fetches its details: `(details URL, endpoints)`.
async fn discover(
    client: &reqwest::Client,
    versions_url: &str,
    token: &str,
) -> Result<(String, Vec<Endpoint>), String> {
    let versions = get_ocpi(client, versions_url, token).await?;
    let details_url = versions
        .as_array()
        .and_then(|list| list.iter().find(|v| v["version"] == "2.2.1"))
        .and_then(|v| v["url"].as_str())
        .ok_or_else(|| format!("{versions_url} offers no version 2.2.1: {versions}"))?
        .to_string();
    let details = get_ocpi(client, &details_url, token).await?;
    if details["version"] != "2.2.1" {
        return Err(format!(
            "{details_url}: version details are not 2.2.1: {details}"
        ));
    }
    let endpoints = details["endpoints"]
        .as_array()
        .ok_or_else(|| format!("{details_url}: no endpoints list: {details}"))?
        .iter()
        .map(|e| {
            match (
                e["identifier"].as_str(),
                e["role"].as_str(),
                e["url"].as_str(),
            ) {
                (Some(identifier), Some(role), Some(url)) => Ok(Endpoint {
                    identifier: identifier.to_string(),
                    role: role.to_string(),
                    url: url.to_string(),
                }),
                _ => Err(format!("{details_url}: malformed endpoint {e}")),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((details_url, endpoints))
}

/// The one handler of a party's server: records, authenticates, answers.
async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<PartyState>) -> HttpResponse {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in req.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_ascii_lowercase())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let rec = state.record(Recorded {
        seq: 0,
        method: req.method().as_str().to_ascii_uppercase(),
        path: req.path().to_string(),
        query: req.query_string().to_string(),
        headers,
        body: parse_body(&body),
        status: None,
        received_at: Instant::now(),
    });
    let reply = state.dispatch(&rec).await;
    state.set_status(rec.seq, reply.status);
    if let Some(delay) = reply.delay {
        actix_web::rt::time::sleep(delay).await;
    }
    reply.into_response()
}

// =============================================================================================
// Party
// =============================================================================================

struct ServerThread {
    handle: actix_web::dev::ServerHandle,
    thread: JoinHandle<()>,
}

/// A small OCPI 2.2.1 platform for tests, served on `127.0.0.1:{port}`.
///
/// It serves:
/// * `GET /ocpi/versions` and `GET /ocpi/2.2.1` (version details: `credentials` as SENDER and
///   RECEIVER at `{base}/ocpi/2.2.1/credentials`, and every configured module at
///   `{base}/ocpi/2.2.1/{sender|receiver}/{module}`);
/// * `/ocpi/2.2.1/credentials`: GET; POST with token A (hub-initiated registration: it fetches
///   the caller's versions and details with the given token, stores them as its [`HubLink`] and
///   answers with its credentials, token B); PUT (update); DELETE (unregister);
/// * modules: any push (PUT/PATCH/POST/DELETE) → 200 `{"status_code":1000,...}`;
///   `GET /sender/{module}` → the list set with [`Party::set_list`], paginated;
///   `GET /sender/{module}/{id}[/{evse_uid}[/{connector_id}]]` → that object from the list;
///   anything not implemented → 404.
///
/// Every request needs `Authorization: Token <base64(token B)>` (token A is also accepted for
/// versions, details and the credentials POST until that POST succeeds); others get 401. Custom
/// answers ([`Party::respond`], [`Party::respond_fn`]) take precedence over the defaults, after
/// the token check. Every request, authorized or not, is recorded.
pub struct Party {
    state: Arc<PartyState>,
    port: u16,
    server: Mutex<Option<ServerThread>>,
    client: reqwest::Client,
}

impl Party {
    /// A party with `roles` as `(country_code, party_id, role)` and the default modules of those
    /// roles: CPO = SENDER of locations, sessions, cdrs, tariffs and RECEIVER of tokens,
    /// commands, chargingprofiles; EMSP = RECEIVER of locations, sessions, cdrs, tariffs and
    /// SENDER of tokens, commands; SCSP = SENDER of chargingprofiles, RECEIVER of locations,
    /// sessions; NSP = RECEIVER of locations, tariffs. Started at once.
    pub fn new<'a>(roles: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> Party {
        let roles = Party::roles_from(roles);
        let modules = default_modules(&roles);
        Party::build(roles, modules)
    }

    /// A party with `roles` and exactly `modules`, as `(module, "sender"|"receiver")` pairs
    /// (the interface this party implements). Started at once.
    pub fn with_modules<'a>(
        roles: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
        modules: &[(&str, &str)],
    ) -> Party {
        Party::build(Party::roles_from(roles), normalize_modules(modules))
    }

    fn roles_from<'a>(
        roles: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Vec<PartyRole> {
        let roles: Vec<PartyRole> = roles
            .into_iter()
            .map(|(cc, id, role)| PartyRole {
                country_code: cc.to_string(),
                party_id: id.to_string(),
                role: role.to_ascii_uppercase(),
            })
            .collect();
        assert!(!roles.is_empty(), "a Party needs at least one role");
        roles
    }

    fn build(roles: Vec<PartyRole>, modules: Vec<(String, String)>) -> Party {
        init();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        let state = Arc::new(PartyState {
            base_url: format!("http://127.0.0.1:{port}"),
            roles,
            token_a: format!("party-a-{}", Uuid::new_v4().simple()),
            token_b: format!("party-b-{}", Uuid::new_v4().simple()),
            config: Mutex::new(PartyConfig {
                modules,
                lists: BTreeMap::new(),
                page_limit: 50,
                responders: Vec::new(),
                token_a_valid: true,
            }),
            recorded: Arc::new(Mutex::new(Vec::new())),
            seq: AtomicU64::new(0),
            link: Mutex::new(None),
        });
        let party = Party {
            state,
            port,
            server: Mutex::new(None),
            client: http_client(),
        };
        *lock(&party.server) = Some(spawn_server(party.state.clone(), listener));
        party
    }

    // ----- identity ---------------------------------------------------------------------------

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:{port}`.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// `{base_url}/ocpi/versions`: the URL to give the hub.
    pub fn versions_url(&self) -> String {
        format!("{}/ocpi/versions", self.state.base_url)
    }

    /// `{base_url}/ocpi/2.2.1/{interface}/{module}`: where this party serves a module.
    pub fn module_url(&self, module: &str, interface: &str) -> String {
        format!(
            "{}/ocpi/2.2.1/{}/{}",
            self.state.base_url,
            interface.to_ascii_lowercase(),
            module
        )
    }

    pub fn roles(&self) -> Vec<PartyRole> {
        self.state.roles.clone()
    }

    /// The first role's `(country_code, party_id)`: the default `OCPI-from-*` of [`Party::call`].
    pub fn id(&self) -> (String, String) {
        let r = &self.state.roles[0];
        (r.country_code.clone(), r.party_id.clone())
    }

    /// The registration token this party accepts (the spec's token A), for the hub-initiated
    /// direction: `ocpi-hub party register --versions-url <versions_url> --token <token_a>`.
    pub fn token_a(&self) -> String {
        self.state.token_a.clone()
    }

    /// The token this party issued for calls to it (the spec's token B); the only one it
    /// accepts once registered.
    pub fn token_b(&self) -> String {
        self.state.token_b.clone()
    }

    /// The party's credentials object (token B, versions URL, roles).
    pub fn credentials(&self) -> Value {
        self.state.credentials()
    }

    // ----- configuration ----------------------------------------------------------------------

    /// Replaces the implemented modules (`(module, "sender"|"receiver")`). Version details are
    /// computed per request, so this takes effect at once.
    pub fn set_modules(&self, modules: &[(&str, &str)]) {
        lock(&self.state.config).modules = normalize_modules(modules);
    }

    /// The implemented modules.
    pub fn modules(&self) -> Vec<(String, String)> {
        lock(&self.state.config).modules.clone()
    }

    /// Adds or removes the `hubclientinfo` RECEIVER interface (off by default).
    pub fn set_hubclientinfo(&self, enabled: bool) {
        let mut config = lock(&self.state.config);
        config.modules.retain(|(m, _)| m != "hubclientinfo");
        if enabled {
            config
                .modules
                .push(("hubclientinfo".to_string(), "receiver".to_string()));
        }
    }

    /// The objects served by `GET /ocpi/2.2.1/sender/{module}` (default: empty).
    pub fn set_list(&self, module: &str, items: Vec<Value>) {
        lock(&self.state.config)
            .lists
            .insert(module.to_string(), items);
    }

    /// The largest page this party serves (default 50); smaller `limit`s are honoured.
    pub fn set_page_limit(&self, limit: usize) {
        lock(&self.state.config).page_limit = limit.max(1);
    }

    /// Answers requests with `method` (`*` for any) whose path starts with `path_prefix`
    /// (absolute, or relative to `/ocpi/2.2.1/`, e.g. `"sender/tokens"`) with `reply`.
    /// Responders registered later take precedence.
    pub fn respond(&self, method: &str, path_prefix: &str, reply: Reply) {
        let (method, prefix) = (method.to_string(), path_prefix.to_string());
        self.respond_fn(move |r| r.is(&method, &prefix).then(|| reply.clone()));
    }

    /// Like [`Party::respond`], for the first `times` matching requests only (e.g. fail twice
    /// with 503, then fall back to the default answer).
    pub fn respond_times(&self, method: &str, path_prefix: &str, reply: Reply, times: usize) {
        let (method, prefix) = (method.to_string(), path_prefix.to_string());
        let used = AtomicUsize::new(0);
        self.respond_fn(move |r| {
            (r.is(&method, &prefix) && used.fetch_add(1, Ordering::SeqCst) < times)
                .then(|| reply.clone())
        });
    }

    /// Adds a custom responder: the first one (newest first) returning `Some` answers.
    pub fn respond_fn(&self, f: impl Fn(&Recorded) -> Option<Reply> + Send + Sync + 'static) {
        lock(&self.state.config).responders.push(Arc::new(f));
    }

    /// Removes every custom responder.
    pub fn clear_responses(&self) {
        lock(&self.state.config).responders.clear();
    }

    // ----- recorded requests --------------------------------------------------------------------

    /// Every request received so far (since the last [`Party::clear_received`]), oldest first.
    pub fn received(&self) -> Vec<Recorded> {
        lock(&self.state.recorded).clone()
    }

    /// The shared log of received requests.
    pub fn recorder(&self) -> Arc<Mutex<Vec<Recorded>>> {
        self.state.recorded.clone()
    }

    pub fn clear_received(&self) {
        lock(&self.state.recorded).clear();
    }

    /// One line per received request, for assertion messages.
    pub fn dump_received(&self) -> String {
        let received = self.received();
        if received.is_empty() {
            return "  (nothing)".to_string();
        }
        received
            .iter()
            .map(|r| format!("  {}", r.summary()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The first received request (including ones received before this call) matching `pred`;
    /// polls every 50 ms and panics after `timeout` listing what was received.
    pub async fn wait_for(&self, pred: impl Fn(&Recorded) -> bool, timeout: Duration) -> Recorded {
        self.wait_for_count(pred, 1, timeout).await.remove(0)
    }

    /// The first `count` received requests matching `pred`, waiting up to `timeout` for them.
    pub async fn wait_for_count(
        &self,
        pred: impl Fn(&Recorded) -> bool,
        count: usize,
        timeout: Duration,
    ) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let matching: Vec<Recorded> = self.received().into_iter().filter(|r| pred(r)).collect();
            if matching.len() >= count {
                return matching.into_iter().take(count).collect();
            }
            if Instant::now() >= deadline {
                panic!(
                    "party {} ({}): timed out after {:?} waiting for {} matching request(s), got {}; received:\n{}",
                    self.id().1,
                    self.base_url(),
                    timeout,
                    count,
                    matching.len(),
                    self.dump_received()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // ----- registration -------------------------------------------------------------------------

    /// Registers with `hub` using the invite `token_a`: the party-initiated OCPI 2.2.1
    /// credentials exchange. Returns the hub's credentials object (the `data` of its answer:
    /// token C, url, roles). Panics on failure.
    pub async fn register(&self, hub: &Hub, token_a: &str) -> Value {
        self.register_at(&hub.versions_url(), token_a).await
    }

    /// [`Party::register`] against any versions URL.
    pub async fn register_at(&self, versions_url: &str, token_a: &str) -> Value {
        self.try_register_at(versions_url, token_a)
            .await
            .unwrap_or_else(|e| panic!("registration of {:?} failed: {e}", self.id()))
    }

    /// The registration, returning the error instead of panicking: GET versions with token A,
    /// pick 2.2.1, GET details, POST this party's credentials (token B, versions URL, roles) to
    /// the `credentials` endpoint; on success stores token C and the endpoints as the
    /// [`HubLink`].
    pub async fn try_register_at(
        &self,
        versions_url: &str,
        token_a: &str,
    ) -> Result<Value, String> {
        let (_, endpoints) = discover(&self.client, versions_url, token_a).await?;
        let credentials_url = endpoints
            .iter()
            .find(|e| e.identifier == "credentials")
            .map(|e| e.url.clone())
            .ok_or_else(|| format!("{versions_url}: no credentials endpoint in {endpoints:?}"))?;
        let (status, _, body) = self
            .request(
                "POST",
                &credentials_url,
                token_a,
                None,
                None,
                Some(self.credentials()),
            )
            .await;
        if !(200..300).contains(&status) || body["status_code"] != 1000 {
            return Err(format!(
                "POST {credentials_url}: HTTP {status}, body {body}"
            ));
        }
        let data = body["data"].clone();
        let token = data["token"]
            .as_str()
            .ok_or_else(|| format!("POST {credentials_url}: no token in {body}"))?
            .to_string();
        *lock(&self.state.link) = Some(HubLink {
            token,
            versions_url: data["url"].as_str().unwrap_or(versions_url).to_string(),
            endpoints,
            credentials: data.clone(),
        });
        Ok(data)
    }

    /// What this party knows about the platform it registered with (either direction).
    pub fn hub_link(&self) -> Option<HubLink> {
        lock(&self.state.link).clone()
    }

    /// The token this party sends to the hub (token C), once registered.
    pub fn token_c(&self) -> Option<String> {
        self.hub_link().map(|l| l.token)
    }

    /// The hub's URL for `module` and the hub's `interface` (`sender`/`receiver`), once
    /// registered.
    pub fn hub_endpoint(&self, module: &str, interface: &str) -> Option<String> {
        self.hub_link()?
            .endpoint(module, interface)
            .map(|e| e.url.clone())
    }

    // ----- calling the hub ----------------------------------------------------------------------

    /// Calls the hub's `hub_module` endpoint for the hub's `interface` (`"receiver"` to push to
    /// the hub, e.g. a CPO's `PUT locations`; `"sender"` to pull from or query it, e.g. an eMSP's
    /// GET locations or a CPO's POST tokens authorize), found in the hub's version details, with
    /// `path_suffix` appended (`/NL/CPO/LOC1`, `?offset=0&limit=10`, or empty).
    ///
    /// Sends `Authorization: Token base64(C)`, fresh `X-Request-ID` and `X-Correlation-ID`,
    /// `OCPI-from-*` = this party's first role and `OCPI-to-*` when `to` is given. Returns the
    /// HTTP status, the headers and the body (`Null` when empty, a string when not JSON).
    pub async fn call(
        &self,
        method: &str,
        hub_module: &str,
        interface: &str,
        path_suffix: &str,
        to: Option<(&str, &str)>,
        body: Option<Value>,
    ) -> (u16, HeaderMap, Value) {
        let (cc, id) = self.id();
        self.call_as(
            (&cc, &id),
            method,
            hub_module,
            interface,
            path_suffix,
            to,
            body,
        )
        .await
    }

    /// [`Party::call`] with an explicit `OCPI-from-*` `(country_code, party_id)`.
    #[allow(clippy::too_many_arguments)]
    pub async fn call_as(
        &self,
        from: (&str, &str),
        method: &str,
        hub_module: &str,
        interface: &str,
        path_suffix: &str,
        to: Option<(&str, &str)>,
        body: Option<Value>,
    ) -> (u16, HeaderMap, Value) {
        let link = self.registered();
        let endpoint = link.endpoint(hub_module, interface).unwrap_or_else(|| {
            panic!(
                "the hub lists no {hub_module} {interface} endpoint; it lists {:?}",
                link.endpoints
            )
        });
        let url = join_url(&endpoint.url, path_suffix);
        self.request(method, &url, &link.token, Some(from), to, body)
            .await
    }

    /// Calls any URL (e.g. a `response_url` or a `Link` from a previous page) with token C,
    /// `OCPI-from-*` = `from` (or the first role when `None`) and `OCPI-to-*` when given.
    pub async fn call_url(
        &self,
        method: &str,
        url: &str,
        from: Option<(&str, &str)>,
        to: Option<(&str, &str)>,
        body: Option<Value>,
    ) -> (u16, HeaderMap, Value) {
        let link = self.registered();
        let (cc, id) = self.id();
        let from = from.unwrap_or((&cc, &id));
        self.request(method, url, &link.token, Some(from), to, body)
            .await
    }

    /// The raw client with this party's connection pool: see [`send_ocpi`].
    pub async fn request(
        &self,
        method: &str,
        url: &str,
        token: &str,
        from: Option<(&str, &str)>,
        to: Option<(&str, &str)>,
        body: Option<Value>,
    ) -> (u16, HeaderMap, Value) {
        send_ocpi(&self.client, method, url, token, from, to, body).await
    }

    fn registered(&self) -> HubLink {
        self.hub_link()
            .unwrap_or_else(|| panic!("party {:?} is not registered with a hub yet", self.id()))
    }

    // ----- downtime -----------------------------------------------------------------------------

    /// Stops the server (open connections are dropped); the port refuses connections until
    /// [`Party::start`]. Recorded requests and configuration are kept. No-op when stopped.
    pub fn stop(&self) {
        let Some(server) = lock(&self.server).take() else {
            return;
        };
        // The stop command is sent when `stop` is called; joining the thread waits for it.
        drop(server.handle.stop(false));
        let _ = server.thread.join();
    }

    /// Starts the server again on the same port. No-op when running.
    pub fn start(&self) {
        let mut server = lock(&self.server);
        if server.is_some() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("party cannot listen on 127.0.0.1:{} again: {e}", self.port),
            }
        };
        *server = Some(spawn_server(self.state.clone(), listener));
    }

    pub fn is_running(&self) -> bool {
        lock(&self.server).is_some()
    }
}

impl Drop for Party {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs the party's actix-web server on `listener` in a new thread with its own actix System.
fn spawn_server(state: Arc<PartyState>, listener: TcpListener) -> ServerThread {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("party-{port}"))
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let data = web::Data::from(state);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                        .default_service(web::to(handle))
                })
                .workers(1)
                .disable_signals()
                .shutdown_timeout(1)
                .listen(listener);
                let server = match server {
                    Ok(s) => s.run(),
                    Err(e) => {
                        eprintln!("[harness] party on port {port} cannot listen: {e}");
                        return;
                    }
                };
                let _ = tx.send(server.handle());
                if let Err(e) = server.await {
                    eprintln!("[harness] party on port {port} stopped with error: {e}");
                }
            });
        })
        .expect("spawn party server thread");
    let handle = rx
        .recv()
        .unwrap_or_else(|_| panic!("party server on port {port} failed to start"));
    ServerThread { handle, thread }
}

// =============================================================================================
// Fixtures shared by the scenario tests: the spec's examples, owned by the test's parties
// =============================================================================================

/// How long a scenario waits for a request to reach a party.
pub const WAIT: Duration = Duration::from_secs(20);

/// The folder of the OCPI specification copies (holding `ocpi-2.1.1/` and `ocpi-2.2.1/`):
/// `OCPI_SPECS_ROOT` when set, else `../shared/specs` beside the checkout.
pub fn specs_root() -> PathBuf {
    std::env::var_os("OCPI_SPECS_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs"))
}

/// A JSON example of the OCPI 2.2.1 spec (`{specs_root}/ocpi-2.2.1/examples/{name}`).
pub fn spec_example(name: &str) -> Value {
    let dir = specs_root().join("ocpi-2.2.1/examples");
    let text = fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The spec's location example, owned by `owner` (country_code, party_id), with id `id`.
pub fn spec_location(owner: (&str, &str), id: &str) -> Value {
    let mut l = spec_example("location_example.json");
    l["country_code"] = json!(owner.0);
    l["party_id"] = json!(owner.1);
    l["id"] = json!(id);
    l
}

/// The spec's RFID token example, owned by the eMSP `owner`.
pub fn spec_token(owner: (&str, &str), uid: &str) -> Value {
    let mut t = spec_example("token_example_2_full_rfid.json");
    t["country_code"] = json!(owner.0);
    t["party_id"] = json!(owner.1);
    t["uid"] = json!(uid);
    t
}

/// The spec's session example of `cpo`, for a token of `emsp`.
pub fn spec_session(cpo: (&str, &str), emsp: (&str, &str), id: &str) -> Value {
    let mut s = spec_example("session_example_1_simple_start.json");
    s["country_code"] = json!(cpo.0);
    s["party_id"] = json!(cpo.1);
    s["id"] = json!(id);
    s["cdr_token"]["country_code"] = json!(emsp.0);
    s["cdr_token"]["party_id"] = json!(emsp.1);
    s
}

/// The spec's CDR example of `cpo`, for a token of `emsp`.
pub fn spec_cdr(cpo: (&str, &str), emsp: (&str, &str), id: &str) -> Value {
    let mut c = spec_example("cdr_example.json");
    c["country_code"] = json!(cpo.0);
    c["party_id"] = json!(cpo.1);
    c["id"] = json!(id);
    c["cdr_token"]["country_code"] = json!(emsp.0);
    c["cdr_token"]["party_id"] = json!(emsp.1);
    c
}

/// `party invite` for (cc, pid, role), then the party registers with that token. Checks the hub
/// answered with its own credentials and a new token; returns that token (the spec's token C).
pub async fn register_invited(hub: &Hub, party: &Party, cc: &str, pid: &str, role: &str) -> String {
    let invite = hub.cli(&["party", "invite", "--name", pid, "--country-code", cc, "--party-id", pid, "--role", role]);
    let creds = party.register(hub, invite["token"].as_str().unwrap()).await;
    assert_eq!(creds["roles"][0]["role"], "HUB", "the hub answers with its own credentials: {creds}");
    assert_ne!(creds["token"], invite["token"], "a new server token replaces the invite token");
    creds["token"].as_str().unwrap().to_string()
}

/// Matches the hub's ClientInfo PUT for (cc, pid) with `status`.
pub fn client_info_put<'a>(cc: &'a str, pid: &'a str, status: &'a str) -> impl Fn(&Recorded) -> bool + 'a {
    move |r| r.is("PUT", &format!("receiver/hubclientinfo/{cc}/{pid}")) && r.body["status"] == status
}

/// The Python of the charger simulators (`OCPP_TEST_PYTHON`, else `.venv/bin/python`), or `None`
/// with a note on how to make it, so the OCPP parts of a test are skipped rather than failed.
pub fn ocpp_python() -> Option<PathBuf> {
    let p = std::env::var_os("OCPP_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIP (OCPP part): {} not found; create it with `python3 -m venv .venv && .venv/bin/pip install ocpp==2.1.0 websockets`",
            p.display()
        );
        None
    }
}

/// Runs `tests/ocpp/{script}` with `args` to its end (at most `limit`) and returns its JSON
/// lines; panics when it fails or prints an `error` line.
pub async fn run_python_charger(python: &Path, script: &str, args: &[&str], limit: Duration) -> Vec<Value> {
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ocpp").join(script)).args(args).kill_on_drop(true);
    let out = tokio::time::timeout(limit, cmd.output()).await.expect("python charger hung").expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}"))).collect();
    assert!(
        out.status.success() && lines.iter().all(|l| l.get("error").is_none()),
        "python charger {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines
}

// OCPI 2.1.1 test parties.
pub mod party211;

/// A CDR of the CPO `cpo` for a token of DE-EMS (contract DE-EMS-C12345678-X): `kwh` of energy
/// in the hour ending at `end` (RFC 3339) under tariff `T1`, with `total` = (excl_vat, incl_vat).
/// Used by the clearing tests; amounts are decimal strings.
pub fn ems_cdr(cpo: (&str, &str), id: &str, kwh: &str, total: (&str, &str), end: &str) -> Value {
    let end_t = chrono::DateTime::parse_from_rfc3339(end).expect("end: RFC 3339");
    let start = (end_t - chrono::TimeDelta::hours(1)).to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    json!({
        "country_code": cpo.0, "party_id": cpo.1, "id": id,
        "start_date_time": start, "end_date_time": end,
        "cdr_token": {"country_code": "DE", "party_id": "EMS", "uid": "TOKEN1", "type": "RFID", "contract_id": "DE-EMS-C12345678-X"},
        "auth_method": "WHITELIST",
        "cdr_location": {"id": "LOC1", "address": "Street 1", "city": "Amsterdam", "postal_code": "1000AA", "country": "NLD",
            "coordinates": {"latitude": "52.37403", "longitude": "4.88969"}, "evse_uid": "EVSE1", "evse_id": "NL*CPO*E1",
            "connector_id": "1", "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET", "connector_power_type": "AC_3_PHASE"},
        "currency": "EUR",
        "charging_periods": [{"start_date_time": start, "dimensions": [{"type": "ENERGY", "volume": kwh}], "tariff_id": "T1"}],
        "total_cost": {"excl_vat": total.0, "incl_vat": total.1},
        "total_energy": kwh,
        "total_time": "1",
        "last_updated": end
    })
}
