//! OCPP 1.6 `ReserveNow` (CSMS → charger): reserve a connector for an id tag.

use serde::{Deserialize, Serialize};

use super::types::Timestamp;
use crate::messages::Extra;

/// `ReserveNow.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReserveNowRequest {
    /// Connector (0 = any).
    pub connector_id: i32,
    /// When the reservation ends.
    pub expiry_date: Timestamp,
    /// The id tag (max 20).
    pub id_tag: String,
    /// Parent id tag (max 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id_tag: Option<String>,
    /// Reservation id.
    pub reservation_id: i32,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// Outcome of a reservation.
    ReservationStatus {
        Accepted = "Accepted",
        Faulted = "Faulted",
        Occupied = "Occupied",
        Rejected = "Rejected",
        Unavailable = "Unavailable",
    }
);

/// `ReserveNow.conf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReserveNowResponse {
    /// Outcome.
    pub status: ReservationStatus,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(ReserveNowRequest => ReserveNowResponse, "ReserveNow", V16);
