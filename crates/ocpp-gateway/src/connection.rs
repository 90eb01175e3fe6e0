//! One charger connection after the websocket upgrade: a single task that reads frames, runs the
//! business handler for incoming CALLs (one at a time, in order, while it keeps reading), sends
//! queued outbound CALLs one at a time, answers repeated message ids from a small cache, pings
//! the charger and closes the connection when it goes quiet, is replaced, or the gateway stops.
//!
//! Per-connection state is small: the websocket (1 KiB read buffer, no write buffer), a handful of
//! recent answers, and at most `max_pending_incoming` queued CALLs.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::{debug, info, warn};

use crate::gateway::{CallError, ChargerHandle, Control, GatewayInner};
use crate::handler::{BoxFuture, DisconnectReason, Handler, Session};
use crate::rpc::{self, CallErrorReply, ErrorCode, Frame};
use crate::schema::{self, MessageKind};
use crate::transport::GatewayStream;

pub(crate) type Ws = WebSocketStream<GatewayStream>;

/// Runs a connection to its end: registers it (replacing an older one), calls the handler's
/// `on_connect`, serves it, calls `on_disconnect`, unregisters it.
pub(crate) async fn run(
    gw: Arc<GatewayInner>,
    mut ws: Ws,
    session: Session,
    handler: Arc<dyn Handler>,
) {
    let cfg = &gw.config;
    let control = Arc::new(Control::new(cfg.max_queued_calls));
    let session = Arc::new(session);
    let handle = ChargerHandle {
        session: session.clone(),
        connected_at: SystemTime::now(),
        control: control.clone(),
    };
    let previous = gw.register(handle);
    // Unregisters and signals the end even if the handler panics (the task then unwinds).
    let _registration = Registration {
        gw: gw.clone(),
        session: session.clone(),
        control: control.clone(),
    };
    if let Some(old) = previous {
        info!(charger = %session.charger_id, old = old.connection_id(), new = session.connection_id, "new connection replaces the old one");
        old.close_with(DisconnectReason::Replaced);
        old.wait_done(cfg.replace_wait()).await;
    }
    let mut shutdown_rx = gw.shutdown.subscribe();
    let replaced_meanwhile = control.close_reason().or_else(|| {
        shutdown_rx
            .borrow_and_update()
            .then_some(DisconnectReason::Shutdown)
    });
    if let Some(reason) = replaced_meanwhile {
        // Replaced (or shut down) before it started: the business layer never hears of it.
        control.ended.store(true, Ordering::Release);
        Box::pin(close_ws(&mut ws, &reason, cfg.write_timeout())).await;
    } else {
        info!(charger = %session.charger_id, version = %session.version, connection = session.connection_id, tls = session.tls, "charger connected");
        handler.on_connect(&session).await;
        let reason = serve(
            &gw,
            &mut ws,
            &session,
            handler.as_ref(),
            &control,
            &mut shutdown_rx,
        )
        .await;
        control.ended.store(true, Ordering::Release);
        Box::pin(close_ws(&mut ws, &reason, cfg.write_timeout())).await;
        drop(ws);
        // Queued outbound calls fail now (their reply senders drop), before on_disconnect.
        control.close_calls();
        info!(charger = %session.charger_id, connection = session.connection_id, ?reason, "charger disconnected");
        handler.on_disconnect(&session, reason).await;
    }
}

/// Ends a connection's registration when its task finishes, normally or by a panic.
struct Registration {
    gw: Arc<GatewayInner>,
    session: Arc<Session>,
    control: Arc<Control>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.control.ended.store(true, Ordering::Release);
        self.control.close_calls();
        self.gw
            .unregister(&self.session.charger_id, self.session.connection_id);
        self.control.mark_done();
    }
}

async fn close_ws(ws: &mut Ws, reason: &DisconnectReason, limit: std::time::Duration) {
    let frame = match reason {
        DisconnectReason::ClosedByCharger
        | DisconnectReason::Dead
        | DisconnectReason::WriteTimeout => None,
        DisconnectReason::Replaced => Some((CloseCode::Normal, "replaced by a newer connection")),
        DisconnectReason::ClosedByGateway => Some((CloseCode::Normal, "closed by the CSMS")),
        DisconnectReason::Shutdown => Some((CloseCode::Away, "CSMS shutting down")),
        DisconnectReason::MessageTooBig => Some((CloseCode::Size, "message too big")),
        DisconnectReason::Error(_) => Some((CloseCode::Protocol, "protocol error")),
    };
    let limit = if matches!(
        reason,
        DisconnectReason::Dead | DisconnectReason::WriteTimeout
    ) {
        limit.min(std::time::Duration::from_millis(100))
    } else {
        limit
    };
    let msg = frame.map(|(code, text)| CloseFrame {
        code,
        reason: text.into(),
    });
    let _ = tokio::time::timeout(limit, ws.close(msg)).await;
}

/// An answer kept for a repeated message id (boxed strings: no spare capacity per connection).
struct Recent {
    id: Box<str>,
    action: Box<str>,
    answer: Box<str>,
}

struct Pending {
    id: String,
    action: &'static str,
    payload: Value,
}

struct InFlight {
    id: String,
    action: &'static str,
    reply: oneshot::Sender<Result<Value, CallError>>,
    /// Boxed: it exists only while a CALL is in flight, and inline it would enlarge every
    /// connection's task.
    timeout: std::pin::Pin<Box<tokio::time::Sleep>>,
}

struct Current<'a> {
    id: String,
    action: &'static str,
    future: BoxFuture<'a, Result<Value, CallErrorReply>>,
}

/// What the incoming-message step asks the loop to do.
enum Step {
    Nothing,
    Send(String),
}

struct State<'a> {
    session: &'a Session,
    handler: &'a dyn Handler,
    recent: VecDeque<Recent>,
    recent_cap: usize,
    pending: VecDeque<Pending>,
    pending_cap: usize,
    current: Option<Current<'a>>,
    outbound: Option<InFlight>,
}

impl<'a> State<'a> {
    fn remember(&mut self, id: &str, action: &str, answer: &str) {
        if self.recent_cap == 0 {
            return;
        }
        if self.recent.len() >= self.recent_cap {
            self.recent.pop_front();
        }
        self.recent.push_back(Recent {
            id: id.into(),
            action: action.into(),
            answer: answer.into(),
        });
    }

    fn reply_error(&mut self, id: &str, action: &str, reply: CallErrorReply) -> Step {
        let frame = reply.to_frame(id, self.session.version);
        self.remember(id, action, &frame);
        Step::Send(frame)
    }

    fn start_next(&mut self) {
        if self.current.is_none()
            && let Some(p) = self.pending.pop_front()
        {
            let future = self.handler.on_call(self.session, p.action, p.payload);
            self.current = Some(Current {
                id: p.id,
                action: p.action,
                future,
            });
        }
    }

    /// Handles one text message.
    fn on_text(&mut self, text: &str) -> Step {
        let version = self.session.version;
        match rpc::parse_frame(text) {
            Ok(Frame::Call {
                id,
                action,
                payload,
            }) => self.on_call(id, action, payload),
            Ok(Frame::CallResult { id, payload }) => {
                match self.outbound.take_if(|o| o.id == id) {
                    Some(o) => {
                        let mut payload = payload;
                        schema::normalize(version, o.action, MessageKind::Response, &mut payload);
                        let result = match schema::validate(
                            version,
                            o.action,
                            MessageKind::Response,
                            &payload,
                        ) {
                            Ok(()) => Ok(payload),
                            Err(reply) => {
                                warn!(charger = %self.session.charger_id, action = o.action, %reply, "invalid CALLRESULT");
                                Err(CallError::InvalidResponse { reply, payload })
                            }
                        };
                        let _ = o.reply.send(result);
                    }
                    None => {
                        debug!(charger = %self.session.charger_id, %id, "CALLRESULT for no CALL in flight (late or unknown), ignored")
                    }
                }
                Step::Nothing
            }
            Ok(Frame::CallError {
                id,
                code,
                description,
                details,
            }) => {
                match self.outbound.take_if(|o| o.id == id) {
                    Some(o) => {
                        let _ = o.reply.send(Err(CallError::Remote {
                            code,
                            description,
                            details,
                        }));
                    }
                    None => {
                        debug!(charger = %self.session.charger_id, %id, %code, "CALLERROR for no CALL in flight, ignored")
                    }
                }
                Step::Nothing
            }
            Err(e) => {
                debug!(charger = %self.session.charger_id, error = %e, "malformed message");
                if !e.should_reply() {
                    if let Some(id) = &e.id
                        && let Some(o) = self.outbound.take_if(|o| &o.id == id)
                    {
                        let _ = o
                            .reply
                            .send(Err(CallError::MalformedResponse(e.description.clone())));
                    }
                    return Step::Nothing;
                }
                Step::Send(e.to_frame(version))
            }
        }
    }

    fn on_call(&mut self, id: String, action: String, mut payload: Value) -> Step {
        let version = self.session.version;
        // A repeated message id: the cached answer, without running the handler again.
        if let Some(r) = self
            .recent
            .iter()
            .find(|r| *r.id == *id && *r.action == *action)
        {
            debug!(charger = %self.session.charger_id, %id, %action, "repeated message id, cached answer re-sent");
            return Step::Send(r.answer.to_string());
        }
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.id == id && c.action == action)
            || self
                .pending
                .iter()
                .any(|p| p.id == id && p.action == action)
        {
            debug!(charger = %self.session.charger_id, %id, %action, "repeated message id while the first is handled, ignored");
            return Step::Nothing;
        }
        let Some(direction) = schema::direction(version, &action) else {
            return self.reply_error(&id, &action, CallErrorReply::not_implemented(&action));
        };
        let Some(static_action) = schema::known_action(version, &action) else {
            return self.reply_error(&id, &action, CallErrorReply::not_implemented(&action));
        };
        if !direction.charger_may_call() {
            let reply = CallErrorReply::new(
                ErrorCode::NotSupported,
                format!("{action} is sent by the CSMS, not by a charger"),
            );
            return self.reply_error(&id, &action, reply);
        }
        let repaired =
            schema::normalize(version, static_action, MessageKind::Request, &mut payload);
        if repaired > 0 {
            debug!(charger = %self.session.charger_id, action = static_action, repaired, "repaired timestamps");
        }
        self.handler
            .normalize(self.session, static_action, &mut payload);
        if let Err(reply) = schema::validate(version, static_action, MessageKind::Request, &payload)
        {
            info!(charger = %self.session.charger_id, action = static_action, %reply, "invalid CALL payload");
            return self.reply_error(&id, &action, reply);
        }
        if self.current.is_some() && self.pending.len() >= self.pending_cap {
            let reply = CallErrorReply::new(
                ErrorCode::GenericError,
                "too many CALLs in flight; send one at a time",
            );
            return Step::Send(reply.to_frame(&id, version));
        }
        self.pending.push_back(Pending {
            id,
            action: static_action,
            payload,
        });
        self.start_next();
        Step::Nothing
    }

    /// The handler finished the current CALL: the frame to send.
    fn finish_current(&mut self, result: Result<Value, CallErrorReply>) -> Option<String> {
        let version = self.session.version;
        let current = self.current.take()?;
        let frame = match result {
            Ok(payload) => {
                match schema::validate(version, current.action, MessageKind::Response, &payload) {
                    Ok(()) => rpc::call_result_frame(&current.id, &payload),
                    Err(reply) => {
                        warn!(charger = %self.session.charger_id, action = current.action, %reply, "handler produced an invalid response");
                        CallErrorReply::internal(format!(
                            "the CSMS produced an invalid {} response",
                            current.action
                        ))
                        .to_frame(&current.id, version)
                    }
                }
            }
            Err(reply) => reply.to_frame(&current.id, version),
        };
        self.remember(&current.id, current.action, &frame);
        self.start_next();
        Some(frame)
    }
}

/// Awaits the current handler future, or forever if there is none.
async fn poll_current(current: &mut Option<Current<'_>>) -> Result<Value, CallErrorReply> {
    match current {
        Some(c) => c.future.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Completes when the outbound CALL in flight times out; never if there is none.
async fn call_timeout(outbound: &mut Option<InFlight>) {
    match outbound {
        Some(o) => o.timeout.as_mut().await,
        None => std::future::pending().await,
    }
}

async fn tick(ping: &mut Option<Interval>) {
    match ping {
        Some(p) => {
            p.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn send(
    ws: &mut Ws,
    text: String,
    limit: std::time::Duration,
) -> Result<(), DisconnectReason> {
    match tokio::time::timeout(limit, ws.send(Message::text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ws_error(e)),
        Err(_) => Err(DisconnectReason::WriteTimeout),
    }
}

fn ws_error(e: WsError) -> DisconnectReason {
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => DisconnectReason::ClosedByCharger,
        WsError::Capacity(_) => DisconnectReason::MessageTooBig,
        WsError::Io(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            DisconnectReason::ClosedByCharger
        }
        WsError::Protocol(
            tokio_tungstenite::tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        ) => DisconnectReason::ClosedByCharger,
        other => DisconnectReason::Error(other.to_string()),
    }
}

async fn serve(
    gw: &GatewayInner,
    ws: &mut Ws,
    session: &Session,
    handler: &dyn Handler,
    control: &Control,
    shutdown_rx: &mut watch::Receiver<bool>,
) -> DisconnectReason {
    let cfg = &gw.config;
    let write_timeout = cfg.write_timeout();
    let mut st = State {
        session,
        handler,
        recent: VecDeque::new(),
        recent_cap: cfg.recent_answers,
        pending: VecDeque::new(),
        pending_cap: cfg.max_pending_incoming,
        current: None,
        outbound: None,
    };
    let mut ping = cfg.ping_interval().map(|every| {
        let mut i = tokio::time::interval_at(Instant::now() + every, every);
        i.set_missed_tick_behavior(MissedTickBehavior::Delay);
        i
    });
    let dead_after = cfg.ping_interval().map(|every| every + cfg.pong_timeout());
    let mut last_seen = Instant::now();

    loop {
        // Asked to close (replaced, closed by the business layer)?
        if let Some(reason) = control.close_reason() {
            return reason;
        }
        // The next queued outbound CALL, once the one in flight is answered (OCPP-J: one at a time).
        if st.outbound.is_none()
            && let Some(call) = control.pop_call()
        {
            let id = gw.next_message_id();
            let frame = rpc::call_frame(&id, call.action, &call.payload);
            debug!(charger = %session.charger_id, %id, action = call.action, "outbound CALL");
            if let Err(reason) = Box::pin(send(ws, frame, write_timeout)).await {
                let _ = call.reply.send(Err(CallError::Disconnected));
                return reason;
            }
            st.outbound = Some(InFlight { id, action: call.action, reply: call.reply, timeout: Box::pin(tokio::time::sleep(cfg.call_timeout())) });
        }
        tokio::select! {
            biased;
            // A close request or a queued CALL: both are looked at on the next turn.
            _ = control.wake.notified() => {}
            _ = shutdown_rx.changed() => return DisconnectReason::Shutdown,
            result = poll_current(&mut st.current) => {
                if let Some(frame) = st.finish_current(result)
                    && let Err(reason) = Box::pin(send(ws, frame, write_timeout)).await
                {
                    return reason;
                }
            }
            msg = ws.next() => {
                last_seen = Instant::now();
                let step = match msg {
                    None => return DisconnectReason::ClosedByCharger,
                    Some(Err(e)) => return ws_error(e),
                    Some(Ok(Message::Text(text))) => st.on_text(text.as_str()),
                    Some(Ok(Message::Binary(_))) => Step::Send(
                        CallErrorReply::new(ErrorCode::RpcFrameworkError, "binary messages are not OCPP-J")
                            .to_frame(rpc::UNKNOWN_MESSAGE_ID, session.version),
                    ),
                    // Pings are answered by tungstenite; a close is answered and ends the stream.
                    Some(Ok(_)) => Step::Nothing,
                };
                if let Step::Send(frame) = step
                    && let Err(reason) = Box::pin(send(ws, frame, write_timeout)).await
                {
                    return reason;
                }
            }
            _ = call_timeout(&mut st.outbound) => {
                if let Some(o) = st.outbound.take() {
                    info!(charger = %session.charger_id, id = %o.id, action = o.action, "outbound CALL timed out");
                    let _ = o.reply.send(Err(CallError::Timeout(cfg.call_timeout())));
                }
            }
            _ = tick(&mut ping) => {
                if dead_after.is_some_and(|d| last_seen.elapsed() > d) {
                    return DisconnectReason::Dead;
                }
                match tokio::time::timeout(write_timeout, ws.send(Message::Ping(Default::default()))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return ws_error(e),
                    Err(_) => return DisconnectReason::WriteTimeout,
                }
            }
        }
    }
}
