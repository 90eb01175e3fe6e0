//! End-to-end: the real `ocpi-hub serve` binary with a CPO, an eMSP and an SCSP written here as
//! small OCPI 2.2.1 servers, on SQLite and (when `HUB_TEST_POSTGRES_URL` is set) PostgreSQL.
//!
//! One scenario per database walks through registration, Hub Client Info, broadcast and direct
//! pushes, GET All via the hub, tokens and real-time authorization, sessions (and the SCSP's
//! copy without driver data), CDRs, commands and charging profiles with their asynchronous
//! results, an unknown receiver, and a receiver that is down across a hub restart.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;

/// The spec's location example, owned by NL-CPO, with an unknown field at two levels.
fn location(id: &str) -> Value {
    let mut l = spec_location(("NL", "CPO"), id);
    l["x_vendor_extension"] = json!({"kept": true});
    l["evses"][0]["x_evse_note"] = json!("passes through");
    l
}

fn session(id: &str) -> Value {
    let mut s = spec_session(("NL", "CPO"), ("DE", "EMS"), id);
    s["location_id"] = json!("LOC1");
    s["authorization_reference"] = json!("AUTH-REF-1");
    s
}

fn token(uid: &str) -> Value {
    spec_token(("DE", "EMS"), uid)
}

fn cdr(id: &str) -> Value {
    spec_cdr(("NL", "CPO"), ("DE", "EMS"), id)
}

async fn register(hub: &Hub, party: &Party, cc: &str, pid: &str, role: &str) {
    register_invited(hub, party, cc, pid, role).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_scenario_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== routing scenario on {}", db.kind());
        scenario(&db).await;
    }
}

async fn scenario(db: &TestDb) {
    let hub = Hub::start(db);
    let emsp = Party::new([("DE", "EMS", "EMSP")]);
    let cpo = Party::new([("NL", "CPO", "CPO")]);
    let scsp = Party::new([("BE", "SCS", "SCSP")]);
    emsp.set_hubclientinfo(true);
    scsp.set_hubclientinfo(true);

    // --- Registration and Hub Client Info -------------------------------------------------
    register(&hub, &emsp, "DE", "EMS", "EMSP").await;
    register(&hub, &scsp, "BE", "SCS", "SCSP").await;
    register(&hub, &cpo, "NL", "CPO", "CPO").await;
    // The eMSP saw the CPO planned (invited), then connected.
    emsp.wait_for(client_info_put("NL", "CPO", "PLANNED"), WAIT).await;
    let ci = emsp.wait_for(client_info_put("NL", "CPO", "CONNECTED"), WAIT).await;
    assert_eq!(ci.body["role"], "CPO");
    assert!(ci.body["last_updated"].is_string());
    scsp.wait_for(client_info_put("NL", "CPO", "CONNECTED"), WAIT).await;

    let (status, headers, body) = emsp.call("GET", "hubclientinfo", "sender", "?offset=0&limit=10", None, None).await;
    assert_eq!(status, 200, "{body}");
    let list = body["data"].as_array().unwrap();
    for (cc, pid, role) in [("DE", "EMS", "EMSP"), ("NL", "CPO", "CPO"), ("BE", "SCS", "SCSP")] {
        let entry = list.iter().find(|c| c["country_code"] == cc && c["party_id"] == pid).unwrap_or_else(|| panic!("{cc}-{pid} missing: {body}"));
        assert_eq!(entry["role"], role);
        assert_eq!(entry["status"], "CONNECTED");
    }
    assert_eq!(headers.get("x-total-count").unwrap(), "3");
    // Paginated: one per page, with a Link to the next.
    let (_, headers, body) = emsp.call("GET", "hubclientinfo", "sender", "?offset=0&limit=1", None, None).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert!(headers.get("link").unwrap().to_str().unwrap().contains("offset=1"));

    // --- Locations: broadcast, direct, GET All via the hub --------------------------------
    let loc1 = location("LOC1");
    let (status, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC1", Some(("NL", "HUB")), Some(loc1.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = emsp.wait_for(|r| r.is("PUT", "receiver/locations/NL/CPO/LOC1"), WAIT).await;
    assert_eq!(got.body, loc1, "broadcast arrives untouched, unknown fields included");
    assert_eq!(got.header("ocpi-from-party-id"), Some("HUB"), "a broadcast comes from the hub");
    assert_eq!(got.header("ocpi-to-party-id"), Some("EMS"));
    scsp.wait_for(|r| r.is("PUT", "receiver/locations/NL/CPO/LOC1"), WAIT).await;

    let loc2 = location("LOC2");
    let (status, headers, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC2", Some(("DE", "EMS")), Some(loc2.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    assert_eq!(headers.get("ocpi-from-party-id").unwrap(), "EMS", "the receiver answered");
    let got = emsp.wait_for(|r| r.is("PUT", "receiver/locations/NL/CPO/LOC2"), WAIT).await;
    assert_eq!(got.body, loc2);
    assert_eq!(got.header("ocpi-from-party-id"), Some("CPO"), "a direct push keeps the sender");
    assert_eq!(got.header("x-correlation-id"), headers.get("x-correlation-id").map(|v| v.to_str().unwrap()), "same correlation id");
    assert_ne!(got.header("x-request-id"), headers.get("x-request-id").map(|v| v.to_str().unwrap()), "new request id");
    assert!(got.token().is_some_and(|t| t == emsp.token_b()), "the hub calls with the eMSP's token");

    // A PATCH of an EVSE status reaches the eMSP and updates the hub's copy.
    let evse_uid = loc1["evses"][0]["uid"].as_str().unwrap().to_string();
    let patch = json!({"status": "CHARGING", "last_updated": "2026-01-01T10:00:00Z"});
    let (status, _, body) = cpo.call("PATCH", "locations", "receiver", &format!("/NL/CPO/LOC1/{evse_uid}"), Some(("DE", "EMS")), Some(patch.clone())).await;
    assert_eq!(status, 200, "{body}");
    emsp.wait_for(|r| r.is("PATCH", &format!("receiver/locations/NL/CPO/LOC1/{evse_uid}")) && r.body == patch, WAIT).await;

    let (status, headers, body) = emsp.call("GET", "locations", "sender", "?offset=0&limit=10", Some(("NL", "HUB")), None).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"LOC1") && ids.contains(&"LOC2"), "{ids:?}");
    assert_eq!(headers.get("x-total-count").unwrap(), "2");
    let stored = body["data"].as_array().unwrap().iter().find(|l| l["id"] == "LOC1").unwrap();
    assert_eq!(stored["evses"][0]["status"], "CHARGING", "the hub's copy has the patch applied");
    assert_eq!(stored["x_vendor_extension"], json!({"kept": true}));
    // date_from filters on last_updated (LOC1 was patched in 2026, LOC2 is from 2015).
    let (_, _, body) = emsp.call("GET", "locations", "sender", "?date_from=2025-01-01T00:00:00Z", Some(("NL", "HUB")), None).await;
    let ids: Vec<&str> = body["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["LOC1"]);

    // GET All addressed to the CPO is forwarded, and its Link comes back as a hub URL.
    cpo.set_list("locations", (0..3).map(|i| location(&format!("CPO-LIST-{i}"))).collect());
    cpo.set_page_limit(2);
    let (status, headers, body) = emsp.call("GET", "locations", "sender", "?offset=0&limit=2", Some(("NL", "CPO")), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    let link = headers.get("link").expect("Link").to_str().unwrap().to_string();
    let next = link.trim_start_matches('<').split('>').next().unwrap().to_string();
    assert!(next.starts_with(&hub.base_url()), "Link points at the hub: {link}");
    let (status, _, body) = emsp.call_url("GET", &next, None, Some(("NL", "CPO")), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["id"], "CPO-LIST-2", "the next page of the CPO's list");

    // --- Tokens and real-time authorization -----------------------------------------------
    let tok = token("TOK1");
    let (status, _, body) = emsp.call("PUT", "tokens", "receiver", "/DE/EMS/TOK1", Some(("NL", "CPO")), Some(tok.clone())).await;
    assert_eq!(status, 200, "{body}");
    let got = cpo.wait_for(|r| r.is("PUT", "receiver/tokens/DE/EMS/TOK1"), WAIT).await;
    assert_eq!(got.body, tok);
    emsp.respond(
        "POST",
        "sender/tokens/TOK1/authorize",
        Reply::ok(json!({"allowed": "ALLOWED", "token": tok, "authorization_reference": "AUTH-1"})),
    );
    let (status, _, body) = cpo
        .call("POST", "tokens", "sender", "/TOK1/authorize", Some(("DE", "EMS")), Some(json!({"location_id": "LOC1"})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["allowed"], "ALLOWED");
    // Open routing: no OCPI-to; the hub knows whose token TOK1 is.
    let (status, headers, body) = cpo.call("POST", "tokens", "sender", "/TOK1/authorize", None, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["authorization_reference"], "AUTH-1");
    assert_eq!(headers.get("ocpi-from-party-id").unwrap(), "EMS");

    // --- Sessions (and the SCSP's copy without driver data), CDRs -------------------------
    let ses = session("SES1");
    let (status, _, body) = cpo.call("PUT", "sessions", "receiver", "/NL/CPO/SES1", Some(("DE", "EMS")), Some(ses.clone())).await;
    assert_eq!(status, 200, "{body}");
    let got = emsp.wait_for(|r| r.is("PUT", "receiver/sessions/NL/CPO/SES1"), WAIT).await;
    assert_eq!(got.body, ses, "the eMSP gets the whole session");
    let got = scsp.wait_for(|r| r.is("PUT", "receiver/sessions/NL/CPO/SES1"), WAIT).await;
    assert!(got.body.get("cdr_token").is_none(), "no cdr_token for an SCSP: {}", got.body);
    assert!(got.body.get("authorization_reference").is_none(), "no authorization_reference for an SCSP");
    assert_eq!(got.body["kwh"], ses["kwh"]);
    let spatch = json!({"kwh": 5.5, "last_updated": "2026-01-01T11:00:00Z"});
    let (status, _, body) = cpo.call("PATCH", "sessions", "receiver", "/NL/CPO/SES1", Some(("DE", "EMS")), Some(spatch.clone())).await;
    assert_eq!(status, 200, "{body}");
    emsp.wait_for(|r| r.is("PATCH", "receiver/sessions/NL/CPO/SES1") && r.body == spatch, WAIT).await;
    scsp.wait_for(|r| r.is("PATCH", "receiver/sessions/NL/CPO/SES1"), WAIT).await;

    let c = cdr("CDR1");
    let (status, headers, body) = cpo.call("POST", "cdrs", "receiver", "", Some(("DE", "EMS")), Some(c.clone())).await;
    assert_eq!(status, 200, "{body}");
    let location_hdr = headers.get("location").expect("Location of the CDR").to_str().unwrap().to_string();
    assert!(location_hdr.starts_with(&hub.base_url()), "{location_hdr}");
    let got = emsp.wait_for(|r| r.is("POST", "receiver/cdrs"), WAIT).await;
    assert_eq!(got.body, c);
    // The CPO can read back the CDR at the URL it was given; the SCSP cannot.
    let (status, _, body) = cpo.call_url("GET", &location_hdr, None, None, None).await;
    assert_eq!((status, body["data"]["id"].clone()), (200, json!("CDR1")), "{body}");
    let (status, _, _) = scsp.call_url("GET", &location_hdr, None, None, None).await;
    assert_ne!(status, 200, "another party must not read the CDR");

    // --- Commands: START_SESSION with its asynchronous result -----------------------------
    cpo.respond("POST", "receiver/commands/START_SESSION", Reply::ok(json!({"result": "ACCEPTED", "timeout": 30})));
    emsp.respond("POST", "/emsp-callbacks/", Reply::ack());
    let start = json!({
        "response_url": format!("{}/emsp-callbacks/start-1", emsp.base_url()),
        "token": tok, "location_id": "LOC1", "evse_uid": evse_uid,
    });
    let (status, _, body) = emsp.call("POST", "commands", "receiver", "/START_SESSION", Some(("NL", "CPO")), Some(start)).await;
    assert_eq!((status, body["data"]["result"].clone()), (200, json!("ACCEPTED")), "{body}");
    let got = cpo.wait_for(|r| r.is("POST", "receiver/commands/START_SESSION"), WAIT).await;
    let hub_url = got.body["response_url"].as_str().unwrap().to_string();
    assert!(hub_url.starts_with(&hub.base_url()), "response_url is rewritten to the hub: {hub_url}");
    let (status, _, body) = cpo.call_url("POST", &hub_url, None, Some(("DE", "EMS")), Some(json!({"result": "ACCEPTED"}))).await;
    assert_eq!(status, 200, "{body}");
    let got = emsp.wait_for(|r| r.is("POST", "/emsp-callbacks/start-1"), WAIT).await;
    assert_eq!(got.body, json!({"result": "ACCEPTED"}));
    assert_eq!(got.header("ocpi-from-party-id"), Some("CPO"));
    // Open routing of a command: the hub finds the CPO of LOC1.
    let stop = json!({"response_url": format!("{}/emsp-callbacks/stop-1", emsp.base_url()), "session_id": "SES1"});
    cpo.respond("POST", "receiver/commands/STOP_SESSION", Reply::ok(json!({"result": "ACCEPTED", "timeout": 30})));
    let (status, _, body) = emsp.call("POST", "commands", "receiver", "/STOP_SESSION", None, Some(stop)).await;
    assert_eq!(status, 200, "{body}");
    cpo.wait_for(|r| r.is("POST", "receiver/commands/STOP_SESSION"), WAIT).await;

    // --- Charging profiles from the SCSP ---------------------------------------------------
    cpo.respond("PUT", "receiver/chargingprofiles/SES1", Reply::ok(json!({"result": "ACCEPTED", "timeout": 30})));
    scsp.respond("POST", "/scsp-results/", Reply::ack());
    let profile = json!({
        "charging_profile": {"charging_rate_unit": "W", "charging_profile_period": [{"start_period": 0, "limit": 7400.0}]},
        "response_url": format!("{}/scsp-results/p1", scsp.base_url()),
    });
    let (status, _, body) = scsp.call("PUT", "chargingprofiles", "receiver", "/SES1", Some(("NL", "CPO")), Some(profile)).await;
    assert_eq!((status, body["data"]["result"].clone()), (200, json!("ACCEPTED")), "{body}");
    let got = cpo.wait_for(|r| r.is("PUT", "receiver/chargingprofiles/SES1"), WAIT).await;
    assert_eq!(got.body["charging_profile"]["charging_profile_period"][0]["limit"], json!(7400.0));
    let hub_url = got.body["response_url"].as_str().unwrap().to_string();
    assert!(hub_url.starts_with(&hub.base_url()));
    let result = json!({"result": "ACCEPTED"});
    cpo.call_url("POST", &hub_url, None, Some(("BE", "SCS")), Some(result.clone())).await;
    let got = scsp.wait_for(|r| r.is("POST", "/scsp-results/p1"), WAIT).await;
    assert_eq!(got.body, result);

    // --- Errors ----------------------------------------------------------------------------
    let (status, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC9", Some(("XX", "YYY")), Some(location("LOC9"))).await;
    assert_eq!(body["status_code"], 4001, "unknown receiver: {body}");
    assert_eq!(status, 404);

    // --- Suspension is announced -----------------------------------------------------------
    hub.cli(&["party", "suspend", "--country-code", "NL", "--party-id", "CPO"]);
    emsp.wait_for(client_info_put("NL", "CPO", "SUSPENDED"), WAIT).await;
    // The CLI is another process: the hub notices within a fraction of a second.
    let mut refused = false;
    for _ in 0..40 {
        let (status, _, _) = cpo.call("GET", "locations", "sender", "", Some(("NL", "HUB")), None).await;
        if status == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "a suspended party is refused");
    hub.cli(&["party", "unsuspend", "--country-code", "NL", "--party-id", "CPO"]);
    emsp.wait_for_count(client_info_put("NL", "CPO", "CONNECTED"), 2, WAIT).await;

    // --- A receiver that is down, across a hub restart -------------------------------------
    emsp.stop();
    let (status, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC3", Some(("NL", "HUB")), Some(location("LOC3"))).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "a broadcast is accepted: {body}");
    let (status, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC4", Some(("DE", "EMS")), Some(location("LOC4"))).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "a direct push to a down receiver is queued: {body}");
    // Hub Client Info tells the others the eMSP is offline.
    scsp.wait_for(client_info_put("DE", "EMS", "OFFLINE"), WAIT).await;
    let (status, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC5", Some(("DE", "EMS")), Some(location("LOC5"))).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    hub.kill();
    hub.restart();
    emsp.start();
    for id in ["LOC3", "LOC4", "LOC5"] {
        let got = emsp.wait_for(|r| r.is("PUT", &format!("receiver/locations/NL/CPO/{id}")), WAIT).await;
        assert_eq!(got.body["id"], id);
    }
    scsp.wait_for(client_info_put("DE", "EMS", "CONNECTED"), WAIT).await;
}
