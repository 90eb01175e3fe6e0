//! OCPP 1.6 `DataTransfer` (either direction): vendor-specific data.

use serde::{Deserialize, Serialize};

use crate::messages::Extra;

/// `DataTransfer.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataTransferRequest {
    /// Vendor (max 255).
    pub vendor_id: String,
    /// Message kind (max 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The data (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// `DataTransfer.conf` status.
    DataTransferStatus {
        Accepted = "Accepted",
        Rejected = "Rejected",
        UnknownMessageId = "UnknownMessageId",
        UnknownVendorId = "UnknownVendorId",
    }
);

/// `DataTransfer.conf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataTransferResponse {
    /// Verdict.
    pub status: DataTransferStatus,
    /// Answer data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(DataTransferRequest => DataTransferResponse, "DataTransfer", V16);
