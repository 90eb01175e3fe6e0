//! OCPP 2.0.1 `RequestStopTransaction` (CSMS → charging station): stop a transaction remotely.

use serde::{Deserialize, Serialize};

use super::request_start_transaction::RequestStartStopStatus;
use super::types::StatusInfo;
use crate::messages::Extra;

/// `RequestStopTransactionRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStopTransactionRequest {
    /// The transaction (max 36).
    pub transaction_id: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `RequestStopTransactionResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStopTransactionResponse {
    /// Verdict.
    pub status: RequestStartStopStatus,
    /// Detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(RequestStopTransactionRequest => RequestStopTransactionResponse, "RequestStopTransaction", V201);
