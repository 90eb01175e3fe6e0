//! Hub fee contracts (`fee_contracts`): per party and currency, a fixed amount plus a percentage
//! of each CDR, charged to that party for every CDR it takes part in (as CPO or as eMSP).
//!
//! The percentage applies to the CDR's `total_cost.excl_vat`: VAT is not the parties' business
//! volume. The fee is rounded explicitly to 4 decimals ([`super::round4`]), the OCPI precision;
//! a credit CDR refunds the fee of the CDR it credits (its entry is reversed whole). The fee is
//! fixed when the CDR is settled and stored with the settlement, so changing a contract does not
//! change what was settled before. Fees are amounts excl. VAT; VAT on the hub's own invoice is
//! outside this ledger.

use hub_core::party::PartyKey;
use hub_core::store::Store;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;

use super::money::{self, from_e4, round4, to_e4};
use super::{ClearingError, Result, with_pool};

/// A party's fee contract in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeContract {
    pub country_code: String,
    pub party_id: String,
    pub currency: String,
    #[serde(rename = "fixed", with = "money::e4_str")]
    pub fixed_e4: i64,
    #[serde(rename = "percent", with = "money::e4_str")]
    pub percent_e4: i64,
}

impl FeeContract {
    /// Validates and builds a contract: a 3-letter currency, a non-negative fixed amount and a
    /// percentage between 0 and 100, each with at most 4 decimals.
    pub fn new(party: &PartyKey, currency: &str, fixed: Decimal, percent: Decimal) -> Result<Self> {
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ClearingError::Invalid(format!("currency `{currency}`: expected an ISO 4217 code such as EUR")));
        }
        if fixed.is_sign_negative() {
            return Err(ClearingError::Invalid(format!("fixed fee {fixed} is negative")));
        }
        if percent.is_sign_negative() || percent > Decimal::ONE_HUNDRED {
            return Err(ClearingError::Invalid(format!("percent {percent} is not between 0 and 100")));
        }
        Ok(Self {
            country_code: party.country_code.to_ascii_uppercase(),
            party_id: party.party_id.to_ascii_uppercase(),
            currency: currency.to_ascii_uppercase(),
            fixed_e4: to_e4(fixed, "fixed fee").map_err(|e| ClearingError::Invalid(e.to_string()))?,
            percent_e4: to_e4(percent, "percent").map_err(|e| ClearingError::Invalid(e.to_string()))?,
        })
    }

    /// The fee of a CDR whose total excl. VAT is `net`: fixed + net × percent / 100, rounded to
    /// 4 decimals. For a negative `net` (a credit) the percentage part is negative too.
    pub fn fee(&self, net: Decimal) -> Decimal {
        let pct = net * from_e4(self.percent_e4) / Decimal::ONE_HUNDRED;
        from_e4(self.fixed_e4) + round4(pct)
    }
}

/// Creates or replaces a party's contract in a currency.
pub async fn set(store: &Store, c: &FeeContract) -> Result<()> {
    let now = hub_core::store::now_micros();
    with_pool!(store, pool => {
        sqlx::query("INSERT INTO fee_contracts (country_code, party_id, currency, fixed_e4, percent_e4, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (country_code, party_id, currency) DO UPDATE SET fixed_e4 = excluded.fixed_e4, percent_e4 = excluded.percent_e4, updated_at = excluded.updated_at")
            .bind(&c.country_code).bind(&c.party_id).bind(&c.currency).bind(c.fixed_e4).bind(c.percent_e4).bind(now)
            .execute(pool).await?;
        Ok(())
    })
}

/// Every contract, by party and currency.
pub async fn list(store: &Store) -> Result<Vec<FeeContract>> {
    with_pool!(store, pool => {
        let rows = sqlx::query("SELECT country_code, party_id, currency, fixed_e4, percent_e4 FROM fee_contracts ORDER BY country_code, party_id, currency")
            .fetch_all(pool).await?;
        rows.iter().map(|r| Ok(FeeContract {
            country_code: r.try_get("country_code")?,
            party_id: r.try_get("party_id")?,
            currency: r.try_get("currency")?,
            fixed_e4: r.try_get("fixed_e4")?,
            percent_e4: r.try_get("percent_e4")?,
        })).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn fee_is_fixed_plus_percent_rounded_to_four_decimals() {
        let c = FeeContract::new(&PartyKey::new("NL", "ABC"), "eur", dec!(0.25), dec!(2.5)).unwrap();
        assert_eq!(c.currency, "EUR");
        assert_eq!(c.fee(dec!(10.00)), dec!(0.5000));
        // 2.5 % of 1.2345 = 0.0308625 -> 0.0309
        assert_eq!(c.fee(dec!(1.2345)), dec!(0.2809));
        assert!(FeeContract::new(&PartyKey::new("NL", "ABC"), "EUR", dec!(-1), dec!(1)).is_err());
        assert!(FeeContract::new(&PartyKey::new("NL", "ABC"), "EUR", dec!(1), dec!(101)).is_err());
        assert!(FeeContract::new(&PartyKey::new("NL", "ABC"), "EUR", dec!(0.00001), dec!(1)).is_err());
        assert!(FeeContract::new(&PartyKey::new("NL", "ABC"), "EURO", dec!(1), dec!(1)).is_err());
    }
}
