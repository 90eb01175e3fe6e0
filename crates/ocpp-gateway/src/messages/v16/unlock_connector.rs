//! OCPP 1.6 `UnlockConnector` (CSMS → charger): release a stuck cable.

use serde::{Deserialize, Serialize};

use crate::messages::Extra;

/// `UnlockConnector.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnlockConnectorRequest {
    /// Connector (> 0).
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
        NotSupported = "NotSupported",
    }
);

/// `UnlockConnector.conf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnlockConnectorResponse {
    /// Outcome.
    pub status: UnlockStatus,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(UnlockConnectorRequest => UnlockConnectorResponse, "UnlockConnector", V16);
