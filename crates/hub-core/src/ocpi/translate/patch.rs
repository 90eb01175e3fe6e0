//! PATCH bodies: [`patch_to_v221`]/[`patch_to_v211`].
//!
//! A PATCH carries only the fields that change, so it cannot be read as a model: it is
//! translated at the JSON level, field by field, with the same rules as the whole-object
//! conversions (renames, value mappings, dropped fields). A field whose value is a whole
//! sub-object or list (`evses`, `connectors`, `opening_times`, `energy_mix`, `elements`,
//! `charging_periods`, a session's `location`) is converted with the object conversions of
//! this module; a value that does not parse as its model is copied as it is (the receiver of
//! the merged object validates it).
//!
//! | object | 2.1.1 | 2.2.1 |
//! |---|---|---|
//! | Location | `type` | `parking_type` (`OTHER`/`UNKNOWN` → field left out, to 2.2.1) |
//! | Location | — | `country_code`, `party_id`, `publish`, `publish_allowed_to`, `state` (dropped to 2.1.1) |
//! | Location | `postal_code` `""` | left out |
//! | Connector | `voltage`, `amperage`, `tariff_id` | `max_voltage`, `max_amperage`, `tariff_ids` (first element) |
//! | Connector | — | `max_electric_power` (dropped) |
//! | Session | `start_datetime`, `end_datetime` | `start_date_time`, `end_date_time` |
//! | Session | `auth_id` | `cdr_token` (built with the [`TokenIdentity`] given, as for whole sessions) |
//! | Session | `location` | `location_id`, `evse_uid`, `connector_id` (to 2.1.1: dropped, a 2.1.1 session PATCH would need the whole location) |
//! | Session | `total_cost` (number) | `total_cost` (Price; `incl_vat` dropped) |
//! | Session | — | `authorization_reference`, `country_code`, `party_id` (dropped) |
//! | Tariff | — | `country_code`, `party_id`, `type`, `min_price`, `max_price`, `start_date_time`, `end_date_time` (dropped) |
//! | Token | `auth_id` | `contract_id` |
//! | Token | — | `country_code`, `party_id`, `group_id`, `default_profile_type`, `energy_contract` (dropped) |

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::locations::{
    connector_to_v211, connector_to_v221, evse_to_v211, evse_to_v221, hours_to_v211, hours_to_v221,
    parking_type_to_v211, parking_type_to_v221,
};
use super::sessions::{
    auth_method_to_v211, cdr_token_for_auth_id, charging_periods_to_v211, charging_periods_to_v221,
    evse_and_connector, session_status_to_v211,
};
use super::tariffs::{tariff_to_v211, tariff_to_v221};
use super::tokens::token_type_to_v211;
use super::types::{energy_mix_to_v211, energy_mix_to_v221};
use super::{PartyKey, TokenIdentity, TranslateError, V211};
use crate::ocpi::{v211, v221};

/// The object a PATCH applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchObject {
    Location,
    Evse,
    Connector,
    Session,
    Tariff,
    Token,
}

impl PatchObject {
    /// The object of a PATCH to `module` whose URL has `segments` path segments below the
    /// module (`/{cc}/{pid}/{id}` = 3; an EVSE 4, a connector 5). `None` for modules without
    /// PATCH.
    pub fn of(module: &str, segments: usize) -> Option<Self> {
        Some(match (module, segments) {
            ("locations", 4) => Self::Evse,
            ("locations", 5) => Self::Connector,
            ("locations", _) => Self::Location,
            ("sessions", _) => Self::Session,
            ("tariffs", _) => Self::Tariff,
            ("tokens", _) => Self::Token,
            _ => return None,
        })
    }
}

/// A 2.1.1 PATCH body → 2.2.1. `token` is what the hub knows of the token behind a session's
/// `auth_id` (see [`cdr_token_for_auth_id`]). Fails only when `patch` is not a JSON object.
pub fn patch_to_v221(
    object: PatchObject,
    patch: &Value,
    token: Option<&TokenIdentity>,
) -> Result<Value, TranslateError> {
    let mut out = as_object(patch)?;
    match object {
        PatchObject::Location => {
            if let Some(t) = out.remove("type") {
                match serde_json::from_value::<v211::LocationType>(t.clone()) {
                    Ok(t) => {
                        if let Some(p) = parking_type_to_v221(t) {
                            out.insert("parking_type".into(), json!(p));
                        }
                    }
                    Err(_) => {
                        out.insert("parking_type".into(), t);
                    }
                }
            }
            if out.get("postal_code").is_some_and(|p| p == "") {
                out.remove("postal_code");
            }
            convert_list::<v211::Evse, _>(&mut out, "evses", |e| Ok(evse_to_v221(e)), false)?;
            convert::<v211::Hours, _>(&mut out, "opening_times", |h| Ok(hours_to_v221(h)))?;
            convert::<v211::EnergyMix, _>(&mut out, "energy_mix", |m| Ok(energy_mix_to_v221(m)))?;
        }
        PatchObject::Evse => {
            convert_list::<v211::Connector, _>(
                &mut out,
                "connectors",
                |c| Ok(connector_to_v221(c)),
                false,
            )?;
        }
        PatchObject::Connector => {
            rename(&mut out, "voltage", "max_voltage");
            rename(&mut out, "amperage", "max_amperage");
            if let Some(t) = out.remove("tariff_id") {
                out.insert(
                    "tariff_ids".into(),
                    if t.is_null() { json!([]) } else { json!([t]) },
                );
            }
        }
        PatchObject::Session => {
            rename(&mut out, "start_datetime", "start_date_time");
            rename(&mut out, "end_datetime", "end_date_time");
            if let Some(auth_id) = out.remove("auth_id") {
                match auth_id.as_str() {
                    Some(a) => {
                        out.insert("cdr_token".into(), json!(cdr_token_for_auth_id(a, token)));
                    }
                    None => {
                        out.insert("auth_id".into(), auth_id);
                    }
                }
            }
            if let Some(l) = out.remove("location") {
                match serde_json::from_value::<v211::Location>(l.clone()) {
                    Ok(l) => {
                        let (evse_uid, connector_id) = evse_and_connector(&l);
                        out.insert("location_id".into(), json!(l.id));
                        out.insert("evse_uid".into(), json!(evse_uid));
                        out.insert("connector_id".into(), json!(connector_id));
                    }
                    Err(_) => {
                        out.insert("location".into(), l);
                    }
                }
            }
            convert::<Vec<v211::ChargingPeriod>, _>(&mut out, "charging_periods", |p| {
                Ok(charging_periods_to_v221(p))
            })?;
            if let Some(c) = out.get("total_cost").filter(|c| c.is_number()).cloned() {
                out.insert("total_cost".into(), json!({ "excl_vat": c }));
            }
        }
        PatchObject::Tariff => {
            if let Some(elements) = out.get("elements").cloned() {
                let dummy = json!({"id": "x", "currency": "EUR", "elements": elements, "last_updated": "2000-01-01T00:00:00Z"});
                if let Ok(t) = serde_json::from_value::<v211::Tariff>(dummy) {
                    let t = tariff_to_v221(&t, &PartyKey::new("XX", "XXX"));
                    out.insert("elements".into(), json!(t.elements));
                }
            }
            convert::<v211::EnergyMix, _>(&mut out, "energy_mix", |m| Ok(energy_mix_to_v221(m)))?;
        }
        PatchObject::Token => {
            rename(&mut out, "auth_id", "contract_id");
        }
    }
    Ok(Value::Object(out))
}

/// A 2.2.1 PATCH body → 2.1.1. Fails when `patch` is not a JSON object, or a value has no
/// 2.1.1 equivalent and nothing is left of it (a connector `standard`/`power_type` 2.1.1
/// lacks, a `connectors` list of such connectors, a tariff whose elements are all reservation
/// elements).
pub fn patch_to_v211(object: PatchObject, patch: &Value) -> Result<Value, TranslateError> {
    let mut out = as_object(patch)?;
    match object {
        PatchObject::Location => {
            for f in [
                "country_code",
                "party_id",
                "publish",
                "publish_allowed_to",
                "state",
            ] {
                out.remove(f);
            }
            if let Some(p) = out.remove("parking_type") {
                let t = serde_json::from_value::<Option<v221::ParkingType>>(p)
                    .ok()
                    .flatten();
                out.insert("type".into(), json!(parking_type_to_v211(t)));
            }
            if out.get("postal_code").is_some_and(Value::is_null) {
                out.insert("postal_code".into(), json!(""));
            }
            convert_list::<v221::Evse, _>(&mut out, "evses", evse_to_v211, true)?;
            filter_values::<v211::Facility>(&mut out, "facilities");
            convert::<v221::Hours, _>(&mut out, "opening_times", |h| Ok(hours_to_v211(h)))?;
            convert::<v221::EnergyMix, _>(&mut out, "energy_mix", |m| Ok(energy_mix_to_v211(m)))?;
        }
        PatchObject::Evse => {
            filter_values::<v211::Capability>(&mut out, "capabilities");
            if let Some(list) = out.get("connectors").and_then(Value::as_array).cloned() {
                let mut converted = Vec::new();
                let mut first_error = None;
                for (i, c) in list.iter().enumerate() {
                    match serde_json::from_value::<v221::Connector>(c.clone()) {
                        Ok(c) => match connector_to_v211(&c) {
                            Ok(c) => converted.push(json!(c)),
                            Err(e) => {
                                first_error.get_or_insert(e.within(&format!("connectors[{i}]")));
                            }
                        },
                        Err(_) => converted.push(c.clone()),
                    }
                }
                if converted.is_empty()
                    && let Some(e) = first_error
                {
                    return Err(e);
                }
                out.insert("connectors".into(), Value::Array(converted));
            }
        }
        PatchObject::Connector => {
            rename(&mut out, "max_voltage", "voltage");
            rename(&mut out, "max_amperage", "amperage");
            out.remove("max_electric_power");
            if let Some(ids) = out.remove("tariff_ids") {
                let first = ids
                    .as_array()
                    .and_then(|a| a.first().cloned())
                    .unwrap_or(Value::Null);
                out.insert("tariff_id".into(), first);
            }
            for field in ["standard", "power_type"] {
                if let Some(v) = out.get(field).and_then(Value::as_str) {
                    let ok = match field {
                        "standard" => v.parse::<v211::ConnectorType>().is_ok(),
                        _ => v.parse::<v211::PowerType>().is_ok(),
                    };
                    if !ok {
                        return Err(TranslateError::no_equivalent(field, v, V211));
                    }
                }
            }
        }
        PatchObject::Session => {
            for f in [
                "country_code",
                "party_id",
                "authorization_reference",
                "location_id",
                "evse_uid",
                "connector_id",
            ] {
                out.remove(f);
            }
            rename(&mut out, "start_date_time", "start_datetime");
            rename(&mut out, "end_date_time", "end_datetime");
            if let Some(t) = out.remove("cdr_token")
                && let Some(c) = t.get("contract_id")
            {
                out.insert("auth_id".into(), c.clone());
            }
            if let Some(c) = out
                .get("total_cost")
                .and_then(|c| c.get("excl_vat"))
                .cloned()
            {
                out.insert("total_cost".into(), c);
            }
            convert::<Vec<v221::ChargingPeriod>, _>(&mut out, "charging_periods", |p| {
                Ok(charging_periods_to_v211(p))
            })?;
            map_value::<v221::SessionStatus, _, _>(&mut out, "status", session_status_to_v211);
            map_value::<v221::AuthMethod, _, _>(&mut out, "auth_method", auth_method_to_v211);
        }
        PatchObject::Tariff => {
            for f in [
                "country_code",
                "party_id",
                "type",
                "min_price",
                "max_price",
                "start_date_time",
                "end_date_time",
            ] {
                out.remove(f);
            }
            if let Some(elements) = out.get("elements").cloned() {
                let dummy = json!({"country_code": "XX", "party_id": "XXX", "id": "x", "currency": "EUR", "elements": elements, "last_updated": "2000-01-01T00:00:00Z"});
                if let Ok(t) = serde_json::from_value::<v221::Tariff>(dummy) {
                    let t = tariff_to_v211(&t)?;
                    out.insert("elements".into(), json!(t.elements));
                }
            }
            convert::<v221::EnergyMix, _>(&mut out, "energy_mix", |m| Ok(energy_mix_to_v211(m)))?;
        }
        PatchObject::Token => {
            for f in [
                "country_code",
                "party_id",
                "group_id",
                "default_profile_type",
                "energy_contract",
            ] {
                out.remove(f);
            }
            rename(&mut out, "contract_id", "auth_id");
            map_value::<v221::TokenType, _, _>(&mut out, "type", token_type_to_v211);
        }
    }
    Ok(Value::Object(out))
}

fn as_object(patch: &Value) -> Result<Map<String, Value>, TranslateError> {
    patch
        .as_object()
        .cloned()
        .ok_or_else(|| TranslateError::context("", "a PATCH body must be a JSON object"))
}

fn rename(out: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = out.remove(from) {
        out.insert(to.into(), v);
    }
}

/// Converts the value of `field` as a whole model; a value that does not parse is kept.
fn convert<A: DeserializeOwned, B: Serialize>(
    out: &mut Map<String, Value>,
    field: &str,
    f: impl FnOnce(&A) -> Result<B, TranslateError>,
) -> Result<(), TranslateError> {
    let Some(v) = out.get(field) else {
        return Ok(());
    };
    if let Ok(a) = serde_json::from_value::<A>(v.clone()) {
        let b = f(&a).map_err(|e| e.within(field))?;
        out.insert(field.into(), json!(b));
    }
    Ok(())
}

/// Converts each element of the list `field`; with `leave_out`, elements that fail are left
/// out (and the first error is returned only when nothing is left).
fn convert_list<A: DeserializeOwned, B: Serialize>(
    out: &mut Map<String, Value>,
    field: &str,
    f: impl Fn(&A) -> Result<B, TranslateError>,
    leave_out: bool,
) -> Result<(), TranslateError> {
    let Some(list) = out.get(field).and_then(Value::as_array).cloned() else {
        return Ok(());
    };
    let mut converted = Vec::with_capacity(list.len());
    let mut first_error = None;
    for (i, v) in list.iter().enumerate() {
        match serde_json::from_value::<A>(v.clone()) {
            Ok(a) => match f(&a) {
                Ok(b) => converted.push(json!(b)),
                Err(e) if leave_out => {
                    first_error.get_or_insert(e.within(&format!("{field}[{i}]")));
                }
                Err(e) => return Err(e.within(&format!("{field}[{i}]"))),
            },
            Err(_) => converted.push(v.clone()),
        }
    }
    if converted.is_empty()
        && let Some(e) = first_error
    {
        return Err(e);
    }
    out.insert(field.into(), Value::Array(converted));
    Ok(())
}

/// Keeps the strings of the list `field` that are values of the 2.1.1 enum `T`.
fn filter_values<T: std::str::FromStr>(out: &mut Map<String, Value>, field: &str) {
    if let Some(list) = out.get_mut(field).and_then(Value::as_array_mut) {
        list.retain(|v| v.as_str().is_some_and(|s| s.parse::<T>().is_ok()));
    }
}

/// Maps the enum value of `field` with `f` (values that do not parse are kept).
fn map_value<A: DeserializeOwned, B: Serialize, F: Fn(A) -> B>(
    out: &mut Map<String, Value>,
    field: &str,
    f: F,
) {
    if let Some(v) = out.get(field)
        && let Ok(a) = serde_json::from_value::<A>(v.clone())
    {
        out.insert(field.into(), json!(f(a)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_fields_are_renamed_both_ways() {
        let p = json!({"voltage": 230, "tariff_id": "T1", "last_updated": "2024-01-01T00:00:00Z"});
        let v221 = patch_to_v221(PatchObject::Connector, &p, None).unwrap();
        assert_eq!(
            v221,
            json!({"max_voltage": 230, "tariff_ids": ["T1"], "last_updated": "2024-01-01T00:00:00Z"})
        );
        assert_eq!(patch_to_v211(PatchObject::Connector, &v221).unwrap(), p);
        let gbt = json!({"standard": "GBT_DC"});
        assert!(patch_to_v211(PatchObject::Connector, &gbt).is_err());
    }

    #[test]
    fn location_type_and_session_cost() {
        let v221 = patch_to_v221(
            PatchObject::Location,
            &json!({"type": "ON_STREET", "name": "x"}),
            None,
        )
        .unwrap();
        assert_eq!(v221, json!({"parking_type": "ON_STREET", "name": "x"}));
        let back = patch_to_v211(
            PatchObject::Location,
            &json!({"parking_type": "ALONG_MOTORWAY", "publish": true}),
        )
        .unwrap();
        assert_eq!(back, json!({"type": "OTHER"}));
        let s = patch_to_v221(
            PatchObject::Session,
            &json!({"total_cost": 0.6, "kwh": 1.5}),
            None,
        )
        .unwrap();
        assert_eq!(s, json!({"total_cost": {"excl_vat": 0.6}, "kwh": 1.5}));
        let s = patch_to_v211(
            PatchObject::Session,
            &json!({"total_cost": {"excl_vat": 0.6, "incl_vat": 0.7}, "status": "RESERVATION"}),
        )
        .unwrap();
        assert_eq!(s, json!({"total_cost": 0.6, "status": "PENDING"}));
    }

    #[test]
    fn token_fields() {
        let t = patch_to_v211(
            PatchObject::Token,
            &json!({"contract_id": "C1", "type": "APP_USER", "group_id": "G"}),
        )
        .unwrap();
        assert_eq!(t, json!({"auth_id": "C1", "type": "OTHER"}));
        let t = patch_to_v221(
            PatchObject::Token,
            &json!({"auth_id": "C1", "valid": false}),
            None,
        )
        .unwrap();
        assert_eq!(t, json!({"contract_id": "C1", "valid": false}));
    }
}
