//! Tokens module objects (mod_tokens.md): the [`Token`] an eMSP pushes, and the
//! [`AuthorizationInfo`] it returns to a real-time authorization request (with the optional
//! [`LocationReferences`] of that request).
//!
//! Differences from 2.2.1: a token has `auth_id` (2.2.1: `contract_id`) and no `country_code`,
//! `party_id`, `group_id`, `default_profile_type` or `energy_contract`; [`TokenType`] is only
//! `RFID`/`OTHER`. An AuthorizationInfo has no `token` and no `authorization_reference`;
//! LocationReferences has `connector_ids`, which 2.2.1 dropped. The `Allowed` enum of 2.1.1 is
//! the 2.2.1 [`AllowedType`] (same values), and [`WhitelistType`] is the same too.

use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::types::{DateTime, DisplayText, Extra};
use crate::ocpi::v221::types::ocpi_enum;

pub use crate::ocpi::v221::tokens::{AllowedType, WhitelistType};

/// `Token` object (3.2): a means of authorization of an eMSP.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Token {
    /// string(36)
    pub uid: String,
    pub r#type: TokenType,
    /// The EV driver's contract (eMA ID), string(36).
    pub auth_id: String,
    /// string(64)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visual_number: Option<String>,
    /// string(64)
    pub issuer: String,
    pub valid: bool,
    pub whitelist: WhitelistType,
    /// ISO 639-1, string(2)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub last_updated: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Token {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            ("uid", Some(&self.uid), Rule::Id(36)),
            ("auth_id", Some(&self.auth_id), Rule::Id(36)),
            ("visual_number", self.visual_number.as_ref(), Rule::Str(64)),
            ("issuer", Some(&self.issuer), Rule::Str(64)),
            ("language", self.language.as_ref(), Rule::Language),
        ]);
    }
}

/// `AuthorizationInfo` object (3.1): the eMSP's answer to a real-time authorization.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuthorizationInfo {
    pub allowed: AllowedType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationReferences>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<DisplayText>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for AuthorizationInfo {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .object("location", self.location.as_ref())
            .object("info", self.info.as_ref());
    }
}

/// `LocationReferences` class (4.2): the location, EVSEs and connectors of a real-time
/// authorization request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LocationReferences {
    /// string(39)
    pub location_id: String,
    /// string(39) each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_uids: Option<Vec<String>>,
    /// string(36) each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_ids: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for LocationReferences {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[("location_id", Some(&self.location_id), Rule::Id(39))])
            .each_string("evse_uids", self.evse_uids.as_deref(), Rule::Id(39))
            .each_string("connector_ids", self.connector_ids.as_deref(), Rule::Id(36));
    }
}

ocpi_enum! {
    /// `TokenType` enum (4.3).
    pub enum TokenType {
        Other = "OTHER",
        Rfid = "RFID",
    }
}
