//! CDRs module objects (mod_cdrs.md): the [`Cdr`] a CPO sends once a session is finished, and
//! the [`ChargingPeriod`] and [`CdrDimension`] it shares with sessions.
//!
//! Differences from 2.2.1: a CDR names its token by `auth_id` (2.2.1: a `cdr_token`), embeds a
//! whole [`Location`] with only the relevant EVSE and connector (2.2.1: a flat `cdr_location`),
//! ends at `stop_date_time` (2.2.1: `end_date_time`), has a plain decimal `total_cost` (2.2.1: a
//! `Price`), has no `country_code`/`party_id` and none of the 2.2.1 cost breakdown, signed data
//! or credit fields. [`AuthMethod`] has no `COMMAND`; [`CdrDimensionType`] has `FLAT` and lacks
//! the 2.2.1 session-only and power/reservation dimensions.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::locations::Location;
use super::parse::{FieldError, Fields, Rule, Validate};
use super::tariffs::Tariff;
use super::types::{DateTime, Extra, decimal_number};
use crate::ocpi::v221::types::ocpi_enum;

/// `CDR` object (3.1): the record of a finished charging session and its costs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cdr {
    /// CiString(36)
    pub id: String,
    pub start_date_time: DateTime,
    pub stop_date_time: DateTime,
    /// The `auth_id` of the Token used, string(36).
    pub auth_id: String,
    pub auth_method: AuthMethod,
    /// The location, with only the relevant EVSE and connector.
    pub location: Location,
    /// string(255)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_id: Option<String>,
    /// ISO 4217, string(3)
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariffs: Option<Vec<Tariff>>,
    /// At least one.
    pub charging_periods: Vec<ChargingPeriod>,
    /// Excluding VAT.
    #[serde(with = "decimal_number")]
    pub total_cost: Decimal,
    /// kWh
    #[serde(with = "decimal_number")]
    pub total_energy: Decimal,
    /// Hours.
    #[serde(with = "decimal_number")]
    pub total_time: Decimal,
    /// Hours.
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_parking_time: Option<Decimal>,
    /// string(255)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub last_updated: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Cdr {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("id", Some(&self.id), Rule::Id(36)),
                ("auth_id", Some(&self.auth_id), Rule::Id(36)),
                ("meter_id", self.meter_id.as_ref(), Rule::Str(255)),
                ("currency", Some(&self.currency), Rule::Currency),
                ("remark", self.remark.as_ref(), Rule::Str(255)),
            ])
            .object("location", Some(&self.location))
            .list("tariffs", self.tariffs.as_deref())
            .non_empty_list("charging_periods", &self.charging_periods);
    }
}

ocpi_enum! {
    /// `AuthMethod` enum (4.1): how a session was authorized.
    pub enum AuthMethod {
        AuthRequest = "AUTH_REQUEST",
        Whitelist = "WHITELIST",
    }
}

/// `CdrDimension` class (4.2): one measured value of a charging period.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CdrDimension {
    pub r#type: CdrDimensionType,
    #[serde(with = "decimal_number")]
    pub volume: Decimal,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for CdrDimension {
    fn validate(&self, _path: &str, _errors: &mut Vec<FieldError>) {}
}

ocpi_enum! {
    /// `CdrDimensionType` enum (4.3).
    pub enum CdrDimensionType {
        /// kWh.
        Energy = "ENERGY",
        /// Flat fee, no unit.
        Flat = "FLAT",
        /// A, maximum current reached.
        MaxCurrent = "MAX_CURRENT",
        /// A, minimum current used.
        MinCurrent = "MIN_CURRENT",
        /// Hours not charging.
        ParkingTime = "PARKING_TIME",
        /// Hours charging.
        Time = "TIME",
    }
}

/// `ChargingPeriod` class (4.4): a period of a session with the values that influence its cost.
/// It ends when the next one starts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChargingPeriod {
    pub start_date_time: DateTime,
    /// At least one.
    pub dimensions: Vec<CdrDimension>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ChargingPeriod {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).non_empty_list("dimensions", &self.dimensions);
    }
}
