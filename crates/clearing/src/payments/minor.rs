//! Amounts in Stripe's minor units, which are not always ISO 4217's.
//!
//! Stripe's rules (docs.stripe.com/currencies):
//! - zero-decimal currencies (BIF, CLP, DJF, GNF, JPY, KMF, KRW, MGA, PYG, RWF, UGX, VND, VUV,
//!   XAF, XOF, XPF): the amount is in whole units (¥500 → 500);
//! - three-decimal currencies (BHD, JOD, KWD, OMR, TND): thousandths, and the last digit must
//!   be 0 (5.124 KWD → 5120 or 5130);
//! - ISK: two-decimal in the API, but only whole krónur (a multiple of 100);
//! - HUF and TWD: two-decimal for charges, but payouts are whole units (a multiple of 100). We
//!   use the payout rule for transfers too, so the transfer and the payout that follows it are
//!   the same amount;
//! - every other currency: two decimals.
//!
//! UGX is in Stripe's zero-decimal list; Stripe has also described backward-compatibility rules
//! for it that this module does not model (see `docs/stripe.md`).
//!
//! Conversion rounds once, explicitly, to a multiple of the allowed step: payouts and
//! collections round toward zero (never move more than is owed; the remainder stays on the
//! party's balance), charges of a driver round half away from zero.

use rust_decimal::{Decimal, RoundingStrategy};

/// Why an amount cannot be expressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MinorError {
    #[error("`{0}` is not a currency code (three letters)")]
    Currency(String),
    #[error("{amount} {currency} is too large")]
    TooLarge { amount: Decimal, currency: String },
}

/// What the amount is for: the allowed granularity depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A PaymentIntent amount or capture.
    Charge,
    /// A transfer to a connected account followed by a payout of the same amount.
    Payout,
}

const ZERO_DECIMAL: &[&str] = &["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"];
const THREE_DECIMAL: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

fn code(currency: &str) -> Result<String, MinorError> {
    let c = currency.trim().to_ascii_uppercase();
    if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(MinorError::Currency(currency.to_string()));
    }
    Ok(c)
}

/// Decimal places of the API amount: 0, 2 or 3.
pub fn exponent(currency: &str) -> Result<u32, MinorError> {
    let c = code(currency)?;
    Ok(if ZERO_DECIMAL.contains(&c.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&c.as_str()) {
        3
    } else {
        2
    })
}

/// The step an API amount must be a multiple of.
pub fn step(currency: &str, use_: Use) -> Result<i64, MinorError> {
    let c = code(currency)?;
    Ok(match c.as_str() {
        c if THREE_DECIMAL.contains(&c) => 10,
        "ISK" => 100,
        "HUF" | "TWD" if use_ == Use::Payout => 100,
        _ => 1,
    })
}

/// `amount` in minor units, rounded with `rounding` to a multiple of [`step`].
pub fn to_minor(amount: Decimal, currency: &str, use_: Use, rounding: RoundingStrategy) -> Result<i64, MinorError> {
    let exp = exponent(currency)?;
    let step = step(currency, use_)?;
    let too_large = || MinorError::TooLarge { amount, currency: currency.to_string() };
    let scaled = amount.checked_mul(Decimal::from(10i64.pow(exp))).ok_or_else(too_large)?;
    let steps = (scaled / Decimal::from(step)).round_dp_with_strategy(0, rounding);
    let steps = i64::try_from(steps).map_err(|_| too_large())?;
    steps.checked_mul(step).ok_or_else(too_large)
}

/// Minor units back to a decimal amount (exact).
pub fn from_minor(minor: i64, currency: &str) -> Result<Decimal, MinorError> {
    Ok(Decimal::new(minor, exponent(currency)?))
}

/// The lowercase code Stripe's API takes.
pub fn api_currency(currency: &str) -> Result<String, MinorError> {
    Ok(code(currency)?.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const DOWN: RoundingStrategy = RoundingStrategy::ToZero;
    const HALF: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

    #[test]
    fn two_zero_and_three_decimal_currencies() {
        assert_eq!(to_minor(dec!(10.00), "EUR", Use::Payout, DOWN).unwrap(), 1000);
        assert_eq!(to_minor(dec!(12.3456), "eur", Use::Payout, DOWN).unwrap(), 1234);
        assert_eq!(to_minor(dec!(12.3456), "EUR", Use::Charge, HALF).unwrap(), 1235);
        assert_eq!(to_minor(dec!(500), "JPY", Use::Charge, HALF).unwrap(), 500);
        assert_eq!(to_minor(dec!(500.5), "JPY", Use::Charge, HALF).unwrap(), 501);
        assert_eq!(to_minor(dec!(500.9), "JPY", Use::Payout, DOWN).unwrap(), 500);
        assert_eq!(to_minor(dec!(1500), "KRW", Use::Payout, DOWN).unwrap(), 1500);
        assert_eq!(to_minor(dec!(99.5), "VND", Use::Charge, HALF).unwrap(), 100);
        assert_eq!(to_minor(dec!(1200.4), "CLP", Use::Charge, HALF).unwrap(), 1200);
        // Three decimals, last digit 0.
        assert_eq!(to_minor(dec!(5.124), "KWD", Use::Charge, HALF).unwrap(), 5120);
        assert_eq!(to_minor(dec!(5.125), "KWD", Use::Charge, HALF).unwrap(), 5130);
        assert_eq!(to_minor(dec!(5.129), "BHD", Use::Payout, DOWN).unwrap(), 5120);
        assert_eq!(to_minor(dec!(1.0009), "OMR", Use::Payout, DOWN).unwrap(), 1000);
        for c in ["BHD", "KWD", "OMR", "JOD", "TND"] {
            assert_eq!(exponent(c).unwrap(), 3);
            assert_eq!(to_minor(dec!(7.777), c, Use::Charge, HALF).unwrap() % 10, 0);
        }
        assert_eq!(from_minor(1234, "EUR").unwrap(), dec!(12.34));
        assert_eq!(from_minor(500, "JPY").unwrap(), dec!(500));
        assert_eq!(from_minor(5120, "KWD").unwrap(), dec!(5.120));
    }

    #[test]
    fn stripe_special_cases() {
        // ISK: two-decimal representation, whole krónur only.
        assert_eq!(to_minor(dec!(5), "ISK", Use::Charge, HALF).unwrap(), 500);
        assert_eq!(to_minor(dec!(40.10), "ISK", Use::Charge, HALF).unwrap(), 4000);
        assert_eq!(to_minor(dec!(40.50), "ISK", Use::Charge, HALF).unwrap(), 4100);
        // HUF / TWD: cents for charges, whole units for payouts (and the transfer before them).
        assert_eq!(to_minor(dec!(10.45), "HUF", Use::Charge, HALF).unwrap(), 1045);
        assert_eq!(to_minor(dec!(10.45), "HUF", Use::Payout, DOWN).unwrap(), 1000);
        assert_eq!(to_minor(dec!(99.99), "TWD", Use::Payout, DOWN).unwrap(), 9900);
        assert_eq!(exponent("UGX").unwrap(), 0);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(matches!(to_minor(dec!(1), "EURO", Use::Charge, HALF), Err(MinorError::Currency(_))));
        assert!(matches!(to_minor(dec!(1), "E1R", Use::Charge, HALF), Err(MinorError::Currency(_))));
        assert!(matches!(to_minor(Decimal::MAX, "EUR", Use::Charge, HALF), Err(MinorError::TooLarge { .. })));
        assert_eq!(api_currency("Eur").unwrap(), "eur");
        // Negative amounts keep their sign (refund-like uses); rounding toward zero is symmetric.
        assert_eq!(to_minor(dec!(-1.239), "EUR", Use::Payout, DOWN).unwrap(), -123);
    }
}
