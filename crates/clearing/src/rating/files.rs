//! JSON in, JSON out: reading a tariff and a CDR from their JSON ([`parse_tariff`],
//! [`parse_cdr`]), choosing the time zone ([`resolve_time_zone`]) and [`price_files`], what
//! `ocpi-hub cdr price --tariff T.json --cdr C.json [--time-zone TZ]` prints.
//!
//! JSON numbers with a fraction are handed to the models as their decimal text, so a price
//! reads as exactly the digits written whatever serde_json's number features are (with its
//! `arbitrary_precision` feature on, which some dependencies turn on, the models' decimal
//! fields would otherwise not see a plain number).

use chrono_tz::Tz;
use hub_core::ocpi::v221::{Cdr, ParseError, Tariff, Validate, decimal_number, from_value};
use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::math::round;
use super::tariff::CompiledTariff;
use super::totals::{CdrTotals, price};
use super::{RatingError, price_cdr};

/// Reads and validates an OCPI 2.2.1 Tariff.
pub fn parse_tariff(json: &[u8]) -> Result<Tariff, RatingError> {
    parse(json).map_err(RatingError::InvalidTariff)
}

/// Reads and validates an OCPI 2.2.1 CDR.
pub fn parse_cdr(json: &[u8]) -> Result<Cdr, RatingError> {
    parse(json).map_err(RatingError::InvalidCdr)
}

fn parse<T: DeserializeOwned + Validate>(json: &[u8]) -> Result<T, ParseError> {
    let mut value: Value =
        serde_json::from_slice(json).map_err(|e| ParseError::Syntax(e.to_string()))?;
    fractions_as_text(&mut value);
    from_value(value)
}

/// Replaces every JSON number that is not an integer by a string of its digits.
fn fractions_as_text(value: &mut Value) {
    match value {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => *value = Value::String(n.to_string()),
        Value::Array(items) => items.iter_mut().for_each(fractions_as_text),
        Value::Object(map) => map.values_mut().for_each(fractions_as_text),
        _ => {}
    }
}

/// The time zone to rate in: `explicit` (an IANA name) when given; else the zone of the CDR's
/// country when it has only one ([`time_zone_of_country`]); else UTC when the tariff has no
/// local-time restriction (the zone then does not matter); else an error.
pub fn resolve_time_zone(
    explicit: Option<&str>,
    tariff: &Tariff,
    cdr: &Cdr,
) -> Result<Tz, RatingError> {
    if let Some(name) = explicit {
        return name
            .parse::<Tz>()
            .map_err(|_| RatingError::UnknownTimeZone(name.to_owned()));
    }
    let country = &cdr.cdr_location.country;
    if let Some(tz) = time_zone_of_country(country) {
        return Ok(tz);
    }
    if CompiledTariff::new(tariff)?.needs_local_time() {
        return Err(RatingError::TimeZoneRequired {
            country: country.clone(),
        });
    }
    Ok(Tz::UTC)
}

/// The time zone of a country (ISO 3166-1 alpha-3, as in `CdrLocation.country`) that has
/// exactly one: the European countries where OCPI is used. Countries with several zones
/// (e.g. PRT with the Azores, ESP with the Canaries) give `None`.
pub fn time_zone_of_country(alpha3: &str) -> Option<Tz> {
    use chrono_tz::{Atlantic, Europe};
    let tz = match alpha3.to_ascii_uppercase().as_str() {
        "AUT" => Europe::Vienna,
        "BEL" => Europe::Brussels,
        "BGR" => Europe::Sofia,
        "CHE" => Europe::Zurich,
        "CZE" => Europe::Prague,
        "DEU" => Europe::Berlin,
        "DNK" => Europe::Copenhagen,
        "EST" => Europe::Tallinn,
        "FIN" => Europe::Helsinki,
        "FRA" => Europe::Paris,
        "GBR" => Europe::London,
        "GRC" => Europe::Athens,
        "HRV" => Europe::Zagreb,
        "HUN" => Europe::Budapest,
        "IRL" => Europe::Dublin,
        "ISL" => Atlantic::Reykjavik,
        "ITA" => Europe::Rome,
        "LIE" => Europe::Vaduz,
        "LTU" => Europe::Vilnius,
        "LUX" => Europe::Luxembourg,
        "LVA" => Europe::Riga,
        "MLT" => Europe::Malta,
        "NLD" => Europe::Amsterdam,
        "NOR" => Europe::Oslo,
        "POL" => Europe::Warsaw,
        "ROU" => Europe::Bucharest,
        "SRB" => Europe::Belgrade,
        "SVK" => Europe::Bratislava,
        "SVN" => Europe::Ljubljana,
        "SWE" => Europe::Stockholm,
        _ => return None,
    };
    Some(tz)
}

/// A price as the CLI prints it: both fields always there, `incl_vat` `null` when unknown.
#[derive(Serialize)]
struct CliPrice {
    #[serde(with = "decimal_number")]
    excl_vat: Decimal,
    #[serde(with = "decimal_number::option")]
    incl_vat: Option<Decimal>,
}

#[derive(Serialize)]
struct CliTotals {
    time_zone: String,
    total_cost: CliPrice,
    total_fixed_cost: CliPrice,
    total_energy_cost: CliPrice,
    total_time_cost: CliPrice,
    total_parking_cost: CliPrice,
    total_reservation_cost: CliPrice,
    #[serde(with = "decimal_number")]
    total_energy: Decimal,
    #[serde(with = "decimal_number")]
    total_time: Decimal,
    #[serde(with = "decimal_number")]
    total_parking_time: Decimal,
}

impl CliTotals {
    fn new(t: &CdrTotals, tz: Tz) -> Self {
        let p = |p: &Option<hub_core::ocpi::v221::Price>| {
            let p = p
                .clone()
                .unwrap_or_else(|| price(Decimal::ZERO, Some(Decimal::ZERO)));
            CliPrice {
                excl_vat: p.excl_vat,
                incl_vat: p.incl_vat,
            }
        };
        Self {
            time_zone: tz.name().to_owned(),
            total_cost: p(&Some(t.total_cost.clone())),
            total_fixed_cost: p(&t.total_fixed_cost),
            total_energy_cost: p(&t.total_energy_cost),
            total_time_cost: p(&t.total_time_cost),
            total_parking_cost: p(&t.total_parking_cost),
            total_reservation_cost: p(&t.total_reservation_cost),
            total_energy: t.total_energy,
            total_time: t.total_time,
            total_parking_time: round(t.total_parking_time.unwrap_or_default()),
        }
    }
}

/// `ocpi-hub cdr price`: prices the CDR in `cdr_json` with the tariff in `tariff_json`, in the
/// time zone `tz` (see [`resolve_time_zone`] when `None`), and returns
///
/// ```json
/// {"time_zone": "Europe/Amsterdam",
///  "total_cost": {"excl_vat": 7.0, "incl_vat": 7.9},
///  "total_fixed_cost": {...}, "total_energy_cost": {...}, "total_time_cost": {...},
///  "total_parking_cost": {...}, "total_reservation_cost": {...},
///  "total_energy": 20.0, "total_time": 1.6667, "total_parking_time": 0.6667}
/// ```
///
/// Every cost is there with both `excl_vat` and `incl_vat` (0 for a dimension the tariff did
/// not price); `incl_vat` is `null` when it cannot be known (a price component without `vat`).
pub fn price_files(
    tariff_json: &[u8],
    cdr_json: &[u8],
    tz: Option<&str>,
) -> Result<Value, RatingError> {
    let tariff = parse_tariff(tariff_json)?;
    let cdr = parse_cdr(cdr_json)?;
    let tz = resolve_time_zone(tz, &tariff, &cdr)?;
    let totals = price_cdr(&tariff, &cdr, tz)?;
    serde_json::to_value(CliTotals::new(&totals, tz))
        .map_err(|e| RatingError::Output(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_become_text_integers_stay() {
        let mut v: Value =
            serde_json::from_str(r#"{"a": 0.25, "b": [1, 2.50], "c": "x", "d": 7}"#).unwrap();
        fractions_as_text(&mut v);
        assert_eq!(v["a"], Value::String("0.25".into()));
        assert!(v["b"][0].is_u64());
        assert!(v["b"][1].is_string());
        assert_eq!(v["d"], Value::from(7));
    }

    #[test]
    fn country_zones() {
        assert_eq!(
            time_zone_of_country("NLD"),
            Some(chrono_tz::Europe::Amsterdam)
        );
        assert_eq!(
            time_zone_of_country("bel"),
            Some(chrono_tz::Europe::Brussels)
        );
        assert_eq!(time_zone_of_country("PRT"), None);
        assert_eq!(time_zone_of_country("USA"), None);
    }
}
