//! The double-entry ledger of the hub, in the hub's database (`migrations/*/20261121000005_ledger.sql`).
//!
//! - An entry ([`NewEntry`]) is a set of lines, each an amount on an account in a currency:
//!   debit positive, credit negative. Every entry sums to zero per currency: [`NewEntry::check`]
//!   refuses one that does not before anything is written, and [`post`] checks again in SQL,
//!   inside the transaction that wrote the lines, before it commits.
//! - Entries and lines are append-only (triggers refuse UPDATE and DELETE). A correction is a
//!   new entry: a credit CDR is settled as the exact reversal of the original CDR's entry
//!   ([`settle`]).
//! - Balances are derived from lines ([`balance`], [`trial_balance`]); nothing stores a balance
//!   that could drift from them (a statement's closing balance is the sum of its lines on top
//!   of the previous statement's).
//! - Each entry has a unique `reference` (what it is for, e.g. `cdr/NL/ABC/1234`), so the same
//!   fact cannot be posted twice.
//!
//! Accounts ([`Account`]) are names: `party:CC:PID` is a party's position with the hub (positive:
//! the party owes the hub; negative: the hub owes the party), `hub:fees` is the hub's fee
//! revenue.
//!
//! Payouts and collections (`crate::payments::payouts`) are entries too: a payout to a CPO is
//! `payout/statement/<id>` debiting `party:CC:PID` and crediting `processor:stripe`, written in
//! the same transaction as the pending row whose Stripe idempotency key is derived from the
//! entry's id (`ocpi-hub-payout-<entry id>`), so a crash or a retried call moves the amount once.
//! Such entries enter the next statement like any other.

pub mod fees;
pub mod money;
pub mod settle;
pub mod statements;

use std::collections::BTreeMap;

use hub_core::party::PartyKey;
use hub_core::store::{Db, Store, StoreError};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;

pub use money::{from_e4, round4, to_e4};

/// Why a clearing operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClearingError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An entry whose lines do not sum to zero in a currency. Nothing was written.
    #[error("unbalanced entry {reference}: {currency} lines sum to {sum}")]
    Unbalanced { reference: String, currency: String, sum: Decimal },
    /// An amount that cannot be kept exactly (more than 4 decimals, or too large).
    #[error("{0}")]
    Precision(String),
    /// Bad input from the operator (a period, a fee, an unknown id).
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
}

pub type Result<T> = std::result::Result<T, ClearingError>;

/// Expands `$body` once per back end with `$pool` bound to the pool (as hub-core's `dispatch!`),
/// so each runs natively typed sqlx code.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store.db() {
            hub_core::store::Db::Sqlite($pool) => $body,
            hub_core::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// The statement that opens a writing transaction: on SQLite take the write lock up front (a
/// deferred transaction that reads first cannot upgrade once another connection wrote).
pub(crate) fn begin_write(store: &Store) -> &'static str {
    match store.db() {
        Db::Sqlite(_) => "BEGIN IMMEDIATE",
        Db::Postgres(_) => "BEGIN",
    }
}

/// A ledger account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Account {
    /// A party's position with the hub: positive when the party owes the hub.
    Party(PartyKey),
    /// The hub's revenue from fees.
    HubFees,
}

impl Account {
    pub fn name(&self) -> String {
        match self {
            Account::Party(p) => format!("party:{}:{}", p.country_code, p.party_id),
            Account::HubFees => "hub:fees".to_string(),
        }
    }

    pub fn parse(name: &str) -> Option<Account> {
        if name == "hub:fees" {
            return Some(Account::HubFees);
        }
        let rest = name.strip_prefix("party:")?;
        let (cc, pid) = rest.split_once(':')?;
        Some(Account::Party(PartyKey::new(cc, pid)))
    }
}

/// What a line is for: the CDR amount moving between the parties, or a hub fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Cdr,
    Fee,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Cdr => "cdr",
            LineKind::Fee => "fee",
        }
    }
}

/// One line of a new entry. `amount_e4`: units of 0.0001, debit positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub account: String,
    pub currency: String,
    pub kind: &'static str,
    pub amount_e4: i64,
}

/// An entry to post.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// `cdr`, `reversal` (later `payout`, ...).
    pub kind: &'static str,
    /// Unique: what the entry is for.
    pub reference: String,
    pub settlement_id: Option<i64>,
    pub reverses_entry_id: Option<i64>,
    /// When it happened (micros): the period it belongs to.
    pub effective_at: i64,
    pub lines: Vec<NewLine>,
}

impl NewEntry {
    /// Refuses an entry without lines or whose lines do not sum to zero in some currency.
    pub fn check(&self) -> Result<()> {
        if self.lines.len() < 2 {
            return Err(ClearingError::Invalid(format!("entry {} needs at least two lines", self.reference)));
        }
        let mut sums: BTreeMap<&str, i128> = BTreeMap::new();
        for l in &self.lines {
            *sums.entry(&l.currency).or_default() += i128::from(l.amount_e4);
        }
        match sums.into_iter().find(|(_, s)| *s != 0) {
            None => Ok(()),
            Some((currency, sum)) => Err(ClearingError::Unbalanced {
                reference: self.reference.clone(),
                currency: currency.to_string(),
                sum: Decimal::from_i128_with_scale(sum, 4),
            }),
        }
    }

    /// The entry that undoes this one's lines exactly.
    pub fn reversed_lines(lines: &[NewLine]) -> Vec<NewLine> {
        lines.iter().map(|l| NewLine { amount_e4: -l.amount_e4, ..l.clone() }).collect()
    }
}

/// Inserts a checked entry and its lines in the open transaction `$tx`; evaluates to the
/// entry's id. The caller runs [`check_balanced!`] before committing.
macro_rules! insert_entry {
    ($tx:expr, $entry:expr, $now:expr) => {{
        let e: &$crate::ledger::NewEntry = $entry;
        e.check()?;
        let id: i64 = sqlx::query(
            "INSERT INTO ledger_entries (kind, reference, settlement_id, reverses_entry_id, effective_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(e.kind)
        .bind(&e.reference)
        .bind(e.settlement_id)
        .bind(e.reverses_entry_id)
        .bind(e.effective_at)
        .bind($now)
        .fetch_one(&mut *$tx)
        .await?
        .try_get("id")?;
        let mut qb = sqlx::QueryBuilder::new("INSERT INTO ledger_lines (entry_id, account, currency, kind, amount_e4) ");
        qb.push_values(&e.lines, |mut b, l| {
            b.push_bind(id).push_bind(l.account.clone()).push_bind(l.currency.clone()).push_bind(l.kind).push_bind(l.amount_e4);
        });
        qb.build().execute(&mut *$tx).await?;
        id
    }};
}
pub(crate) use insert_entry;

/// Before commit: the entries with ids in `$from..=$to` must sum to zero per currency, as the
/// database holds them (the SQL check behind [`NewEntry::check`]). Returns early with
/// [`ClearingError::Unbalanced`] (the transaction is dropped, i.e. rolled back) otherwise.
macro_rules! check_balanced {
    ($tx:expr, $from:expr, $to:expr) => {{
        let row = sqlx::query(
            "SELECT e.reference, l.currency, CAST(SUM(l.amount_e4) AS BIGINT) AS s FROM ledger_lines l \
             JOIN ledger_entries e ON e.id = l.entry_id WHERE l.entry_id >= $1 AND l.entry_id <= $2 \
             GROUP BY e.reference, l.currency HAVING SUM(l.amount_e4) <> 0 LIMIT 1",
        )
        .bind($from)
        .bind($to)
        .fetch_optional(&mut *$tx)
        .await?;
        if let Some(r) = row {
            return Err($crate::ledger::ClearingError::Unbalanced {
                reference: r.try_get("reference")?,
                currency: r.try_get("currency")?,
                sum: $crate::ledger::from_e4(r.try_get("s")?),
            });
        }
    }};
}
pub(crate) use check_balanced;

/// Posts entries in one transaction: all or none. Returns their ids.
pub async fn post(store: &Store, entries: &[NewEntry]) -> Result<Vec<i64>> {
    for e in entries {
        e.check()?;
    }
    let now = hub_core::store::now_micros();
    with_pool!(store, pool => {
        let mut tx = pool.begin_with(begin_write(store)).await?;
        let mut ids = Vec::with_capacity(entries.len());
        for e in entries {
            ids.push(insert_entry!(tx, e, now));
        }
        if let (Some(first), Some(last)) = (ids.first(), ids.last()) {
            check_balanced!(tx, *first, *last);
        }
        tx.commit().await?;
        Ok(ids)
    })
}

/// The balance of an account in a currency: the sum of its lines.
pub async fn balance(store: &Store, account: &Account, currency: &str) -> Result<Decimal> {
    with_pool!(store, pool => {
        let v: Option<i64> = sqlx::query("SELECT CAST(SUM(amount_e4) AS BIGINT) AS s FROM ledger_lines WHERE account = $1 AND currency = $2")
            .bind(account.name()).bind(currency).fetch_one(pool).await?.try_get("s")?;
        Ok(from_e4(v.unwrap_or(0)))
    })
}

/// One row of the trial balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountBalance {
    pub account: String,
    pub currency: String,
    #[serde(with = "money::e4_str")]
    pub balance_e4: i64,
}

/// Every account's balance per currency, derived from the lines. In a sound ledger the
/// balances of each currency sum to zero.
pub async fn trial_balance(store: &Store) -> Result<Vec<AccountBalance>> {
    with_pool!(store, pool => {
        let rows = sqlx::query("SELECT account, currency, CAST(SUM(amount_e4) AS BIGINT) AS s FROM ledger_lines GROUP BY account, currency ORDER BY account, currency")
            .fetch_all(pool).await?;
        rows.iter().map(|r| Ok(AccountBalance {
            account: r.try_get("account")?,
            currency: r.try_get("currency")?,
            balance_e4: r.try_get::<Option<i64>, _>("s")?.unwrap_or(0),
        })).collect()
    })
}

/// Entries whose lines do not sum to zero in some currency, as stored (should be none).
pub async fn unbalanced_entries(store: &Store) -> Result<Vec<(i64, String)>> {
    with_pool!(store, pool => {
        let rows = sqlx::query("SELECT entry_id, currency FROM ledger_lines GROUP BY entry_id, currency HAVING SUM(amount_e4) <> 0")
            .fetch_all(pool).await?;
        rows.iter().map(|r| Ok((r.try_get("entry_id")?, r.try_get("currency")?))).collect()
    })
}
