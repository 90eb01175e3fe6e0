//! CDRs module objects (mod_cdrs.asciidoc): the [`Cdr`] (Charge Detail Record) a CPO sends
//! once a session is finished, with its [`CdrToken`], [`CdrLocation`] and [`SignedData`].
//! [`ChargingPeriod`](super::sessions::ChargingPeriod) and
//! [`CdrDimension`](super::sessions::CdrDimension) live in the sessions module, which shares them.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::locations::{ConnectorFormat, ConnectorType, PowerType};
use super::parse::{FieldError, Fields, Rule, Validate};
use super::sessions::ChargingPeriod;
use super::tariffs::Tariff;
use super::tokens::TokenType;
use super::types::{DateTime, Extra, GeoLocation, Price, decimal_number, ocpi_enum};

/// `CDR` object: the sealed record of a charging session and its costs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cdr {
    /// CiString(2)
    pub country_code: String,
    /// CiString(3)
    pub party_id: String,
    /// CiString(39); at most 36 for a non-credit CDR.
    pub id: String,
    pub start_date_time: DateTime,
    pub end_date_time: DateTime,
    /// CiString(36)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub cdr_token: CdrToken,
    pub auth_method: AuthMethod,
    /// CiString(36)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_reference: Option<String>,
    pub cdr_location: CdrLocation,
    /// string(255)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_id: Option<String>,
    /// ISO 4217, string(3)
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariffs: Option<Vec<Tariff>>,
    /// At least one.
    pub charging_periods: Vec<ChargingPeriod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_data: Option<SignedData>,
    pub total_cost: Price,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_fixed_cost: Option<Price>,
    /// kWh
    #[serde(with = "decimal_number")]
    pub total_energy: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_energy_cost: Option<Price>,
    /// Hours.
    #[serde(with = "decimal_number")]
    pub total_time: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_time_cost: Option<Price>,
    /// Hours.
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_parking_time: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_parking_cost: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_reservation_cost: Option<Price>,
    /// string(255)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// CiString(39)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_reference_id: Option<String>,
    /// A Credit CDR; then `credit_reference_id` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<bool>,
    /// CiString(39): the id of the credited CDR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_reference_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_charging_compensation: Option<bool>,
    pub last_updated: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Cdr {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        let credit = self.credit == Some(true);
        Fields::new(path, errors)
            .strings(&[
                ("country_code", Some(&self.country_code), Rule::CountryCode),
                ("party_id", Some(&self.party_id), Rule::PartyId),
                ("id", Some(&self.id), Rule::Id(if credit { 39 } else { 36 })),
                ("session_id", self.session_id.as_ref(), Rule::CiString(36)),
                (
                    "authorization_reference",
                    self.authorization_reference.as_ref(),
                    Rule::CiString(36),
                ),
                ("meter_id", self.meter_id.as_ref(), Rule::Str(255)),
                ("currency", Some(&self.currency), Rule::Currency),
                ("remark", self.remark.as_ref(), Rule::Str(255)),
                (
                    "invoice_reference_id",
                    self.invoice_reference_id.as_ref(),
                    Rule::CiString(39),
                ),
                (
                    "credit_reference_id",
                    self.credit_reference_id.as_ref(),
                    Rule::CiString(39),
                ),
            ])
            .require(
                !credit || self.credit_reference_id.is_some(),
                "credit_reference_id",
                "is required for a Credit CDR (`credit` is true)",
            )
            .object("cdr_token", Some(&self.cdr_token))
            .object("cdr_location", Some(&self.cdr_location))
            .list("tariffs", self.tariffs.as_deref())
            .non_empty_list("charging_periods", &self.charging_periods)
            .object("signed_data", self.signed_data.as_ref());
    }
}

ocpi_enum! {
    /// `AuthMethod` enum: how a session was authorized.
    pub enum AuthMethod {
        AuthRequest = "AUTH_REQUEST",
        Command = "COMMAND",
        Whitelist = "WHITELIST",
    }
}

/// `CdrToken` class: the token that started a session.
///
/// `country_code` and `party_id` are required by the 2.2.1 table, but every CDR and Session
/// example of the spec omits them (2.2 had no such fields), so they are optional here.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CdrToken {
    /// CiString(2): the eMSP that owns the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// CiString(3): the eMSP that owns the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_id: Option<String>,
    /// CiString(36)
    pub uid: String,
    pub r#type: TokenType,
    /// CiString(36)
    pub contract_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for CdrToken {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            (
                "country_code",
                self.country_code.as_ref(),
                Rule::CountryCode,
            ),
            ("party_id", self.party_id.as_ref(), Rule::PartyId),
            ("uid", Some(&self.uid), Rule::Id(36)),
            ("contract_id", Some(&self.contract_id), Rule::Id(36)),
        ]);
    }
}

/// `CdrLocation` class: the location of a CDR with only its EVSE and connector, as they were
/// at the start of the session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CdrLocation {
    /// CiString(36)
    pub id: String,
    /// string(255)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// string(45)
    pub address: String,
    /// string(45)
    pub city: String,
    /// string(10)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// string(20)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ISO 3166-1 alpha-3, string(3)
    pub country: String,
    pub coordinates: GeoLocation,
    /// CiString(36); `#NA` for a reservation that never became a session.
    pub evse_uid: String,
    /// CiString(48); `#NA` for a reservation that never became a session.
    pub evse_id: String,
    /// CiString(36); `#NA` for a reservation that never became a session.
    pub connector_id: String,
    pub connector_standard: ConnectorType,
    pub connector_format: ConnectorFormat,
    pub connector_power_type: PowerType,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for CdrLocation {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("id", Some(&self.id), Rule::Id(36)),
                ("name", self.name.as_ref(), Rule::Str(255)),
                ("address", Some(&self.address), Rule::Str(45)),
                ("city", Some(&self.city), Rule::Str(45)),
                ("postal_code", self.postal_code.as_ref(), Rule::Str(10)),
                ("state", self.state.as_ref(), Rule::Str(20)),
                ("country", Some(&self.country), Rule::Country),
                ("evse_uid", Some(&self.evse_uid), Rule::Id(36)),
                ("evse_id", Some(&self.evse_id), Rule::Id(48)),
                ("connector_id", Some(&self.connector_id), Rule::Id(36)),
            ])
            .object("coordinates", Some(&self.coordinates));
    }
}

/// `SignedData` class: signed meter values of a session (e.g. German Eichrecht).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SignedData {
    /// CiString(36), e.g. `OCMF`.
    pub encoding_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_method_version: Option<i32>,
    /// base64, string(512)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// At least one.
    pub signed_values: Vec<SignedValue>,
    /// string(512)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for SignedData {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("encoding_method", Some(&self.encoding_method), Rule::Id(36)),
                ("public_key", self.public_key.as_ref(), Rule::Str(512)),
                ("url", self.url.as_ref(), Rule::Str(512)),
            ])
            .non_empty_list("signed_values", &self.signed_values);
    }
}

/// `SignedValue` class: one signed value and its plain data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SignedValue {
    /// CiString(32), e.g. `Start`, `End`, `Intermediate`.
    pub nature: String,
    /// string(512)
    pub plain_data: String,
    /// base64, string(5000)
    pub signed_data: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for SignedValue {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            ("nature", Some(&self.nature), Rule::CiString(32)),
            ("plain_data", Some(&self.plain_data), Rule::Str(512)),
            ("signed_data", Some(&self.signed_data), Rule::Str(5000)),
        ]);
    }
}
