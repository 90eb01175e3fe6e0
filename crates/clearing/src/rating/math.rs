//! Checked decimal arithmetic, unit conversions and the rounding rule of the engine.
//!
//! All money and quantities are [`Decimal`]s (never floats). Internally the engine keeps full
//! precision (28 significant digits); only the results are rounded, to [`SCALE`] decimals with
//! [`ROUNDING`]. Durations are whole nanoseconds (`i64`) until they are turned into money.
//! Every operation is checked: an overflow becomes [`RatingError::Overflow`], never a panic.

use chrono::TimeDelta;
use rust_decimal::{Decimal, RoundingStrategy};

use super::RatingError;

/// Number of decimals of every rounded result: "Unless mentioned otherwise, numbers use 4
/// decimals" (OCPI 2.2.1, types, `number`).
pub const SCALE: u32 = 4;

/// How results are rounded to [`SCALE`] decimals: half away from zero (commercial rounding),
/// e.g. 0.03125 becomes 0.0313. OCPI does not name a rounding mode.
pub const ROUNDING: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// Nanoseconds in a second.
pub(crate) const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// Nanoseconds in an hour.
pub(crate) const NANOS_PER_HOUR: i64 = 3_600 * NANOS_PER_SECOND;
/// Wh in a kWh.
pub(crate) const WH_PER_KWH: Decimal = Decimal::ONE_THOUSAND;

/// Rounds a result to [`SCALE`] decimals with [`ROUNDING`].
pub fn round(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(SCALE, ROUNDING)
}

pub(crate) fn add(a: Decimal, b: Decimal) -> Result<Decimal, RatingError> {
    a.checked_add(b).ok_or(RatingError::Overflow)
}

pub(crate) fn sub(a: Decimal, b: Decimal) -> Result<Decimal, RatingError> {
    a.checked_sub(b).ok_or(RatingError::Overflow)
}

pub(crate) fn mul(a: Decimal, b: Decimal) -> Result<Decimal, RatingError> {
    a.checked_mul(b).ok_or(RatingError::Overflow)
}

pub(crate) fn div(a: Decimal, b: Decimal) -> Result<Decimal, RatingError> {
    a.checked_div(b).ok_or(RatingError::Overflow)
}

/// The whole nanoseconds of a duration.
pub(crate) fn nanos(delta: TimeDelta) -> Result<i64, RatingError> {
    delta.num_nanoseconds().ok_or(RatingError::Overflow)
}

/// A number of nanoseconds as a duration.
pub(crate) fn delta(nanos: i64) -> TimeDelta {
    TimeDelta::nanoseconds(nanos)
}

/// Nanoseconds as hours, at full precision (an exact quotient when it has at most 28 digits).
pub(crate) fn hours(nanos: i64) -> Result<Decimal, RatingError> {
    div(Decimal::from(nanos), Decimal::from(NANOS_PER_HOUR))
}

/// Hours (a CDR volume) as whole nanoseconds, rounded to the nearest nanosecond.
pub(crate) fn nanos_from_hours(hours: Decimal) -> Result<i64, RatingError> {
    let n = mul(hours, Decimal::from(NANOS_PER_HOUR))?;
    i64::try_from(n.round()).map_err(|_| RatingError::Overflow)
}

/// The price of `nanos` of time at `price_per_hour`: multiplied first, divided last, so the
/// only rounding is at the 28th significant digit.
pub(crate) fn time_cost(price_per_hour: Decimal, nanos: i64) -> Result<Decimal, RatingError> {
    div(
        mul(price_per_hour, Decimal::from(nanos))?,
        Decimal::from(NANOS_PER_HOUR),
    )
}

/// The price of `wh` of energy at `price_per_kwh` (exact).
pub(crate) fn energy_cost(price_per_kwh: Decimal, wh: Decimal) -> Result<Decimal, RatingError> {
    div(mul(price_per_kwh, wh)?, WH_PER_KWH)
}

/// `amount` plus `vat_percent` percent.
pub(crate) fn with_vat(amount: Decimal, vat_percent: Decimal) -> Result<Decimal, RatingError> {
    let factor = add(Decimal::ONE_HUNDRED, vat_percent)?;
    div(mul(amount, factor)?, Decimal::ONE_HUNDRED)
}

/// `value` rounded up to a whole number of `step`s: `ceil(value / step) * step`. A zero step
/// (or a non-positive value) leaves the value as it is.
pub(crate) fn round_up_to_step(value: Decimal, step: u32) -> Result<Decimal, RatingError> {
    if step == 0 || value <= Decimal::ZERO {
        return Ok(value);
    }
    let step = Decimal::from(step);
    mul(div(value, step)?.ceil(), step)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero_at_four_decimals() {
        assert_eq!(round(dec!(0.03125)), dec!(0.0313));
        assert_eq!(round(dec!(0.03124999)), dec!(0.0312));
        assert_eq!(round(dec!(-0.03125)), dec!(-0.0313));
        assert_eq!(round(dec!(0.383333333)), dec!(0.3833));
    }

    #[test]
    fn step_rounding() {
        assert_eq!(round_up_to_step(dec!(115.2), 1).unwrap(), dec!(116));
        assert_eq!(round_up_to_step(dec!(115.2), 25).unwrap(), dec!(125));
        assert_eq!(round_up_to_step(dec!(115.2), 500).unwrap(), dec!(500));
        assert_eq!(round_up_to_step(dec!(125), 25).unwrap(), dec!(125));
        assert_eq!(round_up_to_step(dec!(7), 0).unwrap(), dec!(7));
        assert_eq!(round_up_to_step(dec!(0), 300).unwrap(), dec!(0));
    }

    #[test]
    fn time_cost_multiplies_first() {
        // 10 minutes at 1.20/h is exactly 0.20.
        assert_eq!(
            time_cost(dec!(1.20), 600 * NANOS_PER_SECOND).unwrap(),
            dec!(0.2)
        );
        // 5 minutes at 1.00/h is 1/12.
        assert_eq!(
            round(time_cost(dec!(1), 300 * NANOS_PER_SECOND).unwrap()),
            dec!(0.0833)
        );
        assert_eq!(energy_cost(dec!(0.25), dec!(116)).unwrap(), dec!(0.029));
        assert_eq!(with_vat(dec!(5), dec!(10)).unwrap(), dec!(5.5));
        assert_eq!(nanos_from_hours(dec!(1.973)).unwrap(), 7_102_800_000_000);
    }
}
