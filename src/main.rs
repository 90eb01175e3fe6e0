//! `ocpi-hub`: the binary. Parses the command line, loads configuration, and either serves the
//! hub or runs one operator command (JSON on stdout). `anyhow` is used only here, at the edge.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use hub_core::config::HubConfig;
use hub_core::party::{ConnectionStatus, PartyKey, Role};
use hub_core::store::{NewCharger, ObjectChange, ObjectKey, Store, StoreOptions};
use hub_core::token;
use ocpi_router::state::AppState;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

mod auth_cache;
mod microcpo;
mod settlement_cli;
mod payments;

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
    /// Run the hub: OCPI API, delivery worker and the OCPP gateway of hosted chargers.
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage connected parties.
    #[command(subcommand)]
    Party(PartyCommand),
    /// Charge detail records.
    #[command(subcommand)]
    Cdr(CdrCommand),
    /// Micro-CPO parties hosted by the hub.
    #[command(subcommand)]
    Microcpo(MicroCpoCommand),
    /// Locations of hosted parties.
    #[command(subcommand)]
    Location(ObjectCommand),
    /// Tariffs of hosted parties.
    #[command(subcommand)]
    Tariff(ObjectCommand),
    /// OCPP chargers of hosted parties.
    #[command(subcommand)]
    Charger(ChargerCommand),
    /// Hub fee contracts of parties (clearing).
    #[command(subcommand)]
    Fees(settlement_cli::FeesCommand),
    /// Settlement of CDRs: runs closing a period, statements, reports, CDRs on hold.
    #[command(subcommand)]
    Settlement(settlement_cli::SettlementCommand),
    /// Parties' Stripe accounts (Stripe Connect).
    #[command(subcommand)]
    Payment(payments::PaymentCommand),
    /// Payouts to and collections from parties for their closed statements (Stripe).
    #[command(subcommand)]
    Payout(payments::PayoutCommand),
}

#[derive(Subcommand)]
enum MicroCpoCommand {
    /// Create a CPO party hosted by the hub (listed CONNECTED in Hub Client Info).
    Add(MicroCpoAddArgs),
}

#[derive(Args)]
struct MicroCpoAddArgs {
    /// Country code of the new party (2 characters).
    #[arg(long)]
    country_code: String,
    /// Party id of the new party (3 characters).
    #[arg(long)]
    party_id: String,
    /// Business name.
    #[arg(long)]
    name: String,
}

#[derive(Subcommand)]
enum ObjectCommand {
    /// Store an OCPI 2.2.1 object of a hosted party and broadcast it (PUT) to every party
    /// receiving the module.
    Put(ObjectPutArgs),
}

#[derive(Args)]
struct ObjectPutArgs {
    /// Country code of the hosted party.
    #[arg(long)]
    country_code: String,
    /// Party id of the hosted party.
    #[arg(long)]
    party_id: String,
    /// OCPI 2.2.1 JSON file of the object.
    #[arg(long)]
    file: PathBuf,
}

#[derive(Subcommand)]
enum ChargerCommand {
    /// Add an OCPP charger to a location of a hosted party; prints its websocket URL.
    Add(ChargerAddArgs),
}

#[derive(Args)]
struct ChargerAddArgs {
    /// Country code of the hosted party.
    #[arg(long)]
    country_code: String,
    /// Party id of the hosted party.
    #[arg(long)]
    party_id: String,
    /// Id of the location (already put with `location put`).
    #[arg(long)]
    location: String,
    /// The charger's OCPP identity (last segment of its websocket URL; the Basic-auth username).
    #[arg(long)]
    charger_id: String,
    /// The charger's Basic-auth password (stored as an argon2 hash). Without it the hub
    /// generates one (32 random characters, printed once as `password`): a generated password
    /// is hashed with cheap parameters, since there is nothing to guess, so that thousands of
    /// chargers reconnecting after a restart are verified in seconds rather than minutes.
    #[arg(long)]
    password: Option<String>,
    /// EVSE uids of the location, comma separated, in OCPP order: connector (1.6) / EVSE
    /// (2.0.1) 1, 2, ...
    #[arg(long, value_delimiter = ',', required = true)]
    evse_uids: Vec<String>,
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
    /// The party's role when it speaks OCPI 2.1.1 (whose credentials name none): CPO or EMSP.
    #[arg(long, value_parser = ["CPO", "EMSP"])]
    role: Option<String>,
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

/// Runs the hub on a multi-threaded tokio runtime whose threads, when they go idle, give the
/// memory they have freed back to the OS (see [`release_freed_memory`]).
fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(release_freed_memory)
        .build()?
        .block_on(run())
}

/// mimalloc keeps a thread's freed pages for reuse and returns them to the OS only when that
/// thread calls into the allocator again. After a burst (19 000 chargers each with a CALL in
/// flight) the runtime threads go idle still holding hundreds of MB that no connection uses. A
/// thread about to park collects, at most once a second.
fn release_freed_memory() {
    use std::cell::Cell;
    use std::time::{Duration, Instant};
    thread_local! {
        static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
    }
    LAST.with(|last| {
        if last.get().is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            last.set(Some(Instant::now()));
            // SAFETY: mi_collect only frees memory this allocator owns and no one references.
            unsafe { libmimalloc_sys::mi_collect(false) };
        }
    });
}

async fn run() -> Result<()> {
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
        Command::Serve => serve(state).await?,
        Command::Migrate => print(json!({"migrated": true, "backend": state.store.backend()})),
        Command::Party(cmd) => party(&state, cmd).await?,
        Command::Cdr(_) => unreachable!("handled before the store is opened"),
        Command::Microcpo(MicroCpoCommand::Add(a)) => microcpo_add(&state, a).await?,
        Command::Location(ObjectCommand::Put(a)) => object_put(&state, "locations", a).await?,
        Command::Tariff(ObjectCommand::Put(a)) => object_put(&state, "tariffs", a).await?,
        Command::Charger(ChargerCommand::Add(a)) => charger_add(&state, a).await?,
        Command::Fees(cmd) => settlement_cli::fees(&state.store, cmd).await?,
        Command::Settlement(cmd) => settlement_cli::settlement(&state.store, &state.config, cmd).await?,
        Command::Payment(cmd) => print(payments::payment(&state, cmd).await?),
        Command::Payout(cmd) => print(payments::payout(&state, cmd).await?),
    }
    Ok(())
}

/// The OCPI API (with its delivery worker) and the OCPP gateway, side by side: the first to stop
/// ends the process.
async fn serve(state: Arc<AppState>) -> Result<()> {
    if state.config.database.group_commit && state.store.enable_group_commit() {
        tracing::info!("SQLite group commit on");
    }
    let listen: std::net::SocketAddr = state
        .config
        .ocpp
        .listen
        .parse()
        .with_context(|| format!("ocpp.listen: not an address: {}", state.config.ocpp.listen))?;
    let defaults = ocpp_gateway::GatewayConfig::default();
    let max_connections = state.config.ocpp.max_connections.unwrap_or(defaults.max_connections);
    let tls = match (&state.config.ocpp.tls_cert_path, &state.config.ocpp.tls_key_path) {
        (Some(cert_path), Some(key_path)) => Some(ocpp_gateway::TlsConfig { cert_path: cert_path.clone(), key_path: key_path.clone() }),
        (None, None) => None,
        _ => bail!("ocpp.tls_cert_path and ocpp.tls_key_path go together: set both or neither"),
    };
    let gateway = ocpp_gateway::Gateway::new(ocpp_gateway::GatewayConfig { listen, max_connections, tls, ..defaults });
    let auth = Arc::new(auth_cache::CachedAuth::new(state.clone(), microcpo::StoreAuth { state: state.clone() }));
    let handler = Arc::new(microcpo::MicroCpoHandler::new(state.clone(), gateway.clone()));
    // Commands and charging profiles addressed to hosted parties go to the chargers.
    let _ = state.hosted.set(handler.clone());
    tokio::select! {
        r = ocpi_router::serve_with(state.clone(), payments::routes(&state)) => r.context("OCPI API")?,
        r = gateway.serve(auth, handler) => r.context("OCPP gateway")?,
    }
    Ok(())
}

fn party_key(country_code: &str, party_id: &str) -> Result<PartyKey> {
    if country_code.len() != 2 || party_id.len() != 3 {
        bail!("--country-code takes 2 characters and --party-id 3");
    }
    Ok(PartyKey::new(&country_code.to_ascii_uppercase(), &party_id.to_ascii_uppercase()))
}

/// The platform id of a hosted party, or an error naming it.
async fn hosted(state: &AppState, key: &PartyKey) -> Result<i64> {
    state.store.find_hosted_party(key).await?.with_context(|| format!("{key} is not a party hosted by this hub (see `microcpo add`)"))
}

async fn microcpo_add(state: &AppState, a: MicroCpoAddArgs) -> Result<()> {
    let key = party_key(&a.country_code, &a.party_id)?;
    let id = state.store.create_hosted_party(&key, &a.name).await?;
    ocpi_router::hub_client_info::announce(state, id).await;
    print(json!({"platform_id": id, "country_code": key.country_code, "party_id": key.party_id, "role": "CPO", "status": "CONNECTED"}));
    Ok(())
}

/// `location put` / `tariff put`: validate, store the hub's copy and broadcast a PUT.
async fn object_put(state: &AppState, module: &str, a: ObjectPutArgs) -> Result<()> {
    use hub_core::ocpi::v221::parse::{self, ParseError};
    use hub_core::ocpi::v221::{locations::Location, tariffs::Tariff};
    let key = party_key(&a.country_code, &a.party_id)?;
    hosted(state, &key).await?;
    let text = std::fs::read(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let checked = match module {
        "locations" => parse::parse::<Location>(&text).map(|_| ()),
        _ => parse::parse::<Tariff>(&text).map(|_| ()),
    };
    match checked {
        Ok(()) => {}
        Err(ParseError::Invalid { field, message }) => bail!("{}: {field}: {message}", a.file.display()),
        Err(ParseError::Syntax(m)) => bail!("{}: {m}", a.file.display()),
    }
    let value: serde_json::Value = serde_json::from_slice(&text)?;
    let text_of = |f: &str| value.get(f).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    if !text_of("country_code").eq_ignore_ascii_case(&key.country_code) || !text_of("party_id").eq_ignore_ascii_case(&key.party_id) {
        bail!("the object's country_code/party_id must be {}/{}", key.country_code, key.party_id);
    }
    let id = text_of("id");
    let last_updated = ocpi_router::pagination::parse_datetime(&text_of("last_updated")).context("last_updated: not a DateTime")?;
    let object = ObjectKey::new(module, &key, &id);
    let body = String::from_utf8(text).context("not UTF-8")?;
    let published = ocpi_router::publish::broadcast_push(
        state,
        ocpi_router::publish::Push {
            from: &state.hub,
            owner_role: Role::Cpo,
            key: &object,
            change: Some(ObjectChange::Put { key: object.clone(), last_updated, body: body.clone() }),
            method: "PUT",
            path: format!("/{}/{}/{}", key.country_code, key.party_id, id),
            body: Some(body),
        },
    )
    .await?;
    print(json!({"module": module, "country_code": key.country_code, "party_id": key.party_id, "id": id, "receivers": published.receivers}));
    Ok(())
}

async fn charger_add(state: &AppState, a: ChargerAddArgs) -> Result<()> {
    let key = party_key(&a.country_code, &a.party_id)?;
    hosted(state, &key).await?;
    if a.charger_id.is_empty() || a.charger_id.contains(['/', '?', '#']) {
        bail!("--charger-id: must be non-empty without '/', '?' or '#'");
    }
    let location = state
        .store
        .get_object(&ObjectKey::new("locations", &key, &a.location))
        .await?
        .with_context(|| format!("no location {} of {key} (see `location put`)", a.location))?
        .json()?;
    let known: Vec<&str> = location["evses"].as_array().map(|l| l.iter().filter_map(|e| e["uid"].as_str()).collect()).unwrap_or_default();
    for uid in &a.evse_uids {
        if !known.contains(&uid.as_str()) {
            bail!("location {} has no EVSE {uid} (it has: {})", a.location, known.join(", "));
        }
    }
    let (hash, generated) = match &a.password {
        Some(p) => (token::hash(p)?, None),
        None => {
            let p = token::generate_password();
            (token::hash_generated(&p)?, Some(p))
        }
    };
    state
        .store
        .add_charger(&NewCharger {
            charger_id: a.charger_id.clone(),
            password_hash: hash,
            owner: key.clone(),
            location_id: a.location.clone(),
            evse_uids: a.evse_uids.clone(),
        })
        .await?;
    let mut out = json!({
        "charger_id": a.charger_id,
        "location_id": a.location,
        "evse_uids": a.evse_uids,
        "ws_url": format!("{}://{}/ocpp/{}", state.config.ocpp.scheme(), state.config.ocpp.listen, a.charger_id),
    });
    if let Some(p) = generated {
        // Shown once: only its hash is kept.
        out["password"] = json!(p);
    }
    print(out);
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
            match ocpi_router::credentials::register_with(state, &a.versions_url, &a.token, a.role.as_deref().and_then(|r| r.parse().ok())).await {
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
    // A hosted (micro-CPO) party has no client token but is as connected as the hub itself.
    let hosted = state.store.find_hosted_party(&key).await?;
    for p in &platforms {
        let status = match (suspend, p.is_registered() || hosted == Some(p.id)) {
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
