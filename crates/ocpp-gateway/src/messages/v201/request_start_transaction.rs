//! OCPP 2.0.1 `RequestStartTransaction` (CSMS → charging station): start a transaction remotely.

use serde::{Deserialize, Serialize};

use super::types::{ChargingProfile, IdToken, StatusInfo};
use crate::messages::Extra;

/// `RequestStartTransactionRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStartTransactionRequest {
    /// EVSE (> 0); the station picks one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<i32>,
    /// Group token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id_token: Option<IdToken>,
    /// The token to start for.
    pub id_token: IdToken,
    /// Id echoed in the TransactionEvent that starts the transaction.
    pub remote_start_id: i32,
    /// A TxProfile for the transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_profile: Option<ChargingProfile>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl RequestStartTransactionRequest {
    /// A request for `id_token` on any EVSE.
    pub fn new(id_token: IdToken, remote_start_id: i32) -> Self {
        RequestStartTransactionRequest {
            evse_id: None,
            group_id_token: None,
            id_token,
            remote_start_id,
            charging_profile: None,
            extra: Extra::new(),
        }
    }
}

ocpp_enum!(
    /// Answer to a remote start or stop.
    RequestStartStopStatus {
        Accepted = "Accepted",
        Rejected = "Rejected",
    }
);

/// `RequestStartTransactionResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStartTransactionResponse {
    /// Verdict.
    pub status: RequestStartStopStatus,
    /// Detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
    /// Id of a transaction already running on the EVSE (max 36).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(RequestStartTransactionRequest => RequestStartTransactionResponse, "RequestStartTransaction", V201);
