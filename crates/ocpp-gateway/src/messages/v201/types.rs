//! OCPP 2.0.1 data types and enums shared by several actions (IdToken, IdTokenInfo, StatusInfo,
//! EVSE, MeterValue, SampledValue, ChargingProfile, ChargingSchedule, ...). `customData` is kept in
//! each object's `extra`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::messages::Extra;

/// Timestamps are UTC (offsets are converted on reading).
pub type Timestamp = DateTime<Utc>;

ocpp_enum!(
    /// `IdTokenType.type`.
    IdTokenEnum {
        Central = "Central",
        EMaid = "eMAID",
        Iso14443 = "ISO14443",
        Iso15693 = "ISO15693",
        KeyCode = "KeyCode",
        Local = "Local",
        MacAddress = "MacAddress",
        NoAuthorization = "NoAuthorization",
    }
);

/// An additional identifier of an id token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalInfo {
    /// The identifier (max 36).
    pub additional_id_token: String,
    /// Its type (max 50).
    #[serde(rename = "type")]
    pub kind: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An identification token (RFID uid, eMAID, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdToken {
    /// Additional identifiers (at least one when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<Vec<AdditionalInfo>>,
    /// The token (max 36).
    pub id_token: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: IdTokenEnum,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl IdToken {
    /// A token without additional info.
    pub fn new(id_token: impl Into<String>, kind: IdTokenEnum) -> Self {
        IdToken {
            additional_info: None,
            id_token: id_token.into(),
            kind,
            extra: Extra::new(),
        }
    }
}

ocpp_enum!(
    /// `IdTokenInfoType.status`.
    AuthorizationStatus {
        Accepted = "Accepted",
        Blocked = "Blocked",
        ConcurrentTx = "ConcurrentTx",
        Expired = "Expired",
        Invalid = "Invalid",
        NoCredit = "NoCredit",
        NotAllowedTypeEvse = "NotAllowedTypeEVSE",
        NotAtThisLocation = "NotAtThisLocation",
        NotAtThisTime = "NotAtThisTime",
        Unknown = "Unknown",
    }
);

ocpp_enum!(
    /// `MessageContentType.format`.
    MessageFormat {
        Ascii = "ASCII",
        Html = "HTML",
        Uri = "URI",
        Utf8 = "UTF8",
    }
);

/// A message for the driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageContent {
    /// Format of `content`.
    pub format: MessageFormat,
    /// Language code (max 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The text (max 512).
    pub content: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Authorization status of an id token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdTokenInfo {
    /// Whether the token may charge.
    pub status: AuthorizationStatus,
    /// Cache expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_expiry_date_time: Option<Timestamp>,
    /// Priority (-9 to 9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_priority: Option<i32>,
    /// Preferred language (max 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language1: Option<String>,
    /// EVSEs the token is valid for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<Vec<i32>>,
    /// Group token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id_token: Option<IdToken>,
    /// Second language (max 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language2: Option<String>,
    /// Message for the driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_message: Option<MessageContent>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl IdTokenInfo {
    /// `{"status": status}`.
    pub fn new(status: AuthorizationStatus) -> Self {
        IdTokenInfo {
            status,
            cache_expiry_date_time: None,
            charging_priority: None,
            language1: None,
            evse_id: None,
            group_id_token: None,
            language2: None,
            personal_message: None,
            extra: Extra::new(),
        }
    }
}

/// More information about a status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    /// Reason code (max 20).
    pub reason_code: String,
    /// Detail (max 512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An EVSE, optionally one connector of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evse {
    /// EVSE id (> 0).
    pub id: i32,
    /// Connector id on the EVSE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<i32>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// `SampledValueType.context`.
    ReadingContext {
        InterruptionBegin = "Interruption.Begin",
        InterruptionEnd = "Interruption.End",
        Other = "Other",
        SampleClock = "Sample.Clock",
        SamplePeriodic = "Sample.Periodic",
        TransactionBegin = "Transaction.Begin",
        TransactionEnd = "Transaction.End",
        Trigger = "Trigger",
    }
);

ocpp_enum!(
    /// `SampledValueType.measurand`.
    Measurand {
        CurrentExport = "Current.Export",
        CurrentImport = "Current.Import",
        CurrentOffered = "Current.Offered",
        EnergyActiveExportRegister = "Energy.Active.Export.Register",
        EnergyActiveImportRegister = "Energy.Active.Import.Register",
        EnergyReactiveExportRegister = "Energy.Reactive.Export.Register",
        EnergyReactiveImportRegister = "Energy.Reactive.Import.Register",
        EnergyActiveExportInterval = "Energy.Active.Export.Interval",
        EnergyActiveImportInterval = "Energy.Active.Import.Interval",
        EnergyActiveNet = "Energy.Active.Net",
        EnergyReactiveExportInterval = "Energy.Reactive.Export.Interval",
        EnergyReactiveImportInterval = "Energy.Reactive.Import.Interval",
        EnergyReactiveNet = "Energy.Reactive.Net",
        EnergyApparentNet = "Energy.Apparent.Net",
        EnergyApparentImport = "Energy.Apparent.Import",
        EnergyApparentExport = "Energy.Apparent.Export",
        Frequency = "Frequency",
        PowerActiveExport = "Power.Active.Export",
        PowerActiveImport = "Power.Active.Import",
        PowerFactor = "Power.Factor",
        PowerOffered = "Power.Offered",
        PowerReactiveExport = "Power.Reactive.Export",
        PowerReactiveImport = "Power.Reactive.Import",
        SoC = "SoC",
        Voltage = "Voltage",
    }
);

ocpp_enum!(
    /// `SampledValueType.phase`.
    Phase {
        L1 = "L1",
        L2 = "L2",
        L3 = "L3",
        N = "N",
        L1N = "L1-N",
        L2N = "L2-N",
        L3N = "L3-N",
        L1L2 = "L1-L2",
        L2L3 = "L2-L3",
        L3L1 = "L3-L1",
    }
);

ocpp_enum!(
    /// `SampledValueType.location`.
    Location {
        Body = "Body",
        Cable = "Cable",
        Ev = "EV",
        Inlet = "Inlet",
        Outlet = "Outlet",
    }
);

/// A signed meter value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedMeterValue {
    /// Signed data (max 2500).
    pub signed_meter_data: String,
    /// Signing method (max 50).
    pub signing_method: String,
    /// Encoding method (max 50).
    pub encoding_method: String,
    /// Public key (max 2500).
    pub public_key: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Unit and power-of-ten multiplier of a sampled value (defaults `Wh`, 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitOfMeasure {
    /// Unit (max 20), e.g. `Wh`, `kWh`, `W`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Power of ten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<i32>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One measured value. `value` is a number in 2.0.1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SampledValue {
    /// The value.
    pub value: f64,
    /// Why it was sampled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ReadingContext>,
    /// What was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurand: Option<Measurand>,
    /// Phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_meter_value: Option<SignedMeterValue>,
    /// Unit. See [`crate::quirks::normalize_energy_wh_with_multiplier`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_of_measure: Option<UnitOfMeasure>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Values sampled at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterValue {
    /// The values (at least one).
    pub sampled_value: Vec<SampledValue>,
    /// When.
    pub timestamp: Timestamp,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// `ChargingProfileType.chargingProfilePurpose`.
    ChargingProfilePurpose {
        ChargingStationExternalConstraints = "ChargingStationExternalConstraints",
        ChargingStationMaxProfile = "ChargingStationMaxProfile",
        TxDefaultProfile = "TxDefaultProfile",
        TxProfile = "TxProfile",
    }
);

ocpp_enum!(
    /// `ChargingProfileType.chargingProfileKind`.
    ChargingProfileKind {
        Absolute = "Absolute",
        Recurring = "Recurring",
        Relative = "Relative",
    }
);

ocpp_enum!(
    /// `ChargingProfileType.recurrencyKind`.
    RecurrencyKind {
        Daily = "Daily",
        Weekly = "Weekly",
    }
);

ocpp_enum!(
    /// Unit of charging limits.
    ChargingRateUnit {
        W = "W",
        A = "A",
    }
);

/// One period of a charging schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingSchedulePeriod {
    /// Seconds from the schedule start.
    pub start_period: i32,
    /// Limit in the schedule's unit.
    pub limit: f64,
    /// Phases allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_phases: Option<i32>,
    /// The phase to use when `number_phases` is 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_to_use: Option<i32>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A charging schedule. The ISO 15118 `salesTariff` is not modelled (kept in `extra`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingSchedule {
    /// Schedule id.
    pub id: i32,
    /// Start (absolute schedules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_schedule: Option<Timestamp>,
    /// Duration in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i32>,
    /// Unit of the limits.
    pub charging_rate_unit: ChargingRateUnit,
    /// The periods (1 to 1024).
    pub charging_schedule_period: Vec<ChargingSchedulePeriod>,
    /// Minimum rate the EV supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_charging_rate: Option<f64>,
    /// Unmodelled fields (`salesTariff`, `customData`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A charging profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingProfile {
    /// Profile id.
    pub id: i32,
    /// Stack level.
    pub stack_level: i32,
    /// Purpose.
    pub charging_profile_purpose: ChargingProfilePurpose,
    /// Kind.
    pub charging_profile_kind: ChargingProfileKind,
    /// Recurrency of a recurring profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrency_kind: Option<RecurrencyKind>,
    /// Valid from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    /// Valid to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<Timestamp>,
    /// Schedules (1 to 3).
    pub charging_schedule: Vec<ChargingSchedule>,
    /// Transaction of a TxProfile (max 36).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// Accepted / Rejected.
    GenericStatus {
        Accepted = "Accepted",
        Rejected = "Rejected",
    }
);
