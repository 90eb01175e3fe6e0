//! `hub-bench`: measures the hub with the real `ocpi-hub` binary over real sockets.
//!
//! - `routing`: throughput (closed loop) and latency at half load (open loop, so slow responses
//!   are not hidden) of GET one location, sent directly to a CPO and routed through the hub
//!   with OCPI-to headers; reports the ratio and the latency the hub adds. Also measures a
//!   routed PUT push (which the hub stores before forwarding).
//! - `deep-page`: GET All via the hub at offset 299 000 of 300 000 stored locations, by offset
//!   and by following the hub's Link (keyset cursor).
//!
//! - `settlement`: bulk-loads N CDRs (multi-row INSERTs into the hub's copies), then times
//!   `settle_pending` and `close_period` of the clearing separately, in process, and prints
//!   JSON with CDRs per second.
//!
//! Build first: `cargo build --release`, then `target/release/hub-bench routing` (the
//! `ocpi-hub` binary is taken from the same directory).

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::{Context, Result, bail};
use base64::Engine;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use hub_core::party::PartyKey;
use hub_core::store::{ObjectKey, Store, StoreOptions};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Benchmarks of the OCPI hub (real binary, real sockets)")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Routed vs direct throughput and latency.
    Routing {
        /// Seconds per throughput run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent connections of the closed-loop runs.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Rounds of (direct, routed) runs; medians are reported, as this machine is noisy.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Database of the hub (default: a temporary SQLite file).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// GET All deep in a long list.
    DeepPage {
        #[arg(long, default_value_t = 300_000)]
        objects: usize,
        #[arg(long, default_value_t = 299_000)]
        offset: usize,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, default_value_t = 50)]
        samples: usize,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Settling and closing a period over N CDRs (JSON on stdout).
    Settlement {
        #[arg(long, default_value_t = 1_000_000)]
        cdrs: usize,
        /// An empty database (created and migrated here); default: a temporary SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Cmd::Routing { seconds, connections, rounds, database_url } => routing(seconds, connections, rounds.max(1), database_url).await,
        Cmd::DeepPage { objects, offset, limit, samples, database_url } => deep_page(objects, offset, limit, samples, database_url).await,
        Cmd::Settlement { cdrs, database_url } => settlement(cdrs, database_url).await,
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal OCPI peer hosting a CPO and an eMSP platform under /cpo and /emsp.

const CPO_TOKEN_B: &str = "bench-cpo-token-b";
const EMSP_TOKEN_B: &str = "bench-emsp-token-b";

fn location_json(id: &str, last_updated: &str) -> Value {
    json!({
        "country_code": "NL", "party_id": "CPO", "id": id, "publish": true,
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

fn envelope(data: Value) -> Value {
    json!({"data": data, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"})
}

fn authorized(req: &HttpRequest, token: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD.encode(token);
    let h = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    h == format!("Token {b64}") || h == format!("Token {token}")
}

async fn peer(req: HttpRequest, body: web::Bytes, base: web::Data<String>) -> HttpResponse {
    let path = req.path().to_string();
    let (platform, rest) = match path.strip_prefix("/cpo") {
        Some(r) => ("cpo", r.to_string()),
        None => ("emsp", path.strip_prefix("/emsp").unwrap_or("").to_string()),
    };
    let token = if platform == "cpo" { CPO_TOKEN_B } else { EMSP_TOKEN_B };
    if !authorized(&req, token) {
        return HttpResponse::Unauthorized().finish();
    }
    let b = format!("{}/{platform}", base.get_ref());
    let _ = body;
    match rest.as_str() {
        "/ocpi/versions" => HttpResponse::Ok().json(envelope(json!([{"version": "2.2.1", "url": format!("{b}/ocpi/2.2.1")}]))),
        "/ocpi/2.2.1" => {
            let endpoints = if platform == "cpo" {
                json!([{"identifier": "credentials", "role": "RECEIVER", "url": format!("{b}/credentials")},
                       {"identifier": "locations", "role": "SENDER", "url": format!("{b}/locations")},
                       {"identifier": "tokens", "role": "RECEIVER", "url": format!("{b}/tokens")}])
            } else {
                json!([{"identifier": "credentials", "role": "RECEIVER", "url": format!("{b}/credentials")},
                       {"identifier": "locations", "role": "RECEIVER", "url": format!("{b}/locations")}])
            };
            HttpResponse::Ok().json(envelope(json!({"version": "2.2.1", "endpoints": endpoints})))
        }
        r if r.starts_with("/locations/") || r.starts_with("/tokens/") => {
            if req.method() == actix_web::http::Method::GET {
                HttpResponse::Ok().json(envelope(location_json("LOC1", "2026-01-01T00:00:00Z")))
            } else {
                HttpResponse::Ok().json(json!({"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}))
            }
        }
        _ => HttpResponse::NotFound().finish(),
    }
}

/// Starts the peer on its own thread (one actix worker) and returns its base URL.
fn start_peer() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let b = base.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || App::new().app_data(web::Data::new(b.clone())).default_service(web::to(peer)))
                .workers(1)
                .listen(listener)
                .expect("listen")
                .run()
                .await
        })
    });
    base
}

// ---------------------------------------------------------------------------------------------
// The hub process

struct HubProc {
    child: Child,
    base: String,
    env: Vec<(String, String)>,
    _dir: PathBuf,
}

impl Drop for HubProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hub_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name(format!("ocpi-hub{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        bail!("{} not found: run `cargo build --release` first", bin.display());
    }
    Ok(bin)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

async fn start_hub(database_url: Option<String>, dir: PathBuf) -> Result<HubProc> {
    std::fs::create_dir_all(&dir)?;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let db = database_url.unwrap_or_else(|| format!("sqlite://{}/hub.db", dir.display()));
    let env = vec![
        ("HUB__DATABASE__URL".to_string(), db),
        ("HUB__HTTP__LISTEN".to_string(), format!("127.0.0.1:{port}")),
        ("HUB__HTTP__PUBLIC_URL".to_string(), base.clone()),
        ("HUB__OCPP__LISTEN".to_string(), format!("127.0.0.1:{}", free_port())),
        ("RUST_LOG".to_string(), "warn".to_string()),
    ];
    let log = std::fs::File::create(dir.join("hub.log"))?;
    let child = Command::new(hub_binary()?)
        .arg("serve")
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting ocpi-hub")?;
    let hub = HubProc { child, base, env, _dir: dir };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client.get(format!("{}/ocpi/versions", hub.base)).send().await.is_ok() {
            return Ok(hub);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("hub did not start")
}

impl HubProc {
    fn cli(&self, args: &[&str]) -> Result<Value> {
        let out = Command::new(hub_binary()?).args(args).envs(self.env.iter().cloned()).output()?;
        if !out.status.success() {
            bail!("ocpi-hub {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// Invites and registers a platform of the peer; returns its server token (token C).
    async fn register(&self, peer_base: &str, platform: &str, cc: &str, pid: &str, role: &str, token_b: &str) -> Result<String> {
        let invite = self.cli(&["party", "invite", "--country-code", cc, "--party-id", pid, "--role", role])?;
        let token_a = invite["token"].as_str().context("token")?.to_string();
        let creds = json!({"token": token_b, "url": format!("{peer_base}/{platform}/ocpi/versions"),
                           "roles": [{"role": role, "party_id": pid, "country_code": cc, "business_details": {"name": pid}}]});
        let resp: Value = reqwest::Client::new()
            .post(format!("{}/ocpi/2.2.1/credentials", self.base))
            .header("Authorization", format!("Token {}", base64::engine::general_purpose::STANDARD.encode(&token_a)))
            .json(&creds)
            .send()
            .await?
            .json()
            .await?;
        resp["data"]["token"].as_str().map(str::to_string).with_context(|| format!("registration failed: {resp}"))
    }
}

fn temp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("hub-bench-{name}-{}", std::process::id()))
}

// ---------------------------------------------------------------------------------------------
// Load generation

#[derive(Clone)]
struct Target {
    method: reqwest::Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

async fn once(client: &reqwest::Client, t: &Target) -> bool {
    let mut req = client.request(t.method.clone(), &t.url).header("X-Request-ID", "bench").header("X-Correlation-ID", "bench");
    for (k, v) in &t.headers {
        req = req.header(k, v);
    }
    if let Some(b) = &t.body {
        req = req.header("Content-Type", "application/json").body(b.clone());
    }
    match req.send().await {
        Ok(r) => {
            let ok = r.status().is_success();
            let _ = r.bytes().await;
            ok
        }
        Err(_) => false,
    }
}

/// Closed loop: `connections` tasks send back to back for `secs`. Returns (ok/s, errors).
async fn closed_loop(t: &Target, connections: usize, secs: u64) -> (f64, u64) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().expect("client");
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let err = Arc::new(AtomicU64::new(0));
    // Warm-up.
    for _ in 0..connections {
        once(&client, t).await;
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, t, stop, ok, err) = (client.clone(), t.clone(), stop.clone(), ok.clone(), err.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if once(&client, &t).await {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    err.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    (ok.load(Ordering::Relaxed) as f64 / elapsed, err.load(Ordering::Relaxed))
}

/// Open loop at `rate` requests/s for `secs`, over `connections` connections (as wrk2 does):
/// each connection sends its share of requests at fixed times, and latency is measured from the
/// scheduled send time, so queueing behind a slow response counts (no coordinated omission).
async fn open_loop(t: &Target, rate: f64, secs: u64, connections: usize) -> Histogram<u64> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().expect("client");
    for _ in 0..connections {
        once(&client, t).await;
    }
    let interval = Duration::from_secs_f64(connections as f64 / rate);
    let per_conn = (rate * secs as f64 / connections as f64) as u64;
    let start = Instant::now() + Duration::from_millis(10);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (client, t) = (client.clone(), t.clone());
        // Stagger the connections evenly over one interval.
        let offset = interval.mul_f64(c as f64 / connections as f64);
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("hist");
            for i in 0..per_conn {
                let scheduled = start + offset + interval.mul_f64(i as f64);
                tokio::time::sleep_until(scheduled.into()).await;
                once(&client, &t).await;
                h.record((scheduled.elapsed().as_micros() as u64).max(1)).ok();
            }
            h
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("hist");
    for t in tasks {
        if let Ok(h) = t.await {
            hist.add(h).ok();
        }
    }
    hist
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

async fn routing(secs: u64, connections: usize, rounds: usize, database_url: Option<String>) -> Result<()> {
    let peer = start_peer();
    let hub = start_hub(database_url, temp_dir("routing")).await?;
    let _cpo_c = hub.register(&peer, "cpo", "NL", "CPO", "CPO", CPO_TOKEN_B).await?;
    let emsp_c = hub.register(&peer, "emsp", "NL", "EMS", "EMSP", EMSP_TOKEN_B).await?;
    let b64 = |t: &str| format!("Token {}", base64::engine::general_purpose::STANDARD.encode(t));
    let direct = Target {
        method: reqwest::Method::GET,
        url: format!("{peer}/cpo/locations/LOC1"),
        headers: vec![("Authorization".into(), b64(CPO_TOKEN_B))],
        body: None,
    };
    let routed_headers = vec![
        ("Authorization".to_string(), b64(&emsp_c)),
        ("OCPI-from-country-code".to_string(), "NL".to_string()),
        ("OCPI-from-party-id".to_string(), "EMS".to_string()),
        ("OCPI-to-country-code".to_string(), "NL".to_string()),
        ("OCPI-to-party-id".to_string(), "CPO".to_string()),
    ];
    let routed = Target {
        method: reqwest::Method::GET,
        url: format!("{}/ocpi/2.2.1/sender/locations/LOC1", hub.base),
        headers: routed_headers.clone(),
        body: None,
    };
    // Sanity: the routed call really reaches the CPO.
    let check: Value = reqwest::Client::new()
        .get(&routed.url)
        .headers((&routed.headers.iter().cloned().collect::<std::collections::HashMap<_, _>>()).try_into()?)
        .send()
        .await?
        .json()
        .await?;
    if check["data"]["id"] != "LOC1" {
        bail!("routed GET did not reach the CPO: {check}");
    }

    println!("# routed vs direct GET /locations/LOC1 ({connections} connections, {secs} s per run, {rounds} rounds)");
    let (mut d_rps, mut r_rps, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let (direct_rps, direct_err) = closed_loop(&direct, connections, secs).await;
        let (routed_rps, routed_err) = closed_loop(&routed, connections, secs).await;
        println!(
            "round {round}: direct {direct_rps:.0} req/s ({direct_err} errors), routed {routed_rps:.0} req/s ({routed_err} errors), ratio {:.2}",
            routed_rps / direct_rps
        );
        d_rps.push(direct_rps);
        r_rps.push(routed_rps);
        ratios.push(routed_rps / direct_rps);
    }
    let routed_max = median(r_rps.clone());
    println!("direct throughput (median): {:.0} req/s", median(d_rps));
    println!("routed throughput (median): {routed_max:.0} req/s");
    println!("ratio routed/direct (median of rounds): {:.2}", median(ratios));

    let rate = routed_max / 2.0;
    let lat_secs = secs.max(5);
    println!("# latency at half of routed max ({rate:.0} req/s, open loop over {connections} connections, {lat_secs} s per run)");
    let (mut added50, mut added99) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let hd = open_loop(&direct, rate, lat_secs, connections).await;
        let hr = open_loop(&routed, rate, lat_secs, connections).await;
        for (name, h) in [("direct", &hd), ("routed", &hr)] {
            println!(
                "round {round} {name}: p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
                ms(h.value_at_quantile(0.5)),
                ms(h.value_at_quantile(0.99)),
                ms(h.value_at_quantile(0.999)),
                ms(h.max())
            );
        }
        added50.push(ms(hr.value_at_quantile(0.5)) - ms(hd.value_at_quantile(0.5)));
        added99.push(ms(hr.value_at_quantile(0.99)) - ms(hd.value_at_quantile(0.99)));
    }
    println!("added by the hub (median of rounds): p50 {:.3} ms, p99 {:.3} ms", median(added50), median(added99));

    // A routed push: stored in the hub's copy before it is forwarded.
    let loc = location_json("LOC1", "2026-01-01T00:00:00Z").to_string();
    let mut push_headers = vec![("Authorization".to_string(), b64(&_cpo_c))];
    push_headers.extend([
        ("OCPI-from-country-code".to_string(), "NL".to_string()),
        ("OCPI-from-party-id".to_string(), "CPO".to_string()),
        ("OCPI-to-country-code".to_string(), "NL".to_string()),
        ("OCPI-to-party-id".to_string(), "EMS".to_string()),
    ]);
    let push = Target {
        method: reqwest::Method::PUT,
        url: format!("{}/ocpi/2.2.1/receiver/locations/NL/CPO/LOC1", hub.base),
        headers: push_headers,
        body: Some(loc),
    };
    let (push_rps, push_err) = closed_loop(&push, connections, secs).await;
    println!("routed PUT location (stored, then forwarded): {push_rps:.0} req/s ({push_err} errors)");
    Ok(())
}

async fn deep_page(objects: usize, offset: usize, limit: usize, samples: usize, database_url: Option<String>) -> Result<()> {
    let dir = temp_dir("deep");
    std::fs::create_dir_all(&dir)?;
    let url = database_url.clone().unwrap_or_else(|| format!("sqlite://{}/hub.db", dir.display()));
    {
        let store = Store::open(&url, &StoreOptions { max_connections: 2, sqlite_synchronous_full: false }).await?;
        let owner = PartyKey::new("NL", "CPO");
        let t0 = Instant::now();
        let base = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")?.timestamp();
        for chunk in (0..objects).collect::<Vec<_>>().chunks(10_000) {
            let batch: Vec<_> = chunk
                .iter()
                .map(|i| {
                    // Several objects share each timestamp, as in real bulk imports.
                    let ts = chrono::DateTime::from_timestamp(base + (*i as i64 / 3), 0).expect("ts");
                    let lu = ts.format("%Y-%m-%dT%H:%M:%SZ").to_string();
                    let id = format!("LOC{i:07}");
                    (ObjectKey::new("locations", &owner, &id), ts.timestamp_micros(), location_json(&id, &lu).to_string())
                })
                .collect();
            store.insert_objects(&batch).await?;
        }
        println!("# inserted {objects} locations in {:.1} s ({})", t0.elapsed().as_secs_f64(), store.backend());
        store.close().await;
        if url.starts_with("postgres") {
            // The steady state of a live table: autovacuum has set the visibility map (needed
            // for index-only scans) and the statistics. A fresh bulk load has neither.
            let pool = sqlx::PgPool::connect(&url).await?;
            sqlx::query("VACUUM ANALYZE objects").execute(&pool).await?;
            pool.close().await;
        }
    }
    let peer = start_peer();
    let hub = start_hub(Some(url), dir.clone()).await?;
    let emsp_c = hub.register(&peer, "emsp", "NL", "EMS", "EMSP", EMSP_TOKEN_B).await?;
    let client = reqwest::Client::new();
    let get = |u: String| {
        client
            .get(u)
            .header("Authorization", format!("Token {}", base64::engine::general_purpose::STANDARD.encode(&emsp_c)))
            .header("OCPI-from-country-code", "NL")
            .header("OCPI-from-party-id", "EMS")
            .header("OCPI-to-country-code", "NL")
            .header("OCPI-to-party-id", "HUB")
    };
    let list = format!("{}/ocpi/2.2.1/sender/locations", hub.base);
    let measure = |name: String, url: String| {
        let get = &get;
        async move {
            let mut h = Histogram::<u64>::new(3).expect("hist");
            let mut link = None;
            let mut count = 0;
            for i in 0..samples + 3 {
                let t = Instant::now();
                let r = get(url.clone()).send().await?;
                let total = r.headers().get("x-total-count").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                link = r.headers().get("link").and_then(|v| v.to_str().ok()).map(str::to_string).or(link);
                let v: Value = r.json().await?;
                if i >= 3 {
                    h.record(t.elapsed().as_micros() as u64)?;
                }
                count = v["data"].as_array().map(|a| a.len()).unwrap_or(0);
                if i == 0 {
                    println!("{name}: {count} objects, X-Total-Count {total}");
                }
            }
            println!(
                "{name}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({samples} samples, {count} objects per page)",
                ms(h.value_at_quantile(0.5)),
                ms(h.value_at_quantile(0.99)),
                ms(h.max())
            );
            anyhow::Ok(link)
        }
    };
    println!("# GET All via the hub, {objects} locations, limit {limit}");
    measure("first page".into(), format!("{list}?offset=0&limit={limit}")).await?;
    let before = offset.saturating_sub(limit);
    let link = measure(format!("offset {offset}"), format!("{list}?offset={offset}&limit={limit}")).await?;
    let _ = link;
    // Following Link from the page before: the keyset cursor.
    let prev = get(format!("{list}?offset={before}&limit={limit}")).send().await?;
    let next = prev
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.split(';').next())
        .map(|u| u.trim().trim_start_matches('<').trim_end_matches('>').to_string())
        .context("no Link on the page before")?;
    measure(format!("offset {offset} via Link (cursor)"), next).await?;
    // A client computing offsets itself, right after reading the page before.
    let mut h = Histogram::<u64>::new(3).expect("hist");
    for _ in 0..samples {
        get(format!("{list}?offset={before}&limit={limit}")).send().await?.bytes().await?;
        let t = Instant::now();
        get(format!("{list}?offset={offset}&limit={limit}")).send().await?.bytes().await?;
        h.record(t.elapsed().as_micros() as u64)?;
    }
    println!(
        "offset {offset} right after offset {before} (no cursor): p50 {:.3} ms, p99 {:.3} ms ({samples} samples)",
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99))
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// settlement

/// CPOs and eMSPs of the settlement benchmark; every party has a fee contract in EUR.
const BENCH_CPOS: usize = 20;
const BENCH_EMSPS: usize = 5;

/// A CDR as a CPO sends it (the shape of `crates/clearing/tests/db`), priced with the
/// benchmark's tariff (ENERGY 0.25/kWh, 10 % VAT) so the hub's rating check passes.
fn bench_cdr(cc: &str, pid: &str, id: &str, emsp: &str, kwh: rust_decimal::Decimal, end: &str, start: &str) -> String {
    let excl = clearing::rating::round(kwh * rust_decimal::Decimal::new(25, 2));
    let incl = clearing::rating::round(excl * rust_decimal::Decimal::new(110, 2));
    json!({
        "country_code": cc, "party_id": pid, "id": id,
        "start_date_time": start, "end_date_time": end,
        "cdr_token": {"country_code": "DE", "party_id": emsp, "uid": "TOKEN1", "type": "RFID", "contract_id": "DE-EMS-C12345678-X"},
        "auth_method": "WHITELIST",
        "cdr_location": {"id": "LOC1", "address": "Street 1", "city": "Amsterdam", "postal_code": "1000AA", "country": "NLD",
            "coordinates": {"latitude": "52.37403", "longitude": "4.88969"}, "evse_uid": "EVSE1", "evse_id": "NL*CPO*E1",
            "connector_id": "1", "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET", "connector_power_type": "AC_3_PHASE"},
        "currency": "EUR",
        "charging_periods": [{"start_date_time": start, "dimensions": [{"type": "ENERGY", "volume": kwh.to_string()}], "tariff_id": "T1"}],
        "total_cost": {"excl_vat": excl.to_string(), "incl_vat": incl.to_string()},
        "total_energy": kwh.to_string(),
        "total_time": "1",
        "last_updated": end
    })
    .to_string()
}

/// Multi-row INSERT of hub copies (6 parameters a row: 1 000 rows a statement, under SQLite's
/// 32 766 limit), 10 000 rows per transaction.
async fn bulk_insert(store: &Store, rows: &[(ObjectKey, i64, String)]) -> Result<()> {
    macro_rules! load {
        ($pool:expr) => {{
            let mut tx = $pool.begin().await?;
            for part in rows.chunks(1000) {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO objects (module, country_code, party_id, object_id, last_updated, body) ");
                qb.push_values(part, |mut b, (k, lu, body)| {
                    b.push_bind(k.module.clone()).push_bind(k.country_code.clone()).push_bind(k.party_id.clone()).push_bind(k.id.clone()).push_bind(*lu).push_bind(body.clone());
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }};
    }
    match store.db() {
        hub_core::store::Db::Sqlite(p) => load!(p),
        hub_core::store::Db::Postgres(p) => load!(p),
    }
    Ok(())
}

async fn settlement(n: usize, database_url: Option<String>) -> Result<()> {
    use clearing::ledger::{fees, settle, statements};
    let dir = temp_dir("settle");
    std::fs::create_dir_all(&dir)?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}/hub.db", dir.display()));
    let store = Store::open(&url, &StoreOptions { max_connections: 4, sqlite_synchronous_full: false }).await?;
    let existing: i64 = match store.db() {
        hub_core::store::Db::Sqlite(p) => sqlx::query_scalar("SELECT COUNT(*) FROM objects WHERE module = 'cdrs'").fetch_one(p).await?,
        hub_core::store::Db::Postgres(p) => sqlx::query_scalar("SELECT COUNT(*) FROM objects WHERE module = 'cdrs'").fetch_one(p).await?,
    };
    if existing > 0 {
        bail!("the database already holds {existing} CDRs: give an empty one");
    }
    let mut tariffs = Vec::new();
    for c in 0..BENCH_CPOS {
        let pid = format!("C{c:02}");
        let owner = PartyKey::new("NL", &pid);
        let t = json!({"country_code": "NL", "party_id": pid, "id": "T1", "currency": "EUR",
            "elements": [{"price_components": [{"type": "ENERGY", "price": "0.25", "vat": "10", "step_size": 1}]}],
            "last_updated": "2026-01-01T00:00:00Z"});
        tariffs.push((ObjectKey::new("tariffs", &owner, "T1"), 0, t.to_string()));
        fees::set(&store, &fees::FeeContract::new(&owner, "EUR", rust_decimal::Decimal::new(25, 2), rust_decimal::Decimal::new(25, 1))?).await?;
    }
    for e in 0..BENCH_EMSPS {
        let owner = PartyKey::new("DE", &format!("E{e:02}"));
        fees::set(&store, &fees::FeeContract::new(&owner, "EUR", rust_decimal::Decimal::ZERO, rust_decimal::Decimal::ONE)?).await?;
    }
    store.insert_objects(&tariffs).await?;

    // Load: CDRs spread over January 2026.
    let t0 = Instant::now();
    let base = chrono::DateTime::parse_from_rfc3339("2026-01-01T01:00:00Z")?.timestamp();
    let month = 30 * 86_400 - 7_200;
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n {
        let cpo = format!("C{:02}", i % BENCH_CPOS);
        let emsp = format!("E{:02}", (i / BENCH_CPOS) % BENCH_EMSPS);
        let end_t = base + (i as i64 * 7919) % month;
        let fmt = |t: i64| chrono::DateTime::from_timestamp(t, 0).expect("ts").format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let (end, start) = (fmt(end_t), fmt(end_t - 3600));
        let kwh = rust_decimal::Decimal::new(1 + (i as i64 * 7) % 80_000, 3);
        let id = format!("CDR{i:08}");
        let owner = PartyKey::new("NL", &cpo);
        batch.push((ObjectKey::new("cdrs", &owner, &id), end_t * 1_000_000, bench_cdr("NL", &cpo, &id, &emsp, kwh, &end, &start)));
        if batch.len() == 10_000 {
            bulk_insert(&store, &batch).await?;
            batch.clear();
        }
    }
    bulk_insert(&store, &batch).await?;
    let load_s = t0.elapsed().as_secs_f64();
    eprintln!("# loaded {n} CDRs in {load_s:.1} s");
    if let hub_core::store::Db::Postgres(p) = store.db() {
        sqlx::query("VACUUM ANALYZE objects").execute(p).await?;
    }

    let options = settle::SettleOptions::default();
    let t1 = Instant::now();
    let mut last = Instant::now();
    let mut progress = |p: settle::Progress| {
        if let settle::Progress::Settling { done, total } = p
            && last.elapsed() > Duration::from_secs(10)
        {
            eprintln!("# settling {done}/{total}");
            last = Instant::now();
        }
    };
    let settled = settle::settle_pending(&store, &options, &mut progress).await?;
    let settle_s = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let (from, to) = (statements::parse_bound("2026-01-01")?, statements::parse_bound("2026-02-01")?);
    let closed = statements::close_period(&store, from, to, &mut progress).await?;
    let close_s = t2.elapsed().as_secs_f64();
    let in_statements: i64 = closed.statements.iter().map(|s| s.cdr_count).sum();
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "cdrs": n,
            "backend": if url.starts_with("postgres") { "postgres" } else { "sqlite" },
            "load_s": load_s,
            "load_cdrs_per_s": n as f64 / load_s,
            "settle": settled,
            "settle_s": settle_s,
            "settle_cdrs_per_s": n as f64 / settle_s,
            "close_s": close_s,
            "close_cdrs_per_s": n as f64 / close_s,
            "statements": closed.statements.len(),
            "cdr_lines_in_statements": in_statements,
        }))?
    );
    if settled.settled as usize != n || in_statements as usize != 2 * n {
        bail!("expected {n} CDRs settled, each in two statements: {settled:?}, {in_statements} CDR lines");
    }
    Ok(())
}
