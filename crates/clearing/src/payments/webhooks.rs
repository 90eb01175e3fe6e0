//! Stripe webhook events: verified, deduplicated, applied.
//!
//! - Verification is async-stripe-webhook's (`Webhook::construct_event_with_timestamp`):
//!   HMAC-SHA256 of `"{t}.{payload}"` with the endpoint secret, compared in constant time
//!   against each `v1` signature of the `Stripe-Signature` header, and `t` within 300 s of
//!   now. Then the payload is parsed into Stripe's typed event.
//! - Deduplication: the event id is inserted into `stripe_events` in the same transaction as
//!   the event's effect; an id seen before changes nothing (Stripe delivers at least once and
//!   replays on demand).
//! - Effects are monotonic (a status only moves forward) and matched by the metadata the hub
//!   put on the object (`hub_movement_id`, `hub_adhoc_id`), so an event arriving before the API
//!   answer was recorded (or instead of it, after a crash) is applied correctly:
//!   `transfer.created` → movement `transferred`; `payout.paid` → `paid`; `payment_intent.*`
//!   for a collection → `paid` / for an ad-hoc payment: authorized, captured (ledger entry
//!   posted once) or canceled; `account.updated` → the party's account flags.
//!   Other event types are recorded and ignored.

use hub_core::store::Store;
use serde::Serialize;
use sqlx::Row;
use stripe_webhook::{EventObject, Webhook, WebhookError as SigError};

use crate::ledger::{ClearingError, begin_write, check_balanced, insert_entry, with_pool};

/// Why an event was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Bad or missing signature, or a timestamp outside the tolerance: HTTP 400.
    #[error("signature: {0}")]
    Signature(String),
    /// Signed, but not an event we can read: HTTP 400.
    #[error("payload: {0}")]
    Payload(String),
    /// Our side failed: HTTP 500, Stripe retries later.
    #[error(transparent)]
    Clearing(#[from] ClearingError),
}

impl From<sqlx::Error> for WebhookError {
    fn from(e: sqlx::Error) -> Self {
        WebhookError::Clearing(ClearingError::Db(e))
    }
}

/// What happened to an accepted event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handled {
    pub event_id: String,
    pub event_type: String,
    /// Seen before: nothing was changed.
    pub duplicate: bool,
    /// What it changed (for logs and tests).
    pub effect: String,
}

/// What an event asks of our tables.
enum Effect {
    Movement { id: i64, from: &'static [&'static str], to: &'static str, column: &'static str, value: String },
    AdhocAuthorized { id: i64, intent: String, capturable: i64 },
    AdhocCaptured { id: i64, intent: String, received: i64 },
    AdhocCanceled { id: i64 },
    Account { account: String, details: bool, charges: bool, payouts: bool },
    Nothing,
}

fn meta_id(m: Option<&std::collections::HashMap<String, String>>, key: &str) -> Option<i64> {
    m.and_then(|m| m.get(key)).and_then(|v| v.parse().ok())
}

fn effect_of(object: &EventObject) -> Effect {
    match object {
        EventObject::TransferCreated(t) => match meta_id(Some(&t.metadata), "hub_movement_id") {
            Some(id) => Effect::Movement { id, from: &["pending"], to: "transferred", column: "transfer_id", value: t.id.as_str().to_string() },
            None => Effect::Nothing,
        },
        EventObject::PayoutPaid(p) => match meta_id(p.metadata.as_ref(), "hub_movement_id") {
            Some(id) => Effect::Movement { id, from: &["pending", "transferred", "sent"], to: "paid", column: "payout_id", value: p.id.as_str().to_string() },
            None => Effect::Nothing,
        },
        EventObject::PaymentIntentSucceeded(pi) => {
            if let Some(id) = meta_id(Some(&pi.metadata), "hub_movement_id") {
                Effect::Movement { id, from: &["pending", "sent"], to: "paid", column: "payment_intent_id", value: pi.id.as_str().to_string() }
            } else if let Some(id) = meta_id(Some(&pi.metadata), "hub_adhoc_id") {
                Effect::AdhocCaptured { id, intent: pi.id.as_str().to_string(), received: pi.amount_received }
            } else {
                Effect::Nothing
            }
        }
        EventObject::PaymentIntentAmountCapturableUpdated(pi) => match meta_id(Some(&pi.metadata), "hub_adhoc_id") {
            Some(id) => Effect::AdhocAuthorized { id, intent: pi.id.as_str().to_string(), capturable: pi.amount_capturable },
            None => Effect::Nothing,
        },
        EventObject::PaymentIntentCanceled(pi) => match meta_id(Some(&pi.metadata), "hub_adhoc_id") {
            Some(id) => Effect::AdhocCanceled { id },
            None => Effect::Nothing,
        },
        EventObject::AccountUpdated(a) => Effect::Account {
            account: a.id.as_str().to_string(),
            details: a.details_submitted.unwrap_or(false),
            charges: a.charges_enabled.unwrap_or(false),
            payouts: a.payouts_enabled.unwrap_or(false),
        },
        _ => Effect::Nothing,
    }
}

/// Verifies and applies one delivery. `now`: Unix seconds (the timestamp check).
pub async fn handle(store: &Store, secret: &str, signature: Option<&str>, payload: &str, now: i64) -> Result<Handled, WebhookError> {
    let signature = signature.ok_or_else(|| WebhookError::Signature("no Stripe-Signature header".into()))?;
    let event = Webhook::construct_event_with_timestamp(payload, signature, secret, now).map_err(|e| match e {
        SigError::BadParse(m) => WebhookError::Payload(m),
        SigError::BadTimestamp(t) => WebhookError::Signature(format!("timestamp {t} is more than 300 s away from now")),
        other => WebhookError::Signature(other.to_string()),
    })?;
    let event_id = event.id.as_str().to_string();
    let event_type = event.type_.as_str().to_string();
    let effect = effect_of(&event.data.object);
    let received_at = hub_core::store::now_micros();
    let result: crate::ledger::Result<Handled> = with_pool!(store, pool => {
        async {
            let mut tx = pool.begin_with(begin_write(store)).await?;
            let fresh = sqlx::query("INSERT INTO stripe_events (id, type, effect, received_at) VALUES ($1, $2, '', $3) ON CONFLICT (id) DO NOTHING")
                .bind(&event_id).bind(&event_type).bind(received_at).execute(&mut *tx).await?.rows_affected();
            if fresh == 0 {
                tx.rollback().await?;
                return Ok(Handled { event_id: event_id.clone(), event_type: event_type.clone(), duplicate: true, effect: "none (seen before)".into() });
            }
            let now = received_at;
            let text = match &effect {
                Effect::Nothing => "none".to_string(),
                Effect::Movement { id, from, to, column, value } => {
                    let list = from.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
                    let sql = format!("UPDATE stripe_movements SET status = $1, {column} = COALESCE({column}, $2), updated_at = $3 WHERE id = $4 AND status IN ({list})");
                    let n = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(*to).bind(value).bind(now).bind(*id).execute(&mut *tx).await?.rows_affected();
                    if n > 0 { format!("movement {id} -> {to}") } else { format!("movement {id} unchanged") }
                }
                Effect::AdhocAuthorized { id, intent, capturable } => {
                    let n = sqlx::query("UPDATE adhoc_payments SET status = 'authorized', payment_intent_id = COALESCE(payment_intent_id, $1), authorized_minor = $2, updated_at = $3 WHERE id = $4 AND status = 'pending'")
                        .bind(intent).bind(*capturable).bind(now).bind(*id).execute(&mut *tx).await?.rows_affected();
                    if n > 0 { format!("adhoc {id} -> authorized") } else { format!("adhoc {id} unchanged") }
                }
                Effect::AdhocCanceled { id } => {
                    let n = sqlx::query("UPDATE adhoc_payments SET status = 'canceled', updated_at = $1 WHERE id = $2 AND status IN ('pending', 'authorized', 'canceling')")
                        .bind(now).bind(*id).execute(&mut *tx).await?.rows_affected();
                    if n > 0 { format!("adhoc {id} -> canceled") } else { format!("adhoc {id} unchanged") }
                }
                Effect::AdhocCaptured { id, intent, received } => {
                    // Claim the row first (see `adhoc::record_capture`): one entry, whoever is first.
                    let claimed = sqlx::query("UPDATE adhoc_payments SET status = 'captured', captured_minor = $1, updated_at = $2 WHERE id = $3 AND status <> 'captured'")
                        .bind(*received).bind(now).bind(*id).execute(&mut *tx).await?.rows_affected();
                    let row = if claimed == 0 { None } else {
                        sqlx::query("SELECT country_code, party_id, session_id, currency FROM adhoc_payments WHERE id = $1")
                            .bind(*id).fetch_optional(&mut *tx).await?
                    };
                    match row {
                        Some(r) => {
                            let p = super::adhoc::CaptureFacts {
                                id: *id,
                                country_code: r.try_get("country_code")?,
                                party_id: r.try_get("party_id")?,
                                session_id: r.try_get("session_id")?,
                                currency: r.try_get("currency")?,
                            };
                            let entry = p.entry(*received, now)?;
                            let entry_id = insert_entry!(tx, &entry, now);
                            check_balanced!(tx, entry_id, entry_id);
                            sqlx::query("UPDATE adhoc_payments SET payment_intent_id = COALESCE(payment_intent_id, $1), ledger_entry_id = $2 WHERE id = $3")
                                .bind(intent).bind(entry_id).bind(*id).execute(&mut *tx).await?;
                            format!("adhoc {id} -> captured (ledger entry {entry_id})")
                        }
                        _ => format!("adhoc {id} unchanged"),
                    }
                }
                Effect::Account { account, details, charges, payouts } => {
                    let n = sqlx::query("UPDATE payment_accounts SET details_submitted = $1, charges_enabled = $2, payouts_enabled = $3, updated_at = $4 WHERE stripe_account_id = $5")
                        .bind(i64::from(*details)).bind(i64::from(*charges)).bind(i64::from(*payouts)).bind(now).bind(account)
                        .execute(&mut *tx).await?.rows_affected();
                    if n > 0 { format!("account {account} payouts_enabled={payouts}") } else { format!("account {account} unknown") }
                }
            };
            sqlx::query("UPDATE stripe_events SET effect = $1 WHERE id = $2").bind(&text).bind(&event_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Handled { event_id: event_id.clone(), event_type: event_type.clone(), duplicate: false, effect: text })
        }.await
    });
    Ok(result?)
}
