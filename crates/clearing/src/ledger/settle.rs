//! Settling CDRs: each CDR copy the hub keeps (`objects`, module `cdrs`) becomes exactly one
//! row of `cdr_settlements`, either settled (with its ledger entry) or held for review.
//!
//! - Idempotent: the row's unique key is the CDR's (country_code, party_id, id); it is inserted
//!   with `ON CONFLICT DO NOTHING` in the same transaction as the entry, so two runs (or two
//!   processes) settle a CDR once.
//! - What is owed: the eMSP of the CDR's token owes the CPO the CDR's `total_cost.incl_vat`
//!   (gross; `excl_vat` when the CDR gives no `incl_vat`, i.e. no VAT the hub can know of). Net
//!   and VAT are kept beside it for the statements; VAT is between CPO and eMSP, the hub only
//!   moves the gross. The entry: eMSP `+gross`, CPO `-gross`, and for each of the two parties
//!   with a fee contract in the CDR's currency (`fees.rs`) the party `+fee`, `hub:fees` `-fee`.
//! - Checked against the hub's own rating: the tariff of the CDR's charging periods, from the
//!   hub's copy (`tariffs` of the CDR's owner), priced with [`crate::rating::price_cdr`] in the
//!   time zone of the hub's copy of the location (else of the country). A `total_cost` that
//!   differs by more than [`SettleOptions::tolerance`] (excl. or incl. VAT) puts the CDR on hold;
//!   so does a CDR the hub cannot rate (no tariff held, several tariffs, rating error) unless
//!   [`SettleOptions::settle_unrated`]. Also held: a CDR without the eMSP in its token, or with
//!   amounts of more than 4 decimals, or that does not parse. [`release`] settles a held CDR
//!   after review.
//! - A credit CDR (`credit: true`, `credit_reference_id`) is settled as the exact reversal of
//!   the credited CDR's entry (fees included) when its `total_cost` is the negative of the
//!   original's; otherwise, or while the original is not settled, it is held.
//! - [`settle_pending`] scans the copies not settled yet in insertion order (`objects.seq`) in
//!   batches, one transaction per batch; an interrupted run resumes where it stopped because
//!   settled copies are skipped by the scan itself. It never touches the router's hot path.
//!   Within a batch the rows are written with one multi-row INSERT per table and chunk of 500
//!   CDRs (`insert_batch!`; credits, which need their original's entry, one by one after).
//!
//! Energy is kept in kWh rounded to 4 decimals (0.1 Wh) for the statements.

use std::collections::HashMap;

use chrono_tz::Tz;
use hub_core::ocpi::v221::{Cdr, Tariff};
use hub_core::party::PartyKey;
use hub_core::store::{ObjectKey, Store};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;

use super::fees::{self, FeeContract};
use super::money::{round4, to_e4};
use super::{Account, ClearingError, LineKind, NewEntry, NewLine, Result, begin_write, check_balanced, insert_entry, with_pool};
use crate::rating;

/// How CDRs are checked before they are settled.
#[derive(Debug, Clone)]
pub struct SettleOptions {
    /// Largest difference accepted between a CDR's `total_cost` and the hub's rating, in the
    /// CDR's currency (excl. and incl. VAT each).
    pub tolerance: Decimal,
    /// Settle CDRs the hub cannot rate instead of holding them.
    pub settle_unrated: bool,
    /// CDRs per transaction.
    pub batch_size: usize,
}

impl Default for SettleOptions {
    fn default() -> Self {
        Self { tolerance: Decimal::new(1, 2), settle_unrated: false, batch_size: 1000 }
    }
}

/// What a settling pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SettleReport {
    /// CDR copies looked at.
    pub examined: u64,
    /// Settled with an entry (credits included).
    pub settled: u64,
    /// Of which credit CDRs settled as reversals.
    pub credits: u64,
    /// Put on hold.
    pub held: u64,
    /// Settled meanwhile by someone else (another run): skipped.
    pub skipped: u64,
}

/// What the CDR says, as the ledger needs it.
#[derive(Debug, Clone)]
struct Facts {
    seq: i64,
    /// The settlement key: the hub's copy's owner and id, as stored.
    key_cc: String,
    key_pid: String,
    cdr_id: String,
    cpo: PartyKey,
    emsp: Option<PartyKey>,
    currency: String,
    credit: bool,
    credit_reference_id: Option<String>,
    kwh_e4: i64,
    net_e4: i64,
    vat_e4: i64,
    gross_e4: i64,
    effective_at: i64,
}

/// What to do with a CDR.
#[derive(Debug, Clone)]
struct Decision {
    facts: Facts,
    /// `None`: settle; `Some(reason)`: hold.
    hold: Option<String>,
    rated_e4: Option<i64>,
    cpo_fee_e4: i64,
    emsp_fee_e4: i64,
}

/// The settlement row of a CDR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settlement {
    pub id: i64,
    pub country_code: String,
    pub party_id: String,
    pub cdr_id: String,
    pub status: String,
    pub hold_reason: Option<String>,
    pub emsp_country_code: String,
    pub emsp_party_id: String,
    pub currency: String,
    pub credit: bool,
    pub credit_reference_id: Option<String>,
    #[serde(rename = "kwh", with = "super::money::e4_str")]
    pub kwh_e4: i64,
    #[serde(rename = "net", with = "super::money::e4_str")]
    pub net_e4: i64,
    #[serde(rename = "vat", with = "super::money::e4_str")]
    pub vat_e4: i64,
    #[serde(rename = "gross", with = "super::money::e4_str")]
    pub gross_e4: i64,
    #[serde(rename = "rated_excl_vat", serialize_with = "opt_e4")]
    pub rated_e4: Option<i64>,
    #[serde(rename = "cpo_fee", with = "super::money::e4_str")]
    pub cpo_fee_e4: i64,
    #[serde(rename = "emsp_fee", with = "super::money::e4_str")]
    pub emsp_fee_e4: i64,
    pub effective_at: i64,
}

fn opt_e4<S: serde::Serializer>(v: &Option<i64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&super::from_e4(*v).to_string()),
        None => s.serialize_none(),
    }
}

const SETTLEMENT_COLS: &str = "id, country_code, party_id, cdr_id, status, hold_reason, emsp_country_code, emsp_party_id, currency, credit, \
     credit_reference_id, kwh_e4, net_e4, vat_e4, gross_e4, rated_e4, cpo_fee_e4, emsp_fee_e4, effective_at";

macro_rules! settlement_from_row {
    ($r:expr) => {{
        let r = $r;
        Settlement {
            id: r.try_get("id")?,
            country_code: r.try_get("country_code")?,
            party_id: r.try_get("party_id")?,
            cdr_id: r.try_get("cdr_id")?,
            status: r.try_get("status")?,
            hold_reason: r.try_get("hold_reason")?,
            emsp_country_code: r.try_get("emsp_country_code")?,
            emsp_party_id: r.try_get("emsp_party_id")?,
            currency: r.try_get("currency")?,
            credit: r.try_get::<i64, _>("credit")? != 0,
            credit_reference_id: r.try_get("credit_reference_id")?,
            kwh_e4: r.try_get("kwh_e4")?,
            net_e4: r.try_get("net_e4")?,
            vat_e4: r.try_get("vat_e4")?,
            gross_e4: r.try_get("gross_e4")?,
            rated_e4: r.try_get("rated_e4")?,
            cpo_fee_e4: r.try_get("cpo_fee_e4")?,
            emsp_fee_e4: r.try_get("emsp_fee_e4")?,
            effective_at: r.try_get("effective_at")?,
        }
    }};
}

/// The hub's copies of tariffs and locations and the fee contracts, read once per run.
struct Context<'a> {
    store: &'a Store,
    options: &'a SettleOptions,
    fees: HashMap<(String, String, String), FeeContract>,
    tariffs: HashMap<(PartyKey, String), Option<Tariff>>,
    zones: HashMap<(PartyKey, String), Option<String>>,
}

impl<'a> Context<'a> {
    async fn new(store: &'a Store, options: &'a SettleOptions) -> Result<Self> {
        let fees = fees::list(store)
            .await?
            .into_iter()
            .map(|c| ((c.country_code.clone(), c.party_id.clone(), c.currency.clone()), c))
            .collect();
        Ok(Self { store, options, fees, tariffs: HashMap::new(), zones: HashMap::new() })
    }

    fn fee(&self, party: &PartyKey, currency: &str, net_e4: i64) -> Result<i64> {
        match self.fees.get(&(party.country_code.clone(), party.party_id.clone(), currency.to_ascii_uppercase())) {
            None => Ok(0),
            Some(c) => to_e4(c.fee(super::from_e4(net_e4)), "fee"),
        }
    }

    async fn tariff(&mut self, owner: &PartyKey, id: &str) -> Result<Option<Tariff>> {
        let k = (owner.clone(), id.to_string());
        if let Some(t) = self.tariffs.get(&k) {
            return Ok(t.clone());
        }
        let t = match self.store.get_object(&ObjectKey::new("tariffs", owner, id)).await? {
            Some(o) => rating::parse_tariff(o.body.as_bytes()).ok(),
            None => None,
        };
        self.tariffs.insert(k, t.clone());
        Ok(t)
    }

    async fn zone(&mut self, owner: &PartyKey, location: &str) -> Result<Option<String>> {
        let k = (owner.clone(), location.to_string());
        if let Some(z) = self.zones.get(&k) {
            return Ok(z.clone());
        }
        let z = match self.store.get_object(&ObjectKey::new("locations", owner, location)).await? {
            Some(o) => o.json()?.get("time_zone").and_then(|v| v.as_str()).map(str::to_string),
            None => None,
        };
        self.zones.insert(k, z.clone());
        Ok(z)
    }

    /// The hub's rating of the CDR's `total_cost`, or why there is none.
    async fn rate(&mut self, cdr: &Cdr, owner: &PartyKey) -> Result<std::result::Result<(Decimal, Option<Decimal>), String>> {
        let mut ids: Vec<&str> = cdr.charging_periods.iter().filter_map(|p| p.tariff_id.as_deref()).collect();
        ids.sort_unstable();
        ids.dedup();
        let id = match ids.as_slice() {
            [] => return Ok(Err("unrated: the CDR names no tariff".into())),
            [one] => *one,
            _ => return Ok(Err("unrated: the CDR names several tariffs".into())),
        };
        let Some(tariff) = self.tariff(owner, id).await? else {
            return Ok(Err(format!("unrated: the hub holds no tariff {id} of {owner}")));
        };
        let zone = match self.zone(owner, &cdr.cdr_location.id).await? {
            Some(name) => name.parse::<Tz>().map_err(|_| format!("unrated: unknown time zone {name}")),
            None => rating::resolve_time_zone(None, &tariff, cdr).map_err(|e| format!("unrated: {e}")),
        };
        let zone = match zone {
            Ok(z) => z,
            Err(m) => return Ok(Err(m)),
        };
        Ok(match rating::price_cdr(&tariff, cdr, zone) {
            Ok(t) => Ok((t.total_cost.excl_vat, t.total_cost.incl_vat)),
            Err(e) => Err(format!("unrated: {e}")),
        })
    }

    /// Reads a CDR copy and decides. `force`: an operator released it, so the rating check is
    /// skipped (everything else still applies).
    async fn decide(&mut self, seq: i64, key: &ObjectKey, body: &str, force: bool) -> Result<Decision> {
        let cpo = key.owner();
        let mut facts = Facts {
            seq,
            key_cc: key.country_code.clone(),
            key_pid: key.party_id.clone(),
            cdr_id: key.id.clone(),
            cpo: cpo.clone(),
            emsp: None,
            currency: String::new(),
            credit: false,
            credit_reference_id: None,
            kwh_e4: 0,
            net_e4: 0,
            vat_e4: 0,
            gross_e4: 0,
            effective_at: 0,
        };
        let hold = |facts: Facts, reason: String| Decision { facts, hold: Some(reason), rated_e4: None, cpo_fee_e4: 0, emsp_fee_e4: 0 };
        let cdr = match rating::parse_cdr(body.as_bytes()) {
            Ok(c) => c,
            Err(e) => return Ok(hold(facts, format!("invalid: {e}"))),
        };
        facts.currency = cdr.currency.to_ascii_uppercase();
        facts.credit = cdr.credit == Some(true);
        facts.credit_reference_id = cdr.credit_reference_id.clone();
        facts.effective_at = cdr.end_date_time.utc().timestamp_micros();
        facts.emsp = match (&cdr.cdr_token.country_code, &cdr.cdr_token.party_id) {
            (Some(cc), Some(pid)) => Some(PartyKey::new(cc, pid)),
            _ => None,
        };
        let net = cdr.total_cost.excl_vat;
        let gross = cdr.total_cost.incl_vat.unwrap_or(net);
        let amounts = (|| -> Result<(i64, i64, i64)> {
            Ok((to_e4(round4(cdr.total_energy), "total_energy")?, to_e4(net, "total_cost.excl_vat")?, to_e4(gross, "total_cost.incl_vat")?))
        })();
        match amounts {
            Ok((kwh, n, g)) => {
                facts.kwh_e4 = kwh;
                facts.net_e4 = n;
                facts.gross_e4 = g;
                facts.vat_e4 = g - n;
            }
            Err(e) => return Ok(hold(facts, format!("invalid: {e}"))),
        }
        let Some(emsp) = facts.emsp.clone() else {
            return Ok(hold(facts, "invalid: cdr_token names no eMSP (country_code, party_id)".into()));
        };
        if facts.credit {
            // Fees and the check are those of the credited CDR (see `settle_credit!`).
            return Ok(Decision { facts, hold: None, rated_e4: None, cpo_fee_e4: 0, emsp_fee_e4: 0 });
        }
        let mut rated_e4 = None;
        let mut hold_reason = None;
        match self.rate(&cdr, &cpo).await? {
            Ok((excl, incl)) => {
                rated_e4 = to_e4(round4(excl), "rating").ok();
                let tol = self.options.tolerance;
                let off_excl = (excl - net).abs() > tol;
                let off_incl = matches!((incl, cdr.total_cost.incl_vat), (Some(a), Some(b)) if (a - b).abs() > tol);
                if off_excl || off_incl {
                    hold_reason = Some(format!(
                        "total_cost {net} excl. / {} incl. VAT differs from the hub's rating {excl} / {} by more than {tol}",
                        opt(cdr.total_cost.incl_vat),
                        opt(incl)
                    ));
                }
            }
            Err(reason) if !self.options.settle_unrated => hold_reason = Some(reason),
            Err(_) => {}
        }
        if force {
            hold_reason = None;
        }
        let cpo_fee_e4 = self.fee(&cpo, &facts.currency, facts.net_e4)?;
        let emsp_fee_e4 = self.fee(&emsp, &facts.currency, facts.net_e4)?;
        Ok(Decision { facts, hold: hold_reason, rated_e4, cpo_fee_e4, emsp_fee_e4 })
    }
}

fn opt(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
}

/// The entry of a settled (non-credit) CDR.
fn cdr_entry(d: &Decision, settlement_id: i64) -> NewEntry {
    let f = &d.facts;
    let emsp = Account::Party(f.emsp.clone().expect("decided with an eMSP")).name();
    let cpo = Account::Party(f.cpo.clone()).name();
    let line = |account: &str, kind: LineKind, amount_e4: i64| NewLine {
        account: account.to_string(),
        currency: f.currency.clone(),
        kind: kind.as_str(),
        amount_e4,
    };
    let mut lines = vec![line(&emsp, LineKind::Cdr, f.gross_e4), line(&cpo, LineKind::Cdr, -f.gross_e4)];
    let fees = Account::HubFees.name();
    for (party, fee) in [(&cpo, d.cpo_fee_e4), (&emsp, d.emsp_fee_e4)] {
        if fee != 0 {
            lines.push(line(party, LineKind::Fee, fee));
            lines.push(line(&fees, LineKind::Fee, -fee));
        }
    }
    NewEntry {
        kind: "cdr",
        reference: format!("cdr/{}/{}/{}", f.key_cc, f.key_pid, f.cdr_id),
        settlement_id: Some(settlement_id),
        reverses_entry_id: None,
        effective_at: f.effective_at,
        lines,
    }
}

/// Inserts the settlement row of a decision (`ON CONFLICT DO NOTHING`); evaluates to its id, or
/// `None` when the CDR already has one.
macro_rules! insert_settlement {
    ($tx:expr, $d:expr, $status:expr, $reason:expr, $now:expr) => {{
        let d: &Decision = $d;
        let f = &d.facts;
        let (ecc, epid) = f.emsp.as_ref().map(|p| (p.country_code.clone(), p.party_id.clone())).unwrap_or_default();
        let row = sqlx::query(
            "INSERT INTO cdr_settlements (country_code, party_id, cdr_id, object_seq, status, hold_reason, emsp_country_code, emsp_party_id, \
             currency, credit, credit_reference_id, kwh_e4, net_e4, vat_e4, gross_e4, rated_e4, cpo_fee_e4, emsp_fee_e4, effective_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20) \
             ON CONFLICT (country_code, party_id, cdr_id) DO NOTHING RETURNING id",
        )
        .bind(&f.key_cc).bind(&f.key_pid).bind(&f.cdr_id).bind(f.seq).bind($status).bind($reason)
        .bind(ecc).bind(epid).bind(&f.currency).bind(i64::from(f.credit)).bind(&f.credit_reference_id)
        .bind(f.kwh_e4).bind(f.net_e4).bind(f.vat_e4).bind(f.gross_e4).bind(d.rated_e4).bind(d.cpo_fee_e4).bind(d.emsp_fee_e4)
        .bind(f.effective_at).bind($now)
        .fetch_optional(&mut *$tx).await?;
        match row {
            Some(r) => Some(r.try_get::<i64, _>("id")?),
            None => None,
        }
    }};
}

/// For a credit CDR, inside the transaction: `Ok((original entry id, its lines, original
/// fees))` to reverse, or `Err(reason)` to hold it.
macro_rules! credited_original {
    ($tx:expr, $f:expr) => {{
        let f: &Facts = $f;
        let reference = f.credit_reference_id.clone().unwrap_or_default();
        let orig = sqlx::query("SELECT id, status, currency, net_e4, gross_e4, cpo_fee_e4, emsp_fee_e4 FROM cdr_settlements WHERE country_code = $1 AND party_id = $2 AND cdr_id = $3")
            .bind(&f.key_cc).bind(&f.key_pid).bind(&reference)
            .fetch_optional(&mut *$tx).await?;
        match orig {
            None => Err(format!("credit of {reference}: the credited CDR is not settled")),
            Some(o) => {
                let status: String = o.try_get("status")?;
                let currency: String = o.try_get("currency")?;
                let (net, gross): (i64, i64) = (o.try_get("net_e4")?, o.try_get("gross_e4")?);
                if status != "settled" {
                    Err(format!("credit of {reference}: the credited CDR is not settled"))
                } else if currency != f.currency || net != -f.net_e4 || gross != -f.gross_e4 {
                    Err(format!("credit of {reference}: total_cost is not the negative of the credited CDR's"))
                } else {
                    let oid: i64 = o.try_get("id")?;
                    let fees: (i64, i64) = (o.try_get("cpo_fee_e4")?, o.try_get("emsp_fee_e4")?);
                    let entry = sqlx::query("SELECT id FROM ledger_entries WHERE settlement_id = $1 AND kind = 'cdr'")
                        .bind(oid).fetch_one(&mut *$tx).await?;
                    let entry_id: i64 = entry.try_get("id")?;
                    let done = sqlx::query("SELECT id FROM ledger_entries WHERE reverses_entry_id = $1")
                        .bind(entry_id).fetch_optional(&mut *$tx).await?;
                    if done.is_some() {
                        Err(format!("credit of {reference}: the credited CDR was credited already"))
                    } else {
                        let rows = sqlx::query("SELECT account, currency, kind, amount_e4 FROM ledger_lines WHERE entry_id = $1 ORDER BY id")
                            .bind(entry_id).fetch_all(&mut *$tx).await?;
                        let mut lines = Vec::with_capacity(rows.len());
                        for r in &rows {
                            let kind: String = r.try_get("kind")?;
                            lines.push(NewLine {
                                account: r.try_get("account")?,
                                currency: r.try_get("currency")?,
                                kind: if kind == "fee" { LineKind::Fee.as_str() } else { LineKind::Cdr.as_str() },
                                amount_e4: -r.try_get::<i64, _>("amount_e4")?,
                            });
                        }
                        Ok((entry_id, lines, fees))
                    }
                }
            }
        }
    }};
}

/// Settles (or holds) decisions in one open transaction. `$existing`: the settlement row of a
/// held CDR being released (updated instead of inserted). Evaluates to the entry ids written.
macro_rules! apply_decision {
    ($tx:expr, $d:expr, $existing:expr, $now:expr, $report:expr) => {{
        let mut d: Decision = $d;
        let existing: Option<i64> = $existing;
        let mut entry_ids: Vec<i64> = Vec::new();
        // A credit is decided here, against the original as the transaction sees it.
        let mut reversal = None;
        if d.hold.is_none() && d.facts.credit {
            match credited_original!($tx, &d.facts) {
                Ok((orig_entry, lines, (cpo_fee, emsp_fee))) => {
                    d.cpo_fee_e4 = -cpo_fee;
                    d.emsp_fee_e4 = -emsp_fee;
                    reversal = Some((orig_entry, lines));
                }
                Err(reason) => d.hold = Some(reason),
            }
        }
        let status = if d.hold.is_some() { "held" } else { "settled" };
        let id = match existing {
            None => insert_settlement!($tx, &d, status, d.hold.clone(), $now),
            Some(id) => {
                let n = sqlx::query("UPDATE cdr_settlements SET status = $1, hold_reason = $2, rated_e4 = $3, cpo_fee_e4 = $4, emsp_fee_e4 = $5, updated_at = $6 WHERE id = $7 AND status = 'held'")
                    .bind(status).bind(d.hold.clone()).bind(d.rated_e4).bind(d.cpo_fee_e4).bind(d.emsp_fee_e4).bind($now).bind(id)
                    .execute(&mut *$tx).await?.rows_affected();
                (n == 1).then_some(id)
            }
        };
        match id {
            None => $report.skipped += 1,
            Some(_) if d.hold.is_some() => $report.held += 1,
            Some(id) => {
                let entry = match reversal {
                    None => cdr_entry(&d, id),
                    Some((orig_entry, lines)) => {
                        $report.credits += 1;
                        NewEntry {
                            kind: "reversal",
                            reference: format!("reversal/{}/{}/{}", d.facts.key_cc, d.facts.key_pid, d.facts.cdr_id),
                            settlement_id: Some(id),
                            reverses_entry_id: Some(orig_entry),
                            effective_at: d.facts.effective_at,
                            lines,
                        }
                    }
                };
                entry_ids.push(insert_entry!($tx, &entry, $now));
                $report.settled += 1;
            }
        }
        entry_ids
    }};
}

/// Rows per multi-row INSERT: 500 settlement rows bind 10 500 parameters and their up to 3 000
/// lines 15 000, under SQLite's 32 766 (and PostgreSQL's 65 535) bound-parameter limit.
const INSERT_CHUNK: usize = 500;

/// Settles (or holds) a chunk of decisions that need nothing from the database (no credit to
/// match) in the open transaction, with one multi-row INSERT per table instead of a statement
/// per CDR: settlement rows `ON CONFLICT DO NOTHING RETURNING` (a CDR another run settled
/// meanwhile is not returned, so it gets no entry: exactly once), then the entries of the rows
/// settled, then their lines. Evaluates to the entry ids written.
macro_rules! insert_batch {
    ($tx:expr, $chunk:expr, $now:expr, $report:expr) => {{
        let chunk: &[Decision] = $chunk;
        let now: i64 = $now;
        let mut entry_ids: Vec<i64> = Vec::new();
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO cdr_settlements (country_code, party_id, cdr_id, object_seq, status, hold_reason, emsp_country_code, emsp_party_id, \
             currency, credit, credit_reference_id, kwh_e4, net_e4, vat_e4, gross_e4, rated_e4, cpo_fee_e4, emsp_fee_e4, effective_at, created_at, updated_at) ",
        );
        qb.push_values(chunk, |mut b, d| {
            let f = &d.facts;
            let (ecc, epid) = f.emsp.as_ref().map(|p| (p.country_code.clone(), p.party_id.clone())).unwrap_or_default();
            b.push_bind(f.key_cc.clone()).push_bind(f.key_pid.clone()).push_bind(f.cdr_id.clone()).push_bind(f.seq)
                .push_bind(if d.hold.is_some() { "held" } else { "settled" }).push_bind(d.hold.clone())
                .push_bind(ecc).push_bind(epid).push_bind(f.currency.clone()).push_bind(i64::from(f.credit)).push_bind(f.credit_reference_id.clone())
                .push_bind(f.kwh_e4).push_bind(f.net_e4).push_bind(f.vat_e4).push_bind(f.gross_e4).push_bind(d.rated_e4)
                .push_bind(d.cpo_fee_e4).push_bind(d.emsp_fee_e4).push_bind(f.effective_at).push_bind(now).push_bind(now);
        });
        qb.push(" ON CONFLICT (country_code, party_id, cdr_id) DO NOTHING RETURNING id, country_code, party_id, cdr_id");
        let rows = qb.build().fetch_all(&mut *$tx).await?;
        let mut inserted: HashMap<(String, String, String), i64> = HashMap::with_capacity(rows.len());
        for r in &rows {
            inserted.insert((r.try_get("country_code")?, r.try_get("party_id")?, r.try_get("cdr_id")?), r.try_get("id")?);
        }
        $report.skipped += (chunk.len() - inserted.len()) as u64;
        let mut entries: Vec<NewEntry> = Vec::with_capacity(inserted.len());
        for d in chunk {
            let f = &d.facts;
            let Some(id) = inserted.get(&(f.key_cc.clone(), f.key_pid.clone(), f.cdr_id.clone())) else { continue };
            if d.hold.is_some() {
                $report.held += 1;
                continue;
            }
            let e = cdr_entry(d, *id);
            e.check()?;
            entries.push(e);
            $report.settled += 1;
        }
        if !entries.is_empty() {
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO ledger_entries (kind, reference, settlement_id, reverses_entry_id, effective_at, created_at) ");
            qb.push_values(&entries, |mut b, e| {
                b.push_bind(e.kind).push_bind(e.reference.clone()).push_bind(e.settlement_id).push_bind(e.reverses_entry_id)
                    .push_bind(e.effective_at).push_bind(now);
            });
            qb.push(" RETURNING id, reference");
            let rows = qb.build().fetch_all(&mut *$tx).await?;
            let mut by_reference: HashMap<String, i64> = HashMap::with_capacity(rows.len());
            for r in &rows {
                by_reference.insert(r.try_get("reference")?, r.try_get("id")?);
            }
            let mut lines: Vec<(i64, &NewLine)> = Vec::with_capacity(entries.len() * 4);
            for e in &entries {
                let id = by_reference[&e.reference];
                entry_ids.push(id);
                lines.extend(e.lines.iter().map(|l| (id, l)));
            }
            for part in lines.chunks(INSERT_CHUNK * 6) {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO ledger_lines (entry_id, account, currency, kind, amount_e4) ");
                qb.push_values(part, |mut b, (id, l)| {
                    b.push_bind(*id).push_bind(l.account.clone()).push_bind(l.currency.clone()).push_bind(l.kind).push_bind(l.amount_e4);
                });
                qb.build().execute(&mut *$tx).await?;
            }
        }
        entry_ids
    }};
}

/// Progress of a settlement run, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// `done` of `total` pending CDR copies settled or held.
    Settling { done: u64, total: u64 },
    /// The period's statements are being written.
    Closing,
}

/// Settles every CDR copy that has no settlement row yet. Resumable: see the module doc.
pub async fn settle_pending(store: &Store, options: &SettleOptions, progress: &mut (dyn FnMut(Progress) + Send)) -> Result<SettleReport> {
    let mut ctx = Context::new(store, options).await?;
    let mut report = SettleReport::default();
    const PENDING: &str = "FROM objects o WHERE o.module = 'cdrs' AND NOT EXISTS (SELECT 1 FROM cdr_settlements s \
                           WHERE s.country_code = o.country_code AND s.party_id = o.party_id AND s.cdr_id = o.object_id)";
    let total: i64 = with_pool!(store, pool => {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) AS n {PENDING}"))).fetch_one(pool).await?.try_get("n")?
    });
    let total = total as u64;
    progress(Progress::Settling { done: 0, total });
    let batch = options.batch_size.max(1) as i64;
    let mut after = 0i64;
    loop {
        let sql = format!("SELECT o.seq, o.country_code, o.party_id, o.object_id, o.body {PENDING} AND o.seq > $1 ORDER BY o.seq LIMIT $2");
        let rows: Vec<(i64, ObjectKey, String)> = with_pool!(store, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after).bind(batch).fetch_all(pool).await?;
            rows.iter().map(|r| Ok((
                r.try_get("seq")?,
                ObjectKey {
                    module: "cdrs".into(),
                    country_code: r.try_get("country_code")?,
                    party_id: r.try_get("party_id")?,
                    id: r.try_get("object_id")?,
                },
                r.try_get("body")?,
            ))).collect::<Result<Vec<_>>>()?
        });
        let Some(last) = rows.last() else { break };
        after = last.0;
        let mut decisions = Vec::with_capacity(rows.len());
        for (seq, key, body) in &rows {
            decisions.push(ctx.decide(*seq, key, body, false).await?);
        }
        let n = decisions.len() as u64;
        let now = hub_core::store::now_micros();
        with_pool!(store, pool => {
            let mut tx = pool.begin_with(begin_write(store)).await?;
            let mut ids: Vec<i64> = Vec::new();
            // Credits need their original's entry (possibly written just above in this
            // transaction), so they go one by one after the rest, which go in bulk.
            let (credits, plain): (Vec<Decision>, Vec<Decision>) = decisions.into_iter().partition(|d| d.hold.is_none() && d.facts.credit);
            for chunk in plain.chunks(INSERT_CHUNK) {
                ids.extend(insert_batch!(tx, chunk, now, report));
            }
            for d in credits {
                ids.extend(apply_decision!(tx, d, None, now, report));
            }
            if let (Some(lo), Some(hi)) = (ids.iter().min(), ids.iter().max()) {
                check_balanced!(tx, *lo, *hi);
            }
            tx.commit().await?;
        });
        report.examined += n;
        progress(Progress::Settling { done: report.examined, total: total.max(report.examined) });
    }
    tracing::info!(?report, "settled pending CDRs");
    Ok(report)
}

/// Settles a held CDR after review: the rating check is skipped, everything else applies (a
/// credit still needs its original settled; an invalid CDR cannot be released).
pub async fn release(store: &Store, owner: &PartyKey, cdr_id: &str, options: &SettleOptions) -> Result<Settlement> {
    let row = find(store, owner, cdr_id).await?.ok_or_else(|| ClearingError::NotFound(format!("no settlement of CDR {cdr_id} of {owner}")))?;
    if row.status != "held" {
        return Err(ClearingError::Invalid(format!("CDR {cdr_id} of {owner} is {}, not held", row.status)));
    }
    let key = ObjectKey {
        module: "cdrs".into(),
        country_code: row.country_code.clone(),
        party_id: row.party_id.clone(),
        id: row.cdr_id.clone(),
    };
    let copy = store.get_object(&key).await?.ok_or_else(|| ClearingError::NotFound(format!("the hub has no copy of CDR {cdr_id} of {owner}")))?;
    let mut ctx = Context::new(store, options).await?;
    let d = ctx.decide(copy.seq, &key, &copy.body, true).await?;
    if let Some(reason) = &d.hold {
        return Err(ClearingError::Invalid(format!("CDR {cdr_id} of {owner} cannot be settled: {reason}")));
    }
    let now = hub_core::store::now_micros();
    let mut report = SettleReport::default();
    with_pool!(store, pool => {
        let mut tx = pool.begin_with(begin_write(store)).await?;
        let ids = apply_decision!(tx, d, Some(row.id), now, report);
        if let (Some(lo), Some(hi)) = (ids.iter().min(), ids.iter().max()) {
            check_balanced!(tx, *lo, *hi);
        }
        tx.commit().await?;
    });
    let after = find(store, owner, cdr_id).await?.ok_or_else(|| ClearingError::NotFound(cdr_id.to_string()))?;
    if report.skipped > 0 {
        return Err(ClearingError::Invalid(format!("CDR {cdr_id} of {owner} was released meanwhile")));
    }
    if report.held > 0 {
        return Err(ClearingError::Invalid(format!(
            "CDR {cdr_id} of {owner} stays held: {}",
            after.hold_reason.unwrap_or_default()
        )));
    }
    Ok(after)
}

/// The settlement row of a CDR (the key as the hub's copy has it, compared without case).
pub async fn find(store: &Store, owner: &PartyKey, cdr_id: &str) -> Result<Option<Settlement>> {
    let sql = format!("SELECT {SETTLEMENT_COLS} FROM cdr_settlements WHERE UPPER(country_code) = $1 AND UPPER(party_id) = $2 AND cdr_id = $3");
    with_pool!(store, pool => {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&owner.country_code).bind(&owner.party_id).bind(cdr_id).fetch_optional(pool).await?;
        Ok(match row {
            Some(r) => Some(settlement_from_row!(&r)),
            None => None,
        })
    })
}

/// CDRs on hold, oldest first.
pub async fn holds(store: &Store) -> Result<Vec<Settlement>> {
    let sql = format!("SELECT {SETTLEMENT_COLS} FROM cdr_settlements WHERE status = 'held' ORDER BY effective_at, id");
    with_pool!(store, pool => {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(settlement_from_row!(r));
        }
        Ok(out)
    })
}
