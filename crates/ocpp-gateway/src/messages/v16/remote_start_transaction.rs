//! OCPP 1.6 `RemoteStartTransaction` (CSMS → charger): start a transaction for an id tag.

use serde::{Deserialize, Serialize};

use super::types::ChargingProfile;
use crate::messages::Extra;

/// `RemoteStartTransaction.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteStartTransactionRequest {
    /// Connector (> 0); the charger picks one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<i32>,
    /// The id tag to start for (max 20).
    pub id_tag: String,
    /// A TxProfile for the transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_profile: Option<ChargingProfile>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl RemoteStartTransactionRequest {
    /// A request for `id_tag` on any connector.
    pub fn new(id_tag: impl Into<String>) -> Self {
        RemoteStartTransactionRequest {
            connector_id: None,
            id_tag: id_tag.into(),
            charging_profile: None,
            extra: Extra::new(),
        }
    }
}

ocpp_enum!(
    /// Answer to a remote start or stop.
    RemoteStartStopStatus {
        Accepted = "Accepted",
        Rejected = "Rejected",
    }
);

/// `RemoteStartTransaction.conf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteStartTransactionResponse {
    /// Verdict.
    pub status: RemoteStartStopStatus,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(RemoteStartTransactionRequest => RemoteStartTransactionResponse, "RemoteStartTransaction", V16);
