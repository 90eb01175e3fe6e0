//! Money that leaves or enters the hub through Stripe Connect (issue 5), on top of the ledger.
//!
//! - [`minor`]: amounts in Stripe's minor units per currency (not always ISO's), with explicit
//!   rounding.
//! - [`client`]: the production Stripe client (async-stripe) behind a few calls; every call that
//!   changes something carries an idempotency key derived from our own ids.
//! - [`accounts`]: a party connects its payment account (an Express connected account and an
//!   account link), or is given the customer and payment method collections charge.
//! - [`payouts`]: for each party's latest closed statement, a payout (transfer to its connected
//!   account, then a payout there) or a collection (a PaymentIntent on its payment method). The
//!   pending row and its ledger entry are written in one transaction, the Stripe calls after
//!   it; [`payouts::resume`] finishes whatever a crash left, with the same keys.
//! - [`webhooks`]: verified (signature and timestamp), deduplicated by event id, applied.
//! - [`adhoc`]: a driver's PaymentIntent authorized at session start and captured for the CDR.
//! - [`http`]: `POST /stripe/webhooks` as an actix-web resource.
//!
//! Tables: `migrations/*/20261121000007_stripe.sql`. How to run the tests against Stripe's test
//! mode: `docs/stripe.md`.

pub mod accounts;
pub mod adhoc;
pub mod client;
pub mod http;
pub mod minor;
pub mod payouts;
pub mod webhooks;

pub use client::{CallError, Stripe};

use crate::ledger::ClearingError;

/// Why a payments operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    #[error(transparent)]
    Clearing(#[from] ClearingError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Stripe is not configured (no `stripe.secret_key`) or the configuration is unusable.
    #[error("stripe configuration: {0}")]
    Config(String),
    /// A Stripe call failed; see [`CallError`] for whether it may be retried.
    #[error("stripe: {0}")]
    Stripe(#[from] CallError),
    /// Bad input (an amount, a party without an account, ...).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Minor(#[from] minor::MinorError),
}

pub type Result<T> = std::result::Result<T, PaymentsError>;

/// The ledger account of the hub's money at Stripe: debit when money comes in (collections,
/// drivers' payments), credit when it goes out (transfers to connected accounts).
pub const STRIPE_ACCOUNT: &str = "processor:stripe";
/// Drivers' ad-hoc payments received for sessions, until matched with the session's CDR.
pub const ADHOC_ACCOUNT: &str = "drivers:adhoc";
