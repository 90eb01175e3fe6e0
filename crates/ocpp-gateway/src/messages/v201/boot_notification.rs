//! OCPP 2.0.1 `BootNotification` (charging station → CSMS): the station announces itself.

use serde::{Deserialize, Serialize};

use super::types::{StatusInfo, Timestamp};
use crate::messages::Extra;

ocpp_enum!(
    /// Why the station booted.
    BootReason {
        ApplicationReset = "ApplicationReset",
        FirmwareUpdate = "FirmwareUpdate",
        LocalReset = "LocalReset",
        PowerUp = "PowerUp",
        RemoteReset = "RemoteReset",
        ScheduledReset = "ScheduledReset",
        Triggered = "Triggered",
        Unknown = "Unknown",
        Watchdog = "Watchdog",
    }
);

/// The station's modem.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Modem {
    /// ICCID (max 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    /// IMSI (max 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imsi: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The station's identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingStation {
    /// Serial number (max 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Model (max 20).
    pub model: String,
    /// Modem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modem: Option<Modem>,
    /// Vendor (max 50).
    pub vendor_name: String,
    /// Firmware version (max 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `BootNotificationRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootNotificationRequest {
    /// The station.
    pub charging_station: ChargingStation,
    /// Why it booted.
    pub reason: BootReason,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// Registration verdict.
    RegistrationStatus {
        Accepted = "Accepted",
        Pending = "Pending",
        Rejected = "Rejected",
    }
);

/// `BootNotificationResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootNotificationResponse {
    /// The CSMS clock.
    pub current_time: Timestamp,
    /// Heartbeat interval (Accepted) or retry interval, seconds.
    pub interval: i32,
    /// Verdict.
    pub status: RegistrationStatus,
    /// Detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(BootNotificationRequest => BootNotificationResponse, "BootNotification", V201);
