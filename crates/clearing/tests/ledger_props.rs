//! Property test of the ledger and settlement (issue 5, acceptance 2): over random CDRs (three
//! currencies, three CPOs, two eMSPs, rated against a tariff the hub holds or unrated with
//! random totals and VAT, some off the tariff and held), credit CDRs (exact reversals, and some
//! with a wrong amount, held), random fee contracts, CDRs arriving in waves between settlement
//! runs over random consecutive periods, and random settling batch sizes:
//!
//! - every entry sums to zero per currency, and so does the whole ledger (trial balance);
//! - every settled CDR is in exactly one statement of its CPO and one of its eMSP, with its
//!   fees in the statements of the parties that pay them; held CDRs are in none;
//! - each statement's figures (CDR count, kWh, net, VAT, gross, fees, credits, movement) add up
//!   to its lines, and each line is what the model computed here from the CDR and the fee
//!   contract; openings chain to the previous closing and the last closing is the account's
//!   balance.
//!
//! Many small cases on SQLite, a few on PostgreSQL (`HUB_TEST_POSTGRES_URL`), and one case of
//! 100 000 CDRs on SQLite (a temp file), which runs in CI.

mod db;

use clearing::ledger::settle::{self, SettleOptions};
use clearing::ledger::statements::{self, StatementFilter};
use clearing::ledger::{self, Account, fees};
use db::{Scratch, cdr, put, rated, tariff};
use hub_core::party::PartyKey;
use hub_core::store::{Store, StoreOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};

const CPOS: [(&str, &str); 3] = [("NL", "CP1"), ("NL", "CP2"), ("BE", "CP3")];
const EMSPS: [(&str, &str); 2] = [("DE", "EM1"), ("FR", "EM2")];
const CURRENCIES: [&str; 3] = ["EUR", "USD", "GBP"];
const VATS: [i64; 5] = [0, 5, 9, 19, 21];
/// The periods run over days [0, 100) of 2026; CDRs end in days [0, 91).
const DAYS: i64 = 100;

#[derive(Debug, Clone)]
enum Pricing {
    /// Priced with the CPO's tariff the hub holds: settled.
    Rated,
    /// 1.00 above the tariff: held.
    Off,
    /// Naming a tariff the hub does not hold (settled with `settle_unrated`): random totals.
    Unrated { net_e4: i64, vat: usize },
}

#[derive(Debug, Clone, Copy)]
enum Credit {
    None,
    /// The exact negative of the original: settled as its reversal (if the original is).
    Exact,
    /// Off by 0.0001: held.
    Wrong,
}

#[derive(Debug, Clone)]
struct CdrSpec {
    cpo: usize,
    emsp: usize,
    currency: usize,
    kwh_e3: i64,
    /// Seconds after 2026-01-01T00:00:00Z.
    end_s: i64,
    pricing: Pricing,
    credit: Credit,
    /// The settlement run before which it arrives (0..3).
    wave: usize,
}

#[derive(Debug, Clone)]
struct Scenario {
    /// (party index over CPOS ++ EMSPS, currency) → (fixed_e4, percent_e4).
    contracts: BTreeMap<(usize, usize), (i64, i64)>,
    cdrs: Vec<CdrSpec>,
    /// Ends of the first two periods (days); the third ends at DAYS.
    cuts: (i64, i64),
    batch_size: usize,
}

fn cdr_spec() -> impl Strategy<Value = CdrSpec> {
    let pricing = prop_oneof![
        6 => Just(Pricing::Rated),
        1 => Just(Pricing::Off),
        4 => (1i64..=1_000_000, 0..VATS.len()).prop_map(|(net_e4, vat)| Pricing::Unrated { net_e4, vat }),
    ];
    let credit = prop_oneof![8 => Just(Credit::None), 2 => Just(Credit::Exact), 1 => Just(Credit::Wrong)];
    (0..CPOS.len(), 0..EMSPS.len(), 0..CURRENCIES.len(), 1i64..=200_000, 0i64..91 * 86_400, pricing, credit, 0usize..3).prop_map(
        |(cpo, emsp, currency, kwh_e3, end_s, pricing, credit, wave)| CdrSpec { cpo, emsp, currency, kwh_e3, end_s, pricing, credit, wave },
    )
}

fn scenario(cdrs: impl Into<prop::collection::SizeRange>) -> impl Strategy<Value = Scenario> {
    let contract = prop::option::weighted(0.6, (0i64..=5_000, 0i64..=100_000));
    (
        prop::collection::vec(contract, (CPOS.len() + EMSPS.len()) * CURRENCIES.len()),
        prop::collection::vec(cdr_spec(), cdrs),
        (1i64..50).prop_flat_map(|c1| (Just(c1), c1 + 1..DAYS - 1)),
        prop_oneof![Just(1000usize), 1usize..40],
    )
        .prop_map(|(contracts, cdrs, cuts, batch_size)| Scenario {
            contracts: contracts
                .into_iter()
                .enumerate()
                .filter_map(|(i, c)| c.map(|c| ((i / CURRENCIES.len(), i % CURRENCIES.len()), c)))
                .collect(),
            cdrs,
            cuts,
            batch_size,
        })
}

fn party(i: usize) -> PartyKey {
    let (cc, pid) = if i < CPOS.len() { CPOS[i] } else { EMSPS[i - CPOS.len()] };
    PartyKey::new(cc, pid)
}

fn round4(d: Decimal) -> Decimal {
    ledger::round4(d)
}

/// What the model expects of one CDR (original or credit).
#[derive(Debug, Clone)]
struct Expect {
    cpo: PartyKey,
    emsp: PartyKey,
    currency: &'static str,
    kwh_e4: i64,
    net_e4: i64,
    gross_e4: i64,
    settled: bool,
    /// For a credit: the original's id.
    credit_of: Option<String>,
    /// Fees charged to the CPO and the eMSP when settled (for a credit: refunded, negative).
    cpo_fee_e4: i64,
    emsp_fee_e4: i64,
}

fn e4(d: Decimal) -> i64 {
    ledger::to_e4(d, "test").unwrap()
}

fn ts(end_s: i64) -> String {
    let t = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap() + chrono::TimeDelta::seconds(end_s);
    t.to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn day(d: i64) -> i64 {
    statements::parse_bound("2026-01-01").unwrap() + d * 86_400_000_000
}

/// The model's expectation of each CDR, by (owner, id).
type Model = HashMap<(PartyKey, String), Expect>;

/// The CDR JSON of each wave, and the model.
fn build(s: &Scenario) -> (Vec<Vec<serde_json::Value>>, Model) {
    let mut waves = vec![Vec::new(), Vec::new(), Vec::new()];
    let mut expect = HashMap::new();
    let fee = |p: usize, cur: usize, net_e4: i64| -> i64 {
        match s.contracts.get(&(p, cur)) {
            None => 0,
            Some((fixed, pct)) => fixed + e4(round4(ledger::from_e4(net_e4) * ledger::from_e4(*pct) / Decimal::ONE_HUNDRED)),
        }
    };
    for (i, c) in s.cdrs.iter().enumerate() {
        let (cpo, emsp) = (party(c.cpo), party(CPOS.len() + c.emsp));
        let currency = CURRENCIES[c.currency];
        let kwh = Decimal::new(c.kwh_e3, 3);
        let rated_tariff = format!("T-{currency}");
        let (tariff_id, total) = match c.pricing {
            Pricing::Rated => (rated_tariff.as_str(), rated(kwh)),
            Pricing::Off => (rated_tariff.as_str(), (rated(kwh).0 + Decimal::ONE, rated(kwh).1 + Decimal::ONE)),
            Pricing::Unrated { net_e4, vat } => {
                let net = ledger::from_e4(net_e4);
                ("T9", (net, round4(net * Decimal::from(100 + VATS[vat]) / Decimal::ONE_HUNDRED)))
            }
        };
        let id = format!("C{i}");
        let end = ts(c.end_s);
        let settled = !matches!(c.pricing, Pricing::Off);
        let (net_e4, gross_e4) = (e4(total.0), e4(total.1));
        let (cpo_fee, emsp_fee) = if settled { (fee(c.cpo, c.currency, net_e4), fee(CPOS.len() + c.emsp, c.currency, net_e4)) } else { (0, 0) };
        waves[c.wave].push(cdr(&cpo, &id, &emsp, currency, tariff_id, kwh, total, &end, None));
        let base = Expect {
            cpo: cpo.clone(),
            emsp: emsp.clone(),
            currency,
            kwh_e4: e4(round4(kwh)),
            net_e4,
            gross_e4,
            settled,
            credit_of: None,
            cpo_fee_e4: cpo_fee,
            emsp_fee_e4: emsp_fee,
        };
        expect.insert((cpo.clone(), id.clone()), base.clone());
        let credit_total = match c.credit {
            Credit::None => continue,
            Credit::Exact => (-total.0, -total.1),
            Credit::Wrong => (-total.0 + Decimal::new(1, 4), -total.1),
        };
        let credit_id = format!("C{i}-CR");
        let credit_settled = settled && matches!(c.credit, Credit::Exact);
        waves[c.wave].push(cdr(&cpo, &credit_id, &emsp, currency, tariff_id, kwh, credit_total, &end, Some(&id)));
        expect.insert(
            (cpo, credit_id),
            Expect {
                net_e4: e4(credit_total.0),
                gross_e4: e4(credit_total.1),
                settled: credit_settled,
                credit_of: Some(id),
                cpo_fee_e4: if credit_settled { -cpo_fee } else { 0 },
                emsp_fee_e4: if credit_settled { -emsp_fee } else { 0 },
                ..base
            },
        );
    }
    // Credits after their originals within a wave (they are pushed right after them).
    (waves, expect)
}

fn nop(_: settle::Progress) {}

/// Runs the scenario on `store` and checks every property; panics with a message otherwise.
async fn check(store: Store, s: Scenario) {
    let (waves, expect) = build(&s);
    // The rating refuses a tariff in another currency: one tariff per CPO and currency.
    for cpo in CPOS {
        for cur in CURRENCIES {
            put(&store, "tariffs", &[tariff(&PartyKey::new(cpo.0, cpo.1), &format!("T-{cur}"), cur)]).await;
        }
    }
    for ((p, cur), (fixed, pct)) in &s.contracts {
        let c = fees::FeeContract::new(&party(*p), CURRENCIES[*cur], ledger::from_e4(*fixed), ledger::from_e4(*pct)).unwrap();
        fees::set(&store, &c).await.unwrap();
    }
    let options = SettleOptions { settle_unrated: true, batch_size: s.batch_size, ..Default::default() };
    let bounds = [0, s.cuts.0, s.cuts.1, DAYS];
    for (k, wave) in waves.iter().enumerate() {
        put(&store, "cdrs", wave).await;
        let (_, closed) = statements::run(&store, day(bounds[k]), day(bounds[k + 1]), &options, &mut nop).await.unwrap();
        assert!(!closed.already_closed);
    }

    // Entries and the whole ledger balance per currency.
    assert!(ledger::unbalanced_entries(&store).await.unwrap().is_empty(), "an entry does not balance");
    let mut sums: BTreeMap<String, i64> = BTreeMap::new();
    for b in ledger::trial_balance(&store).await.unwrap() {
        *sums.entry(b.currency).or_default() += b.balance_e4;
    }
    assert!(sums.values().all(|v| *v == 0), "trial balance: {sums:?}");

    // Holds are exactly the model's.
    let held: HashSet<(PartyKey, String)> =
        settle::holds(&store).await.unwrap().into_iter().map(|h| (PartyKey::new(&h.country_code, &h.party_id), h.cdr_id)).collect();
    let want_held: HashSet<(PartyKey, String)> = expect.iter().filter(|(_, e)| !e.settled).map(|(k, _)| k.clone()).collect();
    assert_eq!(held, want_held, "held CDRs");

    // Statements: each line is the model's, the figures add up to the lines, each settled CDR
    // is in exactly one statement of each party it involves.
    let all = statements::list(&store, &StatementFilter::default()).await.unwrap();
    let mut seen: HashMap<(PartyKey, String, &'static str), u32> = HashMap::new();
    let mut last_closing: BTreeMap<(String, String), i64> = BTreeMap::new();
    for st in &all {
        let report = statements::report(&store, st.id).await.unwrap();
        let me = PartyKey::new(&st.country_code, &st.party_id);
        let (mut cdr_count, mut kwh, mut net, mut vat, mut gross, mut fees_sum, mut credit_count, mut credits, mut movement) = (0i64, 0i64, 0i64, 0i64, 0i64, 0i64, 0i64, 0i64, 0i64);
        for l in &report.lines {
            assert!(l.effective_at < st.period_to, "line {} after its period", l.line_id);
            let key = (PartyKey::new(l.cdr_country_code.as_deref().unwrap(), l.cdr_party_id.as_deref().unwrap()), l.cdr_id.clone().unwrap());
            let e = expect.get(&key).unwrap_or_else(|| panic!("unknown CDR {key:?} in statement {}", st.id));
            assert!(e.settled, "{key:?} is in a statement but should be held");
            assert_eq!(e.currency, st.currency, "{key:?} in a statement of another currency");
            assert_eq!((l.kwh_e4, l.net_e4, l.gross_e4, l.vat_e4), (e.kwh_e4, e.net_e4, e.gross_e4, e.gross_e4 - e.net_e4), "{key:?}");
            assert_eq!(l.entry_kind, if e.credit_of.is_some() { "reversal" } else { "cdr" }, "{key:?}");
            movement += l.amount_e4;
            let role: &'static str = match l.role.as_str() {
                "cpo" => {
                    assert_eq!(me, e.cpo, "{key:?}: CPO line in another party's statement");
                    assert_eq!(l.amount_e4, -e.gross_e4, "{key:?}");
                    "cpo"
                }
                "emsp" => {
                    assert_eq!(me, e.emsp, "{key:?}: eMSP line in another party's statement");
                    assert_eq!(l.amount_e4, e.gross_e4, "{key:?}");
                    "emsp"
                }
                "fee" => {
                    let want = if me == e.cpo { e.cpo_fee_e4 } else if me == e.emsp { e.emsp_fee_e4 } else { panic!("{key:?}: fee of a third party") };
                    assert_eq!(l.amount_e4, want, "{key:?}: fee of {me}");
                    fees_sum += l.amount_e4;
                    if me == e.cpo { "fee-cpo" } else { "fee-emsp" }
                }
                other => panic!("role {other}"),
            };
            if role == "cpo" || role == "emsp" {
                if e.credit_of.is_some() {
                    credit_count += 1;
                    credits -= l.gross_e4;
                } else {
                    cdr_count += 1;
                    kwh += l.kwh_e4;
                    net += l.net_e4;
                    vat += l.vat_e4;
                    gross += l.gross_e4;
                }
            }
            *seen.entry((key.0, key.1, role)).or_default() += 1;
        }
        assert_eq!(
            (st.cdr_count, st.kwh_e4, st.net_e4, st.vat_e4, st.gross_e4, st.fees_e4, st.credit_count, st.credits_e4, st.movement_e4),
            (cdr_count, kwh, net, vat, gross, fees_sum, credit_count, credits, movement),
            "statement {} of {me} {}",
            st.id,
            st.currency
        );
        assert_eq!(st.closing_balance_e4, st.opening_balance_e4 + st.movement_e4);
        let prev = last_closing.insert((format!("{me}"), st.currency.clone()), st.closing_balance_e4).unwrap_or(0);
        assert_eq!(st.opening_balance_e4, prev, "opening of statement {} is the previous closing", st.id);
    }
    for ((p, currency), closing) in &last_closing {
        let (cc, pid) = p.split_once('-').unwrap();
        let balance = ledger::balance(&store, &Account::Party(PartyKey::new(cc, pid)), currency).await.unwrap();
        assert_eq!(ledger::to_e4(balance, "b").unwrap(), *closing, "{p} {currency}: last closing is the balance");
    }
    for ((owner, id), e) in &expect {
        if !e.settled {
            continue;
        }
        for (role, fee) in [("cpo", None), ("emsp", None), ("fee-cpo", Some(e.cpo_fee_e4)), ("fee-emsp", Some(e.emsp_fee_e4))] {
            let n = seen.get(&(owner.clone(), id.clone(), role)).copied().unwrap_or(0);
            let want = match fee {
                Some(0) => 0,
                _ => 1,
            };
            assert_eq!(n, want, "{owner} {id}: {role} lines in statements");
        }
    }
}

async fn on_sqlite(s: Scenario) {
    let (scratch, url) = Scratch::sqlite();
    let store = Store::open(&url, &StoreOptions { max_connections: 4, sqlite_synchronous_full: false }).await.unwrap();
    let outcome = tokio::spawn(check(store.clone(), s)).await;
    store.close().await;
    drop(scratch);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn on_postgres(admin: &str, s: Scenario) {
    let (scratch, url) = Scratch::postgres(admin).await;
    let store = Store::open(&url, &StoreOptions { max_connections: 4, sqlite_synchronous_full: false }).await.unwrap();
    let outcome = tokio::spawn(check(store.clone(), s)).await;
    store.close().await;
    drop(scratch);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

proptest! {
    #![proptest_config(Config { cases: 48, ..Config::default() })]
    #[test]
    fn small_scenarios_on_sqlite(s in scenario(1..60)) {
        runtime().block_on(on_sqlite(s));
    }
}

#[test]
fn small_scenarios_on_postgres() {
    let Some(admin) = db::postgres_url() else {
        eprintln!("note: {} is not set; skipping PostgreSQL", db::PG_ENV);
        return;
    };
    let mut runner = TestRunner::new(Config { cases: 6, ..Config::default() });
    runner.run(&scenario(1..80), |s| {
        runtime().block_on(on_postgres(&admin, s));
        Ok(())
    })
    .unwrap();
}

/// The acceptance point: over 100 000 random CDRs (plus their credits).
#[test]
fn one_hundred_thousand_cdrs_on_sqlite() {
    let mut runner = TestRunner::new(Config { cases: 1, max_shrink_iters: 0, ..Config::default() });
    runner
        .run(&scenario(100_000..=100_000).prop_map(|mut s| { s.batch_size = 1000; s }), |s| {
            let started = std::time::Instant::now();
            runtime().block_on(on_sqlite(s));
            eprintln!("100 000 CDRs: {:.1} s", started.elapsed().as_secs_f64());
            Ok(())
        })
        .unwrap();
}
