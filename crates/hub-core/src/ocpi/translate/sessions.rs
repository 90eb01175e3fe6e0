//! Sessions module: [`session_to_v221`]/[`session_to_v211`], the charging periods both
//! Sessions and CDRs carry, [`cdr_token_for_auth_id`], and the `AuthMethod`, `SessionStatus`
//! and `CdrDimensionType` mappings.
//!
//! Lossy parts (see `docs/ocpi-2.1.1-mapping.md`):
//! - 2.1.1 → 2.2.1: the embedded `location` is reduced to `location_id`, `evse_uid` and
//!   `connector_id` (its first EVSE and that EVSE's first connector; `#NA` when absent); the
//!   `cdr_token` is built from `auth_id` and the [`TokenIdentity`] when known; `FLAT`
//!   dimensions are left out (and a period left without dimensions).
//! - 2.2.1 → 2.1.1: `country_code`, `party_id`, `authorization_reference`, the `cdr_token`
//!   except its `contract_id`, `total_cost.incl_vat`, periods' `tariff_id` are dropped;
//!   `COMMAND` becomes `AUTH_REQUEST`, `RESERVATION` becomes `PENDING`; dimensions without a
//!   2.1.1 type are left out; the `location` is the stored Location the caller passes.

use super::locations::{NOT_APPLICABLE, relevant_location_to_v211};
use super::{PartyKey, TokenIdentity, TranslateError};
use crate::ocpi::{v211, v221};

/// 2.1.1 Session → 2.2.1.
///
/// `owner` is the CPO that sent the session (the `{country_code}/{party_id}` of the push URL);
/// `token` is what the hub knows of the token with `contract_id` = `auth_id` (see
/// [`cdr_token_for_auth_id`]).
pub fn session_to_v221(
    s: &v211::Session,
    owner: &PartyKey,
    token: Option<&TokenIdentity>,
) -> v221::Session {
    let (evse_uid, connector_id) = evse_and_connector(&s.location);
    v221::Session {
        country_code: owner.country_code.clone(),
        party_id: owner.party_id.clone(),
        id: s.id.clone(),
        start_date_time: s.start_datetime.clone(),
        end_date_time: s.end_datetime.clone(),
        kwh: s.kwh,
        cdr_token: cdr_token_for_auth_id(&s.auth_id, token),
        auth_method: auth_method_to_v221(s.auth_method),
        authorization_reference: None,
        location_id: s.location.id.clone(),
        evse_uid,
        connector_id,
        meter_id: s.meter_id.clone(),
        currency: s.currency.clone(),
        charging_periods: s
            .charging_periods
            .as_ref()
            .map(|periods| charging_periods_to_v221(periods)),
        total_cost: s.total_cost.map(|excl_vat| v221::Price {
            excl_vat,
            incl_vat: None,
            extra: Default::default(),
        }),
        status: session_status_to_v221(s.status),
        last_updated: s.last_updated.clone(),
        extra: s.extra.clone(),
    }
}

/// 2.2.1 Session → 2.1.1.
///
/// `location` is the hub's copy of the session's Location (`location_id`); the 2.1.1 session
/// embeds it with only the session's EVSE and connector. Fails when it is another location, or
/// lacks the EVSE or connector, or that connector cannot be represented in 2.1.1 (error fields
/// `location...`).
pub fn session_to_v211(
    s: &v221::Session,
    location: &v221::Location,
) -> Result<v211::Session, TranslateError> {
    if location.id != s.location_id {
        return Err(TranslateError::context(
            "location_id",
            format!("the location given is `{}`", location.id),
        ));
    }
    let location = relevant_location_to_v211(location, &s.evse_uid, &s.connector_id)
        .map_err(|e| e.within("location"))?;
    Ok(v211::Session {
        id: s.id.clone(),
        start_datetime: s.start_date_time.clone(),
        end_datetime: s.end_date_time.clone(),
        kwh: s.kwh,
        auth_id: s.cdr_token.contract_id.clone(),
        auth_method: auth_method_to_v211(s.auth_method),
        location,
        meter_id: s.meter_id.clone(),
        currency: s.currency.clone(),
        charging_periods: s
            .charging_periods
            .as_ref()
            .map(|periods| charging_periods_to_v211(periods)),
        total_cost: s.total_cost.as_ref().map(|p| p.excl_vat),
        status: session_status_to_v211(s.status),
        last_updated: s.last_updated.clone(),
        extra: s.extra.clone(),
    })
}

/// The 2.2.1 `cdr_token` of a 2.1.1 `auth_id`: `contract_id` is the `auth_id`; `uid`, `type`
/// and the eMSP come from `token` when known. Unknown, the `uid` is the `auth_id` too and the
/// `type` is `OTHER`.
pub fn cdr_token_for_auth_id(auth_id: &str, token: Option<&TokenIdentity>) -> v221::CdrToken {
    match token {
        Some(t) => v221::CdrToken {
            country_code: t.emsp.as_ref().map(|p| p.country_code.clone()),
            party_id: t.emsp.as_ref().map(|p| p.party_id.clone()),
            uid: t.uid.clone(),
            r#type: t.token_type,
            contract_id: auth_id.to_owned(),
            extra: Default::default(),
        },
        None => v221::CdrToken {
            country_code: None,
            party_id: None,
            uid: auth_id.to_owned(),
            r#type: v221::TokenType::Other,
            contract_id: auth_id.to_owned(),
            extra: Default::default(),
        },
    }
}

/// The `evse_uid` and `connector_id` of the location a 2.1.1 Session or CDR embeds: its first
/// EVSE and that EVSE's first connector (2.1.1 includes only the relevant ones), `#NA` when
/// absent.
pub(crate) fn evse_and_connector(l: &v211::Location) -> (String, String) {
    let evse = l.evses.as_deref().and_then(<[_]>::first);
    let connector = evse.and_then(|e| e.connectors.first());
    (
        evse.map_or(NOT_APPLICABLE, |e| &e.uid).to_owned(),
        connector.map_or(NOT_APPLICABLE, |c| &c.id).to_owned(),
    )
}

/// 2.1.1 charging periods → 2.2.1: `FLAT` dimensions (no 2.2.1 type) are left out, and so is a
/// period left without dimensions.
pub(crate) fn charging_periods_to_v221(
    periods: &[v211::ChargingPeriod],
) -> Vec<v221::ChargingPeriod> {
    periods
        .iter()
        .filter_map(|p| {
            let dimensions: Vec<_> = p
                .dimensions
                .iter()
                .filter_map(|d| {
                    Some(v221::CdrDimension {
                        r#type: dimension_type_to_v221(d.r#type)?,
                        volume: d.volume,
                        extra: d.extra.clone(),
                    })
                })
                .collect();
            (!dimensions.is_empty() || p.dimensions.is_empty()).then(|| v221::ChargingPeriod {
                start_date_time: p.start_date_time.clone(),
                dimensions,
                tariff_id: None,
                extra: p.extra.clone(),
            })
        })
        .collect()
}

/// 2.2.1 charging periods → 2.1.1: `tariff_id` is dropped; dimensions without a 2.1.1 type are
/// left out, and so is a period left without dimensions.
pub(crate) fn charging_periods_to_v211(
    periods: &[v221::ChargingPeriod],
) -> Vec<v211::ChargingPeriod> {
    periods
        .iter()
        .filter_map(|p| {
            let dimensions: Vec<_> = p
                .dimensions
                .iter()
                .filter_map(|d| {
                    Some(v211::CdrDimension {
                        r#type: dimension_type_to_v211(d.r#type)?,
                        volume: d.volume,
                        extra: d.extra.clone(),
                    })
                })
                .collect();
            (!dimensions.is_empty() || p.dimensions.is_empty()).then(|| v211::ChargingPeriod {
                start_date_time: p.start_date_time.clone(),
                dimensions,
                extra: p.extra.clone(),
            })
        })
        .collect()
}

/// 2.1.1 `AuthMethod` → 2.2.1 (same value).
pub fn auth_method_to_v221(m: v211::AuthMethod) -> v221::AuthMethod {
    match m {
        v211::AuthMethod::AuthRequest => v221::AuthMethod::AuthRequest,
        v211::AuthMethod::Whitelist => v221::AuthMethod::Whitelist,
    }
}

/// 2.2.1 `AuthMethod` → 2.1.1: `COMMAND` (a session started by a StartSession command, which
/// the eMSP authorized) becomes `AUTH_REQUEST`.
pub fn auth_method_to_v211(m: v221::AuthMethod) -> v211::AuthMethod {
    match m {
        v221::AuthMethod::AuthRequest | v221::AuthMethod::Command => v211::AuthMethod::AuthRequest,
        v221::AuthMethod::Whitelist => v211::AuthMethod::Whitelist,
    }
}

/// 2.1.1 `SessionStatus` → 2.2.1 (same value).
pub fn session_status_to_v221(s: v211::SessionStatus) -> v221::SessionStatus {
    match s {
        v211::SessionStatus::Active => v221::SessionStatus::Active,
        v211::SessionStatus::Completed => v221::SessionStatus::Completed,
        v211::SessionStatus::Invalid => v221::SessionStatus::Invalid,
        v211::SessionStatus::Pending => v221::SessionStatus::Pending,
    }
}

/// 2.2.1 `SessionStatus` → 2.1.1: `RESERVATION` (an EVSE reserved, not yet charging) becomes
/// `PENDING` ("not yet started").
pub fn session_status_to_v211(s: v221::SessionStatus) -> v211::SessionStatus {
    match s {
        v221::SessionStatus::Active => v211::SessionStatus::Active,
        v221::SessionStatus::Completed => v211::SessionStatus::Completed,
        v221::SessionStatus::Invalid => v211::SessionStatus::Invalid,
        v221::SessionStatus::Pending | v221::SessionStatus::Reservation => {
            v211::SessionStatus::Pending
        }
    }
}

/// 2.1.1 `CdrDimensionType` → 2.2.1; `None` for `FLAT`, which 2.2.1 dropped.
pub fn dimension_type_to_v221(t: v211::CdrDimensionType) -> Option<v221::CdrDimensionType> {
    use v211::CdrDimensionType as A;
    use v221::CdrDimensionType as B;
    match t {
        A::Energy => Some(B::Energy),
        A::Flat => None,
        A::MaxCurrent => Some(B::MaxCurrent),
        A::MinCurrent => Some(B::MinCurrent),
        A::ParkingTime => Some(B::ParkingTime),
        A::Time => Some(B::Time),
    }
}

/// 2.2.1 `CdrDimensionType` → 2.1.1; `None` for the types 2.1.1 lacks (currents, powers,
/// energy import/export, state of charge, reservation time).
pub fn dimension_type_to_v211(t: v221::CdrDimensionType) -> Option<v211::CdrDimensionType> {
    use v211::CdrDimensionType as A;
    use v221::CdrDimensionType as B;
    match t {
        B::Energy => Some(A::Energy),
        B::MaxCurrent => Some(A::MaxCurrent),
        B::MinCurrent => Some(A::MinCurrent),
        B::ParkingTime => Some(A::ParkingTime),
        B::Time => Some(A::Time),
        B::Current
        | B::EnergyExport
        | B::EnergyImport
        | B::MaxPower
        | B::MinPower
        | B::Power
        | B::ReservationTime
        | B::StateOfCharge => None,
    }
}
