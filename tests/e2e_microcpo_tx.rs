//! End-to-end: micro-CPO transactions through the real `ocpi-hub serve` binary, on SQLite and
//! (when `HUB_TEST_POSTGRES_URL` is set) PostgreSQL, with Python chargers (PyPI `ocpp` 2.1.0,
//! `tests/ocpp/transaction_charger.py`) over OCPP 1.6 and 2.0.1, an eMSP and an SCSP as OCPI
//! test servers.
//!
//! - Authorize: a token the eMSP pushed (answered locally), a token only the eMSP knows
//!   (real-time authorization), an unknown token (Invalid).
//! - A full transaction per version with meter values: the eMSP receives the Session (PUT, then
//!   PATCHes) and a CDR whose totals are the tariff (spec examples 9 and 1 combined: a start
//!   fee, a price per kWh, a price per hour) applied to the energy and time; the SCSP receives
//!   the sessions without driver data.
//! - Robustness, per version where the case exists: a stop for a transaction the hub never saw,
//!   1.6 transactionId 0 and -1, a start repeated after a reconnect, a zone-less timestamp, a
//!   kWh meter reading where Wh is due, clock skew, an offline queue replayed out of order.

mod common;

use common::party211::{Party211, raw_token};
use common::*;
use hub_core::ocpi::v211;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Runs the scripted charger to its end and returns its JSON lines.
async fn run_charger(python: &Path, ws_url: &str, id: &str, password: &str, version: &str, script: Value) -> Vec<Value> {
    let script = script.to_string();
    let args = ["--url", ws_url, "--id", id, "--password", password, "--version", version, "--script", &script];
    run_python_charger(python, "transaction_charger.py", &args, Duration::from_secs(120)).await
}

fn all<'a>(lines: &'a [Value], key: &str) -> Vec<&'a Value> {
    lines.iter().filter_map(|l| l.get(key)).collect()
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn d(v: &Value) -> Decimal {
    match v {
        Value::String(s) => Decimal::from_str(s).unwrap(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap(),
        other => panic!("not a number: {other}"),
    }
}

/// The test tariff: spec example 9 (start fee + ENERGY) with the TIME component of example 1.
fn tariff() -> Value {
    let mut t = spec_example("tariff_9_025kwh_start.json");
    let time = spec_example("tariff_1_simple_2hour.json")["elements"][0].clone();
    t["elements"].as_array_mut().unwrap().push(time);
    t["country_code"] = json!("NL");
    t["party_id"] = json!("MCP");
    t["id"] = json!("TX-TARIFF");
    t
}

/// Price of a component type in the tariff (first element that has it) and its VAT percent.
fn component(t: &Value, kind: &str) -> (Decimal, Decimal) {
    for e in t["elements"].as_array().unwrap() {
        for pc in e["price_components"].as_array().unwrap() {
            if pc["type"] == kind {
                return (d(&pc["price"]), d(&pc["vat"]));
            }
        }
    }
    panic!("no {kind} component");
}

/// Expected (excl_vat, incl_vat) of the test tariff for `kwh` and `hours` (step sizes of 1 Wh
/// and 60 s are met exactly by the test's whole minutes and watt-hours).
fn expected_cost(kwh: Decimal, hours: Decimal) -> (Decimal, Decimal) {
    let t = tariff();
    let (flat, flat_vat) = component(&t, "FLAT");
    let (energy, energy_vat) = component(&t, "ENERGY");
    let (time, time_vat) = component(&t, "TIME");
    let hundred = Decimal::from(100);
    let parts = [(flat, flat_vat), (energy * kwh, energy_vat), (time * hours, time_vat)];
    let excl: Decimal = parts.iter().map(|p| p.0).sum();
    let incl: Decimal = parts.iter().map(|p| p.0 * (hundred + p.1) / hundred).sum();
    (excl.round_dp(4), incl.round_dp(4))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microcpo_transactions_on_every_database() {
    let Some(python) = ocpp_python() else { return };
    for db in TestDb::all() {
        eprintln!("=== micro-CPO transactions on {}", db.kind());
        scenario(&db, &python).await;
    }
}

struct Setup {
    _hub: Hub,
    emsp: Party,
    scsp: Party,
    /// A 2.1.1 eMSP (DE/EM1): sees the micro-CPO's location and commands its charger.
    emsp11: Party211,
    uids: Vec<String>,
    ws16: String,
    ws201: String,
}

async fn setup(db: &TestDb) -> Setup {
    let hub = Hub::start(db);
    let emsp = Party::new([("DE", "EMS", "EMSP")]);
    let scsp = Party::new([("DE", "SCS", "SCSP")]);
    register_invited(&hub, &emsp, "DE", "EMS", "EMSP").await;
    register_invited(&hub, &scsp, "DE", "SCS", "SCSP").await;
    let emsp11 = Party211::new("DE", "EM1", "EMSP");
    let invite = hub.cli(&["party", "invite", "--name", "EM1", "--country-code", "DE", "--party-id", "EM1", "--role", "EMSP"]);
    emsp11.register(&hub, invite["token"].as_str().unwrap()).await;
    // It knows no token by real-time authorization (the hub asks every eMSP about unknown ones).
    emsp11.respond("POST", "tokens/", Reply::ocpi(404, 2004, "unknown token"));
    hub.cli(&["microcpo", "add", "--country-code", "NL", "--party-id", "MCP", "--name", "Micro CPO"]);

    let mut loc = spec_location(("NL", "MCP"), "LOC-TX");
    for evse in loc["evses"].as_array_mut().unwrap() {
        for c in evse["connectors"].as_array_mut().unwrap() {
            c["tariff_ids"] = json!(["TX-TARIFF"]);
        }
    }
    let uids: Vec<String> = loc["evses"].as_array().unwrap().iter().map(|e| e["uid"].as_str().unwrap().to_string()).collect();
    let file = hub.dir().join("loc.json");
    std::fs::write(&file, loc.to_string()).unwrap();
    hub.cli(&["location", "put", "--country-code", "NL", "--party-id", "MCP", "--file", file.to_str().unwrap()]);
    let file = hub.dir().join("tariff.json");
    std::fs::write(&file, tariff().to_string()).unwrap();
    hub.cli(&["tariff", "put", "--country-code", "NL", "--party-id", "MCP", "--file", file.to_str().unwrap()]);
    let c16 = hub.cli(&[
        "charger", "add", "--country-code", "NL", "--party-id", "MCP", "--location", "LOC-TX", "--charger-id", "CP16",
        "--password", "secret-password-16", "--evse-uids", &uids.join(","),
    ]);
    let c201 = hub.cli(&[
        "charger", "add", "--country-code", "NL", "--party-id", "MCP", "--location", "LOC-TX", "--charger-id", "CP201",
        "--password", "secret-password-201", "--evse-uids", &format!("{},{}", uids[1], uids[0]),
    ]);

    // The eMSP pushes TOK16 (broadcast: the hub keeps it for local authorization); it answers
    // real-time authorization for RT201 only, 2004 for anything else.
    let tok = spec_token(("DE", "EMS"), "TOK16");
    let (status, _, body) = emsp.call("PUT", "tokens", "receiver", "/DE/EMS/TOK16", None, Some(tok)).await;
    assert_eq!(status, 200, "{body}");
    let rt = spec_token(("DE", "EMS"), "RT201");
    emsp.respond_fn(move |r| {
        if r.method == "POST" && r.path.contains("/sender/tokens/") && r.path.ends_with("/authorize") {
            if r.path.contains("/RT201/") {
                return Some(Reply::ok(json!({"allowed": "ALLOWED", "token": rt, "authorization_reference": "AUTH-RT"})));
            }
            return Some(Reply::ocpi(404, 2004, "unknown token"));
        }
        None
    });
    Setup {
        _hub: hub,
        emsp,
        scsp,
        emsp11,
        uids,
        ws16: c16["ws_url"].as_str().unwrap().to_string(),
        ws201: c201["ws_url"].as_str().unwrap().to_string(),
    }
}

fn session_path(id: &str) -> String {
    format!("receiver/sessions/NL/MCP/{id}")
}

async fn cdr_of(emsp: &Party, id: &str) -> Value {
    emsp.wait_for(|r| r.is("POST", "receiver/cdrs") && r.body["id"] == id, WAIT).await.body
}

async fn scenario(db: &TestDb, python: &Path) {
    let s = setup(db).await;
    let t0 = chrono::Utc::now() - chrono::Duration::hours(3);
    let t0 = t0 - chrono::Duration::seconds(t0.timestamp() % 60);
    let min = |m: i64| ts(t0 + chrono::Duration::minutes(m));

    // ---- OCPP 1.6: authorize, full transaction -----------------------------------------------
    let lines = run_charger(python, &s.ws16, "CP16", "secret-password-16", "1.6", json!([
        {"authorize": "TOK16"},
        {"authorize": "NOBODY-KNOWS"},
        {"start": {"number": 1, "id_tag": "TOK16", "wh": 1000, "at": min(0)}},
        {"meter": {"wh": 6000, "at": min(30), "power_w": 10000}},
        {"stop": {"wh": 11000, "at": min(60), "reason": "Local"}},
    ])).await;
    let auth = all(&lines, "authorize");
    assert_eq!(auth, [&json!("Accepted"), &json!("Invalid")], "{lines:?}");
    let start = all(&lines, "start")[0].clone();
    assert_eq!(start["status"], "Accepted");
    let tx = start["transaction_id"].as_i64().unwrap();
    assert!(tx > 0);
    let sid = format!("CP16-{tx}");
    let put = s.emsp.wait_for(|r| r.is("PUT", &session_path(&sid)), WAIT).await;
    assert_eq!(put.body["status"], "ACTIVE", "{}", put.summary());
    assert_eq!(put.body["cdr_token"]["uid"], "TOK16");
    assert_eq!(put.body["cdr_token"]["party_id"], "EMS");
    assert_eq!(put.body["auth_method"], "WHITELIST");
    assert_eq!(put.body["location_id"], "LOC-TX");
    assert_eq!(put.body["evse_uid"], s.uids[0].as_str());
    assert_eq!(put.body["start_date_time"], min(0).as_str());
    assert_eq!(put.header("ocpi-from-party-id"), Some("MCP"));
    assert_eq!(put.header("ocpi-to-party-id"), Some("EMS"));
    let patches = s.emsp.wait_for_count(|r| r.is("PATCH", &session_path(&sid)), 2, WAIT).await;
    assert_eq!(d(&patches[0].body["kwh"]), Decimal::from(5), "after the meter value: {}", patches[0].summary());
    let last = s.emsp.wait_for(|r| r.is("PATCH", &session_path(&sid)) && r.body["status"] == "COMPLETED", WAIT).await;
    assert_eq!(d(&last.body["kwh"]), Decimal::from(10));
    assert_eq!(last.body["end_date_time"], min(60).as_str());
    let cdr = cdr_of(&s.emsp, &sid).await;
    let (excl, incl) = expected_cost(Decimal::from(10), Decimal::ONE);
    assert_eq!(d(&cdr["total_cost"]["excl_vat"]), excl, "{cdr}");
    assert_eq!(d(&cdr["total_cost"]["incl_vat"]), incl, "{cdr}");
    assert_eq!(d(&cdr["total_energy"]), Decimal::from(10));
    assert_eq!(d(&cdr["total_time"]), Decimal::ONE);
    assert_eq!(cdr["cdr_location"]["evse_uid"], s.uids[0].as_str());
    assert_eq!(cdr["tariffs"][0]["id"], "TX-TARIFF");
    // The SCSP sees the session without driver data.
    let scsp_put = s.scsp.wait_for(|r| r.is("PUT", &session_path(&sid)), WAIT).await;
    assert!(scsp_put.body.get("cdr_token").is_none(), "{}", scsp_put.summary());
    assert_eq!(scsp_put.body["id"], sid.as_str());

    // ---- OCPP 2.0.1: real-time authorization, full transaction --------------------------------
    let lines = run_charger(python, &s.ws201, "CP201", "secret-password-201", "2.0.1", json!([
        {"authorize": "RT201"},
        {"authorize": "NOBODY-KNOWS"},
        {"start": {"number": 1, "id_tag": "RT201", "wh": 0, "at": min(0), "tx": "T-201"}},
        {"meter": {"wh": 4000, "at": min(15), "power_w": 16000}},
        {"needs": {"number": 1}},
        {"stop": {"wh": 8000, "at": min(45), "reason": "Local"}},
    ])).await;
    assert_eq!(all(&lines, "authorize"), [&json!("Accepted"), &json!("Invalid")], "{lines:?}");
    assert_eq!(all(&lines, "needs"), [&json!("Accepted")]);
    s.emsp.wait_for(|r| r.is("POST", "sender/tokens/RT201/authorize"), WAIT).await;
    let sid = "CP201-T-201";
    let put = s.emsp.wait_for(|r| r.is("PUT", &session_path(sid)), WAIT).await;
    assert_eq!(put.body["auth_method"], "AUTH_REQUEST", "{}", put.summary());
    assert_eq!(put.body["authorization_reference"], "AUTH-RT");
    assert_eq!(put.body["evse_uid"], s.uids[1].as_str(), "EVSE 1 of CP201 is the location's second EVSE");
    let cdr = cdr_of(&s.emsp, sid).await;
    let (excl, incl) = expected_cost(Decimal::from(8), Decimal::from_str("0.75").unwrap());
    assert_eq!(d(&cdr["total_cost"]["excl_vat"]), excl, "{cdr}");
    assert_eq!(d(&cdr["total_cost"]["incl_vat"]), incl, "{cdr}");
    assert_eq!(cdr["authorization_reference"], "AUTH-RT");

    commands(&s, python, "1.6", "CP16", "secret-password-16", &s.uids[1]).await;
    commands(&s, python, "2.0.1", "CP201", "secret-password-201", &s.uids[0]).await;
    v211_emsp(&s, python).await;

    robustness_16(&s, python, t0).await;
    robustness_201(&s, python, t0).await;
}

/// The eMSP's START_SESSION and STOP_SESSION and the SCSP's charging profile reach the charger;
/// the results reach the requesters' response_url.
async fn commands(s: &Setup, python: &Path, version: &str, id: &str, password: &str, evse_uid: &str) {
    let (start, stop, set) = if version == "1.6" {
        ("RemoteStartTransaction", "RemoteStopTransaction", "SetChargingProfile")
    } else {
        ("RequestStartTransaction", "RequestStopTransaction", "SetChargingProfile")
    };
    let ws = if version == "1.6" { s.ws16.clone() } else { s.ws201.clone() };
    let script = json!([
        {"wait": {"action": start, "timeout": 60}},
        {"wait": {"action": set, "timeout": 60}},
        {"wait": {"action": stop, "timeout": 60}},
    ]);
    let (py, id_owned, pw, ver) = (python.to_path_buf(), id.to_string(), password.to_string(), version.to_string());
    let charger = tokio::spawn(async move { run_charger(&py, &ws, &id_owned, &pw, &ver, script).await });
    let token_uid = format!("CMD{}", id.trim_start_matches("CP"));
    let mut token = spec_token(("DE", "EMS"), &token_uid);
    token["type"] = json!("APP_USER");
    let cb = format!("{}/cb/{id}", s.emsp.base_url());
    let start_cmd = json!({"response_url": format!("{cb}/start"), "token": token, "location_id": "LOC-TX", "evse_uid": evse_uid});
    // Until the charger is connected the hub answers REJECTED (not connected).
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (status, _, body) = s.emsp.call("POST", "commands", "receiver", "/START_SESSION", Some(("NL", "MCP")), Some(start_cmd.clone())).await;
        assert_eq!(status, 200, "{body}");
        if body["data"]["result"] == "ACCEPTED" {
            assert!(body["data"]["timeout"].as_i64().unwrap() > 0);
            break;
        }
        assert_eq!(body["data"]["result"], "REJECTED", "{body}");
        assert!(std::time::Instant::now() < deadline, "the charger never connected: {body}\n{}", s._hub.log_tail(20));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let result = s.emsp.wait_for(|r| r.method == "POST" && r.path.ends_with(&format!("/cb/{id}/start")), WAIT).await;
    assert_eq!(result.body["result"], "ACCEPTED", "{}", result.summary());
    let put = s
        .emsp
        .wait_for(|r| r.method == "PUT" && r.path.contains(&format!("/receiver/sessions/NL/MCP/{id}-")) && r.body["cdr_token"]["uid"] == token_uid.as_str(), WAIT)
        .await;
    assert_eq!(put.body["auth_method"], "COMMAND", "{}", put.summary());
    assert_eq!(put.body["evse_uid"], evse_uid);
    let sid = put.body["id"].as_str().unwrap().to_string();

    // The SCSP limits the session.
    let profile = json!({"response_url": format!("{}/cb/{id}/profile", s.scsp.base_url()),
        "charging_profile": {"charging_rate_unit": "W", "charging_profile_period": [{"start_period": 0, "limit": 7400.0}]}});
    let (status, _, body) = s.scsp.call("PUT", "chargingprofiles", "receiver", &format!("/{sid}"), Some(("NL", "MCP")), Some(profile)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"], "ACCEPTED", "{body}");
    let result = s.scsp.wait_for(|r| r.method == "POST" && r.path.ends_with(&format!("/cb/{id}/profile")), WAIT).await;
    assert_eq!(result.body["result"], "ACCEPTED", "{}\n{}", result.summary(), s._hub.log_tail(30));

    let stop_cmd = json!({"response_url": format!("{cb}/stop"), "session_id": sid});
    let (status, _, body) = s.emsp.call("POST", "commands", "receiver", "/STOP_SESSION", Some(("NL", "MCP")), Some(stop_cmd)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"], "ACCEPTED", "{body}");
    let result = s.emsp.wait_for(|r| r.method == "POST" && r.path.ends_with(&format!("/cb/{id}/stop")), WAIT).await;
    assert_eq!(result.body["result"], "ACCEPTED", "{}", result.summary());
    let cdr = cdr_of(&s.emsp, &sid).await;
    assert_eq!(cdr["auth_method"], "COMMAND");

    let lines = charger.await.unwrap();
    let received: Vec<&Value> = all(&lines, "received");
    let set_call = received.iter().find(|r| r["action"] == "SetChargingProfile").unwrap_or_else(|| panic!("{lines:?}"));
    let text = set_call["payload"].to_string();
    assert!(text.contains("TxProfile") && text.contains("7400"), "a TxProfile with the SCSP's limit: {text}");
    assert!(received.iter().any(|r| r["action"] == start) && received.iter().any(|r| r["action"] == stop), "{lines:?}");

    // A command for a session the hub does not run.
    let (_, _, body) = s
        .emsp
        .call("POST", "commands", "receiver", "/STOP_SESSION", Some(("NL", "MCP")), Some(json!({"response_url": format!("{cb}/x"), "session_id": "NO-SUCH"})))
        .await;
    assert_eq!(body["data"]["result"], "UNKNOWN_SESSION", "{body}");
}


fn assert_valid_211<T: serde::de::DeserializeOwned + v211::Validate>(what: &str, v: &Value) {
    if let Err(e) = v211::from_value::<T>(v.clone()) {
        panic!("{what} is not a valid 2.1.1 object ({e:?}): {v}");
    }
}

/// A 2.1.1 eMSP sees the micro-CPO's location (pushed to it and through GET All, in 2.1.1) and
/// starts and stops a session on its 1.6 charger; results, the session and the CDR reach it in 2.1.1.
async fn v211_emsp(s: &Setup, python: &Path) {
    let e = &s.emsp11;
    let pushed = e.wait_for("PUT", "locations/NL/MCP/LOC-TX", |_| true, WAIT).await;
    assert_valid_211::<v211::Location>("the micro-CPO location the 2.1.1 eMSP received", &pushed.body);
    assert!(pushed.headers.keys().all(|k| !k.starts_with("ocpi-")), "no routing headers for 2.1.1: {:?}", pushed.headers);
    assert_eq!(raw_token(&pushed).as_deref(), Some(e.token_b().as_str()));
    let (status, _, body) = e.call("GET", "locations", "", None).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let listed = body["data"].as_array().unwrap().iter().find(|l| l["id"] == "LOC-TX").unwrap_or_else(|| panic!("GET All lacks LOC-TX: {body}")).clone();
    assert_valid_211::<v211::Location>("LOC-TX in the 2.1.1 GET All", &listed);
    let evse_uids: Vec<&str> = listed["evses"].as_array().unwrap().iter().map(|v| v["uid"].as_str().unwrap()).collect();
    assert!(evse_uids.contains(&s.uids[0].as_str()), "{listed}");
    let (status, _, body) = e.call("GET", "locations", &format!("/LOC-TX/{}", s.uids[0]), None).await;
    assert_eq!((status, body["data"]["uid"].clone()), (200, json!(s.uids[0])), "one EVSE of LOC-TX: {body}");

    let script = json!([
        {"wait": {"action": "RemoteStartTransaction", "timeout": 60}},
        {"wait": {"action": "RemoteStopTransaction", "timeout": 60}},
    ]);
    let (py, ws) = (python.to_path_buf(), s.ws16.clone());
    let charger = tokio::spawn(async move { run_charger(&py, &ws, "CP16", "secret-password-16", "1.6", script).await });
    e.respond("POST", "/em1-callbacks/", Reply::ack());
    let token = json!({
        "uid": "EM1APP", "type": "OTHER", "auth_id": "DE-EM1-C00000042", "issuer": "EM1 eMSP",
        "valid": true, "whitelist": "ALLOWED", "last_updated": "2026-11-01T10:00:00Z",
    });
    let start = json!({"response_url": format!("{}/em1-callbacks/start", e.base_url()), "token": token, "location_id": "LOC-TX", "evse_uid": s.uids[0]});
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (status, _, body) = e.call("POST", "commands", "/START_SESSION", Some(start.clone())).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
        assert!(body["data"].get("timeout").is_none(), "a 2.1.1 CommandResponse has no timeout: {body}");
        if body["data"]["result"] == "ACCEPTED" {
            break;
        }
        assert_eq!(body["data"]["result"], "REJECTED", "{body}");
        assert!(std::time::Instant::now() < deadline, "the charger never connected: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let result = e.wait_for("POST", "/em1-callbacks/start", |_| true, WAIT).await;
    assert_eq!(result.body, json!({"result": "ACCEPTED"}), "the charger accepted RemoteStartTransaction");
    assert_eq!(raw_token(&result).as_deref(), Some(e.token_b().as_str()));

    let put = e.wait_for("PUT", "sessions/NL/MCP/CP16-", |r| r.body["auth_id"] == "DE-EM1-C00000042", WAIT).await;
    assert_valid_211::<v211::Session>("the session the 2.1.1 eMSP received", &put.body);
    assert_eq!(put.body["auth_method"], "AUTH_REQUEST", "2.1.1 has no COMMAND: {}", put.body);
    assert_eq!(put.body["location"]["id"], "LOC-TX");
    assert_eq!(put.body["location"]["evses"][0]["uid"], s.uids[0].as_str(), "the session's location holds the one EVSE in use");
    assert!(s.emsp.received().iter().all(|r| !(r.method == "PUT" && r.body["id"] == put.body["id"])), "the session goes to the token's eMSP only");
    let sid = put.body["id"].as_str().unwrap().to_string();

    let stop = json!({"response_url": format!("{}/em1-callbacks/stop", e.base_url()), "session_id": sid});
    let (status, _, body) = e.call("POST", "commands", "/STOP_SESSION", Some(stop)).await;
    assert_eq!((status, body["data"]["result"].clone()), (200, json!("ACCEPTED")), "{body}");
    let result = e.wait_for("POST", "/em1-callbacks/stop", |_| true, WAIT).await;
    assert_eq!(result.body, json!({"result": "ACCEPTED"}));
    let cdr = e.wait_for("POST", "cdrs", |r| r.body["id"] == sid.as_str(), WAIT).await;
    assert_valid_211::<v211::Cdr>("the CDR the 2.1.1 eMSP received", &cdr.body);
    assert_eq!(cdr.body["auth_id"], "DE-EM1-C00000042");
    assert_eq!(cdr.body["location"]["id"], "LOC-TX");
    assert_eq!(cdr.body["tariffs"][0]["id"], "TX-TARIFF");
    assert!(d(&cdr.body["total_cost"]) >= Decimal::ZERO, "{}", cdr.body);

    // A 2.1.1 eMSP cannot name the CPO: GET All of sessions and CDRs gives the hub's copy of
    // those for its tokens, in 2.1.1.
    for module in ["sessions", "cdrs"] {
        let (status, _, body) = e.call("GET", module, "", None).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{module}: {body}");
        let items = body["data"].as_array().unwrap();
        let ours = items.iter().find(|v| v["id"] == sid.as_str()).unwrap_or_else(|| panic!("{module} of EM1 lack {sid}: {body}"));
        if module == "sessions" {
            assert_valid_211::<v211::Session>("a session of the 2.1.1 GET All", ours);
            assert_eq!(ours["status"], "COMPLETED", "{ours}");
        } else {
            assert_valid_211::<v211::Cdr>("a CDR of the 2.1.1 GET All", ours);
        }
        assert!(items.iter().all(|v| v["auth_id"] == "DE-EM1-C00000042"), "only EM1's: {body}");
        // The 2.2.1 eMSP's open GET All: its own only.
        let (status, _, body) = s.emsp.call("GET", module, "sender", "", None, None).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{module}: {body}");
        let items = body["data"].as_array().unwrap();
        assert!(!items.is_empty() && items.iter().all(|v| v["cdr_token"]["party_id"] == "EMS"), "only EMS's {module}: {body}");
    }

    let lines = charger.await.unwrap();
    let received = all(&lines, "received");
    let remote = received.iter().find(|r| r["action"] == "RemoteStartTransaction").unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(remote["payload"]["id_tag"], "EM1APP", "the 2.1.1 token's uid is the idTag: {remote}");
    assert!(received.iter().any(|r| r["action"] == "RemoteStopTransaction"), "{lines:?}");
}

/// OCPP 1.6 bad-input and quirk cases.
async fn robustness_16(s: &Setup, python: &Path, t0: chrono::DateTime<chrono::Utc>) {
    let min = |m: i64| ts(t0 + chrono::Duration::minutes(m));
    let zoneless = (t0 + chrono::Duration::minutes(100)).format("%Y-%m-%dT%H:%M:%S").to_string();
    let future = ts(chrono::Utc::now() + chrono::Duration::hours(5));
    let lines = run_charger(python, &s.ws16, "CP16", "secret-password-16", "1.6", json!([
        // A stop for a transaction the hub never saw: acknowledged, CDR from what it carries.
        {"raw": {"action": "StopTransaction", "payload": {"transactionId": 987654, "idTag": "TOK16", "meterStop": 3000, "timestamp": min(90),
            "transactionData": [{"timestamp": min(80), "sampledValue": [{"value": "1000"}]}]}}},
        // A zone-less start timestamp; then MeterValues with transactionId 0 and a stop with -1.
        {"raw": {"action": "StartTransaction", "payload": {"connectorId": 2, "idTag": "TOK16", "meterStart": 500, "timestamp": zoneless}, "unique_id": "start-twice"}},
        {"raw": {"action": "MeterValues", "payload": {"connectorId": 2, "transactionId": 0, "meterValue": [{"timestamp": min(110), "sampledValue": [{"value": "2.5", "unit": "kWh"}]}]}}},
        // kWh where Wh is due: meterStop 4.5 (a decimal) is 4500 Wh.
        {"raw": {"action": "StopTransaction", "payload": {"transactionId": -1, "meterStop": 4.5, "timestamp": min(120)}}},
        // Clock skew: a start five hours ahead of the hub.
        {"raw": {"action": "StartTransaction", "payload": {"connectorId": 1, "idTag": "TOK16", "meterStart": 0, "timestamp": future}}},
        // Schema violations: the 1.6 spellings.
        {"raw": {"action": "StartTransaction", "payload": {"connectorId": 1, "meterStart": 0, "timestamp": min(0)}}},
        {"raw": {"action": "StartTransaction", "payload": {"connectorId": "one", "idTag": "TOK16", "meterStart": 0, "timestamp": min(0)}}},
        {"raw": {"action": "StartTransaction", "payload": {"connectorId": 1, "idTag": "TOK16", "meterStart": 0, "timestamp": "at noon"}}},
    ])).await;
    let raw = all(&lines, "raw");
    assert_eq!(raw[0]["result"]["idTagInfo"]["status"], "Accepted", "unseen stop acknowledged: {lines:?}");
    let started = raw[1]["result"]["transactionId"].as_i64().unwrap();
    assert!(raw[2].get("result").is_some(), "{lines:?}");
    assert!(raw[3].get("result").is_some(), "{lines:?}");
    let skewed = raw[4]["result"]["transactionId"].as_i64().unwrap();
    assert_eq!(raw[5]["error"], "OccurenceConstraintViolation", "{lines:?}");
    assert_eq!(raw[6]["error"], "TypeConstraintViolation", "{lines:?}");
    assert_eq!(raw[7]["error"], "FormationViolation", "{lines:?}");

    let unseen = s.emsp.wait_for(|r| r.is("POST", "receiver/cdrs") && r.body["id"].as_str().is_some_and(|i| i.starts_with("CP16-unseen-987654")), WAIT).await.body;
    assert_eq!(d(&unseen["total_energy"]), Decimal::from(2), "from its transactionData 1000 Wh to meterStop 3000 Wh: {unseen}");
    assert_eq!(unseen["end_date_time"], min(90).as_str());

    let sid = format!("CP16-{started}");
    let put = s.emsp.wait_for(|r| r.is("PUT", &session_path(&sid)), WAIT).await;
    assert_eq!(put.body["start_date_time"], min(100).as_str(), "zone-less timestamp taken as UTC");
    let cdr = cdr_of(&s.emsp, &sid).await;
    assert_eq!(d(&cdr["total_energy"]), Decimal::from(4), "500 Wh → 4.5 kWh (transactionId 0 and -1 found the transaction): {cdr}");
    assert_eq!(d(&cdr["total_time"]), Decimal::from_str("0.3333").unwrap());

    let put = s.emsp.wait_for(|r| r.is("PUT", &session_path(&format!("CP16-{skewed}"))), WAIT).await;
    let start = chrono::DateTime::parse_from_rfc3339(put.body["start_date_time"].as_str().unwrap()).unwrap();
    assert!(start <= chrono::Utc::now() + chrono::Duration::minutes(1), "a future start is replaced by the hub's time: {start}");

    // A start repeated after a reconnect (same connector, tag and timestamp) is the same transaction.
    let lines = run_charger(python, &s.ws16, "CP16", "secret-password-16", "1.6", json!([
        {"raw": {"action": "StartTransaction", "payload": {"connectorId": 2, "idTag": "TOK16", "meterStart": 0, "timestamp": min(130)}}},
    ])).await;
    let first = all(&lines, "raw")[0]["result"]["transactionId"].as_i64().unwrap();
    let lines = run_charger(python, &s.ws16, "CP16", "secret-password-16", "1.6", json!([
        {"raw": {"action": "StartTransaction", "payload": {"connectorId": 2, "idTag": "TOK16", "meterStart": 0, "timestamp": min(130)}}},
        {"raw": {"action": "StopTransaction", "payload": {"transactionId": first, "meterStop": 1000, "timestamp": min(140)}}},
    ])).await;
    assert_eq!(all(&lines, "raw")[0]["result"]["transactionId"].as_i64(), Some(first), "{lines:?}");
    cdr_of(&s.emsp, &format!("CP16-{first}")).await;
}

/// OCPP 2.0.1 bad-input and quirk cases.
async fn robustness_201(s: &Setup, python: &Path, t0: chrono::DateTime<chrono::Utc>) {
    let min = |m: i64| ts(t0 + chrono::Duration::minutes(m));
    let ev = |kind: &str, seq: i64, at: String, tx: &str, wh: Option<i64>, offline: bool| {
        let mut e = json!({"eventType": kind, "timestamp": at, "triggerReason": "MeterValuePeriodic", "seqNo": seq,
            "transactionInfo": {"transactionId": tx}, "offline": offline});
        if kind == "Started" {
            e["evse"] = json!({"id": 2, "connectorId": 1});
            e["idToken"] = json!({"idToken": "TOK16", "type": "ISO14443"});
            e["triggerReason"] = json!("Authorized");
        }
        if let Some(wh) = wh {
            e["meterValue"] = json!([{"timestamp": at, "sampledValue": [{"value": wh, "unitOfMeasure": {"unit": "Wh"}}]}]);
        }
        json!({"raw": {"action": "TransactionEvent", "payload": e}})
    };
    // An offline queue replayed hours later, Updated events out of order; then the same Started
    // again (after a reconnect) and an Ended for a transaction the hub never saw.
    let mut ended_unknown = ev("Ended", 3, min(75), "GHOST", Some(9000), false);
    ended_unknown["raw"]["payload"]["evse"] = json!({"id": 1});
    ended_unknown["raw"]["payload"]["idToken"] = json!({"idToken": "TOK16", "type": "ISO14443"});
    let mut kwh_quirk = ev("Updated", 2, min(20), "OFF-1", None, true);
    kwh_quirk["raw"]["payload"]["meterValue"] = json!([{"timestamp": min(20), "sampledValue": [{"value": 3, "unitOfMeasure": {"unit": "KWH"}}]}]);
    let lines = run_charger(python, &s.ws201, "CP201", "secret-password-201", "2.0.1", json!([
        ev("Started", 0, min(0), "OFF-1", Some(1000), true),
        kwh_quirk,
        ev("Updated", 1, min(10), "OFF-1", Some(2000), true),
        ev("Started", 0, min(0), "OFF-1", Some(1000), true),
        ev("Ended", 3, min(30), "OFF-1", Some(4000), true),
        ended_unknown,
        // Schema violations: the 2.0.1 spellings.
        {"raw": {"action": "TransactionEvent", "payload": {"eventType": "Started", "timestamp": min(0), "triggerReason": "Authorized", "seqNo": 0}}},
        {"raw": {"action": "TransactionEvent", "payload": {"eventType": "Begun", "timestamp": min(0), "triggerReason": "Authorized", "seqNo": 0, "transactionInfo": {"transactionId": "X"}}}},
        {"raw": {"action": "TransactionEvent", "payload": {"eventType": "Started", "timestamp": "at noon", "triggerReason": "Authorized", "seqNo": 0, "transactionInfo": {"transactionId": "X"}}}},
    ])).await;
    let raw = all(&lines, "raw");
    for (i, r) in raw.iter().take(6).enumerate() {
        assert!(r.get("result").is_some(), "event {i} acknowledged: {lines:?}");
    }
    assert_eq!(raw[6]["error"], "OccurrenceConstraintViolation", "{lines:?}");
    assert_eq!(raw[7]["error"], "PropertyConstraintViolation", "{lines:?}");
    assert_eq!(raw[8]["error"], "FormatViolation", "{lines:?}");
    let cdr = cdr_of(&s.emsp, "CP201-OFF-1").await;
    assert_eq!(d(&cdr["total_energy"]), Decimal::from(3), "1000 → 4000 Wh whatever the arrival order: {cdr}");
    assert_eq!(cdr["start_date_time"], min(0).as_str(), "offline events at their own timestamps");
    assert_eq!(cdr["end_date_time"], min(30).as_str());
    let periods = cdr["charging_periods"].as_array().unwrap();
    assert_eq!(periods.len(), 3, "cut at 10 and 20 minutes: {cdr}");
    assert_eq!(d(&periods[1]["dimensions"][0]["volume"]), Decimal::ONE, "10 → 20 min: 2000 → 3000 Wh (the KWH reading)");
    let puts = s.emsp.received().into_iter().filter(|r| r.is("PUT", &session_path("CP201-OFF-1"))).count();
    assert!(puts >= 1);
    let ghost = cdr_of(&s.emsp, "CP201-GHOST").await;
    assert!(ghost["remark"].as_str().unwrap_or_default().contains("never received"), "{ghost}");
}
