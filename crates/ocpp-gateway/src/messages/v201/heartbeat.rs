//! OCPP 2.0.1 `Heartbeat` (charging station → CSMS): keep-alive and clock synchronisation.

use serde::{Deserialize, Serialize};

use super::types::Timestamp;
use crate::messages::Extra;

/// `HeartbeatRequest` (empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `HeartbeatResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatResponse {
    /// The CSMS clock.
    pub current_time: Timestamp,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(HeartbeatRequest => HeartbeatResponse, "Heartbeat", V201);
