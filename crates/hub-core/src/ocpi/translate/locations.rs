//! Locations module: [`location_to_v221`]/[`location_to_v211`],
//! [`evse_to_v221`]/[`evse_to_v211`], [`connector_to_v221`]/[`connector_to_v211`],
//! [`hours_to_v221`]/[`hours_to_v211`], the enum mappings, and
//! [`relevant_location_to_v211`], the 2.1.1 Location of a Session or CDR (only its EVSE and
//! connector).
//!
//! Lossy parts (see `docs/ocpi-2.1.1-mapping.md`):
//! - 2.1.1 → 2.2.1: `type` `OTHER`/`UNKNOWN` become an absent `parking_type`; an empty
//!   `postal_code` becomes absent; an absent `twentyfourseven` becomes `false`; `country_code`,
//!   `party_id`, `publish` and a missing `time_zone` come from the [`LocationContext`].
//! - 2.2.1 → 2.1.1: `country_code`, `party_id`, `publish`, `publish_allowed_to`, `state` and a
//!   connector's `max_electric_power` are dropped, as are `tariff_ids` after the first;
//!   `parking_type` `ALONG_MOTORWAY`/`ON_DRIVEWAY` become `OTHER` and an absent one `UNKNOWN`;
//!   an absent `postal_code` becomes `""`; capabilities and facilities without a 2.1.1 value
//!   are left out; a connector whose `standard` or `power_type` has no 2.1.1 value cannot be
//!   converted, and is left out of its EVSE (an EVSE left without connectors is left out of
//!   its Location).

use super::types::{energy_mix_to_v211, energy_mix_to_v221, enum_map};
use super::{LocationContext, TranslateError, V211, V221};
use crate::ocpi::{v211, v221};

/// 2.1.1 Location → 2.2.1. Fails only when the location has no `time_zone` and the context
/// gives no default.
pub fn location_to_v221(
    l: &v211::Location,
    ctx: &LocationContext,
) -> Result<v221::Location, TranslateError> {
    let time_zone = l
        .time_zone
        .clone()
        .or_else(|| ctx.default_time_zone.clone())
        .ok_or_else(|| TranslateError::Missing {
            field: "time_zone".to_owned(),
            target: V221,
        })?;
    Ok(v221::Location {
        country_code: ctx.owner.country_code.clone(),
        party_id: ctx.owner.party_id.clone(),
        id: l.id.clone(),
        publish: ctx.publish,
        publish_allowed_to: None,
        name: l.name.clone(),
        address: l.address.clone(),
        city: l.city.clone(),
        postal_code: (!l.postal_code.is_empty()).then(|| l.postal_code.clone()),
        state: None,
        country: l.country.clone(),
        coordinates: l.coordinates.clone(),
        related_locations: l.related_locations.clone(),
        parking_type: parking_type_to_v221(l.r#type),
        evses: l
            .evses
            .as_ref()
            .map(|evses| evses.iter().map(evse_to_v221).collect()),
        directions: l.directions.clone(),
        operator: l.operator.clone(),
        suboperator: l.suboperator.clone(),
        owner: l.owner.clone(),
        facilities: l
            .facilities
            .as_ref()
            .map(|f| f.iter().map(|&f| facility_to_v221(f)).collect()),
        time_zone,
        opening_times: l.opening_times.as_ref().map(hours_to_v221),
        charging_when_closed: l.charging_when_closed,
        images: l.images.clone(),
        energy_mix: l.energy_mix.as_ref().map(energy_mix_to_v221),
        last_updated: l.last_updated.clone(),
        extra: l.extra.clone(),
    })
}

/// 2.2.1 Location → 2.1.1. EVSEs that cannot be represented (every connector has a standard
/// or power type 2.1.1 lacks) are left out.
pub fn location_to_v211(l: &v221::Location) -> v211::Location {
    let mut out = location_without_evses_to_v211(l);
    out.evses = l
        .evses
        .as_ref()
        .map(|evses| evses.iter().filter_map(|e| evse_to_v211(e).ok()).collect());
    out
}

/// The 2.1.1 Location of a Session or CDR: `l` with only the EVSE `evse_uid` and, in it, only
/// the connector `connector_id`. `#NA` for the EVSE (a reservation without EVSE) gives a
/// location without EVSEs. Fails when the EVSE or connector is not in `l`, or cannot be
/// represented in 2.1.1; fields of the error are paths in `l`.
pub fn relevant_location_to_v211(
    l: &v221::Location,
    evse_uid: &str,
    connector_id: &str,
) -> Result<v211::Location, TranslateError> {
    let mut out = location_without_evses_to_v211(l);
    if evse_uid == NOT_APPLICABLE {
        return Ok(out);
    }
    let evses = l.evses.as_deref().unwrap_or_default();
    let (i, evse) = evses
        .iter()
        .enumerate()
        .find(|(_, e)| e.uid == evse_uid)
        .ok_or_else(|| {
            TranslateError::context("evses", format!("location has no EVSE `{evse_uid}`"))
        })?;
    let mut evse = evse.clone();
    if connector_id != NOT_APPLICABLE {
        evse.connectors.retain(|c| c.id == connector_id);
        if evse.connectors.is_empty() {
            return Err(TranslateError::context(
                &format!("evses[{i}].connectors"),
                format!("EVSE `{evse_uid}` has no connector `{connector_id}`"),
            ));
        }
    }
    let evse = evse_to_v211(&evse).map_err(|e| e.within(&format!("evses[{i}]")))?;
    out.evses = Some(vec![evse]);
    Ok(out)
}

/// The value 2.2.1 puts in `evse_uid`, `evse_id` and `connector_id` when there is none (a
/// reservation that never became a session).
pub(crate) const NOT_APPLICABLE: &str = "#NA";

fn location_without_evses_to_v211(l: &v221::Location) -> v211::Location {
    v211::Location {
        id: l.id.clone(),
        r#type: parking_type_to_v211(l.parking_type),
        name: l.name.clone(),
        address: l.address.clone(),
        city: l.city.clone(),
        postal_code: l.postal_code.clone().unwrap_or_default(),
        country: l.country.clone(),
        coordinates: l.coordinates.clone(),
        related_locations: l.related_locations.clone(),
        evses: None,
        directions: l.directions.clone(),
        operator: l.operator.clone(),
        suboperator: l.suboperator.clone(),
        owner: l.owner.clone(),
        facilities: l
            .facilities
            .as_ref()
            .map(|f| f.iter().filter_map(|&f| facility_to_v211(f)).collect()),
        time_zone: Some(l.time_zone.clone()),
        opening_times: l.opening_times.as_ref().map(hours_to_v211),
        charging_when_closed: l.charging_when_closed,
        images: l.images.clone(),
        energy_mix: l.energy_mix.as_ref().map(energy_mix_to_v211),
        last_updated: l.last_updated.clone(),
        extra: l.extra.clone(),
    }
}

/// 2.1.1 EVSE → 2.2.1. Lossless.
pub fn evse_to_v221(e: &v211::Evse) -> v221::Evse {
    v221::Evse {
        uid: e.uid.clone(),
        evse_id: e.evse_id.clone(),
        status: e.status,
        status_schedule: e.status_schedule.clone(),
        capabilities: e
            .capabilities
            .as_ref()
            .map(|c| c.iter().map(|&c| capability_to_v221(c)).collect()),
        connectors: e.connectors.iter().map(connector_to_v221).collect(),
        floor_level: e.floor_level.clone(),
        coordinates: e.coordinates.clone(),
        physical_reference: e.physical_reference.clone(),
        directions: e.directions.clone(),
        parking_restrictions: e.parking_restrictions.clone(),
        images: e.images.clone(),
        last_updated: e.last_updated.clone(),
        extra: e.extra.clone(),
    }
}

/// 2.2.1 EVSE → 2.1.1. Capabilities without a 2.1.1 value are left out, and so are connectors
/// that cannot be represented; fails when no connector is left (with the first connector's
/// error).
pub fn evse_to_v211(e: &v221::Evse) -> Result<v211::Evse, TranslateError> {
    let mut connectors = Vec::with_capacity(e.connectors.len());
    let mut first_error = None;
    for (i, c) in e.connectors.iter().enumerate() {
        match connector_to_v211(c) {
            Ok(c) => connectors.push(c),
            Err(err) => {
                first_error.get_or_insert(err.within(&format!("connectors[{i}]")));
            }
        }
    }
    if connectors.is_empty()
        && let Some(err) = first_error
    {
        return Err(err);
    }
    Ok(v211::Evse {
        uid: e.uid.clone(),
        evse_id: e.evse_id.clone(),
        status: e.status,
        status_schedule: e.status_schedule.clone(),
        capabilities: e
            .capabilities
            .as_ref()
            .map(|c| c.iter().filter_map(|&c| capability_to_v211(c)).collect()),
        connectors,
        floor_level: e.floor_level.clone(),
        coordinates: e.coordinates.clone(),
        physical_reference: e.physical_reference.clone(),
        directions: e.directions.clone(),
        parking_restrictions: e.parking_restrictions.clone(),
        images: e.images.clone(),
        last_updated: e.last_updated.clone(),
        extra: e.extra.clone(),
    })
}

/// 2.1.1 Connector → 2.2.1: `voltage`/`amperage` become `max_voltage`/`max_amperage`, the
/// `tariff_id` a one-element `tariff_ids`.
pub fn connector_to_v221(c: &v211::Connector) -> v221::Connector {
    v221::Connector {
        id: c.id.clone(),
        standard: connector_type_to_v221(c.standard),
        format: c.format,
        power_type: power_type_to_v221(c.power_type),
        max_voltage: c.voltage,
        max_amperage: c.amperage,
        max_electric_power: None,
        tariff_ids: c.tariff_id.clone().map(|id| vec![id]),
        terms_and_conditions: c.terms_and_conditions.clone(),
        last_updated: c.last_updated.clone(),
        extra: c.extra.clone(),
    }
}

/// 2.2.1 Connector → 2.1.1: the first of `tariff_ids` becomes `tariff_id`;
/// `max_electric_power` is dropped. Fails when the `standard` or `power_type` has no 2.1.1
/// value.
pub fn connector_to_v211(c: &v221::Connector) -> Result<v211::Connector, TranslateError> {
    Ok(v211::Connector {
        id: c.id.clone(),
        standard: connector_type_to_v211(c.standard)
            .ok_or_else(|| TranslateError::no_equivalent("standard", c.standard, V211))?,
        format: c.format,
        power_type: power_type_to_v211(c.power_type)
            .ok_or_else(|| TranslateError::no_equivalent("power_type", c.power_type, V211))?,
        voltage: c.max_voltage,
        amperage: c.max_amperage,
        tariff_id: c.tariff_ids.as_ref().and_then(|ids| ids.first().cloned()),
        terms_and_conditions: c.terms_and_conditions.clone(),
        last_updated: c.last_updated.clone(),
        extra: c.extra.clone(),
    })
}

/// 2.1.1 Hours → 2.2.1: an absent `twentyfourseven` (2.1.1 gives regular hours instead)
/// becomes `false`.
pub fn hours_to_v221(h: &v211::Hours) -> v221::Hours {
    v221::Hours {
        twentyfourseven: h.twentyfourseven.unwrap_or(false),
        regular_hours: h.regular_hours.clone(),
        exceptional_openings: h.exceptional_openings.clone(),
        exceptional_closings: h.exceptional_closings.clone(),
        extra: h.extra.clone(),
    }
}

/// 2.2.1 Hours → 2.1.1: `twentyfourseven` is always written.
pub fn hours_to_v211(h: &v221::Hours) -> v211::Hours {
    v211::Hours {
        regular_hours: h.regular_hours.clone(),
        twentyfourseven: Some(h.twentyfourseven),
        exceptional_openings: h.exceptional_openings.clone(),
        exceptional_closings: h.exceptional_closings.clone(),
        extra: h.extra.clone(),
    }
}

/// 2.1.1 `LocationType` → 2.2.1 `parking_type`: `OTHER` and `UNKNOWN` have no 2.2.1 value and
/// become absent.
pub fn parking_type_to_v221(t: v211::LocationType) -> Option<v221::ParkingType> {
    use v211::LocationType as A;
    use v221::ParkingType as B;
    match t {
        A::OnStreet => Some(B::OnStreet),
        A::ParkingGarage => Some(B::ParkingGarage),
        A::UndergroundGarage => Some(B::UndergroundGarage),
        A::ParkingLot => Some(B::ParkingLot),
        A::Other | A::Unknown => None,
    }
}

/// 2.2.1 `parking_type` → 2.1.1 `LocationType`: `ALONG_MOTORWAY` and `ON_DRIVEWAY` become
/// `OTHER`, absent becomes `UNKNOWN` (the 2.1.1 default).
pub fn parking_type_to_v211(t: Option<v221::ParkingType>) -> v211::LocationType {
    use v211::LocationType as A;
    use v221::ParkingType as B;
    match t {
        Some(B::OnStreet) => A::OnStreet,
        Some(B::ParkingGarage) => A::ParkingGarage,
        Some(B::UndergroundGarage) => A::UndergroundGarage,
        Some(B::ParkingLot) => A::ParkingLot,
        Some(B::AlongMotorway | B::OnDriveway) => A::Other,
        None => A::Unknown,
    }
}

enum_map! {
    /// 2.1.1 `Capability` → 2.2.1 (same value).
    fn capability_to_v221;
    /// 2.2.1 `Capability` → 2.1.1; `None` for the values 2.1.1 lacks.
    fn capability_to_v211;
    v211::Capability => v221::Capability {
        ChargingProfileCapable, CreditCardPayable, RemoteStartStopCapable, Reservable,
        RfidReader, UnlockCapable,
    }
    v221_only {
        ChargingPreferencesCapable, ChipCardSupport, ContactlessCardSupport, DebitCardPayable,
        PedTerminal, StartSessionConnectorRequired, TokenGroupCapable,
    }
}

enum_map! {
    /// 2.1.1 `ConnectorType` → 2.2.1 (same value).
    fn connector_type_to_v221;
    /// 2.2.1 `ConnectorType` → 2.1.1; `None` for the standards 2.1.1 lacks.
    fn connector_type_to_v211;
    v211::ConnectorType => v221::ConnectorType {
        Chademo, DomesticA, DomesticB, DomesticC, DomesticD, DomesticE, DomesticF, DomesticG,
        DomesticH, DomesticI, DomesticJ, DomesticK, DomesticL, Iec60309_2Single16,
        Iec60309_2Three16, Iec60309_2Three32, Iec60309_2Three64, Iec62196T1, Iec62196T1Combo,
        Iec62196T2, Iec62196T2Combo, Iec62196T3a, Iec62196T3c, TeslaR, TeslaS,
    }
    v221_only {
        Chaoji, DomesticM, DomesticN, DomesticO, GbtAc, GbtDc, Nema5_20, Nema6_30, Nema6_50,
        Nema10_30, Nema10_50, Nema14_30, Nema14_50, PantographBottomUp, PantographTopDown,
    }
}

enum_map! {
    /// 2.1.1 `Facility` → 2.2.1 (same value).
    fn facility_to_v221;
    /// 2.2.1 `Facility` → 2.1.1; `None` for the values 2.1.1 lacks.
    fn facility_to_v211;
    v211::Facility => v221::Facility {
        Hotel, Restaurant, Cafe, Mall, Supermarket, Sport, RecreationArea, Nature, Museum,
        BusStop, TaxiStand, TrainStation, Airport, CarpoolParking, FuelStation, Wifi,
    }
    v221_only { BikeSharing, TramStop, MetroStation, ParkingLot }
}

enum_map! {
    /// 2.1.1 `PowerType` → 2.2.1 (same value).
    fn power_type_to_v221;
    /// 2.2.1 `PowerType` → 2.1.1; `None` for the two-phase types 2.1.1 lacks.
    fn power_type_to_v211;
    v211::PowerType => v221::PowerType { Ac1Phase, Ac3Phase, Dc }
    v221_only { Ac2Phase, Ac2PhaseSplit }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_keep_their_text() {
        for &c in v211::Capability::ALL {
            assert_eq!(capability_to_v221(c).as_str(), c.as_str());
        }
        for &c in v221::Capability::ALL {
            if let Some(v) = capability_to_v211(c) {
                assert_eq!(v.as_str(), c.as_str());
            }
        }
        for &c in v211::ConnectorType::ALL {
            assert_eq!(connector_type_to_v221(c).as_str(), c.as_str());
        }
        for &c in v221::ConnectorType::ALL {
            assert_eq!(
                connector_type_to_v211(c).map(|v| v.as_str()),
                c.as_str()
                    .parse::<v211::ConnectorType>()
                    .ok()
                    .map(|v| v.as_str())
            );
        }
        for &f in v221::Facility::ALL {
            assert_eq!(
                facility_to_v211(f).map(|v| v.as_str()),
                f.as_str()
                    .parse::<v211::Facility>()
                    .ok()
                    .map(|v| v.as_str())
            );
        }
        for &p in v221::PowerType::ALL {
            assert_eq!(
                power_type_to_v211(p).map(|v| v.as_str()),
                p.as_str()
                    .parse::<v211::PowerType>()
                    .ok()
                    .map(|v| v.as_str())
            );
        }
    }

    #[test]
    fn parking_type_round_trips() {
        for &t in v211::LocationType::ALL {
            let back = parking_type_to_v211(parking_type_to_v221(t));
            let expected = if t == v211::LocationType::Other {
                v211::LocationType::Unknown
            } else {
                t
            };
            assert_eq!(back, expected);
        }
    }
}
