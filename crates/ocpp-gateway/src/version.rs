//! The OCPP protocol versions the gateway speaks and their websocket subprotocol names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An OCPP-J protocol version, negotiated per connection through the websocket subprotocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OcppVersion {
    /// OCPP 1.6 JSON (`ocpp1.6`).
    V16,
    /// OCPP 2.0.1 (`ocpp2.0.1`).
    V201,
}

impl OcppVersion {
    /// Every version the gateway implements, in the server's order of preference.
    pub const ALL: [OcppVersion; 2] = [OcppVersion::V201, OcppVersion::V16];

    /// The websocket subprotocol token (`ocpp1.6`, `ocpp2.0.1`).
    pub fn subprotocol(self) -> &'static str {
        match self {
            OcppVersion::V16 => "ocpp1.6",
            OcppVersion::V201 => "ocpp2.0.1",
        }
    }

    /// The version for a subprotocol token (exact, case-sensitive as RFC 6455 requires).
    pub fn from_subprotocol(token: &str) -> Option<OcppVersion> {
        match token {
            "ocpp1.6" => Some(OcppVersion::V16),
            "ocpp2.0.1" => Some(OcppVersion::V201),
            _ => None,
        }
    }

    /// The short version number (`1.6`, `2.0.1`).
    pub fn as_str(self) -> &'static str {
        match self {
            OcppVersion::V16 => "1.6",
            OcppVersion::V201 => "2.0.1",
        }
    }
}

impl fmt::Display for OcppVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`OcppVersion::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown OCPP version {0:?} (expected 1.6, 2.0.1, ocpp1.6 or ocpp2.0.1)")]
pub struct UnknownVersion(pub String);

impl FromStr for OcppVersion {
    type Err = UnknownVersion;

    /// Accepts both the version number (`1.6`) and the subprotocol token (`ocpp1.6`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "1.6" | "ocpp1.6" => Ok(OcppVersion::V16),
            "2.0.1" | "ocpp2.0.1" => Ok(OcppVersion::V201),
            other => Err(UnknownVersion(other.to_owned())),
        }
    }
}

impl Serialize for OcppVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for OcppVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subprotocol_round_trip() {
        for v in OcppVersion::ALL {
            assert_eq!(OcppVersion::from_subprotocol(v.subprotocol()), Some(v));
            assert_eq!(v.as_str().parse::<OcppVersion>().unwrap(), v);
            assert_eq!(v.subprotocol().parse::<OcppVersion>().unwrap(), v);
        }
        assert_eq!(OcppVersion::from_subprotocol("OCPP1.6"), None);
        assert!("2.1".parse::<OcppVersion>().is_err());
    }
}
