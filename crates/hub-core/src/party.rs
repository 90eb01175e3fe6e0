//! The hub's view of its partners: platforms (one credentials connection each), the OCPI
//! parties (country_code + party_id + role) a platform hosts, and their connection status.

use serde::{Deserialize, Serialize};
use std::fmt;

pub use crate::ocpi::v221::hub_client_info::ConnectionStatus;
pub use crate::ocpi::v221::types::Role;
pub use crate::ocpi::v221::versions::InterfaceRole;

/// An OCPI party identity: country code and party id, upper-cased (they are CiStrings).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub struct PartyKey {
    pub country_code: String,
    pub party_id: String,
}

impl PartyKey {
    pub fn new(country_code: &str, party_id: &str) -> Self {
        Self {
            country_code: country_code.to_ascii_uppercase(),
            party_id: party_id.to_ascii_uppercase(),
        }
    }
}

impl fmt::Display for PartyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.country_code, self.party_id)
    }
}

/// One module endpoint a platform published in its version details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub identifier: String,
    pub role: InterfaceRole,
    pub url: String,
}

/// One party (role) hosted by a platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartyRole {
    pub platform_id: i64,
    pub country_code: String,
    pub party_id: String,
    pub role: Role,
    pub business_details: Option<serde_json::Value>,
    /// Status as published in Hub Client Info (the platform's status).
    pub status: ConnectionStatus,
    /// When this party's Hub Client Info last changed (micros since epoch).
    pub last_updated: i64,
}

impl PartyRole {
    pub fn key(&self) -> PartyKey {
        PartyKey::new(&self.country_code, &self.party_id)
    }
}

/// A platform: one OCPI connection (one credentials exchange), hosting one or more parties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Platform {
    pub id: i64,
    pub name: Option<String>,
    pub status: ConnectionStatus,
    /// Negotiated OCPI version, once registered.
    pub ocpi_version: Option<String>,
    /// The platform's versions URL, once registered.
    pub versions_url: Option<String>,
    /// The token the hub presents when it calls this platform (the spec's token B).
    #[serde(skip_serializing)]
    pub client_token: Option<String>,
    pub endpoints: Vec<Endpoint>,
    pub roles: Vec<PartyRole>,
    /// Consecutive failed deliveries; past a threshold the platform is OFFLINE.
    pub consecutive_failures: i64,
    /// A party the hub runs itself (a micro-CPO): requests addressed to it are answered by the
    /// hub's OCPP gateway, not forwarded.
    #[serde(default)]
    pub hosted: bool,
}

impl Platform {
    /// The URL of this platform's endpoint for a module and interface role.
    pub fn endpoint(&self, module: &str, role: InterfaceRole) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|e| e.identifier == module && e.role == role)
            .map(|e| e.url.as_str())
    }

    pub fn has_party(&self, key: &PartyKey) -> bool {
        self.roles.iter().any(|r| r.country_code == key.country_code && r.party_id == key.party_id)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.iter().any(|r| r.role == role)
    }

    pub fn is_registered(&self) -> bool {
        self.client_token.is_some() && self.ocpi_version.is_some()
    }
}
