//! OCPP 1.6 `DiagnosticsStatusNotification` (charger → CSMS): progress of a diagnostics upload.

use serde::{Deserialize, Serialize};

use crate::messages::Extra;

ocpp_enum!(
    /// Diagnostics upload progress.
    DiagnosticsStatus {
        Idle = "Idle",
        Uploaded = "Uploaded",
        UploadFailed = "UploadFailed",
        Uploading = "Uploading",
    }
);

/// `DiagnosticsStatusNotification.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagnosticsStatusNotificationRequest {
    /// Progress.
    pub status: DiagnosticsStatus,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `DiagnosticsStatusNotification.conf` (empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiagnosticsStatusNotificationResponse {
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(DiagnosticsStatusNotificationRequest => DiagnosticsStatusNotificationResponse, "DiagnosticsStatusNotification", V16);
