//! Commands module: the four requests both versions have ([`start_session_to_v221`],
//! [`stop_session_to_v221`], [`reserve_now_to_v221`], [`unlock_connector_to_v221`] and their
//! `_to_v211` counterparts) and the responses.
//!
//! 2.1.1 has one response object, `CommandResponse {result}`, both as the CPO's synchronous
//! answer and as the asynchronous result POSTed to `response_url`. 2.2.1 splits them: the
//! synchronous `CommandResponse {result, timeout, message}` ([`command_response_to_v221`]/
//! [`command_response_to_v211`]) and the asynchronous `CommandResult {result, message}`
//! ([`command_result_to_v221`]/[`command_result_to_v211`]). 2.2.1's `CANCEL_RESERVATION` has no
//! 2.1.1 counterpart (the router answers it itself).
//!
//! Lossy parts (see `docs/ocpi-2.1.1-mapping.md`): a StartSession's `connector_id` and the
//! `authorization_reference` of StartSession and ReserveNow are dropped on the way to 2.1.1;
//! tokens lose what [`token_to_v211`](super::token_to_v211) drops; the `message` of either
//! response is dropped; result values that one version lacks map to the nearest one.

use super::tokens::{token_to_v211, token_to_v221};
use super::{PartyKey, TranslateError, V211};
use crate::ocpi::{v211, v221};

/// 2.1.1 StartSession → 2.2.1. `emsp` is the eMSP that sent the command (owner of its token).
pub fn start_session_to_v221(s: &v211::StartSession, emsp: &PartyKey) -> v221::StartSession {
    v221::StartSession {
        response_url: s.response_url.clone(),
        token: token_to_v221(&s.token, emsp),
        location_id: s.location_id.clone(),
        evse_uid: s.evse_uid.clone(),
        connector_id: None,
        authorization_reference: None,
        extra: s.extra.clone(),
    }
}

/// 2.2.1 StartSession → 2.1.1: `connector_id` and `authorization_reference` are dropped.
pub fn start_session_to_v211(s: &v221::StartSession) -> v211::StartSession {
    v211::StartSession {
        response_url: s.response_url.clone(),
        token: token_to_v211(&s.token),
        location_id: s.location_id.clone(),
        evse_uid: s.evse_uid.clone(),
        extra: s.extra.clone(),
    }
}

/// 2.1.1 StopSession → 2.2.1. Lossless.
pub fn stop_session_to_v221(s: &v211::StopSession) -> v221::StopSession {
    v221::StopSession {
        response_url: s.response_url.clone(),
        session_id: s.session_id.clone(),
        extra: s.extra.clone(),
    }
}

/// 2.2.1 StopSession → 2.1.1. Lossless.
pub fn stop_session_to_v211(s: &v221::StopSession) -> v211::StopSession {
    v211::StopSession {
        response_url: s.response_url.clone(),
        session_id: s.session_id.clone(),
        extra: s.extra.clone(),
    }
}

/// 2.1.1 ReserveNow → 2.2.1: the int `reservation_id` becomes its decimal text. `emsp` is the
/// eMSP that sent the command.
pub fn reserve_now_to_v221(r: &v211::ReserveNow, emsp: &PartyKey) -> v221::ReserveNow {
    v221::ReserveNow {
        response_url: r.response_url.clone(),
        token: token_to_v221(&r.token, emsp),
        expiry_date: r.expiry_date.clone(),
        reservation_id: r.reservation_id.to_string(),
        location_id: r.location_id.clone(),
        evse_uid: r.evse_uid.clone(),
        authorization_reference: None,
        extra: r.extra.clone(),
    }
}

/// 2.2.1 ReserveNow → 2.1.1: `authorization_reference` is dropped. Fails when the
/// `reservation_id` is not an integer (2.1.1 requires an int).
pub fn reserve_now_to_v211(r: &v221::ReserveNow) -> Result<v211::ReserveNow, TranslateError> {
    let reservation_id = r
        .reservation_id
        .parse()
        .map_err(|_| TranslateError::no_equivalent("reservation_id", &r.reservation_id, V211))?;
    Ok(v211::ReserveNow {
        response_url: r.response_url.clone(),
        token: token_to_v211(&r.token),
        expiry_date: r.expiry_date.clone(),
        reservation_id,
        location_id: r.location_id.clone(),
        evse_uid: r.evse_uid.clone(),
        extra: r.extra.clone(),
    })
}

/// 2.1.1 UnlockConnector → 2.2.1. Lossless.
pub fn unlock_connector_to_v221(u: &v211::UnlockConnector) -> v221::UnlockConnector {
    v221::UnlockConnector {
        response_url: u.response_url.clone(),
        location_id: u.location_id.clone(),
        evse_uid: u.evse_uid.clone(),
        connector_id: u.connector_id.clone(),
        extra: u.extra.clone(),
    }
}

/// 2.2.1 UnlockConnector → 2.1.1. Lossless.
pub fn unlock_connector_to_v211(u: &v221::UnlockConnector) -> v211::UnlockConnector {
    v211::UnlockConnector {
        response_url: u.response_url.clone(),
        location_id: u.location_id.clone(),
        evse_uid: u.evse_uid.clone(),
        connector_id: u.connector_id.clone(),
        extra: u.extra.clone(),
    }
}

/// A 2.1.1 CPO's synchronous CommandResponse → 2.2.1 CommandResponse. `timeout` (seconds the
/// eMSP should wait for the result; 2.1.1 has none) is the caller's, e.g. the hub's forwarding
/// timeout. A synchronous `TIMEOUT` (the CPO got no answer from the Charge Point) becomes
/// `REJECTED`.
pub fn command_response_to_v221(r: &v211::CommandResponse, timeout: u32) -> v221::CommandResponse {
    use v211::CommandResponseType as A;
    use v221::CommandResponseType as B;
    v221::CommandResponse {
        result: match r.result {
            A::NotSupported => B::NotSupported,
            A::Rejected | A::Timeout => B::Rejected,
            A::Accepted => B::Accepted,
            A::UnknownSession => B::UnknownSession,
        },
        timeout,
        message: None,
        extra: r.extra.clone(),
    }
}

/// A 2.2.1 CommandResponse → 2.1.1: `timeout` and `message` are dropped.
pub fn command_response_to_v211(r: &v221::CommandResponse) -> v211::CommandResponse {
    use v211::CommandResponseType as A;
    use v221::CommandResponseType as B;
    v211::CommandResponse {
        result: match r.result {
            B::NotSupported => A::NotSupported,
            B::Rejected => A::Rejected,
            B::Accepted => A::Accepted,
            B::UnknownSession => A::UnknownSession,
        },
        extra: r.extra.clone(),
    }
}

/// The asynchronous 2.1.1 CommandResponse a CPO POSTs to `response_url` → 2.2.1 CommandResult.
/// `UNKNOWN_SESSION` (no 2.2.1 result value) becomes `FAILED`.
pub fn command_result_to_v221(r: &v211::CommandResponse) -> v221::CommandResult {
    use v211::CommandResponseType as A;
    use v221::CommandResultType as B;
    v221::CommandResult {
        result: match r.result {
            A::NotSupported => B::NotSupported,
            A::Rejected => B::Rejected,
            A::Accepted => B::Accepted,
            A::Timeout => B::Timeout,
            A::UnknownSession => B::Failed,
        },
        message: None,
        extra: r.extra.clone(),
    }
}

/// A 2.2.1 CommandResult → the asynchronous 2.1.1 CommandResponse: `message` is dropped;
/// `CANCELED_RESERVATION`, `EVSE_OCCUPIED`, `EVSE_INOPERATIVE`, `FAILED` and
/// `UNKNOWN_RESERVATION` (no 2.1.1 value) become `REJECTED`.
pub fn command_result_to_v211(r: &v221::CommandResult) -> v211::CommandResponse {
    use v211::CommandResponseType as A;
    use v221::CommandResultType as B;
    v211::CommandResponse {
        result: match r.result {
            B::Accepted => A::Accepted,
            B::NotSupported => A::NotSupported,
            B::Rejected
            | B::CanceledReservation
            | B::EvseOccupied
            | B::EvseInoperative
            | B::Failed
            | B::UnknownReservation => A::Rejected,
            B::Timeout => A::Timeout,
        },
        extra: r.extra.clone(),
    }
}
