//! The registry of connected chargers and outbound CALLs: [`Gateway`] (cheap to clone, shared by
//! the transport and the business layer) and [`ChargerHandle`] (one live connection).
//!
//! Outbound CALLs follow OCPP's rule of one CALL in flight per direction: each connection sends
//! the next queued CALL only after the previous one was answered or timed out
//! ([`GatewayConfig::call_timeout_ms`](crate::GatewayConfig::call_timeout_ms)). The queue per
//! charger is bounded ([`GatewayConfig::max_queued_calls`](crate::GatewayConfig::max_queued_calls)).
//! A caller that stops waiting (drops the future) frees its place: its CALL is skipped if not yet
//! sent.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::sync::{Notify, Semaphore, oneshot, watch};

use crate::config::GatewayConfig;
use crate::handler::{DisconnectReason, Session};
use crate::messages::{OcppRequest, from_payload, to_payload};
use crate::rpc::{CallErrorReply, ErrorCode};
use crate::schema::{self, MessageKind};
use crate::version::OcppVersion;

/// Why an outbound CALL ([`Gateway::send_call`]) did not produce a valid CALLRESULT.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// No live connection for this charger.
    #[error("charger {0} is not connected")]
    NotConnected(String),
    /// The action does not exist in the charger's OCPP version.
    #[error("action {action} does not exist in OCPP {version}")]
    UnknownAction {
        /// The action asked for.
        action: String,
        /// The charger's version.
        version: OcppVersion,
    },
    /// The action exists but only a charger sends it (e.g. `BootNotification`).
    #[error("action {action} is sent by chargers, not by the CSMS (OCPP {version})")]
    NotACsmsAction {
        /// The action asked for.
        action: String,
        /// The charger's version.
        version: OcppVersion,
    },
    /// The payload does not match the request schema (a bug in the caller); nothing was sent.
    #[error("invalid request payload: {0}")]
    InvalidRequest(CallErrorReply),
    /// Too many CALLs already queued for this charger.
    #[error("outbound queue for the charger is full")]
    QueueFull,
    /// No answer within the call timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The charger answered with a CALLERROR.
    #[error("charger answered CALLERROR {code}: {description}")]
    Remote {
        /// The code as received.
        code: String,
        /// The description as received.
        description: String,
        /// The details as received.
        details: Value,
    },
    /// The charger's CALLRESULT does not match the response schema.
    #[error("invalid response payload: {reply}")]
    InvalidResponse {
        /// What is wrong (code and violations).
        reply: CallErrorReply,
        /// The payload as received (after quirk normalization).
        payload: Value,
    },
    /// The charger's answer was not a well-formed CALLRESULT/CALLERROR.
    #[error("malformed answer: {0}")]
    MalformedResponse(String),
    /// The connection closed before the answer arrived.
    #[error("connection closed before the answer")]
    Disconnected,
    /// A typed call ([`Gateway::call`]) for a version the charger does not speak.
    #[error("the charger speaks OCPP {actual}, the request type is OCPP {expected}")]
    WrongVersion {
        /// Version of the request type.
        expected: OcppVersion,
        /// Version of the connection.
        actual: OcppVersion,
    },
    /// A valid CALLRESULT that does not fit the typed response (should not happen: the types
    /// follow the schemas).
    #[error("response does not fit its type: {0}")]
    Decode(String),
}

impl CallError {
    /// The parsed code of a [`CallError::Remote`].
    pub fn remote_code(&self) -> Option<ErrorCode> {
        match self {
            CallError::Remote { code, .. } => ErrorCode::parse(code),
            _ => None,
        }
    }
}

/// An outbound CALL waiting in a connection's queue.
pub(crate) struct OutboundCall {
    pub action: &'static str,
    pub payload: Value,
    pub reply: oneshot::Sender<Result<Value, CallError>>,
}

/// Shared between a connection task and its handles: the close request, the queue of outbound
/// CALLs and the end signals, in one small allocation. (A tokio `watch` channel costs about
/// 0.5 KB and an `mpsc` channel about as much, nearly all of it idle: at 19 000 connections the
/// two watches and the channel this replaces were 1.5 KB of each connection's ~17 KB.)
pub(crate) struct Control {
    state: Mutex<ControlState>,
    /// Wakes the connection task: a close was asked for, or a CALL was queued.
    pub wake: Notify,
    /// Wakes [`ChargerHandle::wait_done`] callers.
    done_wake: Notify,
    /// The session loop ended; the handle is no longer usable.
    pub ended: AtomicBool,
    /// The connection task finished (on_disconnect included).
    done: AtomicBool,
    queue_cap: usize,
}

#[derive(Default)]
struct ControlState {
    close: Option<DisconnectReason>,
    calls: VecDeque<Box<OutboundCall>>,
    calls_closed: bool,
}

impl Control {
    pub(crate) fn new(queue_cap: usize) -> Control {
        Control {
            state: Mutex::new(ControlState::default()),
            wake: Notify::new(),
            done_wake: Notify::new(),
            ended: AtomicBool::new(false),
            done: AtomicBool::new(false),
            queue_cap: queue_cap.max(1),
        }
    }

    fn state(&self) -> MutexGuard<'_, ControlState> {
        // Every critical section is a single field update: a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks the connection to close (the first reason wins).
    pub(crate) fn request_close(&self, reason: DisconnectReason) {
        let mut st = self.state();
        if st.close.is_none() {
            st.close = Some(reason);
            drop(st);
            self.wake.notify_one();
        }
    }

    /// Why the connection was asked to close, if it was.
    pub(crate) fn close_reason(&self) -> Option<DisconnectReason> {
        self.state().close.clone()
    }

    /// Queues an outbound CALL behind the one in flight.
    fn push_call(&self, call: Box<OutboundCall>) -> Result<(), CallError> {
        let mut st = self.state();
        if st.calls_closed {
            return Err(CallError::Disconnected);
        }
        if st.calls.len() >= self.queue_cap {
            return Err(CallError::QueueFull);
        }
        st.calls.push_back(call);
        drop(st);
        self.wake.notify_one();
        Ok(())
    }

    /// The next queued CALL whose caller still waits.
    pub(crate) fn pop_call(&self) -> Option<Box<OutboundCall>> {
        let mut st = self.state();
        while let Some(call) = st.calls.pop_front() {
            if !call.reply.is_closed() {
                return Some(call);
            }
        }
        None
    }

    /// Refuses further CALLs; the queued ones fail with [`CallError::Disconnected`] (their reply
    /// senders are dropped here).
    pub(crate) fn close_calls(&self) {
        let queued = {
            let mut st = self.state();
            st.calls_closed = true;
            std::mem::take(&mut st.calls)
        };
        drop(queued);
    }

    /// The connection task has finished.
    pub(crate) fn mark_done(&self) {
        self.done.store(true, Ordering::Release);
        self.done_wake.notify_waiters();
    }

    async fn wait_done(&self) {
        loop {
            let notified = self.done_wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.done.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

/// A live charger connection. Cloning is cheap; a handle of a connection that ended reports
/// [`CallError::Disconnected`].
#[derive(Clone)]
pub struct ChargerHandle {
    pub(crate) session: Arc<Session>,
    pub(crate) connected_at: SystemTime,
    pub(crate) control: Arc<Control>,
}

impl std::fmt::Debug for ChargerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChargerHandle")
            .field("session", &self.session)
            .field("connected_at", &self.connected_at)
            .finish()
    }
}

impl ChargerHandle {
    /// The charger id.
    pub fn charger_id(&self) -> &str {
        &self.session.charger_id
    }

    /// The negotiated version.
    pub fn version(&self) -> OcppVersion {
        self.session.version
    }

    /// Unique per process and connection.
    pub fn connection_id(&self) -> u64 {
        self.session.connection_id
    }

    /// The peer address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.session.remote_addr
    }

    /// The whole session description.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// When the websocket came up.
    pub fn connected_at(&self) -> SystemTime {
        self.connected_at
    }

    /// Whether the connection still runs.
    pub fn is_open(&self) -> bool {
        !self.control.ended.load(Ordering::Acquire) && self.control.close_reason().is_none()
    }

    /// Closes the connection (websocket close 1000). Returns at once.
    pub fn close(&self) {
        self.close_with(DisconnectReason::ClosedByGateway);
    }

    pub(crate) fn close_with(&self, reason: DisconnectReason) {
        self.control.request_close(reason);
    }

    /// Waits until the connection task has finished (its `on_disconnect` included), at most `limit`.
    pub(crate) async fn wait_done(&self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.control.wait_done()).await;
    }

    /// Typed [`ChargerHandle::send_call`].
    pub async fn call<R: OcppRequest>(&self, request: &R) -> Result<R::Response, CallError> {
        if R::VERSION != self.session.version {
            return Err(CallError::WrongVersion {
                expected: R::VERSION,
                actual: self.session.version,
            });
        }
        let answer = self.send_call(R::ACTION, to_payload(request)).await?;
        from_payload(answer).map_err(|e| CallError::Decode(e.to_string()))
    }

    /// Sends a CALL to this charger and waits for its CALLRESULT payload (validated against the
    /// response schema). The request payload is validated first; nothing is sent if it is invalid.
    pub async fn send_call(&self, action: &str, payload: Value) -> Result<Value, CallError> {
        let version = self.session.version;
        let direction =
            schema::direction(version, action).ok_or_else(|| CallError::UnknownAction {
                action: action.to_owned(),
                version,
            })?;
        if !direction.csms_may_call() {
            return Err(CallError::NotACsmsAction {
                action: action.to_owned(),
                version,
            });
        }
        let action =
            schema::known_action(version, action).ok_or_else(|| CallError::UnknownAction {
                action: action.to_owned(),
                version,
            })?;
        schema::validate(version, action, MessageKind::Request, &payload)
            .map_err(CallError::InvalidRequest)?;
        if self.control.ended.load(Ordering::Acquire) {
            return Err(CallError::Disconnected);
        }
        let (tx, rx) = oneshot::channel();
        self.control.push_call(Box::new(OutboundCall {
            action,
            payload,
            reply: tx,
        }))?;
        rx.await.unwrap_or(Err(CallError::Disconnected))
    }
}

pub(crate) struct GatewayInner {
    pub config: GatewayConfig,
    chargers: Mutex<HashMap<Arc<str>, ChargerHandle>>,
    next_connection_id: AtomicU64,
    next_message_id: AtomicU64,
    pub shutdown: watch::Sender<bool>,
    pub connection_slots: Arc<Semaphore>,
}

impl GatewayInner {
    fn chargers(&self) -> MutexGuard<'_, HashMap<Arc<str>, ChargerHandle>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts and
        // removes), so a poisoned lock is still usable.
        self.chargers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn next_connection_id(&self) -> u64 {
        self.next_connection_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A fresh outbound message id: unique in this process, and (seeded from the clock) unlikely
    /// to repeat one of an earlier process.
    pub fn next_message_id(&self) -> String {
        self.next_message_id
            .fetch_add(1, Ordering::Relaxed)
            .to_string()
    }

    /// Registers a new connection; returns the one it replaces.
    pub fn register(&self, handle: ChargerHandle) -> Option<ChargerHandle> {
        self.chargers()
            .insert(handle.session.charger_id.clone(), handle)
    }

    /// Removes the entry of `charger_id` if it is still `connection_id`.
    pub fn unregister(&self, charger_id: &str, connection_id: u64) {
        let mut map = self.chargers();
        if map
            .get(charger_id)
            .is_some_and(|h| h.session.connection_id == connection_id)
        {
            map.remove(charger_id);
        }
    }
}

/// The gateway: the charger registry plus the configuration. Cheap to clone; create it first,
/// hand clones to the business layer (for [`Gateway::send_call`]), then run
/// [`Gateway::serve`].
#[derive(Clone)]
pub struct Gateway {
    pub(crate) inner: Arc<GatewayInner>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("listen", &self.inner.config.listen)
            .field("connected", &self.connected_count())
            .finish()
    }
}

impl Gateway {
    /// A gateway with no chargers; nothing listens until [`Gateway::serve`].
    pub fn new(config: GatewayConfig) -> Gateway {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(1);
        let slots = Arc::new(Semaphore::new(
            config.max_connections.clamp(1, Semaphore::MAX_PERMITS),
        ));
        Gateway {
            inner: Arc::new(GatewayInner {
                config,
                chargers: Mutex::new(HashMap::new()),
                next_connection_id: AtomicU64::new(1),
                next_message_id: AtomicU64::new(seed),
                shutdown: watch::channel(false).0,
                connection_slots: slots,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GatewayConfig {
        &self.inner.config
    }

    /// The live connection of a charger.
    pub fn charger(&self, charger_id: &str) -> Option<ChargerHandle> {
        self.inner
            .chargers()
            .get(charger_id)
            .filter(|h| h.is_open())
            .cloned()
    }

    /// Whether a charger has a live connection.
    pub fn is_connected(&self, charger_id: &str) -> bool {
        self.charger(charger_id).is_some()
    }

    /// Every live connection.
    pub fn connected(&self) -> Vec<ChargerHandle> {
        self.inner
            .chargers()
            .values()
            .filter(|h| h.is_open())
            .cloned()
            .collect()
    }

    /// Number of registered charger connections.
    pub fn connected_count(&self) -> usize {
        self.inner.chargers().len()
    }

    /// Sockets currently held (websocket connections plus handshakes in progress).
    pub fn open_sockets(&self) -> usize {
        self.inner
            .config
            .max_connections
            .clamp(1, Semaphore::MAX_PERMITS)
            - self.inner.connection_slots.available_permits()
    }

    /// Sends a CALL to a connected charger and waits for the CALLRESULT payload. See
    /// [`ChargerHandle::send_call`].
    pub async fn send_call(
        &self,
        charger_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<Value, CallError> {
        let handle = self
            .charger(charger_id)
            .ok_or_else(|| CallError::NotConnected(charger_id.to_owned()))?;
        handle.send_call(action, payload).await
    }

    /// Typed [`Gateway::send_call`]: sends `request` and decodes the answer.
    pub async fn call<R: OcppRequest>(
        &self,
        charger_id: &str,
        request: &R,
    ) -> Result<R::Response, CallError> {
        let handle = self
            .charger(charger_id)
            .ok_or_else(|| CallError::NotConnected(charger_id.to_owned()))?;
        handle.call(request).await
    }

    /// Closes a charger's connection. Returns whether it was connected.
    pub fn disconnect(&self, charger_id: &str) -> bool {
        match self.charger(charger_id) {
            Some(h) => {
                h.close();
                true
            }
            None => false,
        }
    }

    /// Stops accepting and closes every connection (websocket close 1001). `serve` returns.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }
}
