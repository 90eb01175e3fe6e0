//! OCPP 1.6 data types and enums shared by several actions (IdTagInfo, MeterValue, SampledValue,
//! ChargingProfile, ChargingSchedule, ...).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::messages::Extra;

/// Timestamps are UTC (offsets are converted on reading).
pub type Timestamp = DateTime<Utc>;

ocpp_enum!(
    /// `IdTagInfo.status`.
    AuthorizationStatus {
        Accepted = "Accepted",
        Blocked = "Blocked",
        Expired = "Expired",
        Invalid = "Invalid",
        ConcurrentTx = "ConcurrentTx",
    }
);

/// Authorization status of an id tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdTagInfo {
    /// When the tag expires (cache hint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<Timestamp>,
    /// The parent (group) tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id_tag: Option<String>,
    /// Whether the tag may charge.
    pub status: AuthorizationStatus,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl IdTagInfo {
    /// `{"status": status}`.
    pub fn new(status: AuthorizationStatus) -> Self {
        IdTagInfo {
            expiry_date: None,
            parent_id_tag: None,
            status,
            extra: Extra::new(),
        }
    }
}

ocpp_enum!(
    /// `SampledValue.context`.
    ReadingContext {
        InterruptionBegin = "Interruption.Begin",
        InterruptionEnd = "Interruption.End",
        SampleClock = "Sample.Clock",
        SamplePeriodic = "Sample.Periodic",
        TransactionBegin = "Transaction.Begin",
        TransactionEnd = "Transaction.End",
        Trigger = "Trigger",
        Other = "Other",
    }
);

ocpp_enum!(
    /// `SampledValue.format`.
    ValueFormat {
        Raw = "Raw",
        SignedData = "SignedData",
    }
);

ocpp_enum!(
    /// `SampledValue.measurand`.
    Measurand {
        EnergyActiveExportRegister = "Energy.Active.Export.Register",
        EnergyActiveImportRegister = "Energy.Active.Import.Register",
        EnergyReactiveExportRegister = "Energy.Reactive.Export.Register",
        EnergyReactiveImportRegister = "Energy.Reactive.Import.Register",
        EnergyActiveExportInterval = "Energy.Active.Export.Interval",
        EnergyActiveImportInterval = "Energy.Active.Import.Interval",
        EnergyReactiveExportInterval = "Energy.Reactive.Export.Interval",
        EnergyReactiveImportInterval = "Energy.Reactive.Import.Interval",
        PowerActiveExport = "Power.Active.Export",
        PowerActiveImport = "Power.Active.Import",
        PowerOffered = "Power.Offered",
        PowerReactiveExport = "Power.Reactive.Export",
        PowerReactiveImport = "Power.Reactive.Import",
        PowerFactor = "Power.Factor",
        CurrentImport = "Current.Import",
        CurrentExport = "Current.Export",
        CurrentOffered = "Current.Offered",
        Voltage = "Voltage",
        Frequency = "Frequency",
        Temperature = "Temperature",
        SoC = "SoC",
        Rpm = "RPM",
    }
);

ocpp_enum!(
    /// `SampledValue.phase`.
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
    /// `SampledValue.location`.
    Location {
        Cable = "Cable",
        Ev = "EV",
        Inlet = "Inlet",
        Outlet = "Outlet",
        Body = "Body",
    }
);

ocpp_enum!(
    /// `SampledValue.unit` (`Celcius` is the schema's misspelling, kept; `Hertz` only in MeterValues).
    UnitOfMeasure {
        Wh = "Wh",
        KWh = "kWh",
        Varh = "varh",
        Kvarh = "kvarh",
        W = "W",
        KW = "kW",
        Va = "VA",
        KVa = "kVA",
        Var = "var",
        Kvar = "kvar",
        A = "A",
        V = "V",
        K = "K",
        Celcius = "Celcius",
        Celsius = "Celsius",
        Fahrenheit = "Fahrenheit",
        Percent = "Percent",
        Hertz = "Hertz",
    }
);

/// One measured value. `value` is a string in 1.6 (a decimal, or signed data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SampledValue {
    /// The value as sent.
    pub value: String,
    /// Why it was sampled (default `Sample.Periodic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ReadingContext>,
    /// Raw or signed (default `Raw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<ValueFormat>,
    /// What was measured (default `Energy.Active.Import.Register`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurand: Option<Measurand>,
    /// Phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Where it was measured (default `Outlet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Unit (default `Wh`). See [`crate::quirks::normalize_energy_wh`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitOfMeasure>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Values sampled at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterValue {
    /// When.
    pub timestamp: Timestamp,
    /// The values (at least one).
    pub sampled_value: Vec<SampledValue>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

ocpp_enum!(
    /// `ChargingProfile.chargingProfilePurpose`.
    ChargingProfilePurpose {
        ChargePointMaxProfile = "ChargePointMaxProfile",
        TxDefaultProfile = "TxDefaultProfile",
        TxProfile = "TxProfile",
    }
);

ocpp_enum!(
    /// `ChargingProfile.chargingProfileKind`.
    ChargingProfileKind {
        Absolute = "Absolute",
        Recurring = "Recurring",
        Relative = "Relative",
    }
);

ocpp_enum!(
    /// `ChargingProfile.recurrencyKind`.
    RecurrencyKind {
        Daily = "Daily",
        Weekly = "Weekly",
    }
);

ocpp_enum!(
    /// `ChargingSchedule.chargingRateUnit`.
    ChargingRateUnit {
        A = "A",
        W = "W",
    }
);

/// One period of a charging schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingSchedulePeriod {
    /// Seconds from the schedule start.
    pub start_period: i32,
    /// Limit in the schedule's unit (a multiple of 0.1).
    pub limit: f64,
    /// Phases allowed (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_phases: Option<i32>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A charging schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingSchedule {
    /// Duration in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i32>,
    /// Start (absolute schedules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_schedule: Option<Timestamp>,
    /// Unit of the limits.
    pub charging_rate_unit: ChargingRateUnit,
    /// The periods.
    pub charging_schedule_period: Vec<ChargingSchedulePeriod>,
    /// Minimum rate the EV supports (a multiple of 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_charging_rate: Option<f64>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A charging profile (`csChargingProfiles` / `chargingProfile`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingProfile {
    /// Profile id.
    pub charging_profile_id: i32,
    /// Transaction of a TxProfile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<i32>,
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
    /// The schedule.
    pub charging_schedule: ChargingSchedule,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}
