//! Shared OCPI 2.1.1 types: the generic types of `types.md` (`DateTime`, `DisplayText`) and the
//! classes of the locations chapter that other modules reuse (`BusinessDetails`, `Image`,
//! `GeoLocation`, `EnergyMix`).
//!
//! All of them are the 2.2.1 types re-exported, except [`EnergyMix`] and
//! [`EnvironmentalImpact`]: in 2.1.1 an environmental impact names its category `source`
//! (2.2.1: `category`). The serde helpers ([`DateTime`], [`decimal_number`], [`Extra`]) are the
//! 2.2.1 ones too.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::parse::{FieldError, Fields, Rule, Validate};

pub use crate::ocpi::v221::types::{
    BusinessDetails, DateTime, DateTimeError, DisplayText, EnergySource, EnergySourceCategory,
    EnvironmentalImpactCategory, Extra, GeoLocation, Image, ImageCategory, UnknownVariant,
    decimal_number,
};

/// `EnergyMix` class (mod_locations.md 4.5): energy mix and environmental impact of the supplied
/// energy, at a location or in a tariff.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnergyMix {
    pub is_green_energy: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_sources: Option<Vec<EnergySource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environ_impact: Option<Vec<EnvironmentalImpact>>,
    /// string(64)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_name: Option<String>,
    /// string(64)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_product_name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for EnergyMix {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        Fields::new(path, errors)
            .strings(&[
                ("supplier_name", self.supplier_name.as_ref(), Rule::Str(64)),
                (
                    "energy_product_name",
                    self.energy_product_name.as_ref(),
                    Rule::Str(64),
                ),
            ])
            .list("energy_sources", self.energy_sources.as_deref())
            .list("environ_impact", self.environ_impact.as_deref());
    }
}

/// `EnvironmentalImpact` class (mod_locations.md 4.8): amount of waste or CO2 per kWh.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnvironmentalImpact {
    /// The category of this value (2.2.1 calls this field `category`).
    pub source: EnvironmentalImpactCategory,
    /// g/kWh
    #[serde(with = "decimal_number")]
    pub amount: Decimal,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Validate for EnvironmentalImpact {
    fn validate(&self, _path: &str, _errors: &mut Vec<FieldError>) {}
}
