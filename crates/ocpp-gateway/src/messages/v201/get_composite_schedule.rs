//! OCPP 2.0.1 `GetCompositeSchedule` (CSMS → charging station): the effective schedule of an EVSE.

use serde::{Deserialize, Serialize};

use super::types::{
    ChargingRateUnit, ChargingSchedulePeriod, GenericStatus, StatusInfo, Timestamp,
};
use crate::messages::Extra;

/// `GetCompositeScheduleRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCompositeScheduleRequest {
    /// Seconds from now.
    pub duration: i32,
    /// Unit wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_rate_unit: Option<ChargingRateUnit>,
    /// EVSE (0 = grid connection).
    pub evse_id: i32,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The computed schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeSchedule {
    /// The periods.
    pub charging_schedule_period: Vec<ChargingSchedulePeriod>,
    /// EVSE.
    pub evse_id: i32,
    /// Duration, seconds.
    pub duration: i32,
    /// Start.
    pub schedule_start: Timestamp,
    /// Unit.
    pub charging_rate_unit: ChargingRateUnit,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GetCompositeScheduleResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCompositeScheduleResponse {
    /// Outcome.
    pub status: GenericStatus,
    /// Detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
    /// The schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<CompositeSchedule>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(GetCompositeScheduleRequest => GetCompositeScheduleResponse, "GetCompositeSchedule", V201);
