//! Version information objects (version_information_endpoint.md): the [`Version`] list of the
//! versions endpoint and the [`VersionDetails`] (with its [`Endpoint`]s) of one version.
//!
//! [`Version`], [`VersionNumber`] and [`ModuleId`] are the 2.2.1 types (the last two are open
//! enums, so custom modules and unknown versions are kept). A 2.1.1 [`Endpoint`] has no `role`:
//! in 2.1.1 the interface (CPO or eMSP side) follows from the party's role.

use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::types::Extra;

pub use crate::ocpi::v221::versions::{ModuleId, Version, VersionNumber};

/// Version details: the endpoints of one version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VersionDetails {
    pub version: VersionNumber,
    /// At least one.
    pub endpoints: Vec<Endpoint>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for VersionDetails {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).non_empty_list("endpoints", &self.endpoints);
    }
}

/// `Endpoint` class: where one module is implemented.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Endpoint {
    pub identifier: ModuleId,
    pub url: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Endpoint {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[("url", Some(&self.url), Rule::Url)]);
    }
}
