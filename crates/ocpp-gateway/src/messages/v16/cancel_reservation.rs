//! OCPP 1.6 `CancelReservation` (CSMS → charger).

use serde::{Deserialize, Serialize};

use crate::messages::Extra;

/// `CancelReservation.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelReservationRequest {
    /// Reservation id.
    pub reservation_id: i32,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// Outcome of the cancellation.
    CancelReservationStatus {
        Accepted = "Accepted",
        Rejected = "Rejected",
    }
);

/// `CancelReservation.conf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancelReservationResponse {
    /// Outcome.
    pub status: CancelReservationStatus,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(CancelReservationRequest => CancelReservationResponse, "CancelReservation", V16);
