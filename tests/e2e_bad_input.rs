//! End-to-end: how the real `ocpi-hub serve` binary handles bad input and bad peers, on SQLite
//! and (when `HUB_TEST_POSTGRES_URL` is set) PostgreSQL, with a registered CPO and eMSP.
//!
//! Invalid bodies (malformed JSON, missing or invalid fields, PATCHes that would break the stored
//! copy, identity mismatches) are refused and neither forwarded nor stored; missing or unknown
//! tokens get 401 everywhere; pushing another party's objects or speaking for another platform's
//! party gets 403; sessions and CDRs are readable only by their own parties; unknown fields pass
//! through; unknown paths and methods get 404 and 405; slow and stopped receivers get 4002 and
//! 4003 (pushes are queued instead); GET All via the hub paginates correctly.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The spec's location example, owned by NL-CPO.
fn location(id: &str) -> Value {
    spec_location(("NL", "CPO"), id)
}

/// A session of NL-CPO for a token of `emsp`.
fn session(id: &str, emsp: (&str, &str)) -> Value {
    spec_session(("NL", "CPO"), emsp, id)
}

fn cdr(id: &str, emsp: (&str, &str)) -> Value {
    spec_cdr(("NL", "CPO"), emsp, id)
}

fn token(uid: &str) -> Value {
    spec_token(("DE", "EMS"), uid)
}

async fn register(hub: &Hub, party: &Party, cc: &str, pid: &str, role: &str) {
    register_invited(hub, party, cc, pid, role).await;
}

/// A hub with a registered CPO (NL-CPO) and eMSP (DE-EMS).
async fn setup(db: &TestDb, env: &[(&str, &str)]) -> (Hub, Party, Party) {
    let hub = Hub::start_with_env(db, env);
    let cpo = Party::new([("NL", "CPO", "CPO")]);
    let emsp = Party::new([("DE", "EMS", "EMSP")]);
    register(&hub, &emsp, "DE", "EMS", "EMSP").await;
    register(&hub, &cpo, "NL", "CPO", "CPO").await;
    (hub, cpo, emsp)
}

/// `method url` from `party` (token C, OCPI-from = its first role) with a raw text body.
async fn send_text(party: &Party, method: &str, url: &str, to: Option<(&str, &str)>, body: &str) -> (u16, Value) {
    let (cc, pid) = party.id();
    let mut req = http_client()
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
        .header("Authorization", auth_header(&party.token_c().unwrap()))
        .header("X-Request-ID", uuid::Uuid::new_v4().to_string())
        .header("X-Correlation-ID", uuid::Uuid::new_v4().to_string())
        .header("OCPI-from-country-code", cc)
        .header("OCPI-from-party-id", pid)
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some((cc, pid)) = to {
        req = req.header("OCPI-to-country-code", cc).header("OCPI-to-party-id", pid);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())))
}

/// A request with a verbatim `Authorization` header (or none).
async fn with_auth(method: &str, url: &str, authorization: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let mut req = http_client()
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
        .header("X-Request-ID", uuid::Uuid::new_v4().to_string())
        .header("X-Correlation-ID", uuid::Uuid::new_v4().to_string())
        .header("OCPI-from-country-code", "NL")
        .header("OCPI-from-party-id", "CPO");
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    if let Some(b) = body {
        req = req.header("Content-Type", "application/json").body(b.to_string());
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The hub's copy of every location, via GET All addressed to the hub.
async fn stored_locations(emsp: &Party) -> Vec<Value> {
    let (status, _, body) = emsp.call("GET", "locations", "sender", "?limit=1000", Some(("NL", "HUB")), None).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

fn message(body: &Value) -> String {
    body["status_message"].as_str().unwrap_or_default().to_string()
}

// =============================================================================================
// Invalid bodies
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_pushes_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== invalid pushes on {}", db.kind());
        invalid_pushes(&db).await;
    }
}

async fn invalid_pushes(db: &TestDb) {
    let (hub, cpo, emsp) = setup(db, &[]).await;
    let base = format!("{}/ocpi/2.2.1/receiver/locations/NL/CPO", hub.base_url());
    let loc1 = location("LOC1");
    let (status, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC1", Some(("DE", "EMS")), Some(loc1.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    emsp.wait_for(|r| r.is("PUT", "receiver/locations/NL/CPO/LOC1"), WAIT).await;
    let before = stored_locations(&emsp).await;
    assert_eq!(before.len(), 1);
    emsp.clear_received();
    let evse = loc1["evses"][0]["uid"].as_str().unwrap().to_string();

    for to in [Some(("DE", "EMS")), Some(("NL", "HUB")), None] {
        // Malformed JSON: HTTP 400, OCPI 2001.
        let (status, body) = send_text(&cpo, "PUT", &format!("{base}/LOC1"), to, r#"{"id": "LOC1", "evses": [}"#).await;
        assert_eq!((status, body["status_code"].clone()), (400, json!(2001)), "malformed JSON (to {to:?}): {body}");
        let (status, body) = send_text(&cpo, "PUT", &format!("{base}/LOC7"), to, "").await;
        assert_eq!(status, 400, "empty body (to {to:?}): {body}");
        let (status, body) = send_text(&cpo, "PATCH", &format!("{base}/LOC1"), to, "{\"last_updated\":").await;
        assert_eq!((status, body["status_code"].clone()), (400, json!(2001)), "malformed PATCH (to {to:?}): {body}");

        // A required field is missing.
        let mut l = location("LOC1");
        l.as_object_mut().unwrap().remove("address");
        let (_, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC1", to, Some(l)).await;
        assert_eq!(body["status_code"], 2001, "missing address (to {to:?}): {body}");
        assert!(message(&body).contains("address"), "the message names the field: {body}");
        let mut l = location("LOC1");
        l["evses"][0].as_object_mut().unwrap().remove("uid");
        let (_, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC1", to, Some(l)).await;
        assert_eq!(body["status_code"], 2001, "missing evses[0].uid: {body}");
        assert!(message(&body).contains("evses[0].uid"), "{body}");

        // An invalid enum value, nested.
        let mut l = location("LOC1");
        l["evses"][0]["status"] = json!("EXPLODED");
        let (_, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC1", to, Some(l)).await;
        assert_eq!(body["status_code"], 2001, "invalid evses[0].status: {body}");
        assert!(message(&body).contains("evses[0].status"), "the message names the field: {body}");
        let mut l = location("LOC1");
        l["evses"][1]["connectors"][0]["standard"] = json!(42);
        let (_, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC1", to, Some(l)).await;
        assert_eq!(body["status_code"], 2001, "{body}");
        assert!(message(&body).contains("evses[1].connectors[0].standard"), "{body}");

        // Too long an id (CiString(36)).
        let long = "L".repeat(37);
        let (_, _, body) = cpo.call("PUT", "locations", "receiver", &format!("/NL/CPO/{long}"), to, Some(location(&long))).await;
        assert_eq!(body["status_code"], 2001, "a 37-character id: {body}");
        assert!(message(&body).contains("id"), "{body}");

        // The body names another object than the URL.
        for (field, value) in [("id", "LOC2"), ("country_code", "BE"), ("party_id", "XYZ")] {
            let mut l = location("LOC1");
            l[field] = json!(value);
            let (_, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC1", to, Some(l)).await;
            assert_eq!(body["status_code"], 2001, "body {field} {value} on /NL/CPO/LOC1 (to {to:?}): {body}");
            assert!(message(&body).contains(field), "{body}");
        }

        // PATCHes: without last_updated; not an object; breaking the stored object.
        let (_, _, body) = cpo.call("PATCH", "locations", "receiver", "/NL/CPO/LOC1", to, Some(json!({"name": "Renamed"}))).await;
        assert_eq!(body["status_code"], 2001, "PATCH without last_updated: {body}");
        assert!(message(&body).contains("last_updated"), "{body}");
        let (_, _, body) = cpo.call("PATCH", "locations", "receiver", "/NL/CPO/LOC1", to, Some(json!([{"name": "x"}]))).await;
        assert_eq!(body["status_code"], 2001, "PATCH with an array: {body}");
        let lu = "2030-01-01T00:00:00Z";
        let (_, _, body) = cpo.call("PATCH", "locations", "receiver", "/NL/CPO/LOC1", to, Some(json!({"evses": "x", "last_updated": lu}))).await;
        assert_eq!(body["status_code"], 2001, "PATCH making evses a string: {body}");
        assert!(message(&body).contains("evses"), "{body}");
        let (_, _, body) = cpo
            .call("PATCH", "locations", "receiver", &format!("/NL/CPO/LOC1/{evse}"), to, Some(json!({"status": "EXPLODED", "last_updated": lu})))
            .await;
        assert_eq!(body["status_code"], 2001, "PATCH of an EVSE with an invalid status: {body}");
        let (_, _, body) = cpo
            .call("PATCH", "locations", "receiver", "/NL/CPO/LOC1", to, Some(json!({"coordinates": {"latitude": "north"}, "last_updated": lu})))
            .await;
        assert_eq!(body["status_code"], 2001, "PATCH with invalid coordinates: {body}");
    }

    // Other modules validate too, PATCHes included.
    let (status, _, body) = cpo.call("PUT", "sessions", "receiver", "/NL/CPO/SES0", Some(("DE", "EMS")), Some(session("SES0", ("DE", "EMS")))).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let (status, _, body) = emsp.call("PUT", "tokens", "receiver", "/DE/EMS/TOK0", Some(("NL", "CPO")), Some(token("TOK0"))).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    emsp.wait_for(|r| r.is("PUT", "receiver/sessions/NL/CPO/SES0"), WAIT).await;
    cpo.wait_for(|r| r.is("PUT", "receiver/tokens/DE/EMS/TOK0"), WAIT).await;
    emsp.clear_received();
    cpo.clear_received();
    let lu = "2030-01-01T00:00:00Z";
    let (_, _, body) = cpo.call("PATCH", "sessions", "receiver", "/NL/CPO/SES0", Some(("DE", "EMS")), Some(json!({"kwh": "lots", "last_updated": lu}))).await;
    assert_eq!(body["status_code"], 2001, "session PATCH with a string kwh: {body}");
    assert!(message(&body).contains("kwh"), "{body}");
    let (_, _, body) = cpo.call("PATCH", "sessions", "receiver", "/NL/CPO/SES0", Some(("DE", "EMS")), Some(json!({"kwh": 2.0}))).await;
    assert_eq!(body["status_code"], 2001, "session PATCH without last_updated: {body}");
    let (_, _, body) = emsp.call("PATCH", "tokens", "receiver", "/DE/EMS/TOK0", Some(("NL", "CPO")), Some(json!({"type": "BANANA", "last_updated": lu}))).await;
    assert_eq!(body["status_code"], 2001, "token PATCH with an invalid type: {body}");
    let (_, _, body) = cpo.call("GET", "sessions", "receiver", "/NL/CPO/SES0", None, None).await;
    assert_eq!(body["data"]["kwh"], json!(0.0), "the stored session is unchanged: {body}");
    let mut s = session("SES1", ("DE", "EMS"));
    s.as_object_mut().unwrap().remove("kwh");
    let (_, _, body) = cpo.call("PUT", "sessions", "receiver", "/NL/CPO/SES1", Some(("DE", "EMS")), Some(s)).await;
    assert_eq!(body["status_code"], 2001, "session without kwh: {body}");
    assert!(message(&body).contains("kwh"), "{body}");
    let mut t = token("TOK1");
    t["whitelist"] = json!("SOMETIMES");
    let (_, _, body) = emsp.call("PUT", "tokens", "receiver", "/DE/EMS/TOK1", Some(("NL", "CPO")), Some(t)).await;
    assert_eq!(body["status_code"], 2001, "token with an invalid whitelist: {body}");
    assert!(message(&body).contains("whitelist"), "{body}");
    let (status, body) = send_text(&cpo, "POST", &format!("{}/ocpi/2.2.1/receiver/cdrs", hub.base_url()), Some(("DE", "EMS")), "not json").await;
    assert_eq!((status, body["status_code"].clone()), (400, json!(2001)), "malformed CDR: {body}");
    let mut c = cdr("CDR1", ("DE", "EMS"));
    c.as_object_mut().unwrap().remove("total_cost");
    let (_, _, body) = cpo.call("POST", "cdrs", "receiver", "", Some(("DE", "EMS")), Some(c)).await;
    assert_eq!(body["status_code"], 2001, "CDR without total_cost: {body}");

    // Nothing was forwarded or stored.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let forwarded: Vec<String> = emsp.received().iter().filter(|r| r.path.contains("/receiver/")).map(|r| r.summary()).collect();
    assert!(forwarded.is_empty(), "refused pushes reached the eMSP: {forwarded:#?}");
    assert!(cpo.received().iter().all(|r| !r.path.contains("/receiver/tokens")), "{}", cpo.dump_received());
    assert_eq!(stored_locations(&emsp).await, before, "the hub's copy is unchanged");
    let (status, _, body) = cpo.call("GET", "sessions", "receiver", "/NL/CPO/SES1", None, None).await;
    assert_ne!(status, 200, "an invalid session was stored: {body}");
    let (status, _, body) = cpo.call("GET", "cdrs", "receiver", "/NL/CPO/CDR1", None, None).await;
    assert_ne!(status, 200, "an invalid CDR was stored: {body}");

    // A valid PATCH still works afterwards, and is applied.
    let (status, _, body) = cpo
        .call("PATCH", "locations", "receiver", &format!("/NL/CPO/LOC1/{evse}"), Some(("DE", "EMS")), Some(json!({"status": "CHARGING", "last_updated": "2030-01-01T00:00:00Z"})))
        .await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let after = stored_locations(&emsp).await;
    assert_eq!(after[0]["evses"][0]["status"], "CHARGING");
    assert_eq!(after[0]["address"], loc1["address"]);
}

// =============================================================================================
// Authorization
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_unknown_token_gets_401_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== 401s on {}", db.kind());
        let (hub, cpo, emsp) = setup(&db, &[]).await;
        let v = format!("{}/ocpi/2.2.1", hub.base_url());
        let loc = location("LOC1");
        let endpoints: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", hub.versions_url(), None),
            ("GET", v.clone(), None),
            ("GET", format!("{v}/credentials"), None),
            ("POST", format!("{v}/credentials"), Some(emsp.credentials())),
            ("PUT", format!("{v}/credentials"), Some(emsp.credentials())),
            ("DELETE", format!("{v}/credentials"), None),
            ("GET", format!("{v}/hubclientinfo"), None),
            ("GET", format!("{v}/sender/locations"), None),
            ("GET", format!("{v}/sender/locations/LOC1"), None),
            ("PUT", format!("{v}/receiver/locations/NL/CPO/LOC1"), Some(loc.clone())),
            ("POST", format!("{v}/receiver/cdrs"), Some(cdr("CDR1", ("DE", "EMS")))),
            ("POST", format!("{v}/sender/tokens/TOK1/authorize"), None),
            ("POST", format!("{v}/callbacks/0123456789abcdef"), Some(json!({"result": "ACCEPTED"}))),
        ];
        let c = cpo.token_c().unwrap();
        let unknown = format!("unknown-{}", uuid::Uuid::new_v4().simple());
        let bad_headers: Vec<Option<String>> = vec![
            None,
            Some(String::new()),
            Some("Token".into()),
            Some("Token ".into()),
            Some(auth_header(&unknown)),
            Some(format!("Token {unknown}")),
            Some(format!("Bearer {}", auth_header(&c).trim_start_matches("Token "))),
            Some(format!("Basic {}", auth_header(&c).trim_start_matches("Token "))),
            Some(auth_header(&format!("{c}x"))),
            Some(auth_header(&c[..c.len() - 1])),
            Some(auth_header(&cpo.token_b())),
        ];
        for (method, url, body) in &endpoints {
            for header in &bad_headers {
                let (status, resp) = with_auth(method, url, header.as_deref(), body.as_ref()).await;
                assert_eq!(status, 401, "{method} {url} with Authorization {header:?}: {resp}");
            }
        }
        // Nothing happened: both parties are still registered and nothing was forwarded.
        let (status, _, body) = cpo.call("GET", "hubclientinfo", "sender", "", None, None).await;
        assert_eq!(status, 200, "{body}");
        let (status, _, body) = emsp.call("GET", "hubclientinfo", "sender", "", None, None).await;
        assert_eq!(status, 200, "{body}");
        let forwarded: Vec<String> = emsp.received().iter().filter(|r| r.path.contains("/receiver/")).map(|r| r.summary()).collect();
        assert!(forwarded.is_empty(), "{forwarded:#?}");
        assert!(stored_locations(&emsp).await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushing_for_another_party_gets_403_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== 403s on {}", db.kind());
        let (hub, cpo, emsp) = setup(&db, &[]).await;
        let mut foreign = location("LOC1");
        foreign["country_code"] = json!("DE");
        foreign["party_id"] = json!("EMS");
        for to in [Some(("DE", "EMS")), Some(("NL", "HUB"))] {
            // The URL names another party.
            let (status, _, body) = cpo.call("PUT", "locations", "receiver", "/DE/EMS/LOC1", to, Some(foreign.clone())).await;
            assert_eq!(status, 403, "NL-CPO pushing /DE/EMS/LOC1 (to {to:?}): {body}");
            let (status, _, body) = cpo
                .call("PATCH", "locations", "receiver", "/DE/EMS/LOC1", to, Some(json!({"name": "x", "last_updated": "2030-01-01T00:00:00Z"})))
                .await;
            assert_eq!(status, 403, "PATCH of another party's location: {body}");
            // OCPI-from names a party of another platform.
            let (status, _, body) = cpo.call_as(("DE", "EMS"), "PUT", "locations", "receiver", "/DE/EMS/LOC1", to, Some(foreign.clone())).await;
            assert_eq!(status, 403, "NL-CPO speaking as DE-EMS: {body}");
            let (status, _, body) = cpo.call_as(("DE", "EMS"), "GET", "locations", "sender", "", to, None).await;
            assert_eq!(status, 403, "GET as another platform's party: {body}");
        }
        // A CDR of another party; a token of another party.
        let mut c = cdr("CDR1", ("DE", "EMS"));
        c["country_code"] = json!("DE");
        c["party_id"] = json!("EMS");
        let (status, _, body) = cpo.call("POST", "cdrs", "receiver", "", Some(("DE", "EMS")), Some(c)).await;
        assert_eq!(status, 403, "a CDR of another party: {body}");
        let mut t = token("TOK1");
        t["country_code"] = json!("NL");
        t["party_id"] = json!("CPO");
        let (status, _, body) = emsp.call("PUT", "tokens", "receiver", "/NL/CPO/TOK1", Some(("NL", "CPO")), Some(t)).await;
        assert_eq!(status, 403, "DE-EMS pushing NL-CPO's token: {body}");

        tokio::time::sleep(Duration::from_millis(500)).await;
        let forwarded: Vec<String> = emsp
            .received()
            .iter()
            .chain(cpo.received().iter())
            .filter(|r| r.path.contains("/receiver/") || r.path.contains("/sender/"))
            .map(|r| r.summary())
            .collect();
        assert!(forwarded.is_empty(), "refused requests were forwarded: {forwarded:#?}");
        assert!(stored_locations(&emsp).await.is_empty(), "nothing stored");
        let (status, _, body) = emsp.call("GET", "locations", "receiver", "/DE/EMS/LOC1", None, None).await;
        assert_ne!(status, 200, "nothing stored under DE-EMS: {body}");
        let _ = hub;
    }
}

// =============================================================================================
// Reading other parties' sessions and CDRs
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_sessions_and_cdrs_are_not_readable_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== foreign sessions on {}", db.kind());
        let (hub, cpo, emsp) = setup(&db, &[]).await;
        let other = Party::new([("DE", "OTH", "EMSP")]);
        register(&hub, &other, "DE", "OTH", "EMSP").await;

        let s = session("SESX", ("DE", "OTH"));
        let (status, _, body) = cpo.call("PUT", "sessions", "receiver", "/NL/CPO/SESX", Some(("DE", "OTH")), Some(s.clone())).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
        other.wait_for(|r| r.is("PUT", "receiver/sessions/NL/CPO/SESX"), WAIT).await;
        let c = cdr("CDRX", ("DE", "OTH"));
        let (status, _, body) = cpo.call("POST", "cdrs", "receiver", "", Some(("DE", "OTH")), Some(c)).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
        other.wait_for(|r| r.is("POST", "receiver/cdrs"), WAIT).await;

        for (module, path) in [("sessions", "/NL/CPO/SESX"), ("cdrs", "/NL/CPO/CDRX")] {
            let (status, _, body) = emsp.call("GET", module, "receiver", path, None, None).await;
            assert_ne!(status, 200, "DE-EMS reads DE-OTH's {module}: {body}");
            assert!(body["data"].is_null(), "no data leaks: {body}");
            let (status, _, body) = other.call("GET", module, "receiver", path, None, None).await;
            assert_eq!(status, 200, "the token's eMSP reads its {module}: {body}");
            let (status, _, body) = cpo.call("GET", module, "receiver", path, None, None).await;
            assert_eq!(status, 200, "the owner reads its {module}: {body}");
        }
        assert!(emsp.received().iter().all(|r| !r.path.contains("SESX") && !r.path.contains("/cdrs")), "{}", emsp.dump_received());
    }
}

// =============================================================================================
// Unknown fields pass through
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_pass_through_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== unknown fields on {}", db.kind());
        let (_hub, cpo, emsp) = setup(&db, &[]).await;

        let mut s = session("SES1", ("DE", "EMS"));
        s["x_top"] = json!({"deep": [1, 2, {"x": null}]});
        s["cdr_token"]["x_nested"] = json!("kept");
        s["total_cost"]["x_cost_note"] = json!(1.5);
        let (status, _, body) = cpo.call("PUT", "sessions", "receiver", "/NL/CPO/SES1", Some(("DE", "EMS")), Some(s.clone())).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
        let got = emsp.wait_for(|r| r.is("PUT", "receiver/sessions/NL/CPO/SES1"), WAIT).await;
        assert_eq!(got.body, s, "the session arrives untouched");
        let patch = json!({"kwh": 3.25, "x_patch_field": {"a": 1}, "last_updated": "2030-01-01T00:00:00Z"});
        let (status, _, body) = cpo.call("PATCH", "sessions", "receiver", "/NL/CPO/SES1", Some(("DE", "EMS")), Some(patch.clone())).await;
        assert_eq!(status, 200, "{body}");
        let got = emsp.wait_for(|r| r.is("PATCH", "receiver/sessions/NL/CPO/SES1"), WAIT).await;
        assert_eq!(got.body, patch);
        let (_, _, body) = emsp.call("GET", "sessions", "receiver", "/NL/CPO/SES1", None, None).await;
        assert_eq!(body["data"]["x_top"], s["x_top"], "the hub's copy keeps unknown fields: {body}");
        assert_eq!(body["data"]["x_patch_field"], json!({"a": 1}));
        assert_eq!(body["data"]["cdr_token"]["x_nested"], "kept");

        let mut t = token("TOK1");
        t["x_top"] = json!(["a", "b"]);
        t["energy_contract"]["x_nested"] = json!({"kept": true});
        let (status, _, body) = emsp.call("PUT", "tokens", "receiver", "/DE/EMS/TOK1", Some(("NL", "CPO")), Some(t.clone())).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
        let got = cpo.wait_for(|r| r.is("PUT", "receiver/tokens/DE/EMS/TOK1"), WAIT).await;
        assert_eq!(got.body, t, "the token arrives untouched");
        // The exact text is kept, key order included.
        assert_eq!(got.body.to_string(), t.to_string());
    }
}

// =============================================================================================
// Unknown paths and methods
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_and_methods_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== unknown paths on {}", db.kind());
        let (hub, cpo, emsp) = setup(&db, &[]).await;
        let base = hub.base_url();
        let c = cpo.token_c().unwrap();
        for path in [
            "/ocpi/2.2.1/sender/nosuch",
            "/ocpi/2.2.1/receiver/nosuch/NL/CPO/X",
            "/ocpi/2.2.1/nosuch/locations",
            "/ocpi/2.2.1/hubclientinfo/extra",
            "/ocpi/9.9/sender/locations",
            "/nosuch",
        ] {
            let (status, _, body) = send_ocpi(&http_client(), "GET", &format!("{base}{path}"), &c, Some(("NL", "CPO")), None, None).await;
            assert_eq!(status, 404, "GET {path}: {body}");
        }
        for (method, path, body) in [
            ("POST", "/ocpi/2.2.1/sender/locations", Some(json!({}))),
            ("PATCH", "/ocpi/2.2.1/sender/locations", Some(json!({}))),
            ("DELETE", "/ocpi/2.2.1/sender/locations", None),
            ("PUT", "/ocpi/2.2.1/sender/sessions/SES1", Some(json!({}))),
            ("POST", "/ocpi/2.2.1/receiver/locations/NL/CPO/LOC1", Some(location("LOC1"))),
            ("DELETE", "/ocpi/2.2.1/receiver/commands/START_SESSION", None),
            ("PUT", "/ocpi/2.2.1/receiver/cdrs/NL/CPO/CDR1", Some(cdr("CDR1", ("DE", "EMS")))),
        ] {
            let (status, _, resp) = send_ocpi(&http_client(), method, &format!("{base}{path}"), &c, Some(("NL", "CPO")), None, body).await;
            assert_eq!(status, 405, "{method} {path}: {resp}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(emsp.received().iter().all(|r| !r.path.contains("/receiver/")), "{}", emsp.dump_received());
    }
}

/// Versions, version details, credentials and hubclientinfo are fixed routes with a method each;
/// another method on them is a known resource with an unsupported method.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_methods_on_fixed_endpoints_get_405_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== 405 on fixed endpoints on {}", db.kind());
        let (hub, cpo, _emsp) = setup(&db, &[]).await;
        let c = cpo.token_c().unwrap();
        let v = format!("{}/ocpi/2.2.1", hub.base_url());
        for (method, url) in [
            ("PATCH", format!("{v}/credentials")),
            ("POST", hub.versions_url()),
            ("DELETE", hub.versions_url()),
            ("PUT", v.clone()),
            ("POST", format!("{v}/hubclientinfo")),
            ("DELETE", format!("{v}/hubclientinfo")),
        ] {
            let (status, _, body) = send_ocpi(&http_client(), method, &url, &c, Some(("NL", "CPO")), None, Some(json!({}))).await;
            assert_eq!(status, 405, "{method} {url}: {body}");
        }
        let (status, _, _) = cpo.call("GET", "hubclientinfo", "sender", "", None, None).await;
        assert_eq!(status, 200, "still registered");
    }
}

// =============================================================================================
// Slow and stopped receivers
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_stopped_receivers_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== timeouts on {}", db.kind());
        receivers_down(&db).await;
    }
}

async fn receivers_down(db: &TestDb) {
    let (_hub, cpo, emsp) = setup(db, &[("HUB__FORWARDING__TIMEOUT_MS", "500")]).await;
    cpo.set_list("locations", vec![location("LOC1")]);

    // Slower than the forwarding timeout: 4002, and the requester is not kept waiting.
    cpo.respond("GET", "sender/locations", Reply::ok(json!([])).with_delay(Duration::from_secs(2)));
    for path in ["", "/LOC1"] {
        let started = Instant::now();
        let (status, headers, body) = emsp.call("GET", "locations", "sender", path, Some(("NL", "CPO")), None).await;
        let took = started.elapsed();
        assert_eq!(body["status_code"], 4002, "slow receiver, GET sender/locations{path} (HTTP {status}): {body}");
        assert!(took < Duration::from_millis(1800), "the hub waited {took:?}");
        assert_eq!(headers.get("ocpi-from-party-id").map(|v| v.to_str().unwrap()), Some("HUB"), "the hub answered");
    }
    cpo.clear_responses();
    let (status, _, body) = emsp.call("GET", "locations", "sender", "/LOC1", Some(("NL", "CPO")), None).await;
    assert_eq!((status, body["data"]["id"].clone()), (200, json!("LOC1")), "a prompt answer is relayed: {body}");

    // Stopped: 4003 for a GET.
    cpo.stop();
    for path in ["", "/LOC1"] {
        let (status, _, body) = emsp.call("GET", "locations", "sender", path, Some(("NL", "CPO")), None).await;
        assert_eq!(body["status_code"], 4003, "stopped receiver, GET sender/locations{path} (HTTP {status}): {body}");
    }
    // A push to the stopped receiver is accepted, and delivered once it is back.
    let tok = token("TOK1");
    let (status, _, body) = emsp.call("PUT", "tokens", "receiver", "/DE/EMS/TOK1", Some(("NL", "CPO")), Some(tok.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "a push to a stopped receiver is queued: {body}");
    let mut tok2 = tok.clone();
    tok2["valid"] = json!(false);
    tok2["last_updated"] = json!("2030-01-01T00:00:00Z");
    let (status, _, body) = emsp.call("PUT", "tokens", "receiver", "/DE/EMS/TOK1", Some(("NL", "CPO")), Some(tok2.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    cpo.start();
    let got = cpo.wait_for_count(|r| r.is("PUT", "receiver/tokens/DE/EMS/TOK1"), 2, WAIT).await;
    assert_eq!(got[0].body, tok, "delivered in order");
    assert_eq!(got[1].body, tok2);
    assert_eq!(got[0].header("ocpi-from-party-id"), Some("EMS"));
    // And GETs work again.
    let (status, _, body) = emsp.call("GET", "locations", "sender", "/LOC1", Some(("NL", "CPO")), None).await;
    assert_eq!(status, 200, "{body}");
}

// =============================================================================================
// Pagination of GET All via the hub
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== pagination on {}", db.kind());
        pagination(&db).await;
    }
}

fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    assert!(link.contains("rel=\"next\""), "{link}");
    Some(link.trim_start_matches('<').split('>').next()?.to_string())
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers.get(name).map(|v| v.to_str().unwrap().to_string())
}

/// Follows `Link` from `first` to the end; returns the ids in order and the number of pages.
async fn crawl(hub: &Hub, emsp: &Party, first: &str, expected_total: usize) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut url = format!("{}/ocpi/2.2.1/sender/locations{first}", hub.base_url());
    let mut pages = 0;
    loop {
        let (status, headers, body) = emsp.call_url("GET", &url, None, Some(("NL", "HUB")), None).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "GET {url}: {body}");
        pages += 1;
        assert!(pages <= 50, "Link never ends");
        assert_eq!(header(&headers, "x-total-count"), Some(expected_total.to_string()), "X-Total-Count on page {pages}");
        assert!(header(&headers, "x-limit").is_some(), "X-Limit on page {pages}");
        ids.extend(body["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_string()));
        match next_link(&headers) {
            Some(next) => {
                assert!(next.starts_with(&hub.base_url()), "{next}");
                url = next;
            }
            None => break,
        }
    }
    (ids, pages)
}

async fn pagination(db: &TestDb) {
    let (hub, cpo, emsp) = setup(db, &[]).await;
    // 25 locations: 12 old ones, 13 from 2030.
    let mut all = Vec::new();
    for i in 0..25 {
        let id = format!("LOC{i:02}");
        let mut l = location(&id);
        if i >= 12 {
            l["last_updated"] = json!(format!("2030-01-01T00:00:{:02}Z", i));
        }
        let (status, _, body) = cpo.call("PUT", "locations", "receiver", &format!("/NL/CPO/{id}"), Some(("NL", "HUB")), Some(l)).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
        all.push(id);
    }

    let (ids, pages) = crawl(&hub, &emsp, "?limit=10", 25).await;
    assert_eq!(pages, 3);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "an id appears twice: {ids:?}");
    assert_eq!(sorted, all, "every id exactly once");

    let (status, headers, body) = emsp.call("GET", "locations", "sender", "?limit=10", Some(("NL", "HUB")), None).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-limit").as_deref(), Some("10"));
    assert_eq!(body["data"].as_array().unwrap().len(), 10);

    // offset without a cursor: the last 5.
    let (status, headers, body) = emsp.call("GET", "locations", "sender", "?offset=20&limit=10", Some(("NL", "HUB")), None).await;
    assert_eq!(status, 200, "{body}");
    let last: Vec<&str> = body["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(last, ids[20..].iter().map(String::as_str).collect::<Vec<_>>(), "offset=20 gives the last 5");
    assert!(headers.get("link").is_none(), "no Link on the last page");
    assert_eq!(header(&headers, "x-total-count").as_deref(), Some("25"));
    let (_, headers, body) = emsp.call("GET", "locations", "sender", "?offset=25&limit=10", Some(("NL", "HUB")), None).await;
    assert_eq!(body["data"], json!([]), "past the end: {body}");
    assert!(headers.get("link").is_none());
    let (_, _, body) = emsp.call("GET", "locations", "sender", "?offset=5&limit=3", Some(("NL", "HUB")), None).await;
    let mid: Vec<&str> = body["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(mid, ids[5..8].iter().map(String::as_str).collect::<Vec<_>>());

    // date_from is kept across pages.
    let (ids_new, pages) = crawl(&hub, &emsp, "?date_from=2029-01-01T00:00:00Z&limit=5", 13).await;
    assert_eq!(pages, 3);
    assert_eq!(ids_new, all[12..].to_vec(), "oldest first, only the 2030 ones");
    let (ids_old, _) = crawl(&hub, &emsp, "?date_to=2029-01-01T00:00:00Z&limit=4", 12).await;
    assert_eq!(ids_old.len(), 12);

    // An object updated while crawling is not lost or duplicated on the pages still to come.
    // (It moves to the end: last_updated order.)
    let (_, headers, first_page) = emsp.call("GET", "locations", "sender", "?limit=10", Some(("NL", "HUB")), None).await;
    let first_ids: Vec<String> = first_page["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_string()).collect();
    let mut moved = location("LOC15");
    moved["last_updated"] = json!("2031-01-01T00:00:00Z");
    cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC15", Some(("NL", "HUB")), Some(moved)).await;
    let mut rest = Vec::new();
    let mut next = next_link(&headers);
    while let Some(url) = next {
        let (_, h, body) = emsp.call_url("GET", &url, None, Some(("NL", "HUB")), None).await;
        rest.extend(body["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_string()));
        next = next_link(&h);
    }
    let mut seen: Vec<String> = first_ids.into_iter().chain(rest).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, all, "every id seen across a concurrent update");

    // Bad parameters: 2001.
    for query in ["?offset=-1", "?limit=-5", "?offset=abc", "?date_from=garbage", "?date_to=2020-13-45T00:00:00Z", "?limit=ten"] {
        let (status, _, body) = emsp.call("GET", "locations", "sender", query, Some(("NL", "HUB")), None).await;
        assert_eq!(body["status_code"], 2001, "GET sender/locations{query} (HTTP {status}): {body}");
        assert_ne!(status, 200);
    }
    // Hub Client Info paginates too.
    let (status, headers, body) = emsp.call("GET", "hubclientinfo", "sender", "?offset=-1", None, None).await;
    assert_eq!(body["status_code"], 2001, "hubclientinfo offset=-1 (HTTP {status}): {body}");
    let _ = headers;
}

// =============================================================================================
// The URL names the object: EVSE and connector PUTs, and PATCHes
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_object_and_patch_identity_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== sub-object identity on {}", db.kind());
        let (_hub, cpo, emsp) = setup(&db, &[]).await;
        let loc1 = location("LOC1");
        let lu = "2030-01-01T00:00:00Z";
        let mut evse = loc1["evses"][0].clone();
        evse["uid"] = json!("9999");
        let mut connector = loc1["evses"][0]["connectors"][0].clone();
        connector["id"] = json!("7");
        let cases: Vec<(&str, &str, &str, Value)> = vec![
            ("EVSE PUT at /LOC1/3256 whose body is EVSE 9999", "PUT", "/NL/CPO/LOC1/3256", evse),
            ("connector PUT at /LOC1/3256/1 whose body is connector 7", "PUT", "/NL/CPO/LOC1/3256/1", connector),
            ("PATCH setting id to LOC2", "PATCH", "/NL/CPO/LOC1", json!({"id": "LOC2", "last_updated": lu})),
            ("PATCH setting country_code to BE", "PATCH", "/NL/CPO/LOC1", json!({"country_code": "BE", "last_updated": lu})),
            ("PATCH setting party_id to XYZ", "PATCH", "/NL/CPO/LOC1", json!({"party_id": "XYZ", "last_updated": lu})),
            ("PATCH renaming EVSE 3256 to 9999", "PATCH", "/NL/CPO/LOC1/3256", json!({"uid": "9999", "last_updated": lu})),
        ];
        for (what, method, path, body) in cases {
            // Each case starts from the original location.
            let (status, _, resp) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC1", Some(("DE", "EMS")), Some(loc1.clone())).await;
            assert_eq!(status, 200, "{resp}");
            emsp.wait_for(|r| r.is("PUT", "receiver/locations/NL/CPO/LOC1") && r.body == loc1, WAIT).await;
            emsp.clear_received();
            let (_, _, resp) = cpo.call(method, "locations", "receiver", path, Some(("DE", "EMS")), Some(body)).await;
            assert_eq!(resp["status_code"], 2001, "{what}: {resp}");
            tokio::time::sleep(Duration::from_millis(300)).await;
            let forwarded: Vec<String> = emsp.received().iter().filter(|r| r.path.contains("/receiver/")).map(|r| r.summary()).collect();
            assert!(forwarded.is_empty(), "{what}: forwarded {forwarded:#?}");
            assert_eq!(stored_locations(&emsp).await, vec![loc1.clone()], "{what}: the hub's copy changed");
        }
    }
}

// =============================================================================================
// Tokens are not served to other eMSPs
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_not_served_to_other_emsps_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== token listing on {}", db.kind());
        let (hub, cpo, emsp) = setup(&db, &[]).await;
        let other = Party::new([("DE", "OTH", "EMSP")]);
        register(&hub, &other, "DE", "OTH", "EMSP").await;
        let (status, _, body) = emsp.call("PUT", "tokens", "receiver", "/DE/EMS/TOK1", Some(("NL", "HUB")), Some(token("TOK1"))).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
        cpo.wait_for(|r| r.is("PUT", "receiver/tokens/DE/EMS/TOK1"), WAIT).await;

        // The CPOs the tokens are broadcast to can pull them, and so can their owner.
        let (status, _, body) = cpo.call("GET", "tokens", "sender", "", Some(("NL", "HUB")), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"].as_array().unwrap().len(), 1, "{body}");
        let (status, _, body) = emsp.call("GET", "tokens", "sender", "", Some(("NL", "HUB")), None).await;
        assert_eq!(status, 200, "{body}");
        // Another eMSP must not read them.
        let (status, _, body) = other.call("GET", "tokens", "sender", "", Some(("NL", "HUB")), None).await;
        let leaked = body["data"].as_array().is_some_and(|a| a.iter().any(|t| t["party_id"] == "EMS"));
        assert!(!leaked, "DE-OTH reads DE-EMS's tokens (HTTP {status}): {body}");
    }
}
