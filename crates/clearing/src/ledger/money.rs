//! Amounts as the database keeps them: integers in units of 0.0001 (`*_e4` columns).
//!
//! OCPI amounts have 4 decimals, so an amount is exact as `Decimal × 10⁴` in an `i64`, and SQL
//! sums them exactly on both back ends (sqlx binds `rust_decimal` only on PostgreSQL). Rounding
//! to 4 decimals is always explicit ([`round4`]) and done before conversion: [`to_e4`] refuses
//! an amount with more decimals instead of rounding it silently. Currency minor units (cents)
//! matter only when money moves (payouts, later).

use rust_decimal::Decimal;

use super::ClearingError;
use crate::rating;

/// Rounds to 4 decimals with the rating engine's rule ([`rating::ROUNDING`]).
pub fn round4(d: Decimal) -> Decimal {
    rating::round(d)
}

/// An amount with at most 4 decimals as units of 0.0001.
pub fn to_e4(d: Decimal, what: &str) -> Result<i64, ClearingError> {
    let n = d.normalize();
    if n.scale() > 4 {
        return Err(ClearingError::Precision(format!("{what} {d} has more than 4 decimals")));
    }
    let scaled = n
        .checked_mul(Decimal::from(10_000))
        .ok_or_else(|| ClearingError::Precision(format!("{what} {d} is too large")))?;
    i64::try_from(scaled).map_err(|_| ClearingError::Precision(format!("{what} {d} is too large")))
}

/// Units of 0.0001 as a decimal with 4 decimals.
pub fn from_e4(v: i64) -> Decimal {
    Decimal::new(v, 4)
}

/// Serde helpers: an `i64` in units of 0.0001 written as a JSON decimal string ("12.3400"), the
/// way the hub prints money (exact, no float).
pub mod e4_str {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::from_e4(*v).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn converts_exactly_and_refuses_hidden_rounding() {
        assert_eq!(to_e4(dec!(12.34), "x").unwrap(), 123_400);
        assert_eq!(to_e4(dec!(-0.0001), "x").unwrap(), -1);
        assert_eq!(to_e4(dec!(1.230000), "x").unwrap(), 12_300);
        assert!(to_e4(dec!(0.00001), "x").is_err());
        assert_eq!(from_e4(123_400).to_string(), "12.3400");
        assert_eq!(round4(dec!(0.00005)), dec!(0.0001));
    }
}
