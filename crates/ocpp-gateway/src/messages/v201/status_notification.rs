//! OCPP 2.0.1 `StatusNotification` (charging station → CSMS): connector status.

use serde::{Deserialize, Serialize};

use super::types::Timestamp;
use crate::messages::Extra;

ocpp_enum!(
    /// Connector status.
    ConnectorStatus {
        Available = "Available",
        Occupied = "Occupied",
        Reserved = "Reserved",
        Unavailable = "Unavailable",
        Faulted = "Faulted",
    }
);

/// `StatusNotificationRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusNotificationRequest {
    /// When.
    pub timestamp: Timestamp,
    /// Status.
    pub connector_status: ConnectorStatus,
    /// EVSE.
    pub evse_id: i32,
    /// Connector on the EVSE.
    pub connector_id: i32,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `StatusNotificationResponse` (empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusNotificationResponse {
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(StatusNotificationRequest => StatusNotificationResponse, "StatusNotification", V201);
