//! `ocpp-load`: load benchmark of the OCPP gateway of the real `ocpi-hub serve` binary.
//!
//! It provisions a hosted micro-CPO with one location (one EVSE) per charger and `--chargers`
//! OCPP 1.6 chargers straight through the store (one shared argon2 hash: `charger add` would hash
//! once per charger, which takes minutes for 19 000 chargers), starts `ocpi-hub serve` on that
//! database and then, as OCPP-J chargers (subprotocol `ocpp1.6`, HTTP Basic auth, each socket
//! bound to its own source address in 127.0.0.0/8 so that ephemeral ports never run out):
//!
//! 1. connects every charger and sends BootNotification (the hub verifies each password once),
//!    reporting the time and rate;
//! 2. holds the connections and reads the hub's VmRSS and open descriptors from `/proc/PID`
//!    before and after: RSS per connection;
//! 3. CALL → CALLRESULT round trips over every connection, one CALL in flight per connection as
//!    OCPP-J allows: Heartbeat (nothing persisted) and StatusNotification (the hub writes the
//!    EVSE status into its copy of the location before answering);
//! 4. boot storm: drops `--storm` chargers, waits until the hub has closed them, then reconnects
//!    them all at once: time from the first connect to the last BootNotification Accepted;
//! 5. cold boot storm: drops them again, kills the hub (as a crash would) and starts it again on
//!    the same database and port, then `--storm` chargers connect at once to a hub that has not
//!    verified any of their passwords yet (every connection costs one argon2 verification).
//!
//! The bench chargers' passwords are hashed like those the hub generates (`charger add`
//! without `--password`: cheap argon2 parameters, see `hub_core::token::hash_generated`).
//!
//! This machine allows 20 000 open files per process. The hub and this client are separate
//! processes with a limit each, so one client process holds all the connections.
//!
//! Build first (`cargo build --release`), then `target/release/ocpp-load` (the `ocpi-hub` binary
//! is taken from the same directory unless `--hub-bin` says otherwise). `--check` makes it exit
//! non-zero when anything failed (the CI smoke test runs it with 200 chargers).

use anyhow::{Context, Result, bail};
use base64::Engine;
use clap::Parser;
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use hub_core::party::PartyKey;
use hub_core::store::{NewCharger, ObjectChange, ObjectKey, Store, StoreError, StoreOptions};
use serde_json::{Value, json};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

#[derive(Parser, Clone)]
#[command(about = "Load benchmark of the OCPP gateway of `ocpi-hub serve` (real binary, real sockets)")]
struct Cli {
    /// Chargers to connect and hold at once.
    #[arg(long, default_value_t = 19_500)]
    chargers: usize,
    /// Chargers dropped and reconnected all at once for the boot-storm figure (0: skip).
    #[arg(long, default_value_t = 10_000)]
    storm: usize,
    /// Connections in their handshake at once during the storm (default: all of them).
    #[arg(long)]
    storm_concurrency: Option<usize>,
    /// Connections in their handshake at once during the first (cold, argon2) connect.
    #[arg(long, default_value_t = 256)]
    cold_concurrency: usize,
    /// Seconds of each round-trip run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Database of the hub (default: a temporary SQLite file). It must not hold other chargers
    /// named LOAD*; existing bench chargers and locations are reused.
    #[arg(long)]
    database_url: Option<String>,
    /// The `ocpi-hub` binary (default: beside this one).
    #[arg(long)]
    hub_bin: Option<PathBuf>,
    /// Worker threads of this client.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Exit with an error unless every charger connected, booted and completed round trips.
    #[arg(long)]
    check: bool,
    /// Print the figures as one JSON object on stdout (progress goes to stderr).
    #[arg(long)]
    json: bool,
}

const PASSWORD: &str = "Lb7qT2mX9vR4kP8wN3zY6cH1jF5sD0aE";
const PARTY: (&str, &str) = ("NL", "LDB");

fn charger_id(i: usize) -> String {
    format!("LOAD{i:06}")
}

/// The source address of charger `i`: 127.1.0.1, 127.1.0.2, ... (last octet 1..=250), so that
/// every address holds few sockets and the ephemeral port range never runs out.
fn source_ip(i: usize) -> Ipv4Addr {
    let host = i / 250;
    Ipv4Addr::new(127, 1 + (host >> 16) as u8, (host >> 8) as u8, (i % 250 + 1) as u8)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.chargers == 0 {
        bail!("--chargers must be at least 1");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(cli.threads.max(1)).enable_all().build()?;
    let report = rt.block_on(run(cli.clone()))?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if cli.check && !report["ok"].as_bool().unwrap_or(false) {
        bail!("load run failed: {report}");
    }
    Ok(())
}

macro_rules! say {
    ($($t:tt)*) => { eprintln!("[ocpp-load] {}", format!($($t)*)) };
}

// ---------------------------------------------------------------------------------------------
// Provisioning and the hub process

fn location_json(id: &str, last_updated: &str) -> Value {
    json!({
        "country_code": PARTY.0, "party_id": PARTY.1, "id": id, "publish": true,
        "address": "Stationsplein 1", "city": "Amsterdam", "country": "NLD",
        "coordinates": {"latitude": "52.378900", "longitude": "4.900200"},
        "evses": [{"uid": format!("{id}-1"), "status": "AVAILABLE",
                   "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
                                   "max_voltage": 230, "max_amperage": 32, "last_updated": last_updated}],
                   "last_updated": last_updated}],
        "time_zone": "Europe/Amsterdam",
        "last_updated": last_updated
    })
}

/// The hosted party, a location per charger and the chargers, written through the store.
async fn provision(url: &str, chargers: usize) -> Result<()> {
    let started = Instant::now();
    // Bulk loading only: the hub itself opens the database with its own (durable) settings.
    let store = Store::open(url, &StoreOptions { max_connections: 4, sqlite_synchronous_full: false }).await?;
    let party = PartyKey::new(PARTY.0, PARTY.1);
    if store.find_hosted_party(&party).await?.is_none() {
        store.create_hosted_party(&party, "Load bench").await?;
    }
    // One argon2 hash shared by every bench charger (same verification cost per connection as
    // distinct hashes), with the parameters of a password the hub generated (`charger add`
    // without `--password`): PASSWORD stands for 32 random characters.
    let hash = hub_core::token::hash_generated(PASSWORD)?;
    let now = chrono::Utc::now();
    let last_updated = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let micros = now.timestamp_micros();
    let store = Arc::new(store);
    let results: Vec<Result<()>> = futures::stream::iter(0..chargers)
        .map(|i| {
            let (store, party, hash, last_updated) = (store.clone(), party.clone(), hash.clone(), last_updated.clone());
            async move {
                let id = charger_id(i);
                if store.get_charger(&id).await?.is_some() {
                    return Ok(());
                }
                let location = format!("LOADLOC{i:06}");
                let key = ObjectKey::new("locations", &party, &location);
                let body = location_json(&location, &last_updated).to_string();
                store.apply(Some(ObjectChange::Put { key, last_updated: micros, body }), &[]).await?;
                let added = store
                    .add_charger(&NewCharger {
                        charger_id: id,
                        password_hash: hash,
                        owner: party,
                        location_id: location.clone(),
                        evse_uids: vec![format!("{location}-1")],
                    })
                    .await;
                match added {
                    Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    store.close().await;
    say!("provisioned {chargers} chargers in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

struct HubProc {
    child: Child,
    ocpp: SocketAddr,
    dir: PathBuf,
    keep_dir: bool,
}

impl Drop for HubProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn hub_binary(given: Option<PathBuf>) -> Result<PathBuf> {
    let bin = match given {
        Some(b) => b,
        None => std::env::current_exe()?.with_file_name(format!("ocpi-hub{}", std::env::consts::EXE_SUFFIX)),
    };
    if !bin.exists() {
        bail!("{} not found: run `cargo build --release` first", bin.display());
    }
    Ok(bin)
}

fn start_hub(bin: &Path, db: &str, dir: PathBuf, max_connections: usize, ocpp: Option<SocketAddr>) -> Result<HubProc> {
    let http = free_port()?;
    let ocpp: SocketAddr = match ocpp {
        Some(a) => a,
        None => format!("127.0.0.1:{}", free_port()?).parse()?,
    };
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("hub.log"))?;
    let child = Command::new(bin)
        .arg("serve")
        .env("HUB__DATABASE__URL", db)
        .env("HUB__HTTP__LISTEN", format!("127.0.0.1:{http}"))
        .env("HUB__OCPP__LISTEN", ocpp.to_string())
        .env("HUB__OCPP__MAX_CONNECTIONS", max_connections.to_string())
        // Per-connection info lines would be the hub's main work at 20 000 messages/s.
        .env("RUST_LOG", std::env::var("OCPP_LOAD_HUB_LOG").unwrap_or_else(|_| "warn".into()))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    // With a log level asked for, the log is what the run is for: keep it.
    let hub = HubProc { child, ocpp, dir, keep_dir: std::env::var_os("OCPP_LOAD_HUB_LOG").is_some() };
    for _ in 0..300 {
        if std::net::TcpStream::connect(ocpp).is_ok() {
            return Ok(hub);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the hub did not listen on {ocpp} (log: {})", hub.dir.join("hub.log").display())
}

/// VmRSS of a process in KiB.
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")
}

fn open_fds(pid: u32) -> Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

// ---------------------------------------------------------------------------------------------
// One charger

type Ws = WebSocketStream<TcpStream>;

/// Small buffers: the client holds as many connections as the hub.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}

/// A connect attempt that failed.
#[derive(Debug)]
enum ConnectError {
    /// Worth retrying (refused, reset, 503, timeout).
    Transient(String),
    /// Retrying cannot help (401, 404, a boot not Accepted).
    Fatal(String),
}

async fn connect_once(i: usize, hub: SocketAddr) -> Result<Ws, ConnectError> {
    let transient = |e: &dyn std::fmt::Display| ConnectError::Transient(e.to_string());
    let socket = TcpSocket::new_v4().map_err(|e| transient(&e))?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(source_ip(i), 0))).map_err(|e| transient(&e))?;
    let tcp = socket.connect(hub).await.map_err(|e| transient(&e))?;
    let _ = tcp.set_nodelay(true);
    let id = charger_id(i);
    let mut request =
        format!("ws://{hub}/ocpp/{id}").into_client_request().map_err(|e| ConnectError::Fatal(e.to_string()))?;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{PASSWORD}"));
    let headers = request.headers_mut();
    headers.insert("Sec-WebSocket-Protocol", HeaderValue::from_static("ocpp1.6"));
    headers.insert("Authorization", HeaderValue::from_str(&format!("Basic {basic}")).expect("header"));
    let (mut ws, response) = match tokio_tungstenite::client_async_with_config(request, tcp, Some(ws_config())).await {
        Ok(ok) => ok,
        Err(WsError::Http(r)) if r.status() == 401 || r.status() == 404 => {
            return Err(ConnectError::Fatal(format!("HTTP {}", r.status())));
        }
        Err(e) => return Err(transient(&e)),
    };
    if response.headers().get("Sec-WebSocket-Protocol").and_then(|v| v.to_str().ok()) != Some("ocpp1.6") {
        return Err(ConnectError::Fatal("no ocpp1.6 subprotocol in the answer".into()));
    }
    let boot = format!(r#"[2,"boot-{i}","BootNotification",{{"chargePointVendor":"LoadBench","chargePointModel":"ocpp-load"}}]"#);
    ws.send(Message::text(boot)).await.map_err(|e| transient(&e))?;
    let answer = next_text(&mut ws).await.map_err(|e| transient(&e))?;
    let v: Value = serde_json::from_str(&answer).map_err(|e| ConnectError::Fatal(format!("{e}: {answer}")))?;
    if v[0] != 3 || v[1] != format!("boot-{i}") || v[2]["status"] != "Accepted" {
        return Err(ConnectError::Fatal(format!("BootNotification not Accepted: {answer}")));
    }
    Ok(ws)
}

/// The next text message (pings are answered by tungstenite while reading).
async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(_))) | None => return Err("closed by the hub".into()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
        }
    }
}

/// Connects with retries (as a charger would): transient failures back off from 50 ms to 1 s.
async fn connect(i: usize, hub: SocketAddr, limit: Arc<Semaphore>, give_up: Duration) -> (Result<Ws, String>, u32) {
    let deadline = Instant::now() + give_up;
    let mut retries = 0;
    let mut backoff = Duration::from_millis(50);
    loop {
        let attempt = {
            let _permit = limit.acquire().await.expect("semaphore");
            tokio::time::timeout(Duration::from_secs(30), connect_once(i, hub)).await
        };
        match attempt {
            Ok(Ok(ws)) => return (Ok(ws), retries),
            Ok(Err(ConnectError::Fatal(e))) => return (Err(e), retries),
            Ok(Err(ConnectError::Transient(e))) if Instant::now() + backoff > deadline => return (Err(e), retries),
            Err(_) if Instant::now() + backoff > deadline => return (Err("timed out".into()), retries),
            _ => {}
        }
        retries += 1;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Action {
    Heartbeat,
    StatusNotification,
}

#[derive(Clone, Debug)]
enum Phase {
    Hold,
    RoundTrips { run: u32, action: Action, until: Instant },
    /// Chargers below `below` close their connection.
    Drop { below: usize },
    /// Dropped chargers reconnect (through `limit`).
    Reconnect { limit: Arc<Semaphore> },
    /// The hub is being restarted: connections that break are expected to.
    Restart,
    Stop,
}

enum Event {
    Connected { retries: u32, at: Instant },
    Failed { i: usize, error: String },
    Lost { i: usize, error: String },
    RoundTrips { count: u64, errors: u64, micros: Vec<u32> },
    Dropped,
}

/// Round trips of `action` until `until`; one CALL in flight.
async fn round_trips(ws: &mut Ws, i: usize, run: u32, action: Action, until: Instant) -> (u64, u64, Vec<u32>, Option<String>) {
    let (mut count, mut errors) = (0u64, 0u64);
    let mut micros = Vec::new();
    let mut seq = 0u64;
    while Instant::now() < until {
        seq += 1;
        let id = format!("r{run}-{i}-{seq}");
        let frame = match action {
            Action::Heartbeat => format!(r#"[2,"{id}","Heartbeat",{{}}]"#),
            Action::StatusNotification => {
                let status = if seq.is_multiple_of(2) { "Available" } else { "Charging" };
                format!(r#"[2,"{id}","StatusNotification",{{"connectorId":1,"errorCode":"NoError","status":"{status}"}}]"#)
            }
        };
        let sent = Instant::now();
        if let Err(e) = ws.send(Message::text(frame)).await {
            return (count, errors, micros, Some(e.to_string()));
        }
        let answer = match next_text(ws).await {
            Ok(a) => a,
            Err(e) => return (count, errors, micros, Some(e)),
        };
        // A CALLRESULT for this id; anything else (a CALLERROR) counts as an error.
        if answer.starts_with(&format!(r#"[3,"{id}""#)) {
            count += 1;
            micros.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        } else {
            errors += 1;
            if errors == 1 {
                say!("charger {i}: unexpected answer {answer}");
            }
        }
    }
    (count, errors, micros, None)
}

/// Waits on the socket (answering the hub's pings) until the phase changes; `Err` if the
/// connection ends.
async fn idle(ws: &mut Ws, phase: &mut watch::Receiver<Phase>) -> Result<(), String> {
    loop {
        tokio::select! {
            changed = phase.changed() => {
                return if changed.is_ok() { Ok(()) } else { Err("bench ended".into()) };
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Close(_))) | None => return Err("closed by the hub".into()),
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(_)) => {}
            }
        }
    }
}

async fn charger(i: usize, hub: SocketAddr, cold: Arc<Semaphore>, mut phase: watch::Receiver<Phase>, events: mpsc::UnboundedSender<Event>) {
    let give_up = Duration::from_secs(600);
    let (first, retries) = connect(i, hub, cold, give_up).await;
    let mut ws = match first {
        Ok(ws) => {
            let _ = events.send(Event::Connected { retries, at: Instant::now() });
            ws
        }
        Err(error) => {
            let _ = events.send(Event::Failed { i, error });
            return;
        }
    };
    // Phases seen before this charger connected are over.
    phase.borrow_and_update();
    loop {
        if let Err(error) = idle(&mut ws, &mut phase).await {
            if !matches!(*phase.borrow(), Phase::Stop | Phase::Restart) {
                let _ = events.send(Event::Lost { i, error });
            }
            return;
        }
        let current = phase.borrow_and_update().clone();
        match current {
            Phase::Hold | Phase::Reconnect { .. } | Phase::Restart => {}
            Phase::Stop => {
                let _ = ws.close(None).await;
                return;
            }
            Phase::RoundTrips { run, action, until } => {
                let (count, errors, micros, lost) = round_trips(&mut ws, i, run, action, until).await;
                let _ = events.send(Event::RoundTrips { count, errors, micros });
                if let Some(error) = lost {
                    let _ = events.send(Event::Lost { i, error });
                    return;
                }
            }
            Phase::Drop { below } if i < below => {
                let _ = ws.close(None).await;
                // Read to the end so the close handshake completes before the socket is dropped.
                let _ = tokio::time::timeout(Duration::from_secs(5), async { while ws.next().await.is_some() {} }).await;
                drop(ws);
                let _ = events.send(Event::Dropped);
                let limit = loop {
                    if phase.changed().await.is_err() {
                        return;
                    }
                    match &*phase.borrow_and_update() {
                        Phase::Reconnect { limit } => break limit.clone(),
                        Phase::Stop => return,
                        _ => {}
                    }
                };
                let (again, retries) = connect(i, hub, limit, Duration::from_secs(120)).await;
                ws = match again {
                    Ok(ws) => {
                        let _ = events.send(Event::Connected { retries, at: Instant::now() });
                        ws
                    }
                    Err(error) => {
                        let _ = events.send(Event::Failed { i, error });
                        return;
                    }
                };
            }
            Phase::Drop { .. } => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The run

struct Collector {
    events: mpsc::UnboundedReceiver<Event>,
    failures: Vec<String>,
    lost: usize,
}

impl Collector {
    /// The next event; `None` when none came for `limit` (a phase that hangs ends the run).
    async fn next(&mut self, limit: Duration) -> Option<Event> {
        match tokio::time::timeout(limit, self.events.recv()).await {
            Ok(e) => e,
            Err(_) => {
                self.note_failure(format!("no progress for {} s", limit.as_secs()));
                None
            }
        }
    }

    fn note_failure(&mut self, what: String) {
        if self.failures.len() < 10 {
            say!("{what}");
            self.failures.push(what);
        }
    }

    /// Waits for `n` connect outcomes; returns (connected, retries, time of the last Accepted).
    async fn connects(&mut self, n: usize) -> (usize, u64, Option<Instant>) {
        let (mut ok, mut retries, mut last, mut seen) = (0, 0u64, None, 0);
        let mut next_report = Instant::now() + Duration::from_secs(10);
        while seen < n {
            let Some(e) = self.next(Duration::from_secs(180)).await else { break };
            match e {
                Event::Connected { retries: r, at } => {
                    ok += 1;
                    seen += 1;
                    retries += u64::from(r);
                    last = Some(last.map_or(at, |l: Instant| l.max(at)));
                }
                Event::Failed { i, error } => {
                    seen += 1;
                    self.note_failure(format!("charger {i} failed to connect: {error}"));
                }
                Event::Lost { i, error } => {
                    self.lost += 1;
                    self.note_failure(format!("charger {i} lost its connection: {error}"));
                }
                _ => {}
            }
            if Instant::now() > next_report {
                say!("  {ok} of {n} connected ({} failed, {retries} retries)", seen - ok);
                next_report = Instant::now() + Duration::from_secs(10);
            }
        }
        (ok, retries, last)
    }

    async fn round_trips(&mut self, n: usize) -> (u64, u64, Histogram<u64>) {
        let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
        let (mut count, mut errors, mut seen) = (0, 0, 0);
        while seen < n {
            let Some(e) = self.next(Duration::from_secs(120)).await else { break };
            match e {
                Event::RoundTrips { count: c, errors: er, micros } => {
                    seen += 1;
                    count += c;
                    errors += er;
                    for m in micros {
                        let _ = hist.record(u64::from(m).max(1));
                    }
                }
                Event::Lost { i, error } => {
                    self.lost += 1;
                    self.note_failure(format!("charger {i} lost its connection: {error}"));
                }
                _ => {}
            }
        }
        (count, errors, hist)
    }

    async fn dropped(&mut self, n: usize) -> usize {
        let mut seen = 0;
        while seen < n {
            match self.next(Duration::from_secs(60)).await {
                Some(Event::Dropped) => seen += 1,
                Some(Event::Lost { i, error }) => {
                    self.lost += 1;
                    self.note_failure(format!("charger {i} lost its connection: {error}"));
                }
                Some(_) => {}
                None => break,
            }
        }
        seen
    }
}

/// Waits until the hub holds at most `target` descriptors (closes are processed), up to `limit`.
async fn wait_fds_at_most(pid: u32, target: usize, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let fds = open_fds(pid).unwrap_or(0);
        if fds <= target || Instant::now() > deadline {
            return fds;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn per_second(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

async fn run(cli: Cli) -> Result<Value> {
    let n = cli.chargers;
    let storm = cli.storm.min(n);
    let bin = hub_binary(cli.hub_bin.clone())?;
    let dir = std::env::temp_dir().join(format!("ocpp-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = cli.database_url.clone().unwrap_or_else(|| format!("sqlite://{}/hub.db", dir.display()));
    provision(&db, n).await?;
    // Room for every bench connection plus the storm's reconnects racing the closes.
    let mut hub = start_hub(&bin, &db, dir, n + 64, None)?;
    let pid = hub.child.id();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = rss_kib(pid)?;
    let fds_idle = open_fds(pid)?;
    say!("hub pid {pid} on {}: idle RSS {rss_idle} KiB, {fds_idle} open files", hub.ocpp);

    let (phase_tx, phase_rx) = watch::channel(Phase::Hold);
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let mut col = Collector { events: events_rx, failures: Vec::new(), lost: 0 };

    // 1. Cold connect of every charger.
    say!("connecting {n} chargers ({} handshakes at once)", cli.cold_concurrency);
    let cold = Arc::new(Semaphore::new(cli.cold_concurrency.max(1)));
    let started = Instant::now();
    for i in 0..n {
        tokio::spawn(charger(i, hub.ocpp, cold.clone(), phase_rx.clone(), events_tx.clone()));
    }
    let (connected, cold_retries, last) = col.connects(n).await;
    let cold_time = last.map_or(Duration::ZERO, |l| l.duration_since(started));
    say!("{connected} of {n} connected and booted in {:.2} s ({:.0}/s, {cold_retries} retries)", cold_time.as_secs_f64(), per_second(connected as u64, cold_time));

    // 2. Held connections and RSS.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_held = rss_kib(pid)?;
    let fds_held = open_fds(pid)?;
    let held = fds_held.saturating_sub(fds_idle);
    say!("holding: hub RSS {rss_held} KiB (still holding freed argon2 memory), {fds_held} open files ({held} more than idle)");

    // 3. Round trips.
    let mut runs = serde_json::Map::new();
    for (run, action) in [(1u32, Action::Heartbeat), (2, Action::StatusNotification)] {
        let live = connected - col.lost.min(connected);
        let secs = Duration::from_secs(cli.seconds.max(1));
        phase_tx.send_replace(Phase::RoundTrips { run, action, until: Instant::now() + secs });
        let t0 = Instant::now();
        let (count, errors, hist) = col.round_trips(live).await;
        let took = t0.elapsed();
        let rate = per_second(count, took);
        say!(
            "{action:?}: {count} round trips over {live} connections in {:.1} s: {rate:.0}/s, p50 {:.1} ms, p99 {:.1} ms, {errors} errors",
            took.as_secs_f64(),
            hist.value_at_quantile(0.5) as f64 / 1000.0,
            hist.value_at_quantile(0.99) as f64 / 1000.0
        );
        let rss_after = rss_kib(pid)?;
        runs.insert(
            format!("{action:?}"),
            json!({"round_trips": count, "errors": errors, "seconds": took.as_secs_f64(), "per_second": rate.round(), "rss_kib_after": rss_after,
                   "p50_ms": hist.value_at_quantile(0.5) as f64 / 1000.0, "p99_ms": hist.value_at_quantile(0.99) as f64 / 1000.0,
                   "connections": live}),
        );
        phase_tx.send_replace(Phase::Hold);
    }
    // Per connection: the hub's growth over its idle size, measured with every connection held
    // after both round-trip runs, i.e. in the steady state of chargers that talk (recent answers
    // kept), once the allocator has returned what the runs' peaks (thousands of CALLs in
    // flight at once) left free.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_steady = rss_kib(pid)?;
    let live = connected - col.lost.min(connected);
    let rss_per_conn = rss_steady.saturating_sub(rss_idle) as f64 * 1024.0 / live.max(1) as f64;
    say!("steady: hub RSS {rss_steady} KiB with {live} connections: {rss_per_conn:.0} bytes RSS per connection");

    // 4. Boot storm.
    let mut storm_report = Value::Null;
    if storm > 0 {
        phase_tx.send_replace(Phase::Drop { below: storm });
        let dropped = col.dropped(storm.min(connected)).await;
        let fds = wait_fds_at_most(pid, fds_held - dropped, Duration::from_secs(30)).await;
        // The hub's on_disconnect work for the dropped chargers settles.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss_dropped = rss_kib(pid)?;
        say!("dropped {dropped} chargers (hub: {fds} open files, RSS {rss_dropped} KiB); reconnecting them at once");
        let limit = Arc::new(Semaphore::new(cli.storm_concurrency.unwrap_or(dropped).max(1)));
        let t0 = Instant::now();
        phase_tx.send_replace(Phase::Reconnect { limit });
        let (back, retries, last) = col.connects(dropped).await;
        let took = last.map_or(Duration::ZERO, |l| l.duration_since(t0));
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss_back = rss_kib(pid)?;
        let storm_per_conn = rss_back.saturating_sub(rss_dropped) as f64 * 1024.0 / back.max(1) as f64;
        say!("boot storm: {back} of {dropped} reconnected and booted in {:.2} s ({retries} retries); RSS {rss_back} KiB ({storm_per_conn:.0} bytes per reconnected charger)", took.as_secs_f64());
        storm_report = json!({"chargers": dropped, "booted": back, "seconds": took.as_secs_f64(), "retries": retries,
                              "rss_kib_before": rss_dropped, "rss_kib_after": rss_back, "rss_bytes_per_connection": storm_per_conn.round()});
    }

    // 5. Cold boot storm: the hub restarts (killed, as after a crash) and `storm` chargers
    //    connect at once to a hub that has verified none of their passwords yet.
    let mut cold_report = Value::Null;
    if storm > 0 {
        phase_tx.send_replace(Phase::Drop { below: storm });
        let dropped = col.dropped(storm.min(connected)).await;
        phase_tx.send_replace(Phase::Restart);
        let ocpp = hub.ocpp;
        hub.keep_dir = true;
        let dir = hub.dir.clone();
        drop(hub);
        tokio::time::sleep(Duration::from_millis(500)).await;
        hub = start_hub(&bin, &db, dir, n + 64, Some(ocpp))?;
        let new_pid = hub.child.id();
        tokio::time::sleep(Duration::from_secs(1)).await;
        say!("hub restarted (pid {new_pid}); {dropped} chargers connect at once");
        let limit = Arc::new(Semaphore::new(cli.storm_concurrency.unwrap_or(dropped).max(1)));
        let t0 = Instant::now();
        phase_tx.send_replace(Phase::Reconnect { limit });
        let (back, retries, last) = col.connects(dropped).await;
        let took = last.map_or(Duration::ZERO, |l| l.duration_since(t0));
        say!("cold boot storm after a restart: {back} of {dropped} connected and booted in {:.2} s ({retries} retries)", took.as_secs_f64());
        cold_report = json!({"chargers": dropped, "booted": back, "seconds": took.as_secs_f64(), "retries": retries});
    }

    phase_tx.send_replace(Phase::Stop);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hub_alive = hub.child.try_wait()?.is_none();
    let ok = connected == n
        && col.failures.is_empty()
        && col.lost == 0
        && hub_alive
        && runs.values().all(|r| r["errors"] == 0 && r["round_trips"].as_u64().unwrap_or(0) > 0)
        && (storm == 0 || storm_report["booted"] == storm_report["chargers"])
        && (storm == 0 || cold_report["booted"] == cold_report["chargers"]);
    if !ok {
        hub.keep_dir = true;
        say!("hub log kept: {}", hub.dir.join("hub.log").display());
    }
    Ok(json!({
        "ok": ok,
        "chargers": n,
        "database": if cli.database_url.is_some() { "given" } else { "sqlite (temporary)" },
        "cold_connect": {"connected": connected, "seconds": cold_time.as_secs_f64(), "per_second": per_second(connected as u64, cold_time).round(),
                         "retries": cold_retries, "concurrency": cli.cold_concurrency},
        "hold": {"hub_open_files_idle": fds_idle, "hub_open_files_held": fds_held, "connections_held": held,
                 "rss_kib_idle": rss_idle, "rss_kib_after_connect": rss_held, "rss_kib_steady": rss_steady,
                 "rss_bytes_per_connection": rss_per_conn.round()},
        "round_trips": runs,
        "boot_storm": storm_report,
        "cold_boot_storm_after_restart": cold_report,
        "lost_connections": col.lost,
        "failures": col.failures,
    }))
}
