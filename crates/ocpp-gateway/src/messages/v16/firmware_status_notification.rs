//! OCPP 1.6 `FirmwareStatusNotification` (charger → CSMS): progress of a firmware update.

use serde::{Deserialize, Serialize};

use crate::messages::Extra;

ocpp_enum!(
    /// Firmware update progress.
    FirmwareStatus {
        Downloaded = "Downloaded",
        DownloadFailed = "DownloadFailed",
        Downloading = "Downloading",
        Idle = "Idle",
        InstallationFailed = "InstallationFailed",
        Installing = "Installing",
        Installed = "Installed",
    }
);

/// `FirmwareStatusNotification.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirmwareStatusNotificationRequest {
    /// Progress.
    pub status: FirmwareStatus,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `FirmwareStatusNotification.conf` (empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FirmwareStatusNotificationResponse {
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(FirmwareStatusNotificationRequest => FirmwareStatusNotificationResponse, "FirmwareStatusNotification", V16);
