//! Hub configuration: built-in defaults, then an optional TOML file, then `HUB__SECTION__KEY`
//! environment variables (see ARCHITECTURE.md for the table of keys).

use serde::Deserialize;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
pub struct HubConfig {
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub ocpp: OcppConfig,
    pub identity: IdentityConfig,
    pub forwarding: ForwardingConfig,
    pub delivery: DeliveryConfig,
    /// OCPI 2.1.1 parties (translation to and from 2.2.1).
    #[serde(default)]
    pub ocpi211: Ocpi211Config,
    /// Settlement of CDRs (the `clearing` crate).
    #[serde(default)]
    pub clearing: ClearingConfig,
    /// Stripe Connect payouts, collections and ad-hoc payments (`clearing::payments`).
    #[serde(default)]
    pub stripe: StripeConfig,
}

/// `stripe.*`: where the Stripe API is and the hub's keys. The keys are secrets: `Debug` prints
/// whether they are set, never their value.
#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct StripeConfig {
    /// Base URL of the API (ends with `/`); a local fake in tests and manual runs.
    pub api_base: String,
    /// The platform's secret key (`sk_live_...` / `sk_test_...`); payments are off without it.
    pub secret_key: Option<String>,
    /// The signing secret of the webhook endpoint (`whsec_...`); `/stripe/webhooks` is only
    /// served with it.
    pub webhook_secret: Option<String>,
}

impl Default for StripeConfig {
    fn default() -> Self {
        Self { api_base: "https://api.stripe.com/".into(), secret_key: None, webhook_secret: None }
    }
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| if v.as_deref().is_some_and(|s| !s.is_empty()) { "<redacted>" } else { "<unset>" };
        f.debug_struct("StripeConfig")
            .field("api_base", &self.api_base)
            .field("secret_key", &set(&self.secret_key))
            .field("webhook_secret", &set(&self.webhook_secret))
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ClearingConfig {
    /// Largest difference (in the CDR's currency, a decimal such as "0.01") accepted between a
    /// CDR's `total_cost` and the hub's own rating of it; beyond it the CDR is held for review.
    pub tolerance: String,
    /// Settle CDRs the hub cannot rate (no tariff of the CPO held) instead of holding them.
    pub settle_unrated: bool,
    /// The argon2 hash (PHC string, from `ocpi-hub settlement token`) of the operator's token
    /// for the HTTP settlement report of every party. Unset: parties see their own only.
    pub report_token: Option<String>,
}

impl Default for ClearingConfig {
    fn default() -> Self {
        Self { tolerance: "0.01".into(), settle_unrated: false, report_token: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
    /// SQLite: commit the serving hub's hot writes (pushes, EVSE statuses, charger boots) in
    /// groups, one fsync per group (`Store::enable_group_commit`). Ignored on PostgreSQL.
    #[serde(default = "yes")]
    pub group_commit: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpConfig {
    pub listen: String,
    /// Base of every URL the hub publishes; defaults to `http://{listen}`.
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default)]
    pub workers: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OcppConfig {
    pub listen: String,
    /// Connections the gateway holds at most (handshakes included); beyond it new ones get HTTP
    /// 503. Keep it below the process's open-file limit. Default: the gateway's (10 000).
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// OCPP security profile 2: serve `wss://` with this PEM certificate chain (leaf first) and
    /// the key in `tls_key_path`. Both or neither.
    #[serde(default)]
    pub tls_cert_path: Option<std::path::PathBuf>,
    #[serde(default)]
    pub tls_key_path: Option<std::path::PathBuf>,
}

impl OcppConfig {
    /// The websocket scheme chargers use (`wss` with TLS configured).
    pub fn scheme(&self) -> &'static str {
        if self.tls_cert_path.is_some() { "wss" } else { "ws" }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdentityConfig {
    pub country_code: String,
    pub party_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ForwardingConfig {
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryConfig {
    pub poll_ms: u64,
    pub min_backoff_ms: u64,
    pub max_backoff_ms: u64,
    pub offline_after_failures: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Ocpi211Config {
    /// Time zone given to a 2.1.1 Location without `time_zone` (required in 2.2.1).
    pub default_time_zone: String,
    /// `timeout` (seconds) announced in the 2.2.1 CommandResponse of a 2.1.1 CPO, which has
    /// none: how long the requester should wait for the asynchronous result.
    pub command_timeout_s: u32,
}

impl Default for Ocpi211Config {
    fn default() -> Self {
        Self { default_time_zone: "Europe/Amsterdam".into(), command_timeout_s: 60 }
    }
}

const DEFAULTS: &str = r#"
[database]
url = "sqlite://./data/hub.db"
max_connections = 8

[http]
listen = "127.0.0.1:8080"

[ocpp]
listen = "127.0.0.1:8180"

[identity]
country_code = "NL"
party_id = "HUB"
name = "OCPI Hub"

[forwarding]
timeout_ms = 10000

[delivery]
poll_ms = 500
min_backoff_ms = 1000
max_backoff_ms = 60000
offline_after_failures = 3

[ocpi211]
default_time_zone = "Europe/Amsterdam"
command_timeout_s = 60

[clearing]
tolerance = "0.01"
settle_unrated = false
"#;

impl HubConfig {
    /// Loads defaults, then `file` (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).format(config::FileFormat::Toml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("HUB").prefix_separator("__").separator("__"),
        );
        let mut cfg: HubConfig = builder.build()?.try_deserialize()?;
        cfg.identity.country_code = cfg.identity.country_code.to_ascii_uppercase();
        cfg.identity.party_id = cfg.identity.party_id.to_ascii_uppercase();
        if cfg.identity.country_code.len() != 2 || cfg.identity.party_id.len() != 3 {
            return Err(ConfigError::Invalid(
                "identity.country_code must have 2 characters and identity.party_id 3".into(),
            ));
        }
        Ok(cfg)
    }

    /// Base URL of everything the hub publishes, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.http.public_url {
            Some(u) if !u.is_empty() => u.trim_end_matches('/').to_string(),
            _ => format!("http://{}", self.http.listen),
        }
    }
}

#[cfg(test)]
mod stripe_config_tests {
    use super::StripeConfig;

    #[test]
    fn debug_never_prints_the_stripe_keys() {
        let c = StripeConfig { api_base: "http://x/".into(), secret_key: Some("sk_test_SECRET".into()), webhook_secret: Some("whsec_SECRET".into()) };
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET") && shown.contains("<redacted>"), "{shown}");
        assert!(format!("{:?}", StripeConfig::default()).contains("<unset>"));
    }
}
