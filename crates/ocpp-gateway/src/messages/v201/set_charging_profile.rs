//! OCPP 2.0.1 `SetChargingProfile` (CSMS → charging station): install a smart-charging profile.

use serde::{Deserialize, Serialize};

use super::types::{ChargingProfile, GenericStatus, StatusInfo};
use crate::messages::Extra;

/// `SetChargingProfileRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetChargingProfileRequest {
    /// EVSE (0 = the whole station).
    pub evse_id: i32,
    /// The profile.
    pub charging_profile: ChargingProfile,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `SetChargingProfileResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetChargingProfileResponse {
    /// Outcome.
    pub status: GenericStatus,
    /// Detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(SetChargingProfileRequest => SetChargingProfileResponse, "SetChargingProfile", V201);
