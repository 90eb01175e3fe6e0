//! Clearing end to end (issue 5, acceptance 4), on SQLite and (with `HUB_TEST_POSTGRES_URL`)
//! PostgreSQL: the real `ocpi-hub serve` with its Stripe client pointed at `stripe-fake`.
//!
//! CDRs come from both kinds of CPO: a micro-CPO's OCPP 1.6 charger (the Python `ocpp` package;
//! the hub prices the CDR with the connector's tariff), and a test CPO posting its CDRs through
//! the hub. Both CPOs connect a Stripe account (onboarding completes on the fake, its signed
//! `account.updated` webhook reaches the hub), the eMSP gets a collection method, the operator
//! sets fee contracts, runs the settlement, prints the CSV report and runs the payouts. Everything
//! must reconcile to the cent: the CSV lines with the CDRs the eMSP received and the contracts,
//! the statements with their lines, the fake's transfers with the statements; a second payout
//! run moves nothing.

mod common;

use common::*;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn num(v: &Value) -> Decimal {
    match v {
        Value::String(s) => s.parse().unwrap(),
        Value::Number(n) => n.to_string().parse().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

fn r4(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Fee contracts: (fixed, percent) per party, all in EUR.
fn contract(party: &str) -> (Decimal, Decimal) {
    match party {
        "NL-CPO" => (d("0.25"), d("2.5")),
        "NL-MCP" => (d("0.10"), d("1")),
        "DE-EMS" => (d("0"), d("1")),
        other => panic!("no contract for {other}"),
    }
}

fn fee(party: &str, net: Decimal) -> Decimal {
    let (fixed, percent) = contract(party);
    fixed + r4(net * percent / d("100"))
}

/// The test CPO's CDR for a token of DE-EMS: `kwh` in the hour ending at `end`, priced with its
/// tariff (ENERGY 0.25/kWh excl. VAT, 10 % VAT).
fn cpo_cdr(id: &str, kwh: Decimal, end: chrono::DateTime<chrono::Utc>) -> Value {
    let excl = r4(kwh * d("0.25"));
    let incl = r4(excl * d("1.10"));
    ems_cdr(("NL", "CPO"), id, &kwh.to_string(), (&excl.to_string(), &incl.to_string()), &ts(end))
}

/// One row of the settlement CSV (docs/settlement-report.md), by column name.
fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().expect("a header line").split(',').map(str::to_string).collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            assert_eq!(fields.len(), header.len(), "no quoted fields expected here: {l}");
            header.iter().cloned().zip(fields.iter().map(|f| f.to_string())).collect()
        })
        .collect()
}

async fn run_charger(python: &Path, ws_url: &str, id: &str, password: &str, script: Value) -> Vec<Value> {
    let script = script.to_string();
    let args = ["--url", ws_url, "--id", id, "--password", password, "--version", "1.6", "--script", &script];
    run_python_charger(python, "transaction_charger.py", &args, Duration::from_secs(120)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_end_to_end_on_every_database() {
    let Some(python) = ocpp_python() else { return };
    for db in TestDb::all() {
        eprintln!("=== clearing end to end on {}", db.kind());
        scenario(&db, &python).await;
    }
}

async fn scenario(db: &TestDb, python: &Path) {
    let fake = stripe_fake::FakeStripe::start(stripe_fake::FakeConfig {
        secret_key: "sk_test_e2e_clearing".into(),
        webhook_url: None,
        webhook_secret: "whsec_e2e_clearing".into(),
        listen: "127.0.0.1:0".into(),
    })
    .unwrap();
    let hub = Hub::start_with_env(db, &[
        ("HUB__STRIPE__API_BASE", fake.url()),
        ("HUB__STRIPE__SECRET_KEY", "sk_test_e2e_clearing"),
        ("HUB__STRIPE__WEBHOOK_SECRET", "whsec_e2e_clearing"),
    ]);
    fake.set_webhook_url(Some(format!("{}/stripe/webhooks", hub.base_url())));

    // --- Parties ------------------------------------------------------------------------------
    let emsp = Party::new([("DE", "EMS", "EMSP")]);
    let cpo = Party::new([("NL", "CPO", "CPO")]);
    register_invited(&hub, &emsp, "DE", "EMS", "EMSP").await;
    register_invited(&hub, &cpo, "NL", "CPO", "CPO").await;
    hub.cli(&["microcpo", "add", "--country-code", "NL", "--party-id", "MCP", "--name", "Cafe"]);
    let mut loc = spec_location(("NL", "MCP"), "LOC-MCP");
    for evse in loc["evses"].as_array_mut().unwrap() {
        for c in evse["connectors"].as_array_mut().unwrap() {
            c["tariff_ids"] = json!(["MCP-T"]);
        }
    }
    let uids: Vec<String> = loc["evses"].as_array().unwrap().iter().map(|e| e["uid"].as_str().unwrap().to_string()).collect();
    let file = hub.dir().join("loc.json");
    std::fs::write(&file, loc.to_string()).unwrap();
    hub.cli(&["location", "put", "--country-code", "NL", "--party-id", "MCP", "--file", file.to_str().unwrap()]);
    // ENERGY 0.30/kWh excl. VAT, 21 % VAT.
    let tariff = json!({"country_code": "NL", "party_id": "MCP", "id": "MCP-T", "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0.30, "vat": 21.0, "step_size": 1}]}],
        "last_updated": "2026-01-01T00:00:00Z"});
    let file = hub.dir().join("tariff.json");
    std::fs::write(&file, tariff.to_string()).unwrap();
    hub.cli(&["tariff", "put", "--country-code", "NL", "--party-id", "MCP", "--file", file.to_str().unwrap()]);
    let charger = hub.cli(&[
        "charger", "add", "--country-code", "NL", "--party-id", "MCP", "--location", "LOC-MCP", "--charger-id", "CPE2E",
        "--password", "secret-password-e2e", "--evse-uids", &uids.join(","),
    ]);
    let ws = charger["ws_url"].as_str().unwrap().to_string();
    let (status, _, body) = emsp.call("PUT", "tokens", "receiver", "/DE/EMS/TOKE2E", None, Some(spec_token(("DE", "EMS"), "TOKE2E"))).await;
    assert_eq!(status, 200, "{body}");

    // --- CDRs -----------------------------------------------------------------------------------
    let now = chrono::Utc::now();
    let t0 = now - chrono::Duration::hours(3);
    let t0 = t0 - chrono::Duration::seconds(t0.timestamp() % 60);
    let lines = run_charger(python, &ws, "CPE2E", "secret-password-e2e", json!([
        {"authorize": "TOKE2E"},
        {"start": {"number": 1, "id_tag": "TOKE2E", "wh": 2000, "at": ts(t0)}},
        {"meter": {"wh": 8000, "at": ts(t0 + chrono::Duration::minutes(30)), "power_w": 11000}},
        {"stop": {"wh": 14500, "at": ts(t0 + chrono::Duration::minutes(60)), "reason": "Local"}},
    ])).await;
    let tx = lines.iter().find_map(|l| l.get("start")).and_then(|s| s["transaction_id"].as_i64()).unwrap_or_else(|| panic!("{lines:?}"));
    let mcp_cdr_id = format!("CPE2E-{tx}");
    let mcp_cdr = emsp.wait_for(|r| r.is("POST", "receiver/cdrs") && r.body["id"] == mcp_cdr_id.as_str(), WAIT).await.body;
    // The hub priced it: 12.5 kWh × 0.30 = 3.75 excl., 4.5375 incl. VAT.
    assert_eq!(num(&mcp_cdr["total_cost"]["excl_vat"]), d("3.75"), "{mcp_cdr}");
    assert_eq!(num(&mcp_cdr["total_cost"]["incl_vat"]), d("4.5375"), "{mcp_cdr}");

    cpo.call("PUT", "tariffs", "receiver", "/NL/CPO/T1", Some(("NL", "HUB")), Some(json!({
        "country_code": "NL", "party_id": "CPO", "id": "T1", "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": "0.25", "vat": "10", "step_size": 1}]}],
        "last_updated": "2026-01-01T00:00:00Z"})))
        .await;
    let mut cpo_cdrs = Vec::new();
    for (id, kwh) in [("NLE1", "10"), ("NLE2", "7.333")] {
        let c = cpo_cdr(id, d(kwh), now - chrono::Duration::hours(1));
        let (status, _, body) = cpo.call("POST", "cdrs", "receiver", "", Some(("DE", "EMS")), Some(c)).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
        cpo_cdrs.push(emsp.wait_for(|r| r.is("POST", "receiver/cdrs") && r.body["id"] == id, WAIT).await.body);
    }

    // --- Fees, payment accounts --------------------------------------------------------------
    for party in ["NL-CPO", "NL-MCP", "DE-EMS"] {
        let (cc, pid) = party.split_once('-').unwrap();
        let (fixed, percent) = contract(party);
        hub.cli(&["fees", "set", "--country-code", cc, "--party-id", pid, "--fixed", &fixed.to_string(), "--percent", &percent.to_string(), "--currency", "EUR"]);
    }
    let mut accounts = BTreeMap::new();
    for (cc, pid) in [("NL", "CPO"), ("NL", "MCP")] {
        let c = hub.cli(&["payment", "connect", "--country-code", cc, "--party-id", pid]);
        let account = c["account"].as_str().unwrap_or_else(|| panic!("{c}")).to_string();
        assert!(c["url"].as_str().is_some_and(|u| u.starts_with("http")), "an onboarding link: {c}");
        assert!(fake.complete_onboarding(&account), "onboarding of {account}");
        accounts.insert(format!("{cc}-{pid}"), account);
    }
    // The signed account.updated webhooks reach the hub.
    for (cc, pid) in [("NL", "CPO"), ("NL", "MCP")] {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            fake.flush().await;
            let show = hub.cli(&["payment", "show", "--country-code", cc, "--party-id", pid]);
            if show["payouts_enabled"] == true {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no account.updated for {cc}-{pid}: {show}\n{}", hub.log_tail(20));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    hub.cli(&["payment", "collect-method", "--country-code", "DE", "--party-id", "EMS", "--customer", "cus_EMS", "--payment-method", "pm_card_visa"]);

    // --- Settlement, report ------------------------------------------------------------------
    let from = (now - chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
    let to = (now + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let run = hub.cli(&["settlement", "run", "--from", &from, "--to", &to]);
    assert_eq!((run["settled"]["settled"].clone(), run["settled"]["held"].clone()), (json!(3), json!(0)), "{run}");
    let out = hub.cli_output(&["settlement", "report", "--from", &from, "--to", &to, "--format", "csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = csv_rows(&String::from_utf8(out.stdout).unwrap());

    // What the CSV must hold, from the CDRs the eMSP received and the contracts.
    let received: Vec<(&str, &Value)> = std::iter::once(("NL-MCP", &mcp_cdr)).chain(cpo_cdrs.iter().map(|c| ("NL-CPO", c))).collect();
    let mut want_rows: Vec<(String, String, String, Decimal)> = Vec::new(); // party, role, cdr id, amount
    for (cpo_party, c) in &received {
        let id = c["id"].as_str().unwrap().to_string();
        let (net, gross) = (num(&c["total_cost"]["excl_vat"]), num(&c["total_cost"]["incl_vat"]));
        want_rows.push((cpo_party.to_string(), "cpo".into(), id.clone(), -gross));
        want_rows.push((cpo_party.to_string(), "fee".into(), id.clone(), fee(cpo_party, net)));
        want_rows.push(("DE-EMS".into(), "emsp".into(), id.clone(), gross));
        want_rows.push(("DE-EMS".into(), "fee".into(), id.clone(), fee("DE-EMS", net)));
    }
    let mut got_rows: Vec<(String, String, String, Decimal)> = rows
        .iter()
        .map(|r| (format!("{}-{}", r["country_code"], r["party_id"]), r["role"].clone(), r["cdr_id"].clone(), d(&r["amount"])))
        .collect();
    want_rows.sort();
    got_rows.sort();
    assert_eq!(got_rows, want_rows, "the CSV lines, to the cent (and to the 1/100 cent)");
    for r in &rows {
        let c = received.iter().find(|(_, c)| c["id"] == r["cdr_id"].as_str()).unwrap().1;
        assert_eq!(d(&r["gross"]), num(&c["total_cost"]["incl_vat"]), "{r:?}");
        assert_eq!(d(&r["net"]), num(&c["total_cost"]["excl_vat"]), "{r:?}");
        assert_eq!(d(&r["kwh"]), num(&c["total_energy"]), "{r:?}");
    }
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    for (party, _, _, amount) in &got_rows {
        *sums.entry(party.clone()).or_default() += amount;
    }
    let statements = hub.cli(&["settlement", "list", "--from", &from, "--to", &to]);
    let by_party: BTreeMap<String, Value> = statements
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (format!("{}-{}", s["country_code"].as_str().unwrap(), s["party_id"].as_str().unwrap()), s.clone()))
        .collect();
    assert_eq!(by_party.keys().collect::<Vec<_>>(), ["DE-EMS", "NL-CPO", "NL-MCP"], "{statements}");
    for (party, s) in &by_party {
        assert_eq!(num(&s["opening_balance"]), Decimal::ZERO, "{s}");
        assert_eq!(num(&s["movement"]), sums[party], "{party}: the statement adds up to its CSV lines: {s}");
        assert_eq!(num(&s["closing_balance"]), sums[party], "{s}");
    }
    // The CPOs are owed money, the eMSP owes it.
    assert!(sums["NL-CPO"] < Decimal::ZERO && sums["NL-MCP"] < Decimal::ZERO && sums["DE-EMS"] > Decimal::ZERO, "{sums:?}");
    assert_eq!(num(&by_party["NL-MCP"]["amount_to_pay"]), -sums["NL-MCP"]);
    assert_eq!(num(&by_party["DE-EMS"]["amount_to_collect"]), sums["DE-EMS"]);
    // The ledger balances: what the CPOs are owed and the eMSP owes differ by the hub's fees.
    let fees_total: Decimal = want_rows.iter().filter(|r| r.1 == "fee").map(|r| r.3).sum();
    assert_eq!(sums.values().copied().sum::<Decimal>(), fees_total, "{sums:?}");

    // --- Payouts ------------------------------------------------------------------------------
    let cents = |x: Decimal| -> i64 {
        let c = (x * d("100")).round_dp_with_strategy(0, RoundingStrategy::ToZero);
        c.to_string().parse().unwrap()
    };
    let payout = hub.cli(&["payout", "run"]);
    let movements = payout["movements"].as_array().unwrap_or_else(|| panic!("{payout}"));
    let transfers = fake.transfers();
    assert_eq!(transfers.len(), 2, "one transfer per CPO statement: {transfers:?}\n{payout}");
    for party in ["NL-CPO", "NL-MCP"] {
        let want = cents(-sums[party]);
        let m = movements
            .iter()
            .find(|m| m["kind"] == "payout" && format!("{}-{}", m["country_code"].as_str().unwrap(), m["party_id"].as_str().unwrap()) == party)
            .unwrap_or_else(|| panic!("no payout for {party}: {payout}"));
        assert_eq!(m["amount_minor"], json!(want), "{party}: {m}");
        assert_eq!(m["statement_id"], by_party[party]["id"], "{m}");
        let t: Vec<&Value> = transfers.iter().filter(|t| t["destination"] == accounts[party].as_str()).collect();
        assert_eq!(t.len(), 1, "{party}: {transfers:?}");
        assert_eq!((t[0]["amount"].clone(), t[0]["currency"].clone()), (json!(want), json!("eur")), "{party}: {:?}", t[0]);
    }
    let collection = movements.iter().find(|m| m["kind"] == "collection").unwrap_or_else(|| panic!("no collection: {payout}"));
    assert_eq!((collection["country_code"].clone(), collection["party_id"].clone()), (json!("DE"), json!("EMS")));
    assert_eq!(collection["amount_minor"], json!(cents(sums["DE-EMS"])), "{collection}");
    assert!(matches!(collection["status"].as_str(), Some("sent" | "paid")), "{collection}");

    // A second run moves nothing more.
    let again = hub.cli(&["payout", "run"]);
    assert_eq!(again["planned"], 0, "{again}");
    assert_eq!(fake.transfers().len(), 2);
}
