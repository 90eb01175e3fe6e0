//! Clearing end to end, on SQLite and (with `HUB_TEST_POSTGRES_URL`) PostgreSQL: two CPOs and an
//! eMSP register with the real `ocpi-hub serve`, the CPOs push their tariffs and CDRs through
//! it (so the hub keeps its copies as it does for any routed CDR), and the operator's CLI sets
//! fee contracts, runs a settlement, lists statements and prints the CSV and JSON reports,
//! which must reconcile to the cent with the CDRs and the fee contracts as computed here. Then
//! holds and release, bad input, and the HTTP report: each party sees only its own statements,
//! the operator's token sees all.

mod common;

use common::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The CPOs' tariff: ENERGY at 0.25 per kWh excl. VAT, 10 % VAT.
fn tariff(cc: &str, pid: &str) -> Value {
    json!({
        "country_code": cc, "party_id": pid, "id": "T1", "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": "0.25", "vat": "10", "step_size": 1}]}],
        "last_updated": "2026-01-01T00:00:00Z"
    })
}

/// (excl, incl) of `kwh` with [`tariff`], rounded to 4 decimals as OCPI.
fn rated(kwh: Decimal) -> (Decimal, Decimal) {
    let r = |x: Decimal| x.round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let excl = r(kwh * d("0.25"));
    (excl, r(excl * d("1.10")))
}

/// A CDR of `cpo` for a token of DE-EMS: `kwh` in one hour ending at `end`, with `total`.
fn cdr(cpo: (&str, &str), id: &str, kwh: Decimal, total: (Decimal, Decimal), end: &str, credit_of: Option<&str>) -> Value {
    let mut v = ems_cdr(cpo, id, &kwh.to_string(), (&total.0.to_string(), &total.1.to_string()), end);
    if let Some(orig) = credit_of {
        v["credit"] = json!(true);
        v["credit_reference_id"] = json!(orig);
    }
    v
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap_or_else(|| panic!("not a decimal string: {v}")).parse().unwrap()
}

/// A CDR the test sends, with what the ledger must make of it.
struct Sent {
    cpo: (&'static str, &'static str),
    id: String,
    kwh: Decimal,
    total: (Decimal, Decimal),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_cli_and_http_report_on_every_database() {
    for db in TestDb::all() {
        eprintln!("=== settlement scenario on {}", db.kind());
        scenario(&db).await;
    }
}

/// `ocpi-hub settlement token` before the hub starts: the operator's token and its hash.
fn operator_token(db: &TestDb) -> (String, String) {
    let mut cmd = Command::new(HUB_BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HUB__") {
            cmd.env_remove(key);
        }
    }
    let out = cmd.env("HUB__DATABASE__URL", db.url()).args(["settlement", "token"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (v["token"].as_str().unwrap().to_string(), v["report_token"].as_str().unwrap().to_string())
}

/// Runs the CLI, expects failure, returns stderr.
fn cli_fails(hub: &Hub, args: &[&str]) -> String {
    let out = hub.cli_output(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "`{}` succeeded: {}", args.join(" "), String::from_utf8_lossy(&out.stdout));
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

async fn scenario(db: &TestDb) {
    let (op_token, op_hash) = operator_token(db);
    assert!(op_hash.starts_with("$argon2"), "stored hashed: {op_hash}");
    let hub = Hub::start_with_env(db, &[("HUB__CLEARING__REPORT_TOKEN", &op_hash)]);
    let emsp = Party::new([("DE", "EMS", "EMSP")]);
    let cpo = Party::new([("NL", "CPO", "CPO")]);
    let cpo2 = Party::new([("BE", "CP2", "CPO")]);
    register_invited(&hub, &emsp, "DE", "EMS", "EMSP").await;
    let cpo_token = register_invited(&hub, &cpo, "NL", "CPO", "CPO").await;
    let cpo2_token = register_invited(&hub, &cpo2, "BE", "CP2", "CPO").await;

    for (party, cc, pid) in [(&cpo, "NL", "CPO"), (&cpo2, "BE", "CP2")] {
        let (status, _, body) = party.call("PUT", "tariffs", "receiver", &format!("/{cc}/{pid}/T1"), Some(("NL", "HUB")), Some(tariff(cc, pid))).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    }

    // --- CDRs through the hub ------------------------------------------------------------
    let mut sent: Vec<Sent> = Vec::new();
    let jan = "2026-01-15T10:00:00Z";
    for (i, k) in ["10", "7.5", "12.345", "0.333", "42.0007"].iter().enumerate() {
        let kwh = d(k);
        sent.push(Sent { cpo: ("NL", "CPO"), id: format!("NL{i}"), kwh, total: rated(kwh) });
    }
    for (i, k) in ["3", "19.99", "8.125"].iter().enumerate() {
        let kwh = d(k);
        sent.push(Sent { cpo: ("BE", "CP2"), id: format!("BE{i}"), kwh, total: rated(kwh) });
    }
    for s in &sent {
        let party = if s.cpo.0 == "NL" { &cpo } else { &cpo2 };
        let (status, _, body) = party.call("POST", "cdrs", "receiver", "", Some(("DE", "EMS")), Some(cdr(s.cpo, &s.id, s.kwh, s.total, jan, None))).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    }
    // A credit of NL1 (the whole CDR refunded, fees included), a CDR 1.00 off the tariff
    // (held for review), and one of February (settled, but not in January's statement).
    let (e1, i1) = rated(d("7.5"));
    let extra = [
        cdr(("NL", "CPO"), "NL1-CREDIT", d("7.5"), (-e1, -i1), "2026-01-20T10:00:00Z", Some("NL1")),
        cdr(("NL", "CPO"), "NLOFF", d("4"), (rated(d("4")).0 + Decimal::ONE, rated(d("4")).1 + Decimal::ONE), jan, None),
        cdr(("NL", "CPO"), "NLFEB", d("6"), rated(d("6")), "2026-02-03T10:00:00Z", None),
    ];
    for c in extra {
        let (status, _, body) = cpo.call("POST", "cdrs", "receiver", "", Some(("DE", "EMS")), Some(c)).await;
        assert_eq!((status, body["status_code"].clone()), (200, json!(1000)), "{body}");
    }

    // --- Fees ----------------------------------------------------------------------------
    let set = hub.cli(&["fees", "set", "--country-code", "NL", "--party-id", "CPO", "--fixed", "0.25", "--percent", "2.5", "--currency", "EUR"]);
    assert_eq!((set["fixed"].clone(), set["percent"].clone()), (json!("0.2500"), json!("2.5000")), "{set}");
    hub.cli(&["fees", "set", "--country-code", "de", "--party-id", "ems", "--fixed", "0", "--percent", "1", "--currency", "eur"]);
    let list = hub.cli(&["fees", "list"]);
    let contracts: Vec<(String, String, String)> = list.as_array().unwrap().iter()
        .map(|c| (format!("{}-{}", c["country_code"].as_str().unwrap(), c["party_id"].as_str().unwrap()), c["currency"].as_str().unwrap().into(), c["percent"].as_str().unwrap().into()))
        .collect();
    assert_eq!(contracts, [("DE-EMS".into(), "EUR".into(), "1.0000".into()), ("NL-CPO".into(), "EUR".into(), "2.5000".into())]);
    let fee = |party: &str, net: Decimal| -> Decimal {
        let r = |x: Decimal| x.round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        match party {
            "NL-CPO" => d("0.25") + r(net * d("2.5") / d("100")),
            "DE-EMS" => r(net * d("1") / d("100")),
            _ => Decimal::ZERO,
        }
    };

    // --- Run -------------------------------------------------------------------------------
    let run = hub.cli(&["settlement", "run", "--from", "2026-01-01", "--to", "2026-02-01"]);
    let settled = &run["settled"];
    assert_eq!(settled["examined"], 11, "{run}");
    assert_eq!((settled["settled"].clone(), settled["credits"].clone(), settled["held"].clone()), (json!(10), json!(1), json!(1)), "{run}");
    assert_eq!(run["period"]["already_closed"], false);
    let statements = hub.cli(&["settlement", "list", "--from", "2026-01-01", "--to", "2026-02-01"]);
    let by_party: BTreeMap<String, Value> = statements.as_array().unwrap().iter()
        .map(|s| (format!("{}-{}", s["country_code"].as_str().unwrap(), s["party_id"].as_str().unwrap()), s.clone()))
        .collect();
    assert_eq!(by_party.keys().cloned().collect::<Vec<_>>(), ["BE-CP2", "DE-EMS", "NL-CPO"], "{statements}");
    let only_cpo = hub.cli(&["settlement", "list", "--country-code", "NL", "--party-id", "CPO"]);
    assert_eq!(only_cpo.as_array().unwrap().len(), 1);

    // What each statement must say, computed here from the CDRs and the contracts. NL1 and its
    // credit cancel out in the balance, but both are counted (cdr_count / credit_count).
    let mut want: BTreeMap<&str, (i64, Decimal, Decimal, Decimal, Decimal, Decimal)> = BTreeMap::new(); // count, kwh, net, gross, fees, movement
    for s in &sent {
        let cpo_name = format!("{}-{}", s.cpo.0, s.cpo.1);
        let cpo_key: &str = if s.cpo.0 == "NL" { "NL-CPO" } else { "BE-CP2" };
        let credited = s.id == "NL1";
        for (party, sign) in [(cpo_key, -1), ("DE-EMS", 1)] {
            let w = want.entry(party).or_default();
            w.0 += 1;
            w.1 += s.kwh;
            w.2 += s.total.0;
            w.3 += s.total.1;
            let f = fee(if party == "DE-EMS" { "DE-EMS" } else { &cpo_name }, s.total.0);
            if !credited {
                w.4 += f;
                w.5 += Decimal::from(sign) * s.total.1 + f;
            }
        }
    }
    for (party, (count, kwh, net, gross, fees, movement)) in &want {
        let s = &by_party[*party];
        assert_eq!(s["cdr_count"], json!(count), "{party}: {s}");
        assert_eq!(dec(&s["kwh"]), *kwh, "{party}");
        assert_eq!(dec(&s["net"]), *net, "{party}");
        assert_eq!(dec(&s["gross"]), *gross, "{party}");
        assert_eq!(dec(&s["vat"]), *gross - *net, "{party}");
        assert_eq!(dec(&s["fees"]), *fees, "{party}");
        assert_eq!(dec(&s["movement"]), *movement, "{party}");
        assert_eq!(dec(&s["closing_balance"]), dec(&s["opening_balance"]) + *movement, "{party}");
    }
    assert_eq!(by_party["NL-CPO"]["credit_count"], 1);
    assert_eq!(dec(&by_party["NL-CPO"]["credits"]), i1);
    assert_eq!((by_party["NL-CPO"]["held_count"].clone(), dec(&by_party["NL-CPO"]["held"])), (json!(1), rated(d("4")).1 + Decimal::ONE));
    assert_eq!(dec(&by_party["NL-CPO"]["amount_to_pay"]), -want["NL-CPO"].5);
    assert_eq!(dec(&by_party["DE-EMS"]["amount_to_collect"]), want["DE-EMS"].5);
    // Every CDR amount moved has a counterpart: the parties' movements plus the hub's fees net out.
    let total_movement: Decimal = want.values().map(|w| w.5).sum();
    let total_fees: Decimal = want.values().map(|w| w.4).sum();
    assert_eq!(total_movement, total_fees);

    // --- Reports -------------------------------------------------------------------------------
    let report = hub.cli(&["settlement", "report", "--from", "2026-01-01", "--to", "2026-02-01", "--format", "json"]);
    let reports = report["statements"].as_array().unwrap();
    assert_eq!(reports.len(), 3);
    let mut json_cdr_ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in reports {
        let s = &r["statement"];
        let party = format!("{}-{}", s["country_code"].as_str().unwrap(), s["party_id"].as_str().unwrap());
        let lines = r["lines"].as_array().unwrap();
        let sum: Decimal = lines.iter().map(|l| dec(&l["amount"])).sum();
        assert_eq!(sum, dec(&s["movement"]), "{party}: the lines add up to the statement");
        let ids: BTreeSet<String> = lines.iter().filter(|l| l["role"] != "fee").map(|l| l["cdr_id"].as_str().unwrap().to_string()).collect();
        json_cdr_ids.insert(party, ids);
    }
    let expect_ids = |prefix: &str| -> BTreeSet<String> {
        let mut s: BTreeSet<String> = sent.iter().filter(|c| c.id.starts_with(prefix)).map(|c| c.id.clone()).collect();
        if prefix == "NL" || prefix.is_empty() {
            s.insert("NL1-CREDIT".into());
        }
        s
    };
    assert_eq!(json_cdr_ids["NL-CPO"], expect_ids("NL"));
    assert_eq!(json_cdr_ids["BE-CP2"], expect_ids("BE"));
    assert_eq!(json_cdr_ids["DE-EMS"], expect_ids(""));

    let out = hub.cli_output(&["settlement", "report", "--from", "2026-01-01", "--to", "2026-02-01", "--format", "csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    assert_eq!(header.join(","), "statement_id,period_from,period_to,country_code,party_id,currency,line_id,entry_id,entry_kind,role,\
cdr_country_code,cdr_party_id,cdr_id,credit_reference_id,effective_at,kwh,net,vat,gross,amount");
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut csv_sums: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut csv_ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut n = 0;
    for row in rows {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), header.len(), "{row}");
        let party = format!("{}-{}", f[col("country_code")], f[col("party_id")]);
        *csv_sums.entry(party.clone()).or_default() += d(f[col("amount")]);
        if f[col("role")] != "fee" {
            csv_ids.entry(party).or_default().insert(f[col("cdr_id")].to_string());
        }
        n += 1;
    }
    assert_eq!(n, reports.iter().map(|r| r["lines"].as_array().unwrap().len()).sum::<usize>());
    for (party, s) in &by_party {
        assert_eq!(csv_sums[party], dec(&s["movement"]), "{party}: CSV amounts reconcile");
    }
    assert_eq!(csv_ids, json_cdr_ids);
    let one = hub.cli(&["settlement", "report", "--from", "2026-01-01", "--to", "2026-02-01", "--country-code", "BE", "--party-id", "CP2", "--format", "json"]);
    assert_eq!(one["statements"].as_array().unwrap().len(), 1);

    // --- Holds and release ---------------------------------------------------------------------
    let holds = hub.cli(&["settlement", "holds"]);
    let holds = holds.as_array().unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(holds[0]["cdr_id"], "NLOFF");
    assert!(holds[0]["hold_reason"].as_str().unwrap().contains("differs from the hub's rating"), "{holds:?}");
    let released = hub.cli(&["settlement", "release", "--country-code", "NL", "--party-id", "CPO", "--cdr-id", "NLOFF"]);
    assert_eq!(released["status"], "settled");
    assert_eq!(hub.cli(&["settlement", "holds"]), json!([]));
    let again = cli_fails(&hub, &["settlement", "release", "--country-code", "NL", "--party-id", "CPO", "--cdr-id", "NLOFF"]);
    assert!(again.contains("not held"), "{again}");
    let unknown = cli_fails(&hub, &["settlement", "release", "--country-code", "NL", "--party-id", "CPO", "--cdr-id", "NOPE"]);
    assert!(unknown.contains("no settlement of CDR NOPE"), "{unknown}");
    // The same period again changes nothing; February takes the released CDR and NLFEB.
    let rerun = hub.cli(&["settlement", "run", "--from", "2026-01-01", "--to", "2026-02-01"]);
    assert_eq!(rerun["period"]["already_closed"], true);
    assert_eq!(rerun["period"]["statements"], run["period"]["statements"]);
    let feb = hub.cli(&["settlement", "run", "--from", "2026-02-01", "--to", "2026-03-01"]);
    let feb_cpo = feb["period"]["statements"].as_array().unwrap().iter().find(|s| s["party_id"] == "CPO").unwrap().clone();
    assert_eq!(feb_cpo["cdr_count"], 2, "{feb_cpo}");
    assert_eq!(feb_cpo["opening_balance"], by_party["NL-CPO"]["closing_balance"]);

    // --- Bad input: clear errors, non-zero exit ------------------------------------------------
    let e = cli_fails(&hub, &["settlement", "run", "--from", "2026-13-01", "--to", "2026-03-01"]);
    assert!(e.contains("2026-13-01") && e.contains("YYYY-MM-DD"), "{e}");
    let e = cli_fails(&hub, &["settlement", "report", "--from", "2026-01-01", "--to", "2026-02-01", "--format", "xml"]);
    assert!(e.contains("xml") && e.contains("csv"), "{e}");
    let e = cli_fails(&hub, &["fees", "set", "--country-code", "NL", "--party-id", "CPO", "--fixed", "abc", "--percent", "1", "--currency", "EUR"]);
    assert!(e.contains("`abc` is not a decimal"), "{e}");
    let e = cli_fails(&hub, &["fees", "set", "--country-code", "NL", "--party-id", "CPO", "--fixed", "0.00001", "--percent", "1", "--currency", "EUR"]);
    assert!(e.contains("more than 4 decimals"), "{e}");
    let e = cli_fails(&hub, &["fees", "set", "--country-code", "NL", "--party-id", "CPO", "--fixed", "1", "--percent", "101", "--currency", "EUR"]);
    assert!(e.contains("between 0 and 100"), "{e}");
    let e = cli_fails(&hub, &["settlement", "run", "--from", "2026-02-15", "--to", "2026-04-01"]);
    assert!(e.contains("closed already"), "{e}");
    assert_eq!(hub.cli(&["fees", "list"]), list, "nothing half-stored");

    // --- HTTP report -----------------------------------------------------------------------------
    let client = http_client();
    let url = format!("{}/clearing/v1/reports", hub.base_url());
    let get = |token: Option<String>, query: &str| {
        let mut rq = client.get(format!("{url}?{query}"));
        if let Some(t) = token {
            rq = rq.header("Authorization", t);
        }
        async move {
            let r = rq.send().await.unwrap();
            let status = r.status().as_u16();
            let ctype = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            (status, ctype, r.text().await.unwrap())
        }
    };
    let q = "from=2026-01-01&to=2026-02-01&format=json";
    for (token, party) in [(&cpo_token, "NL-CPO"), (&cpo2_token, "BE-CP2")] {
        let (status, _, body) = get(Some(auth_header(token)), q).await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let parties: BTreeSet<String> = v["statements"].as_array().unwrap().iter()
            .map(|r| format!("{}-{}", r["statement"]["country_code"].as_str().unwrap(), r["statement"]["party_id"].as_str().unwrap()))
            .collect();
        assert_eq!(parties, BTreeSet::from([party.to_string()]), "{party} sees only its own statements");
        let cli_one = reports.iter().find(|r| format!("{}-{}", r["statement"]["country_code"].as_str().unwrap(), r["statement"]["party_id"].as_str().unwrap()) == party).unwrap();
        assert_eq!(&v["statements"][0], cli_one, "the same report as the CLI's");
    }
    // The raw token form works too; CSV has the CLI's rows for that party.
    let (status, ctype, body) = get(Some(format!("Token {cpo2_token}")), "from=2026-01-01&to=2026-02-01&format=csv").await;
    assert_eq!(status, 200, "{body}");
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let be_rows: Vec<&str> = csv.lines().skip(1).filter(|l| l.contains(",BE,CP2,EUR,")).collect();
    assert_eq!(body.lines().skip(1).collect::<Vec<_>>(), be_rows);
    // Naming another party's statements is refused.
    let (status, _, body) = get(Some(auth_header(&cpo_token)), "from=2026-01-01&to=2026-02-01&country_code=BE&party_id=CP2").await;
    assert_eq!(status, 403, "{body}");
    // No token, a bad token: 401. Bad parameters: 400 naming them.
    assert_eq!(get(None, q).await.0, 401);
    assert_eq!(get(Some(auth_header("not-a-token")), q).await.0, 401);
    for (query, needle) in [("to=2026-02-01", "`from` is required"), ("from=2026-01-01&to=2026-02-01&format=xml", "format `xml`"), ("from=yesterday&to=2026-02-01", "from:")] {
        let (status, _, body) = get(Some(auth_header(&cpo_token)), query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(needle), "{query}: {body}");
    }
    // The operator's token sees every party.
    let (status, _, body) = get(Some(auth_header(&op_token)), q).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(&v["statements"], &report["statements"]);
}
