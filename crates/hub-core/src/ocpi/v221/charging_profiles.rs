//! Charging Profiles module objects (mod_charging_profiles.asciidoc): the [`SetChargingProfile`]
//! request an SCSP PUTs to a CPO, the CPO's synchronous [`ChargingProfileResponse`], the
//! asynchronous results ([`ActiveChargingProfileResult`], [`ChargingProfileResult`],
//! [`ClearProfileResult`]) POSTed to the `response_url`, and the [`ActiveChargingProfile`] a CPO
//! pushes on its own.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::types::{DateTime, Extra, decimal_number, ocpi_enum};

/// `SetChargingProfile` object: a new charging profile for a session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SetChargingProfile {
    pub charging_profile: ChargingProfile,
    pub response_url: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for SetChargingProfile {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .object("charging_profile", Some(&self.charging_profile))
            .strings(&[("response_url", Some(&self.response_url), Rule::Url)]);
    }
}

/// `ChargingProfile` class: limits on power or current over time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChargingProfile {
    /// Start of an absolute profile; absent: relative to the start of charging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date_time: Option<DateTime>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    pub charging_rate_unit: ChargingRateUnit,
    /// At most one fractional digit.
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_charging_rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_profile_period: Option<Vec<ChargingProfilePeriod>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ChargingProfile {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .require(
                self.min_charging_rate
                    .is_none_or(at_most_one_fraction_digit),
                "min_charging_rate",
                "accepts at most one fractional digit",
            )
            .list(
                "charging_profile_period",
                self.charging_profile_period.as_deref(),
            );
    }
}

/// `ChargingProfilePeriod` class: one period of a charging profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChargingProfilePeriod {
    /// Seconds from the start of the profile.
    pub start_period: u32,
    /// In the profile's unit; at most one fractional digit.
    #[serde(with = "decimal_number")]
    pub limit: Decimal,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ChargingProfilePeriod {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).require(
            at_most_one_fraction_digit(self.limit),
            "limit",
            "accepts at most one fractional digit",
        );
    }
}

fn at_most_one_fraction_digit(d: Decimal) -> bool {
    d.normalize().scale() <= 1
}

/// `ActiveChargingProfile` class: the profile a Charge Point is actually using.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActiveChargingProfile {
    pub start_date_time: DateTime,
    pub charging_profile: ChargingProfile,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ActiveChargingProfile {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).object("charging_profile", Some(&self.charging_profile));
    }
}

/// `ChargingProfileResponse` object: the CPO's synchronous answer to a charging profile request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChargingProfileResponse {
    pub result: ChargingProfileResponseType,
    /// Seconds within which the result is expected.
    pub timeout: u32,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ChargingProfileResponse {
    fn validate(&self, _path: &str, _errors: &mut Vec<FieldError>) {}
}

/// `ActiveChargingProfileResult` object: the asynchronous answer to a GET ActiveChargingProfile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActiveChargingProfileResult {
    pub result: ChargingProfileResultType,
    /// Required when `result` is ACCEPTED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ActiveChargingProfile>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ActiveChargingProfileResult {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .require(
                self.result != ChargingProfileResultType::Accepted || self.profile.is_some(),
                "profile",
                "is required when `result` is ACCEPTED",
            )
            .object("profile", self.profile.as_ref());
    }
}

/// `ChargingProfileResult` object: the asynchronous answer to a SetChargingProfile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChargingProfileResult {
    pub result: ChargingProfileResultType,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ChargingProfileResult {
    fn validate(&self, _path: &str, _errors: &mut Vec<FieldError>) {}
}

/// `ClearProfileResult` object: the asynchronous answer to a DELETE of a charging profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClearProfileResult {
    pub result: ChargingProfileResultType,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ClearProfileResult {
    fn validate(&self, _path: &str, _errors: &mut Vec<FieldError>) {}
}

ocpi_enum! {
    /// `ChargingRateUnit` enum.
    pub enum ChargingRateUnit {
        /// Watts (power).
        W = "W",
        /// Amperes (current).
        A = "A",
    }
}

ocpi_enum! {
    /// `ChargingProfileResponseType` enum: the CPO's synchronous answer.
    pub enum ChargingProfileResponseType {
        Accepted = "ACCEPTED",
        NotSupported = "NOT_SUPPORTED",
        Rejected = "REJECTED",
        TooOften = "TOO_OFTEN",
        UnknownSession = "UNKNOWN_SESSION",
    }
}

ocpi_enum! {
    /// `ChargingProfileResultType` enum: the EVSE's outcome.
    pub enum ChargingProfileResultType {
        Accepted = "ACCEPTED",
        Rejected = "REJECTED",
        Unknown = "UNKNOWN",
    }
}
