//! CDRs module: [`cdr_to_v221`]/[`cdr_to_v211`].
//!
//! Lossy parts (see `docs/ocpi-2.1.1-mapping.md`):
//! - 2.1.1 → 2.2.1: the embedded `location` becomes the flat `cdr_location` (the location's
//!   address fields, its first EVSE and that EVSE's first connector; an absent `evse_id`
//!   becomes `#NA`); everything else of the location (its `type`, operator, hours, the EVSE's
//!   status, the connector's voltage, ...) and the EVSE's and connector's unknown fields are
//!   dropped. The `cdr_token` is built as for sessions; tariffs take the owner's
//!   `country_code`/`party_id`; `FLAT` dimensions are left out.
//! - 2.2.1 → 2.1.1: `country_code`, `party_id`, `session_id`, `authorization_reference`,
//!   `signed_data`, `total_cost.incl_vat`, every `total_*_cost` breakdown,
//!   `invoice_reference_id`, `credit`, `credit_reference_id`, `home_charging_compensation`,
//!   `cdr_location.state` and the `cdr_token` except its `contract_id` are dropped. The 2.1.1
//!   `location` is built from `cdr_location`, completed from the stored Location when the
//!   caller has it; otherwise with placeholders for what 2.1.1 requires and `cdr_location`
//!   lacks: `type` `UNKNOWN`, EVSE `status` `UNKNOWN`, connector `voltage` and `amperage` 0,
//!   and the CDR's `last_updated` for every `last_updated`.

use super::locations::{
    NOT_APPLICABLE, connector_type_to_v211, connector_type_to_v221, parking_type_to_v211,
    power_type_to_v211, power_type_to_v221, relevant_location_to_v211,
};
use super::sessions::{
    auth_method_to_v211, auth_method_to_v221, cdr_token_for_auth_id, charging_periods_to_v211,
    charging_periods_to_v221, evse_and_connector,
};
use super::tariffs::{tariff_to_v211, tariff_to_v221};
use super::{PartyKey, TokenIdentity, TranslateError, V211, V221};
use crate::ocpi::{v211, v221};

/// 2.1.1 CDR → 2.2.1.
///
/// `owner` is the CPO that sent the CDR (also the owner of its tariffs); `token` is what the hub
/// knows of the token with `contract_id` = `auth_id` (see
/// [`cdr_token_for_auth_id`](super::cdr_token_for_auth_id)).
///
/// Fails when the location has no EVSE with a connector (2.2.1 requires the connector's
/// standard, format and power type), or when every charging period consists of `FLAT`
/// dimensions only.
pub fn cdr_to_v221(
    c: &v211::Cdr,
    owner: &PartyKey,
    token: Option<&TokenIdentity>,
) -> Result<v221::Cdr, TranslateError> {
    let l = &c.location;
    let evse = l.evses.as_deref().and_then(<[_]>::first);
    let connector =
        evse.and_then(|e| e.connectors.first())
            .ok_or_else(|| TranslateError::Missing {
                field: "location.evses[0].connectors[0]".to_owned(),
                target: V221,
            })?;
    let (evse_uid, connector_id) = evse_and_connector(l);
    let cdr_location = v221::CdrLocation {
        id: l.id.clone(),
        name: l.name.clone(),
        address: l.address.clone(),
        city: l.city.clone(),
        postal_code: (!l.postal_code.is_empty()).then(|| l.postal_code.clone()),
        state: None,
        country: l.country.clone(),
        coordinates: l.coordinates.clone(),
        evse_uid,
        evse_id: evse
            .and_then(|e| e.evse_id.clone())
            .unwrap_or_else(|| NOT_APPLICABLE.to_owned()),
        connector_id,
        connector_standard: connector_type_to_v221(connector.standard),
        connector_format: connector.format,
        connector_power_type: power_type_to_v221(connector.power_type),
        extra: l.extra.clone(),
    };
    let charging_periods = charging_periods_to_v221(&c.charging_periods);
    if charging_periods.is_empty()
        && let Some(d) = c
            .charging_periods
            .first()
            .and_then(|p| p.dimensions.first())
    {
        return Err(TranslateError::no_equivalent(
            "charging_periods[0].dimensions[0].type",
            d.r#type,
            V221,
        ));
    }
    Ok(v221::Cdr {
        country_code: owner.country_code.clone(),
        party_id: owner.party_id.clone(),
        id: c.id.clone(),
        start_date_time: c.start_date_time.clone(),
        end_date_time: c.stop_date_time.clone(),
        session_id: None,
        cdr_token: cdr_token_for_auth_id(&c.auth_id, token),
        auth_method: auth_method_to_v221(c.auth_method),
        authorization_reference: None,
        cdr_location,
        meter_id: c.meter_id.clone(),
        currency: c.currency.clone(),
        tariffs: c
            .tariffs
            .as_ref()
            .map(|t| t.iter().map(|t| tariff_to_v221(t, owner)).collect()),
        charging_periods,
        signed_data: None,
        total_cost: v221::Price {
            excl_vat: c.total_cost,
            incl_vat: None,
            extra: Default::default(),
        },
        total_fixed_cost: None,
        total_energy: c.total_energy,
        total_energy_cost: None,
        total_time: c.total_time,
        total_time_cost: None,
        total_parking_time: c.total_parking_time,
        total_parking_cost: None,
        total_reservation_cost: None,
        remark: c.remark.clone(),
        invoice_reference_id: None,
        credit: None,
        credit_reference_id: None,
        home_charging_compensation: None,
        last_updated: c.last_updated.clone(),
        extra: c.extra.clone(),
    })
}

/// 2.2.1 CDR → 2.1.1.
///
/// `location` is the hub's copy of the CDR's Location, when it has one: it completes the 2.1.1
/// `location` (type, operator, hours, the EVSE's status, the connector's voltage and tariff,
/// ...); the fields `cdr_location` has always win, as they are the location as it was at the
/// start of the session. Without it, or when it lacks the CDR's EVSE or connector, the
/// placeholders of the module documentation are used.
///
/// Fails when the connector's standard or power type has no 2.1.1 value, when a tariff cannot
/// be represented (see [`tariff_to_v211`]), when every charging period consists of dimensions
/// 2.1.1 lacks, or when `location` is another location than the CDR's.
pub fn cdr_to_v211(
    c: &v221::Cdr,
    location: Option<&v221::Location>,
) -> Result<v211::Cdr, TranslateError> {
    let cl = &c.cdr_location;
    if let Some(l) = location
        && l.id != cl.id
    {
        return Err(TranslateError::context(
            "cdr_location.id",
            format!("the location given is `{}`", l.id),
        ));
    }
    let standard = connector_type_to_v211(cl.connector_standard).ok_or_else(|| {
        TranslateError::no_equivalent(
            "cdr_location.connector_standard",
            cl.connector_standard,
            V211,
        )
    })?;
    let power_type = power_type_to_v211(cl.connector_power_type).ok_or_else(|| {
        TranslateError::no_equivalent(
            "cdr_location.connector_power_type",
            cl.connector_power_type,
            V211,
        )
    })?;

    let stored =
        location.and_then(|l| relevant_location_to_v211(l, &cl.evse_uid, &cl.connector_id).ok());
    let mut l = stored.unwrap_or_else(|| placeholder_location(c, standard, power_type));
    l.name = cl.name.clone();
    l.address = cl.address.clone();
    l.city = cl.city.clone();
    l.postal_code = cl.postal_code.clone().unwrap_or_default();
    l.country = cl.country.clone();
    l.coordinates = cl.coordinates.clone();
    l.extra
        .extend(cl.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    if cl.evse_uid == NOT_APPLICABLE {
        l.evses = None;
    } else {
        let evses = l.evses.get_or_insert_with(Vec::new);
        if evses.is_empty() {
            evses.push(placeholder_evse(c, standard, power_type));
        }
        let evse = &mut evses[0];
        evse.evse_id = (cl.evse_id != NOT_APPLICABLE).then(|| cl.evse_id.clone());
        if evse.connectors.is_empty() {
            evse.connectors
                .push(placeholder_connector(c, standard, power_type));
        }
        let connector = &mut evse.connectors[0];
        connector.standard = standard;
        connector.format = cl.connector_format;
        connector.power_type = power_type;
    }

    let tariffs = match &c.tariffs {
        Some(tariffs) => Some(
            tariffs
                .iter()
                .enumerate()
                .map(|(i, t)| tariff_to_v211(t).map_err(|e| e.within(&format!("tariffs[{i}]"))))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let charging_periods = charging_periods_to_v211(&c.charging_periods);
    if charging_periods.is_empty()
        && let Some(d) = c
            .charging_periods
            .first()
            .and_then(|p| p.dimensions.first())
    {
        return Err(TranslateError::no_equivalent(
            "charging_periods[0].dimensions[0].type",
            d.r#type,
            V211,
        ));
    }
    Ok(v211::Cdr {
        id: c.id.clone(),
        start_date_time: c.start_date_time.clone(),
        stop_date_time: c.end_date_time.clone(),
        auth_id: c.cdr_token.contract_id.clone(),
        auth_method: auth_method_to_v211(c.auth_method),
        location: l,
        meter_id: c.meter_id.clone(),
        currency: c.currency.clone(),
        tariffs,
        charging_periods,
        total_cost: c.total_cost.excl_vat,
        total_energy: c.total_energy,
        total_time: c.total_time,
        total_parking_time: c.total_parking_time,
        remark: c.remark.clone(),
        last_updated: c.last_updated.clone(),
        extra: c.extra.clone(),
    })
}

/// The 2.1.1 location of a CDR whose stored Location is unknown: `cdr_location`'s identifiers,
/// and placeholders for the rest. The caller fills in the address fields and `evse_id`.
fn placeholder_location(
    c: &v221::Cdr,
    standard: v211::ConnectorType,
    power_type: v211::PowerType,
) -> v211::Location {
    let cl = &c.cdr_location;
    v211::Location {
        id: cl.id.clone(),
        r#type: parking_type_to_v211(None),
        name: None,
        address: String::new(),
        city: String::new(),
        postal_code: String::new(),
        country: String::new(),
        coordinates: cl.coordinates.clone(),
        related_locations: None,
        evses: Some(vec![placeholder_evse(c, standard, power_type)]),
        directions: None,
        operator: None,
        suboperator: None,
        owner: None,
        facilities: None,
        time_zone: None,
        opening_times: None,
        charging_when_closed: None,
        images: None,
        energy_mix: None,
        last_updated: c.last_updated.clone(),
        extra: Default::default(),
    }
}

fn placeholder_evse(
    c: &v221::Cdr,
    standard: v211::ConnectorType,
    power_type: v211::PowerType,
) -> v211::Evse {
    v211::Evse {
        uid: c.cdr_location.evse_uid.clone(),
        evse_id: None,
        status: v211::Status::Unknown,
        status_schedule: None,
        capabilities: None,
        connectors: vec![placeholder_connector(c, standard, power_type)],
        floor_level: None,
        coordinates: None,
        physical_reference: None,
        directions: None,
        parking_restrictions: None,
        images: None,
        last_updated: c.last_updated.clone(),
        extra: Default::default(),
    }
}

fn placeholder_connector(
    c: &v221::Cdr,
    standard: v211::ConnectorType,
    power_type: v211::PowerType,
) -> v211::Connector {
    v211::Connector {
        id: c.cdr_location.connector_id.clone(),
        standard,
        format: c.cdr_location.connector_format,
        power_type,
        voltage: 0,
        amperage: 0,
        tariff_id: None,
        terms_and_conditions: None,
        last_updated: c.last_updated.clone(),
        extra: Default::default(),
    }
}
