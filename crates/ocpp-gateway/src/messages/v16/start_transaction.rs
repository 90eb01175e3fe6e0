//! OCPP 1.6 `StartTransaction` (charger → CSMS): a transaction started; the CSMS assigns its id.

use serde::{Deserialize, Serialize};

use super::types::{IdTagInfo, Timestamp};
use crate::messages::Extra;

/// `StartTransaction.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartTransactionRequest {
    /// Connector (> 0).
    pub connector_id: i32,
    /// The id tag that started it (max 20).
    pub id_tag: String,
    /// Meter reading at start, Wh.
    pub meter_start: i64,
    /// Reservation this transaction ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<i32>,
    /// When it started.
    pub timestamp: Timestamp,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `StartTransaction.conf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartTransactionResponse {
    /// Verdict on the id tag.
    pub id_tag_info: IdTagInfo,
    /// The transaction id the CSMS assigns.
    pub transaction_id: i32,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(StartTransactionRequest => StartTransactionResponse, "StartTransaction", V16);
