//! OCPP 1.6 `GetCompositeSchedule` (CSMS → charger): the effective schedule of a connector.

use serde::{Deserialize, Serialize};

use super::types::{ChargingRateUnit, ChargingSchedule, Timestamp};
use crate::messages::Extra;

/// `GetCompositeSchedule.req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCompositeScheduleRequest {
    /// Connector (0 = grid connection).
    pub connector_id: i32,
    /// Seconds from now.
    pub duration: i32,
    /// Unit wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_rate_unit: Option<ChargingRateUnit>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// Whether a schedule could be computed.
    GetCompositeScheduleStatus {
        Accepted = "Accepted",
        Rejected = "Rejected",
    }
);

/// `GetCompositeSchedule.conf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCompositeScheduleResponse {
    /// Outcome.
    pub status: GetCompositeScheduleStatus,
    /// Connector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<i32>,
    /// Start of the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_start: Option<Timestamp>,
    /// The schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_schedule: Option<ChargingSchedule>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(GetCompositeScheduleRequest => GetCompositeScheduleResponse, "GetCompositeSchedule", V16);
