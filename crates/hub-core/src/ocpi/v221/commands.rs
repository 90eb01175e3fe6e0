//! Commands module objects (mod_commands.asciidoc): the requests an eMSP POSTs to a CPO
//! ([`StartSession`], [`StopSession`], [`ReserveNow`], [`CancelReservation`],
//! [`UnlockConnector`]), the CPO's synchronous [`CommandResponse`] and the asynchronous
//! [`CommandResult`] it later POSTs to the request's `response_url`.

use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::tokens::Token;
use super::types::{DateTime, DisplayText, Extra, ocpi_enum};

/// `StartSession` object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StartSession {
    pub response_url: String,
    pub token: Token,
    /// CiString(36)
    pub location_id: String,
    /// CiString(36); required when `connector_id` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_uid: Option<String>,
    /// CiString(36)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<String>,
    /// CiString(36)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_reference: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for StartSession {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("response_url", Some(&self.response_url), Rule::Url),
                ("location_id", Some(&self.location_id), Rule::Id(36)),
                ("evse_uid", self.evse_uid.as_ref(), Rule::Id(36)),
                ("connector_id", self.connector_id.as_ref(), Rule::Id(36)),
                (
                    "authorization_reference",
                    self.authorization_reference.as_ref(),
                    Rule::CiString(36),
                ),
            ])
            .require(
                self.connector_id.is_none() || self.evse_uid.is_some(),
                "evse_uid",
                "is required when `connector_id` is set",
            )
            .object("token", Some(&self.token));
    }
}

/// `StopSession` object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StopSession {
    pub response_url: String,
    /// CiString(36)
    pub session_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for StopSession {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            ("response_url", Some(&self.response_url), Rule::Url),
            ("session_id", Some(&self.session_id), Rule::Id(36)),
        ]);
    }
}

/// `ReserveNow` object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReserveNow {
    pub response_url: String,
    pub token: Token,
    pub expiry_date: DateTime,
    /// CiString(36)
    pub reservation_id: String,
    /// CiString(36)
    pub location_id: String,
    /// CiString(36)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_uid: Option<String>,
    /// CiString(36)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_reference: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ReserveNow {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("response_url", Some(&self.response_url), Rule::Url),
                ("reservation_id", Some(&self.reservation_id), Rule::Id(36)),
                ("location_id", Some(&self.location_id), Rule::Id(36)),
                ("evse_uid", self.evse_uid.as_ref(), Rule::Id(36)),
                (
                    "authorization_reference",
                    self.authorization_reference.as_ref(),
                    Rule::CiString(36),
                ),
            ])
            .object("token", Some(&self.token));
    }
}

/// `CancelReservation` object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CancelReservation {
    pub response_url: String,
    /// CiString(36)
    pub reservation_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for CancelReservation {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            ("response_url", Some(&self.response_url), Rule::Url),
            ("reservation_id", Some(&self.reservation_id), Rule::Id(36)),
        ]);
    }
}

/// `UnlockConnector` object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnlockConnector {
    pub response_url: String,
    /// CiString(36)
    pub location_id: String,
    /// CiString(36)
    pub evse_uid: String,
    /// CiString(36)
    pub connector_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for UnlockConnector {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            ("response_url", Some(&self.response_url), Rule::Url),
            ("location_id", Some(&self.location_id), Rule::Id(36)),
            ("evse_uid", Some(&self.evse_uid), Rule::Id(36)),
            ("connector_id", Some(&self.connector_id), Rule::Id(36)),
        ]);
    }
}

/// `CommandResponse` object: the CPO's synchronous answer to a command request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommandResponse {
    pub result: CommandResponseType,
    /// Seconds within which the CommandResult is expected.
    pub timeout: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Vec<DisplayText>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for CommandResponse {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).list("message", self.message.as_deref());
    }
}

/// `CommandResult` object: the asynchronous outcome, POSTed to the request's `response_url`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommandResult {
    pub result: CommandResultType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Vec<DisplayText>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for CommandResult {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).list("message", self.message.as_deref());
    }
}

ocpi_enum! {
    /// `CommandResponseType` enum: the CPO's synchronous answer.
    pub enum CommandResponseType {
        NotSupported = "NOT_SUPPORTED",
        Rejected = "REJECTED",
        Accepted = "ACCEPTED",
        UnknownSession = "UNKNOWN_SESSION",
    }
}

ocpi_enum! {
    /// `CommandResultType` enum: the Charge Point's outcome.
    pub enum CommandResultType {
        Accepted = "ACCEPTED",
        CanceledReservation = "CANCELED_RESERVATION",
        EvseOccupied = "EVSE_OCCUPIED",
        EvseInoperative = "EVSE_INOPERATIVE",
        Failed = "FAILED",
        NotSupported = "NOT_SUPPORTED",
        Rejected = "REJECTED",
        Timeout = "TIMEOUT",
        UnknownReservation = "UNKNOWN_RESERVATION",
    }
}

ocpi_enum! {
    /// `CommandType` enum: the last segment of a command URL (`.../commands/START_SESSION`).
    pub enum CommandType {
        CancelReservation = "CANCEL_RESERVATION",
        ReserveNow = "RESERVE_NOW",
        StartSession = "START_SESSION",
        StopSession = "STOP_SESSION",
        UnlockConnector = "UNLOCK_CONNECTOR",
    }
}
