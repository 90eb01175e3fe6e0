//! Translation of OCPI objects between 2.1.1 ([`super::v211`]) and 2.2.1 ([`super::v221`]).
//!
//! One function per object and direction, `<object>_to_v221` and `<object>_to_v211`, all
//! re-exported here; the mapping of every field is documented in `docs/ocpi-2.1.1-mapping.md`.
//!
//! Rules every conversion follows:
//! - unknown fields (`extra`) pass through unchanged in both directions, on every object that
//!   exists in both versions;
//! - what a 2.2.1 object needs but a 2.1.1 object does not carry comes from parameters, never
//!   from guesses: the owning party of a Location, Session, CDR, Tariff or Token
//!   ([`PartyKey`], from the URL or the sending platform's credentials), a Location's `publish`
//!   and fallback `time_zone` ([`LocationContext`]), the token behind a 2.1.1 `auth_id`
//!   ([`TokenIdentity`]), the stored Location of a Session, the token of an AuthorizationInfo,
//!   the `timeout` of a CommandResponse, the role of a platform;
//! - a 2.2.1 field with no 2.1.1 home is dropped (nothing is invented to carry it), and a 2.2.1
//!   enum value with no 2.1.1 value maps to the nearest one when the spec has one (e.g.
//!   `APP_USER` → `OTHER`), or the conversion fails with [`TranslateError::NoEquivalent`] when
//!   it has none (e.g. a `GBT_DC` connector). In a list, an element that cannot be represented
//!   is left out instead (a connector or EVSE of a Location, a charging-period dimension, a
//!   reservation tariff element), and the conversion fails only when nothing is left of a
//!   list the target requires;
//! - conversions do not validate: a value allowed by the source version but not by the target
//!   (e.g. a 39-character 2.1.1 location id, 2.2.1 allows 36) is copied as it is, and fails
//!   `validate` of the target version. Validate what you send.

pub mod cdrs;
pub mod commands;
pub mod credentials;
pub mod locations;
pub mod patch;
pub mod sessions;
pub mod tariffs;
pub mod tokens;
pub mod types;

pub use cdrs::{cdr_to_v211, cdr_to_v221};
pub use commands::{
    command_response_to_v211, command_response_to_v221, command_result_to_v211,
    command_result_to_v221, reserve_now_to_v211, reserve_now_to_v221, start_session_to_v211,
    start_session_to_v221, stop_session_to_v211, stop_session_to_v221, unlock_connector_to_v211,
    unlock_connector_to_v221,
};
pub use credentials::{credentials_to_v211, credentials_to_v221};
pub use locations::{
    connector_to_v211, connector_to_v221, evse_to_v211, evse_to_v221, hours_to_v211, hours_to_v221,
    location_to_v211, location_to_v221, relevant_location_to_v211,
};
pub use patch::{PatchObject, patch_to_v211, patch_to_v221};
pub use sessions::{cdr_token_for_auth_id, session_to_v211, session_to_v221};
pub use tariffs::{tariff_to_v211, tariff_to_v221};
pub use tokens::{
    authorization_info_to_v211, authorization_info_to_v221, location_references_to_v211,
    location_references_to_v221, token_to_v211, token_to_v221, token_type_to_v211,
    token_type_to_v221,
};
pub use types::{energy_mix_to_v211, energy_mix_to_v221};

pub use crate::party::PartyKey;

use super::v221;
use super::v221::parse::join;

/// The OCPI version an object is converted to, as named in errors.
pub const V211: &str = "2.1.1";
/// See [`V211`].
pub const V221: &str = "2.2.1";

/// Why an object cannot be converted. `field` is the JSON path of the source field (relative to
/// the converted object, or to a context object when the message says so).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// The target version requires a field the source does not carry and no fallback was given.
    #[error(
        "`{field}` is required in OCPI {target}, and neither the object nor the context gives it"
    )]
    Missing { field: String, target: &'static str },
    /// A value has no equivalent in the target version.
    #[error("`{field}`: `{value}` has no equivalent in OCPI {target}")]
    NoEquivalent {
        field: String,
        value: String,
        target: &'static str,
    },
    /// The context given does not fit the object (e.g. the Location of a Session does not hold
    /// the Session's EVSE).
    #[error("`{field}`: {message}")]
    Context { field: String, message: String },
}

impl TranslateError {
    /// The JSON path the error is about.
    pub fn field(&self) -> &str {
        match self {
            Self::Missing { field, .. }
            | Self::NoEquivalent { field, .. }
            | Self::Context { field, .. } => field,
        }
    }

    /// The same error, for a field of an object nested at `parent`.
    pub fn within(self, parent: &str) -> Self {
        match self {
            Self::Missing { field, target } => Self::Missing {
                field: join(parent, &field),
                target,
            },
            Self::NoEquivalent {
                field,
                value,
                target,
            } => Self::NoEquivalent {
                field: join(parent, &field),
                value,
                target,
            },
            Self::Context { field, message } => Self::Context {
                field: join(parent, &field),
                message,
            },
        }
    }

    pub(crate) fn no_equivalent(field: &str, value: impl ToString, target: &'static str) -> Self {
        Self::NoEquivalent {
            field: field.to_owned(),
            value: value.to_string(),
            target,
        }
    }

    pub(crate) fn context(field: &str, message: impl Into<String>) -> Self {
        Self::Context {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// What the hub knows about the token behind a 2.1.1 `auth_id` (the token's `contract_id` in
/// 2.2.1). Sessions and CDRs of 2.1.1 name their token only by `auth_id`; a 2.2.1 `cdr_token`
/// also needs the token's `uid` and `type`, and (optionally) its eMSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIdentity {
    pub uid: String,
    pub token_type: v221::TokenType,
    /// The eMSP that issued the token, when known.
    pub emsp: Option<PartyKey>,
}

impl From<&v221::Token> for TokenIdentity {
    fn from(t: &v221::Token) -> Self {
        Self {
            uid: t.uid.clone(),
            token_type: t.r#type,
            emsp: Some(PartyKey {
                country_code: t.country_code.clone(),
                party_id: t.party_id.clone(),
            }),
        }
    }
}

impl From<&v221::CdrToken> for TokenIdentity {
    fn from(t: &v221::CdrToken) -> Self {
        let emsp = match (&t.country_code, &t.party_id) {
            (Some(country_code), Some(party_id)) => Some(PartyKey {
                country_code: country_code.clone(),
                party_id: party_id.clone(),
            }),
            _ => None,
        };
        Self {
            uid: t.uid.clone(),
            token_type: t.r#type,
            emsp,
        }
    }
}

/// What a 2.2.1 Location needs that a 2.1.1 Location does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationContext {
    /// The CPO that owns the location: the `{country_code}/{party_id}` of the 2.1.1 push URL, or
    /// the sending platform's credentials.
    pub owner: PartyKey,
    /// 2.1.1 has no `publish`: every location is public. Usually `true`.
    pub publish: bool,
    /// Used when the 2.1.1 Location has no `time_zone` (optional in 2.1.1, required in 2.2.1).
    /// Without it, such a location fails with [`TranslateError::Missing`].
    pub default_time_zone: Option<String>,
}

impl LocationContext {
    /// A published location of `owner`, without a fallback time zone.
    pub fn new(owner: PartyKey) -> Self {
        Self {
            owner,
            publish: true,
            default_time_zone: None,
        }
    }
}
