//! Settlement periods and statements: `ocpi-hub settlement run --from --to` closes a period
//! [from, to) and writes one statement per party and currency; `settlement report` prints a
//! statement with the trail from it to its ledger lines and CDR ids.
//!
//! - A statement holds every line on the party's account, in its currency, that is in no
//!   statement yet and whose entry is effective before `to` (so a CDR settled after its period
//!   was closed lands in the next period's statement). `statement_items` has one row per line
//!   (primary key), so a line, hence a settled CDR, is in exactly one statement of each party
//!   it involves. Closing a period is one transaction.
//! - Periods follow each other: a period may not start before the end of the last closed one.
//!   Running a closed period again returns its statements unchanged (nothing is counted twice).
//! - Figures: the balance is what the party owes the hub (negative: what the hub owes the
//!   party). opening = the previous statement's closing; closing = opening + the sum of the
//!   statement's lines; `amount_to_collect` / `amount_to_pay` is the closing balance's side.
//!   `cdr_count`, `kwh`, `net`, `vat`, `gross` are over the settled CDRs the party was CPO or
//!   eMSP of; `fees` the hub fees charged to the party, net of fees refunded by credits;
//!   `credits` the gross of the credit CDRs settled (as a positive amount); `held_*` the CDRs
//!   of the party on hold, effective before `to`, for information (not in the balance).
//!
//! The CSV schema of the report is documented in `docs/settlement-report.md`.

use chrono::{DateTime, NaiveDate, Utc};
use hub_core::party::PartyKey;
use hub_core::store::Store;
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;

use super::money::{self, from_e4};
use super::settle::Progress;
use super::{Account, ClearingError, Result, begin_write, with_pool};

/// A date (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 timestamp, as microseconds.
pub fn parse_bound(s: &str) -> Result<i64> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_micros());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
        .map_err(|_| ClearingError::Invalid(format!("`{s}`: expected a date YYYY-MM-DD or an RFC 3339 timestamp")))
}

fn rfc3339(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros).map(|t| t.to_rfc3339()).unwrap_or_default()
}

/// A statement: one party, one currency, one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub id: i64,
    pub period_id: i64,
    #[serde(serialize_with = "ser_time")]
    pub period_from: i64,
    #[serde(serialize_with = "ser_time")]
    pub period_to: i64,
    pub country_code: String,
    pub party_id: String,
    pub currency: String,
    #[serde(rename = "opening_balance", with = "money::e4_str")]
    pub opening_balance_e4: i64,
    pub cdr_count: i64,
    #[serde(rename = "kwh", with = "money::e4_str")]
    pub kwh_e4: i64,
    #[serde(rename = "net", with = "money::e4_str")]
    pub net_e4: i64,
    #[serde(rename = "vat", with = "money::e4_str")]
    pub vat_e4: i64,
    #[serde(rename = "gross", with = "money::e4_str")]
    pub gross_e4: i64,
    #[serde(rename = "fees", with = "money::e4_str")]
    pub fees_e4: i64,
    pub credit_count: i64,
    #[serde(rename = "credits", with = "money::e4_str")]
    pub credits_e4: i64,
    pub held_count: i64,
    #[serde(rename = "held", with = "money::e4_str")]
    pub held_e4: i64,
    #[serde(rename = "movement", with = "money::e4_str")]
    pub movement_e4: i64,
    #[serde(rename = "closing_balance", with = "money::e4_str")]
    pub closing_balance_e4: i64,
    #[serde(rename = "amount_to_collect", with = "money::e4_str")]
    pub to_collect_e4: i64,
    #[serde(rename = "amount_to_pay", with = "money::e4_str")]
    pub to_pay_e4: i64,
}

fn ser_time<S: serde::Serializer>(v: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*v))
}

const STATEMENT_SELECT: &str = "SELECT s.id, s.period_id, p.period_from, p.period_to, s.country_code, s.party_id, s.currency, s.opening_balance_e4, \
     s.cdr_count, s.kwh_e4, s.net_e4, s.vat_e4, s.gross_e4, s.fees_e4, s.credit_count, s.credits_e4, s.held_count, s.held_e4, s.movement_e4, \
     s.closing_balance_e4 FROM statements s JOIN settlement_periods p ON p.id = s.period_id";

macro_rules! statement_from_row {
    ($r:expr) => {{
        let r = $r;
        let closing: i64 = r.try_get("closing_balance_e4")?;
        Statement {
            id: r.try_get("id")?,
            period_id: r.try_get("period_id")?,
            period_from: r.try_get("period_from")?,
            period_to: r.try_get("period_to")?,
            country_code: r.try_get("country_code")?,
            party_id: r.try_get("party_id")?,
            currency: r.try_get("currency")?,
            opening_balance_e4: r.try_get("opening_balance_e4")?,
            cdr_count: r.try_get("cdr_count")?,
            kwh_e4: r.try_get("kwh_e4")?,
            net_e4: r.try_get("net_e4")?,
            vat_e4: r.try_get("vat_e4")?,
            gross_e4: r.try_get("gross_e4")?,
            fees_e4: r.try_get("fees_e4")?,
            credit_count: r.try_get("credit_count")?,
            credits_e4: r.try_get("credits_e4")?,
            held_count: r.try_get("held_count")?,
            held_e4: r.try_get("held_e4")?,
            movement_e4: r.try_get("movement_e4")?,
            closing_balance_e4: closing,
            to_collect_e4: closing.max(0),
            to_pay_e4: (-closing).max(0),
        }
    }};
}

/// The outcome of closing a period.
#[derive(Debug, Clone, Serialize)]
pub struct ClosedPeriod {
    pub period_id: i64,
    #[serde(serialize_with = "ser_time")]
    pub from: i64,
    #[serde(serialize_with = "ser_time")]
    pub to: i64,
    /// The period had been closed before: these are its statements as they were.
    pub already_closed: bool,
    pub statements: Vec<Statement>,
}

/// Closes the period [from, to) (micros): see the module doc.
pub async fn close_period(store: &Store, from: i64, to: i64, progress: &mut (dyn FnMut(Progress) + Send)) -> Result<ClosedPeriod> {
    if from >= to {
        return Err(ClearingError::Invalid("the period must end after it starts (--from < --to)".into()));
    }
    progress(Progress::Closing);
    let now = hub_core::store::now_micros();
    let is_pg = matches!(store.db(), hub_core::store::Db::Postgres(_));
    let (period_id, already) = with_pool!(store, pool => {
        let mut tx = pool.begin_with(begin_write(store)).await?;
        if is_pg {
            // Two runs at once: the second waits, then sees the first's period.
            sqlx::query("LOCK TABLE settlement_periods IN EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        let same = sqlx::query("SELECT id FROM settlement_periods WHERE period_from = $1 AND period_to = $2")
            .bind(from).bind(to).fetch_optional(&mut *tx).await?;
        let (period_id, already) = if let Some(r) = same {
            (r.try_get::<i64, _>("id")?, true)
        } else {
            let last = sqlx::query("SELECT period_to FROM settlement_periods WHERE period_to > $1 ORDER BY period_to DESC LIMIT 1")
                .bind(from).fetch_optional(&mut *tx).await?;
            if let Some(r) = last {
                let end: i64 = r.try_get("period_to")?;
                return Err(ClearingError::Invalid(format!(
                    "a period up to {} is closed already: the next period starts at or after it", rfc3339(end))));
            }
            let period_id: i64 = sqlx::query("INSERT INTO settlement_periods (period_from, period_to, closed_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(from).bind(to).bind(now).fetch_one(&mut *tx).await?.try_get("id")?;

            // Who gets a statement: parties with lines not in a statement yet, and parties with
            // CDRs on hold.
            let mut parties: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
            let rows = sqlx::query(
                "SELECT l.account, l.currency FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id \
                 WHERE e.effective_at < $1 AND l.account LIKE 'party:%' \
                 AND NOT EXISTS (SELECT 1 FROM statement_items i WHERE i.line_id = l.id) GROUP BY l.account, l.currency")
                .bind(to).fetch_all(&mut *tx).await?;
            for r in &rows {
                parties.entry((r.try_get("account")?, r.try_get("currency")?)).or_default();
            }
            for side in ["", "emsp_"] {
                let sql = format!(
                    "SELECT {side}country_code AS cc, {side}party_id AS pid, currency, COUNT(*) AS n, CAST(SUM(gross_e4) AS BIGINT) AS g \
                     FROM cdr_settlements WHERE status = 'held' AND currency <> '' AND {side}country_code <> '' AND effective_at < $1 \
                     GROUP BY {side}country_code, {side}party_id, currency");
                for r in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to).fetch_all(&mut *tx).await? {
                    let account = Account::Party(PartyKey::new(r.try_get("cc")?, r.try_get("pid")?)).name();
                    let held = parties.entry((account, r.try_get("currency")?)).or_default();
                    held.0 += r.try_get::<i64, _>("n")?;
                    held.1 += r.try_get::<Option<i64>, _>("g")?.unwrap_or(0);
                }
            }
            for ((account, currency), (held_n, held_g)) in &parties {
                let Some(Account::Party(party)) = Account::parse(account) else { continue };
                let opening: i64 = sqlx::query("SELECT closing_balance_e4 FROM statements WHERE account = $1 AND currency = $2 ORDER BY period_id DESC LIMIT 1")
                    .bind(account).bind(currency).fetch_optional(&mut *tx).await?
                    .map(|r| r.try_get("closing_balance_e4")).transpose()?.unwrap_or(0);
                sqlx::query(
                    "INSERT INTO statements (period_id, country_code, party_id, account, currency, opening_balance_e4, cdr_count, kwh_e4, net_e4, vat_e4, \
                     gross_e4, fees_e4, credit_count, credits_e4, held_count, held_e4, movement_e4, closing_balance_e4, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, 0, 0, 0, 0, 0, $7, $8, 0, $6, $9)")
                    .bind(period_id).bind(&party.country_code).bind(&party.party_id).bind(account).bind(currency)
                    .bind(opening).bind(held_n).bind(held_g).bind(now)
                    .execute(&mut *tx).await?;
            }
            sqlx::query(
                "INSERT INTO statement_items (line_id, statement_id) SELECT l.id, s.id FROM ledger_lines l \
                 JOIN ledger_entries e ON e.id = l.entry_id JOIN statements s ON s.period_id = $1 AND s.account = l.account AND s.currency = l.currency \
                 WHERE e.effective_at < $2 AND NOT EXISTS (SELECT 1 FROM statement_items i WHERE i.line_id = l.id)")
                .bind(period_id).bind(to).execute(&mut *tx).await?;
            let figures = sqlx::query(
                "SELECT i.statement_id AS sid, \
                 CAST(SUM(l.amount_e4) AS BIGINT) AS movement, \
                 CAST(SUM(CASE WHEN l.kind = 'cdr' AND e.kind = 'cdr' THEN 1 ELSE 0 END) AS BIGINT) AS cdr_count, \
                 CAST(SUM(CASE WHEN l.kind = 'cdr' AND e.kind = 'cdr' THEN c.kwh_e4 ELSE 0 END) AS BIGINT) AS kwh, \
                 CAST(SUM(CASE WHEN l.kind = 'cdr' AND e.kind = 'cdr' THEN c.net_e4 ELSE 0 END) AS BIGINT) AS net, \
                 CAST(SUM(CASE WHEN l.kind = 'cdr' AND e.kind = 'cdr' THEN c.vat_e4 ELSE 0 END) AS BIGINT) AS vat, \
                 CAST(SUM(CASE WHEN l.kind = 'cdr' AND e.kind = 'cdr' THEN c.gross_e4 ELSE 0 END) AS BIGINT) AS gross, \
                 CAST(SUM(CASE WHEN l.kind = 'fee' THEN l.amount_e4 ELSE 0 END) AS BIGINT) AS fees, \
                 CAST(SUM(CASE WHEN l.kind = 'cdr' AND e.kind = 'reversal' THEN 1 ELSE 0 END) AS BIGINT) AS credit_count, \
                 CAST(SUM(CASE WHEN l.kind = 'cdr' AND e.kind = 'reversal' THEN -c.gross_e4 ELSE 0 END) AS BIGINT) AS credits \
                 FROM statement_items i JOIN statements s ON s.id = i.statement_id JOIN ledger_lines l ON l.id = i.line_id \
                 JOIN ledger_entries e ON e.id = l.entry_id LEFT JOIN cdr_settlements c ON c.id = e.settlement_id \
                 WHERE s.period_id = $1 GROUP BY i.statement_id")
                .bind(period_id).fetch_all(&mut *tx).await?;
            for r in &figures {
                let g = |c: &str| -> Result<i64> { Ok(r.try_get::<Option<i64>, _>(c)?.unwrap_or(0)) };
                sqlx::query(
                    "UPDATE statements SET cdr_count = $1, kwh_e4 = $2, net_e4 = $3, vat_e4 = $4, gross_e4 = $5, fees_e4 = $6, credit_count = $7, \
                     credits_e4 = $8, movement_e4 = $9, closing_balance_e4 = opening_balance_e4 + $9 WHERE id = $10")
                    .bind(g("cdr_count")?).bind(g("kwh")?).bind(g("net")?).bind(g("vat")?).bind(g("gross")?).bind(g("fees")?)
                    .bind(g("credit_count")?).bind(g("credits")?).bind(g("movement")?).bind(r.try_get::<i64, _>("sid")?)
                    .execute(&mut *tx).await?;
            }
            (period_id, false)
        };
        tx.commit().await?;
        (period_id, already)
    });
    let statements = list(store, &StatementFilter { period_id: Some(period_id), ..Default::default() }).await?;
    Ok(ClosedPeriod { period_id, from, to, already_closed: already, statements })
}

/// Which statements to list.
#[derive(Debug, Clone, Default)]
pub struct StatementFilter {
    pub period_id: Option<i64>,
    pub party: Option<PartyKey>,
    /// Periods that end after `from` / start before `to` (micros).
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Statements, by period then party and currency.
pub async fn list(store: &Store, f: &StatementFilter) -> Result<Vec<Statement>> {
    with_pool!(store, pool => {
        let mut qb = sqlx::QueryBuilder::new(STATEMENT_SELECT);
        qb.push(" WHERE 1 = 1");
        if let Some(p) = f.period_id {
            qb.push(" AND s.period_id = ").push_bind(p);
        }
        if let Some(p) = &f.party {
            qb.push(" AND s.country_code = ").push_bind(p.country_code.clone());
            qb.push(" AND s.party_id = ").push_bind(p.party_id.clone());
        }
        if let Some(t) = f.from {
            qb.push(" AND p.period_to > ").push_bind(t);
        }
        if let Some(t) = f.to {
            qb.push(" AND p.period_from < ").push_bind(t);
        }
        qb.push(" ORDER BY s.period_id, s.country_code, s.party_id, s.currency");
        let rows = qb.build().fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(statement_from_row!(r));
        }
        Ok(out)
    })
}

/// One line of a statement report: a ledger line on the party's account and the CDR behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportLine {
    pub line_id: i64,
    pub entry_id: i64,
    /// `cdr` or `reversal`.
    pub entry_kind: String,
    /// `cpo` / `emsp`: the CDR amount, the party being the CDR's CPO / eMSP; `fee`: a hub fee.
    pub role: String,
    pub cdr_country_code: Option<String>,
    pub cdr_party_id: Option<String>,
    pub cdr_id: Option<String>,
    pub credit_reference_id: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub effective_at: i64,
    #[serde(rename = "kwh", with = "money::e4_str")]
    pub kwh_e4: i64,
    #[serde(rename = "net", with = "money::e4_str")]
    pub net_e4: i64,
    #[serde(rename = "vat", with = "money::e4_str")]
    pub vat_e4: i64,
    #[serde(rename = "gross", with = "money::e4_str")]
    pub gross_e4: i64,
    /// The line's amount on the party's account (positive: owed by the party).
    #[serde(rename = "amount", with = "money::e4_str")]
    pub amount_e4: i64,
}

/// A statement with its lines.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub statement: Statement,
    pub lines: Vec<ReportLine>,
}

/// The statement `id` with the trail to its lines and CDRs.
pub async fn report(store: &Store, id: i64) -> Result<Report> {
    let statement = with_pool!(store, pool => {
        let sql = format!("{STATEMENT_SELECT} WHERE s.id = $1");
        match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await? {
            Some(r) => statement_from_row!(&r),
            None => return Err(ClearingError::NotFound(format!("statement {id}"))),
        }
    });
    let lines = with_pool!(store, pool => {
        let rows = sqlx::query(
            "SELECT l.id AS line_id, l.entry_id, e.kind AS entry_kind, l.kind AS line_kind, l.amount_e4, e.effective_at, \
             c.country_code, c.party_id, c.cdr_id, c.credit_reference_id, c.kwh_e4, c.net_e4, c.vat_e4, c.gross_e4 \
             FROM statement_items i JOIN ledger_lines l ON l.id = i.line_id JOIN ledger_entries e ON e.id = l.entry_id \
             LEFT JOIN cdr_settlements c ON c.id = e.settlement_id WHERE i.statement_id = $1 ORDER BY l.id")
            .bind(id).fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let cc: Option<String> = r.try_get("country_code")?;
            let pid: Option<String> = r.try_get("party_id")?;
            let line_kind: String = r.try_get("line_kind")?;
            let is_cpo = cc.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&statement.country_code))
                && pid.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(&statement.party_id));
            let role = if line_kind == "fee" { "fee" } else if is_cpo { "cpo" } else { "emsp" };
            let opt = |c: &str| -> Result<i64> { Ok(r.try_get::<Option<i64>, _>(c)?.unwrap_or(0)) };
            out.push(ReportLine {
                line_id: r.try_get("line_id")?,
                entry_id: r.try_get("entry_id")?,
                entry_kind: r.try_get("entry_kind")?,
                role: role.to_string(),
                cdr_country_code: cc,
                cdr_party_id: pid,
                cdr_id: r.try_get("cdr_id")?,
                credit_reference_id: r.try_get("credit_reference_id")?,
                effective_at: r.try_get("effective_at")?,
                kwh_e4: opt("kwh_e4")?,
                net_e4: opt("net_e4")?,
                vat_e4: opt("vat_e4")?,
                gross_e4: opt("gross_e4")?,
                amount_e4: r.try_get("amount_e4")?,
            });
        }
        out
    });
    Ok(Report { statement, lines })
}

/// The columns of the CSV report, in order (documented in `docs/settlement-report.md`).
pub const CSV_HEADER: &str = "statement_id,period_from,period_to,country_code,party_id,currency,line_id,entry_id,entry_kind,role,\
cdr_country_code,cdr_party_id,cdr_id,credit_reference_id,effective_at,kwh,net,vat,gross,amount";

/// A report as CSV: [`CSV_HEADER`], then one row per line.
pub fn to_csv(r: &Report) -> String {
    to_csv_all(std::slice::from_ref(r))
}

/// Several statements' reports as one CSV: [`CSV_HEADER`] once, then one row per line of each
/// statement, in the order given.
pub fn to_csv_all(reports: &[Report]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
    }
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for r in reports {
        let s = &r.statement;
        let (from, to) = (rfc3339(s.period_from), rfc3339(s.period_to));
        for l in &r.lines {
            let cols = [
                s.id.to_string(),
                from.clone(),
                to.clone(),
                s.country_code.clone(),
                s.party_id.clone(),
                s.currency.clone(),
                l.line_id.to_string(),
                l.entry_id.to_string(),
                l.entry_kind.clone(),
                l.role.clone(),
                l.cdr_country_code.clone().unwrap_or_default(),
                l.cdr_party_id.clone().unwrap_or_default(),
                l.cdr_id.clone().unwrap_or_default(),
                l.credit_reference_id.clone().unwrap_or_default(),
                rfc3339(l.effective_at),
                from_e4(l.kwh_e4).to_string(),
                from_e4(l.net_e4).to_string(),
                from_e4(l.vat_e4).to_string(),
                from_e4(l.gross_e4).to_string(),
                from_e4(l.amount_e4).to_string(),
            ];
            out.push_str(&cols.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
    }
    out
}

/// The reports (statement and lines) of every statement the filter selects, in
/// [`list`]'s order: what `settlement report` and the HTTP report print.
pub async fn reports(store: &Store, f: &StatementFilter) -> Result<Vec<Report>> {
    let statements = list(store, f).await?;
    let mut out = Vec::with_capacity(statements.len());
    for s in statements {
        out.push(report(store, s.id).await?);
    }
    Ok(out)
}

/// `settlement run`: settles every pending CDR copy, then closes the period.
pub async fn run(
    store: &Store,
    from: i64,
    to: i64,
    options: &super::settle::SettleOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(super::settle::SettleReport, ClosedPeriod)> {
    let settled = super::settle::settle_pending(store, options, progress).await?;
    let closed = close_period(store, from, to, progress).await?;
    Ok((settled, closed))
}
