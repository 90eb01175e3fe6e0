//! Stripe Connect payments (`clearing::payments`) with the production client (async-stripe)
//! against `stripe-fake` on a real socket, and the webhook resource on a real actix server; on
//! SQLite and (with `HUB_TEST_POSTGRES_URL`) PostgreSQL. `docs/stripe.md` says how to run the
//! client tests against Stripe's test mode.

mod db;

use std::collections::BTreeMap;

use clearing::ledger::statements::{self, Statement};
use clearing::ledger::{self, NewEntry, NewLine};
use clearing::payments::adhoc::{self, SessionRef};
use clearing::payments::client::CallError;
use clearing::payments::http::{self, WebhookState};
use clearing::payments::{PaymentsError, Stripe, accounts, payouts, webhooks};
use db::{d, for_each_backend};
use hub_core::config::StripeConfig;
use hub_core::party::PartyKey;
use hub_core::store::Store;
use stripe_fake::{FakeConfig, FakeStripe, Failure, signature_header};

fn nop(_: ledger::settle::Progress) {}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The fake, a webhook server for the store, and a client.
struct Env {
    fake: FakeStripe,
    server: actix_web::dev::ServerHandle,
    webhook_url: String,
}

impl Env {
    async fn start(store: Store) -> Env {
        let fake = FakeStripe::start(FakeConfig::default()).expect("fake starts");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = WebhookState::new(store.clone(), fake.webhook_secret());
        let server = actix_web::HttpServer::new(move || {
            let state = state.clone();
            actix_web::App::new().configure(move |cfg| http::configure(cfg, state.clone()))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        let webhook_url = format!("http://127.0.0.1:{port}/stripe/webhooks");
        fake.set_webhook_url(Some(webhook_url.clone()));
        Env { fake, server: handle, webhook_url }
    }

    /// A new client, as a restarted process makes.
    fn client(&self) -> Stripe {
        Stripe::new(&StripeConfig {
            api_base: self.fake.url().to_string(),
            secret_key: Some(self.fake.secret_key().to_string()),
            webhook_secret: Some(self.fake.webhook_secret().to_string()),
        })
        .unwrap()
    }

    async fn stop(self) {
        self.server.stop(false).await;
    }
}

fn party(cc: &str, pid: &str) -> PartyKey {
    PartyKey::new(cc, pid)
}

/// A CDR-like entry: `emsp` owes `cpo` `amount` in `currency`, effective in January 2026.
fn owed(n: usize, cpo: &PartyKey, emsp: &PartyKey, currency: &str, amount: &str) -> NewEntry {
    let e4 = ledger::to_e4(d(amount), "amount").unwrap();
    let name = |p: &PartyKey| ledger::Account::Party(p.clone()).name();
    NewEntry {
        kind: "cdr",
        reference: format!("test/{n}"),
        settlement_id: None,
        reverses_entry_id: None,
        effective_at: statements::parse_bound("2026-01-10").unwrap(),
        lines: vec![
            NewLine { account: name(emsp), currency: currency.into(), kind: "cdr", amount_e4: e4 },
            NewLine { account: name(cpo), currency: currency.into(), kind: "cdr", amount_e4: -e4 },
        ],
    }
}

async fn close_january(store: &Store) -> Vec<Statement> {
    let (from, to) = (statements::parse_bound("2026-01-01").unwrap(), statements::parse_bound("2026-02-01").unwrap());
    statements::close_period(store, from, to, &mut nop).await.unwrap().statements
}

async fn assert_ledger_balanced(store: &Store) {
    assert!(ledger::unbalanced_entries(store).await.unwrap().is_empty());
    let mut sums: BTreeMap<String, i64> = BTreeMap::new();
    for b in ledger::trial_balance(store).await.unwrap() {
        *sums.entry(b.currency).or_default() += b.balance_e4;
    }
    assert!(sums.values().all(|s| *s == 0), "{sums:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_production_client_against_the_fake() {
    for_each_backend(|store| async move {
        let env = Env::start(store.clone()).await;
        let stripe = env.client();
        let cpo = party("NL", "CPO");
        // Connect: an Express account stored for the party and an onboarding link; again: the same account.
        let c = accounts::connect(&store, &stripe, &cpo, "https://hub/refresh", "https://hub/return").await.unwrap();
        assert!(c.created && c.account.starts_with("acct_") && c.url.contains(&c.account), "{c:?}");
        let again = accounts::connect(&store, &stripe, &cpo, "https://hub/refresh", "https://hub/return").await.unwrap();
        assert_eq!((again.account.as_str(), again.created), (c.account.as_str(), false));
        assert_eq!(env.fake.with_state(|s| s.accounts.len()), 1);
        // Not onboarded: Stripe refuses a transfer.
        let e = stripe.transfer(1000, "EUR", &c.account, "g", Default::default(), "k-early").await.unwrap_err();
        assert_eq!(e.code(), Some("insufficient_capabilities_for_transfer"), "{e}");
        // The partner opens the link: account.updated reaches the webhook and the flags.
        reqwest::get(&c.url).await.unwrap().error_for_status().unwrap();
        env.fake.flush().await;
        let acct = accounts::get(&store, &cpo).await.unwrap().unwrap();
        assert!(acct.payouts_enabled && acct.details_submitted, "{acct:?}");
        assert!(stripe.retrieve_account(&c.account).await.unwrap().payouts_enabled);

        // Transfers in minor units: EUR cents, JPY whole yen, BHD thousandths ending in 0.
        let t1 = stripe.transfer(12345, "EUR", &c.account, "g1", Default::default(), "k-eur").await.unwrap();
        let t2 = stripe.transfer(5000, "JPY", &c.account, "g1", Default::default(), "k-jpy").await.unwrap();
        let t3 = stripe.transfer(12340, "BHD", &c.account, "g1", Default::default(), "k-bhd").await.unwrap();
        assert_eq!((t1.amount, t1.currency.as_str(), t2.currency.as_str(), t3.amount), (12345, "eur", "jpy", 12340));
        let e = stripe.transfer(12345, "BHD", &c.account, "g1", Default::default(), "k-bhd-bad").await.unwrap_err();
        assert_eq!(e.code(), Some("invalid_charge_amount_no_decimal_compatible"), "{e}");
        // Idempotent replay: same key and parameters → the same transfer, not a second one.
        let replay = stripe.transfer(12345, "EUR", &c.account, "g1", Default::default(), "k-eur").await.unwrap();
        assert_eq!(replay.id, t1.id);
        assert_eq!(env.fake.transfers().len(), 3);
        // Same key, other parameters: refused as Stripe does.
        match stripe.transfer(99, "EUR", &c.account, "g1", Default::default(), "k-eur").await {
            Err(CallError::Refused { status: 400, kind, .. }) => assert_eq!(kind, "idempotency_error"),
            other => panic!("expected an idempotency_error, got {other:?}"),
        }
        assert_eq!(stripe.retrieve_transfer(&t2.id).await.unwrap().amount, 5000);
        assert_eq!(stripe.list_transfers(Some(&c.account)).await.unwrap().len(), 3);
        // A payout on the connected account, from what the transfers gave it; not more.
        let po = stripe.payout(&c.account, 12345, "EUR", Default::default(), "k-po").await.unwrap();
        assert_eq!(stripe.retrieve_payout(&c.account, &po).await.unwrap(), "paid");
        let e = stripe.payout(&c.account, 1, "EUR", Default::default(), "k-po2").await.unwrap_err();
        assert_eq!(e.code(), Some("balance_insufficient"));

        // PaymentIntent with manual capture: authorize, capture less, no second capture.
        let pi = stripe.authorize("pm_card_visa", 2000, "EUR", Default::default(), "k-auth").await.unwrap();
        assert_eq!((pi.status.as_str(), pi.amount_capturable), ("requires_capture", 2000));
        let e = stripe.capture(&pi.id, 2001, "k-cap-too-much").await.unwrap_err();
        assert_eq!(e.code(), Some("amount_too_large"));
        let cap = stripe.capture(&pi.id, 1500, "k-cap").await.unwrap();
        assert_eq!((cap.status.as_str(), cap.amount_received), ("succeeded", 1500));
        assert_eq!(stripe.capture(&pi.id, 1500, "k-cap").await.unwrap(), cap, "replayed, not captured twice");
        assert_eq!(stripe.retrieve_intent(&pi.id).await.unwrap().amount_received, 1500);
        let pi2 = stripe.authorize("pm_card_visa", 700, "JPY", Default::default(), "k-auth2").await.unwrap();
        assert_eq!(stripe.cancel(&pi2.id, "k-cancel").await.unwrap().status, "canceled");
        let e = stripe.authorize("pm_card_chargeDeclined", 700, "EUR", Default::default(), "k-declined").await.unwrap_err();
        assert_eq!(e.code(), Some("card_declined"));

        // A wrong secret key: 401, refused.
        let wrong = Stripe::new(&StripeConfig { api_base: env.fake.url().into(), secret_key: Some("sk_test_wrong".into()), webhook_secret: None }).unwrap();
        assert!(matches!(wrong.retrieve_transfer(&t1.id).await, Err(CallError::Refused { status: 401, .. })));
        // No answer at all: transient.
        env.fake.inject(Failure::Before500, Some("/v1/transfers"), 1);
        assert!(stripe.transfer(100, "EUR", &c.account, "g", Default::default(), "k-500").await.unwrap_err().is_transient());
        env.fake.flush().await;
        assert!(env.fake.deliveries().iter().all(|d| d.status == Some(200)), "{:?}", env.fake.deliveries());
        env.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_anywhere_around_a_payout_moves_each_amount_once() {
    for_each_backend(|store| async move {
        let env = Env::start(store.clone()).await;
        let (a, b, c) = (party("NL", "AAA"), party("NL", "BBB"), party("BE", "CCC"));
        let emsp = party("DE", "EMS");
        ledger::post(&store, &[
            owed(1, &a, &emsp, "EUR", "100.0067"),
            owed(2, &a, &emsp, "EUR", "23.45"),
            owed(3, &b, &emsp, "JPY", "5000.5"),
            owed(4, &c, &emsp, "BHD", "12.3456"),
        ]).await.unwrap();
        let closed = close_january(&store).await;
        assert_eq!(closed.len(), 6, "{closed:?}");
        let stripe = env.client();
        for p in [&a, &b, &c] {
            let conn = accounts::connect(&store, &stripe, p, "https://hub/r", "https://hub/r").await.unwrap();
            assert!(env.fake.complete_onboarding(&conn.account));
        }
        accounts::set_collection_method(&store, &emsp, "cus_EMS", "pm_card_visa").await.unwrap();
        env.fake.flush().await;

        // 1. Crash before any Stripe call: the pending rows and their entries are all there is.
        let (planned, skipped) = payouts::plan(&store).await.unwrap();
        assert_eq!((planned.len(), skipped.len()), (6, 0), "{skipped:?}");
        assert!(env.fake.transfers().is_empty());
        assert_ledger_balanced(&store).await;
        // Planning again plans nothing.
        assert_eq!(payouts::plan(&store).await.unwrap().0.len(), 0);

        // 2. Restart: the first transfer is made but its answer lost, the second fails before
        //    Stripe does anything, and the first payout on a connected account is made but lost.
        env.fake.inject(Failure::DropAfterWork, Some("/v1/transfers"), 1);
        env.fake.inject(Failure::Before500, Some("/v1/transfers"), 1);
        env.fake.inject(Failure::DropAfterWork, Some("/v1/payouts"), 1);
        let after_first = payouts::resume(&store, &env.client()).await.unwrap();
        let open = after_first.iter().filter(|m| matches!(m.status.as_str(), "pending" | "transferred")).count();
        // A's transfer was made (answer lost), B's never reached Stripe, C's was made and
        // recorded; C's payout was made (answer lost; its `payout.paid` may have closed C).
        assert!(open >= 2, "{after_first:#?}");
        assert_eq!(env.fake.transfers().len(), 2);
        assert!(after_first.iter().any(|m| m.attempts > 0 && m.last_error.is_some()));
        // Webhooks arrive (some for calls whose answers were lost), twice more replayed.
        env.fake.flush().await;
        env.fake.replay_events();
        env.fake.replay_events();
        env.fake.flush().await;

        // 3. Restart again: everything finishes with the same keys.
        let after_second = payouts::resume(&store, &env.client()).await.unwrap();
        assert!(after_second.iter().all(|m| matches!(m.status.as_str(), "sent" | "paid")), "{after_second:#?}");
        env.fake.flush().await;
        env.fake.replay_events();
        env.fake.replay_events();
        env.fake.flush().await;
        assert!(payouts::resume(&store, &env.client()).await.unwrap().is_empty());
        let run = payouts::run(&store, &env.client()).await.unwrap();
        assert_eq!((run.planned, run.movements.len()), (0, 0));

        // Exactly one transfer per payout statement, for the right amount and account.
        let all = payouts::list(&store, &[]).await.unwrap();
        assert!(all.iter().all(|m| m.status == "paid"), "{all:#?}");
        let transfers = env.fake.transfers();
        let payout_rows: Vec<_> = all.iter().filter(|m| m.kind == "payout").collect();
        assert_eq!(transfers.len(), payout_rows.len());
        let expected: BTreeMap<&str, (i64, &str)> = BTreeMap::from([("AAA", (12345, "eur")), ("BBB", (5000, "jpy")), ("CCC", (12340, "bhd"))]);
        for m in &payout_rows {
            let mine: Vec<_> = transfers.iter().filter(|t| t["metadata"]["hub_movement_id"].as_str() == Some(m.id.to_string().as_str())).collect();
            assert_eq!(mine.len(), 1, "movement {} has {} transfers", m.id, mine.len());
            let (amount, cur) = expected[m.party_id.as_str()];
            assert_eq!((mine[0]["amount"].as_i64().unwrap(), mine[0]["currency"].as_str().unwrap()), (amount, cur));
            assert_eq!(mine[0]["destination"].as_str(), m.stripe_account_id.as_deref());
            assert_eq!(m.transfer_id.as_deref(), mine[0]["id"].as_str());
            assert!(m.payout_id.is_some());
        }
        // One payout per connected account, three collections charged once each.
        let (payouts_made, intents) = env.fake.with_state(|s| (s.payouts.len(), s.payment_intents.len()));
        assert_eq!((payouts_made, intents), (3, 3));
        // The ledger: balanced; each party owed only the remainder below Stripe's unit.
        assert_ledger_balanced(&store).await;
        let bal = |p: &PartyKey, cur: &'static str| { let s = store.clone(); let p = p.clone(); async move { ledger::balance(&s, &ledger::Account::Party(p), cur).await.unwrap() } };
        assert_eq!(bal(&a, "EUR").await, d("-0.0067"));
        assert_eq!(bal(&b, "JPY").await, d("-0.5"));
        assert_eq!(bal(&c, "BHD").await, d("-0.0056"));
        assert_eq!(bal(&emsp, "EUR").await, d("0.0067"));
        // Every event delivered and accepted; each event id processed once.
        assert!(env.fake.deliveries().iter().all(|d| d.status == Some(200)));
        let events = env.fake.events().len();
        let stored: i64 = match store.db() {
            hub_core::store::Db::Sqlite(p) => sqlx::query_scalar("SELECT COUNT(*) FROM stripe_events").fetch_one(p).await.unwrap(),
            hub_core::store::Db::Postgres(p) => sqlx::query_scalar("SELECT COUNT(*) FROM stripe_events").fetch_one(p).await.unwrap(),
        };
        assert_eq!(stored as usize, events);
        env.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parties_without_accounts_are_skipped_and_a_declined_collection_is_reversed() {
    for_each_backend(|store| async move {
        let env = Env::start(store.clone()).await;
        let (a, emsp) = (party("NL", "AAA"), party("DE", "EMS"));
        ledger::post(&store, &[owed(1, &a, &emsp, "EUR", "10")]).await.unwrap();
        close_january(&store).await;
        let stripe = env.client();
        // Not connected / not onboarded: skipped, nothing written.
        let (planned, skipped) = payouts::plan(&store).await.unwrap();
        assert_eq!(planned.len(), 0);
        assert!(skipped.iter().any(|s| s.party_id == "AAA" && s.reason.contains("payment connect")), "{skipped:?}");
        assert!(skipped.iter().any(|s| s.party_id == "EMS" && s.reason.contains("collect")), "{skipped:?}");
        let conn = accounts::connect(&store, &stripe, &a, "https://hub/r", "https://hub/r").await.unwrap();
        env.fake.complete_onboarding(&conn.account);
        env.fake.flush().await;
        // A declined card for the eMSP: the collection fails and its entry is reversed.
        accounts::set_collection_method(&store, &emsp, "cus_EMS", "pm_card_chargeDeclined").await.unwrap();
        let (ids, _) = payouts::plan(&store).await.unwrap();
        assert_eq!(ids.len(), 2);
        let report = payouts::resume(&store, &stripe).await.unwrap();
        let collection = report.iter().find(|m| m.kind == "collection").unwrap();
        assert_eq!(collection.status, "failed");
        assert!(collection.last_error.as_deref().unwrap().contains("card_declined"));
        assert!(collection.reversal_entry_id.is_some());
        assert_eq!(ledger::balance(&store, &ledger::Account::Party(emsp.clone()), "EUR").await.unwrap(), d("10"));
        let payout = report.iter().find(|m| m.kind == "payout").unwrap();
        assert!(matches!(payout.status.as_str(), "sent" | "paid"), "{payout:?}");
        assert_ledger_balanced(&store).await;
        env.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_verified_and_deduplicated() {
    for_each_backend(|store| async move {
        let env = Env::start(store.clone()).await;
        let stripe = env.client();
        let a = party("NL", "AAA");
        let conn = accounts::connect(&store, &stripe, &a, "https://hub/r", "https://hub/r").await.unwrap();
        env.fake.set_webhook_url(None);
        env.fake.complete_onboarding(&conn.account);
        let event = env.fake.events().pop().unwrap();
        let secret = env.fake.webhook_secret().to_string();
        let t = now();
        // Good: applied once; the same event again changes nothing.
        let good = signature_header(&secret, &event.payload, t);
        let h = webhooks::handle(&store, &secret, Some(&good), &event.payload, t).await.unwrap();
        assert!(!h.duplicate && h.effect.contains("payouts_enabled=true"), "{h:?}");
        let again = webhooks::handle(&store, &secret, Some(&good), &event.payload, t).await.unwrap();
        assert!(again.duplicate);
        assert!(accounts::get(&store, &a).await.unwrap().unwrap().payouts_enabled);
        // Bad: another secret, a changed payload, a stale or future timestamp, no header.
        let other = signature_header("whsec_other", &event.payload, t);
        assert!(matches!(webhooks::handle(&store, &secret, Some(&other), &event.payload, t).await, Err(webhooks::WebhookError::Signature(_))));
        let tampered = event.payload.replace("true", "false");
        assert!(matches!(webhooks::handle(&store, &secret, Some(&good), &tampered, t).await, Err(webhooks::WebhookError::Signature(_))));
        let stale = signature_header(&secret, &event.payload, t - 301);
        assert!(matches!(webhooks::handle(&store, &secret, Some(&stale), &event.payload, t).await, Err(webhooks::WebhookError::Signature(_))));
        let future = signature_header(&secret, &event.payload, t + 301);
        assert!(matches!(webhooks::handle(&store, &secret, Some(&future), &event.payload, t).await, Err(webhooks::WebhookError::Signature(_))));
        assert!(matches!(webhooks::handle(&store, &secret, None, &event.payload, t).await, Err(webhooks::WebhookError::Signature(_))));
        let junk = "{\"not\": \"an event\"}";
        let signed_junk = signature_header(&secret, junk, t);
        assert!(matches!(webhooks::handle(&store, &secret, Some(&signed_junk), junk, t).await, Err(webhooks::WebhookError::Payload(_))));
        // Over HTTP: 400 for a bad signature, 200 (duplicate) for a replay, 405 for GET.
        let http = reqwest::Client::new();
        let post = |sig: String, body: String| http.post(&env.webhook_url).header("Stripe-Signature", sig).body(body).send();
        assert_eq!(post(other.clone(), event.payload.clone()).await.unwrap().status().as_u16(), 400);
        let replayed = post(signature_header(&secret, &event.payload, now()), event.payload.clone()).await.unwrap();
        assert_eq!(replayed.status().as_u16(), 200);
        assert_eq!(replayed.json::<serde_json::Value>().await.unwrap()["duplicate"], true);
        assert_eq!(http.get(&env.webhook_url).send().await.unwrap().status().as_u16(), 405);
        env.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drivers_payment_is_authorized_then_captured_once_for_the_cdr() {
    for_each_backend(|store| async move {
        let env = Env::start(store.clone()).await;
        let stripe = env.client();
        let s = SessionRef { cpo: party("NL", "CPO"), session_id: "S1".into() };
        let p = adhoc::authorize(&store, &stripe, &s, d("30"), "EUR", "pm_card_visa").await.unwrap();
        assert_eq!((p.status.as_str(), p.authorized_minor), ("authorized", 3000));
        // Again: the same payment, no second PaymentIntent.
        assert_eq!(adhoc::authorize(&store, &stripe, &s, d("30"), "EUR", "pm_card_visa").await.unwrap().id, p.id);
        assert_eq!(env.fake.with_state(|st| st.payment_intents.len()), 1);
        assert!(matches!(adhoc::capture(&store, &stripe, &s, d("30.01")).await, Err(PaymentsError::Invalid(_))));
        // The capture's answer is lost; the call again captures once, for the same amount.
        env.fake.inject(Failure::DropAfterWork, Some("/v1/payment_intents"), 1);
        assert!(adhoc::capture(&store, &stripe, &s, d("12.345")).await.is_err());
        // Another amount while one is under way (or done, if the webhook got there first): refused.
        assert!(matches!(adhoc::capture(&store, &stripe, &s, d("12.00")).await, Err(PaymentsError::Invalid(_))));
        let captured = adhoc::capture(&store, &stripe, &s, d("12.345")).await.unwrap();
        assert_eq!((captured.status.as_str(), captured.captured_minor), ("captured", Some(1235)));
        env.fake.flush().await;
        env.fake.replay_events();
        env.fake.flush().await;
        assert_eq!(ledger::balance(&store, &ledger::Account::Party(party("NL", "CPO")), "EUR").await.unwrap(), d("0"));
        let adhoc_total: i64 = ledger::trial_balance(&store).await.unwrap().iter().filter(|b| b.account == "drivers:adhoc").map(|b| b.balance_e4).sum();
        assert_eq!(ledger::from_e4(adhoc_total), d("-12.35"));
        assert_ledger_balanced(&store).await;
        assert_eq!(adhoc::capture(&store, &stripe, &s, d("12.345")).await.unwrap(), captured);

        // Zero-decimal currency, and a session without anything to pay: released.
        let s2 = SessionRef { cpo: party("NL", "CPO"), session_id: "S2".into() };
        let p2 = adhoc::authorize(&store, &stripe, &s2, d("1500.2"), "JPY", "pm_card_visa").await.unwrap();
        assert_eq!(p2.authorized_minor, 1501);
        assert_eq!(adhoc::capture(&store, &stripe, &s2, d("0")).await.unwrap().status, "canceled");
        // A declined card.
        let s3 = SessionRef { cpo: party("NL", "CPO"), session_id: "S3".into() };
        let e = adhoc::authorize(&store, &stripe, &s3, d("5"), "EUR", "pm_card_chargeDeclined").await.unwrap_err();
        assert!(matches!(&e, PaymentsError::Stripe(c) if c.code() == Some("card_declined")), "{e}");
        assert_eq!(adhoc::get(&store, &s3).await.unwrap().unwrap().status, "failed");
        env.stop().await;
    })
    .await;
}
