//! OCPP 1.6 `SetChargingProfile` (CSMS → charger): install a smart-charging profile.

use serde::{Deserialize, Serialize};

use super::types::ChargingProfile;
use crate::messages::Extra;

/// `SetChargingProfile.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetChargingProfileRequest {
    /// Connector (0 = the whole charge point).
    pub connector_id: i32,
    /// The profile.
    pub cs_charging_profiles: ChargingProfile,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// Outcome of installing a profile.
    ChargingProfileStatus {
        Accepted = "Accepted",
        Rejected = "Rejected",
        NotSupported = "NotSupported",
    }
);

/// `SetChargingProfile.conf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetChargingProfileResponse {
    /// Outcome.
    pub status: ChargingProfileStatus,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(SetChargingProfileRequest => SetChargingProfileResponse, "SetChargingProfile", V16);
