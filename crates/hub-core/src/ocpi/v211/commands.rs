//! Commands module objects (mod_commands.md): the requests an eMSP POSTs to a CPO
//! ([`StartSession`], [`StopSession`], [`ReserveNow`], [`UnlockConnector`]) and the
//! [`CommandResponse`].
//!
//! In 2.1.1 one object, [`CommandResponse`] (`{"result": ...}`), is both the CPO's synchronous
//! answer and the asynchronous result the CPO POSTs to the request's `response_url`; 2.2.1
//! splits these into `CommandResponse` (with `timeout` and `message`) and `CommandResult`.
//! There is no `CANCEL_RESERVATION`; a ReserveNow's `reservation_id` is an int (2.2.1:
//! CiString(36)); StartSession has no `connector_id`; no request has an
//! `authorization_reference`.

use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::tokens::Token;
use super::types::{DateTime, Extra};
use crate::ocpi::v221::types::ocpi_enum;

/// `CommandResponse` object (3.1): the result of a command request, both the CPO's synchronous
/// answer and the asynchronous one POSTed to `response_url`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommandResponse {
    pub result: CommandResponseType,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for CommandResponse {
    fn validate(&self, _path: &str, _errors: &mut Vec<FieldError>) {}
}

/// `ReserveNow` object (3.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReserveNow {
    pub response_url: String,
    pub token: Token,
    pub expiry_date: DateTime,
    /// int
    pub reservation_id: i64,
    /// string(39)
    pub location_id: String,
    /// string(39)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_uid: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ReserveNow {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("response_url", Some(&self.response_url), Rule::Url),
                ("location_id", Some(&self.location_id), Rule::Id(39)),
                ("evse_uid", self.evse_uid.as_ref(), Rule::Id(39)),
            ])
            .object("token", Some(&self.token));
    }
}

/// `StartSession` object (3.3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StartSession {
    pub response_url: String,
    pub token: Token,
    /// string(39)
    pub location_id: String,
    /// string(39)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_uid: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for StartSession {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("response_url", Some(&self.response_url), Rule::Url),
                ("location_id", Some(&self.location_id), Rule::Id(39)),
                ("evse_uid", self.evse_uid.as_ref(), Rule::Id(39)),
            ])
            .object("token", Some(&self.token));
    }
}

/// `StopSession` object (3.4).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StopSession {
    pub response_url: String,
    /// string(36)
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

/// `UnlockConnector` object (3.5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnlockConnector {
    pub response_url: String,
    /// string(39)
    pub location_id: String,
    /// string(39)
    pub evse_uid: String,
    /// string(36)
    pub connector_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for UnlockConnector {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            ("response_url", Some(&self.response_url), Rule::Url),
            ("location_id", Some(&self.location_id), Rule::Id(39)),
            ("evse_uid", Some(&self.evse_uid), Rule::Id(39)),
            ("connector_id", Some(&self.connector_id), Rule::Id(36)),
        ]);
    }
}

ocpi_enum! {
    /// `CommandResponseType` enum (4.1).
    pub enum CommandResponseType {
        /// Not supported by this CPO, Charge Point, EVSE etc.
        NotSupported = "NOT_SUPPORTED",
        /// Rejected by the CPO or Charge Point.
        Rejected = "REJECTED",
        /// Accepted by the CPO or Charge Point.
        Accepted = "ACCEPTED",
        /// No response from the Charge Point in a reasonable time.
        Timeout = "TIMEOUT",
        /// The session of the command is not known by this CPO.
        UnknownSession = "UNKNOWN_SESSION",
    }
}

ocpi_enum! {
    /// `CommandType` enum (4.2): the last segment of a command URL.
    pub enum CommandType {
        ReserveNow = "RESERVE_NOW",
        StartSession = "START_SESSION",
        StopSession = "STOP_SESSION",
        UnlockConnector = "UNLOCK_CONNECTOR",
    }
}
