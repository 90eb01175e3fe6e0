//! Shared state of the OCPI API: store, configuration, the outbound HTTP client, the in-memory
//! directory of platforms and the cache of verified credentials tokens.

use hub_core::config::HubConfig;
use hub_core::party::{ConnectionStatus, InterfaceRole, PartyKey, Platform, Role};
use hub_core::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long the directory of platforms is trusted before the store's change stamp is checked
/// again. Local changes invalidate it at once; this bounds how late a change made by another
/// process (the CLI, another hub node) is seen.
const DIRECTORY_CHECK: Duration = Duration::from_millis(250);
/// How long a verified token is trusted without asking the store again. Revocations (rotation,
/// unregistration) clear the cache through the directory's change stamp; this is a backstop.
const TOKEN_TTL: Duration = Duration::from_secs(3600);

pub struct AppState {
    pub store: Store,
    pub config: HubConfig,
    pub public_url: String,
    pub hub: PartyKey,
    pub http: reqwest::Client,
    /// Wakes the delivery worker when something is enqueued.
    pub delivery_wakeup: Arc<Notify>,
    directory: RwLock<Option<Directory>>,
    /// Positions after recently served GET All pages (see `PagePositions`).
    pub page_positions: PagePositions,
    /// Serializes argon2 verifications of tokens missing from the cache.
    pub verify_lock: tokio::sync::Mutex<()>,
    /// Set while one caller checks the directory's change stamp.
    refreshing: AtomicBool,
    tokens: RwLock<HashMap<[u8; 32], CachedToken>>,
    /// Answers requests addressed to hosted (micro-CPO) parties; set once by the binary when it
    /// runs the OCPP gateway.
    pub hosted: std::sync::OnceLock<Arc<dyn crate::hosted::HostedCpo>>,
}

struct Directory {
    checked: Instant,
    stamp: (i64, i64),
    platforms: Arc<Vec<Arc<Platform>>>,
}

#[derive(Clone, Copy)]
pub struct CachedToken {
    pub platform_id: i64,
    pub token_row: i64,
    pub invite: bool,
    at: Instant,
}

/// An outbound HTTP client with the forwarding timeouts.
///
/// Each actix worker gets its own (see `serve`): a pooled connection is driven by a task on the
/// runtime that opened it, and actix workers are separate single-threaded runtimes, so a shared
/// client would bounce every forwarded request between threads.
pub fn http_client(config: &HubConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(config.forwarding.timeout_ms))
        .connect_timeout(Duration::from_millis(config.forwarding.timeout_ms.min(5000)))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()
        .expect("HTTP client")
}

/// The keyset position `(last_updated, seq)` that follows each recently served page of a GET
/// All, by (module, date_from, date_to) and the offset of the next page. It lets a client that
/// sends `offset` without the hub's cursor read deep pages without an index scan; an entry is
/// a hint (objects updated since may have moved), just as an offset is.
#[derive(Default)]
pub struct PagePositions(std::sync::Mutex<HashMap<PositionKey, (i64, i64)>>);

/// (list name, date_from, date_to, offset of the next page).
type PositionKey = (String, Option<i64>, Option<i64>, i64);

/// Entries kept before the map is cleared (a crude bound; a miss only costs a scan).
const PAGE_POSITIONS_MAX: usize = 10_000;

impl PagePositions {
    pub fn get(&self, key: &(String, Option<i64>, Option<i64>), offset: i64) -> Option<(i64, i64)> {
        if offset <= 0 {
            return None;
        }
        let map = self.0.lock().expect("lock");
        map.get(&(key.0.clone(), key.1, key.2, offset)).copied()
    }

    pub fn put(&self, key: (String, Option<i64>, Option<i64>), next_offset: i64, position: (i64, i64)) {
        let mut map = self.0.lock().expect("lock");
        if map.len() >= PAGE_POSITIONS_MAX {
            map.clear();
        }
        map.insert((key.0, key.1, key.2, next_offset), position);
    }
}

/// The forwarding client of one actix worker (its own connection pool: workers share nothing).
#[derive(Clone)]
pub struct WorkerClient(pub crate::client::Forwarder);

impl WorkerClient {
    pub fn new(config: &HubConfig) -> WorkerClient {
        let timeout = Duration::from_millis(config.forwarding.timeout_ms);
        let connect = Duration::from_millis(config.forwarding.timeout_ms.min(5000));
        WorkerClient(crate::client::Forwarder::new(timeout, connect).expect("the forwarding client (TLS set-up)"))
    }
}

impl AppState {
    pub fn new(store: Store, config: HubConfig) -> Self {
        let public_url = config.public_url();
        let hub = PartyKey::new(&config.identity.country_code, &config.identity.party_id);
        let http = http_client(&config);
        Self {
            store,
            config,
            public_url,
            hub,
            http,
            delivery_wakeup: Arc::new(Notify::new()),
            directory: RwLock::new(None),
            refreshing: AtomicBool::new(false),
            verify_lock: tokio::sync::Mutex::new(()),
            page_positions: PagePositions::default(),
            tokens: RwLock::new(HashMap::new()),
            hosted: std::sync::OnceLock::new(),
        }
    }

    pub fn version_url(&self, version: &str) -> String {
        format!("{}/ocpi/{}", self.public_url, version)
    }

    /// All platforms, from memory when fresh.
    ///
    /// Past `DIRECTORY_CHECK`, one caller compares the store's change stamp (and reloads if it
    /// moved) while every other caller goes on with the cached copy: under load, a stale check
    /// must not turn into one database query per request.
    pub async fn directory(&self) -> Result<Arc<Vec<Arc<Platform>>>, StoreError> {
        let cached = self.directory.read().expect("lock").as_ref().map(|d| (d.checked, d.stamp, d.platforms.clone()));
        let Some((checked, old_stamp, platforms)) = cached else {
            return self.reload_directory(None).await;
        };
        if checked.elapsed() < DIRECTORY_CHECK || self.refreshing.swap(true, Ordering::AcqRel) {
            return Ok(platforms);
        }
        let result = async {
            let stamp = self.store.platforms_stamp().await?;
            if stamp == old_stamp {
                if let Some(d) = self.directory.write().expect("lock").as_mut() {
                    d.checked = Instant::now();
                }
                return Ok(platforms);
            }
            // Changed elsewhere: tokens may have been revoked too.
            self.tokens.write().expect("lock").clear();
            self.reload_directory(Some(stamp)).await
        }
        .await;
        self.refreshing.store(false, Ordering::Release);
        result
    }

    async fn reload_directory(&self, stamp: Option<(i64, i64)>) -> Result<Arc<Vec<Arc<Platform>>>, StoreError> {
        let stamp = match stamp {
            Some(s) => s,
            None => self.store.platforms_stamp().await?,
        };
        let list: Vec<Arc<Platform>> = self.store.list_platforms().await?.into_iter().map(Arc::new).collect();
        let platforms = Arc::new(list);
        *self.directory.write().expect("lock") = Some(Directory { checked: Instant::now(), stamp, platforms: platforms.clone() });
        Ok(platforms)
    }

    /// Forget cached platforms and tokens after a local change.
    pub fn invalidate(&self) {
        *self.directory.write().expect("lock") = None;
        self.tokens.write().expect("lock").clear();
    }

    pub async fn platform(&self, id: i64) -> Result<Option<Arc<Platform>>, StoreError> {
        Ok(self.directory().await?.iter().find(|p| p.id == id).cloned())
    }

    /// The registered platform hosting `key` whose endpoint for `module`/`iface` exists, preferring
    /// one that hosts `key` with a role that fits the interface.
    pub async fn platform_for_party(
        &self,
        key: &PartyKey,
        module: &str,
        iface: InterfaceRole,
    ) -> Result<Option<Arc<Platform>>, StoreError> {
        let dir = self.directory().await?;
        let mut candidates = dir.iter().filter(|p| p.has_party(key) && p.status != ConnectionStatus::Planned);
        let first = candidates.clone().next().cloned();
        Ok(candidates.find(|p| p.endpoint(module, iface).is_some()).cloned().or(first))
    }

    /// The role a platform hosts `key` with, preferring `preferred` roles in order.
    pub fn role_of(platform: &Platform, key: &PartyKey, preferred: &[Role]) -> Option<Role> {
        let roles: Vec<Role> = platform
            .roles
            .iter()
            .filter(|r| r.country_code == key.country_code && r.party_id == key.party_id)
            .map(|r| r.role)
            .collect();
        preferred.iter().copied().find(|r| roles.contains(r)).or_else(|| roles.first().copied())
    }

    pub fn cached_token(&self, fp: &[u8; 32]) -> Option<CachedToken> {
        let map = self.tokens.read().expect("lock");
        map.get(fp).filter(|t| t.at.elapsed() < TOKEN_TTL).copied()
    }

    pub fn cache_token(&self, fp: [u8; 32], platform_id: i64, token_row: i64, invite: bool) {
        let mut map = self.tokens.write().expect("lock");
        if map.len() > 100_000 {
            map.clear();
        }
        map.insert(fp, CachedToken { platform_id, token_row, invite, at: Instant::now() });
    }
}
