//! The ledger, CDR settlement, fees and settlement periods, on SQLite and (with
//! `HUB_TEST_POSTGRES_URL`) PostgreSQL, through the public API of `clearing::ledger`.

mod db;

use clearing::ledger::settle::{self, SettleOptions};
use clearing::ledger::statements::{self, StatementFilter};
use clearing::ledger::{self, Account, ClearingError, NewEntry, NewLine, fees};
use db::{cdr, d, for_each_backend, put, rated, tariff};
use hub_core::party::PartyKey;
use hub_core::store::Store;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

fn cpo() -> PartyKey {
    PartyKey::new("NL", "CPO")
}
fn emsp() -> PartyKey {
    PartyKey::new("DE", "EMS")
}

fn line(account: &str, currency: &str, amount_e4: i64) -> NewLine {
    NewLine { account: account.into(), currency: currency.into(), kind: "cdr", amount_e4 }
}

fn entry(reference: &str, lines: Vec<NewLine>) -> NewEntry {
    NewEntry { kind: "cdr", reference: reference.into(), settlement_id: None, reverses_entry_id: None, effective_at: 0, lines }
}

/// Sum of the balances per currency: zero in a sound ledger.
async fn sums_per_currency(store: &Store) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for b in ledger::trial_balance(store).await.unwrap() {
        *out.entry(b.currency).or_default() += b.balance_e4;
    }
    out
}

fn nop(_: settle::Progress) {}

async fn settle_all(store: &Store, options: &SettleOptions) -> settle::SettleReport {
    settle::settle_pending(store, options, &mut nop).await.unwrap()
}

#[tokio::test]
async fn entries_must_balance_per_currency_and_nothing_unbalanced_is_written() {
    for_each_backend(|store| async move {
        // Balanced in total but not per currency.
        let bad = entry("t/1", vec![line("party:NL:AAA", "EUR", 100), line("party:NL:BBB", "USD", -100)]);
        match ledger::post(&store, &[bad]).await {
            Err(ClearingError::Unbalanced { currency, .. }) => assert_eq!(currency, "EUR"),
            other => panic!("expected Unbalanced, got {other:?}"),
        }
        // All or nothing: a good entry together with a bad one is not written either.
        let good = entry("t/2", vec![line("party:NL:AAA", "EUR", 100), line("party:NL:BBB", "EUR", -100)]);
        let bad = entry("t/3", vec![line("party:NL:AAA", "EUR", 100), line("party:NL:BBB", "EUR", -99)]);
        assert!(matches!(ledger::post(&store, &[good.clone(), bad]).await, Err(ClearingError::Unbalanced { .. })));
        assert!(ledger::trial_balance(&store).await.unwrap().is_empty());

        let ids = ledger::post(&store, std::slice::from_ref(&good)).await.unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(ledger::balance(&store, &Account::Party(PartyKey::new("NL", "AAA")), "EUR").await.unwrap(), d("0.0100"));
        // The same reference cannot be posted twice.
        assert!(ledger::post(&store, &[good]).await.is_err());
        assert!(ledger::unbalanced_entries(&store).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_ledger_is_append_only() {
    for_each_backend(|store| async move {
        ledger::post(&store, &[entry("t/1", vec![line("a", "EUR", 5), line("b", "EUR", -5)])]).await.unwrap();
        let attempts = ["UPDATE ledger_lines SET amount_e4 = 6", "DELETE FROM ledger_lines", "UPDATE ledger_entries SET kind = 'x'", "DELETE FROM ledger_entries"];
        for sql in attempts {
            let r = match store.db() {
                hub_core::store::Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
                hub_core::store::Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            };
            let e = r.expect_err(sql).to_string();
            assert!(e.contains("append-only"), "{sql}: {e}");
        }
        assert_eq!(ledger::trial_balance(&store).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn each_cdr_is_settled_once_with_the_contract_fees_and_mismatches_are_held() {
    for_each_backend(|store| async move {
        put(&store, "tariffs", &[tariff(&cpo(), "T1", "EUR")]).await;
        fees::set(&store, &fees::FeeContract::new(&cpo(), "EUR", d("0.25"), d("2.5")).unwrap()).await.unwrap();
        fees::set(&store, &fees::FeeContract::new(&emsp(), "EUR", d("0"), d("1")).unwrap()).await.unwrap();
        let kwhs = [d("10"), d("7.5"), d("12.345")];
        let mut cdrs: Vec<_> = kwhs.iter().enumerate().map(|(i, k)| cdr(&cpo(), &format!("C{i}"), &emsp(), "EUR", "T1", *k, rated(*k), "2026-01-10T12:00:00Z", None)).collect();
        // 1.00 more than the tariff gives: held.
        let (e, i) = rated(d("5"));
        cdrs.push(cdr(&cpo(), "OFF", &emsp(), "EUR", "T1", d("5"), (e + Decimal::ONE, i + Decimal::ONE), "2026-01-10T12:00:00Z", None));
        // A tariff the hub does not hold: held unless unrated CDRs are settled.
        cdrs.push(cdr(&cpo(), "NOTARIFF", &emsp(), "EUR", "T9", d("5"), rated(d("5")), "2026-01-10T12:00:00Z", None));
        put(&store, "cdrs", &cdrs).await;

        let options = SettleOptions { batch_size: 2, ..Default::default() };
        let r = settle_all(&store, &options).await;
        assert_eq!((r.examined, r.settled, r.held, r.credits), (5, 3, 2, 0), "{r:?} {:?}", settle::holds(&store).await.unwrap());
        let holds = settle::holds(&store).await.unwrap();
        let reasons: BTreeMap<_, _> = holds.iter().map(|h| (h.cdr_id.clone(), h.hold_reason.clone().unwrap())).collect();
        assert!(reasons["OFF"].contains("differs from the hub's rating"), "{reasons:?}");
        assert!(reasons["NOTARIFF"].contains("no tariff T9"), "{reasons:?}");

        // Again: nothing left to do, nothing posted twice.
        let again = settle_all(&store, &options).await;
        assert_eq!(again.examined, 0);

        // Balances: the eMSP owes the gross plus its fees, the CPO is owed the gross less its fees.
        let gross: Decimal = kwhs.iter().map(|k| rated(*k).1).sum();
        let net: Decimal = kwhs.iter().map(|k| rated(*k).0).sum();
        let cpo_fees: Decimal = kwhs.iter().map(|k| d("0.25") + ledger::round4(rated(*k).0 * d("0.025"))).sum();
        let emsp_fees: Decimal = kwhs.iter().map(|k| ledger::round4(rated(*k).0 * d("0.01"))).sum();
        assert!(net > Decimal::ZERO);
        let bal = |a: Account| { let s = store.clone(); async move { ledger::balance(&s, &a, "EUR").await.unwrap() } };
        assert_eq!(bal(Account::Party(emsp())).await, gross + emsp_fees);
        assert_eq!(bal(Account::Party(cpo())).await, -gross + cpo_fees);
        assert_eq!(bal(Account::HubFees).await, -(cpo_fees + emsp_fees));
        assert_eq!(sums_per_currency(&store).await, BTreeMap::from([("EUR".to_string(), 0)]));

        // Releasing a held CDR after review settles it once.
        let released = settle::release(&store, &cpo(), "OFF", &options).await.unwrap();
        assert_eq!(released.status, "settled");
        assert!(settle::release(&store, &cpo(), "OFF", &options).await.is_err());
        assert_eq!(settle::holds(&store).await.unwrap().len(), 1);
        // With `settle_unrated`, a CDR without a tariff the hub holds is settled.
        put(&store, "cdrs", &[cdr(&cpo(), "NOTARIFF2", &emsp(), "EUR", "T9", d("1"), rated(d("1")), "2026-01-10T12:00:00Z", None)]).await;
        let r = settle_all(&store, &SettleOptions { settle_unrated: true, ..Default::default() }).await;
        assert_eq!((r.settled, r.held), (1, 0));
        assert!(ledger::unbalanced_entries(&store).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn concurrent_runs_settle_each_cdr_once() {
    for_each_backend(|store| async move {
        put(&store, "tariffs", &[tariff(&cpo(), "T1", "EUR")]).await;
        let cdrs: Vec<_> = (0..300).map(|i| {
            let k = Decimal::new(i + 1, 1);
            cdr(&cpo(), &format!("C{i}"), &emsp(), "EUR", "T1", k, rated(k), "2026-01-10T12:00:00Z", None)
        }).collect();
        put(&store, "cdrs", &cdrs).await;
        let options = SettleOptions { batch_size: 25, ..Default::default() };
        let run = |store: Store, options: SettleOptions| tokio::spawn(async move { settle::settle_pending(&store, &options, &mut nop).await });
        let (a, b) = tokio::join!(run(store.clone(), options.clone()), run(store.clone(), options.clone()));
        let (a, b) = (a.unwrap().unwrap(), b.unwrap().unwrap());
        assert_eq!(a.settled + b.settled, 300, "{a:?} {b:?}");
        let gross: Decimal = (0..300).map(|i| rated(Decimal::new(i + 1, 1)).1).sum();
        assert_eq!(ledger::balance(&store, &Account::Party(emsp()), "EUR").await.unwrap(), gross);
    })
    .await;
}

#[tokio::test]
async fn a_credit_cdr_reverses_the_original_entry_fees_included() {
    for_each_backend(|store| async move {
        put(&store, "tariffs", &[tariff(&cpo(), "T1", "EUR")]).await;
        fees::set(&store, &fees::FeeContract::new(&cpo(), "EUR", d("0.30"), d("3")).unwrap()).await.unwrap();
        let k = d("20");
        let (e, i) = rated(k);
        // The credit arrives first: held until the original is settled.
        put(&store, "cdrs", &[cdr(&cpo(), "C1-CREDIT", &emsp(), "EUR", "T1", k, (-e, -i), "2026-01-10T12:00:00Z", Some("C1"))]).await;
        let r = settle_all(&store, &SettleOptions::default()).await;
        assert_eq!((r.settled, r.held), (0, 1));
        put(&store, "cdrs", &[cdr(&cpo(), "C1", &emsp(), "EUR", "T1", k, (e, i), "2026-01-10T12:00:00Z", None)]).await;
        let r = settle_all(&store, &SettleOptions::default()).await;
        assert_eq!(r.settled, 1);
        assert_ne!(ledger::balance(&store, &Account::Party(cpo()), "EUR").await.unwrap(), Decimal::ZERO);
        let credit = settle::release(&store, &cpo(), "C1-CREDIT", &SettleOptions::default()).await.unwrap();
        assert_eq!(credit.status, "settled");
        assert!(credit.credit);
        // The reversal nets the original to zero on every account.
        for b in ledger::trial_balance(&store).await.unwrap() {
            assert_eq!(b.balance_e4, 0, "{b:?}");
        }
        // A second credit of the same CDR is held, not posted.
        put(&store, "cdrs", &[cdr(&cpo(), "C1-CREDIT2", &emsp(), "EUR", "T1", k, (-e, -i), "2026-01-10T12:00:00Z", Some("C1"))]).await;
        let r = settle_all(&store, &SettleOptions::default()).await;
        assert_eq!((r.settled, r.held), (0, 1));
        let h = settle::find(&store, &cpo(), "C1-CREDIT2").await.unwrap().unwrap();
        assert!(h.hold_reason.unwrap().contains("credited already"));
        // A credit whose amount is not the original's negative is held.
        put(&store, "cdrs", &[cdr(&cpo(), "C2", &emsp(), "EUR", "T1", k, (e, i), "2026-01-10T12:00:00Z", None)]).await;
        put(&store, "cdrs", &[cdr(&cpo(), "C2-CREDIT", &emsp(), "EUR", "T1", k, (-e + Decimal::ONE, -i), "2026-01-10T12:00:00Z", Some("C2"))]).await;
        let r = settle_all(&store, &SettleOptions::default()).await;
        assert_eq!((r.settled, r.held), (1, 1));
    })
    .await;
}

#[tokio::test]
async fn a_settlement_run_puts_every_settled_cdr_in_exactly_one_statement() {
    for_each_backend(|store| async move {
        put(&store, "tariffs", &[tariff(&cpo(), "T1", "EUR")]).await;
        fees::set(&store, &fees::FeeContract::new(&cpo(), "EUR", d("0.25"), d("2.5")).unwrap()).await.unwrap();
        let jan: Vec<_> = (0..5).map(|i| { let k = Decimal::from(i + 1); cdr(&cpo(), &format!("J{i}"), &emsp(), "EUR", "T1", k, rated(k), "2026-01-15T10:00:00Z", None) }).collect();
        let feb: Vec<_> = (0..3).map(|i| { let k = Decimal::from(i + 10); cdr(&cpo(), &format!("F{i}"), &emsp(), "EUR", "T1", k, rated(k), "2026-02-15T10:00:00Z", None) }).collect();
        let held = cdr(&cpo(), "JH", &emsp(), "EUR", "T1", d("1"), (d("9"), d("9.9")), "2026-01-20T10:00:00Z", None);
        put(&store, "cdrs", &jan).await;
        put(&store, "cdrs", &feb).await;
        put(&store, "cdrs", &[held]).await;
        let (from, to) = (statements::parse_bound("2026-01-01").unwrap(), statements::parse_bound("2026-02-01").unwrap());
        let (settled, closed) = statements::run(&store, from, to, &SettleOptions::default(), &mut nop).await.unwrap();
        assert_eq!((settled.settled, settled.held), (8, 1));
        assert!(!closed.already_closed);
        assert_eq!(closed.statements.len(), 2, "{:?}", closed.statements);
        let by_party: BTreeMap<_, _> = closed.statements.iter().map(|s| (s.party_id.clone(), s.clone())).collect();
        let (c, e) = (&by_party["CPO"], &by_party["EMS"]);
        let gross: Decimal = (1..=5).map(|k| rated(Decimal::from(k)).1).sum();
        let net: Decimal = (1..=5).map(|k| rated(Decimal::from(k)).0).sum();
        let fee: Decimal = (1..=5).map(|k| d("0.25") + ledger::round4(rated(Decimal::from(k)).0 * d("0.025"))).sum();
        for s in [c, e] {
            assert_eq!(s.cdr_count, 5);
            assert_eq!(ledger::from_e4(s.gross_e4), gross);
            assert_eq!(ledger::from_e4(s.net_e4), net);
            assert_eq!(ledger::from_e4(s.vat_e4), gross - net);
            assert_eq!(ledger::from_e4(s.kwh_e4), d("15"));
            assert_eq!((s.held_count, ledger::from_e4(s.held_e4)), (1, d("9.9")));
            assert_eq!(s.opening_balance_e4, 0);
            assert_eq!(s.closing_balance_e4, s.opening_balance_e4 + s.movement_e4);
        }
        assert_eq!(ledger::from_e4(c.fees_e4), fee);
        assert_eq!(ledger::from_e4(c.closing_balance_e4), -gross + fee);
        assert_eq!(ledger::from_e4(c.to_pay_e4), gross - fee);
        assert_eq!(ledger::from_e4(e.to_collect_e4), gross);

        // The report's trail: one CDR line per January CDR, plus the CPO's fee lines.
        let report = statements::report(&store, c.id).await.unwrap();
        let cdr_ids: Vec<_> = report.lines.iter().filter(|l| l.role == "cpo").map(|l| l.cdr_id.clone().unwrap()).collect();
        assert_eq!(cdr_ids, ["J0", "J1", "J2", "J3", "J4"]);
        assert_eq!(report.lines.iter().filter(|l| l.role == "fee").count(), 5);
        assert_eq!(report.lines.iter().map(|l| l.amount_e4).sum::<i64>(), c.movement_e4);
        let csv = statements::to_csv(&report);
        assert_eq!(csv.lines().count(), 1 + report.lines.len());
        assert!(csv.starts_with(statements::CSV_HEADER));

        // Running January again counts nothing twice.
        let (_, again) = statements::run(&store, from, to, &SettleOptions::default(), &mut nop).await.unwrap();
        assert!(again.already_closed);
        assert_eq!(again.statements, closed.statements);
        // An overlapping or earlier period is refused.
        assert!(statements::close_period(&store, statements::parse_bound("2026-01-15").unwrap(), statements::parse_bound("2026-02-15").unwrap(), &mut nop).await.is_err());

        // A January CDR arriving late, and the held one released: both in February's statement.
        put(&store, "cdrs", &[cdr(&cpo(), "JLATE", &emsp(), "EUR", "T1", d("2"), rated(d("2")), "2026-01-31T10:00:00Z", None)]).await;
        settle::release(&store, &cpo(), "JH", &SettleOptions::default()).await.unwrap();
        let (_, febp) = statements::run(&store, to, statements::parse_bound("2026-03-01").unwrap(), &SettleOptions::default(), &mut nop).await.unwrap();
        let fc = febp.statements.iter().find(|s| s.party_id == "CPO").unwrap();
        assert_eq!(fc.cdr_count, 3 + 2);
        assert_eq!(fc.held_count, 0);
        assert_eq!(fc.opening_balance_e4, c.closing_balance_e4);
        // Every line on a party account is in exactly one statement, and the last closing
        // balance is the account's balance derived from the ledger.
        let all = statements::list(&store, &StatementFilter { party: Some(cpo()), ..Default::default() }).await.unwrap();
        assert_eq!(all.len(), 2);
        let lines: usize = {
            let mut n = 0;
            for s in &all { n += statements::report(&store, s.id).await.unwrap().lines.len(); }
            n
        };
        let expected_lines = 2 * (5 + 3 + 2); // a CDR line and a fee line per settled CDR
        assert_eq!(lines, expected_lines);
        assert_eq!(ledger::from_e4(fc.closing_balance_e4), ledger::balance(&store, &Account::Party(cpo()), "EUR").await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn bad_periods_and_fees_are_refused_with_a_message() {
    for_each_backend(|store| async move {
        assert!(statements::parse_bound("2026-13-01").is_err());
        assert_eq!(statements::parse_bound("2026-01-01T01:00:00+01:00").unwrap(), statements::parse_bound("2026-01-01").unwrap());
        let t = statements::parse_bound("2026-01-01").unwrap();
        assert!(matches!(statements::close_period(&store, t, t, &mut nop).await, Err(ClearingError::Invalid(_))));
        assert!(matches!(statements::report(&store, 42).await, Err(ClearingError::NotFound(_))));
        assert!(fees::FeeContract::new(&cpo(), "EUR", d("0.25"), d("-1")).is_err());
        fees::set(&store, &fees::FeeContract::new(&cpo(), "eur", d("0.25"), d("2.5")).unwrap()).await.unwrap();
        fees::set(&store, &fees::FeeContract::new(&cpo(), "EUR", d("0.30"), d("2.5")).unwrap()).await.unwrap();
        let list = fees::list(&store).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(ledger::from_e4(list[0].fixed_e4), d("0.30"));
    })
    .await;
}
