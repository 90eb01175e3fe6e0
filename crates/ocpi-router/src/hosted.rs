//! Requests addressed to a party the hub hosts itself (a micro-CPO): commands and charging
//! profiles cannot be forwarded (the party has no OCPI endpoints); the router hands them to a
//! [`HostedCpo`] instead, which the binary implements over the OCPP gateway. The router stays
//! ignorant of OCPP, the gateway of OCPI.
//!
//! The hosted side answers at once (CommandResponse / ChargingProfileResponse) and later posts
//! the asynchronous result to the requester's `response_url` through the outbox
//! ([`queue_result`]).

use crate::reply::{self, FROM_CC, FROM_PID, TO_CC, TO_PID};
use crate::state::AppState;
use hub_core::party::{InterfaceRole, PartyKey};
use hub_core::store::{NewDelivery, StoreError};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A request for a hosted party, validated by the router.
#[derive(Debug, Clone)]
pub struct HostedRequest {
    /// The hosted CPO addressed.
    pub owner: PartyKey,
    /// The requesting party and its platform (where results go).
    pub requester: PartyKey,
    pub requester_platform_id: i64,
    /// `commands` or `chargingprofiles`.
    pub module: String,
    pub method: String,
    /// Path segments after the module (`["START_SESSION"]`, `["{session_id}"]`).
    pub segs: Vec<String>,
    /// Query parameters (GET/DELETE of chargingprofiles carry `duration`, `response_url`).
    pub query: Vec<(String, String)>,
    /// The validated body (`Null` when none).
    pub body: Value,
    pub correlation_id: String,
}

/// An OCPI error answer: status code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct HostedError {
    pub status_code: u32,
    pub message: String,
}

/// The business side of hosted parties.
pub trait HostedCpo: Send + Sync + 'static {
    /// Handles the request; `Ok` is the `data` of a success envelope.
    fn handle<'a>(&'a self, state: &'a AppState, req: HostedRequest) -> BoxFuture<'a, Result<Value, HostedError>>;
}

/// Queues `body` (a CommandResult, ChargingProfileResult, ...) for POST to the requester's
/// `response_url`, durably, from the hosted party.
pub async fn queue_result(state: &AppState, req: &HostedRequest, response_url: &str, body: &Value) -> Result<(), StoreError> {
    let d = NewDelivery {
        target_platform_id: req.requester_platform_id,
        object_key: format!("hosted-results/{}", uuid::Uuid::new_v4().simple()),
        module: req.module.clone(),
        interface_role: InterfaceRole::Sender,
        method: "POST".into(),
        path: response_url.to_string(),
        absolute_url: true,
        headers: vec![
            (FROM_CC.into(), req.owner.country_code.clone()),
            (FROM_PID.into(), req.owner.party_id.clone()),
            (TO_CC.into(), req.requester.country_code.clone()),
            (TO_PID.into(), req.requester.party_id.clone()),
            (reply::X_CORRELATION_ID.into(), req.correlation_id.clone()),
        ],
        body: Some(body.to_string()),
    };
    state.store.enqueue(&[d]).await?;
    state.delivery_wakeup.notify_one();
    Ok(())
}
