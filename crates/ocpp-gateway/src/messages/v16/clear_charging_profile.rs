//! OCPP 1.6 `ClearChargingProfile` (CSMS → charger): remove profiles matching the criteria.

use serde::{Deserialize, Serialize};

use super::types::ChargingProfilePurpose;
use crate::messages::Extra;

/// `ClearChargingProfile.req` (every criterion optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClearChargingProfileRequest {
    /// Profile id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i32>,
    /// Connector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<i32>,
    /// Purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_profile_purpose: Option<ChargingProfilePurpose>,
    /// Stack level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_level: Option<i32>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// Outcome of clearing.
    ClearChargingProfileStatus {
        Accepted = "Accepted",
        Unknown = "Unknown",
    }
);

/// `ClearChargingProfile.conf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClearChargingProfileResponse {
    /// Outcome.
    pub status: ClearChargingProfileStatus,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(ClearChargingProfileRequest => ClearChargingProfileResponse, "ClearChargingProfile", V16);
