//! Sessions module objects (mod_sessions.asciidoc): [`Session`], the [`ChargingPeriod`] and
//! [`CdrDimension`] it shares with CDRs, and the [`ChargingPreferences`] an eMSP may PUT on a
//! session.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::cdrs::{AuthMethod, CdrToken};
use super::parse::{FieldError, Fields, Rule, Validate};
use super::types::{DateTime, Extra, Price, decimal_number, ocpi_enum};

/// `Session` object: one charging session, as it evolves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// CiString(2)
    pub country_code: String,
    /// CiString(3)
    pub party_id: String,
    /// CiString(36)
    pub id: String,
    pub start_date_time: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<DateTime>,
    /// kWh charged.
    #[serde(with = "decimal_number")]
    pub kwh: Decimal,
    pub cdr_token: CdrToken,
    pub auth_method: AuthMethod,
    /// CiString(36)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_reference: Option<String>,
    /// CiString(36)
    pub location_id: String,
    /// CiString(36); `#NA` for a reservation without EVSE yet.
    pub evse_uid: String,
    /// CiString(36); `#NA` for a reservation without connector yet.
    pub connector_id: String,
    /// string(255)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_id: Option<String>,
    /// ISO 4217, string(3)
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_periods: Option<Vec<ChargingPeriod>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_cost: Option<Price>,
    pub status: SessionStatus,
    pub last_updated: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Session {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("country_code", Some(&self.country_code), Rule::CountryCode),
                ("party_id", Some(&self.party_id), Rule::PartyId),
                ("id", Some(&self.id), Rule::Id(36)),
                (
                    "authorization_reference",
                    self.authorization_reference.as_ref(),
                    Rule::CiString(36),
                ),
                ("location_id", Some(&self.location_id), Rule::Id(36)),
                ("evse_uid", Some(&self.evse_uid), Rule::Id(36)),
                ("connector_id", Some(&self.connector_id), Rule::Id(36)),
                ("meter_id", self.meter_id.as_ref(), Rule::Str(255)),
                ("currency", Some(&self.currency), Rule::Currency),
            ])
            .object("cdr_token", Some(&self.cdr_token))
            .list("charging_periods", self.charging_periods.as_deref())
            .object("total_cost", self.total_cost.as_ref());
    }
}

/// `ChargingPeriod` class (cdrs module): a period of a session with the values that influence
/// its cost. It ends when the next one starts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChargingPeriod {
    pub start_date_time: DateTime,
    /// At least one.
    pub dimensions: Vec<CdrDimension>,
    /// CiString(36)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ChargingPeriod {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .non_empty_list("dimensions", &self.dimensions)
            .strings(&[("tariff_id", self.tariff_id.as_ref(), Rule::CiString(36))]);
    }
}

/// `CdrDimension` class (cdrs module): one measured value of a charging period.
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
    /// `CdrDimensionType` enum (cdrs module). `CURRENT`, `ENERGY_EXPORT`, `ENERGY_IMPORT`,
    /// `POWER` and `STATE_OF_CHARGE` are for Sessions only.
    pub enum CdrDimensionType {
        Current = "CURRENT",
        Energy = "ENERGY",
        EnergyExport = "ENERGY_EXPORT",
        EnergyImport = "ENERGY_IMPORT",
        MaxCurrent = "MAX_CURRENT",
        MinCurrent = "MIN_CURRENT",
        MaxPower = "MAX_POWER",
        MinPower = "MIN_POWER",
        ParkingTime = "PARKING_TIME",
        Power = "POWER",
        ReservationTime = "RESERVATION_TIME",
        StateOfCharge = "STATE_OF_CHARGE",
        Time = "TIME",
    }
}

/// `ChargingPreferences` object: the EV driver's charging preferences, PUT by an eMSP.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChargingPreferences {
    pub profile_type: ProfileType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departure_time: Option<DateTime>,
    /// kWh
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub energy_need: Option<Decimal>,
    /// Default when absent: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discharge_allowed: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ChargingPreferences {
    fn validate(&self, _path: &str, _errors: &mut Vec<FieldError>) {}
}

ocpi_enum! {
    /// `ChargingPreferencesResponse` enum: the answer to a PUT of ChargingPreferences.
    pub enum ChargingPreferencesResponse {
        Accepted = "ACCEPTED",
        DepartureRequired = "DEPARTURE_REQUIRED",
        EnergyNeedRequired = "ENERGY_NEED_REQUIRED",
        NotPossible = "NOT_POSSIBLE",
        ProfileTypeNotSupported = "PROFILE_TYPE_NOT_SUPPORTED",
    }
}

ocpi_enum! {
    /// `ProfileType` enum: smart charging profile types.
    pub enum ProfileType {
        Cheap = "CHEAP",
        Fast = "FAST",
        Green = "GREEN",
        Regular = "REGULAR",
    }
}

ocpi_enum! {
    /// `SessionStatus` enum.
    pub enum SessionStatus {
        Active = "ACTIVE",
        Completed = "COMPLETED",
        Invalid = "INVALID",
        Pending = "PENDING",
        Reservation = "RESERVATION",
    }
}
