//! Tariffs module objects (mod_tariffs.md): [`Tariff`], its [`TariffElement`]s made of
//! [`PriceComponent`]s and [`TariffRestrictions`]. A CPO pushes tariffs; connectors refer to
//! them by id, CDRs embed them.
//!
//! Differences from 2.2.1: a tariff has no `country_code`, `party_id`, `type`, `min_price`,
//! `max_price`, `start_date_time` or `end_date_time`; a price component has no `vat`;
//! restrictions have no `min_current`, `max_current` or `reservation`. [`DayOfWeek`] and
//! [`TariffDimensionType`] are the same as in 2.2.1 and re-exported.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::types::{DateTime, DisplayText, EnergyMix, Extra, decimal_number};

pub use crate::ocpi::v221::tariffs::{DayOfWeek, TariffDimensionType};

/// `Tariff` object (3.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tariff {
    /// string(36)
    pub id: String,
    /// ISO 4217, string(3)
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_alt_text: Option<Vec<DisplayText>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_alt_url: Option<String>,
    /// At least one.
    pub elements: Vec<TariffElement>,
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
                ("id", Some(&self.id), Rule::Id(36)),
                ("currency", Some(&self.currency), Rule::Currency),
                ("tariff_alt_url", self.tariff_alt_url.as_ref(), Rule::Url),
            ])
            .list("tariff_alt_text", self.tariff_alt_text.as_deref())
            .non_empty_list("elements", &self.elements)
            .object("energy_mix", self.energy_mix.as_ref());
    }
}

/// `TariffElement` class (4.3): price components that apply together, under optional
/// restrictions.
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

/// `PriceComponent` class (4.2): the price of one tariff dimension.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PriceComponent {
    pub r#type: TariffDimensionType,
    /// Price per unit, excluding VAT.
    #[serde(with = "decimal_number")]
    pub price: Decimal,
    /// Minimum amount billed, in blocks of this size (Wh for ENERGY, seconds for times).
    pub step_size: u32,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for PriceComponent {
    fn validate(&self, _path: &str, _errors: &mut Vec<FieldError>) {}
}

/// `TariffRestrictions` class (4.5): when a tariff element applies.
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
