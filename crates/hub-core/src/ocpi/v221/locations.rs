//! Locations module objects (mod_locations.asciidoc): [`Location`], [`Evse`], [`Connector`] and
//! their classes and enums. A CPO pushes these to the hub (PUT/PATCH of a Location, an EVSE or a
//! Connector); eMSPs, NSPs and NAPs pull them.

use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};
use super::tokens::TokenType;
use super::types::{
    BusinessDetails, DateTime, DisplayText, EnergyMix, Extra, GeoLocation, Image, ocpi_enum,
};

/// `Location` object: a place with a group of EVSEs that belong together.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Location {
    /// CiString(2)
    pub country_code: String,
    /// CiString(3)
    pub party_id: String,
    /// CiString(36)
    pub id: String,
    pub publish: bool,
    /// Only when `publish` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_allowed_to: Option<Vec<PublishTokenType>>,
    /// string(255)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// string(45)
    pub address: String,
    /// string(45)
    pub city: String,
    /// string(10)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// string(20)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ISO 3166-1 alpha-3, string(3)
    pub country: String,
    pub coordinates: GeoLocation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_locations: Option<Vec<AdditionalGeoLocation>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parking_type: Option<ParkingType>,
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
    pub time_zone: String,
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
                ("country_code", Some(&self.country_code), Rule::CountryCode),
                ("party_id", Some(&self.party_id), Rule::PartyId),
                ("id", Some(&self.id), Rule::Id(36)),
                ("name", self.name.as_ref(), Rule::Str(255)),
                ("address", Some(&self.address), Rule::Str(45)),
                ("city", Some(&self.city), Rule::Str(45)),
                ("postal_code", self.postal_code.as_ref(), Rule::Str(10)),
                ("state", self.state.as_ref(), Rule::Str(20)),
                ("country", Some(&self.country), Rule::Country),
                ("time_zone", Some(&self.time_zone), Rule::Str(255)),
            ])
            .require(
                !self.publish || self.publish_allowed_to.is_none(),
                "publish_allowed_to",
                "may only be used when `publish` is false",
            )
            .list("publish_allowed_to", self.publish_allowed_to.as_deref())
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

/// `EVSE` object: the part that controls the power supply to a single EV.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evse {
    /// CiString(36)
    pub uid: String,
    /// eMI3 EVSE ID, CiString(48)
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
                ("uid", Some(&self.uid), Rule::Id(36)),
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

/// `Connector` object: a socket or cable and plug of an EVSE.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Connector {
    /// CiString(36)
    pub id: String,
    pub standard: ConnectorType,
    pub format: ConnectorFormat,
    pub power_type: PowerType,
    /// Volt.
    pub max_voltage: u32,
    /// Ampere.
    pub max_amperage: u32,
    /// Watt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_electric_power: Option<u32>,
    /// Tariff ids, CiString(36) each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_and_conditions: Option<String>,
    pub last_updated: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for Connector {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("id", Some(&self.id), Rule::Id(36)),
                (
                    "terms_and_conditions",
                    self.terms_and_conditions.as_ref(),
                    Rule::Url,
                ),
            ])
            .each_string("tariff_ids", self.tariff_ids.as_deref(), Rule::Id(36));
    }
}

/// `AdditionalGeoLocation` class: a related point relevant to the user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AdditionalGeoLocation {
    pub latitude: String,
    pub longitude: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<DisplayText>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for AdditionalGeoLocation {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("latitude", Some(&self.latitude), Rule::Latitude),
                ("longitude", Some(&self.longitude), Rule::Longitude),
            ])
            .object("name", self.name.as_ref());
    }
}

/// `Hours` class: opening and access hours.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hours {
    pub twentyfourseven: bool,
    /// Only when `twentyfourseven` is false, and then at least one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regular_hours: Option<Vec<RegularHours>>,
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
                has_regular != self.twentyfourseven,
                "regular_hours",
                if self.twentyfourseven {
                    "must not be used when `twentyfourseven` is true"
                } else {
                    "must contain at least one element when `twentyfourseven` is false"
                },
            )
            .list("regular_hours", self.regular_hours.as_deref())
            .list("exceptional_openings", self.exceptional_openings.as_deref())
            .list("exceptional_closings", self.exceptional_closings.as_deref());
    }
}

/// `RegularHours` class: a weekly recurring period, in local time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegularHours {
    /// Monday (1) till Sunday (7).
    pub weekday: u8,
    /// `hh:mm`
    pub period_begin: String,
    /// `hh:mm`
    pub period_end: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for RegularHours {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .require(
                (1..=7).contains(&self.weekday),
                "weekday",
                "must be 1 (Monday) to 7 (Sunday)",
            )
            .strings(&[
                ("period_begin", Some(&self.period_begin), Rule::HourMinute),
                ("period_end", Some(&self.period_end), Rule::HourMinute),
            ]);
    }
}

/// `ExceptionalPeriod` class: one exceptional opening or closing, in UTC.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExceptionalPeriod {
    pub period_begin: DateTime,
    pub period_end: DateTime,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for ExceptionalPeriod {
    fn validate(&self, _path: &str, _errors: &mut Vec<FieldError>) {}
}

/// `PublishTokenType` class: identifies a token to which a non-public Location may be shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PublishTokenType {
    /// CiString(36)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<TokenType>,
    /// string(64)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visual_number: Option<String>,
    /// string(64)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// CiString(36)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for PublishTokenType {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("uid", self.uid.as_ref(), Rule::CiString(36)),
                ("visual_number", self.visual_number.as_ref(), Rule::Str(64)),
                ("issuer", self.issuer.as_ref(), Rule::Str(64)),
                ("group_id", self.group_id.as_ref(), Rule::CiString(36)),
            ])
            .require(
                self.uid.is_some() || self.visual_number.is_some() || self.group_id.is_some(),
                "uid",
                "one of `uid`, `visual_number` or `group_id` must be set",
            )
            .require(
                self.uid.is_none() || self.r#type.is_some(),
                "type",
                "must be set when `uid` is set",
            )
            .require(
                self.visual_number.is_none() || self.issuer.is_some(),
                "issuer",
                "must be set when `visual_number` is set",
            );
    }
}

/// `StatusSchedule` class: a planned status period of an EVSE.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusSchedule {
    pub period_begin: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_end: Option<DateTime>,
    pub status: Status,
    #[serde(flatten)]
    pub extra: Extra,
}

ocpi_enum! {
    /// `Capability` enum: functionalities of an EVSE.
    pub enum Capability {
        ChargingProfileCapable = "CHARGING_PROFILE_CAPABLE",
        ChargingPreferencesCapable = "CHARGING_PREFERENCES_CAPABLE",
        ChipCardSupport = "CHIP_CARD_SUPPORT",
        ContactlessCardSupport = "CONTACTLESS_CARD_SUPPORT",
        CreditCardPayable = "CREDIT_CARD_PAYABLE",
        DebitCardPayable = "DEBIT_CARD_PAYABLE",
        PedTerminal = "PED_TERMINAL",
        RemoteStartStopCapable = "REMOTE_START_STOP_CAPABLE",
        Reservable = "RESERVABLE",
        RfidReader = "RFID_READER",
        StartSessionConnectorRequired = "START_SESSION_CONNECTOR_REQUIRED",
        TokenGroupCapable = "TOKEN_GROUP_CAPABLE",
        UnlockCapable = "UNLOCK_CAPABLE",
    }
}

ocpi_enum! {
    /// `ConnectorFormat` enum: socket or attached cable.
    pub enum ConnectorFormat {
        Socket = "SOCKET",
        Cable = "CABLE",
    }
}

ocpi_enum! {
    /// `ConnectorType` enum: the socket or plug standard.
    pub enum ConnectorType {
        Chademo = "CHADEMO",
        Chaoji = "CHAOJI",
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
        DomesticM = "DOMESTIC_M",
        DomesticN = "DOMESTIC_N",
        DomesticO = "DOMESTIC_O",
        GbtAc = "GBT_AC",
        GbtDc = "GBT_DC",
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
        Nema5_20 = "NEMA_5_20",
        Nema6_30 = "NEMA_6_30",
        Nema6_50 = "NEMA_6_50",
        Nema10_30 = "NEMA_10_30",
        Nema10_50 = "NEMA_10_50",
        Nema14_30 = "NEMA_14_30",
        Nema14_50 = "NEMA_14_50",
        PantographBottomUp = "PANTOGRAPH_BOTTOM_UP",
        PantographTopDown = "PANTOGRAPH_TOP_DOWN",
        TeslaR = "TESLA_R",
        TeslaS = "TESLA_S",
    }
}

ocpi_enum! {
    /// `Facility` enum: facilities a location belongs to.
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
        BikeSharing = "BIKE_SHARING",
        BusStop = "BUS_STOP",
        TaxiStand = "TAXI_STAND",
        TramStop = "TRAM_STOP",
        MetroStation = "METRO_STATION",
        TrainStation = "TRAIN_STATION",
        Airport = "AIRPORT",
        ParkingLot = "PARKING_LOT",
        CarpoolParking = "CARPOOL_PARKING",
        FuelStation = "FUEL_STATION",
        Wifi = "WIFI",
    }
}

ocpi_enum! {
    /// `ParkingRestriction` enum.
    pub enum ParkingRestriction {
        EvOnly = "EV_ONLY",
        Plugged = "PLUGGED",
        Disabled = "DISABLED",
        Customers = "CUSTOMERS",
        Motorcycles = "MOTORCYCLES",
    }
}

ocpi_enum! {
    /// `ParkingType` enum: the general type of parking at a location.
    pub enum ParkingType {
        AlongMotorway = "ALONG_MOTORWAY",
        ParkingGarage = "PARKING_GARAGE",
        ParkingLot = "PARKING_LOT",
        OnDriveway = "ON_DRIVEWAY",
        OnStreet = "ON_STREET",
        UndergroundGarage = "UNDERGROUND_GARAGE",
    }
}

ocpi_enum! {
    /// `PowerType` enum.
    pub enum PowerType {
        Ac1Phase = "AC_1_PHASE",
        Ac2Phase = "AC_2_PHASE",
        Ac2PhaseSplit = "AC_2_PHASE_SPLIT",
        Ac3Phase = "AC_3_PHASE",
        Dc = "DC",
    }
}

ocpi_enum! {
    /// `Status` enum: the status of an EVSE.
    pub enum Status {
        Available = "AVAILABLE",
        Blocked = "BLOCKED",
        Charging = "CHARGING",
        Inoperative = "INOPERATIVE",
        OutOfOrder = "OUTOFORDER",
        Planned = "PLANNED",
        Removed = "REMOVED",
        Reserved = "RESERVED",
        Unknown = "UNKNOWN",
    }
}
