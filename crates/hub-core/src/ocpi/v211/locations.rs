//! Locations module objects (mod_locations.md): [`Location`], [`Evse`], [`Connector`] and their
//! classes and enums. A CPO pushes these; eMSPs pull them.
//!
//! Differences from 2.2.1 the types here carry: a Location has a required [`LocationType`]
//! `type` (2.2.1: optional `parking_type`), a required `postal_code`, an optional `time_zone`,
//! and no `country_code`, `party_id`, `publish`, `publish_allowed_to` or `state`; a Connector has
//! `voltage`/`amperage` (2.2.1: `max_voltage`/`max_amperage`) and a single `tariff_id`
//! (2.2.1: `tariff_ids`) and no `max_electric_power`; [`Hours`] is a choice between
//! `regular_hours` and `twentyfourseven`; [`Capability`], [`ConnectorType`], [`Facility`] and
//! [`PowerType`] have fewer values. Classes and enums that are the same in both versions are
//! the 2.2.1 types, re-exported.

use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::types::{BusinessDetails, DateTime, DisplayText, EnergyMix, Extra, GeoLocation, Image};
use crate::ocpi::v221::types::ocpi_enum;

pub use crate::ocpi::v221::locations::{
    AdditionalGeoLocation, ConnectorFormat, ExceptionalPeriod, ParkingRestriction, RegularHours,
    Status, StatusSchedule,
};

/// `Location` object (3.1): a place with a group of EVSEs that belong together.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Location {
    /// string(39)
    pub id: String,
    pub r#type: LocationType,
    /// string(255)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// string(45)
    pub address: String,
    /// string(45)
    pub city: String,
    /// string(10)
    pub postal_code: String,
    /// ISO 3166-1 alpha-3, string(3)
    pub country: String,
    pub coordinates: GeoLocation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_locations: Option<Vec<AdditionalGeoLocation>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evses: Option<Vec<Evse>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<Vec<DisplayText>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<BusinessDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suboperator: Option<BusinessDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<BusinessDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facilities: Option<Vec<Facility>>,
    /// IANA tz name, string(255)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_times: Option<Hours>,
    /// Default when absent: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_when_closed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<Image>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_mix: Option<EnergyMix>,
    pub last_updated: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Location {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("id", Some(&self.id), Rule::Id(39)),
                ("name", self.name.as_ref(), Rule::Str(255)),
                ("address", Some(&self.address), Rule::Str(45)),
                ("city", Some(&self.city), Rule::Str(45)),
                ("postal_code", Some(&self.postal_code), Rule::Str(10)),
                ("country", Some(&self.country), Rule::Country),
                ("time_zone", self.time_zone.as_ref(), Rule::Str(255)),
            ])
            .object("coordinates", Some(&self.coordinates))
            .list("related_locations", self.related_locations.as_deref())
            .list("evses", self.evses.as_deref())
            .list("directions", self.directions.as_deref())
            .object("operator", self.operator.as_ref())
            .object("suboperator", self.suboperator.as_ref())
            .object("owner", self.owner.as_ref())
            .object("opening_times", self.opening_times.as_ref())
            .list("images", self.images.as_deref())
            .object("energy_mix", self.energy_mix.as_ref());
    }
}

/// `EVSE` object (3.2): the part that controls the power supply to a single EV.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evse {
    /// string(39)
    pub uid: String,
    /// eMI3 EVSE ID, string(48)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<String>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_schedule: Option<Vec<StatusSchedule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<Capability>>,
    /// At least one.
    pub connectors: Vec<Connector>,
    /// string(4)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<GeoLocation>,
    /// string(16)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<Vec<DisplayText>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parking_restrictions: Option<Vec<ParkingRestriction>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<Image>>,
    pub last_updated: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Evse {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("uid", Some(&self.uid), Rule::Id(39)),
                ("evse_id", self.evse_id.as_ref(), Rule::CiString(48)),
                ("floor_level", self.floor_level.as_ref(), Rule::Str(4)),
                (
                    "physical_reference",
                    self.physical_reference.as_ref(),
                    Rule::Str(16),
                ),
            ])
            .non_empty_list("connectors", &self.connectors)
            .object("coordinates", self.coordinates.as_ref())
            .list("directions", self.directions.as_deref())
            .list("images", self.images.as_deref());
    }
}

/// `Connector` object (3.3): a socket or cable and plug of an EVSE.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Connector {
    /// string(36)
    pub id: String,
    pub standard: ConnectorType,
    pub format: ConnectorFormat,
    pub power_type: PowerType,
    /// Volt (line to neutral for AC_3_PHASE).
    pub voltage: u32,
    /// Maximum amperage, Ampere.
    pub amperage: u32,
    /// The current tariff, string(36).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_and_conditions: Option<String>,
    pub last_updated: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Connector {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors).strings(&[
            ("id", Some(&self.id), Rule::Id(36)),
            ("tariff_id", self.tariff_id.as_ref(), Rule::Id(36)),
            (
                "terms_and_conditions",
                self.terms_and_conditions.as_ref(),
                Rule::Url,
            ),
        ]);
    }
}

/// `Hours` class (4.13): opening and access hours. A choice between `regular_hours` and
/// `twentyfourseven`; the spec's own example gives both (`twentyfourseven: false` with regular
/// hours), so both may be present as long as they agree.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hours {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regular_hours: Option<Vec<RegularHours>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twentyfourseven: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exceptional_openings: Option<Vec<ExceptionalPeriod>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exceptional_closings: Option<Vec<ExceptionalPeriod>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Hours {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        let has_regular = self.regular_hours.as_ref().is_some_and(|r| !r.is_empty());
        Fields::new(path, errors)
            .require(
                self.regular_hours.is_some() || self.twentyfourseven.is_some(),
                "twentyfourseven",
                "one of `regular_hours` or `twentyfourseven` must be given",
            )
            .require(
                !(has_regular && self.twentyfourseven == Some(true)),
                "regular_hours",
                "must not be used when `twentyfourseven` is true",
            )
            .list("regular_hours", self.regular_hours.as_deref())
            .list("exceptional_openings", self.exceptional_openings.as_deref())
            .list("exceptional_closings", self.exceptional_closings.as_deref());
    }
}

ocpi_enum! {
    /// `Capability` enum (4.2): functionalities of an EVSE.
    pub enum Capability {
        ChargingProfileCapable = "CHARGING_PROFILE_CAPABLE",
        CreditCardPayable = "CREDIT_CARD_PAYABLE",
        RemoteStartStopCapable = "REMOTE_START_STOP_CAPABLE",
        Reservable = "RESERVABLE",
        RfidReader = "RFID_READER",
        UnlockCapable = "UNLOCK_CAPABLE",
    }
}

ocpi_enum! {
    /// `ConnectorType` enum (4.4): the socket or plug standard.
    pub enum ConnectorType {
        Chademo = "CHADEMO",
        DomesticA = "DOMESTIC_A",
        DomesticB = "DOMESTIC_B",
        DomesticC = "DOMESTIC_C",
        DomesticD = "DOMESTIC_D",
        DomesticE = "DOMESTIC_E",
        DomesticF = "DOMESTIC_F",
        DomesticG = "DOMESTIC_G",
        DomesticH = "DOMESTIC_H",
        DomesticI = "DOMESTIC_I",
        DomesticJ = "DOMESTIC_J",
        DomesticK = "DOMESTIC_K",
        DomesticL = "DOMESTIC_L",
        Iec60309_2Single16 = "IEC_60309_2_single_16",
        Iec60309_2Three16 = "IEC_60309_2_three_16",
        Iec60309_2Three32 = "IEC_60309_2_three_32",
        Iec60309_2Three64 = "IEC_60309_2_three_64",
        Iec62196T1 = "IEC_62196_T1",
        Iec62196T1Combo = "IEC_62196_T1_COMBO",
        Iec62196T2 = "IEC_62196_T2",
        Iec62196T2Combo = "IEC_62196_T2_COMBO",
        Iec62196T3a = "IEC_62196_T3A",
        Iec62196T3c = "IEC_62196_T3C",
        TeslaR = "TESLA_R",
        TeslaS = "TESLA_S",
    }
}

ocpi_enum! {
    /// `Facility` enum (4.11): facilities a location belongs to.
    pub enum Facility {
        Hotel = "HOTEL",
        Restaurant = "RESTAURANT",
        Cafe = "CAFE",
        Mall = "MALL",
        Supermarket = "SUPERMARKET",
        Sport = "SPORT",
        RecreationArea = "RECREATION_AREA",
        Nature = "NATURE",
        Museum = "MUSEUM",
        BusStop = "BUS_STOP",
        TaxiStand = "TAXI_STAND",
        TrainStation = "TRAIN_STATION",
        Airport = "AIRPORT",
        CarpoolParking = "CARPOOL_PARKING",
        FuelStation = "FUEL_STATION",
        Wifi = "WIFI",
    }
}

ocpi_enum! {
    /// `LocationType` enum (4.16): the general type of the charge point location.
    pub enum LocationType {
        /// Parking in public space.
        OnStreet = "ON_STREET",
        /// Multistorey car park.
        ParkingGarage = "PARKING_GARAGE",
        /// Multistorey car park, mainly underground.
        UndergroundGarage = "UNDERGROUND_GARAGE",
        /// A cleared area intended for parking vehicles.
        ParkingLot = "PARKING_LOT",
        /// None of the given possibilities.
        Other = "OTHER",
        /// Not known by the operator (default).
        Unknown = "UNKNOWN",
    }
}

ocpi_enum! {
    /// `PowerType` enum (4.18).
    pub enum PowerType {
        Ac1Phase = "AC_1_PHASE",
        Ac3Phase = "AC_3_PHASE",
        Dc = "DC",
    }
}
