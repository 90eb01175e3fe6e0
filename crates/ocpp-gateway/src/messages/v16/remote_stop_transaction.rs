//! OCPP 1.6 `RemoteStopTransaction` (CSMS → charger): stop a transaction.

use serde::{Deserialize, Serialize};

use super::remote_start_transaction::RemoteStartStopStatus;
use crate::messages::Extra;

/// `RemoteStopTransaction.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteStopTransactionRequest {
    /// The transaction to stop.
    pub transaction_id: i32,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `RemoteStopTransaction.conf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteStopTransactionResponse {
    /// Verdict.
    pub status: RemoteStartStopStatus,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(RemoteStopTransactionRequest => RemoteStopTransactionResponse, "RemoteStopTransaction", V16);
