//! OCPP 2.0.1 `NotifyEVChargingNeeds` (charging station → CSMS): ISO 15118 charging needs of the
//! EV.

use serde::{Deserialize, Serialize};

use super::types::{StatusInfo, Timestamp};
use crate::messages::Extra;

ocpp_enum!(
    /// Energy transfer mode requested by the EV.
    EnergyTransferMode {
        Dc = "DC",
        AcSinglePhase = "AC_single_phase",
        AcTwoPhase = "AC_two_phase",
        AcThreePhase = "AC_three_phase",
    }
);

/// AC charging parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcChargingParameters {
    /// Energy requested, Wh.
    pub energy_amount: i32,
    /// Minimum current per phase, A.
    pub ev_min_current: i32,
    /// Maximum current per phase, A.
    pub ev_max_current: i32,
    /// Maximum voltage, V.
    pub ev_max_voltage: i32,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// DC charging parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DcChargingParameters {
    /// Maximum current, A.
    pub ev_max_current: i32,
    /// Maximum voltage, V.
    pub ev_max_voltage: i32,
    /// Energy requested, Wh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_amount: Option<i32>,
    /// Maximum power, W.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ev_max_power: Option<i32>,
    /// State of charge, %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_of_charge: Option<i32>,
    /// Battery capacity, Wh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ev_energy_capacity: Option<i32>,
    /// SoC considered full, %.
    #[serde(default, rename = "fullSoC", skip_serializing_if = "Option::is_none")]
    pub full_soc: Option<i32>,
    /// SoC where bulk charging ends, %.
    #[serde(default, rename = "bulkSoC", skip_serializing_if = "Option::is_none")]
    pub bulk_soc: Option<i32>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What the EV needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingNeeds {
    /// AC parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ac_charging_parameters: Option<AcChargingParameters>,
    /// DC parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc_charging_parameters: Option<DcChargingParameters>,
    /// Transfer mode.
    pub requested_energy_transfer: EnergyTransferMode,
    /// When the EV leaves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departure_time: Option<Timestamp>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `NotifyEVChargingNeedsRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyEvChargingNeedsRequest {
    /// Most schedule tuples the EV accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_schedule_tuples: Option<i32>,
    /// The needs.
    pub charging_needs: ChargingNeeds,
    /// EVSE.
    pub evse_id: i32,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// Answer to the charging needs.
    NotifyEvChargingNeedsStatus {
        Accepted = "Accepted",
        Rejected = "Rejected",
        Processing = "Processing",
    }
);

/// `NotifyEVChargingNeedsResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyEvChargingNeedsResponse {
    /// Answer.
    pub status: NotifyEvChargingNeedsStatus,
    /// Detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(NotifyEvChargingNeedsRequest => NotifyEvChargingNeedsResponse, "NotifyEVChargingNeeds", V201);
