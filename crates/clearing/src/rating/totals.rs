//! The results of rating: [`CdrTotals`] (the CDR's total fields, rounded) and the [`CostLine`]s
//! they add up, in a [`Rating`].

use chrono::{DateTime, Utc};
use hub_core::ocpi::v221::{Price, TariffDimensionType, decimal_number};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::math::round;
pub use super::tariff::CostCategory;

/// The totals of a CDR, with the OCPI field names and meaning (mod_cdrs, `CDR` object). Money
/// and quantities are rounded to 4 decimals ([`super::ROUNDING`]).
///
/// A `total_*_cost` is present when the tariff priced that dimension during the session (even
/// at 0), absent when it did not. `incl_vat` is absent when it cannot be known: a price
/// component without `vat` contributed a non-zero amount ("As no VAT information is given, it
/// is not possible to calculate total costs including VAT.").
///
/// The tariff's `min_price`/`max_price` apply to `total_cost` only; the other totals stay the
/// sums of what was used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdrTotals {
    pub total_cost: Price,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_fixed_cost: Option<Price>,
    /// kWh
    #[serde(with = "decimal_number")]
    pub total_energy: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_energy_cost: Option<Price>,
    /// Hours, charging and not charging (reservation time excluded).
    #[serde(with = "decimal_number")]
    pub total_time: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_time_cost: Option<Price>,
    /// Hours not charging.
    #[serde(
        default,
        with = "decimal_number::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_parking_time: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_parking_cost: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_reservation_cost: Option<Price>,
}

/// A price at full precision: `incl_vat` is `None` when unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Amount {
    pub excl_vat: Decimal,
    pub incl_vat: Option<Decimal>,
}

impl Amount {
    pub const ZERO: Amount = Amount {
        excl_vat: Decimal::ZERO,
        incl_vat: Some(Decimal::ZERO),
    };

    /// As an OCPI [`Price`], rounded.
    pub fn to_price(self) -> Price {
        price(round(self.excl_vat), self.incl_vat.map(round))
    }
}

/// An OCPI [`Price`] from its two amounts.
pub fn price(excl_vat: Decimal, incl_vat: Option<Decimal>) -> Price {
    Price {
        excl_vat,
        incl_vat,
        extra: Default::default(),
    }
}

/// One priced piece of the session: a volume of one dimension at one price component.
#[derive(Debug, Clone, PartialEq)]
pub struct CostLine {
    pub category: CostCategory,
    pub dimension: TariffDimensionType,
    /// Index of the tariff element whose price component was used.
    pub element: usize,
    /// The slice of the session priced (for a step-size line, the end of the slice it
    /// extends, twice).
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Billed volume: kWh, hours, or 1 for a flat fee; full precision.
    pub volume: Decimal,
    /// Price per unit excl. VAT.
    pub unit_price: Decimal,
    pub vat: Option<Decimal>,
    /// The extra volume billed because of `step_size`, not used.
    pub step_rounding: bool,
    /// Cost of the line, full precision.
    pub cost: Amount,
}

/// The rating of a session: its totals and the lines they are made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    pub totals: CdrTotals,
    pub lines: Vec<CostLine>,
}
