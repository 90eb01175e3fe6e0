//! OCPP 2.0.1 `UnlockConnector` (CSMS → charging station): release a stuck cable.

use serde::{Deserialize, Serialize};

use super::types::StatusInfo;
use crate::messages::Extra;

/// `UnlockConnectorRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnlockConnectorRequest {
    /// EVSE.
    pub evse_id: i32,
    /// Connector on the EVSE.
    pub connector_id: i32,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// Outcome of the unlock.
    UnlockStatus {
        Unlocked = "Unlocked",
        UnlockFailed = "UnlockFailed",
        OngoingAuthorizedTransaction = "OngoingAuthorizedTransaction",
        UnknownConnector = "UnknownConnector",
    }
);

/// `UnlockConnectorResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnlockConnectorResponse {
    /// Outcome.
    pub status: UnlockStatus,
    /// Detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(UnlockConnectorRequest => UnlockConnectorResponse, "UnlockConnector", V201);
