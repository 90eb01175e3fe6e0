//! OCPP 2.0.1 `ReserveNow` (CSMS → charging station): reserve an EVSE or connector type.

use serde::{Deserialize, Serialize};

use super::types::{IdToken, StatusInfo, Timestamp};
use crate::messages::Extra;

ocpp_enum!(
    /// Connector type to reserve.
    ConnectorType {
        CCcs1 = "cCCS1",
        CCcs2 = "cCCS2",
        CG105 = "cG105",
        CTesla = "cTesla",
        CType1 = "cType1",
        CType2 = "cType2",
        S3091P16A = "s309-1P-16A",
        S3091P32A = "s309-1P-32A",
        S3093P16A = "s309-3P-16A",
        S3093P32A = "s309-3P-32A",
        SBs1361 = "sBS1361",
        SCee77 = "sCEE-7-7",
        SType2 = "sType2",
        SType3 = "sType3",
        Other1PhMax16A = "Other1PhMax16A",
        Other1PhOver16A = "Other1PhOver16A",
        Other3Ph = "Other3Ph",
        Pan = "Pan",
        WInductive = "wInductive",
        WResonant = "wResonant",
        Undetermined = "Undetermined",
        Unknown = "Unknown",
    }
);

/// `ReserveNowRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReserveNowRequest {
    /// Reservation id.
    pub id: i32,
    /// When the reservation ends.
    pub expiry_date_time: Timestamp,
    /// Connector type wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_type: Option<ConnectorType>,
    /// The token.
    pub id_token: IdToken,
    /// EVSE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<i32>,
    /// Group token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id_token: Option<IdToken>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// Outcome of a reservation.
    ReserveNowStatus {
        Accepted = "Accepted",
        Faulted = "Faulted",
        Occupied = "Occupied",
        Rejected = "Rejected",
        Unavailable = "Unavailable",
    }
);

/// `ReserveNowResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReserveNowResponse {
    /// Outcome.
    pub status: ReserveNowStatus,
    /// Detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(ReserveNowRequest => ReserveNowResponse, "ReserveNow", V201);
