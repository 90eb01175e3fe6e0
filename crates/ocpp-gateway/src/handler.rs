//! The business layer's interface: the [`Handler`] trait the gateway calls for every connection
//! event and every incoming CALL, plus [`EchoBootHandler`], a minimal handler for tests.
//!
//! The trait is object-safe and needs no `async_trait`: async methods return a boxed future
//! ([`BoxFuture`]). The gateway calls, per connection:
//! 1. [`Handler::on_connect`] once, after the websocket is up (and after the connection it replaced,
//!    if any, has finished its own [`Handler::on_disconnect`]);
//! 2. for each incoming CALL, in arrival order and one at a time: [`Handler::normalize`] (sync, to
//!    repair vendor quirks), then schema validation, then [`Handler::on_call`] with the validated
//!    payload. Its `Ok` value is validated against the response schema and sent as CALLRESULT; an
//!    `Err` is sent as CALLERROR;
//! 3. [`Handler::on_disconnect`] once, if `on_connect` ran.
//!
//! Handlers may call [`Gateway::send_call`](crate::Gateway::send_call) for the same charger from
//! inside `on_call`: the connection keeps reading while the handler runs. A handler that panics
//! ends that one connection (without `on_disconnect`); the charger reconnects.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::rpc::CallErrorReply;
use crate::version::OcppVersion;

/// A boxed, sendable future, the return type of the async trait methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One websocket connection of a charger, as seen by the business layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The charger identity from the URL (`/ocpp/{charger_id}`), percent-decoded.
    pub charger_id: Arc<str>,
    /// The negotiated protocol version.
    pub version: OcppVersion,
    /// Unique per process; tells a replacing connection from the one it replaced.
    pub connection_id: u64,
    /// The peer address.
    pub remote_addr: SocketAddr,
    /// Whether the connection is TLS (security profile 2).
    pub tls: bool,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The charger closed the websocket (or the TCP connection).
    ClosedByCharger,
    /// A newer connection for the same charger replaced this one.
    Replaced,
    /// No frame (nor pong) arrived within the ping interval plus the pong timeout.
    Dead,
    /// Sending a frame took longer than the write timeout.
    WriteTimeout,
    /// The gateway is shutting down.
    Shutdown,
    /// The charger sent a message larger than `max_message_size` (websocket close 1009).
    MessageTooBig,
    /// Closed on request ([`ChargerHandle::close`](crate::ChargerHandle::close)).
    ClosedByGateway,
    /// A websocket protocol or I/O error.
    Error(String),
}

/// The business layer. Implementations must be cheap to share (`Arc<dyn Handler>`).
pub trait Handler: Send + Sync + 'static {
    /// A charger connected (websocket up, authenticated).
    fn on_connect<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, ()> {
        let _ = session;
        Box::pin(async {})
    }

    /// Repairs vendor quirks in an incoming CALL payload before schema validation. `action` is a
    /// known action of `session.version`. The built-in repairs (zone-less timestamps) have already
    /// been applied. Default: nothing.
    fn normalize(&self, session: &Session, action: &'static str, payload: &mut Value) {
        let _ = (session, action, payload);
    }

    /// An incoming CALL with a payload valid against its schema. `action` is the canonical name
    /// (a known action that the charger may send). Returns the CALLRESULT payload or a CALLERROR.
    fn on_call<'a>(
        &'a self,
        session: &'a Session,
        action: &'static str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, CallErrorReply>>;

    /// The connection ended. Outbound calls still queued for it have failed with
    /// [`CallError::Disconnected`](crate::CallError::Disconnected).
    fn on_disconnect<'a>(
        &'a self,
        session: &'a Session,
        reason: DisconnectReason,
    ) -> BoxFuture<'a, ()> {
        let _ = (session, reason);
        Box::pin(async {})
    }
}

/// A handler for tests and smoke runs: accepts every `BootNotification` (status `Accepted`,
/// interval 300 s, `currentTime` now) and answers `Heartbeat` with `currentTime`; every other
/// action gets `NotImplemented`.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoBootHandler;

/// The heartbeat interval [`EchoBootHandler`] gives in its BootNotification answers.
pub const ECHO_HEARTBEAT_INTERVAL: u64 = 300;

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl EchoBootHandler {
    /// The synchronous answer (also usable by wrapping handlers).
    pub fn answer(version: OcppVersion, action: &str) -> Result<Value, CallErrorReply> {
        match (action, version) {
            ("BootNotification", _) => Ok(
                json!({"status": "Accepted", "currentTime": now(), "interval": ECHO_HEARTBEAT_INTERVAL}),
            ),
            ("Heartbeat", _) => Ok(json!({"currentTime": now()})),
            _ => Err(CallErrorReply::not_implemented(action)),
        }
    }
}

impl Handler for EchoBootHandler {
    fn on_call<'a>(
        &'a self,
        session: &'a Session,
        action: &'static str,
        _payload: Value,
    ) -> BoxFuture<'a, Result<Value, CallErrorReply>> {
        let answer = EchoBootHandler::answer(session.version, action);
        Box::pin(async move { answer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::ErrorCode;
    use crate::schema::{self, MessageKind};

    fn session(version: OcppVersion) -> Session {
        Session {
            charger_id: "CP1".into(),
            version,
            connection_id: 1,
            remote_addr: "127.0.0.1:1".parse().unwrap(),
            tls: false,
        }
    }

    #[tokio::test]
    async fn echo_answers_validate() {
        for v in OcppVersion::ALL {
            let s = session(v);
            for action in ["BootNotification", "Heartbeat"] {
                let answer = EchoBootHandler
                    .on_call(&s, action, json!({}))
                    .await
                    .unwrap();
                schema::validate(v, action, MessageKind::Response, &answer).unwrap();
            }
            let e = EchoBootHandler
                .on_call(&s, "StatusNotification", json!({}))
                .await
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::NotImplemented);
        }
    }
}
