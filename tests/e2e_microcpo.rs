//! End-to-end: a micro-CPO hosted by the real `ocpi-hub serve` binary, on SQLite and (when
//! `HUB_TEST_POSTGRES_URL` is set) PostgreSQL.
//!
//! An eMSP registers; the operator creates a hosted CPO (`microcpo add`), puts a location and a
//! tariff (`location put`, `tariff put`) and adds chargers (`charger add`). The eMSP sees the
//! micro-CPO CONNECTED in Hub Client Info and receives the location and tariff. Then Python
//! chargers (PyPI `ocpp` 2.1.0, `tests/ocpp/microcpo_charger.py`; skipped with a note when
//! `.venv/bin/python` is missing) connect over OCPP 1.6 and 2.0.1: the right password boots
//! (Accepted), a wrong one is refused with 401, and a StatusNotification reaches the eMSP as an
//! EVSE status PATCH with the mapped OCPI status, which GET All via the hub then shows.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;


/// Runs the Python charger to its end and returns its JSON lines.
async fn charger(python: &Path, ws_url: &str, id: &str, password: &str, version: &str, status: &str, number: u32) -> Vec<Value> {
    let number = number.to_string();
    let args = ["--url", ws_url, "--id", id, "--password", password, "--version", version, "--status", status, "--number", &number];
    run_python_charger(python, "microcpo_charger.py", &args, Duration::from_secs(60)).await
}

fn line<'a>(lines: &'a [Value], key: &str) -> &'a Value {
    lines.iter().find_map(|l| l.get(key)).unwrap_or_else(|| panic!("no {key} in {lines:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microcpo_scenario_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== micro-CPO scenario on {}", db.kind());
        scenario(&db).await;
    }
}

/// OCPP security profile 2 through the hub's configuration: with `ocpp.tls_cert_path` and
/// `ocpp.tls_key_path` the gateway serves `wss://` (the gateway crate's test certificate for
/// `localhost`), `charger add` prints a `wss://` URL, and a Python charger that trusts the test CA
/// boots over it; a wrong password is still refused before the upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charger_over_tls_from_the_hub_configuration() {
    let fixtures = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crates/ocpp-gateway/tests/fixtures");
    let (cert, key, ca) = (fixtures.join("server.crt"), fixtures.join("server.key"), fixtures.join("ca.crt"));
    let db = TestDb::sqlite();
    let hub = Hub::start_with_env(
        &db,
        &[("HUB__OCPP__TLS_CERT_PATH", cert.to_str().unwrap()), ("HUB__OCPP__TLS_KEY_PATH", key.to_str().unwrap())],
    );
    hub.cli(&["microcpo", "add", "--country-code", "NL", "--party-id", "TLS", "--name", "TLS café"]);
    let mut loc = spec_example("location_example.json");
    loc["country_code"] = json!("NL");
    loc["party_id"] = json!("TLS");
    let uid = loc["evses"][0]["uid"].as_str().unwrap().to_string();
    let loc_file = hub.dir().join("location.json");
    std::fs::write(&loc_file, serde_json::to_vec(&loc).unwrap()).unwrap();
    hub.cli(&["location", "put", "--country-code", "NL", "--party-id", "TLS", "--file", loc_file.to_str().unwrap()]);
    let added = hub.cli(&[
        "charger", "add", "--country-code", "NL", "--party-id", "TLS", "--location", loc["id"].as_str().unwrap(),
        "--charger-id", "CPTLS", "--password", "secret-password-tls", "--evse-uids", &uid,
    ]);
    assert!(added["ws_url"].as_str().unwrap().starts_with("wss://"), "{added}");

    let Some(python) = ocpp_python() else { return };
    let url = format!("wss://localhost:{}/ocpp", hub.ocpp_port());
    let run = |password: &'static str, scenario: &'static str| {
        let (python, url, ca) = (python.clone(), url.clone(), ca.clone());
        async move {
            let args = ["--url", &url, "--id", "CPTLS", "--password", password, "--version", "1.6", "--cafile", ca.to_str().unwrap(), "--scenario", scenario];
            run_python_charger(&python, "charger.py", &args, Duration::from_secs(60)).await
        }
    };
    let lines = run("secret-password-tls", "boot").await;
    assert_eq!(line(&lines, "boot")["status"], "Accepted", "{lines:?}");
    let lines = run("wrong-password", "auth").await;
    assert_eq!(*line(&lines, "rejected"), json!(401), "{lines:?}");
    // Only one of the two files: the hub refuses to start.
    let out = hub
        .command()
        .env_remove("HUB__OCPP__TLS_KEY_PATH")
        .env("HUB__OCPP__LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("HUB__HTTP__LISTEN", format!("127.0.0.1:{}", free_port()))
        .arg("serve")
        .output()
        .expect("run ocpi-hub");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tls_cert_path and ocpp.tls_key_path"), "{}", String::from_utf8_lossy(&out.stderr));
}

async fn scenario(db: &TestDb) {
    let hub = Hub::start(db);
    let emsp = Party::new([("DE", "EMS", "EMSP")]);
    emsp.set_hubclientinfo(true);
    let invite = hub.cli(&["party", "invite", "--name", "EMS", "--country-code", "DE", "--party-id", "EMS", "--role", "EMSP"]);
    emsp.register(&hub, invite["token"].as_str().unwrap()).await;

    // --- The hosted party ------------------------------------------------------------------
    let added = hub.cli(&["microcpo", "add", "--country-code", "NL", "--party-id", "MCP", "--name", "Micro CPO"]);
    assert_eq!(added["status"], "CONNECTED", "{added}");
    let ci = emsp
        .wait_for(|r| r.is("PUT", "receiver/hubclientinfo/NL/MCP") && r.body["status"] == "CONNECTED", WAIT)
        .await;
    assert_eq!(ci.body["role"], "CPO");
    let (status, _, body) = emsp.call("GET", "hubclientinfo", "sender", "?offset=0&limit=10", None, None).await;
    assert_eq!(status, 200, "{body}");
    let entry = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["country_code"] == "NL" && c["party_id"] == "MCP")
        .unwrap_or_else(|| panic!("micro-CPO missing from hubclientinfo: {body}"))
        .clone();
    assert_eq!(entry["role"], "CPO");
    assert_eq!(entry["status"], "CONNECTED");
    // The same party cannot be added twice.
    let again = hub.cli_output(&["microcpo", "add", "--country-code", "NL", "--party-id", "MCP", "--name", "Again"]);
    assert!(!again.status.success());
    // Suspending and lifting it brings it back CONNECTED (not PLANNED: it has no client token).
    hub.cli(&["party", "suspend", "--country-code", "NL", "--party-id", "MCP"]);
    emsp.wait_for(|r| r.is("PUT", "receiver/hubclientinfo/NL/MCP") && r.body["status"] == "SUSPENDED", WAIT).await;
    let lifted = hub.cli(&["party", "unsuspend", "--country-code", "NL", "--party-id", "MCP"]);
    assert_eq!(lifted[0]["status"], "CONNECTED", "{lifted}");

    // --- Location and tariff: stored and broadcast -----------------------------------------
    let mut loc = spec_example("location_example.json");
    loc["country_code"] = json!("NL");
    loc["party_id"] = json!("MCP");
    let loc_id = loc["id"].as_str().unwrap().to_string();
    let uids: Vec<String> = loc["evses"].as_array().unwrap().iter().map(|e| e["uid"].as_str().unwrap().to_string()).collect();
    assert!(uids.len() >= 2, "the example has two EVSEs");
    let loc_file = hub.dir().join("location.json");
    std::fs::write(&loc_file, serde_json::to_vec_pretty(&loc).unwrap()).unwrap();
    let put = hub.cli(&["location", "put", "--country-code", "NL", "--party-id", "MCP", "--file", loc_file.to_str().unwrap()]);
    assert_eq!(put["receivers"], 1, "{put}");
    let got = emsp.wait_for(|r| r.is("PUT", &format!("receiver/locations/NL/MCP/{loc_id}")), WAIT).await;
    assert_eq!(got.body, loc, "the location arrives as put");
    assert_eq!(got.header("ocpi-from-country-code"), Some("NL"));
    assert_eq!(got.header("ocpi-from-party-id"), Some("HUB"));
    assert_eq!(got.header("ocpi-to-party-id"), Some("EMS"));

    let mut tariff = spec_example("tariff_1_simple_2hour.json");
    tariff["country_code"] = json!("NL");
    tariff["party_id"] = json!("MCP");
    let tariff_id = tariff["id"].as_str().unwrap().to_string();
    let tariff_file = hub.dir().join("tariff.json");
    std::fs::write(&tariff_file, serde_json::to_vec(&tariff).unwrap()).unwrap();
    hub.cli(&["tariff", "put", "--country-code", "NL", "--party-id", "MCP", "--file", tariff_file.to_str().unwrap()]);
    emsp.wait_for(|r| r.is("PUT", &format!("receiver/tariffs/NL/MCP/{tariff_id}")), WAIT).await;

    // An invalid location is refused, naming the field.
    let mut bad = loc.clone();
    bad["evses"][0]["status"] = json!("SLEEPING");
    std::fs::write(&loc_file, serde_json::to_vec(&bad).unwrap()).unwrap();
    let out = hub.cli_output(&["location", "put", "--country-code", "NL", "--party-id", "MCP", "--file", loc_file.to_str().unwrap()]);
    assert!(!out.status.success());
    // Not a hosted party.
    let out = hub.cli_output(&["location", "put", "--country-code", "DE", "--party-id", "EMS", "--file", loc_file.to_str().unwrap()]);
    assert!(!out.status.success());

    // --- Chargers ----------------------------------------------------------------------------
    let c16 = hub.cli(&[
        "charger", "add", "--country-code", "NL", "--party-id", "MCP", "--location", &loc_id, "--charger-id", "CP16",
        "--password", "secret-password-16", "--evse-uids", &uids.join(","),
    ]);
    assert_eq!(c16["ws_url"], format!("ws://127.0.0.1:{}/ocpp/CP16", hub.ocpp_port()), "{c16}");
    let c201 = hub.cli(&[
        "charger", "add", "--country-code", "NL", "--party-id", "MCP", "--location", &loc_id, "--charger-id", "CP201",
        "--password", "secret-password-201", "--evse-uids", &format!("{},{}", uids[1], uids[0]),
    ]);
    // Without --password the hub generates one (shown once) and keeps only a hash of it.
    let cgen = hub.cli(&[
        "charger", "add", "--country-code", "NL", "--party-id", "MCP", "--location", &loc_id, "--charger-id", "CPGEN",
        "--evse-uids", &uids[0],
    ]);
    let generated = cgen["password"].as_str().expect("a generated password").to_string();
    assert_eq!(generated.len(), 32, "{cgen}");
    assert!(generated.chars().all(|c| c.is_ascii_alphanumeric()), "{cgen}");
    assert!(c16.get("password").is_none(), "a given password is never printed: {c16}");
    // Unknown EVSE, unknown location, duplicate id: refused.
    for args in [
        vec!["--location", loc_id.as_str(), "--charger-id", "CPX", "--evse-uids", "NOPE"],
        vec!["--location", "NO-SUCH-LOC", "--charger-id", "CPX", "--evse-uids", uids[0].as_str()],
        vec!["--location", loc_id.as_str(), "--charger-id", "CP16", "--evse-uids", uids[0].as_str()],
    ] {
        let mut all = vec!["charger", "add", "--country-code", "NL", "--party-id", "MCP", "--password", "pw-pw-pw-pw"];
        all.extend(args);
        assert!(!hub.cli_output(&all).status.success(), "{all:?} should fail");
    }

    let Some(python) = ocpp_python() else { return };
    let ws16 = c16["ws_url"].as_str().unwrap();
    let ws201 = c201["ws_url"].as_str().unwrap();

    // Wrong password: 401 before the upgrade.
    let lines = charger(&python, ws16, "CP16", "wrong-password", "1.6", "Available", 1).await;
    assert_eq!(*line(&lines, "rejected"), json!(401), "{lines:?}");

    // The generated password opens the charger's websocket; anything else does not.
    let ws_gen = cgen["ws_url"].as_str().unwrap();
    let lines = charger(&python, ws_gen, "CPGEN", &generated, "1.6", "Available", 1).await;
    assert_eq!(line(&lines, "boot")["status"], "Accepted", "{lines:?}");
    let lines = charger(&python, ws_gen, "CPGEN", &generated.to_lowercase(), "1.6", "Available", 1).await;
    assert_eq!(*line(&lines, "rejected"), json!(401), "{lines:?}");

    // OCPP 1.6: connector 2 Faulted → EVSE uids[1] OUTOFORDER.
    let lines = charger(&python, ws16, "CP16", "secret-password-16", "1.6", "Faulted", 2).await;
    assert_eq!(*line(&lines, "subprotocol"), json!("ocpp1.6"));
    assert_eq!(line(&lines, "boot")["status"], "Accepted");
    assert_eq!(line(&lines, "boot")["interval"], 300);
    assert!(line(&lines, "heartbeat").is_string());
    assert_eq!(*line(&lines, "data_transfer"), json!("Rejected"));
    let patch = emsp
        .wait_for(|r| r.is("PATCH", &format!("receiver/locations/NL/MCP/{loc_id}/{}", uids[1])), WAIT)
        .await;
    assert_eq!(patch.body["status"], "OUTOFORDER", "{}", patch.summary());
    assert!(patch.body["last_updated"].is_string());
    assert_eq!(patch.header("ocpi-to-party-id"), Some("EMS"));

    // OCPP 2.0.1: EVSE 1 of CP201 is uids[1]; Occupied → CHARGING.
    let lines = charger(&python, ws201, "CP201", "secret-password-201", "2.0.1", "Occupied", 1).await;
    assert_eq!(*line(&lines, "subprotocol"), json!("ocpp2.0.1"));
    assert_eq!(line(&lines, "boot")["status"], "Accepted");
    assert_eq!(*line(&lines, "data_transfer"), json!("Rejected"));
    emsp.wait_for(
        |r| r.is("PATCH", &format!("receiver/locations/NL/MCP/{loc_id}/{}", uids[1])) && r.body["status"] == "CHARGING",
        WAIT,
    )
    .await;
    // And EVSE 2 of CP201 (uids[0]) Unavailable → INOPERATIVE.
    charger(&python, ws201, "CP201", "secret-password-201", "2.0.1", "Unavailable", 2).await;
    emsp.wait_for(
        |r| r.is("PATCH", &format!("receiver/locations/NL/MCP/{loc_id}/{}", uids[0])) && r.body["status"] == "INOPERATIVE",
        WAIT,
    )
    .await;

    // GET All via the hub shows the hub's copy with the new statuses.
    let (status, _, body) = emsp.call("GET", "locations", "sender", "?offset=0&limit=10", Some(("NL", "HUB")), None).await;
    assert_eq!(status, 200, "{body}");
    let stored = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["party_id"] == "MCP" && l["id"] == loc_id)
        .unwrap_or_else(|| panic!("location missing from GET All: {body}"))
        .clone();
    let evse = |uid: &str| stored["evses"].as_array().unwrap().iter().find(|e| e["uid"] == uid).unwrap().clone();
    assert_eq!(evse(&uids[1])["status"], "CHARGING");
    assert_eq!(evse(&uids[0])["status"], "INOPERATIVE");
    assert_eq!(evse(&uids[0])["connectors"], loc["evses"][0]["connectors"], "the rest of the EVSE is kept");
}
