//! Tariffs module objects (mod_tariffs.asciidoc): [`Tariff`], its [`TariffElement`]s made of
//! [`PriceComponent`]s and [`TariffRestrictions`], and the enums they use. A CPO pushes tariffs;
//! connectors refer to them by id, CDRs embed them.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::types::{DateTime, DisplayText, EnergyMix, Extra, Price, decimal_number, ocpi_enum};

/// `Tariff` object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tariff {
    /// CiString(2)
    pub country_code: String,
    /// CiString(3)
    pub party_id: String,
    /// CiString(36)
    pub id: String,
    /// ISO 4217, string(3)
    pub currency: String,
    /// When absent, the tariff is valid for all sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<TariffType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_alt_text: Option<Vec<DisplayText>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_alt_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_price: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<Price>,
    /// At least one.
    pub elements: Vec<TariffElement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date_time: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_mix: Option<EnergyMix>,
    pub last_updated: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Tariff {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("country_code", Some(&self.country_code), Rule::CountryCode),
                ("party_id", Some(&self.party_id), Rule::PartyId),
                ("id", Some(&self.id), Rule::Id(36)),
                ("currency", Some(&self.currency), Rule::Currency),
                ("tariff_alt_url", self.tariff_alt_url.as_ref(), Rule::Url),
            ])
            .list("tariff_alt_text", self.tariff_alt_text.as_deref())
            .object("min_price", self.min_price.as_ref())
            .object("max_price", self.max_price.as_ref())
            .non_empty_list("elements", &self.elements)
            .object("energy_mix", self.energy_mix.as_ref());
    }
}

/// `TariffElement` class: price components that apply together, under optional restrictions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TariffElement {
    /// At least one.
    pub price_components: Vec<PriceComponent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrictions: Option<TariffRestrictions>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for TariffElement {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .non_empty_list("price_components", &self.price_components)
            .object("restrictions", self.restrictions.as_ref());
    }
}

/// `PriceComponent` class: the price of one tariff dimension.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PriceComponent {
    pub r#type: TariffDimensionType,
    /// Price per unit, excluding VAT.
    #[serde(with = "decimal_number")]
    pub price: Decimal,
    /// VAT percentage; absent means no VAT applicable (different from 0.0).
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub vat: Option<Decimal>,
    /// Minimum amount billed, in blocks of this size (Wh for ENERGY, seconds for times).
    pub step_size: u32,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for PriceComponent {
    fn validate(&self, _path: &str, _errors: &mut Vec<FieldError>) {}
}

/// `TariffRestrictions` class: when a tariff element applies. Times and dates are local time
/// at the Location.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TariffRestrictions {
    /// `hh:mm`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// `hh:mm`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// `YYYY-MM-DD`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// `YYYY-MM-DD`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// kWh
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_kwh: Option<Decimal>,
    /// kWh
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_kwh: Option<Decimal>,
    /// Ampere, sum over all phases.
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_current: Option<Decimal>,
    /// Ampere, sum over all phases.
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_current: Option<Decimal>,
    /// kW
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_power: Option<Decimal>,
    /// kW
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_power: Option<Decimal>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_duration: Option<u32>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_of_week: Option<Vec<DayOfWeek>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<ReservationRestrictionType>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for TariffRestrictions {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            ("start_time", self.start_time.as_ref(), Rule::HourMinute),
            ("end_time", self.end_time.as_ref(), Rule::HourMinute),
            ("start_date", self.start_date.as_ref(), Rule::Date),
            ("end_date", self.end_date.as_ref(), Rule::Date),
        ]);
    }
}

ocpi_enum! {
    /// `DayOfWeek` enum.
    pub enum DayOfWeek {
        Monday = "MONDAY",
        Tuesday = "TUESDAY",
        Wednesday = "WEDNESDAY",
        Thursday = "THURSDAY",
        Friday = "FRIDAY",
        Saturday = "SATURDAY",
        Sunday = "SUNDAY",
    }
}

ocpi_enum! {
    /// `ReservationRestrictionType` enum: marks a tariff element as reservation costs.
    pub enum ReservationRestrictionType {
        Reservation = "RESERVATION",
        ReservationExpires = "RESERVATION_EXPIRES",
    }
}

ocpi_enum! {
    /// `TariffDimensionType` enum: what a price component is billed on.
    pub enum TariffDimensionType {
        /// Per kWh; `step_size` in Wh.
        Energy = "ENERGY",
        /// Flat fee.
        Flat = "FLAT",
        /// Per hour not charging; `step_size` in seconds.
        ParkingTime = "PARKING_TIME",
        /// Per hour charging; `step_size` in seconds.
        Time = "TIME",
    }
}

ocpi_enum! {
    /// `TariffType` enum: which sessions a tariff is for.
    pub enum TariffType {
        AdHocPayment = "AD_HOC_PAYMENT",
        ProfileCheap = "PROFILE_CHEAP",
        ProfileFast = "PROFILE_FAST",
        ProfileGreen = "PROFILE_GREEN",
        Regular = "REGULAR",
    }
}
