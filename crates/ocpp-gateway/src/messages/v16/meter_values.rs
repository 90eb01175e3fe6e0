//! OCPP 1.6 `MeterValues` (charger → CSMS): sampled meter readings.

use serde::{Deserialize, Serialize};

use super::types::MeterValue;
use crate::messages::Extra;

/// `MeterValues.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterValuesRequest {
    /// Connector (0 = main meter).
    pub connector_id: i32,
    /// Transaction the values belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<i32>,
    /// The readings (at least one).
    pub meter_value: Vec<MeterValue>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `MeterValues.conf` (empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MeterValuesResponse {
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(MeterValuesRequest => MeterValuesResponse, "MeterValues", V16);
