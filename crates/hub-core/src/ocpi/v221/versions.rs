//! Version information objects (version_information_endpoint.asciidoc): the [`Version`] list
//! of the versions endpoint and the [`VersionDetails`] (with its [`Endpoint`]s) of one version.
//!
//! Unlike the other enums, [`VersionNumber`] and [`ModuleId`] are open: the spec lets parties
//! add custom modules (`ModuleID` "can be extended", e.g. `nltnm-tokens`), and a party's
//! version list may name versions newer than 2.2.1. Unknown values are kept as
//! [`VersionNumber::Other`] / [`ModuleId::Custom`] and written back unchanged, so one unknown
//! entry does not make a party's whole version list unreadable.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::types::{Extra, ocpi_enum};

/// `Version` class: one entry of the versions endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Version {
    pub version: VersionNumber,
    /// The version details endpoint.
    pub url: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Version {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[("url", Some(&self.url), Rule::Url)]);
    }
}

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

/// `Endpoint` class: where one module is implemented, in which interface role.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Endpoint {
    pub identifier: ModuleId,
    pub role: InterfaceRole,
    pub url: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Endpoint {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[("url", Some(&self.url), Rule::Url)]);
    }
}

ocpi_enum! {
    /// `InterfaceRole` enum.
    pub enum InterfaceRole {
        /// Implemented by the owner of the data; the receiver pulls from it.
        Sender = "SENDER",
        /// Implemented by the receiver of data; the owner pushes to it.
        Receiver = "RECEIVER",
    }
}

/// Defines an open string enum: known values plus one variant holding any other string.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(#[$ometa:meta])* other $other:ident(String);
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            $(#[$ometa])* $other(String),
        }

        impl $name {
            /// The known values, in spec order.
            pub const KNOWN: &'static [Self] = &[$(Self::$variant),+];

            /// The value string.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )+
                    Self::$other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $text => Self::$variant, )+
                    _ => Self::$other(s.to_owned()),
                }
            }
        }

        impl FromStr for $name {
            type Err = std::convert::Infallible;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<str>::deserialize(deserializer)?;
                Ok(Self::from(s.as_ref()))
            }
        }
    };
}

open_enum! {
    /// `VersionNumber` enum: an OCPI version.
    pub enum VersionNumber {
        /// A version this hub does not know.
        other Other(String);
        V2_0 = "2.0",
        /// Deprecated.
        V2_1 = "2.1",
        V2_1_1 = "2.1.1",
        /// Deprecated.
        V2_2 = "2.2",
        V2_2_1 = "2.2.1",
    }
}

open_enum! {
    /// `ModuleID` enum: the identifier of a module in version details.
    pub enum ModuleId {
        /// A custom module agreed between parties, e.g. `nltnm-tokens`.
        other Custom(String);
        Cdrs = "cdrs",
        ChargingProfiles = "chargingprofiles",
        Commands = "commands",
        Credentials = "credentials",
        HubClientInfo = "hubclientinfo",
        Locations = "locations",
        Sessions = "sessions",
        Tariffs = "tariffs",
        Tokens = "tokens",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_enums_keep_unknown_values() {
        let v: VersionNumber = serde_json::from_str(r#""2.2.1""#).unwrap();
        assert_eq!(v, VersionNumber::V2_2_1);
        let v: VersionNumber = serde_json::from_str(r#""3.0""#).unwrap();
        assert_eq!(v, VersionNumber::Other("3.0".into()));
        assert_eq!(serde_json::to_string(&v).unwrap(), r#""3.0""#);
        let m: ModuleId = serde_json::from_str(r#""nltnm-tokens""#).unwrap();
        assert_eq!(m.as_str(), "nltnm-tokens");
        assert_eq!(
            "hubclientinfo".parse::<ModuleId>().unwrap(),
            ModuleId::HubClientInfo
        );
    }
}
