//! Tokens module objects (mod_tokens.asciidoc): the [`Token`] an eMSP pushes, and the
//! [`AuthorizationInfo`] it returns to a real-time authorization request (with the optional
//! [`LocationReferences`] of that request).

use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::sessions::ProfileType;
use super::types::{DateTime, DisplayText, Extra, ocpi_enum};

/// `Token` object: a means of authorization (RFID card, app user, ...) of an eMSP.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Token {
    /// CiString(2)
    pub country_code: String,
    /// CiString(3)
    pub party_id: String,
    /// CiString(36)
    pub uid: String,
    pub r#type: TokenType,
    /// CiString(36)
    pub contract_id: String,
    /// string(64)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visual_number: Option<String>,
    /// string(64)
    pub issuer: String,
    /// CiString(36)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    pub valid: bool,
    pub whitelist: WhitelistType,
    /// ISO 639-1, string(2)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile_type: Option<ProfileType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_contract: Option<EnergyContract>,
    pub last_updated: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Token {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("country_code", Some(&self.country_code), Rule::CountryCode),
                ("party_id", Some(&self.party_id), Rule::PartyId),
                ("uid", Some(&self.uid), Rule::Id(36)),
                ("contract_id", Some(&self.contract_id), Rule::Id(36)),
                ("visual_number", self.visual_number.as_ref(), Rule::Str(64)),
                ("issuer", Some(&self.issuer), Rule::Str(64)),
                ("group_id", self.group_id.as_ref(), Rule::CiString(36)),
                ("language", self.language.as_ref(), Rule::Language),
            ])
            .object("energy_contract", self.energy_contract.as_ref());
    }
}

/// `EnergyContract` class: the driver's own energy supplier and contract.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnergyContract {
    /// string(64)
    pub supplier_name: String,
    /// string(64)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for EnergyContract {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            ("supplier_name", Some(&self.supplier_name), Rule::Str(64)),
            ("contract_id", self.contract_id.as_ref(), Rule::Str(64)),
        ]);
    }
}

/// `AuthorizationInfo` object: the eMSP's answer to a real-time authorization.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuthorizationInfo {
    pub allowed: AllowedType,
    pub token: Token,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationReferences>,
    /// CiString(36)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<DisplayText>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for AuthorizationInfo {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .object("token", Some(&self.token))
            .object("location", self.location.as_ref())
            .strings(&[(
                "authorization_reference",
                self.authorization_reference.as_ref(),
                Rule::CiString(36),
            )])
            .object("info", self.info.as_ref());
    }
}

/// `LocationReferences` class: the location (and EVSEs) of a real-time authorization request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LocationReferences {
    /// CiString(36)
    pub location_id: String,
    /// CiString(36) each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_uids: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for LocationReferences {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[("location_id", Some(&self.location_id), Rule::Id(36))])
            .each_string("evse_uids", self.evse_uids.as_deref(), Rule::Id(36));
    }
}

ocpi_enum! {
    /// `AllowedType` enum: the outcome of an authorization.
    pub enum AllowedType {
        Allowed = "ALLOWED",
        Blocked = "BLOCKED",
        Expired = "EXPIRED",
        NoCredit = "NO_CREDIT",
        NotAllowed = "NOT_ALLOWED",
    }
}

ocpi_enum! {
    /// `TokenType` enum.
    pub enum TokenType {
        AdHocUser = "AD_HOC_USER",
        AppUser = "APP_USER",
        Other = "OTHER",
        Rfid = "RFID",
    }
}

ocpi_enum! {
    /// `WhitelistType` enum: whether a CPO may authorize the token without asking the eMSP.
    pub enum WhitelistType {
        Always = "ALWAYS",
        Allowed = "ALLOWED",
        AllowedOffline = "ALLOWED_OFFLINE",
        Never = "NEVER",
    }
}
