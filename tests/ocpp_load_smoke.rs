//! Smoke test of the OCPP load benchmark (`src/bin/ocpp-load.rs`), so the tool cannot rot: 200
//! chargers against the real `ocpi-hub serve` binary, on SQLite and (when
//! `HUB_TEST_POSTGRES_URL` is set) PostgreSQL. Every charger must connect and boot from its own
//! 127.x source address, the hub must hold every connection, both round-trip runs must complete
//! without a CALLERROR, and every charger of the boot storm must come back Accepted.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Instant;

const CHARGERS: u64 = 200;
const STORM: u64 = 100;

#[test]
fn load_client_against_the_real_hub_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== ocpp-load on {}", db.kind());
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_ocpp-load"))
            .args(["--chargers", &CHARGERS.to_string(), "--storm", &STORM.to_string(), "--seconds", "1"])
            .args(["--cold-concurrency", "32", "--check", "--json"])
            .args(["--hub-bin", HUB_BIN, "--database-url", &db.url()])
            .output()
            .expect("run ocpp-load");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "ocpp-load failed on {}:\n{stdout}\n{stderr}", db.kind());
        let r: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
        eprintln!("{stderr}(took {:.1} s)", started.elapsed().as_secs_f64());

        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["cold_connect"]["connected"], CHARGERS, "{r}");
        // The hub holds a socket per charger (and the database files its pool opened meanwhile).
        let held = r["hold"]["connections_held"].as_u64().unwrap();
        assert!((CHARGERS..CHARGERS + 40).contains(&held), "hub holds {held} more files than idle: {r}");
        assert!(r["hold"]["rss_bytes_per_connection"].as_f64().unwrap() > 0.0, "{r}");
        for action in ["Heartbeat", "StatusNotification"] {
            let run = &r["round_trips"][action];
            assert_eq!(run["errors"], 0, "{action}: {r}");
            assert!(run["round_trips"].as_u64().unwrap() >= CHARGERS, "{action}: fewer round trips than chargers: {r}");
        }
        assert_eq!(r["boot_storm"]["chargers"], STORM, "{r}");
        assert_eq!(r["boot_storm"]["booted"], STORM, "{r}");
        assert_eq!(r["lost_connections"], 0, "{r}");
    }
}
