//! Checks of the e2e harness (`tests/common`) that do not need a working hub: the test party,
//! the registration client against another test party, the `Hub` process plumbing with a
//! stand-in program, and `TestDb`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(5);

/// GET `url` with `token` (Base64 form), no routing headers.
async fn get(url: &str, token: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    send_ocpi(&http_client(), "GET", url, token, None, None, None).await
}

#[tokio::test]
async fn party_serves_versions_and_details_with_token_b() {
    let cpo = Party::new(vec![("NL", "CPO", "CPO")]);

    let (status, _, body) = get(&cpo.versions_url(), &cpo.token_b()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status_code"], 1000);
    assert_eq!(body["data"][0]["version"], "2.2.1");
    let details_url = body["data"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(details_url, format!("{}/ocpi/2.2.1", cpo.base_url()));

    let (status, _, body) = get(&details_url, &cpo.token_b()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["version"], "2.2.1");
    let endpoints = body["data"]["endpoints"].as_array().unwrap();
    let has = |id: &str, role: &str, url: String| {
        endpoints
            .iter()
            .any(|e| e["identifier"] == id && e["role"] == role && e["url"] == url.as_str())
    };
    let base = cpo.base_url();
    assert!(
        has(
            "credentials",
            "SENDER",
            format!("{base}/ocpi/2.2.1/credentials")
        ),
        "{endpoints:?}"
    );
    assert!(
        has(
            "locations",
            "SENDER",
            format!("{base}/ocpi/2.2.1/sender/locations")
        ),
        "{endpoints:?}"
    );
    assert!(
        has(
            "tokens",
            "RECEIVER",
            format!("{base}/ocpi/2.2.1/receiver/tokens")
        ),
        "{endpoints:?}"
    );
    assert!(
        has(
            "commands",
            "RECEIVER",
            format!("{base}/ocpi/2.2.1/receiver/commands")
        ),
        "{endpoints:?}"
    );
    assert!(
        !endpoints.iter().any(|e| e["identifier"] == "hubclientinfo"),
        "{endpoints:?}"
    );

    cpo.set_hubclientinfo(true);
    let (_, _, body) = get(&details_url, &cpo.token_b()).await;
    let endpoints = body["data"]["endpoints"].as_array().unwrap();
    assert!(
        endpoints.iter().any(|e| e["identifier"] == "hubclientinfo"
            && e["role"] == "RECEIVER"
            && e["url"] == format!("{base}/ocpi/2.2.1/receiver/hubclientinfo").as_str()),
        "{endpoints:?}"
    );

    // GET credentials with token B.
    let (status, _, body) = get(&format!("{base}/ocpi/2.2.1/credentials"), &cpo.token_b()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["token"], cpo.token_b().as_str());
    assert_eq!(body["data"]["roles"][0]["role"], "CPO");
    assert_eq!(body["data"]["roles"][0]["party_id"], "CPO");
}

#[tokio::test]
async fn party_rejects_wrong_or_missing_token_and_records_it() {
    let cpo = Party::new(vec![("NL", "CPO", "CPO")]);
    let client = http_client();

    let (status, _, _) = get(&cpo.versions_url(), "not-the-token").await;
    assert_eq!(status, 401);

    let resp = client.get(cpo.versions_url()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401, "missing token");

    // The raw (non-Base64) form is not 2.2.1 and is rejected.
    let resp = client
        .get(cpo.versions_url())
        .header("Authorization", format!("Token {}", cpo.token_b()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401, "raw token");

    let received = cpo.received();
    assert_eq!(received.len(), 3, "{}", cpo.dump_received());
    assert!(
        received
            .iter()
            .all(|r| r.status == Some(401) && r.path == "/ocpi/versions")
    );
    assert_eq!(received[0].token().as_deref(), Some("not-the-token"));
    assert_eq!(received[1].header("authorization"), None);
}

#[tokio::test]
async fn party_records_pushes_and_wait_for_finds_them() {
    let emsp = Party::new(vec![("DE", "EMS", "EMSP")]);
    let url = format!("{}/NL/CPO/LOC1", emsp.module_url("locations", "receiver"));
    let token = emsp.token_b();

    let pusher = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let client = http_client();
        client
            .put(&url)
            .header("Authorization", auth_header(&token))
            .header("X-Request-ID", "req-1")
            .header("OCPI-from-country-code", "NL")
            .header("OCPI-from-party-id", "CPO")
            .json(&json!({"id": "LOC1", "name": "Depot"}))
            .send()
            .await
            .unwrap()
    });

    let rec = emsp
        .wait_for(|r| r.is("PUT", "receiver/locations/NL/CPO/LOC1"), T)
        .await;
    let resp = pusher.await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status_code"], 1000);
    assert!(body["timestamp"].is_string());

    assert_eq!(rec.method, "PUT");
    assert_eq!(rec.path, "/ocpi/2.2.1/receiver/locations/NL/CPO/LOC1");
    assert_eq!(rec.body["name"], "Depot");
    assert_eq!(rec.header("X-Request-ID"), Some("req-1"));
    assert_eq!(
        rec.headers.get("ocpi-from-party-id").map(String::as_str),
        Some("CPO")
    );
    assert_eq!(rec.token(), Some(emsp.token_b()));
    assert_eq!(rec.status, Some(200));

    // A second matching request makes wait_for_count(2) succeed.
    let (status, _, _) = emsp
        .request(
            "PATCH",
            &format!("{}/NL/CPO/LOC1", emsp.module_url("locations", "receiver")),
            &emsp.token_b(),
            None,
            None,
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(status, 200);
    let both = emsp
        .wait_for_count(|r| r.path.ends_with("/LOC1"), 2, T)
        .await;
    assert_eq!(both[1].method, "PATCH");

    // Not implemented module interface: 404.
    let (status, _, _) = emsp
        .request(
            "PUT",
            &format!("{}/x", emsp.module_url("locations", "sender")),
            &emsp.token_b(),
            None,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 404);

    emsp.clear_received();
    assert!(emsp.received().is_empty());
}

#[tokio::test]
#[should_panic(expected = "timed out")]
async fn wait_for_panics_with_what_was_received() {
    let emsp = Party::new(vec![("DE", "EMS", "EMSP")]);
    let _ = get(&emsp.versions_url(), &emsp.token_b()).await;
    emsp.wait_for(|r| r.method == "DELETE", Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn party_paginates_sender_lists_and_serves_objects() {
    let cpo = Party::new(vec![("NL", "CPO", "CPO")]);
    let locations: Vec<Value> = (0..5)
        .map(|i| json!({"id": format!("LOC{i}"), "evses": [{"uid": format!("E{i}"), "connectors": [{"id": "1"}]}]}))
        .collect();
    cpo.set_list("locations", locations);

    let mut url = format!(
        "{}?date_from=2024-01-01T00:00:00Z&limit=2",
        cpo.module_url("locations", "sender")
    );
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let (status, headers, body) = get(&url, &cpo.token_b()).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        assert_eq!(headers["x-total-count"], "5");
        assert_eq!(headers["x-limit"], "2");
        ids.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_string()),
        );
        let Some(link) = headers.get("link") else {
            break;
        };
        let link = link.to_str().unwrap();
        assert!(link.ends_with("; rel=\"next\""), "{link}");
        assert!(
            link.contains("date_from=2024-01-01T00%3A00%3A00Z"),
            "{link}"
        );
        url = link[1..link.find('>').unwrap()].to_string();
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, ["LOC0", "LOC1", "LOC2", "LOC3", "LOC4"]);

    // The party's own limit caps the page size.
    cpo.set_page_limit(4);
    let (_, headers, body) = get(&cpo.module_url("locations", "sender"), &cpo.token_b()).await;
    assert_eq!(headers["x-limit"], "4");
    assert_eq!(body["data"].as_array().unwrap().len(), 4);

    // Objects by id, EVSE, connector.
    let base = cpo.module_url("locations", "sender");
    let (status, _, body) = get(&format!("{base}/LOC3"), &cpo.token_b()).await;
    assert_eq!((status, body["data"]["id"].clone()), (200, json!("LOC3")));
    let (_, _, body) = get(&format!("{base}/LOC3/E3"), &cpo.token_b()).await;
    assert_eq!(body["data"]["uid"], "E3");
    let (_, _, body) = get(&format!("{base}/LOC3/E3/1"), &cpo.token_b()).await;
    assert_eq!(body["data"]["id"], "1");
    let (status, _, body) = get(&format!("{base}/NOPE"), &cpo.token_b()).await;
    assert_eq!((status, body["status_code"].clone()), (404, json!(2003)));

    // Empty list by default.
    let (status, headers, body) = get(&cpo.module_url("tariffs", "sender"), &cpo.token_b()).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!([]));
    assert_eq!(headers["x-total-count"], "0");
    assert!(headers.get("link").is_none());
}

#[tokio::test]
async fn party_custom_responses() {
    let emsp = Party::new(vec![("DE", "EMS", "EMSP")]);
    let auth_info = json!({"allowed": "ALLOWED", "token": {"uid": "TOK1"}});
    emsp.respond(
        "POST",
        "sender/tokens/",
        Reply::ok(auth_info.clone()).with_delay(Duration::from_millis(300)),
    );
    emsp.respond_times("POST", "sender/commands", Reply::ocpi(503, 3000, "busy"), 2);

    let url = format!(
        "{}/TOK1/authorize?type=RFID",
        emsp.module_url("tokens", "sender")
    );
    let started = std::time::Instant::now();
    let (status, _, body) = emsp
        .request("POST", &url, &emsp.token_b(), None, None, None)
        .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, 200);
    assert_eq!(body["data"], auth_info);
    let rec = emsp.wait_for(|r| r.path.ends_with("/authorize"), T).await;
    assert_eq!(rec.query_param("type").as_deref(), Some("RFID"));

    let cmd = format!(
        "{}/START_SESSION/abc",
        emsp.module_url("commands", "sender")
    );
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            emsp.request("POST", &cmd, &emsp.token_b(), None, None, Some(json!({})))
                .await
                .0,
        );
    }
    assert_eq!(statuses, [503, 503, 200]);

    // A closure responder; newer responders win.
    emsp.respond_fn(|r| {
        r.path
            .contains("/TOK2/")
            .then(|| Reply::json(200, json!({"status_code": 2004, "timestamp": now_ts()})))
    });
    let url2 = format!("{}/TOK2/authorize", emsp.module_url("tokens", "sender"));
    let (_, _, body) = emsp
        .request("POST", &url2, &emsp.token_b(), None, None, None)
        .await;
    assert_eq!(body["status_code"], 2004);

    // Custom answers do not bypass the token check.
    let (status, _, _) = emsp.request("POST", &url, "wrong", None, None, None).await;
    assert_eq!(status, 401);

    emsp.clear_responses();
    let (_, _, body) = emsp
        .request("POST", &url, &emsp.token_b(), None, None, None)
        .await;
    assert_eq!(
        body,
        json!({"status_code": 1000, "timestamp": body["timestamp"].clone()})
    );
}

#[tokio::test]
async fn party_stops_and_starts_on_the_same_port() {
    let cpo = Party::new(vec![("NL", "CPO", "CPO")]);
    let client = http_client();
    let port = cpo.port();
    assert!(cpo.is_running());
    let (status, _, _) = get(&cpo.versions_url(), &cpo.token_b()).await;
    assert_eq!(status, 200);

    cpo.stop();
    assert!(!cpo.is_running());
    let err = client
        .get(cpo.versions_url())
        .header("Authorization", auth_header(&cpo.token_b()))
        .send()
        .await
        .expect_err("a stopped party must refuse connections");
    assert!(err.is_connect(), "{err:?}");

    cpo.start();
    assert_eq!(cpo.port(), port);
    let (status, _, _) = get(&cpo.versions_url(), &cpo.token_b()).await;
    assert_eq!(status, 200);

    // The log survives the restart (2 answered requests, the refused one never arrived).
    assert_eq!(cpo.received().len(), 2, "{}", cpo.dump_received());

    // Stop/start twice more; stop when stopped and start when started are no-ops.
    cpo.stop();
    cpo.stop();
    cpo.start();
    cpo.start();
    let (status, _, _) = get(&cpo.versions_url(), &cpo.token_b()).await;
    assert_eq!(status, 200);
}

/// Registration and calls between two test parties: the eMSP plays the registering party, the
/// CPO plays the "hub" side of the credentials exchange (the hub-initiated direction).
#[tokio::test]
async fn party_registers_with_another_party_and_calls_it() {
    let cpo = Party::new(vec![("NL", "CPO", "CPO")]);
    let emsp = Party::new(vec![("DE", "EMS", "EMSP"), ("DE", "EM2", "EMSP")]);

    // A wrong token A fails cleanly.
    let err = emsp
        .try_register_at(&cpo.versions_url(), "wrong")
        .await
        .unwrap_err();
    assert!(err.contains("401"), "{err}");
    assert!(emsp.hub_link().is_none());

    let creds = emsp.register_at(&cpo.versions_url(), &cpo.token_a()).await;
    assert_eq!(creds["token"], cpo.token_b().as_str());
    assert_eq!(creds["url"], cpo.versions_url().as_str());
    assert_eq!(emsp.token_c(), Some(cpo.token_b()));
    assert_eq!(
        emsp.hub_endpoint("tokens", "receiver"),
        Some(format!("{}/ocpi/2.2.1/receiver/tokens", cpo.base_url()))
    );

    // The CPO fetched the eMSP's versions and details with the eMSP's token B before answering.
    let fetched = emsp.wait_for_count(|r| r.method == "GET", 2, T).await;
    assert_eq!(fetched[0].path, "/ocpi/versions");
    assert_eq!(fetched[1].path, "/ocpi/2.2.1");
    assert!(
        fetched
            .iter()
            .all(|r| r.token() == Some(emsp.token_b()) && r.status == Some(200))
    );
    let link = cpo
        .hub_link()
        .expect("the CPO stored the eMSP's credentials");
    assert_eq!(link.token, emsp.token_b());
    assert_eq!(link.credentials["roles"].as_array().unwrap().len(), 2);
    assert!(link.endpoint("locations", "receiver").is_some());

    // Token A is spent.
    let (status, _, _) = get(&cpo.versions_url(), &cpo.token_a()).await;
    assert_eq!(status, 401);

    // eMSP → CPO: push a token with routing headers.
    let (status, _, body) = emsp
        .call(
            "PUT",
            "tokens",
            "receiver",
            "/DE/EMS/TOK1",
            Some(("NL", "CPO")),
            Some(json!({"uid": "TOK1"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status_code"], 1000);
    let rec = cpo
        .wait_for(|r| r.is("PUT", "receiver/tokens/DE/EMS/TOK1"), T)
        .await;
    assert_eq!(rec.token(), Some(cpo.token_b()));
    assert_eq!(rec.header("ocpi-from-country-code"), Some("DE"));
    assert_eq!(rec.header("ocpi-from-party-id"), Some("EMS"));
    assert_eq!(rec.header("ocpi-to-country-code"), Some("NL"));
    assert_eq!(rec.header("ocpi-to-party-id"), Some("CPO"));
    assert!(rec.header("x-request-id").is_some_and(|v| !v.is_empty()));
    assert!(
        rec.header("x-correlation-id")
            .is_some_and(|v| !v.is_empty())
    );
    assert_eq!(rec.body["uid"], "TOK1");

    // With another from role, and a GET with a suffix starting with '?'.
    cpo.set_list("locations", vec![json!({"id": "L1"})]);
    let (status, headers, body) = emsp
        .call_as(
            ("DE", "EM2"),
            "GET",
            "locations",
            "sender",
            "?offset=0&limit=10",
            None,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-total-count"], "1");
    assert_eq!(body["data"][0]["id"], "L1");
    let rec = cpo.wait_for(|r| r.is("GET", "sender/locations"), T).await;
    assert_eq!(rec.header("ocpi-from-party-id"), Some("EM2"));
    assert_eq!(rec.header("ocpi-to-party-id"), None);
    assert_eq!(rec.query_param("limit").as_deref(), Some("10"));

    // CPO → eMSP over the link the credentials POST created.
    let (status, _, _) = cpo
        .call(
            "PUT",
            "sessions",
            "receiver",
            "/NL/CPO/S1",
            Some(("DE", "EMS")),
            Some(json!({"id": "S1"})),
        )
        .await;
    assert_eq!(status, 200);
    emsp.wait_for(|r| r.is("PUT", "receiver/sessions/NL/CPO/S1"), T)
        .await;

    // A second POST with token B is refused; DELETE unregisters the caller.
    let creds_url = format!("{}/ocpi/2.2.1/credentials", cpo.base_url());
    let (status, _, _) = emsp
        .call_url("POST", &creds_url, None, None, Some(emsp.credentials()))
        .await;
    assert_eq!(status, 405);
    let (status, _, _) = emsp.call_url("DELETE", &creds_url, None, None, None).await;
    assert_eq!(status, 200);
    assert!(cpo.hub_link().is_none());
}

#[tokio::test]
async fn party_with_explicit_modules() {
    let scsp = Party::with_modules(
        vec![("NL", "SCS", "SCSP")],
        &[("chargingprofiles", "SENDER")],
    );
    assert_eq!(
        scsp.modules(),
        vec![("chargingprofiles".to_string(), "sender".to_string())]
    );
    let (_, _, body) = get(&format!("{}/ocpi/2.2.1", scsp.base_url()), &scsp.token_b()).await;
    let ids: Vec<&str> = body["data"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["credentials", "credentials", "chargingprofiles"]);
    let (status, _, _) = scsp
        .request(
            "PUT",
            &format!("{}/abc", scsp.module_url("chargingprofiles", "sender")),
            &scsp.token_b(),
            None,
            None,
            Some(json!({"result": "ACCEPTED"})),
        )
        .await;
    assert_eq!(status, 200);
}

// ----- Hub plumbing, with a stand-in program instead of ocpi-hub ---------------------------------

/// A shell script that behaves like the hub for the harness: `serve` runs a plain HTTP server on
/// the port of HUB__HTTP__LISTEN; anything else prints a JSON object.
fn fake_hub(dir: &Path, serve: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("fake-hub.sh");
    let script = format!(
        r#"#!/bin/sh
case "$1" in
  serve) {serve} ;;
  fail) echo "bad things" >&2; exit 3 ;;
  *) printf '{{"args":"%s","db":"%s","public_url":"%s","ocpp":"%s","cwd":"%s"}}\n' "$*" "$HUB__DATABASE__URL" "$HUB__HTTP__PUBLIC_URL" "$HUB__OCPP__LISTEN" "$(pwd)" ;;
esac
"#
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A fixed scratch dir per test (overwritten on every run).
fn scratch(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e")
        .join(name)
}

#[test]
fn hub_plumbing_with_a_stand_in_program() {
    let dir = scratch("fake-hub-plumbing");
    let program = fake_hub(
        &dir,
        r#"echo "starting"; exec python3 -m http.server --bind 127.0.0.1 "${HUB__HTTP__LISTEN##*:}""#,
    );
    let db = TestDb::sqlite();
    let hub = Hub::start_program(
        &program,
        &db.url(),
        &[("HUB__DELIVERY__POLL_MS", "50"), ("EXTRA", "1")],
    );
    assert!(hub.is_running());
    assert_eq!(
        hub.base_url(),
        format!("http://127.0.0.1:{}", hub.http_port())
    );
    assert_eq!(
        hub.versions_url(),
        format!("{}/ocpi/versions", hub.base_url())
    );
    assert_ne!(hub.http_port(), hub.ocpp_port());
    assert!(
        hub.env()
            .iter()
            .any(|(k, v)| k == "HUB__DELIVERY__POLL_MS" && v == "50")
    );
    assert!(hub.env().iter().any(|(k, v)| k == "EXTRA" && v == "1"));
    assert!(
        hub.env()
            .iter()
            .any(|(k, v)| k == "HUB__FORWARDING__TIMEOUT_MS" && v == "2000")
    );

    let out = hub.cli(&["party", "list"]);
    assert_eq!(out["args"], "party list");
    assert_eq!(out["db"], db.url().as_str());
    assert_eq!(out["public_url"], hub.base_url().as_str());
    assert_eq!(
        out["ocpp"],
        format!("127.0.0.1:{}", hub.ocpp_port()).as_str()
    );
    assert_eq!(Path::new(out["cwd"].as_str().unwrap()), hub.dir());
    let failed = hub.cli_output(&["fail"]);
    assert_eq!(failed.status.code(), Some(3));

    assert!(hub.log().contains("starting"), "{}", hub.log());
    hub.kill();
    assert!(!hub.is_running());
    assert!(std::net::TcpStream::connect(("127.0.0.1", hub.http_port())).is_err());

    hub.restart();
    assert!(hub.is_running());
    assert!(std::net::TcpStream::connect(("127.0.0.1", hub.http_port())).is_ok());
    assert_eq!(hub.log().matches("starting").count(), 2);

    hub.terminate(Duration::from_secs(5));
    assert!(!hub.is_running());
    let hub_dir = hub.dir().to_path_buf();
    drop(hub);
    assert!(!hub_dir.exists(), "a passing test's hub dir is removed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[should_panic(expected = "exited during startup")]
fn hub_start_fails_fast_when_the_program_exits() {
    let program = fake_hub(
        &scratch("fake-hub-fail"),
        r#"echo "cannot start" >&2; exit 1"#,
    );
    let _hub = Hub::start_program(&program, "sqlite://unused", &[]);
}

// ----- TestDb ----------------------------------------------------------------------------------

#[test]
fn sqlite_test_db_is_a_temp_file_url() {
    let db = TestDb::sqlite();
    let url = db.url();
    assert!(url.starts_with("sqlite:///"), "{url}");
    assert!(url.ends_with("/hub.db"), "{url}");
    let dir = PathBuf::from(url.trim_start_matches("sqlite://"))
        .parent()
        .unwrap()
        .to_path_buf();
    assert!(dir.is_dir());
    assert!(!db.is_postgres());
    drop(db);
    assert!(!dir.exists());
}

async fn database_exists(admin_url: &str, name: &str) -> bool {
    use sqlx::Connection as _;
    let mut conn = sqlx::postgres::PgConnection::connect(admin_url)
        .await
        .unwrap();
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await
        .unwrap();
    found.is_some()
}

#[tokio::test]
async fn postgres_test_db_is_created_and_dropped() {
    let Ok(admin_url) = std::env::var("HUB_TEST_POSTGRES_URL") else {
        eprintln!("HUB_TEST_POSTGRES_URL not set: skipping");
        assert!(TestDb::postgres().is_none());
        return;
    };
    init();
    let db = TestDb::postgres().expect("HUB_TEST_POSTGRES_URL is set");
    assert!(db.is_postgres());
    let name = db.pg_database().unwrap().to_string();
    assert!(name.starts_with("hub_test_"), "{name}");
    assert!(db.url().ends_with(&format!("/{name}")), "{}", db.url());
    assert!(database_exists(&admin_url, &name).await);

    // The URL works, and a connection left open does not prevent the drop (WITH (FORCE)).
    use sqlx::Connection as _;
    let mut conn = sqlx::postgres::PgConnection::connect(&db.url())
        .await
        .unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);

    drop(db); // from inside a runtime: the drop runs on its own thread and runtime
    assert!(!database_exists(&admin_url, &name).await);
    drop(conn);

    assert_eq!(TestDb::all().len(), 2);
}
