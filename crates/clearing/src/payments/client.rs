//! The production Stripe client (async-stripe 1.0.0-rc.10) behind the few calls the hub makes.
//!
//! - The base URL comes from `stripe.api_base` (`ClientBuilder::url`), so tests run this very
//!   code against `stripe-fake`.
//! - Every call that creates or changes something takes an idempotency key from the caller,
//!   derived from our own ledger ids and stored before the call: async-stripe's own retry
//!   strategies would send a fresh random key (or none), which is no protection across a crash.
//!   Each call is sent once (`RequestStrategy::Idempotent`); retrying is the caller's business
//!   ([`super::payouts::resume`]), with the same key.
//! - Errors are sorted into [`CallError::Transient`] (no answer, 409/429/5xx: the call may or
//!   may not have happened; retry with the same key) and [`CallError::Refused`] (a 4xx: the same
//!   key would get the same answer).

use std::collections::HashMap;
use std::time::Duration;

use hub_core::config::StripeConfig;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_connect::account::{CreateAccount, CreateAccountType, RetrieveAccount};
use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
use stripe_connect::transfer::{CreateTransfer, ListTransfer, RetrieveTransfer};
use stripe_core::payment_intent::{
    CancelPaymentIntent, CapturePaymentIntent, CreatePaymentIntent, CreatePaymentIntentOffSession, RetrievePaymentIntent,
};
use stripe_core::payout::{CreatePayout, RetrievePayout};
use stripe_core::{PaymentIntent, PaymentIntentCaptureMethod, PaymentIntentStatus, Payout};
use stripe_types::Currency;

use super::PaymentsError;

/// How a Stripe call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No usable answer (connection, timeout, 409, 429, 5xx): it may have happened; retry with
    /// the same idempotency key.
    #[error("no usable answer from Stripe (retry with the same key): {0}")]
    Transient(String),
    /// Stripe refused the request; the same key would get the same answer.
    #[error("Stripe refused ({status} {kind}{}): {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Refused { status: u16, kind: String, code: Option<String>, message: String },
}

impl CallError {
    pub fn is_transient(&self) -> bool {
        matches!(self, CallError::Transient(_))
    }

    /// Stripe's error code (`card_declined`, `resource_missing`, ...), for a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            CallError::Refused { code, .. } => code.as_deref(),
            CallError::Transient(_) => None,
        }
    }
}

impl From<StripeError> for CallError {
    fn from(e: StripeError) -> Self {
        match e {
            StripeError::Stripe(err, status) if !matches!(status, 409 | 429 | 500..=599) => CallError::Refused {
                status,
                kind: err.type_.as_str().to_string(),
                code: err.code.as_ref().map(|c| c.as_str().to_string()),
                message: err.message.unwrap_or_default(),
            },
            StripeError::Stripe(err, status) => CallError::Transient(format!("{status}: {}", err.message.unwrap_or_default())),
            other => CallError::Transient(other.to_string()),
        }
    }
}

/// The parts of a PaymentIntent the hub uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
    /// Stripe's status (`requires_capture`, `succeeded`, ...).
    pub status: String,
    pub amount: i64,
    pub amount_capturable: i64,
    pub amount_received: i64,
}

impl From<PaymentIntent> for Intent {
    fn from(pi: PaymentIntent) -> Self {
        Intent {
            id: pi.id.as_str().to_string(),
            status: pi.status.as_str().to_string(),
            amount: pi.amount,
            amount_capturable: pi.amount_capturable,
            amount_received: pi.amount_received,
        }
    }
}

impl Intent {
    pub fn succeeded(&self) -> bool {
        self.status == PaymentIntentStatus::Succeeded.as_str()
    }
}

/// The parts of a transfer the hub uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferInfo {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub destination: Option<String>,
    pub metadata: HashMap<String, String>,
}

/// A connected account's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub id: String,
    pub details_submitted: bool,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
}

/// The hub's Stripe client.
#[derive(Clone)]
pub struct Stripe {
    client: Client,
}

impl std::fmt::Debug for Stripe {
    // async-stripe's client holds the secret key as a (sensitive) header value; print nothing of it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stripe").finish_non_exhaustive()
    }
}

fn key(k: &str) -> Result<RequestStrategy, CallError> {
    IdempotencyKey::new(k)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| CallError::Refused { status: 0, kind: "client".into(), code: None, message: e.to_string() })
}

fn currency(c: &str) -> Result<Currency, CallError> {
    let lower = super::minor::api_currency(c).map_err(|e| CallError::Refused { status: 0, kind: "client".into(), code: None, message: e.to_string() })?;
    let Ok(c) = lower.parse::<Currency>();
    Ok(c)
}

impl Stripe {
    /// A client for `config` (`stripe.api_base`, `stripe.secret_key`).
    pub fn new(config: &StripeConfig) -> Result<Stripe, PaymentsError> {
        let secret = config.secret_key.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| {
            PaymentsError::Config("stripe.secret_key is not set (HUB__STRIPE__SECRET_KEY)".into())
        })?;
        let mut base = config.api_base.trim().to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        let client = ClientBuilder::new(secret)
            .url(base)
            .timeout(Duration::from_secs(30))
            .app_info("ocpi-hub", Some(env!("CARGO_PKG_VERSION").to_string()), None)
            .build()
            .map_err(|e| PaymentsError::Config(e.to_string()))?;
        Ok(Stripe { client })
    }

    /// Creates an Express connected account for a party.
    pub async fn create_account(&self, country: &str, metadata: HashMap<String, String>, idempotency_key: &str) -> Result<String, CallError> {
        let req = CreateAccount::new().type_(CreateAccountType::Express).country(country).metadata(metadata);
        let acct = req.customize().request_strategy(key(idempotency_key)?).send(&self.client).await?;
        Ok(acct.id.as_str().to_string())
    }

    pub async fn retrieve_account(&self, account: &str) -> Result<AccountInfo, CallError> {
        let a = RetrieveAccount::new(account).send(&self.client).await?;
        Ok(AccountInfo {
            id: a.id.as_str().to_string(),
            details_submitted: a.details_submitted.unwrap_or(false),
            charges_enabled: a.charges_enabled.unwrap_or(false),
            payouts_enabled: a.payouts_enabled.unwrap_or(false),
        })
    }

    /// An onboarding link for a connected account (short-lived: create one per visit).
    pub async fn account_link(&self, account: &str, refresh_url: &str, return_url: &str) -> Result<String, CallError> {
        let req = CreateAccountLink::new(account, CreateAccountLinkType::AccountOnboarding).refresh_url(refresh_url).return_url(return_url);
        Ok(req.send(&self.client).await?.url)
    }

    /// A transfer from the platform's balance to a connected account.
    pub async fn transfer(
        &self,
        amount_minor: i64,
        currency_code: &str,
        destination: &str,
        transfer_group: &str,
        metadata: HashMap<String, String>,
        idempotency_key: &str,
    ) -> Result<TransferInfo, CallError> {
        let req = CreateTransfer::new(currency(currency_code)?, destination).amount(amount_minor).transfer_group(transfer_group).metadata(metadata);
        let t = req.customize().request_strategy(key(idempotency_key)?).send(&self.client).await?;
        Ok(transfer_info(t))
    }

    pub async fn retrieve_transfer(&self, id: &str) -> Result<TransferInfo, CallError> {
        Ok(transfer_info(RetrieveTransfer::new(id).send(&self.client).await?))
    }

    /// Transfers to `destination` (newest first, up to 100).
    pub async fn list_transfers(&self, destination: Option<&str>) -> Result<Vec<TransferInfo>, CallError> {
        let mut req = ListTransfer::new().limit(100);
        if let Some(d) = destination {
            req = req.destination(d);
        }
        Ok(req.send(&self.client).await?.data.into_iter().map(transfer_info).collect())
    }

    /// A payout on a connected account (`Stripe-Account`), from the balance a transfer gave it.
    pub async fn payout(
        &self,
        account: &str,
        amount_minor: i64,
        currency_code: &str,
        metadata: HashMap<String, String>,
        idempotency_key: &str,
    ) -> Result<String, CallError> {
        let req = CreatePayout::new(amount_minor, currency(currency_code)?).metadata(metadata);
        let p: Payout = req
            .customize()
            .request_strategy(key(idempotency_key)?)
            .account_id(account.parse().map_err(|_| CallError::Transient("bad account id".into()))?)
            .send(&self.client)
            .await?;
        Ok(p.id.as_str().to_string())
    }

    /// A payout's status (`paid`, `pending`, `failed`, ...) on a connected account.
    pub async fn retrieve_payout(&self, account: &str, id: &str) -> Result<String, CallError> {
        let p = RetrievePayout::new(id)
            .customize()
            .account_id(account.parse().map_err(|_| CallError::Transient("bad account id".into()))?)
            .send(&self.client)
            .await?;
        Ok(p.status)
    }

    /// Charges a stored customer's payment method off-session, captured at once (collections).
    pub async fn charge(
        &self,
        customer: &str,
        payment_method: &str,
        amount_minor: i64,
        currency_code: &str,
        metadata: HashMap<String, String>,
        idempotency_key: &str,
    ) -> Result<Intent, CallError> {
        let req = CreatePaymentIntent::new(amount_minor, currency(currency_code)?)
            .customer(customer)
            .payment_method(payment_method)
            .confirm(true)
            .off_session(CreatePaymentIntentOffSession::Bool(true))
            .metadata(metadata);
        Ok(req.customize().request_strategy(key(idempotency_key)?).send(&self.client).await?.into())
    }

    /// Authorizes `amount_minor` on a payment method, to be captured later (manual capture).
    pub async fn authorize(
        &self,
        payment_method: &str,
        amount_minor: i64,
        currency_code: &str,
        metadata: HashMap<String, String>,
        idempotency_key: &str,
    ) -> Result<Intent, CallError> {
        let req = CreatePaymentIntent::new(amount_minor, currency(currency_code)?)
            .capture_method(PaymentIntentCaptureMethod::Manual)
            .payment_method(payment_method)
            .confirm(true)
            .metadata(metadata);
        Ok(req.customize().request_strategy(key(idempotency_key)?).send(&self.client).await?.into())
    }

    /// Captures `amount_minor` (at most what was authorized) of an authorized PaymentIntent.
    pub async fn capture(&self, intent: &str, amount_minor: i64, idempotency_key: &str) -> Result<Intent, CallError> {
        let req = CapturePaymentIntent::new(intent).amount_to_capture(amount_minor);
        Ok(req.customize().request_strategy(key(idempotency_key)?).send(&self.client).await?.into())
    }

    /// Releases an authorization.
    pub async fn cancel(&self, intent: &str, idempotency_key: &str) -> Result<Intent, CallError> {
        let req = CancelPaymentIntent::new(intent);
        Ok(req.customize().request_strategy(key(idempotency_key)?).send(&self.client).await?.into())
    }

    pub async fn retrieve_intent(&self, intent: &str) -> Result<Intent, CallError> {
        Ok(RetrievePaymentIntent::new(intent).send(&self.client).await?.into())
    }
}

fn transfer_info(t: stripe_connect::Transfer) -> TransferInfo {
    TransferInfo {
        id: t.id.as_str().to_string(),
        amount: t.amount,
        currency: t.currency.to_string(),
        destination: t.destination.map(|d| d.id().as_str().to_string()),
        metadata: t.metadata,
    }
}
