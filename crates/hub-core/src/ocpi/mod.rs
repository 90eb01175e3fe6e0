//! OCPI envelope, status codes and version-specific object models.
//!
//! Every OCPI response body is the same envelope (`data`, `status_code`, `status_message`,
//! `timestamp`); the status codes are the ones of the 2.2.1 status_codes chapter, which 2.1.1
//! shares.

pub mod translate;
pub mod v211;
pub mod v221;

use serde::{Deserialize, Serialize};

/// OCPI status codes (status_codes.asciidoc).
pub mod status {
    pub const SUCCESS: u32 = 1000;
    pub const CLIENT_ERROR: u32 = 2000;
    pub const INVALID_PARAMETERS: u32 = 2001;
    pub const NOT_ENOUGH_INFORMATION: u32 = 2002;
    pub const UNKNOWN_LOCATION: u32 = 2003;
    pub const UNKNOWN_TOKEN: u32 = 2004;
    pub const SERVER_ERROR: u32 = 3000;
    pub const UNABLE_TO_USE_CLIENT_API: u32 = 3001;
    pub const UNSUPPORTED_VERSION: u32 = 3002;
    pub const NO_MATCHING_ENDPOINTS: u32 = 3003;
    pub const HUB_ERROR: u32 = 4000;
    pub const UNKNOWN_RECEIVER: u32 = 4001;
    pub const FORWARD_TIMEOUT: u32 = 4002;
    pub const CONNECTION_PROBLEM: u32 = 4003;
}

/// The OCPI response envelope. `data` is kept as raw JSON so forwarded bodies pass untouched.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Envelope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    pub status_code: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    pub timestamp: String,
}

impl Envelope {
    pub fn success(data: Option<serde_json::Value>) -> Self {
        Self { data, status_code: status::SUCCESS, status_message: None, timestamp: now_timestamp() }
    }

    pub fn error(status_code: u32, message: impl Into<String>) -> Self {
        Self { data: None, status_code, status_message: Some(message.into()), timestamp: now_timestamp() }
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.status_message = Some(message.into());
        self
    }
}

/// Current time as an OCPI DateTime string (UTC, second precision, `Z`).
pub fn now_timestamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
