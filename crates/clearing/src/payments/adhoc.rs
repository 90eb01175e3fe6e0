//! A driver's ad-hoc payment for a session (`adhoc_payments`): a PaymentIntent with manual
//! capture authorized when the session starts ([`authorize`]), captured for the CDR's amount
//! (at most what was authorized) when it ends ([`capture`]), or released ([`cancel`]).
//!
//! - One row per session (CPO country code, party id, session id); the row is written before
//!   the Stripe call and the keys derive from its id (`ocpi-hub-adhoc-<id>-authorize`,
//!   `…-capture`, `…-cancel`), so calling again after a crash or a lost answer repeats the same
//!   request, which Stripe answers once.
//! - The capture is recorded in the ledger against the session (reference
//!   `adhoc/CC/PID/SESSION`): `processor:stripe` +amount, `drivers:adhoc` −amount (money held
//!   for the session until it is matched with the session's CDR settlement, which is not built
//!   yet). The entry is posted once, whether the API answer or the `payment_intent.succeeded`
//!   webhook records it first.
//! - Amounts: the authorization rounds up to Stripe's minor units (it must cover the CDR), the
//!   capture rounds half away from zero.
//!
//! There is no driver HTTP API yet; these functions are what it will call.

use std::collections::HashMap;

use hub_core::party::PartyKey;
use hub_core::store::Store;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use sqlx::Row;

use super::minor::{self, Use};
use super::{ADHOC_ACCOUNT, CallError, PaymentsError, Result, STRIPE_ACCOUNT, Stripe};
use crate::ledger::{ClearingError, NewEntry, NewLine, begin_write, check_balanced, insert_entry, to_e4, with_pool};

/// The session a payment is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    /// The CPO of the session (its OCPI country code and party id).
    pub cpo: PartyKey,
    pub session_id: String,
}

/// A row of `adhoc_payments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdhocPayment {
    pub id: i64,
    pub country_code: String,
    pub party_id: String,
    pub session_id: String,
    pub currency: String,
    pub authorized_minor: i64,
    pub captured_minor: Option<i64>,
    pub payment_method: String,
    pub payment_intent_id: Option<String>,
    /// `pending`, `authorized`, `capturing`, `captured`, `canceling`, `canceled`, `failed`.
    pub status: String,
    pub ledger_entry_id: Option<i64>,
    pub last_error: Option<String>,
}

/// What the ledger entry of a capture needs (shared with the webhook).
pub(crate) struct CaptureFacts {
    pub id: i64,
    pub country_code: String,
    pub party_id: String,
    pub session_id: String,
    pub currency: String,
}

impl CaptureFacts {
    pub(crate) fn entry(&self, received_minor: i64, now: i64) -> crate::ledger::Result<NewEntry> {
        let amount = minor::from_minor(received_minor, &self.currency).map_err(|e| ClearingError::Invalid(e.to_string()))?;
        let e4 = to_e4(amount, "captured amount")?;
        Ok(NewEntry {
            kind: "adhoc",
            reference: format!("adhoc/{}/{}/{}", self.country_code, self.party_id, self.session_id),
            settlement_id: None,
            reverses_entry_id: None,
            effective_at: now,
            lines: vec![
                NewLine { account: STRIPE_ACCOUNT.into(), currency: self.currency.clone(), kind: "adhoc", amount_e4: e4 },
                NewLine { account: ADHOC_ACCOUNT.into(), currency: self.currency.clone(), kind: "adhoc", amount_e4: -e4 },
            ],
        })
    }
}

macro_rules! adhoc_from_row {
    ($r:expr) => {{
        let r = $r;
        AdhocPayment {
            id: r.try_get("id")?,
            country_code: r.try_get("country_code")?,
            party_id: r.try_get("party_id")?,
            session_id: r.try_get("session_id")?,
            currency: r.try_get("currency")?,
            authorized_minor: r.try_get("authorized_minor")?,
            captured_minor: r.try_get("captured_minor")?,
            payment_method: r.try_get("payment_method")?,
            payment_intent_id: r.try_get("payment_intent_id")?,
            status: r.try_get("status")?,
            ledger_entry_id: r.try_get("ledger_entry_id")?,
            last_error: r.try_get("last_error")?,
        }
    }};
}

pub async fn get(store: &Store, s: &SessionRef) -> Result<Option<AdhocPayment>> {
    with_pool!(store, pool => {
        let row = sqlx::query("SELECT * FROM adhoc_payments WHERE country_code = $1 AND party_id = $2 AND session_id = $3")
            .bind(&s.cpo.country_code).bind(&s.cpo.party_id).bind(&s.session_id).fetch_optional(pool).await?;
        match row {
            Some(r) => Ok(Some(adhoc_from_row!(&r))),
            None => Ok(None),
        }
    })
}

async fn must_get(store: &Store, s: &SessionRef) -> Result<AdhocPayment> {
    get(store, s).await?.ok_or_else(|| PaymentsError::Invalid(format!("no ad-hoc payment for session {} of {}", s.session_id, s.cpo)))
}

fn metadata(p: &AdhocPayment) -> HashMap<String, String> {
    HashMap::from([
        ("hub_adhoc_id".to_string(), p.id.to_string()),
        ("hub_session".to_string(), format!("{}:{}:{}", p.country_code, p.party_id, p.session_id)),
    ])
}

/// Sets a row's status from one of `from`, with optional fields.
async fn update(store: &Store, id: i64, from: &[&str], to: &str, intent: Option<&str>, error: Option<&str>) -> Result<()> {
    let now = hub_core::store::now_micros();
    with_pool!(store, pool => {
        let mut qb = sqlx::QueryBuilder::new("UPDATE adhoc_payments SET status = ");
        qb.push_bind(to.to_string()).push(", updated_at = ").push_bind(now);
        if let Some(i) = intent {
            qb.push(", payment_intent_id = ").push_bind(i.to_string());
        }
        qb.push(", last_error = ").push_bind(error.map(str::to_string));
        qb.push(" WHERE id = ").push_bind(id).push(" AND status IN (");
        let mut sep = qb.separated(", ");
        for f in from {
            sep.push_bind(f.to_string());
        }
        qb.push(")");
        qb.build().execute(pool).await?;
    });
    Ok(())
}

/// Authorizes `amount` (the session's expected maximum) on the driver's payment method.
/// Calling it again for the same session returns the same payment (and repeats the Stripe call
/// only if its answer was never recorded).
pub async fn authorize(store: &Store, stripe: &Stripe, s: &SessionRef, amount: Decimal, currency: &str, payment_method: &str) -> Result<AdhocPayment> {
    if amount <= Decimal::ZERO {
        return Err(PaymentsError::Invalid(format!("amount to authorize must be positive, not {amount}")));
    }
    if !payment_method.starts_with("pm_") {
        return Err(PaymentsError::Invalid("payment method must be a Stripe payment method id (pm_...)".into()));
    }
    let currency = currency.trim().to_ascii_uppercase();
    let minor_units = minor::to_minor(amount, &currency, Use::Charge, RoundingStrategy::AwayFromZero)?;
    let now = hub_core::store::now_micros();
    with_pool!(store, pool => {
        sqlx::query(
            "INSERT INTO adhoc_payments (country_code, party_id, session_id, currency, authorized_minor, payment_method, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) ON CONFLICT (country_code, party_id, session_id) DO NOTHING")
            .bind(&s.cpo.country_code).bind(&s.cpo.party_id).bind(&s.session_id).bind(&currency).bind(minor_units).bind(payment_method).bind(now)
            .execute(pool).await?;
    });
    let p = must_get(store, s).await?;
    if p.status != "pending" {
        return Ok(p);
    }
    if p.currency != currency || p.authorized_minor != minor_units || p.payment_method != payment_method {
        return Err(PaymentsError::Invalid(format!(
            "session {} has a pending authorization of {} {} on {}: a different one cannot replace it",
            s.session_id, p.authorized_minor, p.currency, p.payment_method)));
    }
    match stripe.authorize(payment_method, minor_units, &currency, metadata(&p), &format!("ocpi-hub-adhoc-{}-authorize", p.id)).await {
        Ok(pi) if pi.status == "requires_capture" => update(store, p.id, &["pending"], "authorized", Some(&pi.id), None).await?,
        Ok(pi) => update(store, p.id, &["pending"], "failed", Some(&pi.id), Some(&format!("PaymentIntent is {}", pi.status))).await?,
        Err(CallError::Transient(e)) => {
            update(store, p.id, &["pending"], "pending", None, Some(&e)).await?;
            return Err(CallError::Transient(e).into());
        }
        Err(e) => {
            update(store, p.id, &["pending"], "failed", None, Some(&e.to_string())).await?;
            return Err(e.into());
        }
    }
    must_get(store, s).await
}

/// Captures `amount` (the CDR's total, at most what was authorized) and records it in the
/// ledger against the session. An amount of zero releases the authorization instead.
pub async fn capture(store: &Store, stripe: &Stripe, s: &SessionRef, amount: Decimal) -> Result<AdhocPayment> {
    let p = must_get(store, s).await?;
    let minor_units = minor::to_minor(amount, &p.currency, Use::Charge, RoundingStrategy::MidpointAwayFromZero)?;
    if p.status == "captured" {
        return if p.captured_minor == Some(minor_units) {
            Ok(p)
        } else {
            Err(PaymentsError::Invalid(format!("session {} was captured for {:?} minor units already", s.session_id, p.captured_minor)))
        };
    }
    if minor_units < 0 || minor_units > p.authorized_minor {
        return Err(PaymentsError::Invalid(format!(
            "cannot capture {amount} {}: {} minor units were authorized", p.currency, p.authorized_minor)));
    }
    if minor_units == 0 {
        return cancel(store, stripe, s).await;
    }
    let Some(intent) = p.payment_intent_id.clone() else {
        return Err(PaymentsError::Invalid(format!("session {} has no authorized payment (status {})", s.session_id, p.status)));
    };
    // Fix the amount before the call, so a retry after a crash captures the same amount.
    let now = hub_core::store::now_micros();
    let claimed = with_pool!(store, pool => {
        sqlx::query("UPDATE adhoc_payments SET status = 'capturing', captured_minor = $1, updated_at = $2 WHERE id = $3 AND (status = 'authorized' OR (status = 'capturing' AND captured_minor = $1))")
            .bind(minor_units).bind(now).bind(p.id).execute(pool).await?.rows_affected()
    });
    if claimed == 0 {
        // The webhook may have recorded this very capture meanwhile.
        let now = must_get(store, s).await?;
        if now.status == "captured" && now.captured_minor == Some(minor_units) {
            return Ok(now);
        }
        return Err(PaymentsError::Invalid(format!(
            "session {}: payment is {} (capture of {:?} minor units under way); cannot capture {minor_units}", s.session_id, p.status, p.captured_minor)));
    }
    match stripe.capture(&intent, minor_units, &format!("ocpi-hub-adhoc-{}-capture", p.id)).await {
        Ok(pi) if pi.succeeded() => record_capture(store, &p, pi.amount_received).await?,
        Ok(pi) => return Err(PaymentsError::Invalid(format!("capture left the PaymentIntent {}", pi.status))),
        Err(CallError::Transient(e)) => {
            update(store, p.id, &["capturing"], "capturing", None, Some(&e)).await?;
            return Err(CallError::Transient(e).into());
        }
        Err(e) => {
            update(store, p.id, &["capturing"], "failed", None, Some(&e.to_string())).await?;
            return Err(e.into());
        }
    }
    must_get(store, s).await
}

/// Posts the capture's ledger entry and marks the row captured, once.
async fn record_capture(store: &Store, p: &AdhocPayment, received_minor: i64) -> Result<()> {
    let facts = CaptureFacts {
        id: p.id,
        country_code: p.country_code.clone(),
        party_id: p.party_id.clone(),
        session_id: p.session_id.clone(),
        currency: p.currency.clone(),
    };
    let now = hub_core::store::now_micros();
    let r: crate::ledger::Result<()> = with_pool!(store, pool => {
        async {
            let mut tx = pool.begin_with(begin_write(store)).await?;
            // Claim first: the UPDATE locks the row, so the webhook and the API answer cannot
            // both post the entry (the second sees `captured` and stops).
            let claimed = sqlx::query("UPDATE adhoc_payments SET status = 'captured', captured_minor = $1, last_error = NULL, updated_at = $2 WHERE id = $3 AND status <> 'captured'")
                .bind(received_minor).bind(now).bind(facts.id).execute(&mut *tx).await?.rows_affected();
            if claimed == 0 {
                return Ok(());
            }
            let entry = facts.entry(received_minor, now)?;
            let entry_id = insert_entry!(tx, &entry, now);
            check_balanced!(tx, entry_id, entry_id);
            sqlx::query("UPDATE adhoc_payments SET ledger_entry_id = $1 WHERE id = $2").bind(entry_id).bind(facts.id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        }.await
    });
    Ok(r?)
}

/// Releases the authorization (a session that ends without anything to pay).
pub async fn cancel(store: &Store, stripe: &Stripe, s: &SessionRef) -> Result<AdhocPayment> {
    let p = must_get(store, s).await?;
    if matches!(p.status.as_str(), "canceled" | "failed") {
        return Ok(p);
    }
    let Some(intent) = p.payment_intent_id.clone() else {
        update(store, p.id, &["pending"], "canceled", None, None).await?;
        return must_get(store, s).await;
    };
    update(store, p.id, &["authorized", "canceling"], "canceling", None, None).await?;
    match stripe.cancel(&intent, &format!("ocpi-hub-adhoc-{}-cancel", p.id)).await {
        Ok(_) => update(store, p.id, &["canceling"], "canceled", None, None).await?,
        Err(e) => {
            update(store, p.id, &["canceling"], "canceling", None, Some(&e.to_string())).await?;
            return Err(e.into());
        }
    }
    must_get(store, s).await
}
