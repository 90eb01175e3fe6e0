//! Outbound OCPI calls: forwarding a request to a party, and fetching a party's versions.

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
