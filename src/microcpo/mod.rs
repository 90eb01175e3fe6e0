//! The micro-CPO business layer: the hub as the CPO of its own OCPP chargers.
//!
//! Lives in the binary so that neither library depends on the other: `ocpp-gateway` knows
//! nothing of OCPI and `ocpi-router` nothing of OCPP. Files:
//! - `auth.rs`: [`StoreAuth`], the gateway's `ChargerAuth` over the `chargers` table;
//! - `status.rs`: StatusNotification → OCPI EVSE status PATCH (broadcast);
//! - `authorize.rs`: Authorize (1.6 idTag, 2.0.1 idToken) against the tokens eMSPs pushed to
//!   the hub, else real-time authorization with the token's eMSP;
//! - `transactions.rs`: StartTransaction / MeterValues / StopTransaction (1.6) and
//!   TransactionEvent / MeterValues / NotifyEVChargingNeeds (2.0.1) → the `ocpp_transactions`
//!   record;
//! - `commands.rs`: OCPI commands and charging profiles for hosted parties (the router's
//!   `HostedCpo`) → OCPP calls, results back to the requester's `response_url`;
//! - `ocpi_out.rs`: that record → OCPI Session (PUT, then PATCHes) to the token's eMSP and,
//!   stripped of driver data, to SCSPs; on stop a CDR priced with the connector's tariff
//!   (`clearing::rating`), all through the durable outbox.
//!
//! [`MicroCpoHandler`] is the gateway's `Handler` and dispatches each action to those files.

mod auth;
mod authorize;
mod commands;
mod ocpi_out;
mod status;
mod transactions;

pub use auth::StoreAuth;

use hub_core::store::Charger;
use ocpi_router::state::AppState;
use ocpp_gateway::{BoxFuture, CallErrorReply, DisconnectReason, Gateway, Handler, Session};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Heartbeat interval (seconds) given to chargers in the BootNotification answer.
pub const HEARTBEAT_INTERVAL: u64 = 300;

/// An OCPI DateTime of now (also used as `currentTime` in OCPP answers).
fn now_ts() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An OCPP timestamp (validated RFC 3339, zone repaired by the gateway) in micros.
fn parse_ts(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|d| d.timestamp_micros())
}

/// Micros → OCPI DateTime (UTC, `Z`).
fn ts_of(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The business handler of hosted chargers.
pub struct MicroCpoHandler {
    pub state: Arc<AppState>,
    /// To send CALLs to chargers (commands, charging profiles).
    pub gateway: Gateway,
    /// Each live connection's charger row, read at its first CALL: a charger's location
    /// and EVSE mapping do not change while it is connected (the CLI only adds chargers), and
    /// every StatusNotification would otherwise read it again.
    chargers: std::sync::Mutex<HashMap<u64, Arc<Charger>>>,
}

fn internal(e: impl std::fmt::Display) -> CallErrorReply {
    tracing::error!(error = %e, "micro-CPO handler");
    CallErrorReply::internal("internal error")
}

impl MicroCpoHandler {
    pub fn new(state: Arc<AppState>, gateway: Gateway) -> Self {
        MicroCpoHandler { state, gateway, chargers: Default::default() }
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Charger>>> {
        self.chargers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connection's charger (cached for the connection's life; see `chargers`).
    async fn charger(&self, session: &Session) -> Result<Arc<Charger>, CallErrorReply> {
        if let Some(c) = self.cached().get(&session.connection_id) {
            return Ok(c.clone());
        }
        match self.state.store.get_charger(&session.charger_id).await {
            Ok(Some(mut c)) => {
                // Only the mapping is used from the cache; the boot payload stays in the database.
                c.boot_info = None;
                c.password_hash = String::new();
                let c = Arc::new(c);
                self.cached().insert(session.connection_id, c.clone());
                Ok(c)
            }
            Ok(None) => Err(CallErrorReply::internal("charger no longer configured")),
            Err(e) => Err(internal(e)),
        }
    }

    async fn boot(&self, session: &Session, payload: Value) -> Result<Value, CallErrorReply> {
        self.state.store.set_charger_boot(&session.charger_id, &payload).await.map_err(internal)?;
        Ok(json!({"status": "Accepted", "currentTime": now_ts(), "interval": HEARTBEAT_INTERVAL}))
    }
}

impl Handler for MicroCpoHandler {
    fn on_connect<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Err(e) = self.state.store.set_charger_connected(&session.charger_id, true).await {
                tracing::error!(error = %e, charger_id = %session.charger_id, "recording connection");
            }
        })
    }

    fn normalize(&self, session: &Session, action: &'static str, payload: &mut Value) {
        transactions::normalize(session, action, payload);
    }

    fn on_call<'a>(&'a self, session: &'a Session, action: &'static str, payload: Value) -> BoxFuture<'a, Result<Value, CallErrorReply>> {
        Box::pin(async move {
            match action {
                "BootNotification" => self.boot(session, payload).await,
                "Heartbeat" => Ok(json!({"currentTime": now_ts()})),
                "StatusNotification" => self.status_notification(session, payload).await,
                "Authorize" => self.authorize(session, payload).await,
                "StartTransaction" => self.start_transaction_16(session, payload).await,
                "StopTransaction" => self.stop_transaction_16(session, payload).await,
                "MeterValues" => self.meter_values(session, payload).await,
                "TransactionEvent" => self.transaction_event(session, payload).await,
                "NotifyEVChargingNeeds" => self.notify_ev_charging_needs(session, payload).await,
                "DataTransfer" => Ok(json!({"status": "Rejected"})),
                "FirmwareStatusNotification" | "DiagnosticsStatusNotification" => Ok(json!({})),
                _ => Err(CallErrorReply::not_implemented(action)),
            }
        })
    }

    fn on_disconnect<'a>(&'a self, session: &'a Session, reason: DisconnectReason) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.cached().remove(&session.connection_id);
            // A replaced connection's successor has its own on_connect after this one.
            if reason != DisconnectReason::Replaced
                && let Err(e) = self.state.store.set_charger_connected(&session.charger_id, false).await {
                    tracing::error!(error = %e, charger_id = %session.charger_id, "recording disconnection");
                }
        })
    }
}
