//! CLI verbs of Stripe Connect (`payment ...`, `payout ...`) and the `/stripe/webhooks` route of
//! `serve`; the work is in `clearing::payments`.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use clearing::payments::{Stripe, accounts, http, payouts};
use hub_core::party::PartyKey;
use ocpi_router::state::AppState;
use serde_json::{Value, json};

#[derive(Subcommand)]
pub enum PaymentCommand {
    /// Give a party a Stripe connected account (if it has none) and print an onboarding link:
    /// {"account": "acct_...", "url": "..."}.
    Connect(ConnectArgs),
    /// Set the Stripe customer and payment method that collections from a party charge.
    CollectMethod(CollectMethodArgs),
    /// A party's Stripe account as the hub knows it.
    Show(PartyArgs),
}

#[derive(Subcommand)]
pub enum PayoutCommand {
    /// Plan payouts/collections for the latest closed statements, then carry them out; prints
    /// what moved.
    Run,
    /// Carry out what an interrupted run left (same idempotency keys).
    Resume,
    /// List payouts and collections.
    List,
}

#[derive(Args)]
pub struct PartyArgs {
    #[arg(long)]
    country_code: String,
    #[arg(long)]
    party_id: String,
}

#[derive(Args)]
pub struct ConnectArgs {
    #[command(flatten)]
    party: PartyArgs,
    /// Where Stripe sends the partner when the link expired (default: the hub's public URL).
    #[arg(long)]
    refresh_url: Option<String>,
    /// Where Stripe sends the partner after onboarding (default: the hub's public URL).
    #[arg(long)]
    return_url: Option<String>,
}

#[derive(Args)]
pub struct CollectMethodArgs {
    #[command(flatten)]
    party: PartyArgs,
    /// Stripe customer id (cus_...).
    #[arg(long)]
    customer: String,
    /// Stripe payment method id (pm_...) attached to the customer.
    #[arg(long)]
    payment_method: String,
}

fn key(a: &PartyArgs) -> Result<PartyKey> {
    if a.country_code.len() != 2 || a.party_id.len() != 3 {
        bail!("--country-code takes 2 characters and --party-id 3");
    }
    Ok(PartyKey::new(&a.country_code.to_ascii_uppercase(), &a.party_id.to_ascii_uppercase()))
}

fn stripe(state: &AppState) -> Result<Stripe> {
    Stripe::new(&state.config.stripe).context("Stripe is not configured")
}

pub async fn payment(state: &AppState, cmd: PaymentCommand) -> Result<Value> {
    match cmd {
        PaymentCommand::Connect(a) => {
            let party = key(&a.party)?;
            let base = state.public_url.clone();
            let refresh = a.refresh_url.unwrap_or_else(|| format!("{base}/"));
            let ret = a.return_url.unwrap_or_else(|| format!("{base}/"));
            let c = accounts::connect(&state.store, &stripe(state)?, &party, &refresh, &ret).await?;
            Ok(json!({"account": c.account, "url": c.url, "created": c.created}))
        }
        PaymentCommand::CollectMethod(a) => {
            let party = key(&a.party)?;
            accounts::set_collection_method(&state.store, &party, &a.customer, &a.payment_method).await?;
            Ok(json!(accounts::get(&state.store, &party).await?))
        }
        PaymentCommand::Show(a) => {
            let party = key(&a)?;
            Ok(json!(accounts::get(&state.store, &party).await?))
        }
    }
}

pub async fn payout(state: &AppState, cmd: PayoutCommand) -> Result<Value> {
    match cmd {
        PayoutCommand::Run => Ok(json!(payouts::run(&state.store, &stripe(state)?).await?)),
        PayoutCommand::Resume => Ok(json!({"movements": payouts::resume(&state.store, &stripe(state)?).await?})),
        PayoutCommand::List => Ok(json!(payouts::list(&state.store, &[]).await?)),
    }
}

/// `/stripe/webhooks` when `stripe.webhook_secret` is set; nothing otherwise.
pub fn routes(state: &AppState) -> ocpi_router::ExtraRoutes {
    let secret = state.config.stripe.webhook_secret.clone().filter(|s| !s.is_empty());
    let store = state.store.clone();
    match secret {
        Some(secret) => {
            let ws = http::WebhookState::new(store, &secret);
            std::sync::Arc::new(move |cfg: &mut actix_web::web::ServiceConfig| http::configure(cfg, ws.clone()))
        }
        None => {
            tracing::info!("stripe.webhook_secret is not set: /stripe/webhooks is not served");
            std::sync::Arc::new(|_: &mut actix_web::web::ServiceConfig| {})
        }
    }
}
