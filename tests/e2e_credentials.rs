//! End-to-end: the credentials module of the real `ocpi-hub serve` binary, on SQLite and (when
//! `HUB_TEST_POSTGRES_URL` is set) PostgreSQL.
//!
//! Registration in both directions (party-initiated with the invite token in Base64 and raw
//! form; hub-initiated with `ocpi-hub party register`), the lifetime of the invite token, GET /
//! POST / PUT / DELETE and their 405s, platforms with several roles, token rotation (and a
//! rotation that fails), version negotiation, unregistration announced through Hub Client Info,
//! the storage of issued tokens, and the operator CLI's help texts.

mod common;

use common::*;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

/// The spec's location example, owned by `cc`-`pid`.
fn location(cc: &str, pid: &str, id: &str) -> Value {
    spec_location((cc, pid), id)
}

/// The spec's RFID token example, owned by `cc`-`pid`.
fn token(cc: &str, pid: &str, uid: &str) -> Value {
    spec_token((cc, pid), uid)
}

fn credentials_url(hub: &Hub) -> String {
    format!("{}/ocpi/2.2.1/credentials", hub.base_url())
}

fn hubclientinfo_url(hub: &Hub) -> String {
    format!("{}/ocpi/2.2.1/hubclientinfo", hub.base_url())
}

/// A request with an `Authorization` header given verbatim (or none), e.g. `Token <raw token>`.
async fn raw(method: &str, url: &str, authorization: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut req = http_client()
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
        .header("X-Request-ID", uuid::Uuid::new_v4().to_string())
        .header("X-Correlation-ID", uuid::Uuid::new_v4().to_string());
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    if let Some(b) = body {
        req = req.header("Content-Type", "application/json").body(b.to_string());
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

/// `method url` with `token` Base64-encoded, no routing headers.
async fn call(method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let (status, _, body) = send_ocpi(&http_client(), method, url, token, None, None, body).await;
    (status, body)
}

/// Invites `cc`-`pid` with `role` and registers `party` (party-initiated). Returns token C.
async fn register(hub: &Hub, party: &Party, cc: &str, pid: &str, role: &str) -> String {
    register_invited(hub, party, cc, pid, role).await
}

/// The Hub Client Info list as seen by `token`'s platform.
async fn client_infos(hub: &Hub, token: &str) -> Vec<Value> {
    let (status, body) = call("GET", &format!("{}?limit=100", hubclientinfo_url(hub)), token, None).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

/// `ocpi-hub party list`, as (the platforms whose roles include `cc`-`pid`).
fn platform_of(list: &Value, cc: &str, pid: &str) -> Option<Value> {
    list.as_array()?
        .iter()
        .find(|p| p["roles"].as_array().is_some_and(|r| r.iter().any(|r| r["country_code"] == cc && r["party_id"] == pid)))
        .cloned()
}

// =============================================================================================
// Party-initiated registration, the invite token, GET / POST / PUT
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn party_initiated_registration_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== party-initiated registration on {}", db.kind());
        party_initiated_registration(&db).await;
    }
}

async fn party_initiated_registration(db: &TestDb) {
    let hub = Hub::start(db);
    let emsp = Party::new([("DE", "EMS", "EMSP")]);
    let cpo = Party::new([("NL", "CPO", "CPO")]);
    let locations_url = format!("{}/ocpi/2.2.1/sender/locations", hub.base_url());

    // --- The invite token before registration --------------------------------------------------
    let invite = hub.invite();
    let (status, body) = call("GET", &hub.versions_url(), &invite, None).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "the invite opens versions: {body}");
    let (status, body) = call("GET", &locations_url, &invite, None).await;
    assert_eq!(status, 401, "the invite token is refused on a functional module: {body}");
    let (status, body) = call("GET", &hubclientinfo_url(&hub), &invite, None).await;
    assert_eq!(status, 401, "the invite token is refused on hubclientinfo: {body}");
    let (status, body) = call("PUT", &credentials_url(&hub), &invite, Some(emsp.credentials())).await;
    assert_eq!(status, 405, "PUT before registration: {body}");
    assert!(emsp.received().is_empty(), "a refused PUT must not contact the party:\n{}", emsp.dump_received());

    // Bad credentials objects: refused, and the invite stays usable.
    let creds_url = credentials_url(&hub);
    let post = |body: Value| call("POST", &creds_url, &invite, Some(body));
    let (status, body) = raw("POST", &credentials_url(&hub), Some(&auth_header(&invite)), None).await;
    assert_ne!(status, 200, "POST without a body: {body}");
    let mut c = emsp.credentials();
    c["roles"] = json!([]);
    let (_, body) = post(c).await;
    assert_eq!(body["status_code"], 2001, "no roles: {body}");
    let mut c = emsp.credentials();
    c["roles"][0]["country_code"] = json!("NL");
    c["roles"][0]["party_id"] = json!("HUB");
    let (_, body) = post(c).await;
    assert_eq!(body["status_code"], 2001, "registering the hub's own party id: {body}");
    let mut c = emsp.credentials();
    c["token"] = json!("x".repeat(65));
    let (_, body) = post(c).await;
    assert_eq!(body["status_code"], 2001, "a 65-character token: {body}");
    let mut c = emsp.credentials();
    c["roles"][0]["role"] = json!("KING");
    let (_, body) = post(c).await;
    assert_eq!(body["status_code"], 2001, "an unknown role: {body}");
    assert!(emsp.received().is_empty(), "nothing was fetched for invalid credentials:\n{}", emsp.dump_received());
    // An invite issued for one party does not register another.
    let for_cpo = hub.cli(&["party", "invite", "--country-code", "NL", "--party-id", "CPX", "--role", "CPO"])["token"].as_str().unwrap().to_string();
    let (_, body) = call("POST", &credentials_url(&hub), &for_cpo, Some(emsp.credentials())).await;
    assert_eq!(body["status_code"], 2001, "an invite for NL-CPX used by DE-EMS: {body}");

    // --- Registration with the Base64 form (the harness party) ---------------------------------
    let creds = emsp.register(&hub, &invite).await;
    let token_c = creds["token"].as_str().unwrap().to_string();
    assert_ne!(token_c, invite);
    assert_eq!(creds["url"], hub.versions_url());
    assert_eq!(creds["roles"][0]["role"], "HUB");
    assert_eq!(creds["roles"][0]["country_code"], "NL");
    assert_eq!(creds["roles"][0]["party_id"], "HUB");
    // The hub fetched the party's versions and details with token B, Base64-encoded.
    let got = emsp.wait_for(|r| r.is("GET", "/ocpi/versions"), WAIT).await;
    assert_eq!(got.token().as_deref(), Some(emsp.token_b().as_str()), "the hub calls with B: {}", got.summary());
    emsp.wait_for(|r| r.is("GET", "/ocpi/2.2.1") && r.path == "/ocpi/2.2.1", WAIT).await;

    // The invite no longer works at all.
    for url in [hub.versions_url(), format!("{}/ocpi/2.2.1", hub.base_url()), credentials_url(&hub), locations_url.clone()] {
        let (status, body) = call("GET", &url, &invite, None).await;
        assert_eq!(status, 401, "GET {url} with a used invite: {body}");
    }
    let (status, body) = call("POST", &credentials_url(&hub), &invite, Some(emsp.credentials())).await;
    assert_eq!(status, 401, "a used invite cannot register again: {body}");

    // GET credentials: the hub's credentials with the caller's token.
    let (status, body) = call("GET", &credentials_url(&hub), &token_c, None).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    assert_eq!(body["data"]["token"], token_c.as_str(), "the token the caller used");
    assert_eq!(body["data"]["url"], hub.versions_url());
    assert_eq!(body["data"]["roles"].as_array().unwrap().len(), 1);
    assert_eq!(body["data"]["roles"][0]["role"], "HUB");
    assert!(body["data"]["roles"][0]["business_details"]["name"].is_string(), "{body}");

    // POST when registered: 405, and the registration is untouched.
    let (status, body) = call("POST", &credentials_url(&hub), &token_c, Some(emsp.credentials())).await;
    assert_eq!(status, 405, "POST when registered: {body}");
    let (status, _) = call("GET", &credentials_url(&hub), &token_c, None).await;
    assert_eq!(status, 200, "token C still works after the refused POST");

    // --- Registration with the raw (not Base64) token form ------------------------------------
    let invite2 = hub.cli(&["party", "invite", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO"])["token"]
        .as_str()
        .unwrap()
        .to_string();
    let raw_invite = format!("Token {invite2}");
    let (status, body) = raw("GET", &locations_url, Some(&raw_invite), None).await;
    assert_eq!(status, 401, "raw invite on a functional module: {body}");
    let (status, body) = raw("GET", &hub.versions_url(), Some(&raw_invite), None).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "raw invite on versions: {body}");
    let details_url = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == "2.2.1")
        .and_then(|v| v["url"].as_str())
        .unwrap_or_else(|| panic!("no 2.2.1 in {body}"))
        .to_string();
    let (status, body) = raw("GET", &details_url, Some(&raw_invite), None).await;
    assert_eq!(status, 200, "{body}");
    let creds_url = body["data"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["identifier"] == "credentials")
        .and_then(|e| e["url"].as_str())
        .unwrap()
        .to_string();
    let (status, body) = raw("POST", &creds_url, Some(&raw_invite), Some(cpo.credentials())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "registration with a raw token: {body}");
    let cpo_c = body["data"]["token"].as_str().unwrap().to_string();
    assert_eq!(body["data"]["roles"][0]["role"], "HUB");
    let got = cpo.wait_for(|r| r.is("GET", "/ocpi/versions"), WAIT).await;
    assert_eq!(got.token().as_deref(), Some(cpo.token_b().as_str()), "the hub calls with B in Base64");

    // Token C works in both forms, and GET echoes it as sent.
    let (status, body) = raw("GET", &credentials_url(&hub), Some(&format!("Token {cpo_c}")), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["token"], cpo_c.as_str());
    let (status, body) = raw("GET", &hubclientinfo_url(&hub), Some(&format!("Token {cpo_c}")), None).await;
    assert_eq!(status, 200, "raw token C on a module: {body}");
    let (status, body) = call("GET", &hubclientinfo_url(&hub), &cpo_c, None).await;
    assert_eq!(status, 200, "Base64 token C on a module: {body}");
    let (status, body) = raw("GET", &hub.versions_url(), Some(&raw_invite), None).await;
    assert_eq!(status, 401, "the raw invite is dead after registration: {body}");

    // Both parties are connected, and a push from the raw-registered CPO reaches the eMSP.
    let infos = client_infos(&hub, &token_c).await;
    for (cc, pid, role) in [("DE", "EMS", "EMSP"), ("NL", "CPO", "CPO")] {
        let e = infos.iter().find(|c| c["country_code"] == cc && c["party_id"] == pid).unwrap_or_else(|| panic!("{cc}-{pid}: {infos:?}"));
        assert_eq!((e["role"].as_str(), e["status"].as_str()), (Some(role), Some("CONNECTED")));
    }
    let loc = location("NL", "CPO", "LOC1");
    let (status, _, body) = send_ocpi(
        &http_client(),
        "PUT",
        &format!("{}/ocpi/2.2.1/receiver/locations/NL/CPO/LOC1", hub.base_url()),
        &cpo_c,
        Some(("NL", "CPO")),
        Some(("DE", "EMS")),
        Some(loc.clone()),
    )
    .await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = emsp.wait_for(|r| r.is("PUT", "receiver/locations/NL/CPO/LOC1"), WAIT).await;
    assert_eq!(got.body, loc);
}

/// A party that offers only OCPI 2.0 cannot register (3002); the invite stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_mutual_version_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== no mutual version on {}", db.kind());
        let hub = Hub::start(&db);
        let party = Party::new([("FR", "OLD", "CPO")]);
        party.respond(
            "GET",
            "/ocpi/versions",
            Reply::ok(json!([{"version": "2.0", "url": format!("{}/ocpi/2.0", party.base_url())}])),
        );
        let invite = hub.invite();
        let (status, body) = call("POST", &credentials_url(&hub), &invite, Some(party.credentials())).await;
        assert_eq!(body["status_code"], 3002, "no mutual version (HTTP {status}): {body}");
        assert!(!party.received().iter().any(|r| r.path == "/ocpi/2.0"), "the hub must not use a version it does not speak");
        let list = hub.cli(&["party", "list"]);
        let p = list.as_array().unwrap().iter().find(|p| p["roles"].as_array().is_some_and(|r| r.is_empty())).cloned();
        assert!(p.is_some_and(|p| p["status"] == "PLANNED"), "the invited platform stays PLANNED: {list}");

        // Version details without endpoints: 3003.
        party.clear_responses();
        party.respond("GET", "/ocpi/2.2.1", Reply::ok(json!({"version": "2.2.1", "endpoints": []})));
        let (status, body) = call("POST", &credentials_url(&hub), &invite, Some(party.credentials())).await;
        assert_eq!(body["status_code"], 3003, "no endpoints (HTTP {status}): {body}");

        // Once the party speaks 2.2.1, the same invite registers it.
        party.clear_responses();
        let creds = party.register(&hub, &invite).await;
        assert_eq!(creds["roles"][0]["role"], "HUB");
    }
}

/// The invite token is good for exactly one registration, even when POSTs race; DELETE with it
/// is 405 (the client is not registered), not 401 (credentials accept the invite token).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_is_single_use_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== single-use invite on {}", db.kind());
        let hub = Hub::start(&db);
        let party = Party::new([("DE", "EMS", "EMSP")]);
        let invite = hub.invite();
        let (status, body) = call("DELETE", &credentials_url(&hub), &invite, None).await;
        assert_eq!(status, 405, "DELETE before registration: {body}");
        let (status, body) = call("GET", &credentials_url(&hub), &invite, None).await;
        assert_eq!((status, body["data"]["token"].clone()), (200, json!(invite)), "the invite still works: {body}");

        // Four POSTs at once with the same invite: one registration, one working token.
        let url = credentials_url(&hub);
        let posts = (0..4).map(|_| {
            let (url, invite, creds) = (url.clone(), invite.clone(), party.credentials());
            async move { call("POST", &url, &invite, Some(creds)).await }
        });
        let answers = futures_join_all(posts).await;
        let tokens: Vec<String> = answers.iter().filter_map(|(_, b)| b["data"]["token"].as_str().map(str::to_string)).collect();
        let working = {
            let mut n = 0;
            for t in &tokens {
                if call("GET", &hubclientinfo_url(&hub), t, None).await.0 == 200 {
                    n += 1;
                }
            }
            n
        };
        assert_eq!(tokens.len(), 1, "an invite registered {} times: {answers:?}", tokens.len());
        assert_eq!(working, 1);
        for (status, body) in answers.iter().filter(|(_, b)| b["status_code"] != 1000) {
            assert!(*status == 405 || *status == 401, "a losing POST gets 405 (registered) or 401 (invite used): {status} {body}");
        }
        let (status, body) = call("DELETE", &credentials_url(&hub), &invite, None).await;
        assert_eq!(status, 401, "the used invite: {body}");
        let (status, body) = call("DELETE", &credentials_url(&hub), &tokens[0], None).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    }
}

/// Runs futures concurrently on the current runtime.
async fn futures_join_all<F: std::future::Future + Send + 'static>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

// =============================================================================================
// Several roles on one platform
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_role_credentials_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== multi-role credentials on {}", db.kind());
        multi_role(&db).await;
    }
}

async fn multi_role(db: &TestDb) {
    let hub = Hub::start(db);
    let emsp = Party::new([("DE", "EMS", "EMSP")]);
    let cpo = Party::new([("DE", "CPX", "CPO")]);
    // One platform: a CPO and an eMSP with different party ids.
    let multi = Party::new([("NL", "CPM", "CPO"), ("NL", "EMM", "EMSP")]);
    // One platform: a CPO and an eMSP with the same party id.
    let duo = Party::new([("BE", "DUO", "CPO"), ("BE", "DUO", "EMSP")]);
    let emsp_c = register(&hub, &emsp, "DE", "EMS", "EMSP").await;
    register(&hub, &cpo, "DE", "CPX", "CPO").await;
    register(&hub, &multi, "NL", "CPM", "CPO").await;
    register(&hub, &duo, "BE", "DUO", "CPO").await;

    let infos = client_infos(&hub, &emsp_c).await;
    for (cc, pid, role) in [("NL", "CPM", "CPO"), ("NL", "EMM", "EMSP"), ("BE", "DUO", "CPO"), ("BE", "DUO", "EMSP")] {
        assert!(
            infos.iter().any(|c| c["country_code"] == cc && c["party_id"] == pid && c["role"] == role && c["status"] == "CONNECTED"),
            "{cc}-{pid} {role} CONNECTED missing from hubclientinfo: {infos:?}"
        );
    }
    let list = hub.cli(&["party", "list"]);
    let p = platform_of(&list, "NL", "EMM").unwrap();
    assert_eq!(p["roles"].as_array().unwrap().len(), 2, "one platform with both roles: {p}");
    assert_eq!(platform_of(&list, "NL", "CPM").unwrap()["id"], p["id"]);

    // Pushes as either role are accepted and keep their OCPI-from.
    let loc = location("NL", "CPM", "LOC1");
    let (status, _, body) = multi.call_as(("NL", "CPM"), "PUT", "locations", "receiver", "/NL/CPM/LOC1", Some(("DE", "EMS")), Some(loc.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "push as the CPO: {body}");
    let got = emsp.wait_for(|r| r.is("PUT", "receiver/locations/NL/CPM/LOC1"), WAIT).await;
    assert_eq!(got.body, loc);
    assert_eq!((got.header("ocpi-from-country-code"), got.header("ocpi-from-party-id")), (Some("NL"), Some("CPM")));

    let tok = token("NL", "EMM", "TOK1");
    let (status, _, body) = multi.call_as(("NL", "EMM"), "PUT", "tokens", "receiver", "/NL/EMM/TOK1", Some(("DE", "CPX")), Some(tok.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "push as the eMSP: {body}");
    let got = cpo.wait_for(|r| r.is("PUT", "receiver/tokens/NL/EMM/TOK1"), WAIT).await;
    assert_eq!(got.body, tok);
    assert_eq!(got.header("ocpi-from-party-id"), Some("EMM"));

    // Same party id, two roles.
    let loc = location("BE", "DUO", "LOC2");
    let (status, _, body) = duo.call_as(("BE", "DUO"), "PUT", "locations", "receiver", "/BE/DUO/LOC2", Some(("DE", "EMS")), Some(loc)).await;
    assert_eq!(status, 200, "{body}");
    emsp.wait_for(|r| r.is("PUT", "receiver/locations/BE/DUO/LOC2"), WAIT).await;
    let (status, _, body) = duo.call_as(("BE", "DUO"), "PUT", "tokens", "receiver", "/BE/DUO/TOK2", Some(("DE", "CPX")), Some(token("BE", "DUO", "TOK2"))).await;
    assert_eq!(status, 200, "{body}");
    cpo.wait_for(|r| r.is("PUT", "receiver/tokens/BE/DUO/TOK2"), WAIT).await;

    // A platform cannot claim another platform's party, at registration or by PUT.
    let thief = Party::new([("DE", "EMS", "EMSP")]);
    let invite = hub.invite();
    let (_, body) = call("POST", &credentials_url(&hub), &invite, Some(thief.credentials())).await;
    assert_ne!(body["status_code"], 1000, "DE-EMS EMSP registered twice: {body}");
    let mut claim = duo.credentials();
    claim["roles"].as_array_mut().unwrap().push(json!({
        "role": "EMSP", "party_id": "EMS", "country_code": "DE", "business_details": {"name": "thief"}
    }));
    let (_, body) = call("PUT", &credentials_url(&hub), &duo.token_c().unwrap(), Some(claim)).await;
    assert_ne!(body["status_code"], 1000, "BE-DUO claimed DE-EMS by PUT: {body}");
    let (status, _, body) = emsp.call("GET", "hubclientinfo", "sender", "", None, None).await;
    assert_eq!(status, 200, "the real DE-EMS is untouched: {body}");
    let list = hub.cli(&["party", "list"]);
    assert_eq!(platform_of(&list, "DE", "EMS").unwrap()["versions_url"], emsp.versions_url(), "{list}");
    assert_eq!(platform_of(&list, "BE", "DUO").unwrap()["roles"].as_array().unwrap().len(), 2, "{list}");

    // OCPI-from naming a party outside the caller's credentials: 403, not forwarded.
    for from in [("NL", "XXX"), ("DE", "EMS"), ("BE", "DUO")] {
        let path = format!("/{}/{}/LOC9", from.0, from.1);
        let (status, _, body) = multi
            .call_as(from, "PUT", "locations", "receiver", &path, Some(("DE", "EMS")), Some(location(from.0, from.1, "LOC9")))
            .await;
        assert_eq!(status, 403, "OCPI-from {from:?} is not a party of this platform: {body}");
        assert_ne!(body["status_code"], 1000);
    }
    // A platform with several parties must say which one is calling.
    let url = format!("{}/ocpi/2.2.1/receiver/locations/NL/CPM/LOC8", hub.base_url());
    let (status, _, body) = send_ocpi(&http_client(), "PUT", &url, &multi.token_c().unwrap(), None, Some(("DE", "EMS")), Some(location("NL", "CPM", "LOC8"))).await;
    assert_eq!(body["status_code"], 2001, "no OCPI-from on a multi-party platform (HTTP {status}): {body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stray: Vec<_> = emsp.received().into_iter().filter(|r| r.path.contains("LOC9") || r.path.contains("LOC8")).collect();
    assert!(stray.is_empty(), "refused pushes were forwarded: {stray:?}");
}

// =============================================================================================
// PUT: token rotation, and a rotation that fails
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_rotation_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== token rotation on {}", db.kind());
        token_rotation(&db).await;
    }
}

async fn token_rotation(db: &TestDb) {
    let hub = Hub::start(db);
    let emsp = Party::new([("DE", "EMS", "EMSP")]);
    let cpo = Party::new([("NL", "CPO", "CPO")]);
    // The eMSP's new deployment: same party, a new token B' and a new versions URL.
    let emsp_new = Party::new([("DE", "EMS", "EMSP")]);
    let token_c = register(&hub, &emsp, "DE", "EMS", "EMSP").await;
    register(&hub, &cpo, "NL", "CPO", "CPO").await;
    let hci = hubclientinfo_url(&hub);

    // --- A rotation whose versions URL cannot be reached: 3001, nothing changes ----------------
    let dead = format!("http://127.0.0.1:{}/ocpi/versions", free_port());
    let mut bad = emsp.credentials();
    bad["token"] = json!(format!("rotated-{}", uuid::Uuid::new_v4().simple()));
    bad["url"] = json!(dead);
    let (status, body) = call("PUT", &credentials_url(&hub), &token_c, Some(bad)).await;
    assert_eq!(body["status_code"], 3001, "unreachable versions URL (HTTP {status}): {body}");
    assert!(body["data"]["token"].is_null(), "no new token on failure: {body}");
    // A party that is down is just as unreachable.
    emsp_new.stop();
    let (status, body) = call("PUT", &credentials_url(&hub), &token_c, Some(emsp_new.credentials())).await;
    assert_eq!(body["status_code"], 3001, "stopped party (HTTP {status}): {body}");
    emsp_new.start();
    // Invalid credentials objects.
    let (status, body) = call("PUT", &credentials_url(&hub), &token_c, Some(json!({"url": emsp.versions_url(), "roles": []}))).await;
    assert_eq!(body["status_code"], 2001, "credentials without token (HTTP {status}): {body}");
    // Old state intact: C works, the hub calls the eMSP with the old B at its old URL.
    let (status, body) = call("GET", &hci, &token_c, None).await;
    assert_eq!(status, 200, "token C after failed rotations: {body}");
    let loc = location("NL", "CPO", "LOC1");
    let (status, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC1", Some(("DE", "EMS")), Some(loc.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = emsp.wait_for(|r| r.is("PUT", "receiver/locations/NL/CPO/LOC1"), WAIT).await;
    assert_eq!(got.token().as_deref(), Some(emsp.token_b().as_str()), "still the old token B");
    assert!(emsp_new.received().iter().all(|r| !r.path.contains("/receiver/")), "nothing went to the new URL yet");

    // --- A successful rotation ----------------------------------------------------------------
    let (status, body) = call("PUT", &credentials_url(&hub), &token_c, Some(emsp_new.credentials())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "rotation: {body}");
    let token_c2 = body["data"]["token"].as_str().unwrap().to_string();
    assert_ne!(token_c2, token_c, "a new token C'");
    assert_eq!(body["data"]["roles"][0]["role"], "HUB");
    assert_eq!(body["data"]["url"], hub.versions_url());
    let got = emsp_new.wait_for(|r| r.is("GET", "/ocpi/versions"), WAIT).await;
    assert_eq!(got.token().as_deref(), Some(emsp_new.token_b().as_str()), "the hub fetched the new versions with B'");

    // The old token C keeps working until C' is used...
    for _ in 0..2 {
        let (status, body) = call("GET", &hci, &token_c, None).await;
        assert_eq!(status, 200, "old token C before C' is used: {body}");
    }
    let (status, body) = call("GET", &credentials_url(&hub), &token_c, None).await;
    assert_eq!((status, body["data"]["token"].clone()), (200, json!(token_c)), "{body}");
    // ...then C' is used, and C is refused.
    let (status, body) = call("GET", &hci, &token_c2, None).await;
    assert_eq!(status, 200, "new token C': {body}");
    let (status, body) = call("GET", &hci, &token_c, None).await;
    assert_eq!(status, 401, "old token C after C' was used: {body}");
    let (status, body) = call("GET", &hub.versions_url(), &token_c, None).await;
    assert_eq!(status, 401, "old token C on versions after C' was used: {body}");
    let (status, body) = call("GET", &credentials_url(&hub), &token_c2, None).await;
    assert_eq!((status, body["data"]["token"].clone()), (200, json!(token_c2)), "{body}");

    // The hub now calls the party with B', at the new URL.
    emsp.clear_received();
    let loc2 = location("NL", "CPO", "LOC2");
    let (status, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC2", Some(("DE", "EMS")), Some(loc2.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    let got = emsp_new.wait_for(|r| r.is("PUT", "receiver/locations/NL/CPO/LOC2"), WAIT).await;
    assert_eq!(got.body, loc2);
    assert_eq!(got.token().as_deref(), Some(emsp_new.token_b().as_str()), "the hub calls with B'");
    assert!(emsp.received().is_empty(), "nothing goes to the old URL:\n{}", emsp.dump_received());

    // C' survives a hub restart; C stays dead.
    hub.restart();
    let (status, _) = call("GET", &hci, &token_c2, None).await;
    assert_eq!(status, 200);
    let (status, _) = call("GET", &hci, &token_c, None).await;
    assert_eq!(status, 401);
}

// =============================================================================================
// DELETE: unregistration
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregistration_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== unregistration on {}", db.kind());
        unregistration(&db).await;
    }
}

async fn unregistration(db: &TestDb) {
    let hub = Hub::start(db);
    let emsp = Party::new([("DE", "EMS", "EMSP")]);
    let cpo = Party::new([("NL", "CPO", "CPO")]);
    emsp.set_hubclientinfo(true);
    let emsp_c = register(&hub, &emsp, "DE", "EMS", "EMSP").await;
    let cpo_c = register(&hub, &cpo, "NL", "CPO", "CPO").await;
    emsp.wait_for(client_info_put("NL", "CPO", "CONNECTED"), WAIT).await;

    let (status, body) = call("DELETE", &credentials_url(&hub), &cpo_c, None).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "DELETE credentials: {body}");

    // The token is dead everywhere.
    for (method, url) in [
        ("GET", hub.versions_url()),
        ("GET", credentials_url(&hub)),
        ("DELETE", credentials_url(&hub)),
        ("GET", hubclientinfo_url(&hub)),
        ("GET", format!("{}/ocpi/2.2.1/sender/locations", hub.base_url())),
    ] {
        let (status, body) = call(method, &url, &cpo_c, None).await;
        assert_eq!(status, 401, "{method} {url} after DELETE: {body}");
    }
    let (status, body) = call("PUT", &credentials_url(&hub), &cpo_c, Some(cpo.credentials())).await;
    assert_eq!(status, 401, "PUT after DELETE: {body}");

    // The other party hears about it, and sees it in the list.
    let ci = emsp.wait_for(client_info_put("NL", "CPO", "SUSPENDED"), WAIT).await;
    assert_eq!(ci.body["role"], "CPO");
    let infos = client_infos(&hub, &emsp_c).await;
    let e = infos.iter().find(|c| c["party_id"] == "CPO").unwrap_or_else(|| panic!("{infos:?}"));
    assert_eq!(e["status"], "SUSPENDED");

    // Nothing is sent to an unregistered party.
    cpo.clear_received();
    let (_, _, body) = emsp.call("PUT", "tokens", "receiver", "/DE/EMS/TOK1", Some(("NL", "CPO")), Some(token("DE", "EMS", "TOK1"))).await;
    assert_ne!(body["status_code"], 1000, "a push to an unregistered party: {body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(cpo.received().is_empty(), "the hub called an unregistered party:\n{}", cpo.dump_received());
    let list = hub.cli(&["party", "list"]);
    assert_eq!(platform_of(&list, "NL", "CPO").unwrap()["status"], "SUSPENDED", "{list}");

    // The party may come back: a new invite for it works, and it registers again.
    let new_c = register(&hub, &cpo, "NL", "CPO", "CPO").await;
    assert_ne!(new_c, cpo_c);
    emsp.wait_for_count(client_info_put("NL", "CPO", "CONNECTED"), 2, WAIT).await;
    let list = hub.cli(&["party", "list"]);
    assert_eq!(platform_of(&list, "NL", "CPO").unwrap()["status"], "CONNECTED", "{list}");
    let (_, _, body) = emsp.call("PUT", "tokens", "receiver", "/DE/EMS/TOK2", Some(("NL", "CPO")), Some(token("DE", "EMS", "TOK2"))).await;
    assert_eq!(body["status_code"], 1000, "a push to the re-registered party: {body}");
    cpo.wait_for(|r| r.is("PUT", "receiver/tokens/DE/EMS/TOK2"), WAIT).await;
}

// =============================================================================================
// Hub-initiated registration (`ocpi-hub party register`)
// =============================================================================================

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_initiated_registration_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== hub-initiated registration on {}", db.kind());
        hub_initiated(&db).await;
    }
}

async fn hub_initiated(db: &TestDb) {
    let hub = Hub::start(db);
    let emsp = Party::new([("DE", "EMS", "EMSP")]);
    let cpo = Party::new([("NL", "CPO", "CPO")]);
    emsp.set_hubclientinfo(true);
    register(&hub, &emsp, "DE", "EMS", "EMSP").await;
    let before = hub.cli(&["party", "list"]);

    // A wrong token: non-zero exit, no platform left behind.
    let out = hub.cli_output(&["party", "register", "--versions-url", &cpo.versions_url(), "--token", "not-the-token"]);
    assert!(!out.status.success(), "register with a wrong token must fail: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(hub.cli(&["party", "list"]), before, "a failed registration leaves nothing behind");
    // The party refuses the hub's credentials POST: non-zero exit, nothing left behind either.
    cpo.respond("POST", "credentials", Reply::ocpi(400, 2001, "not today"));
    let out = hub.cli_output(&["party", "register", "--versions-url", &cpo.versions_url(), "--token", &cpo.token_a()]);
    assert!(!out.status.success(), "register refused by the party must fail: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(hub.cli(&["party", "list"]), before, "a refused registration leaves nothing behind");
    cpo.clear_responses();
    cpo.clear_received();

    // The real thing.
    let out = hub.cli(&["party", "register", "--versions-url", &cpo.versions_url(), "--token", &cpo.token_a()]);
    assert_eq!(out["registered"], true, "{out}");
    let post = cpo.wait_for(|r| r.is("POST", "credentials"), WAIT).await;
    assert_eq!(post.token().as_deref(), Some(cpo.token_a().as_str()), "the hub POSTs with the party's token");
    assert_eq!(post.status, Some(200), "{}", post.summary());
    assert_eq!(post.body["url"], hub.versions_url());
    assert_eq!(post.body["roles"][0]["role"], "HUB");
    let hub_token = post.body["token"].as_str().unwrap().to_string();
    assert_eq!(cpo.token_c().as_deref(), Some(hub_token.as_str()), "the party kept the hub's token");

    let list = hub.cli(&["party", "list"]);
    let p = platform_of(&list, "NL", "CPO").unwrap_or_else(|| panic!("NL-CPO not listed: {list}"));
    assert_eq!(p["status"], "CONNECTED", "{p}");
    assert_eq!(p["versions_url"], cpo.versions_url());
    let eps = p["endpoints"].as_array().unwrap();
    assert!(
        eps.iter().any(|e| e["identifier"] == "locations" && e["role"] == "SENDER" && e["url"] == cpo.module_url("locations", "sender")),
        "{p}"
    );
    assert!(eps.iter().any(|e| e["identifier"] == "tokens" && e["role"] == "RECEIVER"), "{p}");
    assert_eq!(p["roles"][0]["role"], "CPO");
    assert_eq!(list.as_array().unwrap().len(), before.as_array().unwrap().len() + 1);
    emsp.wait_for(client_info_put("NL", "CPO", "CONNECTED"), WAIT).await;

    // A push from another party reaches it, with its token B. The CLI is another process: the
    // serving hub notices the new platform within a fraction of a second (until then, 4001).
    let tok = token("DE", "EMS", "TOK1");
    let started = Instant::now();
    let (status, body) = loop {
        let (status, _, body) = emsp.call("PUT", "tokens", "receiver", "/DE/EMS/TOK1", Some(("NL", "CPO")), Some(tok.clone())).await;
        if body["status_code"] != 4001 || started.elapsed() > Duration::from_secs(2) {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "after {:?}: {body}", started.elapsed());
    let got = cpo.wait_for(|r| r.is("PUT", "receiver/tokens/DE/EMS/TOK1"), WAIT).await;
    assert_eq!(got.body, tok);
    assert_eq!(got.token().as_deref(), Some(cpo.token_b().as_str()));

    // The party calls the hub with the token the hub gave it, at once.
    let loc = location("NL", "CPO", "LOC1");
    let (status, _, body) = cpo.call("PUT", "locations", "receiver", "/NL/CPO/LOC1", Some(("DE", "EMS")), Some(loc.clone())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "the hub-registered party pushes: {body}");
    let got = emsp.wait_for(|r| r.is("PUT", "receiver/locations/NL/CPO/LOC1"), WAIT).await;
    assert_eq!(got.body, loc);
    let (status, body) = call("GET", &credentials_url(&hub), &hub_token, None).await;
    assert_eq!((status, body["data"]["token"].clone()), (200, json!(hub_token)), "{body}");

    // Another hub-registered party whose first call is a credentials update (PUT).
    let nsp = Party::new([("BE", "NSP", "NSP")]);
    hub.cli(&["party", "register", "--versions-url", &nsp.versions_url(), "--token", &nsp.token_a()]);
    let nsp_token = nsp.token_c().unwrap();
    let (status, body) = call("PUT", &credentials_url(&hub), &nsp_token, Some(nsp.credentials())).await;
    assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "PUT right after a hub-initiated registration: {body}");
    let rotated = body["data"]["token"].as_str().unwrap().to_string();
    assert_ne!(rotated, nsp_token);
    let (status, body) = call("GET", &hubclientinfo_url(&hub), &rotated, None).await;
    assert_eq!(status, 200, "{body}");
}

// =============================================================================================
// Issued tokens are stored hashed
// =============================================================================================

/// Every cell of `server_tokens`, as text.
async fn server_token_cells(db: &TestDb) -> Vec<String> {
    use sqlx::{Column, Connection, Row};
    init();
    macro_rules! cells {
        ($rows:expr) => {
            $rows
                .iter()
                .flat_map(|row| {
                    (0..row.columns().len())
                        .map(|i| {
                            row.try_get::<Option<String>, _>(i)
                                .map(|v| v.unwrap_or_default())
                                .or_else(|_| row.try_get::<Option<i64>, _>(i).map(|v| v.map(|n| n.to_string()).unwrap_or_default()))
                                .unwrap_or_else(|e| panic!("column {}: {e}", row.columns()[i].name()))
                        })
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<String>>()
        };
    }
    if db.is_postgres() {
        let mut conn = sqlx::postgres::PgConnection::connect(&db.url()).await.unwrap();
        let rows = sqlx::query("SELECT * FROM server_tokens").fetch_all(&mut conn).await.unwrap();
        let out = cells!(rows);
        conn.close().await.unwrap();
        out
    } else {
        let mut conn = sqlx::sqlite::SqliteConnection::connect(&db.url()).await.unwrap();
        let rows = sqlx::query("SELECT * FROM server_tokens").fetch_all(&mut conn).await.unwrap();
        let out = cells!(rows);
        conn.close().await.unwrap();
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issued_tokens_are_stored_hashed_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== stored tokens on {}", db.kind());
        let hub = Hub::start(&db);
        let emsp = Party::new([("DE", "EMS", "EMSP")]);
        let cpo = Party::new([("NL", "CPO", "CPO")]);
        let invite = hub.invite();
        let pending_invite = hub.invite();
        let creds = emsp.register(&hub, &invite).await;
        let token_c = creds["token"].as_str().unwrap().to_string();
        hub.cli(&["party", "register", "--versions-url", &cpo.versions_url(), "--token", &cpo.token_a()]);
        let cpo_c = cpo.token_c().unwrap();

        let cells = server_token_cells(&db).await;
        assert!(cells.len() >= 3 * 4, "expected rows for two server tokens and an invite: {cells:?}");
        for secret in [&token_c, &cpo_c, &pending_invite, &invite] {
            assert!(!cells.iter().any(|c| c.contains(secret.as_str())), "a token is stored in clear: {secret} in {cells:?}");
            assert!(!cells.iter().any(|c| c.contains(&secret[..16])), "a prefix of a token is stored: {secret}");
        }
        if !db.is_postgres() {
            // Nor anywhere else in the database files (the WAL included).
            let path = db.url().trim_start_matches("sqlite://").to_string();
            for file in [path.clone(), format!("{path}-wal")] {
                let Ok(bytes) = std::fs::read(&file) else { continue };
                for secret in [&token_c, &cpo_c, &pending_invite] {
                    let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
                    assert!(!found, "{file} contains the token {secret} in clear");
                }
            }
        }
        // The hashed tokens still work.
        let (status, _) = call("GET", &hubclientinfo_url(&hub), &token_c, None).await;
        assert_eq!(status, 200);
        let (status, _) = call("GET", &hubclientinfo_url(&hub), &cpo_c, None).await;
        assert_eq!(status, 200);
        let (status, _) = call("GET", &hub.versions_url(), &pending_invite, None).await;
        assert_eq!(status, 200);
    }
}

// =============================================================================================
// The operator CLI
// =============================================================================================

fn bin(args: &[&str], db_url: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(HUB_BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HUB__") {
            cmd.env_remove(key);
        }
    }
    if let Some(url) = db_url {
        cmd.env("HUB__DATABASE__URL", url);
    }
    cmd.env("NO_COLOR", "1");
    // A scratch working directory: the default database path is relative.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e").join(format!("cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = cmd.args(args).current_dir(&dir).output().unwrap_or_else(|e| panic!("run ocpi-hub {args:?}: {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn cli_help_mentions_every_option() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["--help"], &["serve", "migrate", "party", "--config"]),
        (&["party", "--help"], &["invite", "register", "list", "suspend", "unsuspend"]),
        (&["party", "invite", "--help"], &["--name", "--country-code", "--party-id", "--role", "--config"]),
        (&["party", "register", "--help"], &["--versions-url", "--token", "--config"]),
        (&["party", "list", "--help"], &["--config"]),
        (&["party", "suspend", "--help"], &["--country-code", "--party-id", "--config"]),
        (&["party", "unsuspend", "--help"], &["--country-code", "--party-id"]),
        (&["migrate", "--help"], &["--config"]),
        (&["serve", "--help"], &["--config"]),
    ];
    for (args, options) in cases {
        let started = Instant::now();
        let out = bin(args, Some("sqlite:///nonexistent-dir/never/created.db"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "ocpi-hub {args:?} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
        for option in *options {
            assert!(stdout.contains(option), "ocpi-hub {args:?} does not mention {option}:\n{stdout}");
        }
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    assert!(!std::path::Path::new("/nonexistent-dir").exists(), "--help must not open the database");
    // Missing required options fail with a usage message.
    let out = bin(&["party", "register", "--token", "x"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--versions-url"));
}

#[test]
fn cli_migrate_prints_json_on_every_database() {
    for db in TestDb::all() {
        for _ in 0..2 {
            let out = bin(&["migrate"], Some(&db.url()));
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "migrate on {}: {}", db.kind(), String::from_utf8_lossy(&out.stderr));
            let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("migrate printed no JSON ({e}): {stdout}"));
            assert_eq!(v["migrated"], true, "{v}");
            assert_eq!(v["backend"], db.kind(), "{v}");
        }
        // The migrated database serves.
        let hub = Hub::start(&db);
        let invite = hub.invite();
        let (status, _) = futures_lite_block_on(call("GET", &hub.versions_url(), &invite, None));
        assert_eq!(status, 200);
    }
}

/// Runs a future to completion from a plain `#[test]`.
fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}
