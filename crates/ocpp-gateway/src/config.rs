//! Configuration of the OCPP gateway (the `ocpp.*` section of the hub configuration).
//!
//! Every field has a default, so an empty section is valid. Durations are integers in
//! milliseconds, like the rest of the hub configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::version::OcppVersion;

/// TLS (OCPP security profile 2) from PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TlsConfig {
    /// PEM file with the server certificate chain (leaf first).
    pub cert_path: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_path: PathBuf,
}

/// Gateway settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct GatewayConfig {
    /// Listen address of the websocket server.
    pub listen: SocketAddr,
    /// URL path prefix; chargers connect to `{path_prefix}/{charger_id}`.
    pub path_prefix: String,
    /// Protocol versions offered (by default 1.6 and 2.0.1).
    pub versions: Vec<OcppVersion>,
    /// Serve `wss://` with these files instead of `ws://`.
    pub tls: Option<TlsConfig>,
    /// Connections (including those still in the handshake) this process accepts at most; beyond
    /// it new connections get HTTP 503. Keep it below the file descriptor limit.
    pub max_connections: usize,
    /// Time allowed for the TLS and HTTP upgrade handshakes, authentication included.
    pub handshake_timeout_ms: u64,
    /// A websocket ping is sent at this interval; 0 disables pings and the dead-peer check.
    pub ping_interval_ms: u64,
    /// A connection from which nothing (not even a pong) arrived for `ping_interval_ms +
    /// pong_timeout_ms` is closed as dead.
    pub pong_timeout_ms: u64,
    /// Time a charger has to answer an outbound CALL.
    pub call_timeout_ms: u64,
    /// Time allowed to write one frame before the connection is closed.
    pub write_timeout_ms: u64,
    /// Largest websocket message (and frame) accepted, in bytes.
    pub max_message_size: usize,
    /// Bytes read from the socket at a time: the websocket read buffer every connection keeps.
    /// OCPP messages are mostly a few hundred bytes; a larger message grows the buffer as
    /// needed. Idle memory per connection is dominated by this (see `transport::ws_config`).
    pub read_buffer_size: usize,
    /// Outbound CALLs queued per charger behind the one in flight; beyond it
    /// [`CallError::QueueFull`](crate::CallError::QueueFull).
    pub max_queued_calls: usize,
    /// Incoming CALLs queued per charger behind the one being handled (chargers should send one at
    /// a time); beyond it the CALL gets a `GenericError`.
    pub max_pending_incoming: usize,
    /// Answers to recent incoming CALLs kept per connection to answer a repeated message id (a
    /// charger repeats the CALL it got no answer to: its last one or two).
    pub recent_answers: usize,
    /// How long a replacing connection waits for the replaced one to finish its disconnect.
    pub replace_wait_ms: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8180)),
            path_prefix: "/ocpp".to_owned(),
            versions: vec![OcppVersion::V16, OcppVersion::V201],
            tls: None,
            max_connections: 10_000,
            handshake_timeout_ms: 10_000,
            ping_interval_ms: 30_000,
            pong_timeout_ms: 30_000,
            call_timeout_ms: 30_000,
            write_timeout_ms: 10_000,
            max_message_size: 64 * 1024,
            read_buffer_size: 1024,
            max_queued_calls: 16,
            max_pending_incoming: 4,
            recent_answers: 2,
            replace_wait_ms: 5_000,
        }
    }
}

impl GatewayConfig {
    pub(crate) fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms.max(1))
    }

    pub(crate) fn ping_interval(&self) -> Option<Duration> {
        (self.ping_interval_ms > 0).then(|| Duration::from_millis(self.ping_interval_ms))
    }

    pub(crate) fn pong_timeout(&self) -> Duration {
        Duration::from_millis(self.pong_timeout_ms)
    }

    pub(crate) fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms.max(1))
    }

    pub(crate) fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms.max(1))
    }

    pub(crate) fn replace_wait(&self) -> Duration {
        Duration::from_millis(self.replace_wait_ms)
    }

    /// The path prefix without a trailing slash, always starting with one.
    pub(crate) fn normalized_prefix(&self) -> String {
        let trimmed = self.path_prefix.trim_end_matches('/');
        if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_section_is_the_default() {
        let c: GatewayConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, GatewayConfig::default());
        let c: GatewayConfig =
            serde_json::from_str(r#"{"listen":"0.0.0.0:9000","versions":["1.6"],"tls":{"cert_path":"a","key_path":"b"}}"#)
                .unwrap();
        assert_eq!(c.versions, vec![OcppVersion::V16]);
        assert_eq!(c.tls.unwrap().key_path, PathBuf::from("b"));
        assert_eq!(
            GatewayConfig {
                path_prefix: "ocpp/".into(),
                ..Default::default()
            }
            .normalized_prefix(),
            "/ocpp"
        );
        assert_eq!(
            GatewayConfig {
                path_prefix: "/".into(),
                ..Default::default()
            }
            .normalized_prefix(),
            ""
        );
    }
}
