//! Shared helpers of the gateway integration tests: start a gateway in-process on a free port with
//! a recording handler, and a raw websocket client (tokio-tungstenite) for byte-exact checks.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ocpp_gateway::{
    BoxFuture, CallErrorReply, DisconnectReason, EchoBootHandler, Gateway, GatewayConfig, Handler,
    Session, StaticAuth,
};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub const PASSWORD: &str = "0123456789abcdef";

/// The test charger list: CP1..CP9 with [`PASSWORD`], OPEN without password.
pub fn auth() -> Arc<StaticAuth> {
    let mut a = StaticAuth::new().without_password("OPEN");
    for i in 1..10 {
        a = a.with_password(format!("CP{i}"), PASSWORD);
    }
    for name in [
        "PY16", "PY201", "PYDUP16", "PYDUP201", "PYREP16", "PYREP201", "PYOUT16", "PYOUT201",
        "PYBAD16", "PYBAD201", "PYTLS",
    ] {
        a = a.with_password(name, PASSWORD);
    }
    Arc::new(a)
}

/// Echoes boot and heartbeat like [`EchoBootHandler`], counts calls, records connection events
/// and the last payload per action, and has a few test behaviours:
/// - `StatusNotification`, `MeterValues`: answered `{}`;
/// - `Authorize`: answered after 300 ms (`Accepted`);
/// - `FirmwareStatusNotification`: panics (a buggy business layer);
/// - `DataTransfer` with `vendorId: "callback"`: calls the charger back (`DataTransfer`) from
///   inside the handler and answers with the charger's answer data.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<String>>,
    pub counts: Mutex<HashMap<String, usize>>,
    pub payloads: Mutex<HashMap<String, Value>>,
    pub gateway: OnceLock<Gateway>,
    pub changed: Notify,
}

impl Recorder {
    pub fn count(&self, action: &str) -> usize {
        self.counts
            .lock()
            .unwrap()
            .get(action)
            .copied()
            .unwrap_or(0)
    }

    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    fn event(&self, e: String) {
        self.events.lock().unwrap().push(e);
        self.changed.notify_waiters();
    }

    /// Waits until an event satisfies `pred`.
    pub async fn wait_event(&self, pred: impl Fn(&str) -> bool) -> String {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = self.changed.notified();
                if let Some(e) = self.events().into_iter().find(|e| pred(e)) {
                    return e;
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("event not seen; events: {:?}", self.events()))
    }
}

impl Handler for Recorder {
    fn on_connect<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, ()> {
        self.event(format!(
            "connect {} #{} {}",
            session.charger_id, session.connection_id, session.version
        ));
        Box::pin(async {})
    }

    fn on_call<'a>(
        &'a self,
        session: &'a Session,
        action: &'static str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, CallErrorReply>> {
        *self
            .counts
            .lock()
            .unwrap()
            .entry(action.to_owned())
            .or_default() += 1;
        self.payloads
            .lock()
            .unwrap()
            .insert(action.to_owned(), payload.clone());
        self.changed.notify_waiters();
        Box::pin(async move {
            match action {
                "StatusNotification" | "MeterValues" => Ok(json!({})),
                "FirmwareStatusNotification" => panic!("test handler bug"),
                "Authorize" => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok(json!({"idTagInfo": {"status": "Accepted"}}))
                }
                "DataTransfer" if payload["vendorId"] == "callback" => {
                    let gw = self.gateway.get().expect("gateway set").clone();
                    let answer = gw
                        .send_call(
                            &session.charger_id,
                            "DataTransfer",
                            json!({"vendorId": "gateway"}),
                        )
                        .await
                        .map_err(|e| CallErrorReply::internal(e.to_string()))?;
                    Ok(json!({"status": "Accepted", "data": answer["data"].clone()}))
                }
                _ => EchoBootHandler::answer(session.version, action),
            }
        })
    }

    fn on_disconnect<'a>(
        &'a self,
        session: &'a Session,
        reason: DisconnectReason,
    ) -> BoxFuture<'a, ()> {
        self.event(format!(
            "disconnect {} #{} {:?}",
            session.charger_id, session.connection_id, reason
        ));
        Box::pin(async {})
    }
}

pub struct Running {
    pub gateway: Gateway,
    pub addr: SocketAddr,
    pub recorder: Arc<Recorder>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    pub fn url(&self, id: &str) -> String {
        let scheme = if self.gateway.config().tls.is_some() {
            "wss"
        } else {
            "ws"
        };
        let host = if self.gateway.config().tls.is_some() {
            "localhost"
        } else {
            "127.0.0.1"
        };
        format!("{scheme}://{host}:{}/ocpp/{id}", self.addr.port())
    }

    /// Waits until `id` is connected (or not).
    pub async fn wait_connected(&self, id: &str, connected: bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while self.gateway.is_connected(id) != connected {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{id} connected != {connected}"));
    }
}

/// A config for tests: loopback, short handshake timeout, no pings unless asked.
pub fn test_config() -> GatewayConfig {
    GatewayConfig {
        handshake_timeout_ms: 5_000,
        ping_interval_ms: 0,
        call_timeout_ms: 5_000,
        ..GatewayConfig::default()
    }
}

pub async fn start(config: GatewayConfig) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let gateway = Gateway::new(GatewayConfig {
        listen: addr,
        ..config
    });
    let recorder = Arc::new(Recorder::default());
    recorder.gateway.set(gateway.clone()).ok();
    let (g, r) = (gateway.clone(), recorder.clone());
    let task = tokio::spawn(async move { g.serve_listener(listener, auth(), r).await });
    Running {
        gateway,
        addr,
        recorder,
        task,
    }
}

/// Opens a websocket as charger `id` offering `protocols`, with Basic credentials if given.
pub async fn connect(
    running: &Running,
    id: &str,
    protocols: &str,
    password: Option<&str>,
) -> Result<(Client, Option<String>), tungstenite::Error> {
    let mut req = running.url(id).into_client_request().unwrap();
    if !protocols.is_empty() {
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(protocols).unwrap(),
        );
    }
    if let Some(pw) = password {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{pw}"));
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Basic {token}")).unwrap(),
        );
    }
    let connector = running
        .gateway
        .config()
        .tls
        .as_ref()
        .map(|_| tls_connector());
    let (ws, resp) =
        tokio_tungstenite::connect_async_tls_with_config(req, None, false, connector).await?;
    let proto = resp
        .headers()
        .get("Sec-WebSocket-Protocol")
        .map(|v| v.to_str().unwrap().to_owned());
    Ok((ws, proto))
}

/// A client trusting the test CA (`tests/fixtures/ca.crt`).
pub fn tls_connector() -> tokio_tungstenite::Connector {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(fixture("ca.crt")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_tungstenite::Connector::Rustls(Arc::new(config))
}

pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Connects `id` with the right password, expecting success.
pub async fn charger(running: &Running, id: &str, protocol: &str) -> Client {
    let (ws, proto) = connect(running, id, protocol, Some(PASSWORD))
        .await
        .expect("connect");
    assert_eq!(proto.as_deref(), Some(protocol));
    ws
}

/// The HTTP status of a refused upgrade.
pub async fn refused_status(
    running: &Running,
    id: &str,
    protocols: &str,
    password: Option<&str>,
) -> u16 {
    match connect(running, id, protocols, password).await {
        Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("connection of {id} was accepted"),
    }
}

pub async fn send(ws: &mut Client, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

pub async fn send_raw(ws: &mut Client, text: &str) {
    ws.send(Message::text(text.to_owned())).await.unwrap();
}

/// The next text message as JSON (pings/pongs skipped), within 5 s.
pub async fn recv(ws: &mut Client) -> Value {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    })
    .await
    .expect("no message within 5 s")
}

/// Asserts nothing (but pings) arrives within `d`.
pub async fn assert_silent(ws: &mut Client, d: Duration) {
    let r = tokio::time::timeout(d, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => return other,
            }
        }
    })
    .await;
    if let Ok(m) = r {
        panic!("expected silence, got {m:?}");
    }
}

/// Sends a CALL and returns the answer frame.
pub async fn call(ws: &mut Client, id: &str, action: &str, payload: Value) -> Value {
    send(ws, json!([2, id, action, payload])).await;
    recv(ws).await
}
