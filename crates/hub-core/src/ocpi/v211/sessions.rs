//! Sessions module objects (mod_sessions.md): the [`Session`] a CPO pushes while a charging
//! session evolves. Its charging periods are the CDR module's
//! [`ChargingPeriod`](super::cdrs::ChargingPeriod).
//!
//! Differences from 2.2.1: the start and end are `start_datetime`/`end_datetime` (2.2.1:
//! `start_date_time`/`end_date_time`), the token is an `auth_id` (2.2.1: a `cdr_token`), the
//! location is a whole [`Location`] with only the relevant EVSE and connector (2.2.1:
//! `location_id`, `evse_uid`, `connector_id`), `total_cost` is a plain decimal (2.2.1: a
//! `Price`), and there is no `country_code`, `party_id` or `authorization_reference`.
//! [`SessionStatus`] has no `RESERVATION`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::cdrs::{AuthMethod, ChargingPeriod};
use super::locations::Location;
use super::parse::{FieldError, Fields, Rule, Validate};
use super::types::{DateTime, Extra, decimal_number};
use crate::ocpi::v221::types::ocpi_enum;

/// `Session` object (3.1): one charging session, as it evolves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// string(36)
    pub id: String,
    pub start_datetime: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_datetime: Option<DateTime>,
    /// kWh charged.
    #[serde(with = "decimal_number")]
    pub kwh: Decimal,
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
    pub charging_periods: Option<Vec<ChargingPeriod>>,
    /// Excluding VAT; absent means no price information (not: free).
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_cost: Option<Decimal>,
    pub status: SessionStatus,
    pub last_updated: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Session {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("id", Some(&self.id), Rule::Id(36)),
                ("auth_id", Some(&self.auth_id), Rule::Id(36)),
                ("meter_id", self.meter_id.as_ref(), Rule::Str(255)),
                ("currency", Some(&self.currency), Rule::Currency),
            ])
            .object("location", Some(&self.location))
            .list("charging_periods", self.charging_periods.as_deref());
    }
}

ocpi_enum! {
    /// `SessionStatus` enum (4.1).
    pub enum SessionStatus {
        Active = "ACTIVE",
        Completed = "COMPLETED",
        Invalid = "INVALID",
        Pending = "PENDING",
    }
}
