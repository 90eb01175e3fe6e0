//! Micro-CPO gateway: an OCPP 1.6J and 2.0.1 websocket server that lets the hub act as the CPO of
//! its own chargers.
//!
//! Layered like ocpp-go, each layer in its own module:
//! - [`transport`]: listener, TLS, HTTP upgrade with subprotocol negotiation and authentication
//!   ([`auth`]) before the upgrade, connection cap, ping and dead-peer detection; the per-connection
//!   loop lives in `connection.rs`;
//! - [`rpc`]: OCPP-J framing (CALL / CALLRESULT / CALLERROR) and the error codes of each version;
//! - [`schema`]: validation against the official OCA JSON schemas (vendored in `schemas/`), with
//!   charger quirks repaired first ([`quirks`]);
//! - [`messages`]: typed payloads of the actions the gateway handles;
//! - [`handler`]: the [`Handler`] trait the business layer implements;
//! - [`gateway`]: the registry of connected chargers ([`Gateway`], [`ChargerHandle`]) and outbound
//!   CALLs ([`Gateway::send_call`]).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use ocpp_gateway::{EchoBootHandler, Gateway, GatewayConfig, StaticAuth};
//!
//! let gateway = Gateway::new(GatewayConfig::default());
//! let auth = Arc::new(StaticAuth::new().with_password("CP1", "secret-password-16"));
//! // Business code keeps `gateway` clones and calls `gateway.send_call("CP1", "Reset", ..)`.
//! gateway.serve(auth, Arc::new(EchoBootHandler)).await
//! # }
//! ```

pub mod auth;
pub mod config;
mod connection;
pub mod gateway;
pub mod handler;
pub mod messages;
pub mod quirks;
pub mod rpc;
pub mod schema;
pub mod transport;
pub mod version;

pub use auth::{AuthResult, BasicAuth, ChargerAuth, StaticAuth};
pub use config::{GatewayConfig, TlsConfig};
pub use gateway::{CallError, ChargerHandle, Gateway};
pub use handler::{BoxFuture, DisconnectReason, EchoBootHandler, Handler, Session};
pub use rpc::{CallErrorReply, ErrorCode, Frame, FrameError};
pub use transport::{GatewayStream, serve};
pub use version::OcppVersion;
