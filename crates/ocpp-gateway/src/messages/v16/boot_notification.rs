//! OCPP 1.6 `BootNotification` (charger → CSMS): the charger announces itself after (re)boot.

use serde::{Deserialize, Serialize};

use super::types::Timestamp;
use crate::messages::Extra;

/// `BootNotification.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootNotificationRequest {
    /// Vendor (max 20).
    pub charge_point_vendor: String,
    /// Model (max 20).
    pub charge_point_model: String,
    /// Charge point serial number (max 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_point_serial_number: Option<String>,
    /// Charge box serial number (max 25, deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_box_serial_number: Option<String>,
    /// Firmware version (max 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    /// Modem ICCID (max 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    /// Modem IMSI (max 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imsi: Option<String>,
    /// Meter type (max 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_type: Option<String>,
    /// Meter serial number (max 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_serial_number: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// `BootNotification.conf` status.
    RegistrationStatus {
        Accepted = "Accepted",
        Pending = "Pending",
        Rejected = "Rejected",
    }
);

/// `BootNotification.conf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootNotificationResponse {
    /// Registration verdict.
    pub status: RegistrationStatus,
    /// The CSMS clock.
    pub current_time: Timestamp,
    /// Heartbeat interval (Accepted) or retry interval (Pending/Rejected), seconds.
    pub interval: i32,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(BootNotificationRequest => BootNotificationResponse, "BootNotification", V16);
