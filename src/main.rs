//! `ocpi-hub`: the binary. Parses the command line, loads configuration, and either serves the
//! hub or runs one operator command (JSON on stdout). `anyhow` is used only here, at the edge.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use hub_core::config::HubConfig;
use hub_core::party::{ConnectionStatus, PartyKey, Role};
use hub_core::store::{Store, StoreOptions};
use hub_core::token;
use ocpi_router::state::AppState;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "ocpi-hub", version, about = "OCPI roaming hub with a micro-CPO OCPP gateway")]
struct Cli {
    /// TOML configuration file (environment variables HUB__SECTION__KEY override it).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub: OCPI API and delivery worker.
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage connected parties.
    #[command(subcommand)]
    Party(PartyCommand),
    /// Charge detail records.
    #[command(subcommand)]
    Cdr(CdrCommand),
}

#[derive(Subcommand)]
enum CdrCommand {
    /// Price a CDR with a tariff (OCPI 2.2.1 JSON files) and print the totals, each with
    /// excl_vat and incl_vat.
    Price(PriceArgs),
}

#[derive(Args)]
struct PriceArgs {
    /// OCPI 2.2.1 Tariff JSON file.
    #[arg(long)]
    tariff: PathBuf,
    /// OCPI 2.2.1 CDR JSON file.
    #[arg(long)]
    cdr: PathBuf,
    /// IANA time zone of the location (e.g. Europe/Amsterdam); default: from the CDR's country
    /// when it has a single zone.
    #[arg(long)]
    time_zone: Option<String>,
}

#[derive(Subcommand)]
enum PartyCommand {
    /// Issue a registration token (the spec's token A) for a new party.
    Invite(InviteArgs),
    /// Register the hub with a party that issued the hub a token (hub-initiated handshake).
    Register(RegisterArgs),
    /// List platforms, their parties, status and endpoints.
    List,
    /// Suspend a party's platform: its calls are refused and nothing is delivered to it.
    Suspend(PartyArgs),
    /// Lift a suspension.
    Unsuspend(PartyArgs),
}

#[derive(Args)]
struct InviteArgs {
    /// Business name, for the operator's list.
    #[arg(long)]
    name: Option<String>,
    /// Country code of the party this token is for (the registration must include it).
    #[arg(long, requires = "party_id")]
    country_code: Option<String>,
    /// Party id of the party this token is for.
    #[arg(long, requires = "country_code")]
    party_id: Option<String>,
    /// Role shown in Hub Client Info until the party registers (CPO, EMSP, SCSP, ...).
    #[arg(long, default_value = "OTHER")]
    role: String,
}

#[derive(Args)]
struct RegisterArgs {
    /// The party's versions URL.
    #[arg(long)]
    versions_url: String,
    /// The token the party issued to the hub.
    #[arg(long)]
    token: String,
}

#[derive(Args)]
struct PartyArgs {
    #[arg(long)]
    country_code: String,
    #[arg(long)]
    party_id: String,
}

/// mimalloc: the hub allocates many small short-lived buffers per routed request, where glibc's
/// allocator measured ~10% of CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // Pricing files needs no configuration or database.
    if let Command::Cdr(CdrCommand::Price(a)) = &cli.command {
        let tariff = std::fs::read(&a.tariff).with_context(|| format!("reading {}", a.tariff.display()))?;
        let cdr = std::fs::read(&a.cdr).with_context(|| format!("reading {}", a.cdr.display()))?;
        let totals = clearing::rating::price_files(&tariff, &cdr, a.time_zone.as_deref())?;
        print(totals);
        return Ok(());
    }
    let config = HubConfig::load(cli.config.as_deref())?;
    let options = StoreOptions { max_connections: config.database.max_connections, ..Default::default() };
    let store = Store::open(&config.database.url, &options)
        .await
        .with_context(|| format!("opening database {}", redact(&config.database.url)))?;
    let state = Arc::new(AppState::new(store, config));
    match cli.command {
        Command::Serve => {
            ocpi_router::serve(state).await?;
        }
        Command::Migrate => print(json!({"migrated": true, "backend": state.store.backend()})),
        Command::Party(cmd) => party(&state, cmd).await?,
        Command::Cdr(_) => unreachable!("handled before the store is opened"),
    }
    Ok(())
}

async fn party(state: &AppState, cmd: PartyCommand) -> Result<()> {
    match cmd {
        PartyCommand::Invite(a) => {
            let role: Role = a.role.to_ascii_uppercase().parse().map_err(|e| anyhow::anyhow!("--role: {e}"))?;
            let party = match (&a.country_code, &a.party_id) {
                (Some(cc), Some(pid)) => {
                    if cc.len() != 2 || pid.len() != 3 {
                        bail!("--country-code takes 2 characters and --party-id 3");
                    }
                    Some((PartyKey::new(cc, pid), role))
                }
                _ => None,
            };
            let secret = token::generate();
            let hash = token::hash(&secret)?;
            let id = state.store.create_invite(a.name.as_deref(), party, &token::lookup_key(&secret), &hash).await?;
            ocpi_router::hub_client_info::announce(state, id).await;
            print(json!({
                "token": secret,
                "versions_url": format!("{}/ocpi/versions", state.public_url),
                "platform_id": id,
            }));
        }
        PartyCommand::Register(a) => {
            match ocpi_router::credentials::register_with(state, &a.versions_url, &a.token).await {
                Ok(id) => {
                    let p = state.store.get_platform(id).await?.context("platform vanished")?;
                    print(json!({"registered": true, "platform": p}));
                }
                Err(e) => bail!("registration failed (OCPI {}): {}", e.code, e.message),
            }
        }
        PartyCommand::List => {
            let list = state.store.list_platforms().await?;
            print(json!(list));
        }
        PartyCommand::Suspend(a) => set_status(state, &a, true).await?,
        PartyCommand::Unsuspend(a) => set_status(state, &a, false).await?,
    }
    Ok(())
}

async fn set_status(state: &AppState, a: &PartyArgs, suspend: bool) -> Result<()> {
    let key = PartyKey::new(&a.country_code, &a.party_id);
    let platforms = state.store.find_platforms_by_party(&key, None).await?;
    if platforms.is_empty() {
        bail!("no party {key}");
    }
    for p in &platforms {
        let status = match (suspend, p.is_registered()) {
            (true, _) => ConnectionStatus::Suspended,
            (false, true) => ConnectionStatus::Connected,
            (false, false) => ConnectionStatus::Planned,
        };
        if state.store.set_platform_status(p.id, status).await? {
            if !suspend {
                state.store.wake_deliveries(p.id).await?;
            }
            ocpi_router::hub_client_info::announce(state, p.id).await;
        }
    }
    let after = state.store.find_platforms_by_party(&key, None).await?;
    print(json!(after.iter().map(|p| json!({"platform_id": p.id, "status": p.status})).collect::<Vec<_>>()));
    Ok(())
}

fn print(v: serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(&v).expect("json"));
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
