//! The websocket transport: listener, accept loop, TLS (security profile 2, rustls), the HTTP
//! upgrade with subprotocol negotiation and authentication *before* the upgrade, and the
//! websocket settings. Everything after the upgrade is in `connection.rs`.
//!
//! Chargers connect to `ws[s]://{listen}{path_prefix}/{charger_id}` (default prefix `/ocpp`).
//! The upgrade request is read and answered here (not by tungstenite's handshake) so that the
//! asynchronous [`ChargerAuth`] can run before anything is upgraded. Answers, in the order checked:
//!
//! | condition | status |
//! |---|---|
//! | connection cap reached | 503 (`Retry-After`), plain listeners only; TLS connections are dropped |
//! | request head larger than 8 KiB | 431 |
//! | not an HTTP request | 400 |
//! | method not GET | 405 |
//! | path not `{prefix}/{id}` | 404 |
//! | charger id empty, longer than 48 characters, or with control characters | 400 |
//! | not a websocket upgrade (`Upgrade`, `Connection`, `Sec-WebSocket-Key`, version 13) | 400 |
//! | no offered subprotocol is a configured OCPP version | 400 |
//! | Basic username is not the charger id | 401 |
//! | [`AuthResult::UnknownCharger`] / [`AuthResult::BadCredentials`] / [`AuthResult::Unavailable`] | 404 / 401 / 503 |
//!
//! The subprotocol is the first one in the client's list that the gateway offers. Websocket
//! settings: read buffer `read_buffer_size` (1 KiB), no write buffer (each frame is flushed),
//! message and frame size capped at `max_message_size`. The accept loop backs off (5 ms doubling to 1 s) when the
//! process runs out of file descriptors (EMFILE/ENFILE) or socket buffers. The listen backlog is
//! [`LISTEN_BACKLOG`] (the kernel caps it at `net.core.somaxconn`), so that the SYNs of thousands
//! of chargers reconnecting at once are queued rather than dropped.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tracing::{debug, info, warn};

use crate::auth::{AuthResult, BasicAuth, ChargerAuth};
use crate::config::{GatewayConfig, TlsConfig};
use crate::connection;
use crate::gateway::{Gateway, GatewayInner};
use crate::handler::{Handler, Session};
use crate::version::OcppVersion;

/// Largest HTTP upgrade request head accepted.
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// Longest charger id accepted (the OCPP 2.0.1 identity limit).
pub const MAX_CHARGER_ID_LEN: usize = 48;
const MAX_HEADERS: usize = 32;

/// Binds `config.listen` and serves until [`Gateway::shutdown`] (of a gateway you cannot reach
/// here: use [`Gateway::new`] and [`Gateway::serve`] to keep a handle for outbound calls).
pub async fn serve(
    config: GatewayConfig,
    auth: Arc<dyn ChargerAuth>,
    handler: Arc<dyn Handler>,
) -> io::Result<()> {
    Gateway::new(config).serve(auth, handler).await
}

impl Gateway {
    /// Binds `config.listen` and serves until [`Gateway::shutdown`]. Fails at once if the
    /// address cannot be bound or the TLS files cannot be loaded.
    pub async fn serve(
        &self,
        auth: Arc<dyn ChargerAuth>,
        handler: Arc<dyn Handler>,
    ) -> io::Result<()> {
        let listener = bind(self.inner.config.listen)?;
        self.serve_listener(listener, auth, handler).await
    }

    /// Serves on an already bound listener (tests bind port 0 and read the address first).
    pub async fn serve_listener(
        &self,
        listener: TcpListener,
        auth: Arc<dyn ChargerAuth>,
        handler: Arc<dyn Handler>,
    ) -> io::Result<()> {
        let inner = self.inner.clone();
        let tls = inner.config.tls.as_ref().map(tls_acceptor).transpose()?;
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        info!(addr = %listener.local_addr()?, scheme, prefix = %inner.config.normalized_prefix(), "OCPP gateway listening");
        let mut shutdown_rx = inner.shutdown.subscribe();
        let mut backoff = Duration::ZERO;
        let rejecters = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_REJECTIONS));
        loop {
            let accepted = tokio::select! {
                _ = shutdown_rx.wait_for(|stop| *stop) => break,
                r = listener.accept() => r,
            };
            match accepted {
                Ok((stream, addr)) => {
                    backoff = Duration::ZERO;
                    let Ok(permit) = inner.connection_slots.clone().try_acquire_owned() else {
                        debug!(%addr, "connection cap reached, rejected");
                        // Answer 503 from a short-lived task (bounded in number and time) that
                        // first reads the request, so the close does not reset the answer away.
                        if tls.is_none()
                            && let Ok(reject_permit) = rejecters.clone().try_acquire_owned()
                        {
                            tokio::spawn(async move {
                                let _ = tokio::time::timeout(
                                    Duration::from_millis(500),
                                    reject_over_cap(stream),
                                )
                                .await;
                                drop(reject_permit);
                            });
                        }
                        continue;
                    };
                    let (inner, tls, auth, handler) =
                        (inner.clone(), tls.clone(), auth.clone(), handler.clone());
                    tokio::spawn(async move {
                        handle_connection(inner, stream, addr, tls, auth, handler).await;
                        drop(permit);
                    });
                }
                Err(e) if is_resource_exhaustion(&e) => {
                    backoff = next_backoff(backoff);
                    warn!(error = %e, ?backoff, "out of file descriptors or buffers; accept paused");
                    tokio::time::sleep(backoff).await;
                }
                Err(e) => {
                    // Per-connection failures (aborted before accept, ...): keep going.
                    debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
        // Shutdown: the connections see the same signal and close themselves.
        Ok(())
    }
}

/// Listen backlog asked for (the kernel caps it at `net.core.somaxconn`). Tokio's default of
/// 1024 overflows when thousands of chargers reconnect at once: the dropped SYNs are retried by
/// the chargers only after a second or more.
pub const LISTEN_BACKLOG: u32 = 65_535;

/// Binds `addr` with [`LISTEN_BACKLOG`] (and `SO_REUSEADDR`, as tokio's `TcpListener::bind`).
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Over the cap, at most this many connections at a time get an HTTP 503; the rest are dropped.
const MAX_CONCURRENT_REJECTIONS: usize = 64;

async fn reject_over_cap(mut stream: TcpStream) {
    let _ = read_head(&mut stream).await;
    let r = Reject::new(503, "connection limit reached, retry later");
    reject(&mut stream, &r).await;
}

/// Whether an accept error means the process or system is out of descriptors or memory.
pub(crate) fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// 5 ms, doubling, at most 1 s.
pub(crate) fn next_backoff(previous: Duration) -> Duration {
    if previous.is_zero() {
        Duration::from_millis(5)
    } else {
        (previous * 2).min(Duration::from_secs(1))
    }
}

/// Loads the certificate chain and key into a rustls acceptor (ring provider, TLS 1.2 and 1.3).
pub(crate) fn tls_acceptor(cfg: &TlsConfig) -> io::Result<TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |what: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} {}: {e}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(&cfg.cert_path)
        .map_err(|e| invalid("cannot read certificates from", &cfg.cert_path, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("bad certificate in", &cfg.cert_path, &e))?;
    if certs.is_empty() {
        return Err(invalid("no certificate in", &cfg.cert_path, &"empty"));
    }
    let key = PrivateKeyDer::from_pem_file(&cfg.key_path)
        .map_err(|e| invalid("cannot read private key from", &cfg.key_path, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("TLS setup for", &cfg.cert_path, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("certificate/key mismatch in", &cfg.cert_path, &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The byte stream under a websocket: plain TCP or TLS.
pub enum GatewayStream {
    /// `ws://`
    Plain(TcpStream),
    /// `wss://`
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for GatewayStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            GatewayStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            GatewayStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for GatewayStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            GatewayStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            GatewayStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            GatewayStream::Plain(s) => Pin::new(s).poll_flush(cx),
            GatewayStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            GatewayStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            GatewayStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The websocket settings (see dependencies.md: default buffers cost ~136 KB per connection).
pub(crate) fn ws_config(cfg: &GatewayConfig) -> WebSocketConfig {
    let max = cfg.max_message_size.max(1024);
    WebSocketConfig::default()
        .read_buffer_size(cfg.read_buffer_size.max(256))
        .write_buffer_size(0)
        .max_write_buffer_size(max * 2 + 1024)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// An HTTP answer refusing the upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reject {
    pub status: u16,
    pub reason: &'static str,
    pub extra_headers: &'static str,
    pub body: String,
}

impl Reject {
    fn new(status: u16, body: impl Into<String>) -> Reject {
        let reason = match status {
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            405 => "Method Not Allowed",
            431 => "Request Header Fields Too Large",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let extra_headers = match status {
            401 => "WWW-Authenticate: Basic realm=\"OCPP\", charset=\"UTF-8\"\r\n",
            405 => "Allow: GET\r\n",
            503 => "Retry-After: 30\r\n",
            _ => "",
        };
        Reject {
            status,
            reason,
            extra_headers,
            body: body.into(),
        }
    }

    fn to_http(&self) -> String {
        format!(
            "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n{}",
            self.status,
            self.reason,
            self.body.len(),
            self.extra_headers,
            self.body
        )
    }
}

/// A well-formed upgrade request, before authentication.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Upgrade {
    pub charger_id: String,
    pub version: OcppVersion,
    pub key: String,
    pub basic_auth: Option<BasicAuth>,
}

fn header_has_token(value: &[u8], token: &str) -> bool {
    std::str::from_utf8(value)
        .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// Checks a complete request head (everything before the upgrade except authentication).
pub(crate) fn parse_upgrade(
    head: &[u8],
    prefix: &str,
    versions: &[OcppVersion],
) -> Result<Upgrade, Reject> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(Reject::new(400, "incomplete request")),
        Err(httparse::Error::TooManyHeaders) => return Err(Reject::new(431, "too many headers")),
        Err(e) => return Err(Reject::new(400, format!("malformed request: {e}"))),
    }
    if req.method != Some("GET") {
        return Err(Reject::new(405, "only GET upgrades to a websocket"));
    }
    let target = req.path.unwrap_or("");
    let path = target.split(['?', '#']).next().unwrap_or("");
    let raw_id = path
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| Reject::new(404, format!("connect to {prefix}/{{charger_id}}")))?;
    let charger_id = percent_encoding::percent_decode_str(raw_id)
        .decode_utf8()
        .map_err(|_| Reject::new(400, "charger id is not UTF-8"))?
        .into_owned();
    if charger_id.is_empty()
        || charger_id.chars().count() > MAX_CHARGER_ID_LEN
        || charger_id.chars().any(|c| c.is_control() || c == '/')
    {
        return Err(Reject::new(
            400,
            format!("invalid charger id (1 to {MAX_CHARGER_ID_LEN} printable characters)"),
        ));
    }

    let mut upgrade = false;
    let mut connection_upgrade = false;
    let mut ws_version_13 = false;
    let mut key = None;
    let mut offered: Vec<&str> = Vec::new();
    let mut authorization = None;
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade |= header_has_token(h.value, "websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection_upgrade |= header_has_token(h.value, "upgrade");
        } else if name.eq_ignore_ascii_case("sec-websocket-version") {
            ws_version_13 |= h.value.trim_ascii() == b"13";
        } else if name.eq_ignore_ascii_case("sec-websocket-key") {
            key = std::str::from_utf8(h.value)
                .ok()
                .map(|k| k.trim().to_owned())
                .filter(|k| !k.is_empty());
        } else if name.eq_ignore_ascii_case("sec-websocket-protocol") {
            if let Ok(v) = std::str::from_utf8(h.value) {
                offered.extend(v.split(',').map(str::trim).filter(|t| !t.is_empty()));
            }
        } else if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(h.value);
        }
    }
    if !(upgrade && connection_upgrade) {
        return Err(Reject::new(400, "not a websocket upgrade request"));
    }
    if !ws_version_13 {
        return Err(Reject::new(400, "Sec-WebSocket-Version must be 13"));
    }
    let Some(key) = key else {
        return Err(Reject::new(400, "Sec-WebSocket-Key missing"));
    };
    let version = offered
        .iter()
        .filter_map(|t| OcppVersion::from_subprotocol(t))
        .find(|v| versions.contains(v))
        .ok_or_else(|| {
            let supported: Vec<&str> = versions.iter().map(|v| v.subprotocol()).collect();
            Reject::new(
                400,
                format!(
                    "no supported OCPP subprotocol offered (supported: {})",
                    supported.join(", ")
                ),
            )
        })?;
    let basic_auth = authorization.and_then(BasicAuth::from_header);
    if authorization.is_some() && basic_auth.is_none() {
        return Err(Reject::new(
            401,
            "unreadable Authorization header (expected Basic)",
        ));
    }
    if basic_auth
        .as_ref()
        .is_some_and(|b| b.username != charger_id)
    {
        return Err(Reject::new(
            401,
            "the Basic username must be the charger id",
        ));
    }
    Ok(Upgrade {
        charger_id,
        version,
        key,
        basic_auth,
    })
}

/// Reads the request head. Returns the bytes read and the length of the head in them.
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> io::Result<Result<(Vec<u8>, usize), Reject>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed during the HTTP request",
            ));
        }
        let scan_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf[scan_from..].windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(Ok((buf, scan_from + pos + 4)));
        }
        if buf.len() > MAX_REQUEST_HEAD {
            return Ok(Err(Reject::new(431, "request head too large")));
        }
    }
}

async fn reject<S: AsyncWrite + Unpin>(stream: &mut S, r: &Reject) {
    let _ = stream.write_all(r.to_http().as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Outcome of the handshake phase.
struct Accepted {
    stream: GatewayStream,
    leftover: Vec<u8>,
    upgrade: Upgrade,
}

async fn handshake(
    inner: &GatewayInner,
    tcp: TcpStream,
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    auth: &dyn ChargerAuth,
) -> io::Result<Option<Accepted>> {
    let mut stream = match tls {
        Some(acceptor) => GatewayStream::Tls(Box::new(acceptor.accept(tcp).await?)),
        None => GatewayStream::Plain(tcp),
    };
    let (buf, head_len) = match read_head(&mut stream).await? {
        Ok(read) => read,
        Err(r) => {
            reject(&mut stream, &r).await;
            return Ok(None);
        }
    };
    let prefix = inner.config.normalized_prefix();
    let upgrade = match parse_upgrade(&buf[..head_len], &prefix, &inner.config.versions) {
        Ok(u) => u,
        Err(r) => {
            info!(%addr, status = r.status, reason = %r.body, "upgrade refused");
            reject(&mut stream, &r).await;
            return Ok(None);
        }
    };
    let verdict = auth
        .check(&upgrade.charger_id, upgrade.basic_auth.as_ref())
        .await;
    let refusal = match verdict {
        AuthResult::Accepted => None,
        AuthResult::UnknownCharger => Some(Reject::new(404, "unknown charger")),
        AuthResult::BadCredentials => Some(Reject::new(401, "wrong or missing credentials")),
        AuthResult::Unavailable => {
            Some(Reject::new(503, "authentication unavailable, retry later"))
        }
    };
    if let Some(r) = refusal {
        info!(%addr, charger = %upgrade.charger_id, status = r.status, "charger refused");
        reject(&mut stream, &r).await;
        return Ok(None);
    }
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {}\r\n\r\n",
        derive_accept_key(upgrade.key.as_bytes()),
        upgrade.version.subprotocol()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.flush().await?;
    let leftover = buf[head_len..].to_vec();
    Ok(Some(Accepted {
        stream,
        leftover,
        upgrade,
    }))
}

async fn handle_connection(
    inner: Arc<GatewayInner>,
    tcp: TcpStream,
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    auth: Arc<dyn ChargerAuth>,
    handler: Arc<dyn Handler>,
) {
    let _ = tcp.set_nodelay(true);
    let is_tls = tls.is_some();
    // Boxed: the handshake's state (TLS, the request head) is freed once it is done instead of
    // staying part of the task that then runs for the connection's whole life.
    let accepted = Box::pin(tokio::time::timeout(
        inner.config.handshake_timeout(),
        handshake(&inner, tcp, addr, tls, auth.as_ref()),
    ))
    .await;
    let Accepted {
        stream,
        leftover,
        upgrade,
    } = match accepted {
        Ok(Ok(Some(a))) => a,
        Ok(Ok(None)) => return,
        Ok(Err(e)) => {
            debug!(%addr, error = %e, "handshake failed");
            return;
        }
        Err(_) => {
            debug!(%addr, "handshake timed out");
            return;
        }
    };
    let ws = WebSocketStream::from_partially_read(
        stream,
        leftover,
        Role::Server,
        Some(ws_config(&inner.config)),
    )
    .await;
    let session = Session {
        charger_id: upgrade.charger_id.into(),
        version: upgrade.version,
        connection_id: inner.next_connection_id(),
        remote_addr: addr,
        tls: is_tls,
    };
    connection::run(inner, ws, session, handler).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The connection task's future is held for the whole life of every connection: its size is
    /// part of the memory each of 19 000 idle chargers costs. Prints the sizes and guards them.
    #[tokio::test]
    async fn connection_task_is_small() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let gw = Gateway::new(GatewayConfig::default());
        let auth: Arc<dyn ChargerAuth> = Arc::new(crate::auth::StaticAuth::new());
        let handler: Arc<dyn Handler> = Arc::new(crate::handler::EchoBootHandler);
        let task = handle_connection(gw.inner.clone(), tcp, addr, None, auth, handler);
        let task_size = std::mem::size_of_val(&task);
        let ws_size = std::mem::size_of::<crate::connection::Ws>();
        let (tcp2, _) = listener.accept().await.unwrap();
        let static_auth = crate::auth::StaticAuth::new();
        let hs = handshake(&gw.inner, tcp2, addr, None, &static_auth);
        let hs_size = std::mem::size_of_val(&hs);
        drop(hs);
        let tcp3 = TcpStream::connect(addr).await.unwrap();
        let ws = WebSocketStream::from_raw_socket(GatewayStream::Plain(tcp3), Role::Server, None).await;
        let session = Session { charger_id: "X".into(), version: OcppVersion::V16, connection_id: 1, remote_addr: addr, tls: false };
        let run = connection::run(gw.inner.clone(), ws, session, Arc::new(crate::handler::EchoBootHandler));
        let run_size = std::mem::size_of_val(&run);
        drop(run);
        eprintln!("connection task future: {task_size} bytes (handshake {hs_size}, run {run_size}); websocket stream: {ws_size} bytes");
        assert!(task_size <= 2560, "connection task future grew to {task_size} bytes");
        drop(task);
    }

    const BOTH: [OcppVersion; 2] = [OcppVersion::V16, OcppVersion::V201];

    fn request(path: &str, extra: &str) -> Vec<u8> {
        format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
        )
        .into_bytes()
    }

    fn status(r: Result<Upgrade, Reject>) -> u16 {
        r.map(|_| 101).unwrap_or_else(|r| r.status)
    }

    #[test]
    fn negotiates_the_first_offered_supported_subprotocol() {
        let u = parse_upgrade(
            &request(
                "/ocpp/CP1",
                "Sec-WebSocket-Protocol: ocpp2.1, ocpp2.0.1, ocpp1.6\r\n",
            ),
            "/ocpp",
            &BOTH,
        )
        .unwrap();
        assert_eq!(
            (u.charger_id.as_str(), u.version),
            ("CP1", OcppVersion::V201)
        );
        let u = parse_upgrade(
            &request(
                "/ocpp/CP1",
                "Sec-WebSocket-Protocol: ocpp1.6\r\nSec-WebSocket-Protocol: ocpp2.0.1\r\n",
            ),
            "/ocpp",
            &BOTH,
        )
        .unwrap();
        assert_eq!(u.version, OcppVersion::V16);
        let u = parse_upgrade(
            &request(
                "/ocpp/CP1",
                "Sec-WebSocket-Protocol: ocpp1.6, ocpp2.0.1\r\n",
            ),
            "/ocpp",
            &[OcppVersion::V201],
        )
        .unwrap();
        assert_eq!(u.version, OcppVersion::V201);
        assert_eq!(
            status(parse_upgrade(
                &request("/ocpp/CP1", "Sec-WebSocket-Protocol: ocpp2.1\r\n"),
                "/ocpp",
                &BOTH
            )),
            400
        );
        assert_eq!(
            status(parse_upgrade(&request("/ocpp/CP1", ""), "/ocpp", &BOTH)),
            400
        );
        assert_eq!(
            status(parse_upgrade(
                &request("/ocpp/CP1", "Sec-WebSocket-Protocol: ocpp1.6\r\n"),
                "/ocpp",
                &[OcppVersion::V201]
            )),
            400
        );
    }

    #[test]
    fn paths_and_ids() {
        let p = "Sec-WebSocket-Protocol: ocpp1.6\r\n";
        let u = parse_upgrade(&request("/ocpp/CP%201?x=1", p), "/ocpp", &BOTH).unwrap();
        assert_eq!(u.charger_id, "CP 1");
        assert_eq!(
            status(parse_upgrade(&request("/ocpp/", p), "/ocpp", &BOTH)),
            404
        );
        assert_eq!(
            status(parse_upgrade(&request("/ocpp", p), "/ocpp", &BOTH)),
            404
        );
        assert_eq!(
            status(parse_upgrade(&request("/other/CP1", p), "/ocpp", &BOTH)),
            404
        );
        assert_eq!(
            status(parse_upgrade(&request("/ocpp/a/b", p), "/ocpp", &BOTH)),
            404
        );
        assert_eq!(
            status(parse_upgrade(&request("/ocppx/CP1", p), "/ocpp", &BOTH)),
            404
        );
        assert_eq!(
            status(parse_upgrade(
                &request(&format!("/ocpp/{}", "x".repeat(49)), p),
                "/ocpp",
                &BOTH
            )),
            400
        );
        assert_eq!(
            status(parse_upgrade(&request("/ocpp/a%0Ab", p), "/ocpp", &BOTH)),
            400
        );
        assert_eq!(
            status(parse_upgrade(&request("/ocpp/a%2Fb", p), "/ocpp", &BOTH)),
            400
        );
        assert_eq!(
            status(parse_upgrade(&request("/ocpp/%FF", p), "/ocpp", &BOTH)),
            400
        );
        let u = parse_upgrade(&request("/CP1", p), "", &BOTH).unwrap();
        assert_eq!(u.charger_id, "CP1");
    }

    #[test]
    fn upgrade_headers_and_basic_auth() {
        let p = "Sec-WebSocket-Protocol: ocpp1.6\r\n";
        let post = String::from_utf8(request("/ocpp/CP1", p))
            .unwrap()
            .replacen("GET", "POST", 1);
        assert_eq!(status(parse_upgrade(post.as_bytes(), "/ocpp", &BOTH)), 405);
        let no_upgrade = String::from_utf8(request("/ocpp/CP1", p))
            .unwrap()
            .replace("Upgrade: websocket\r\n", "");
        assert_eq!(
            status(parse_upgrade(no_upgrade.as_bytes(), "/ocpp", &BOTH)),
            400
        );
        let v8 = String::from_utf8(request("/ocpp/CP1", p))
            .unwrap()
            .replace("Version: 13", "Version: 8");
        assert_eq!(status(parse_upgrade(v8.as_bytes(), "/ocpp", &BOTH)), 400);
        assert_eq!(
            status(parse_upgrade(b"garbage\r\n\r\n", "/ocpp", &BOTH)),
            400
        );

        // CP1:pw
        let ok = parse_upgrade(
            &request(
                "/ocpp/CP1",
                &format!("{p}Authorization: Basic Q1AxOnB3\r\n"),
            ),
            "/ocpp",
            &BOTH,
        )
        .unwrap();
        assert_eq!(ok.basic_auth.unwrap().password, b"pw");
        // CP2:pw for CP1
        let r = parse_upgrade(
            &request(
                "/ocpp/CP1",
                &format!("{p}Authorization: Basic Q1AyOnB3\r\n"),
            ),
            "/ocpp",
            &BOTH,
        );
        assert_eq!(status(r), 401);
        let r = parse_upgrade(
            &request("/ocpp/CP1", &format!("{p}Authorization: Bearer x\r\n")),
            "/ocpp",
            &BOTH,
        );
        assert_eq!(status(r), 401);
    }

    #[test]
    fn reject_renders_http() {
        let r = Reject::new(401, "no").to_http();
        assert!(r.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
        assert!(r.contains("WWW-Authenticate: Basic"));
        assert!(r.ends_with("\r\n\r\nno"));
    }

    #[test]
    fn backoff_and_exhaustion() {
        assert!(is_resource_exhaustion(&io::Error::from_raw_os_error(
            libc::EMFILE
        )));
        assert!(is_resource_exhaustion(&io::Error::from_raw_os_error(
            libc::ENFILE
        )));
        assert!(!is_resource_exhaustion(&io::Error::from_raw_os_error(
            libc::ECONNABORTED
        )));
        let mut b = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..12 {
            b = next_backoff(b);
            seen.push(b);
        }
        assert_eq!(seen[0], Duration::from_millis(5));
        assert_eq!(seen[1], Duration::from_millis(10));
        assert_eq!(*seen.last().unwrap(), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn head_reader_keeps_bytes_after_the_head() {
        let (mut client, mut server) = tokio::io::duplex(64);
        tokio::spawn(async move {
            client
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nEXTRA")
                .await
                .unwrap();
        });
        let (buf, len) = read_head(&mut server).await.unwrap().unwrap();
        assert_eq!(&buf[len..], b"EXTRA");
        let (mut client, mut server) = tokio::io::duplex(64);
        tokio::spawn(async move {
            let _ = client.write_all(&vec![b'a'; MAX_REQUEST_HEAD + 10]).await;
        });
        assert_eq!(
            read_head(&mut server).await.unwrap().unwrap_err().status,
            431
        );
    }
}
