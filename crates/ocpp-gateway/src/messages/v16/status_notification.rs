//! OCPP 1.6 `StatusNotification` (charger → CSMS): connector status and errors.

use serde::{Deserialize, Serialize};

use super::types::Timestamp;
use crate::messages::Extra;

ocpp_enum!(
    /// `StatusNotification.req` errorCode.
    ChargePointErrorCode {
        ConnectorLockFailure = "ConnectorLockFailure",
        EvCommunicationError = "EVCommunicationError",
        GroundFailure = "GroundFailure",
        HighTemperature = "HighTemperature",
        InternalError = "InternalError",
        LocalListConflict = "LocalListConflict",
        NoError = "NoError",
        OtherError = "OtherError",
        OverCurrentFailure = "OverCurrentFailure",
        PowerMeterFailure = "PowerMeterFailure",
        PowerSwitchFailure = "PowerSwitchFailure",
        ReaderFailure = "ReaderFailure",
        ResetFailure = "ResetFailure",
        UnderVoltage = "UnderVoltage",
        OverVoltage = "OverVoltage",
        WeakSignal = "WeakSignal",
    }
);

ocpp_enum!(
    /// `StatusNotification.req` status.
    ChargePointStatus {
        Available = "Available",
        Preparing = "Preparing",
        Charging = "Charging",
        SuspendedEvse = "SuspendedEVSE",
        SuspendedEv = "SuspendedEV",
        Finishing = "Finishing",
        Reserved = "Reserved",
        Unavailable = "Unavailable",
        Faulted = "Faulted",
    }
);

/// `StatusNotification.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusNotificationRequest {
    /// Connector (0 = the whole charge point).
    pub connector_id: i32,
    /// Error code (`NoError` when fine).
    pub error_code: ChargePointErrorCode,
    /// Free text (max 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    /// Status.
    pub status: ChargePointStatus,
    /// When the status was reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// Vendor of the vendor error code (max 255).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    /// Vendor-specific error code (max 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_error_code: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `StatusNotification.conf` (empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusNotificationResponse {
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(StatusNotificationRequest => StatusNotificationResponse, "StatusNotification", V16);
