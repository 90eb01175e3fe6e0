//! The gateway against an independent OCPP implementation: the PyPI `ocpp` 2.1.0 `ChargePoint`
//! (1.6 and 2.0.1), driven by `tests/ocpp/charger.py` at the repository root. Each test starts
//! the gateway in-process on a free port and runs one scenario of the script.
//!
//! The tests print a SKIP line and pass when the interpreter (`OCPP_TEST_PYTHON`, default
//! `<repo>/.venv/bin/python`) is missing; CI installs it with
//! `python3 -m venv .venv && .venv/bin/pip install ocpp==2.1.0 websockets`.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use ocpp_gateway::{GatewayConfig, TlsConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> Option<PathBuf> {
    let p = std::env::var_os("OCPP_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} not found; create it with `python3 -m venv .venv && .venv/bin/pip install ocpp==2.1.0 websockets` \
             at the repository root (or set OCPP_TEST_PYTHON)",
            p.display()
        );
        None
    }
}

struct Script {
    child: Child,
    lines: tokio::io::Lines<BufReader<ChildStdout>>,
}

impl Script {
    fn spawn(
        python: &PathBuf,
        running: &Running,
        id: &str,
        password: &str,
        version: &str,
        scenario: &str,
    ) -> Script {
        let tls = running.gateway.config().tls.is_some();
        let url = if tls {
            format!("wss://localhost:{}/ocpp", running.addr.port())
        } else {
            format!("ws://127.0.0.1:{}/ocpp", running.addr.port())
        };
        let mut cmd = Command::new(python);
        cmd.arg(repo_root().join("tests/ocpp/charger.py"))
            .args([
                "--url",
                &url,
                "--id",
                id,
                "--password",
                password,
                "--version",
                version,
                "--scenario",
                scenario,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if tls {
            cmd.arg("--cafile").arg(fixture("ca.crt"));
        }
        let mut child = cmd.spawn().expect("spawn python");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Script { child, lines }
    }

    /// The next JSON line (an `error` line fails the test).
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(40), self.lines.next_line())
            .await
            .expect("python script silent for 40 s")
            .expect("read stdout")
            .expect("python script ended early");
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"));
        assert!(v.get("error").is_none(), "python charger failed: {v}");
        v
    }

    async fn finish(mut self) {
        let status = tokio::time::timeout(Duration::from_secs(40), self.child.wait())
            .await
            .expect("python exit")
            .unwrap();
        assert!(status.success(), "python exited with {status}");
    }
}

async fn run(
    python: &PathBuf,
    running: &Running,
    id: &str,
    password: &str,
    version: &str,
    scenario: &str,
) -> Vec<Value> {
    let mut script = Script::spawn(python, running, id, password, version, scenario);
    let mut out = Vec::new();
    while let Ok(Some(line)) =
        tokio::time::timeout(Duration::from_secs(40), script.lines.next_line())
            .await
            .expect("python silent")
    {
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"));
        assert!(v.get("error").is_none(), "python charger failed: {v}");
        out.push(v);
    }
    script.finish().await;
    out
}

fn field<'a>(lines: &'a [Value], key: &str) -> &'a Value {
    lines
        .iter()
        .find_map(|l| l.get(key))
        .unwrap_or_else(|| panic!("no {key} in {lines:?}"))
}

#[tokio::test]
async fn python_boot_and_heartbeat() {
    let Some(py) = python() else { return };
    let gw = start(test_config()).await;
    for (id, version, proto) in [("PY16", "1.6", "ocpp1.6"), ("PY201", "2.0.1", "ocpp2.0.1")] {
        let lines = run(&py, &gw, id, PASSWORD, version, "boot").await;
        assert_eq!(field(&lines, "subprotocol"), proto);
        let boot = field(&lines, "boot");
        assert_eq!(boot["status"], "Accepted");
        assert_eq!(boot["interval"], 300);
        assert!(field(&lines, "heartbeat").as_str().unwrap().ends_with('Z'));
        assert_eq!(
            gw.recorder.count("BootNotification"),
            if version == "1.6" { 1 } else { 2 }
        );
    }
}

#[tokio::test]
async fn python_refused_with_wrong_password_or_unknown_id() {
    let Some(py) = python() else { return };
    let gw = start(test_config()).await;
    let lines = run(&py, &gw, "PY16", "wrong-password", "1.6", "auth").await;
    assert_eq!(field(&lines, "rejected"), 401);
    let lines = run(&py, &gw, "PY201", "", "2.0.1", "auth").await;
    assert_eq!(field(&lines, "rejected"), 401);
    let lines = run(&py, &gw, "UNKNOWN", PASSWORD, "1.6", "auth").await;
    assert_eq!(field(&lines, "rejected"), 404);
    let lines = run(&py, &gw, "PY16", PASSWORD, "1.6", "auth").await;
    assert_eq!(field(&lines, "accepted"), "ocpp1.6");
}

#[tokio::test]
async fn python_schema_violations_get_the_code_of_the_version() {
    let Some(py) = python() else { return };
    let gw = start(test_config()).await;
    let lines = run(&py, &gw, "PYBAD16", PASSWORD, "1.6", "invalid").await;
    assert_eq!(
        field(&lines, "codes"),
        &json!({
            "missing": "OccurenceConstraintViolation",
            "type": "TypeConstraintViolation",
            "enum": "PropertyConstraintViolation",
            "length": "TypeConstraintViolation",
        })
    );
    assert_eq!(
        field(&lines, "boot")["status"],
        "Accepted",
        "the connection survives invalid payloads"
    );
    let lines = run(&py, &gw, "PYBAD201", PASSWORD, "2.0.1", "invalid").await;
    assert_eq!(
        field(&lines, "codes"),
        &json!({
            "missing": "OccurrenceConstraintViolation",
            "type": "TypeConstraintViolation",
            "enum": "PropertyConstraintViolation",
            "length": "TypeConstraintViolation",
        })
    );
    // only the valid boot of each run reached the handler
    assert_eq!(gw.recorder.count("BootNotification"), 2);
    assert_eq!(gw.recorder.count("Authorize"), 0);
}

#[tokio::test]
async fn python_repeated_message_id_is_answered_once() {
    let Some(py) = python() else { return };
    for (id, version) in [("PYDUP16", "1.6"), ("PYDUP201", "2.0.1")] {
        let gw = start(test_config()).await;
        let lines = run(&py, &gw, id, PASSWORD, version, "duplicate").await;
        assert_eq!(
            field(&lines, "first"),
            field(&lines, "second"),
            "the cached answer"
        );
        // dup-1 handled once, dup-2 once
        assert_eq!(gw.recorder.count("Heartbeat"), 2, "{version}");
    }
}

#[tokio::test]
async fn python_second_connection_replaces_the_first() {
    let Some(py) = python() else { return };
    let gw = start(test_config()).await;
    for (id, version) in [("PYREP16", "1.6"), ("PYREP201", "2.0.1")] {
        let lines = run(&py, &gw, id, PASSWORD, version, "replace").await;
        assert_eq!(field(&lines, "a_boot"), "Accepted");
        assert_eq!(field(&lines, "a_closed"), true);
        assert_eq!(field(&lines, "a_close_code"), 1000);
        assert_eq!(field(&lines, "b_boot"), "Accepted");
        gw.recorder
            .wait_event(|e| e.starts_with(&format!("disconnect {id} ")) && e.ends_with("Replaced"))
            .await;
    }
}

#[tokio::test]
async fn python_answers_an_outbound_call() {
    let Some(py) = python() else { return };
    let gw = start(test_config()).await;
    for (id, version, action, payload, expect) in [
        (
            "PYOUT16",
            "1.6",
            "RemoteStartTransaction",
            json!({"idTag": "TAG1", "connectorId": 1}),
            json!({"action": "RemoteStartTransaction", "id_tag": "TAG1"}),
        ),
        (
            "PYOUT201",
            "2.0.1",
            "RequestStartTransaction",
            json!({"idToken": {"idToken": "TAG2", "type": "ISO14443"}, "remoteStartId": 42}),
            json!({"action": "RequestStartTransaction", "id_token": "TAG2", "remote_start_id": 42}),
        ),
    ] {
        let mut script = Script::spawn(&py, &gw, id, PASSWORD, version, "serve");
        assert_eq!(script.next().await["boot"], "Accepted");
        assert_eq!(script.next().await["ready"], true);
        let answer = gw.gateway.send_call(id, action, payload).await.unwrap();
        assert_eq!(answer, json!({"status": "Accepted"}), "{version}");
        assert_eq!(script.next().await["handled"], expect);
        script.finish().await;
    }
}

#[tokio::test]
async fn python_over_tls() {
    let Some(py) = python() else { return };
    let config = GatewayConfig {
        tls: Some(TlsConfig {
            cert_path: fixture("server.crt"),
            key_path: fixture("server.key"),
        }),
        ..test_config()
    };
    let gw = start(config).await;
    let lines = run(&py, &gw, "PYTLS", PASSWORD, "1.6", "boot").await;
    assert_eq!(field(&lines, "boot")["status"], "Accepted");
    let lines = run(&py, &gw, "PYTLS", "nope", "2.0.1", "auth").await;
    assert_eq!(field(&lines, "rejected"), 401);
}
