//! End-to-end: OCPI 2.1.1 parties through the real `ocpi-hub serve` binary, on SQLite and (when
//! `HUB_TEST_POSTGRES_URL` is set) PostgreSQL.
//!
//! One hub per database with four parties: a 2.1.1 CPO (NL-CP1) and a 2.2.1 eMSP (DE-EMS), a
//! 2.2.1 CPO (NL-CPO) and a 2.1.1 eMSP (DE-EM1, announcing itself as "2.1"). The scenario walks
//! through registration (with the refusals: no role in the invite, no mutual version),
//! locations, tariffs, tokens, real-time authorization, sessions, CDRs and START_SESSION with
//! its asynchronous result in both pairings, and a location pushed by the 2.1.1 CPO reaching the
//! 2.1.1 eMSP.
//!
//! Fixtures are the 2.1.1 specification's examples, read from its markdown (the ```json block
//! under a heading, as `crates/hub-core/tests/v211_examples.rs` does) and repaired where the
//! spec's example breaks the spec (the repairs of that test); the 2.2.1 ones are the 2.2.1
//! example files.

mod common;

use common::party211::{Party211, raw_token};
use common::*;
use hub_core::ocpi::{v211, v221};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Fixtures

fn specs_211() -> std::path::PathBuf {
    specs_root().join("ocpi-2.1.1")
}

/// The ```json block right under the heading `heading` of `file` in the 2.1.1 spec, without its
/// `PUT To URL: ...` line.
fn spec_211(file: &str, heading: &str) -> Value {
    let text = std::fs::read_to_string(specs_211().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut lines = text.lines().skip_while(|l| !(l.trim().starts_with('#') && l.trim().trim_start_matches('#').trim() == heading));
    assert!(lines.next().is_some(), "{file}: no heading {heading:?}");
    let block: Vec<&str> = lines
        .skip_while(|l| l.trim() != "```json")
        .skip(1)
        .take_while(|l| !l.trim().starts_with("```"))
        .filter(|l| !l.contains(" To URL:"))
        .collect();
    serde_json::from_str(&block.join("\n")).unwrap_or_else(|e| panic!("{file} § {heading}: {e}"))
}

fn example_221(name: &str) -> Value {
    spec_example(name)
}

/// mod_locations.md § Example (LOC1), repaired: its second EVSE's connector has no
/// `last_updated`.
fn location_211() -> Value {
    let mut l = spec_211("mod_locations.md", "Example");
    l["evses"][1]["connectors"][0]["last_updated"] = json!("2015-06-29T20:39:09Z");
    l
}

/// The location of the sessions' and CDR's examples: lower-case type, 2-letter country,
/// `STATUS` (repairs of v211_examples.rs).
fn repair_embedded_location(l: &mut Value) {
    l["type"] = json!("ON_STREET");
    l["country"] = json!("BEL");
    let evse = l["evses"][0].as_object_mut().unwrap();
    let status = evse.remove("STATUS").unwrap();
    evse.insert("status".to_owned(), status);
}

/// mod_sessions.md § Simple Session example of a just starting session (session 101 at LOC1,
/// auth_id DE8ACC12E46L89), repaired; it has no auth_method.
fn session_211() -> Value {
    let mut s = spec_211("mod_sessions.md", "Simple Session example of a just starting session");
    repair_embedded_location(&mut s["location"]);
    s["auth_method"] = json!("WHITELIST");
    s
}

/// mod_cdrs.md § Example of a CDR (CDR 12345), repaired: the tariff's last_updated sits in its
/// element, and its price is a string.
fn cdr_211() -> Value {
    let mut c = spec_211("mod_cdrs.md", "Example of a CDR");
    repair_embedded_location(&mut c["location"]);
    let tariff = &mut c["tariffs"][0];
    let last_updated = tariff["elements"][0].as_object_mut().unwrap().remove("last_updated").unwrap();
    tariff["last_updated"] = last_updated;
    tariff["elements"][0]["price_components"][0]["price"] = json!(2.00);
    c
}

/// mod_tariffs.md § Example: New Tariff 2 euro per hour (tariff 12), without last_updated in
/// the spec.
fn tariff_211() -> Value {
    let mut t = spec_211("mod_tariffs.md", "Example: New Tariff 2 euro per hour");
    t["last_updated"] = json!("2015-06-29T20:39:09Z");
    t
}

/// The 2.2.1 location example as LOC2 of NL-CPO.
fn location_221() -> Value {
    let mut l = example_221("location_example.json");
    l["country_code"] = json!("NL");
    l["party_id"] = json!("CPO");
    l["id"] = json!("LOC2");
    l
}

/// The 2.2.1 RFID token example as DE-EMS's token 012345678 with the contract id of the 2.1.1
/// session and CDR examples.
fn token_221() -> Value {
    let mut t = example_221("token_example_2_full_rfid.json");
    t["country_code"] = json!("DE");
    t["party_id"] = json!("EMS");
    t["uid"] = json!("012345678");
    t["contract_id"] = json!("DE8ACC12E46L89");
    t
}

fn assert_valid_221<T: serde::de::DeserializeOwned + v221::Validate>(what: &str, v: &Value) {
    if let Err(e) = v221::from_value::<T>(v.clone()) {
        panic!("{what} is not a valid 2.2.1 object ({e:?}): {v}");
    }
}

fn assert_valid_211<T: serde::de::DeserializeOwned + v211::Validate>(what: &str, v: &Value) {
    if let Err(e) = v211::from_value::<T>(v.clone()) {
        panic!("{what} is not a valid 2.1.1 object ({e:?}): {v}");
    }
}

fn no_routing_headers(r: &Recorded) {
    assert!(!r.headers.keys().any(|k| k.starts_with("ocpi-")), "no routing headers for a 2.1.1 party: {:?}", r.headers);
}

fn invite(hub: &Hub, cc: &str, pid: &str, role: Option<&str>) -> String {
    let mut args = vec!["party", "invite", "--name", pid, "--country-code", cc, "--party-id", pid];
    if let Some(role) = role {
        args.extend(["--role", role]);
    }
    hub.cli(&args)["token"].as_str().unwrap().to_string()
}

async fn register_221(hub: &Hub, party: &Party, cc: &str, pid: &str, role: &str) {
    let token = invite(hub, cc, pid, Some(role));
    party.register(hub, &token).await;
}

// ---------------------------------------------------------------------------------------------
// The scenario

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v211_scenario_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== OCPI 2.1.1 scenario on {}", db.kind());
        scenario(&db).await;
    }
}

async fn scenario(db: &TestDb) {
    let hub = Hub::start(db);
    let cpo11 = Party211::new("NL", "CP1", "CPO");
    let emsp11 = Party211::new("DE", "EM1", "EMSP");
    emsp11.announce_as("2.1");
    let emsp22 = Party::new([("DE", "EMS", "EMSP")]);
    let cpo22 = Party::new([("NL", "CPO", "CPO")]);

    // --- Versions ----------------------------------------------------------------------------
    let token = invite(&hub, "NL", "CP1", Some("CPO"));
    let (status, _, body) = cpo11.raw("GET", &hub.versions_url(), &token, None).await;
    assert_eq!(status, 200, "{body}");
    let versions: Vec<&str> = body["data"].as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(versions, vec!["2.2.1", "2.1.1"], "the hub publishes both, highest first");

    // --- Registration -------------------------------------------------------------------------
    // An invite without --role (the CLI's default OTHER) cannot register a 2.1.1 party.
    let no_role = Party211::new("NL", "NRL", "CPO");
    let (status, body) = no_role.try_register(&hub, &invite(&hub, "NL", "NRL", None)).await;
    assert_eq!(body["status_code"], 2001, "2.1.1 needs the role from the invite (HTTP {status}): {body}");
    assert!(body["status_message"].as_str().unwrap().contains("role"), "{body}");
    // An invite without a party at all: nothing to take the role from either.
    let (_, body) = no_role.try_register(&hub, &hub.invite()).await;
    assert_eq!(body["status_code"], 2001, "{body}");
    // A party whose only version the hub does not speak: 3002.
    let old = Party211::new("NL", "OLD", "CPO");
    old.announce_as("2.0");
    let (_, body) = old.try_register(&hub, &invite(&hub, "NL", "OLD", Some("CPO"))).await;
    assert_eq!(body["status_code"], 3002, "no mutual version: {body}");

    let creds = cpo11.register(&hub, &token).await;
    assert_eq!((creds["country_code"].clone(), creds["party_id"].clone()), (json!("NL"), json!("HUB")), "{creds}");
    assert_eq!(creds["url"], hub.versions_url());
    // The hub read the 2.1.1 party's versions and details with its raw token B.
    let got = cpo11.wait_for("GET", "/ocpi/2.1.1", |r| r.status == Some(200), WAIT).await;
    assert_eq!(raw_token(&got).as_deref(), Some(cpo11.token_b().as_str()));
    // GET credentials answers in 2.1.1 too.
    let (status, _, body) = cpo11.call("GET", "credentials", "", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["party_id"], "HUB");
    assert!(body["data"].get("roles").is_none());
    // PUT (update) keeps the role the invite gave, and rotates token C.
    let old_c = cpo11.token_c();
    let (status, body) = cpo11.update_credentials().await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    assert_ne!(cpo11.token_c(), old_c, "a new token C");

    emsp11.register(&hub, &invite(&hub, "DE", "EM1", Some("EMSP"))).await;
    register_221(&hub, &emsp22, "DE", "EMS", "EMSP").await;
    register_221(&hub, &cpo22, "NL", "CPO", "CPO").await;

    let list = hub.cli(&["party", "list"]);
    let platform = list.as_array().unwrap().iter().find(|p| p["roles"][0]["party_id"] == "EM1").unwrap_or_else(|| panic!("{list}"));
    assert_eq!(platform["ocpi_version"], "2.1.1", "a party announcing \"2.1\" speaks 2.1.1: {platform}");
    let endpoints = platform["endpoints"].as_array().unwrap();
    let iface = |module: &str| endpoints.iter().filter(|e| e["identifier"] == module).map(|e| e["role"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(iface("locations"), vec!["RECEIVER"], "an eMSP receives locations: {endpoints:?}");
    assert_eq!(iface("tokens"), vec!["SENDER"]);

    // 2.1.1 parties are listed in Hub Client Info.
    let (status, _, body) = emsp22.call("GET", "hubclientinfo", "sender", "", None, None).await;
    assert_eq!(status, 200, "{body}");
    for (pid, role) in [("CP1", "CPO"), ("EM1", "EMSP")] {
        let info = body["data"].as_array().unwrap().iter().find(|c| c["party_id"] == pid).unwrap_or_else(|| panic!("{pid}: {body}"));
        assert_eq!((info["role"].as_str(), info["status"].as_str()), (Some(role), Some("CONNECTED")));
    }

    // =========================================================================================
    // 2.1.1 CPO (NL-CP1) with the 2.2.1 eMSP (DE-EMS) and the 2.1.1 eMSP (DE-EM1)
    // =========================================================================================

    // --- Locations -----------------------------------------------------------------------------
    let loc = location_211();
    let (status, _, body) = cpo11.call("PUT", "locations", "/NL/CP1/LOC1", Some(loc.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = emsp22.wait_for(|r| r.is("PUT", "receiver/locations/NL/CP1/LOC1"), WAIT).await;
    assert_valid_221::<v221::Location>("the location the 2.2.1 eMSP received", &got.body);
    assert_eq!((got.body["country_code"].as_str(), got.body["party_id"].as_str()), (Some("NL"), Some("CP1")));
    assert_eq!(got.body["publish"], true);
    assert_eq!(got.body["parking_type"], "ON_STREET");
    assert_eq!(got.body["time_zone"], "Europe/Amsterdam", "the configured default time zone");
    assert_eq!(got.body["evses"][0]["connectors"][0]["max_voltage"], 220);
    assert_eq!(got.body["evses"][0]["connectors"][0]["tariff_ids"], json!(["11"]));
    assert_eq!(got.header("ocpi-from-party-id"), Some("HUB"), "a broadcast to a 2.2.1 party comes from the hub");
    // ... and the 2.1.1 eMSP got it in 2.1.1 (2.1.1 with 2.1.1).
    let got = emsp11.wait_for("PUT", "locations/NL/CP1/LOC1", |_| true, WAIT).await;
    assert_valid_211::<v211::Location>("the location the 2.1.1 eMSP received", &got.body);
    assert_eq!(got.body["type"], "ON_STREET");
    assert_eq!(got.body["evses"][0]["connectors"][0]["voltage"], 220);
    assert!(got.body.get("country_code").is_none() && got.body.get("publish").is_none(), "{}", got.body);
    assert_eq!(raw_token(&got).as_deref(), Some(emsp11.token_b().as_str()), "raw token for a 2.1.1 party");
    no_routing_headers(&got);

    // A 2.1.1 object that breaks the 2.1.1 rules: 2001 naming the field.
    let mut bad = location_211();
    bad.as_object_mut().unwrap().remove("address");
    let (status, _, body) = cpo11.call("PUT", "locations", "/NL/CP1/LOC9", Some(bad)).await;
    assert_eq!(body["status_code"], 2001, "HTTP {status}: {body}");
    assert!(body["status_message"].as_str().unwrap().contains("address"), "{body}");
    // Someone else's location: 403.
    let (status, _, _) = cpo11.call("PUT", "locations", "/NL/CPO/LOC1", Some(location_211())).await;
    assert_eq!(status, 403);

    // PATCH of an EVSE (mod_locations.md § Example: a simple status update, no last_updated).
    let patch = spec_211("mod_locations.md", "Example: a simple status update");
    let (status, _, body) = cpo11.call("PATCH", "locations", "/NL/CP1/LOC1/3256", Some(patch)).await;
    assert_eq!(status, 200, "{body}");
    let got = emsp22.wait_for(|r| r.is("PATCH", "receiver/locations/NL/CP1/LOC1/3256"), WAIT).await;
    assert_eq!(got.body["status"], "CHARGING", "{}", got.body);
    assert!(got.body["last_updated"].is_string(), "the hub stamps a 2.1.1 PATCH: {}", got.body);
    // PATCH of a connector: 2.1.1 field names become 2.2.1 ones.
    let (status, _, body) = cpo11.call("PATCH", "locations", "/NL/CP1/LOC1/3256/1", Some(json!({"tariff_id": "15", "last_updated": "2015-07-01T00:00:00Z"}))).await;
    assert_eq!(status, 200, "{body}");
    let got = emsp22.wait_for(|r| r.is("PATCH", "receiver/locations/NL/CP1/LOC1/3256/1"), WAIT).await;
    assert_eq!(got.body, json!({"tariff_ids": ["15"], "last_updated": "2015-07-01T00:00:00Z"}));
    let got = emsp11.wait_for("PATCH", "locations/NL/CP1/LOC1/3256/1", |_| true, WAIT).await;
    assert_eq!(got.body, json!({"tariff_id": "15", "last_updated": "2015-07-01T00:00:00Z"}));

    // The 2.2.1 eMSP reads the hub's copy: 2.2.1, with the patches applied.
    let (status, _, body) = emsp22.call("GET", "locations", "sender", "/LOC1", Some(("NL", "HUB")), None).await;
    assert_eq!(status, 200, "{body}");
    assert_valid_221::<v221::Location>("GET one location", &body["data"]);
    assert_eq!(body["data"]["evses"][0]["status"], "CHARGING");

    // --- Tariffs -------------------------------------------------------------------------------
    let (status, _, body) = cpo11.call("PUT", "tariffs", "/NL/CP1/12", Some(tariff_211())).await;
    assert_eq!(status, 200, "{body}");
    let got = emsp22.wait_for(|r| r.is("PUT", "receiver/tariffs/NL/CP1/12"), WAIT).await;
    assert_valid_221::<v221::Tariff>("tariff", &got.body);
    assert_eq!(got.body["party_id"], "CP1");

    // --- Tokens: 2.2.1 eMSP → 2.1.1 CPO ----------------------------------------------------------
    let tok = token_221();
    let (status, _, body) = emsp22.call("PUT", "tokens", "receiver", "/DE/EMS/012345678", Some(("NL", "CP1")), Some(tok.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = cpo11.wait_for("PUT", "tokens/DE/EMS/012345678", |_| true, WAIT).await;
    assert_valid_211::<v211::Token>("the token the 2.1.1 CPO received", &got.body);
    assert_eq!(got.body["auth_id"], "DE8ACC12E46L89");
    assert!(got.body.get("contract_id").is_none() && got.body.get("country_code").is_none(), "{}", got.body);
    no_routing_headers(&got);
    // A token PATCH (2.2.1 field names) arrives with 2.1.1 names.
    let (status, _, body) = emsp22
        .call("PATCH", "tokens", "receiver", "/DE/EMS/012345678", Some(("NL", "CP1")), Some(json!({"valid": true, "contract_id": "DE8ACC12E46L89", "last_updated": "2019-01-01T00:00:00Z"})))
        .await;
    assert_eq!(status, 200, "{body}");
    let got = cpo11.wait_for("PATCH", "tokens/DE/EMS/012345678", |_| true, WAIT).await;
    assert_eq!(got.body, json!({"valid": true, "auth_id": "DE8ACC12E46L89", "last_updated": "2019-01-01T00:00:00Z"}));
    // The 2.1.1 CPO's GET All of tokens: 2.1.1 tokens from the hub's copy.
    let (status, _, body) = cpo11.call("GET", "tokens", "?offset=0&limit=10", None).await;
    assert_eq!(status, 200, "{body}");
    let t = body["data"].as_array().unwrap().iter().find(|t| t["uid"] == "012345678").unwrap_or_else(|| panic!("{body}"));
    assert_valid_211::<v211::Token>("GET All tokens", t);

    // --- Real-time authorization: 2.1.1 CPO → 2.2.1 eMSP ---------------------------------------
    emsp22.respond(
        "POST",
        "sender/tokens/012345678/authorize",
        Reply::ok(json!({"allowed": "ALLOWED", "token": tok, "authorization_reference": "AUTH-1", "location": {"location_id": "LOC1", "evse_uids": ["3256"]}})),
    );
    let refs = json!({"location_id": "LOC1", "evse_uids": ["3256"], "connector_ids": ["1"]});
    let (status, _, body) = cpo11.call("POST", "tokens", "/012345678/authorize", Some(refs)).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    assert_valid_211::<v211::AuthorizationInfo>("the AuthorizationInfo the 2.1.1 CPO got", &body["data"]);
    assert_eq!(body["data"]["allowed"], "ALLOWED");
    assert!(body["data"].get("token").is_none() && body["data"].get("authorization_reference").is_none(), "{body}");
    let got = emsp22.wait_for(|r| r.is("POST", "sender/tokens/012345678/authorize"), WAIT).await;
    assert_eq!(got.body, json!({"location_id": "LOC1", "evse_uids": ["3256"]}), "2.2.1 LocationReferences have no connector_ids");
    assert_eq!(got.header("ocpi-from-party-id"), Some("CP1"));
    // An unknown token: 2004.
    let (_, _, body) = cpo11.call("POST", "tokens", "/NOPE/authorize", None).await;
    assert_eq!(body["status_code"], 2004, "{body}");

    // --- Sessions: 2.1.1 CPO → 2.2.1 eMSP ------------------------------------------------------
    let (status, _, body) = cpo11.call("PUT", "sessions", "/NL/CP1/101", Some(session_211())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = emsp22.wait_for(|r| r.is("PUT", "receiver/sessions/NL/CP1/101"), WAIT).await;
    assert_valid_221::<v221::Session>("the session the 2.2.1 eMSP received", &got.body);
    assert_eq!(
        got.body["cdr_token"],
        json!({"country_code": "DE", "party_id": "EMS", "uid": "012345678", "type": "RFID", "contract_id": "DE8ACC12E46L89"}),
        "the token behind auth_id, from the hub's copy of tokens"
    );
    assert_eq!((got.body["location_id"].as_str(), got.body["evse_uid"].as_str(), got.body["connector_id"].as_str()), (Some("LOC1"), Some("3256"), Some("1")));
    assert_eq!(got.body["total_cost"], json!({"excl_vat": 2.5}));
    assert!(emsp11.received().iter().all(|r| !r.path.contains("/sessions/")), "sessions go to the token's eMSP only");
    // mod_sessions.md § Example: update the total cost (no last_updated).
    let (status, _, body) = cpo11.call("PATCH", "sessions", "/NL/CP1/101", Some(spec_211("mod_sessions.md", "Example: update the total cost"))).await;
    assert_eq!(status, 200, "{body}");
    let got = emsp22.wait_for(|r| r.is("PATCH", "receiver/sessions/NL/CP1/101"), WAIT).await;
    assert_eq!(got.body["total_cost"], json!({"excl_vat": 0.6}));

    // --- CDRs: 2.1.1 CPO → 2.2.1 eMSP ----------------------------------------------------------
    let (status, headers, body) = cpo11.call("POST", "cdrs", "", Some(cdr_211())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = emsp22.wait_for(|r| r.is("POST", "receiver/cdrs"), WAIT).await;
    assert_valid_221::<v221::Cdr>("the CDR the 2.2.1 eMSP received", &got.body);
    assert_eq!(got.body["cdr_token"]["party_id"], "EMS");
    assert_eq!(got.body["cdr_location"]["evse_uid"], "3256");
    assert_eq!(got.body["end_date_time"], "2015-06-29T23:37:32Z");
    // The Location of the CDR is a 2.1.1 hub URL the CPO can read back, in 2.1.1.
    let location = headers.get("location").expect("Location of the CDR").to_str().unwrap().to_string();
    assert_eq!(location, format!("{}/ocpi/2.1.1/cdrs/NL/CP1/12345", hub.base_url()));
    let (status, _, body) = cpo11.call_url("GET", &location, None).await;
    assert_eq!(status, 200, "{body}");
    assert_valid_211::<v211::Cdr>("the CDR read back", &body["data"]);
    assert_eq!(body["data"]["auth_id"], "DE8ACC12E46L89");

    // --- START_SESSION: 2.2.1 eMSP → 2.1.1 CPO -------------------------------------------------
    cpo11.respond("POST", "commands/START_SESSION", Reply::ok(json!({"result": "ACCEPTED"})));
    emsp22.respond("POST", "/emsp22-callbacks/", Reply::ack());
    let start = json!({
        "response_url": format!("{}/emsp22-callbacks/start-1", emsp22.base_url()),
        "token": tok, "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1",
    });
    let (status, _, body) = emsp22.call("POST", "commands", "receiver", "/START_SESSION", None, Some(start)).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    assert_valid_221::<v221::CommandResponse>("the CommandResponse the 2.2.1 eMSP got", &body["data"]);
    assert_eq!((body["data"]["result"].as_str(), body["data"]["timeout"].as_u64()), (Some("ACCEPTED"), Some(60)));
    let got = cpo11.wait_for("POST", "commands/START_SESSION", |_| true, WAIT).await;
    assert_valid_211::<v211::StartSession>("the StartSession the 2.1.1 CPO received", &got.body);
    assert_eq!(got.body["token"]["auth_id"], "DE8ACC12E46L89");
    no_routing_headers(&got);
    let hub_url = got.body["response_url"].as_str().unwrap().to_string();
    assert!(hub_url.starts_with(&hub.base_url()), "response_url is the hub's: {hub_url}");
    // The 2.1.1 result (a CommandResponse) reaches the 2.2.1 eMSP as a CommandResult.
    let (status, _, body) = cpo11.call_url("POST", &hub_url, Some(json!({"result": "UNKNOWN_SESSION"}))).await;
    assert_eq!(status, 200, "{body}");
    let got = emsp22.wait_for(|r| r.is("POST", "/emsp22-callbacks/start-1"), WAIT).await;
    assert_eq!(got.body, json!({"result": "FAILED"}));
    assert_eq!(got.header("ocpi-from-party-id"), Some("CP1"));

    // GET All addressed to the 2.1.1 CPO is forwarded to it: its 2.1.1 locations come back in
    // 2.2.1, and its Link as a hub URL.
    cpo11.set_list("locations", (0..3).map(|i| {
        let mut l = location_211();
        l["id"] = json!(format!("CP1-LIST-{i}"));
        l
    }).collect());
    let (status, headers, body) = emsp22.call("GET", "locations", "sender", "?offset=0&limit=2", Some(("NL", "CP1")), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 2, "{body}");
    assert_valid_221::<v221::Location>("a location of the 2.1.1 CPO's list", &body["data"][0]);
    assert_eq!(body["data"][0]["party_id"], "CP1");
    let got = cpo11.wait_for("GET", "locations", |r| r.query.contains("limit=2"), WAIT).await;
    no_routing_headers(&got);
    let link = headers.get("link").expect("Link").to_str().unwrap().to_string();
    let next = link.trim_start_matches('<').split('>').next().unwrap().to_string();
    assert!(next.starts_with(&hub.base_url()), "Link points at the hub: {link}");
    let (status, _, body) = emsp22.call_url("GET", &next, None, Some(("NL", "CP1")), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["id"], "CP1-LIST-2");
    // One location and one connector, forwarded.
    let (status, _, body) = emsp22.call("GET", "locations", "sender", "/CP1-LIST-1", Some(("NL", "CP1")), None).await;
    assert_eq!(status, 200, "{body}");
    assert_valid_221::<v221::Location>("one location of the 2.1.1 CPO", &body["data"]);
    let (status, _, body) = emsp22.call("GET", "locations", "sender", "/CP1-LIST-1/3256/1", Some(("NL", "CP1")), None).await;
    assert_eq!(status, 200, "{body}");
    assert_valid_221::<v221::Connector>("one connector of the 2.1.1 CPO", &body["data"]);
    assert_eq!(body["data"]["max_amperage"], 16);

    // CANCEL_RESERVATION does not exist in 2.1.1: the hub answers NOT_SUPPORTED itself.
    let cancel = json!({"response_url": format!("{}/emsp22-callbacks/cancel-1", emsp22.base_url()), "reservation_id": "R1"});
    let (status, _, body) = emsp22.call("POST", "commands", "receiver", "/CANCEL_RESERVATION", Some(("NL", "CP1")), Some(cancel)).await;
    assert_eq!((status, body["data"]["result"].clone()), (200, json!("NOT_SUPPORTED")), "{body}");
    assert!(cpo11.received().iter().all(|r| !r.path.contains("CANCEL_RESERVATION")));

    // =========================================================================================
    // 2.2.1 CPO (NL-CPO) with the 2.1.1 eMSP (DE-EM1)
    // =========================================================================================

    // --- Locations -----------------------------------------------------------------------------
    let loc2 = location_221();
    let (status, _, body) = cpo22.call("PUT", "locations", "receiver", "/NL/CPO/LOC2", None, Some(loc2.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = emsp11.wait_for("PUT", "locations/NL/CPO/LOC2", |_| true, WAIT).await;
    assert_valid_211::<v211::Location>("the location the 2.1.1 eMSP received", &got.body);
    assert_eq!(got.body["type"], "ON_STREET");
    assert_eq!(got.body["evses"][0]["connectors"][0]["voltage"], loc2["evses"][0]["connectors"][0]["max_voltage"]);
    no_routing_headers(&got);
    // GET All via the hub, paginated: 2.1.1 locations and a 2.1.1 Link.
    let (status, headers, body) = emsp11.call("GET", "locations", "?offset=0&limit=1", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_valid_211::<v211::Location>("GET All", &body["data"][0]);
    assert_eq!(headers.get("x-total-count").unwrap(), "2");
    let link = headers.get("link").expect("Link").to_str().unwrap().to_string();
    assert!(link.starts_with(&format!("<{}/ocpi/2.1.1/locations?", hub.base_url())), "{link}");
    let next = link.trim_start_matches('<').split('>').next().unwrap().to_string();
    let (status, _, body2) = emsp11.call_url("GET", &next, None).await;
    assert_eq!(status, 200, "{body2}");
    let ids: Vec<&str> = [&body, &body2].iter().map(|b| b["data"][0]["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"LOC1") && ids.contains(&"LOC2"), "{ids:?}");
    // A tariff broadcast by the 2.2.1 CPO.
    let mut tariff = example_221("tariff_1_simple_2hour.json");
    tariff["country_code"] = json!("NL");
    tariff["party_id"] = json!("CPO");
    let tariff_id = tariff["id"].as_str().unwrap().to_string();
    let (status, _, body) = cpo22.call("PUT", "tariffs", "receiver", &format!("/NL/CPO/{tariff_id}"), None, Some(tariff)).await;
    assert_eq!(status, 200, "{body}");
    let got = emsp11.wait_for("PUT", &format!("tariffs/NL/CPO/{tariff_id}"), |_| true, WAIT).await;
    assert_valid_211::<v211::Tariff>("the tariff the 2.1.1 eMSP received", &got.body);
    // One location, one EVSE.
    let (status, _, body) = emsp11.call("GET", "locations", "/LOC2/3256", None).await;
    assert_eq!(status, 200, "{body}");
    assert_valid_211::<v211::Evse>("GET one EVSE", &body["data"]);

    // --- Tokens: 2.1.1 eMSP → both CPOs --------------------------------------------------------
    // mod_tokens.md § Example: put a new Token, as DE-EM1's token EM1-0001.
    let mut tok11 = spec_211("mod_tokens.md", "Example: put a new Token");
    tok11["uid"] = json!("EM1-0001");
    tok11["auth_id"] = json!("DE-EM1-C00000001");
    let (status, _, body) = emsp11.call("PUT", "tokens", "/DE/EM1/EM1-0001", Some(tok11.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = cpo22.wait_for(|r| r.is("PUT", "receiver/tokens/DE/EM1/EM1-0001"), WAIT).await;
    assert_valid_221::<v221::Token>("the token the 2.2.1 CPO received", &got.body);
    assert_eq!((got.body["country_code"].as_str(), got.body["party_id"].as_str()), (Some("DE"), Some("EM1")));
    assert_eq!(got.body["contract_id"], "DE-EM1-C00000001");
    let got = cpo11.wait_for("PUT", "tokens/DE/EM1/EM1-0001", |_| true, WAIT).await;
    assert_eq!(got.body, tok11, "2.1.1 → 2.1.1 loses nothing of a token");

    // --- Real-time authorization: 2.2.1 CPO → 2.1.1 eMSP ---------------------------------------
    emsp11.respond("POST", "tokens/EM1-0001/authorize", Reply::ok(json!({"allowed": "BLOCKED", "info": {"language": "en", "text": "blocked"}})));
    let (status, _, body) = cpo22.call("POST", "tokens", "sender", "/EM1-0001/authorize", None, Some(json!({"location_id": "LOC2", "evse_uids": ["3256"]}))).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    assert_valid_221::<v221::AuthorizationInfo>("the AuthorizationInfo the 2.2.1 CPO got", &body["data"]);
    assert_eq!(body["data"]["allowed"], "BLOCKED");
    assert_eq!(body["data"]["token"]["uid"], "EM1-0001");
    assert_eq!(body["data"]["token"]["party_id"], "EM1");
    let got = emsp11.wait_for("POST", "tokens/EM1-0001/authorize", |_| true, WAIT).await;
    assert_valid_211::<v211::LocationReferences>("the LocationReferences the 2.1.1 eMSP got", &got.body);
    no_routing_headers(&got);

    // --- Sessions and CDRs: 2.2.1 CPO → 2.1.1 eMSP ---------------------------------------------
    let mut ses = example_221("session_example_1_simple_start.json");
    ses["country_code"] = json!("NL");
    ses["party_id"] = json!("CPO");
    ses["id"] = json!("SES2");
    ses["location_id"] = json!("LOC2");
    ses["cdr_token"] = json!({"country_code": "DE", "party_id": "EM1", "uid": "EM1-0001", "type": "RFID", "contract_id": "DE-EM1-C00000001"});
    let (status, _, body) = cpo22.call("PUT", "sessions", "receiver", "/NL/CPO/SES2", None, Some(ses.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = emsp11.wait_for("PUT", "sessions/NL/CPO/SES2", |_| true, WAIT).await;
    assert_valid_211::<v211::Session>("the session the 2.1.1 eMSP received", &got.body);
    assert_eq!(got.body["auth_id"], "DE-EM1-C00000001");
    assert_eq!(got.body["location"]["id"], "LOC2");
    assert_eq!(got.body["location"]["evses"].as_array().unwrap().len(), 1, "only the session's EVSE");
    assert_eq!(got.body["start_datetime"], ses["start_date_time"]);
    let (status, _, body) = cpo22
        .call("PATCH", "sessions", "receiver", "/NL/CPO/SES2", None, Some(json!({"kwh": 4.5, "total_cost": {"excl_vat": 1.5, "incl_vat": 1.8}, "last_updated": "2026-01-01T00:00:00Z"})))
        .await;
    assert_eq!(status, 200, "{body}");
    let got = emsp11.wait_for("PATCH", "sessions/NL/CPO/SES2", |_| true, WAIT).await;
    assert_eq!(got.body, json!({"kwh": 4.5, "total_cost": 1.5, "last_updated": "2026-01-01T00:00:00Z"}));

    let mut cdr = example_221("cdr_example.json");
    cdr["country_code"] = json!("NL");
    cdr["party_id"] = json!("CPO");
    cdr["id"] = json!("CDR2");
    cdr["cdr_location"]["id"] = json!("LOC2");
    cdr["cdr_token"] = ses["cdr_token"].clone();
    let (status, _, body) = cpo22.call("POST", "cdrs", "receiver", "", None, Some(cdr)).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = emsp11.wait_for("POST", "cdrs", |_| true, WAIT).await;
    assert_valid_211::<v211::Cdr>("the CDR the 2.1.1 eMSP received", &got.body);
    assert_eq!(got.body["auth_id"], "DE-EM1-C00000001");
    assert_eq!(got.body["location"]["id"], "LOC2");
    assert!(got.body["stop_date_time"].is_string());

    // --- START_SESSION: 2.1.1 eMSP → 2.2.1 CPO -------------------------------------------------
    cpo22.respond("POST", "receiver/commands/START_SESSION", Reply::ok(json!({"result": "ACCEPTED", "timeout": 30})));
    emsp11.respond("POST", "/emsp11-callbacks/", Reply::ack());
    let start = json!({
        "response_url": format!("{}/emsp11-callbacks/start-2", emsp11.base_url()),
        "token": tok11, "location_id": "LOC2", "evse_uid": "3256",
    });
    let (status, _, body) = emsp11.call("POST", "commands", "/START_SESSION", Some(start)).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    assert_eq!(body["data"], json!({"result": "ACCEPTED"}), "a 2.1.1 CommandResponse");
    let got = cpo22.wait_for(|r| r.is("POST", "receiver/commands/START_SESSION"), WAIT).await;
    assert_valid_221::<v221::StartSession>("the StartSession the 2.2.1 CPO received", &got.body);
    assert_eq!((got.body["token"]["party_id"].as_str(), got.body["token"]["contract_id"].as_str()), (Some("EM1"), Some("DE-EM1-C00000001")));
    assert_eq!(got.header("ocpi-from-party-id"), Some("EM1"));
    let hub_url = got.body["response_url"].as_str().unwrap().to_string();
    let (status, _, body) = cpo22.call_url("POST", &hub_url, None, Some(("DE", "EM1")), Some(json!({"result": "EVSE_OCCUPIED"}))).await;
    assert_eq!(status, 200, "{body}");
    let got = emsp11.wait_for("POST", "/emsp11-callbacks/start-2", |_| true, WAIT).await;
    assert_eq!(got.body, json!({"result": "REJECTED"}), "EVSE_OCCUPIED has no 2.1.1 value");
    assert_eq!(raw_token(&got).as_deref(), Some(emsp11.token_b().as_str()));
    no_routing_headers(&got);

    // --- Hub-initiated registration with a 2.1.1 party (party register --role) -------------------
    let cpo_hr = Party211::new("NL", "HIR", "CPO");
    let register = |role: Option<&str>| {
        let (url, token) = (cpo_hr.versions_url(), cpo_hr.token_a());
        let mut args = vec!["party".to_string(), "register".into(), "--versions-url".into(), url, "--token".into(), token];
        if let Some(r) = role {
            args.extend(["--role".to_string(), r.to_string()]);
        }
        args
    };
    let args = register(None);
    let out = hub.cli_output(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("--role"), "a 2.1.1 party's role must be given: {stderr}");
    assert!(!cpo_hr.received().iter().any(|r| r.method == "POST"), "nothing sent without a role");
    let args = register(Some("CPO"));
    let reg = hub.cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(reg["registered"], true, "{reg}");
    assert_eq!(reg["platform"]["ocpi_version"], "2.1.1", "{reg}");
    let post = cpo_hr.wait_for("POST", "/ocpi/2.1.1/credentials", |_| true, WAIT).await;
    assert_eq!(raw_token(&post).as_deref(), Some(cpo_hr.token_a().as_str()), "the party's token, raw");
    assert_valid_211::<v211::Credentials>("the hub's credentials", &post.body);
    assert_eq!((post.body["country_code"].as_str(), post.body["party_id"].as_str()), (Some("NL"), Some("HUB")));
    no_routing_headers(&post);
    cpo_hr.learn_hub_endpoints(&hub).await;
    // Registered as the CPO NL/HIR: its location reaches the eMSPs, and the hub calls it with
    // the token it answered with.
    let mut loc = location_211();
    loc["id"] = json!("LOC-HIR");
    cpo_hr.set_list("locations", vec![loc.clone()]);
    let (status, _, body) = cpo_hr.call("PUT", "locations", "/NL/HIR/LOC-HIR", Some(loc)).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = emsp22.wait_for(|r| r.is("PUT", "receiver/locations/NL/HIR/LOC-HIR"), WAIT).await;
    assert_eq!(got.body["party_id"], "HIR");
    let (status, _, body) = emsp22.call("GET", "locations", "sender", "/LOC-HIR", Some(("NL", "HIR")), None).await;
    assert_eq!((status, body["data"]["id"].clone()), (200, json!("LOC-HIR")), "{body}");
    let got = cpo_hr.wait_for("GET", "locations/LOC-HIR", |_| true, WAIT).await;
    assert_eq!(raw_token(&got).as_deref(), Some(cpo_hr.token_b().as_str()), "the token the party answered with");
    let list = hub.cli(&["party", "list"]);
    let hir = list.as_array().unwrap().iter().filter(|p| p.to_string().contains("\"HIR\"")).count();
    assert_eq!(hir, 1, "{list}");

    // --- Unregistration --------------------------------------------------------------------------
    let (status, _, body) = cpo11.call("DELETE", "credentials", "", None).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let (status, _, _) = cpo11.call("GET", "locations", "", None).await;
    assert_eq!(status, 401, "unregistered");
}
