//! OCPI 2.1.1 object models.
//!
//! One file per chapter of the 2.1.1 spec (`locations`, `sessions`, `cdrs`, `tariffs`,
//! `tokens`, `commands`, `credentials`, `versions`), shared types in [`types`], and parsing with
//! validation in [`parse`], which is the 2.2.1 machinery re-exported: the same [`Validate`]
//! trait, [`Fields`](parse::Fields)/[`Rule`](parse::Rule) tables, [`parse()`] and
//! [`from_value`].
//!
//! The conventions are those of [`super::v221`]:
//! - field names are the spec's; optional fields are `Option` and stay absent when absent;
//! - every object keeps its unknown fields in `extra` and writes them back;
//! - decimals are [`rust_decimal::Decimal`] written as JSON numbers
//!   ([`types::decimal_number`]); timestamps are [`DateTime`], which writes back its text;
//! - enums are strict, except the open [`VersionNumber`] and [`ModuleId`].
//!
//! Classes and enums whose fields and values are the same in 2.1.1 and 2.2.1 are not defined
//! twice: they are the 2.2.1 types, re-exported here (e.g. [`DisplayText`], [`BusinessDetails`],
//! [`Image`], [`GeoLocation`], [`RegularHours`], [`Status`], [`WhitelistType`]). Everything that
//! differs has its own 2.1.1 type here, even when only an enum value differs (e.g.
//! [`Capability`], [`ConnectorType`], [`TokenType`]). Conversions to and from 2.2.1 live in
//! [`super::translate`].

pub mod cdrs;
pub mod commands;
pub mod credentials;
pub mod locations;
pub mod parse;
pub mod sessions;
pub mod tariffs;
pub mod tokens;
pub mod types;
pub mod versions;

pub use cdrs::{AuthMethod, Cdr, CdrDimension, CdrDimensionType, ChargingPeriod};
pub use commands::{
    CommandResponse, CommandResponseType, CommandType, ReserveNow, StartSession, StopSession,
    UnlockConnector,
};
pub use credentials::Credentials;
pub use locations::{
    AdditionalGeoLocation, Capability, Connector, ConnectorFormat, ConnectorType, Evse,
    ExceptionalPeriod, Facility, Hours, Location, LocationType, ParkingRestriction, PowerType,
    RegularHours, Status, StatusSchedule,
};
pub use parse::{FieldError, ParseError, Validate, from_value, parse, validate};
pub use sessions::{Session, SessionStatus};
pub use tariffs::{
    DayOfWeek, PriceComponent, Tariff, TariffDimensionType, TariffElement, TariffRestrictions,
};
pub use tokens::{
    AllowedType, AuthorizationInfo, LocationReferences, Token, TokenType, WhitelistType,
};
pub use types::{
    BusinessDetails, DateTime, DateTimeError, DisplayText, EnergyMix, EnergySource,
    EnergySourceCategory, EnvironmentalImpact, EnvironmentalImpactCategory, Extra, GeoLocation,
    Image, ImageCategory, decimal_number,
};
pub use versions::{Endpoint, ModuleId, Version, VersionDetails, VersionNumber};
