//! Shared OCPI 2.2.1 types: the generic types of `types.asciidoc` (`DateTime`, `DisplayText`,
//! `Price`, `Role`) and the classes several modules reuse (`BusinessDetails`, `Image`,
//! `GeoLocation`, `EnergyMix` with its sources and environmental impact).
//!
//! Also home of the serde helpers every model uses:
//! - [`DateTime`]: an OCPI timestamp that remembers the exact text it was read from;
//! - [`decimal_number`]: (de)serializes a [`Decimal`] as a JSON number without going through
//!   `f64` on the way out;
//! - [`Extra`]: the map of unknown fields each object keeps (`#[serde(flatten)]`);
//! - `ocpi_enum!`: defines a strict enum over the spec's exact value strings.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use chrono::{NaiveDateTime, Timelike, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::parse::{FieldError, Fields, Rule, Validate};

/// Unknown fields of an object, kept so they pass through the hub untouched.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// The value string of an enum was not one of the spec's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {type_name} value `{value}`")]
pub struct UnknownVariant {
    pub type_name: &'static str,
    pub value: String,
}

/// Defines a strict OCPI enum: every variant carries its exact spec value string; serde rejects
/// any other value (serde's error names the expected values). Also gives `as_str`, `ALL`,
/// `Display` and `FromStr`.
macro_rules! ocpi_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in spec order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The spec's value string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ocpi::v221::types::UnknownVariant;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok(Self::$variant), )+
                    _ => Err($crate::ocpi::v221::types::UnknownVariant {
                        type_name: stringify!($name),
                        value: s.to_owned(),
                    }),
                }
            }
        }
    };
}
pub(crate) use ocpi_enum;

// ---------------------------------------------------------------------------------------------
// DateTime
// ---------------------------------------------------------------------------------------------

/// An OCPI `DateTime` (types.asciidoc): RFC 3339 in UTC, `Z` optional (its absence means UTC),
/// fractional seconds optional. Offsets such as `+00:00` are not allowed by the spec and are
/// rejected.
///
/// A parsed value keeps the exact text it was read from and serializes it back unchanged, so
/// objects pass through byte-identical. A constructed value ([`DateTime::from_utc`],
/// [`DateTime::now`]) is truncated to milliseconds and written as `YYYY-MM-DDTHH:MM:SSZ`, or
/// `YYYY-MM-DDTHH:MM:SS.mmmZ` when the milliseconds are not zero.
///
/// Equality, ordering and hashing are by instant, not by text.
#[derive(Clone)]
pub struct DateTime {
    instant: chrono::DateTime<Utc>,
    text: Box<str>,
}

/// A string that is not an OCPI `DateTime`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid DateTime `{0}`: expected YYYY-MM-DDThh:mm:ss, optional fractional seconds, \
     optional `Z` (UTC only)"
)]
pub struct DateTimeError(pub String);

impl DateTime {
    /// Parses an OCPI timestamp, keeping its text.
    pub fn parse(text: &str) -> Result<Self, DateTimeError> {
        let instant = parse_ocpi_timestamp(text).ok_or_else(|| DateTimeError(text.to_owned()))?;
        Ok(Self {
            instant,
            text: text.into(),
        })
    }

    /// A timestamp for `instant`, truncated to milliseconds, in the canonical form.
    pub fn from_utc(instant: chrono::DateTime<Utc>) -> Self {
        let millis = instant.nanosecond() / 1_000_000;
        let instant = instant
            .with_nanosecond(millis * 1_000_000)
            .unwrap_or(instant);
        let text = if millis == 0 {
            instant.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        } else {
            instant.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        };
        Self {
            instant,
            text: text.into(),
        }
    }

    /// The current time (milliseconds precision).
    pub fn now() -> Self {
        Self::from_utc(Utc::now())
    }

    /// The instant, in UTC.
    pub fn utc(&self) -> chrono::DateTime<Utc> {
        self.instant
    }

    /// The text this value serializes to (the text it was parsed from, if it was parsed).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// `YYYY-MM-DDThh:mm:ss[.f{1,9}][Z]`
fn parse_ocpi_timestamp(text: &str) -> Option<chrono::DateTime<Utc>> {
    let body = text.strip_suffix('Z').unwrap_or(text);
    if body.len() < 19 || !body.is_char_boundary(19) {
        return None;
    }
    let (main, fraction) = body.split_at(19);
    let shape_ok = main.bytes().enumerate().all(|(i, c)| match i {
        4 | 7 => c == b'-',
        10 => c == b'T',
        13 | 16 => c == b':',
        _ => c.is_ascii_digit(),
    });
    if !shape_ok {
        return None;
    }
    let nanos = if fraction.is_empty() {
        0
    } else {
        let digits = fraction.strip_prefix('.')?;
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32)
    };
    let naive = NaiveDateTime::parse_from_str(main, "%Y-%m-%dT%H:%M:%S").ok()?;
    Some(naive.with_nanosecond(nanos)?.and_utc())
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(instant: chrono::DateTime<Utc>) -> Self {
        Self::from_utc(instant)
    }
}

impl FromStr for DateTime {
    type Err = DateTimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DateTime({})", self.text)
    }
}

impl PartialEq for DateTime {
    fn eq(&self, other: &Self) -> bool {
        self.instant == other.instant
    }
}

impl Eq for DateTime {}

impl PartialOrd for DateTime {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DateTime {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.instant.cmp(&other.instant)
    }
}

impl Hash for DateTime {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.instant.hash(state);
    }
}

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = DateTime;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OCPI DateTime string")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DateTime, E> {
                DateTime::parse(v).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Decimals
// ---------------------------------------------------------------------------------------------

/// Serde helper for `Decimal` fields: use `#[serde(with = "decimal_number")]`, or
/// `#[serde(default, with = "decimal_number::option", skip_serializing_if = "Option::is_none")]`
/// for an optional field.
///
/// Serializes as a JSON number (not a string) through `serde_json::value::RawValue`, so the
/// digits never pass through `f64`: trailing zeros are dropped, but a value that has a fraction
/// part keeps at least one fractional digit (`2.00` is written `2.0`, an integer `300` stays
/// `300`), so a JSON float stays a float and an integer an integer.
///
/// Deserializes from a JSON number or a numeric string. Without serde_json's
/// `arbitrary_precision` a JSON fraction reaches us as an `f64`; it is converted through its
/// shortest round-trip text (`0.1` becomes exactly `0.1`), which is exact for every number with
/// at most 15 significant digits.
///
/// The raw-value output only works with serde_json serializers (`to_string`, `to_vec`,
/// `to_value`, `to_writer`), which is what OCPI uses.
pub mod decimal_number {
    use std::fmt;
    use std::str::FromStr;

    use rust_decimal::Decimal;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serialize, Serializer};
    use serde_json::value::RawValue;

    /// The JSON text of a decimal, as written by [`serialize`].
    pub fn to_json_text(d: &Decimal) -> String {
        let n = d.normalize();
        if n.scale() == 0 && d.scale() > 0 {
            format!("{n}.0")
        } else {
            n.to_string()
        }
    }

    pub fn serialize<S: Serializer>(d: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(to_json_text(d)).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        deserializer.deserialize_any(DecimalVisitor)
    }

    struct DecimalVisitor;

    impl Visitor<'_> for DecimalVisitor {
        type Value = Decimal;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a decimal number")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
            if !v.is_finite() {
                return Err(E::custom("number is not finite"));
            }
            // Rust prints the shortest text that reads back as the same f64, never in
            // exponent form.
            let text = v.to_string();
            let mut d = Decimal::from_str(&text)
                .map_err(|_| E::custom(format!("number {text} is out of range for a decimal")))?;
            if !text.contains('.') {
                // A JSON fraction such as `2.00`: keep it a fraction.
                d.rescale(1);
            }
            Ok(d)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
            Decimal::from_str(v)
                .or_else(|_| Decimal::from_scientific(v))
                .map_err(|_| E::custom(format!("invalid decimal number `{v}`")))
        }
    }

    /// The `Option<Decimal>` variant of [`decimal_number`](self).
    pub mod option {
        use rust_decimal::Decimal;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            d: &Option<Decimal>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Decimal>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapper(#[serde(with = "super")] Decimal);
            Ok(Option::<Wrapper>::deserialize(deserializer)?.map(|Wrapper(d)| d))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Generic classes
// ---------------------------------------------------------------------------------------------

/// `DisplayText` class: a text in one language.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DisplayText {
    /// ISO 639-1 language code, string(2).
    pub language: String,
    /// string(512), no markup.
    pub text: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for DisplayText {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            ("language", Some(&self.language), Rule::Language),
            ("text", Some(&self.text), Rule::Str(512)),
        ]);
    }
}

/// `Price` class: an amount excluding and (optionally) including VAT.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Price {
    #[serde(with = "decimal_number")]
    pub excl_vat: Decimal,
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub incl_vat: Option<Decimal>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Price {
    fn validate(&self, _path: &str, _errors: &mut Vec<FieldError>) {}
}

ocpi_enum! {
    /// `Role` enum: the role of a party.
    pub enum Role {
        /// Charge Point Operator.
        Cpo = "CPO",
        /// eMobility Service Provider.
        Emsp = "EMSP",
        /// Hub.
        Hub = "HUB",
        /// National Access Point (national database of all locations of a country).
        Nap = "NAP",
        /// Navigation Service Provider.
        Nsp = "NSP",
        /// Other role.
        Other = "OTHER",
        /// Smart Charging Service Provider.
        Scsp = "SCSP",
    }
}

/// `BusinessDetails` class (locations module): name, website and logo of a party.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BusinessDetails {
    /// string(100)
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Image>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for BusinessDetails {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("name", Some(&self.name), Rule::Str(100)),
                ("website", self.website.as_ref(), Rule::Url),
            ])
            .object("logo", self.logo.as_ref());
    }
}

/// `Image` class (locations module): a reference to an image.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Image {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    pub category: ImageCategory,
    /// Image type like gif, jpeg, png, svg; CiString(4).
    pub r#type: String,
    /// int(5)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// int(5)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Image {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        let mut f = Fields::new(path, errors);
        f.strings(&[
            ("url", Some(&self.url), Rule::Url),
            ("thumbnail", self.thumbnail.as_ref(), Rule::Url),
            ("type", Some(&self.r#type), Rule::CiString(4)),
        ]);
        for (field, value) in [("width", self.width), ("height", self.height)] {
            f.require(
                value.is_none_or(|v| v <= 99_999),
                field,
                "must be at most 5 digits (int(5))",
            );
        }
    }
}

ocpi_enum! {
    /// `ImageCategory` enum: what an image is used for.
    pub enum ImageCategory {
        Charger = "CHARGER",
        Entrance = "ENTRANCE",
        Location = "LOCATION",
        Network = "NETWORK",
        Operator = "OPERATOR",
        Other = "OTHER",
        Owner = "OWNER",
    }
}

/// `GeoLocation` class (locations module): WGS 84 coordinates as decimal-degree strings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GeoLocation {
    /// string(10), `-?[0-9]{1,2}\.[0-9]{5,7}`
    pub latitude: String,
    /// string(11), `-?[0-9]{1,3}\.[0-9]{5,7}`
    pub longitude: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for GeoLocation {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            ("latitude", Some(&self.latitude), Rule::Latitude),
            ("longitude", Some(&self.longitude), Rule::Longitude),
        ]);
    }
}

/// `EnergyMix` class (locations module): energy mix and environmental impact of the supplied
/// energy, at a location or in a tariff.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnergyMix {
    pub is_green_energy: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_sources: Option<Vec<EnergySource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environ_impact: Option<Vec<EnvironmentalImpact>>,
    /// string(64)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_name: Option<String>,
    /// string(64)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_product_name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for EnergyMix {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("supplier_name", self.supplier_name.as_ref(), Rule::Str(64)),
                (
                    "energy_product_name",
                    self.energy_product_name.as_ref(),
                    Rule::Str(64),
                ),
            ])
            .list("energy_sources", self.energy_sources.as_deref())
            .list("environ_impact", self.environ_impact.as_deref());
    }
}

/// `EnergySource` class: share of one category of source in an energy mix.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnergySource {
    pub source: EnergySourceCategory,
    /// Percentage (0-100).
    #[serde(with = "decimal_number")]
    pub percentage: Decimal,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for EnergySource {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        let in_range = (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&self.percentage);
        Fields::new(path, errors).require(in_range, "percentage", "must be between 0 and 100");
    }
}

ocpi_enum! {
    /// `EnergySourceCategory` enum.
    pub enum EnergySourceCategory {
        Nuclear = "NUCLEAR",
        GeneralFossil = "GENERAL_FOSSIL",
        Coal = "COAL",
        Gas = "GAS",
        GeneralGreen = "GENERAL_GREEN",
        Solar = "SOLAR",
        Wind = "WIND",
        Water = "WATER",
    }
}

/// `EnvironmentalImpact` class: amount of waste produced/emitted per kWh.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnvironmentalImpact {
    pub category: EnvironmentalImpactCategory,
    /// g/kWh
    #[serde(with = "decimal_number")]
    pub amount: Decimal,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for EnvironmentalImpact {
    fn validate(&self, _path: &str, _errors: &mut Vec<FieldError>) {}
}

ocpi_enum! {
    /// `EnvironmentalImpactCategory` enum.
    pub enum EnvironmentalImpactCategory {
        NuclearWaste = "NUCLEAR_WASTE",
        CarbonDioxide = "CARBON_DIOXIDE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Amount {
        #[serde(with = "decimal_number")]
        v: Decimal,
        #[serde(
            default,
            with = "decimal_number::option",
            skip_serializing_if = "Option::is_none"
        )]
        o: Option<Decimal>,
    }

    #[test]
    fn decimals_round_trip_exactly() {
        for text in [
            "0.1",
            "2.1",
            "0.25",
            "1234567.8912",
            "300",
            "-4.4",
            "0.0006",
            "2.0",
        ] {
            let json = format!(r#"{{"v":{text},"o":{text}}}"#);
            let a: Amount = serde_json::from_str(&json).unwrap();
            assert_eq!(a.v, Decimal::from_str(text).unwrap(), "{text}");
            assert_eq!(a.o, Some(a.v));
            assert_eq!(serde_json::to_string(&a).unwrap(), json);
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(serde_json::to_value(&a).unwrap(), value);
        }
    }

    #[test]
    fn decimal_fraction_stays_a_json_float() {
        let a: Amount = serde_json::from_str(r#"{"v":2.00}"#).unwrap();
        assert_eq!(a.v, Decimal::TWO);
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"v":2.0}"#);
        let constructed = Amount {
            v: Decimal::from_str("4.400").unwrap(),
            o: None,
        };
        assert_eq!(serde_json::to_string(&constructed).unwrap(), r#"{"v":4.4}"#);
    }

    #[test]
    fn decimal_reads_strings_and_null() {
        let a: Amount = serde_json::from_str(r#"{"v":"0.1","o":null}"#).unwrap();
        assert_eq!(
            a,
            Amount {
                v: Decimal::from_str("0.1").unwrap(),
                o: None
            }
        );
        assert!(serde_json::from_str::<Amount>(r#"{"v":"abc"}"#).is_err());
        assert!(serde_json::from_str::<Amount>(r#"{"v":true}"#).is_err());
    }

    #[test]
    fn datetime_forms() {
        for text in [
            "2015-06-29T20:39:09Z",
            "2015-06-29T20:39:09",
            "2016-12-29T17:45:09.2Z",
            "2016-12-29T17:45:09.2",
            "2018-01-01T01:08:01.123Z",
            "2018-01-01T01:08:01.123",
        ] {
            let dt = DateTime::parse(text).unwrap();
            assert_eq!(dt.as_str(), text);
            assert_eq!(serde_json::to_value(&dt).unwrap(), serde_json::json!(text));
        }
        assert_eq!(
            DateTime::parse("2015-06-29T20:39:09Z").unwrap(),
            DateTime::parse("2015-06-29T20:39:09").unwrap()
        );
        assert_eq!(
            DateTime::parse("2016-12-29T17:45:09.2Z")
                .unwrap()
                .utc()
                .timestamp_subsec_millis(),
            200
        );
        assert!(
            DateTime::parse("2015-06-29T20:39:09.1").unwrap()
                > DateTime::parse("2015-06-29T20:39:09Z").unwrap()
        );
        for bad in [
            "2015-06-29T20:39:09+00:00",
            "2015-06-29 20:39:09",
            "2015-6-29T20:39:09Z",
            "2015-06-29T20:39:09.Z",
            "2015-02-30T20:39:09Z",
            "2015-06-29",
            "",
        ] {
            assert!(DateTime::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn constructed_datetime_is_canonical() {
        let instant = chrono::DateTime::parse_from_rfc3339("2020-01-02T03:04:05.678901Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            DateTime::from_utc(instant).as_str(),
            "2020-01-02T03:04:05.678Z"
        );
        let whole = chrono::DateTime::parse_from_rfc3339("2020-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        assert_eq!(DateTime::from(whole).as_str(), "2020-01-02T03:04:05Z");
        assert_eq!(DateTime::from(whole).utc(), whole);
    }

    #[test]
    fn enums_use_spec_strings() {
        assert_eq!(
            serde_json::to_value(Role::Emsp).unwrap(),
            serde_json::json!("EMSP")
        );
        assert_eq!("SCSP".parse::<Role>().unwrap(), Role::Scsp);
        assert!("emsp".parse::<Role>().is_err());
        assert!(serde_json::from_value::<Role>(serde_json::json!("FOO")).is_err());
    }
}
