//! OCPP 1.6 `StopTransaction` (charger → CSMS): a transaction ended.

use serde::{Deserialize, Serialize};

use super::types::{IdTagInfo, MeterValue, Timestamp};
use crate::messages::Extra;

ocpp_enum!(
    /// `StopTransaction.req` reason (default `Local`).
    Reason {
        EmergencyStop = "EmergencyStop",
        EvDisconnected = "EVDisconnected",
        HardReset = "HardReset",
        Local = "Local",
        Other = "Other",
        PowerLoss = "PowerLoss",
        Reboot = "Reboot",
        Remote = "Remote",
        SoftReset = "SoftReset",
        UnlockCommand = "UnlockCommand",
        DeAuthorized = "DeAuthorized",
    }
);

/// `StopTransaction.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopTransactionRequest {
    /// The id tag that stopped it, if any (max 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_tag: Option<String>,
    /// Meter reading at stop, Wh.
    pub meter_stop: i64,
    /// When it stopped.
    pub timestamp: Timestamp,
    /// The id from StartTransaction.conf.
    pub transaction_id: i32,
    /// Why it stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// Meter values of the transaction (billing data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_data: Option<Vec<MeterValue>>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `StopTransaction.conf`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopTransactionResponse {
    /// Verdict on the id tag, when one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_tag_info: Option<IdTagInfo>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(StopTransactionRequest => StopTransactionResponse, "StopTransaction", V16);
