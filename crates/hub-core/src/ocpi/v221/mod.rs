//! OCPI 2.2.1 object models.
//!
//! One file per module of the spec (`locations`, `sessions`, `cdrs`, `tariffs`, `tokens`,
//! `commands`, `charging_profiles`, `credentials`, `hub_client_info`, `versions`), shared types
//! in [`types`], and parsing with validation in [`parse`].
//!
//! Conventions of every model:
//! - field names are the spec's; optional fields are `Option` and stay absent when absent
//!   (an explicit JSON `null` reads as absent, which the spec treats the same);
//! - every object keeps its unknown fields in `extra` and writes them back, so objects pass
//!   through the hub untouched;
//! - money and other decimals are [`rust_decimal::Decimal`], written as JSON numbers
//!   ([`types::decimal_number`]);
//! - timestamps are [`DateTime`], which writes back the exact text it read;
//! - enums are strict (an unknown value is an error naming the field), except the open
//!   [`VersionNumber`] and [`ModuleId`].
//!
//! Read bodies with [`parse()`] or [`from_value`], which validate too.

pub mod cdrs;
pub mod charging_profiles;
pub mod commands;
pub mod credentials;
pub mod hub_client_info;
pub mod locations;
pub mod parse;
pub mod sessions;
pub mod tariffs;
pub mod tokens;
pub mod types;
pub mod versions;

pub use cdrs::{AuthMethod, Cdr, CdrLocation, CdrToken, SignedData, SignedValue};
pub use charging_profiles::{
    ActiveChargingProfile, ActiveChargingProfileResult, ChargingProfile, ChargingProfilePeriod,
    ChargingProfileResponse, ChargingProfileResponseType, ChargingProfileResult,
    ChargingProfileResultType, ChargingRateUnit, ClearProfileResult, SetChargingProfile,
};
pub use commands::{
    CancelReservation, CommandResponse, CommandResponseType, CommandResult, CommandResultType,
    CommandType, ReserveNow, StartSession, StopSession, UnlockConnector,
};
pub use credentials::{Credentials, CredentialsRole};
pub use hub_client_info::{ClientInfo, ConnectionStatus};
pub use locations::{
    AdditionalGeoLocation, Capability, Connector, ConnectorFormat, ConnectorType, Evse,
    ExceptionalPeriod, Facility, Hours, Location, ParkingRestriction, ParkingType, PowerType,
    PublishTokenType, RegularHours, Status, StatusSchedule,
};
pub use parse::{FieldError, ParseError, Validate, from_value, parse, validate};
pub use sessions::{
    CdrDimension, CdrDimensionType, ChargingPeriod, ChargingPreferences,
    ChargingPreferencesResponse, ProfileType, Session, SessionStatus,
};
pub use tariffs::{
    DayOfWeek, PriceComponent, ReservationRestrictionType, Tariff, TariffDimensionType,
    TariffElement, TariffRestrictions, TariffType,
};
pub use tokens::{
    AllowedType, AuthorizationInfo, EnergyContract, LocationReferences, Token, TokenType,
    WhitelistType,
};
pub use types::{
    BusinessDetails, DateTime, DateTimeError, DisplayText, EnergyMix, EnergySource,
    EnergySourceCategory, EnvironmentalImpact, EnvironmentalImpactCategory, Extra, GeoLocation,
    Image, ImageCategory, Price, Role, decimal_number,
};
pub use versions::{Endpoint, InterfaceRole, ModuleId, Version, VersionDetails, VersionNumber};
