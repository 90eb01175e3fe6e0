//! Outbound OCPI calls: forwarding a request to a party ([`Forwarder`], the hot path of every
//! routed request), and the other calls (registration, versions, deliveries) with reqwest.

use crate::reply::{X_CORRELATION_ID, X_REQUEST_ID};
use crate::state::AppState;
use bytes::Bytes;
use hub_core::ocpi::Envelope;
use hub_core::token;

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("timed out")]
    Timeout,
    #[error("connection problem: {0}")]
    Connection(String),
    #[error("{0}")]
    Other(String),
}

/// A party's raw answer.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn envelope(&self) -> Option<Envelope> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Sends one request to a party. `headers` are sent as given plus Authorization (the client
/// token, encoded for `ocpi_version`) and a fresh X-Request-ID.
pub async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    client_token: &str,
    ocpi_version: &str,
    headers: &[(String, String)],
    body: Option<Bytes>,
) -> Result<Answer, CallError> {
    let mut req = http
        .request(method, url)
        .header("Authorization", token::authorization_header(client_token, ocpi_version))
        .header(X_REQUEST_ID, uuid::Uuid::new_v4().to_string());
    let mut has_correlation = false;
    for (k, v) in headers {
        has_correlation |= k.eq_ignore_ascii_case(X_CORRELATION_ID);
        req = req.header(k.as_str(), v.as_str());
    }
    if !has_correlation {
        req = req.header(X_CORRELATION_ID, uuid::Uuid::new_v4().to_string());
    }
    if let Some(body) = body {
        req = req.header("Content-Type", "application/json").body(body);
    }
    let mut resp = req.send().await.map_err(classify)?;
    let status = resp.status().as_u16();
    let headers = std::mem::take(resp.headers_mut());
    let body = resp.bytes().await.map_err(classify)?;
    Ok(Answer { status, headers, body })
}

fn classify(e: reqwest::Error) -> CallError {
    if e.is_timeout() {
        CallError::Timeout
    } else if e.is_connect() || e.is_request() || e.is_body() {
        CallError::Connection(e.to_string())
    } else {
        CallError::Other(e.to_string())
    }
}

/// GETs an OCPI configuration URL (versions, version details) and returns its `data`.
pub async fn get_data(state: &AppState, url: &str, token: &str, version: &str) -> Result<serde_json::Value, String> {
    let answer = call(&state.http, reqwest::Method::GET, url, token, version, &[], None)
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !(200..300).contains(&answer.status) {
        return Err(format!("GET {url}: HTTP {}", answer.status));
    }
    let env = answer.envelope().ok_or_else(|| format!("GET {url}: not an OCPI response"))?;
    if env.status_code != hub_core::ocpi::status::SUCCESS {
        return Err(format!("GET {url}: OCPI status {}", env.status_code));
    }
    env.data.ok_or_else(|| format!("GET {url}: no data"))
}

// ---------------------------------------------------------------------------------------------
// The forwarding client

type HyperClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<Bytes>,
>;

/// The client that forwards routed requests, one per actix worker: hyper's pooled HTTP/1.1
/// client over rustls (https, with the platform's trust store) or plain TCP (http).
///
/// Routed requests are the hub's hot path, and reqwest's conveniences cost there: it parses
/// every URL with the WHATWG parser (IDNA included), clones its connector stack per request and
/// follows redirects. The forwarder parses the URL as a plain `http::Uri` and relays a
/// receiver's redirect instead of following it (the requester decides, as with a direct call).
#[derive(Clone)]
pub struct Forwarder {
    client: HyperClient,
    timeout: std::time::Duration,
}

impl Forwarder {
    /// `timeout` bounds a whole exchange (connect, send, receive the body).
    pub fn new(timeout: std::time::Duration, connect_timeout: std::time::Duration) -> Result<Forwarder, String> {
        use rustls_platform_verifier::BuilderVerifierExt;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS versions: {e}"))?
            .with_platform_verifier()
            .map_err(|e| format!("platform certificate verifier: {e}"))?
            .with_no_client_auth();
        let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(256)
            .pool_idle_timeout(std::time::Duration::from_secs(90))
            .build(connector);
        Ok(Forwarder { client, timeout })
    }

    /// Sends one request to a party: `headers` as given plus Authorization (the client token,
    /// encoded for `ocpi_version`), a fresh X-Request-ID and, unless given, an X-Correlation-ID.
    pub async fn call(
        &self,
        method: &str,
        url: &str,
        client_token: &str,
        ocpi_version: &str,
        headers: &[(String, String)],
        body: Option<Bytes>,
    ) -> Result<Answer, CallError> {
        use http_body_util::BodyExt;
        use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
        let method = hyper::Method::from_bytes(method.as_bytes()).map_err(|e| CallError::Other(format!("method {method}: {e}")))?;
        let uri: hyper::Uri = url.parse().map_err(|e| CallError::Other(format!("URL {url}: {e}")))?;
        let mut req = hyper::Request::new(http_body_util::Full::new(body.clone().unwrap_or_default()));
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        let h = req.headers_mut();
        let value = |v: &str| HeaderValue::from_str(v).map_err(|_| CallError::Other("a header value is not valid HTTP".into()));
        h.insert(AUTHORIZATION, value(&hub_core::token::authorization_header(client_token, ocpi_version))?);
        h.insert(HeaderName::from_static(X_REQUEST_ID_LC), value(&uuid::Uuid::new_v4().to_string())?);
        let mut has_correlation = false;
        for (k, v) in headers {
            has_correlation |= k.eq_ignore_ascii_case(X_CORRELATION_ID);
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| CallError::Other(format!("header name {k}")))?;
            h.append(name, value(v)?);
        }
        if !has_correlation {
            h.insert(HeaderName::from_static(X_CORRELATION_ID_LC), value(&uuid::Uuid::new_v4().to_string())?);
        }
        if body.is_some() {
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let exchange = async {
            let resp = self.client.request(req).await.map_err(classify_hyper)?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.map_err(|e| CallError::Connection(format!("reading the answer: {e}")))?.to_bytes();
            Ok(Answer { status: parts.status.as_u16(), headers: parts.headers, body })
        };
        tokio::time::timeout(self.timeout, exchange).await.map_err(|_| CallError::Timeout)?
    }
}

const X_REQUEST_ID_LC: &str = "x-request-id";
const X_CORRELATION_ID_LC: &str = "x-correlation-id";

fn classify_hyper(e: hyper_util::client::legacy::Error) -> CallError {
    // A connect error (refused, unreachable, TLS handshake) and a connection lost mid-exchange
    // are both the receiver's connection problem (OCPI 4003); the timeout is handled around.
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    CallError::Connection(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused connection is a connection problem; an unparsable URL is not.
    #[tokio::test]
    async fn forwarder_errors() {
        let f = Forwarder::new(std::time::Duration::from_secs(2), std::time::Duration::from_secs(1)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        match f.call("GET", &format!("http://127.0.0.1:{port}/x"), "t", "2.2.1", &[], None).await {
            Err(CallError::Connection(m)) => assert!(!m.is_empty()),
            other => panic!("expected a connection problem, got {:?}", other.map(|a| a.status)),
        }
        assert!(matches!(f.call("GET", "not a url", "t", "2.2.1", &[], None).await, Err(CallError::Other(_))));
    }

    /// Headers, token and body reach the receiver; its status, headers and body come back (a
    /// redirect relayed, not followed); a receiver that does not answer in time is a timeout.
    #[tokio::test]
    async fn forwarder_round_trip_and_timeout() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<String>();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !String::from_utf8_lossy(&got).contains("{\"a\":1}") {
                let n = sock.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
                got.extend_from_slice(&buf[..n]);
            }
            let _ = seen_tx.send(String::from_utf8_lossy(&got).to_string());
            let body = "{\"status_code\":1000,\"timestamp\":\"2026-11-21T10:00:00Z\"}";
            let resp = format!("HTTP/1.1 302 Found\r\nLocation: http://elsewhere/\r\nX-Total-Count: 7\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            sock.write_all(resp.as_bytes()).await.unwrap();
            // Another connection, never answered.
            let (_idle, _) = listener.accept().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        });
        let f = Forwarder::new(std::time::Duration::from_millis(500), std::time::Duration::from_secs(1)).unwrap();
        let headers = vec![("OCPI-from-party-id".to_string(), "EMS".to_string()), (X_CORRELATION_ID.to_string(), "corr-1".to_string())];
        let a = f.call("POST", &format!("http://{addr}/ocpi/x"), "tok", "2.1.1", &headers, Some(Bytes::from_static(b"{\"a\":1}"))).await.unwrap();
        assert_eq!(a.status, 302, "a redirect is relayed, not followed");
        assert_eq!(a.headers.get("x-total-count").unwrap(), "7");
        assert_eq!(a.envelope().unwrap().status_code, 1000);
        let seen = seen_rx.await.unwrap().to_ascii_lowercase();
        assert!(seen.starts_with("post /ocpi/x http/1.1"), "{seen}");
        assert!(seen.contains("authorization: token tok\r\n"), "2.1.1: the raw token: {seen}");
        assert!(seen.contains("ocpi-from-party-id: ems"), "{seen}");
        assert!(seen.contains("x-correlation-id: corr-1") && seen.contains("x-request-id: "), "{seen}");
        assert!(seen.contains("content-type: application/json") && seen.contains(&format!("host: {addr}")), "{seen}");
        // A fresh client opens a new connection, which the server never answers.
        let f2 = Forwarder::new(std::time::Duration::from_millis(300), std::time::Duration::from_secs(1)).unwrap();
        assert!(matches!(f2.call("GET", &format!("http://{addr}/slow"), "tok", "2.2.1", &[], None).await, Err(CallError::Timeout)));
        server.abort();
        let _ = server.await;
    }
}
