//! Hub Client Info module objects (mod_hub_client_info.asciidoc): the [`ClientInfo`] a hub
//! publishes about each connected party and its [`ConnectionStatus`].

use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::types::{DateTime, Extra, Role, ocpi_enum};

/// `ClientInfo` object: the connection status of one party (role) behind the hub.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClientInfo {
    /// CiString(3)
    pub party_id: String,
    /// CiString(2)
    pub country_code: String,
    pub role: Role,
    pub status: ConnectionStatus,
    pub last_updated: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ClientInfo {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            ("party_id", Some(&self.party_id), Rule::PartyId),
            ("country_code", Some(&self.country_code), Rule::CountryCode),
        ]);
    }
}

ocpi_enum! {
    /// `ConnectionStatus` enum.
    pub enum ConnectionStatus {
        /// Party is connected.
        Connected = "CONNECTED",
        /// Party is currently not connected.
        Offline = "OFFLINE",
        /// Connection is planned, but has never been made.
        Planned = "PLANNED",
        /// Party is no longer active and will never connect again.
        Suspended = "SUSPENDED",
    }
}
