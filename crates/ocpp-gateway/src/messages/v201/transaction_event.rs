//! OCPP 2.0.1 `TransactionEvent` (charging station → CSMS): start, update and end of a
//! transaction, with meter values.

use serde::{Deserialize, Serialize};

use super::types::{Evse, IdToken, IdTokenInfo, MessageContent, MeterValue, Timestamp};
use crate::messages::Extra;

ocpp_enum!(
    /// Kind of event.
    TransactionEventKind {
        Ended = "Ended",
        Started = "Started",
        Updated = "Updated",
    }
);

ocpp_enum!(
    /// What triggered the event.
    TriggerReason {
        Authorized = "Authorized",
        CablePluggedIn = "CablePluggedIn",
        ChargingRateChanged = "ChargingRateChanged",
        ChargingStateChanged = "ChargingStateChanged",
        Deauthorized = "Deauthorized",
        EnergyLimitReached = "EnergyLimitReached",
        EvCommunicationLost = "EVCommunicationLost",
        EvConnectTimeout = "EVConnectTimeout",
        MeterValueClock = "MeterValueClock",
        MeterValuePeriodic = "MeterValuePeriodic",
        TimeLimitReached = "TimeLimitReached",
        Trigger = "Trigger",
        UnlockCommand = "UnlockCommand",
        StopAuthorized = "StopAuthorized",
        EvDeparted = "EVDeparted",
        EvDetected = "EVDetected",
        RemoteStop = "RemoteStop",
        RemoteStart = "RemoteStart",
        AbnormalCondition = "AbnormalCondition",
        SignedDataReceived = "SignedDataReceived",
        ResetCommand = "ResetCommand",
    }
);

ocpp_enum!(
    /// Charging state of the transaction.
    ChargingState {
        Charging = "Charging",
        EvConnected = "EVConnected",
        SuspendedEv = "SuspendedEV",
        SuspendedEvse = "SuspendedEVSE",
        Idle = "Idle",
    }
);

ocpp_enum!(
    /// Why the transaction stopped.
    StoppedReason {
        DeAuthorized = "DeAuthorized",
        EmergencyStop = "EmergencyStop",
        EnergyLimitReached = "EnergyLimitReached",
        EvDisconnected = "EVDisconnected",
        GroundFault = "GroundFault",
        ImmediateReset = "ImmediateReset",
        Local = "Local",
        LocalOutOfCredit = "LocalOutOfCredit",
        MasterPass = "MasterPass",
        Other = "Other",
        OvercurrentFault = "OvercurrentFault",
        PowerLoss = "PowerLoss",
        PowerQuality = "PowerQuality",
        Reboot = "Reboot",
        Remote = "Remote",
        SocLimitReached = "SOCLimitReached",
        StoppedByEv = "StoppedByEV",
        TimeLimitReached = "TimeLimitReached",
        Timeout = "Timeout",
    }
);

/// The transaction described by the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// Id assigned by the station (max 36).
    pub transaction_id: String,
    /// Charging state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_state: Option<ChargingState>,
    /// Seconds spent charging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_spent_charging: Option<i32>,
    /// Why it stopped (Ended events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<StoppedReason>,
    /// The `remoteStartId` of the RequestStartTransaction that started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_start_id: Option<i32>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `TransactionEventRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionEventRequest {
    /// Started / Updated / Ended.
    pub event_type: TransactionEventKind,
    /// Meter values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_value: Option<Vec<MeterValue>>,
    /// When.
    pub timestamp: Timestamp,
    /// Why.
    pub trigger_reason: TriggerReason,
    /// Sequence number of the event within the transaction.
    pub seq_no: i32,
    /// Sent after being offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<bool>,
    /// Phases used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_phases_used: Option<i32>,
    /// Cable maximum current, A.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cable_max_current: Option<i32>,
    /// Reservation ended by this transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<i32>,
    /// The transaction.
    pub transaction_info: Transaction,
    /// EVSE (first event of a transaction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse: Option<Evse>,
    /// Token used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<IdToken>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `TransactionEventResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionEventResponse {
    /// Running cost, for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_cost: Option<f64>,
    /// Priority (-9 to 9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_priority: Option<i32>,
    /// Verdict on the token, when one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_info: Option<IdTokenInfo>,
    /// Message for the driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_personal_message: Option<MessageContent>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_request!(TransactionEventRequest => TransactionEventResponse, "TransactionEvent", V201);
