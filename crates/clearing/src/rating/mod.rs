//! Rating: the OCPI 2.2.1 tariff engine. It prices a CDR (or a normalized usage timeline)
//! against a Tariff and gives the CDR totals.
//!
//! Entry points:
//! - [`price_cdr`]: a [`Cdr`] with a [`Tariff`], in the Location's time zone → [`CdrTotals`];
//! - [`price_session`]: the same over a [`Usage`] (periods of charging, parking or reservation
//!   with their energy, current and power), which is what the OCPP gateway has for micro-CPO
//!   transactions;
//! - [`price_files`]: JSON in, JSON out, for `ocpi-hub cdr price`;
//! - [`CompiledTariff::rate`]: read a tariff once, rate many usages, and get the
//!   [`CostLine`]s behind the totals.
//!
//! Files:
//! - `usage.rs`: the usage timeline and how a CDR's charging periods become one;
//! - `tariff.rs`: the tariff read for rating, restriction semantics, the first-match rule;
//! - `timeline.rs`: cutting the usage where restrictions can change (time of day, DST, dates,
//!   durations, energy thresholds);
//! - `engine.rs`: cost lines, `step_size`, flat fees, VAT, `min_price`/`max_price`;
//! - `totals.rs`: [`CdrTotals`], [`CostLine`], [`Rating`];
//! - `files.rs`: JSON parsing, time zone resolution, the CLI output;
//! - `math.rs`: checked decimal arithmetic and the rounding rule ([`SCALE`], [`ROUNDING`]);
//! - `error.rs`: [`RatingError`].
//!
//! Money and quantities are `rust_decimal::Decimal` throughout, never floats; the engine keeps
//! full precision and rounds only the results, to 4 decimals.
//!
//! Where the spec is ambiguous or contradicts itself the choice made is documented where it is
//! implemented; the notable ones: `step_size` on time rounds the parking total when parking is
//! priced, else the charging total (mod_cdrs; the tariff 14 example #1 of mod_tariffs rounds
//! charging and parking together instead and cannot be reconciled with the tariff 4 example);
//! a price component without `vat` makes `incl_vat` unknown; `min_duration`/`max_duration`
//! count from the start of the session, charging included.

mod engine;
mod error;
mod files;
mod math;
mod tariff;
mod timeline;
mod totals;
mod usage;

use chrono_tz::Tz;
use hub_core::ocpi::v221::{Cdr, Tariff};

pub use error::RatingError;
pub use files::{parse_cdr, parse_tariff, price_files, resolve_time_zone, time_zone_of_country};
pub use math::{ROUNDING, SCALE, round};
pub use tariff::CompiledTariff;
pub use totals::{Amount, CdrTotals, CostCategory, CostLine, Rating};
pub use usage::{PeriodKind, Usage, UsagePeriod};

/// Prices a CDR with a tariff. The usage is the CDR's charging periods (each lasting until the
/// next starts, the last until `end_date_time`; see [`Usage::from_cdr`]); the CDR's own totals
/// and embedded tariffs are not read. `time_zone` is the Location's `time_zone`, in which
/// restriction times and dates are.
pub fn price_cdr(tariff: &Tariff, cdr: &Cdr, time_zone: Tz) -> Result<CdrTotals, RatingError> {
    if !tariff.currency.eq_ignore_ascii_case(&cdr.currency) {
        return Err(RatingError::CurrencyMismatch {
            tariff: tariff.currency.clone(),
            cdr: cdr.currency.clone(),
        });
    }
    let usage = Usage::from_cdr(cdr)?;
    price_session(tariff, &usage, time_zone)
}

/// Prices a usage timeline with a tariff, in the Location's time zone.
pub fn price_session(
    tariff: &Tariff,
    usage: &Usage,
    time_zone: Tz,
) -> Result<CdrTotals, RatingError> {
    Ok(CompiledTariff::new(tariff)?.rate(usage, time_zone)?.totals)
}
