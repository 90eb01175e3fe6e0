//! Credentials module objects (credentials.asciidoc): the [`Credentials`] two platforms exchange
//! at registration (token, versions URL and the roles the platform plays).

use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::types::{BusinessDetails, Extra, Role};

/// `Credentials` object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Credentials {
    /// The token the other party uses to call the sender; string(64), printable ASCII, not
    /// Base64-encoded here.
    pub token: String,
    /// The sender's versions endpoint.
    pub url: String,
    /// At least one.
    pub roles: Vec<CredentialsRole>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Credentials {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("token", Some(&self.token), Rule::Id(64)),
                ("url", Some(&self.url), Rule::Url),
            ])
            .non_empty_list("roles", &self.roles);
    }
}

/// `CredentialsRole` class: one role a platform plays, with its party identity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CredentialsRole {
    pub role: Role,
    pub business_details: BusinessDetails,
    /// CiString(3)
    pub party_id: String,
    /// CiString(2)
    pub country_code: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for CredentialsRole {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .object("business_details", Some(&self.business_details))
            .strings(&[
                ("party_id", Some(&self.party_id), Rule::PartyId),
                ("country_code", Some(&self.country_code), Rule::CountryCode),
            ]);
    }
}
