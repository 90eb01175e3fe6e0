//! The clearing verbs of the CLI: `fees set|list` (hub fee contracts) and `settlement
//! run|list|report|holds|release|token`. They are thin: parsing and printing here, the work in
//! `clearing::ledger`. JSON on stdout (CSV for `settlement report --format csv`); progress of a
//! run goes to stderr, and only when stderr is a terminal, so scripts get clean output.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use clearing::ledger::settle::{self, Progress, SettleOptions};
use clearing::ledger::statements::{self, StatementFilter};
use clearing::ledger::fees;
use hub_core::config::HubConfig;
use hub_core::party::PartyKey;
use hub_core::store::Store;
use rust_decimal::Decimal;
use serde_json::json;
use std::io::{IsTerminal, Write};

#[derive(Subcommand)]
pub enum FeesCommand {
    /// Create or replace a party's hub fee contract in a currency: a fixed amount plus a
    /// percentage of each CDR's total excl. VAT, charged for every CDR the party takes part in.
    Set(FeesSetArgs),
    /// List every fee contract.
    List,
}

#[derive(Args)]
pub struct FeesSetArgs {
    /// Country code of the party (2 characters).
    #[arg(long)]
    country_code: String,
    /// Party id of the party (3 characters).
    #[arg(long)]
    party_id: String,
    /// Fixed fee per CDR, in the currency (at most 4 decimals), e.g. 0.25.
    #[arg(long, value_parser = parse_decimal)]
    fixed: Decimal,
    /// Percentage of the CDR's total excl. VAT (0 to 100, at most 4 decimals), e.g. 2.5.
    #[arg(long, value_parser = parse_decimal)]
    percent: Decimal,
    /// ISO 4217 currency of the contract, e.g. EUR.
    #[arg(long)]
    currency: String,
}

#[derive(Subcommand)]
pub enum SettlementCommand {
    /// Settle every pending CDR, then close the period [from, to): one statement per party and
    /// currency. Prints the settling counts and the statements.
    Run(PeriodArgs),
    /// List statements (of periods overlapping --from/--to, of one party).
    List(ListArgs),
    /// Statement lines with the trail from each statement to its CDR ids, as CSV or JSON
    /// (schema: docs/settlement-report.md).
    Report(ReportArgs),
    /// CDRs on hold for review, oldest first.
    Holds,
    /// Settle a held CDR after review (the rating check is skipped).
    Release(ReleaseArgs),
    /// Make an operator token for the HTTP report of every party: prints the token (give it to
    /// the finance team) and its hash (put it in the configuration as `clearing.report_token`).
    Token,
}

#[derive(Args)]
pub struct PeriodArgs {
    /// Start of the period: a date YYYY-MM-DD (midnight UTC) or an RFC 3339 timestamp.
    #[arg(long, value_parser = parse_bound)]
    from: i64,
    /// End of the period (exclusive), same forms as --from.
    #[arg(long, value_parser = parse_bound)]
    to: i64,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only periods that end after this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_parser = parse_bound)]
    from: Option<i64>,
    /// Only periods that start before this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_parser = parse_bound)]
    to: Option<i64>,
    #[command(flatten)]
    party: PartyFilter,
}

#[derive(Args)]
pub struct PartyFilter {
    /// Only the statements of this party (with --party-id).
    #[arg(long, requires = "party_id")]
    country_code: Option<String>,
    /// Only the statements of this party (with --country-code).
    #[arg(long, requires = "country_code")]
    party_id: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Args)]
pub struct ReportArgs {
    /// Statements of periods that end after this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_parser = parse_bound)]
    from: i64,
    /// Statements of periods that start before this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_parser = parse_bound)]
    to: i64,
    #[command(flatten)]
    party: PartyFilter,
    /// Output format.
    #[arg(long, value_enum)]
    format: Format,
}

#[derive(Args)]
pub struct ReleaseArgs {
    /// Country code of the CDR's owner (its CPO).
    #[arg(long)]
    country_code: String,
    /// Party id of the CDR's owner.
    #[arg(long)]
    party_id: String,
    /// The CDR's id.
    #[arg(long)]
    cdr_id: String,
}

fn parse_decimal(s: &str) -> std::result::Result<Decimal, String> {
    // Scientific notation and the like are not money: only plain decimals.
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-') {
        return Err(format!("`{s}` is not a decimal number (e.g. 2.5)"));
    }
    s.parse::<Decimal>().map_err(|_| format!("`{s}` is not a decimal number (e.g. 2.5)"))
}

fn parse_bound(s: &str) -> std::result::Result<i64, String> {
    statements::parse_bound(s).map_err(|e| e.to_string())
}

fn party_of(cc: &str, pid: &str) -> Result<PartyKey> {
    if cc.len() != 2 || pid.len() != 3 {
        bail!("--country-code takes 2 characters and --party-id 3");
    }
    Ok(PartyKey::new(cc, pid))
}

impl PartyFilter {
    fn key(&self) -> Result<Option<PartyKey>> {
        match (&self.country_code, &self.party_id) {
            (Some(cc), Some(pid)) => Ok(Some(party_of(cc, pid)?)),
            _ => Ok(None),
        }
    }
}

/// The settling options of the configuration (`clearing.tolerance`, `clearing.settle_unrated`).
pub fn settle_options(config: &HubConfig) -> Result<SettleOptions> {
    let tolerance: Decimal = config
        .clearing
        .tolerance
        .parse()
        .with_context(|| format!("clearing.tolerance: `{}` is not a decimal", config.clearing.tolerance))?;
    if tolerance.is_sign_negative() {
        bail!("clearing.tolerance: {tolerance} is negative");
    }
    Ok(SettleOptions { tolerance, settle_unrated: config.clearing.settle_unrated, ..Default::default() })
}

pub async fn fees(store: &Store, cmd: FeesCommand) -> Result<()> {
    match cmd {
        FeesCommand::Set(a) => {
            let party = party_of(&a.country_code, &a.party_id)?;
            let contract = fees::FeeContract::new(&party, &a.currency, a.fixed, a.percent)?;
            fees::set(store, &contract).await?;
            print(json!(contract));
        }
        FeesCommand::List => print(json!(fees::list(store).await?)),
    }
    Ok(())
}

pub async fn settlement(store: &Store, config: &HubConfig, cmd: SettlementCommand) -> Result<()> {
    match cmd {
        SettlementCommand::Run(a) => {
            if a.from >= a.to {
                bail!("the period must end after it starts (--from < --to)");
            }
            let options = settle_options(config)?;
            let tty = std::io::stderr().is_terminal();
            let mut progress = move |p: Progress| {
                if !tty {
                    return;
                }
                let mut err = std::io::stderr().lock();
                let _ = match p {
                    Progress::Settling { done, total } => write!(err, "\rsettling CDRs: {done}/{total}"),
                    Progress::Closing => writeln!(err, "\nclosing the period..."),
                };
                let _ = err.flush();
            };
            let (settled, closed) = statements::run(store, a.from, a.to, &options, &mut progress).await?;
            print(json!({"settled": settled, "period": closed}));
        }
        SettlementCommand::List(a) => {
            let filter = StatementFilter { party: a.party.key()?, from: a.from, to: a.to, ..Default::default() };
            print(json!(statements::list(store, &filter).await?));
        }
        SettlementCommand::Report(a) => {
            if a.from >= a.to {
                bail!("--from must be before --to");
            }
            let filter = StatementFilter { party: a.party.key()?, from: Some(a.from), to: Some(a.to), ..Default::default() };
            let reports = statements::reports(store, &filter).await?;
            match a.format {
                Format::Csv => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(statements::to_csv_all(&reports).as_bytes())?;
                    out.flush()?;
                }
                Format::Json => print(json!({"statements": reports})),
            }
        }
        SettlementCommand::Holds => print(json!(settle::holds(store).await?)),
        SettlementCommand::Release(a) => {
            let owner = party_of(&a.country_code, &a.party_id)?;
            let options = settle_options(config)?;
            let s = settle::release(store, &owner, &a.cdr_id, &options).await?;
            print(json!(s));
        }
        SettlementCommand::Token => {
            let secret = hub_core::token::generate();
            let hash = hub_core::token::hash(&secret)?;
            print(json!({"token": secret, "report_token": hash}));
        }
    }
    Ok(())
}

fn print(v: serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(&v).expect("json"));
}
