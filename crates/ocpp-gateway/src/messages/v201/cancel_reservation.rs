//! OCPP 2.0.1 `CancelReservation` (CSMS → charging station).

use serde::{Deserialize, Serialize};

use super::types::{GenericStatus, StatusInfo};
use crate::messages::Extra;

/// `CancelReservationRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelReservationRequest {
    /// Reservation id.
    pub reservation_id: i32,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `CancelReservationResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelReservationResponse {
    /// Outcome.
    pub status: GenericStatus,
    /// Detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(CancelReservationRequest => CancelReservationResponse, "CancelReservation", V201);
