//! Credentials module object (credentials.md): the [`Credentials`] two platforms exchange at
//! registration.
//!
//! Unlike 2.2.1, a 2.1.1 platform has exactly one identity: `party_id`, `country_code` and
//! `business_details` sit in the object itself (2.2.1: a `roles` list), and no role is named.

use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::types::{BusinessDetails, Extra};

/// `Credentials` object (2.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Credentials {
    /// The token the other party uses to call the sender, string(64).
    pub token: String,
    /// The sender's versions endpoint.
    pub url: String,
    pub business_details: BusinessDetails,
    /// string(3)
    pub party_id: String,
    /// string(2)
    pub country_code: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Credentials {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("token", Some(&self.token), Rule::Id(64)),
                ("url", Some(&self.url), Rule::Url),
                ("party_id", Some(&self.party_id), Rule::PartyId),
                ("country_code", Some(&self.country_code), Rule::CountryCode),
            ])
            .object("business_details", Some(&self.business_details));
    }
}
