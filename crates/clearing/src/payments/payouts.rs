//! Payouts to parties the hub owes money and collections from parties that owe the hub, for
//! their latest closed statement (`stripe_movements`).
//!
//! 1. [`plan`]: for each party and currency, the latest statement with a non-zero closing
//!    balance and no movement yet. The amount is the statement's amount to pay (or collect),
//!    capped by what the ledger says is owed now, in Stripe's minor units rounded toward zero
//!    (the remainder stays on the balance for the next statement). In ONE transaction: the
//!    ledger entry moving that amount (`payout`: party +x, `processor:stripe` −x; `collection`:
//!    party −x, `processor:stripe` +x) and the pending row whose idempotency key is derived
//!    from the entry's id (`ocpi-hub-payout-<entry id>`). Only the latest statement is paid:
//!    an older unpaid one is contained in its successor's opening balance.
//! 2. [`resume`] (also the second half of [`run`]): for each pending row, the Stripe calls with
//!    keys derived from the stored one (`…-transfer`, `…-payout`), each result recorded as it
//!    comes: payout `pending` → `transferred` (transfer made) → `sent` (payout made on the
//!    connected account) → `paid` (`payout.paid` webhook); collection `pending` → `sent` /
//!    `paid` (the PaymentIntent succeeded). A crash anywhere leaves a row that the next
//!    `resume` continues with the same keys, so Stripe does each thing once.
//! 3. No answer (timeout, 5xx, dropped connection) leaves the row as it was, with the error and
//!    an attempt counted. A refusal (4xx) of the transfer or the charge marks the row `failed`
//!    and reverses the ledger entry (the amount is owed again and enters the next statement);
//!    a refused payout after a made transfer is `payout_refused` (the money is on the party's
//!    Stripe balance, the ledger stays as it is).
//!
//! Payouts need the party's connected account with payouts enabled (`account.updated`);
//! collections need its customer and payment method ([`super::accounts`]); parties without
//! them are reported as skipped, nothing is written for them.

use std::collections::HashMap;

use hub_core::store::Store;
use rust_decimal::RoundingStrategy;
use serde::Serialize;
use sqlx::Row;

use super::minor::{self, Use};
use super::{CallError, Result, STRIPE_ACCOUNT, Stripe};
use crate::ledger::money::{self, from_e4, to_e4};
use crate::ledger::{NewEntry, NewLine, begin_write, check_balanced, insert_entry, with_pool};

/// A row of `stripe_movements`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Movement {
    pub id: i64,
    /// `payout` or `collection`.
    pub kind: String,
    pub statement_id: i64,
    pub country_code: String,
    pub party_id: String,
    pub currency: String,
    #[serde(rename = "amount", with = "money::e4_str")]
    pub amount_e4: i64,
    /// In Stripe's minor units of the currency.
    pub amount_minor: i64,
    pub ledger_entry_id: i64,
    pub idempotency_key: String,
    pub stripe_account_id: Option<String>,
    pub status: String,
    pub transfer_id: Option<String>,
    pub payout_id: Option<String>,
    pub payment_intent_id: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub reversal_entry_id: Option<i64>,
}

macro_rules! movement_from_row {
    ($r:expr) => {{
        let r = $r;
        Movement {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            statement_id: r.try_get("statement_id")?,
            country_code: r.try_get("country_code")?,
            party_id: r.try_get("party_id")?,
            currency: r.try_get("currency")?,
            amount_e4: r.try_get("amount_e4")?,
            amount_minor: r.try_get("amount_minor")?,
            ledger_entry_id: r.try_get("ledger_entry_id")?,
            idempotency_key: r.try_get("idempotency_key")?,
            stripe_account_id: r.try_get("stripe_account_id")?,
            status: r.try_get("status")?,
            transfer_id: r.try_get("transfer_id")?,
            payout_id: r.try_get("payout_id")?,
            payment_intent_id: r.try_get("payment_intent_id")?,
            attempts: r.try_get("attempts")?,
            last_error: r.try_get("last_error")?,
            reversal_entry_id: r.try_get("reversal_entry_id")?,
        }
    }};
}

/// A statement nothing was planned for, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub statement_id: i64,
    pub country_code: String,
    pub party_id: String,
    pub currency: String,
    pub reason: String,
}

/// What `payout run` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// Movements planned by this run.
    pub planned: usize,
    pub skipped: Vec<Skipped>,
    /// Every movement this run worked on, as it ended.
    pub movements: Vec<Movement>,
}

/// Movements, newest last; `statuses`: only those (all when empty).
pub async fn list(store: &Store, statuses: &[&str]) -> Result<Vec<Movement>> {
    with_pool!(store, pool => {
        let mut qb = sqlx::QueryBuilder::new("SELECT * FROM stripe_movements");
        if !statuses.is_empty() {
            qb.push(" WHERE status IN (");
            let mut sep = qb.separated(", ");
            for s in statuses {
                sep.push_bind(s.to_string());
            }
            qb.push(")");
        }
        qb.push(" ORDER BY id");
        let rows = qb.build().fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(movement_from_row!(r));
        }
        Ok(out)
    })
}

pub async fn get(store: &Store, id: i64) -> Result<Option<Movement>> {
    with_pool!(store, pool => {
        match sqlx::query("SELECT * FROM stripe_movements WHERE id = $1").bind(id).fetch_optional(pool).await? {
            Some(r) => Ok(Some(movement_from_row!(&r))),
            None => Ok(None),
        }
    })
}

/// Plans `payout run` and then carries it out ([`plan`], then [`resume`]).
pub async fn run(store: &Store, stripe: &Stripe) -> Result<RunReport> {
    let (planned, skipped) = plan(store).await?;
    let movements = resume(store, stripe).await?;
    Ok(RunReport { planned: planned.len(), skipped, movements })
}

struct Candidate {
    statement_id: i64,
    country_code: String,
    party_id: String,
    account: String,
    currency: String,
    closing_e4: i64,
}

/// Writes the pending movements (with their ledger entries) of the latest statements; returns
/// their ids and the statements skipped. Writes nothing for a statement that has a movement.
pub async fn plan(store: &Store) -> Result<(Vec<i64>, Vec<Skipped>)> {
    let candidates: Vec<Candidate> = with_pool!(store, pool => {
        let rows = sqlx::query(
            "SELECT s.id, s.country_code, s.party_id, s.account, s.currency, s.closing_balance_e4 FROM statements s \
             WHERE s.closing_balance_e4 <> 0 \
             AND s.period_id = (SELECT MAX(s2.period_id) FROM statements s2 WHERE s2.account = s.account AND s2.currency = s.currency) \
             AND NOT EXISTS (SELECT 1 FROM stripe_movements m WHERE m.statement_id = s.id) ORDER BY s.id")
            .fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(Candidate {
                statement_id: r.try_get("id")?,
                country_code: r.try_get("country_code")?,
                party_id: r.try_get("party_id")?,
                account: r.try_get("account")?,
                currency: r.try_get("currency")?,
                closing_e4: r.try_get("closing_balance_e4")?,
            });
        }
        out
    });
    let mut planned = Vec::new();
    let mut skipped = Vec::new();
    for c in candidates {
        match plan_one(store, &c).await? {
            Ok(id) => planned.push(id),
            Err(reason) => skipped.push(Skipped {
                statement_id: c.statement_id,
                country_code: c.country_code.clone(),
                party_id: c.party_id.clone(),
                currency: c.currency.clone(),
                reason,
            }),
        }
    }
    Ok((planned, skipped))
}

/// `Ok(Ok(movement id))`, or `Ok(Err(why nothing was planned))`.
async fn plan_one(store: &Store, c: &Candidate) -> Result<std::result::Result<i64, String>> {
    let payout = c.closing_e4 < 0;
    let kind: &'static str = if payout { "payout" } else { "collection" };
    let now = hub_core::store::now_micros();
    let outcome: crate::ledger::Result<std::result::Result<i64, String>> = with_pool!(store, pool => {
        async {
            let mut tx = pool.begin_with(begin_write(store)).await?;
            let taken = sqlx::query("SELECT 1 AS x FROM stripe_movements WHERE statement_id = $1")
                .bind(c.statement_id).fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Ok(Err("planned meanwhile by another run".to_string()));
            }
            let acct = sqlx::query("SELECT stripe_account_id, customer_id, payment_method_id, payouts_enabled FROM payment_accounts WHERE country_code = $1 AND party_id = $2")
                .bind(&c.country_code).bind(&c.party_id).fetch_optional(&mut *tx).await?;
            let (stripe_account, customer, method, payouts_enabled): (Option<String>, Option<String>, Option<String>, i64) = match &acct {
                Some(r) => (r.try_get("stripe_account_id")?, r.try_get("customer_id")?, r.try_get("payment_method_id")?, r.try_get("payouts_enabled")?),
                None => (None, None, None, 0),
            };
            if payout && stripe_account.is_none() {
                return Ok(Err("no connected account (run `payment connect`)".to_string()));
            }
            if payout && payouts_enabled == 0 {
                return Ok(Err("the connected account has no payouts enabled yet (onboarding not completed)".to_string()));
            }
            if !payout && (customer.is_none() || method.is_none()) {
                return Ok(Err("no customer and payment method to collect from (run `payment collect-method`)".to_string()));
            }
            let balance: i64 = sqlx::query("SELECT CAST(SUM(amount_e4) AS BIGINT) AS s FROM ledger_lines WHERE account = $1 AND currency = $2")
                .bind(&c.account).bind(&c.currency).fetch_one(&mut *tx).await?.try_get::<Option<i64>, _>("s")?.unwrap_or(0);
            // Owed now, on the statement's side of zero.
            let owed_now = if payout { -balance } else { balance };
            let amount_e4 = c.closing_e4.abs().min(owed_now);
            if amount_e4 <= 0 {
                return Ok(Err("nothing owed any more on the ledger".to_string()));
            }
            let use_ = if payout { Use::Payout } else { Use::Charge };
            let minor_units = minor::to_minor(from_e4(amount_e4), &c.currency, use_, RoundingStrategy::ToZero)
                .map_err(|e| crate::ledger::ClearingError::Invalid(e.to_string()))?;
            if minor_units <= 0 {
                return Ok(Err("less than the smallest amount Stripe can move".to_string()));
            }
            let moved_e4 = to_e4(minor::from_minor(minor_units, &c.currency).map_err(|e| crate::ledger::ClearingError::Invalid(e.to_string()))?, "amount")?;
            let sign = if payout { 1 } else { -1 };
            let entry = NewEntry {
                kind,
                reference: format!("{kind}/statement/{}", c.statement_id),
                settlement_id: None,
                reverses_entry_id: None,
                effective_at: now,
                lines: vec![
                    NewLine { account: c.account.clone(), currency: c.currency.clone(), kind, amount_e4: sign * moved_e4 },
                    NewLine { account: STRIPE_ACCOUNT.to_string(), currency: c.currency.clone(), kind, amount_e4: -sign * moved_e4 },
                ],
            };
            let entry_id = insert_entry!(tx, &entry, now);
            check_balanced!(tx, entry_id, entry_id);
            let key = format!("ocpi-hub-{kind}-{entry_id}");
            let id: i64 = sqlx::query(
                "INSERT INTO stripe_movements (kind, statement_id, country_code, party_id, currency, amount_e4, amount_minor, ledger_entry_id, \
                 idempotency_key, stripe_account_id, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $11) RETURNING id")
                .bind(kind).bind(c.statement_id).bind(&c.country_code).bind(&c.party_id).bind(&c.currency).bind(moved_e4).bind(minor_units)
                .bind(entry_id).bind(&key).bind(if payout { stripe_account.clone() } else { None }).bind(now)
                .fetch_one(&mut *tx).await?.try_get("id")?;
            tx.commit().await?;
            Ok(Ok(id))
        }.await
    });
    Ok(outcome?)
}

/// Carries every unfinished movement as far as Stripe lets it (see the module doc); returns
/// them as they ended. Database errors stop it; Stripe errors are recorded on the row.
pub async fn resume(store: &Store, stripe: &Stripe) -> Result<Vec<Movement>> {
    let open = list(store, &["pending", "transferred"]).await?;
    let mut out = Vec::with_capacity(open.len());
    for m in open {
        advance(store, stripe, &m).await?;
        if let Some(now) = get(store, m.id).await? {
            out.push(now);
        }
    }
    Ok(out)
}

fn metadata(m: &Movement) -> HashMap<String, String> {
    HashMap::from([
        ("hub_movement_id".to_string(), m.id.to_string()),
        ("hub_statement_id".to_string(), m.statement_id.to_string()),
        ("hub_party".to_string(), format!("{}:{}", m.country_code, m.party_id)),
    ])
}

async fn advance(store: &Store, stripe: &Stripe, m: &Movement) -> Result<()> {
    match (m.kind.as_str(), m.status.as_str()) {
        ("payout", "pending") => {
            let Some(dest) = m.stripe_account_id.as_deref() else { return fail(store, m, "no connected account").await };
            let group = format!("statement-{}", m.statement_id);
            match stripe.transfer(m.amount_minor, &m.currency, dest, &group, metadata(m), &format!("{}-transfer", m.idempotency_key)).await {
                Ok(t) => {
                    set(store, m.id, &["pending"], "transferred", &[("transfer_id", &t.id)]).await?;
                    let now = get(store, m.id).await?.unwrap_or_else(|| m.clone());
                    if now.status == "transferred" {
                        return Box::pin(advance(store, stripe, &now)).await;
                    }
                    Ok(())
                }
                Err(e) => call_failed(store, m, e).await,
            }
        }
        ("payout", "transferred") => {
            let Some(dest) = m.stripe_account_id.as_deref() else { return Ok(()) };
            match stripe.payout(dest, m.amount_minor, &m.currency, metadata(m), &format!("{}-payout", m.idempotency_key)).await {
                Ok(id) => set(store, m.id, &["transferred"], "sent", &[("payout_id", &id)]).await,
                Err(CallError::Transient(e)) => note(store, m.id, &e).await,
                Err(e) => set(store, m.id, &["transferred"], "payout_refused", &[("last_error", &e.to_string())]).await,
            }
        }
        ("collection", "pending") => {
            let party = hub_core::party::PartyKey::new(&m.country_code, &m.party_id);
            let acct = super::accounts::get(store, &party).await?.unwrap_or_default();
            let (Some(customer), Some(method)) = (acct.customer_id, acct.payment_method_id) else {
                return fail(store, m, "no customer and payment method").await;
            };
            match stripe.charge(&customer, &method, m.amount_minor, &m.currency, metadata(m), &format!("{}-charge", m.idempotency_key)).await {
                Ok(pi) => {
                    let status = if pi.succeeded() { "paid" } else { "sent" };
                    set(store, m.id, &["pending"], status, &[("payment_intent_id", &pi.id)]).await
                }
                Err(e) => call_failed(store, m, e).await,
            }
        }
        _ => Ok(()),
    }
}

async fn call_failed(store: &Store, m: &Movement, e: CallError) -> Result<()> {
    match e {
        CallError::Transient(msg) => note(store, m.id, &msg).await,
        refused => fail(store, m, &refused.to_string()).await,
    }
}

/// Moves a row from one of `from` to `to`, setting `columns` (a whitelist of ours, never input).
/// A row that moved on meanwhile (a webhook got there first) is left as it is.
async fn set(store: &Store, id: i64, from: &[&str], to: &str, columns: &[(&str, &str)]) -> Result<()> {
    let now = hub_core::store::now_micros();
    with_pool!(store, pool => {
        let mut qb = sqlx::QueryBuilder::new("UPDATE stripe_movements SET status = ");
        qb.push_bind(to.to_string()).push(", updated_at = ").push_bind(now);
        for (col, val) in columns {
            debug_assert!(matches!(*col, "transfer_id" | "payout_id" | "payment_intent_id" | "last_error"));
            qb.push(format!(", {col} = ")).push_bind(val.to_string());
        }
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

/// Counts a failed attempt that may be retried.
async fn note(store: &Store, id: i64, error: &str) -> Result<()> {
    tracing::warn!(movement = id, %error, "Stripe call without a usable answer; `payout resume` retries it with the same key");
    with_pool!(store, pool => {
        sqlx::query("UPDATE stripe_movements SET attempts = attempts + 1, last_error = $1, updated_at = $2 WHERE id = $3")
            .bind(error).bind(hub_core::store::now_micros()).bind(id).execute(pool).await?;
    });
    Ok(())
}

/// Marks a pending row failed and reverses its ledger entry, in one transaction.
async fn fail(store: &Store, m: &Movement, error: &str) -> Result<()> {
    tracing::warn!(movement = m.id, %error, "Stripe refused; the movement is failed and its ledger entry reversed");
    let now = hub_core::store::now_micros();
    let kind: &'static str = if m.kind == "payout" { "payout" } else { "collection" };
    let sign = if m.kind == "payout" { -1 } else { 1 };
    let account = crate::ledger::Account::Party(hub_core::party::PartyKey::new(&m.country_code, &m.party_id)).name();
    let entry = NewEntry {
        kind: "payment-reversal",
        reference: format!("{kind}/statement/{}/reversal", m.statement_id),
        settlement_id: None,
        reverses_entry_id: Some(m.ledger_entry_id),
        effective_at: now,
        lines: vec![
            NewLine { account, currency: m.currency.clone(), kind, amount_e4: sign * m.amount_e4 },
            NewLine { account: STRIPE_ACCOUNT.to_string(), currency: m.currency.clone(), kind, amount_e4: -sign * m.amount_e4 },
        ],
    };
    let r: crate::ledger::Result<()> = with_pool!(store, pool => {
        async {
            let mut tx = pool.begin_with(begin_write(store)).await?;
            let claimed = sqlx::query("UPDATE stripe_movements SET status = 'failed', last_error = $1, attempts = attempts + 1, updated_at = $2 WHERE id = $3 AND status = 'pending'")
                .bind(error).bind(now).bind(m.id).execute(&mut *tx).await?.rows_affected();
            if claimed == 0 {
                return Ok(());
            }
            let entry_id = insert_entry!(tx, &entry, now);
            check_balanced!(tx, entry_id, entry_id);
            sqlx::query("UPDATE stripe_movements SET reversal_entry_id = $1 WHERE id = $2").bind(entry_id).bind(m.id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        }.await
    });
    Ok(r?)
}
