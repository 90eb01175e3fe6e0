//! OCPP 2.0.1 `MeterValues` (charging station → CSMS): readings outside transactions.

use serde::{Deserialize, Serialize};

use super::types::MeterValue;
use crate::messages::Extra;

/// `MeterValuesRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterValuesRequest {
    /// EVSE (0 = main meter).
    pub evse_id: i32,
    /// The readings (at least one).
    pub meter_value: Vec<MeterValue>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `MeterValuesResponse` (empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MeterValuesResponse {
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(MeterValuesRequest => MeterValuesResponse, "MeterValues", V201);
