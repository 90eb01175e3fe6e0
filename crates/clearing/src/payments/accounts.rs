//! A party's Stripe side (`payment_accounts`): the Express connected account payouts go to
//! (created once per party, its id stored; the partner completes it through an account link,
//! which the portal will show), and the customer and payment method collections charge (set by
//! the operator: the hub does not take card details itself).

use std::collections::HashMap;

use hub_core::party::PartyKey;
use hub_core::store::Store;
use serde::Serialize;
use sqlx::Row;

use super::{PaymentsError, Result, Stripe};
use crate::ledger::{begin_write, with_pool};

/// A party's payment account row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PaymentAccount {
    pub country_code: String,
    pub party_id: String,
    pub stripe_account_id: Option<String>,
    pub customer_id: Option<String>,
    pub payment_method_id: Option<String>,
    pub details_submitted: bool,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
}

pub async fn get(store: &Store, party: &PartyKey) -> Result<Option<PaymentAccount>> {
    with_pool!(store, pool => {
        let row = sqlx::query("SELECT * FROM payment_accounts WHERE country_code = $1 AND party_id = $2")
            .bind(&party.country_code).bind(&party.party_id).fetch_optional(pool).await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(PaymentAccount {
                country_code: r.try_get("country_code")?,
                party_id: r.try_get("party_id")?,
                stripe_account_id: r.try_get("stripe_account_id")?,
                customer_id: r.try_get("customer_id")?,
                payment_method_id: r.try_get("payment_method_id")?,
                details_submitted: r.try_get::<i64, _>("details_submitted")? != 0,
                charges_enabled: r.try_get::<i64, _>("charges_enabled")? != 0,
                payouts_enabled: r.try_get::<i64, _>("payouts_enabled")? != 0,
            })),
        }
    })
}

/// What `payment connect` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connected {
    pub account: String,
    pub url: String,
    /// The account was created now (not found in `payment_accounts`).
    pub created: bool,
}

/// Gives `party` a connected account if it has none (stored at once), and an onboarding link.
/// The creation's idempotency key is the party's, so a crash between Stripe's answer and our
/// write creates no second account when run again.
pub async fn connect(store: &Store, stripe: &Stripe, party: &PartyKey, refresh_url: &str, return_url: &str) -> Result<Connected> {
    let existing = get(store, party).await?.and_then(|a| a.stripe_account_id);
    let (account, created) = match existing {
        Some(a) => (a, false),
        None => {
            let metadata = HashMap::from([
                ("hub_country_code".to_string(), party.country_code.clone()),
                ("hub_party_id".to_string(), party.party_id.clone()),
            ]);
            let key = format!("ocpi-hub-account-{}-{}", party.country_code, party.party_id);
            let id = stripe.create_account(&party.country_code, metadata, &key).await?;
            let now = hub_core::store::now_micros();
            with_pool!(store, pool => {
                let mut tx = pool.begin_with(begin_write(store)).await?;
                sqlx::query(
                    "INSERT INTO payment_accounts (country_code, party_id, stripe_account_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                     ON CONFLICT (country_code, party_id) DO UPDATE SET stripe_account_id = COALESCE(payment_accounts.stripe_account_id, excluded.stripe_account_id), updated_at = excluded.updated_at")
                    .bind(&party.country_code).bind(&party.party_id).bind(&id).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
            });
            // Another run may have stored another account first: use the stored one.
            let stored = get(store, party).await?.and_then(|a| a.stripe_account_id).unwrap_or(id);
            (stored, true)
        }
    };
    let url = stripe.account_link(&account, refresh_url, return_url).await?;
    Ok(Connected { account, url, created })
}

/// Sets the Stripe customer and payment method collections from `party` charge.
pub async fn set_collection_method(store: &Store, party: &PartyKey, customer: &str, payment_method: &str) -> Result<()> {
    if !customer.starts_with("cus_") || !payment_method.starts_with("pm_") {
        return Err(PaymentsError::Invalid("expected a customer id cus_... and a payment method id pm_...".into()));
    }
    let now = hub_core::store::now_micros();
    with_pool!(store, pool => {
        sqlx::query(
            "INSERT INTO payment_accounts (country_code, party_id, customer_id, payment_method_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (country_code, party_id) DO UPDATE SET customer_id = excluded.customer_id, payment_method_id = excluded.payment_method_id, updated_at = excluded.updated_at")
            .bind(&party.country_code).bind(&party.party_id).bind(customer).bind(payment_method).bind(now).execute(pool).await?;
    });
    Ok(())
}
