//! A cache of successful charger password verifications in front of the store's argon2 check.
//!
//! Argon2 costs tens of milliseconds of CPU per verification by design. When thousands of
//! chargers reconnect at once (a network blip, a load balancer restart) the hub would spend
//! minutes of CPU proving passwords it proved minutes ago. [`CachedAuth`] remembers, per charger,
//! a keyed SHA-256 of (the charger's stored argon2 hash, the password that matched it): a later
//! connection with the same password is accepted without argon2 while the stored hash is unchanged
//! and the entry younger than [`TTL`]. The charger row is still read on every connection, so a
//! removed charger or a changed hash (new password) is seen at once; the key is random per process,
//! so the cache holds nothing that a stolen memory image could test passwords against offline
//! faster than the stored argon2 hashes.
//!
//! Misses (first connections after a start, wrong passwords) run the inner check with at most one
//! argon2 verification per core at a time: without that bound a storm of cold connections would
//! start one 19 MiB argon2 computation per blocking thread (up to 512) at once.

use hub_core::token;
use ocpi_router::state::AppState;
use ocpp_gateway::{AuthResult, BasicAuth, BoxFuture, ChargerAuth};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How long a verified password is accepted from the cache.
pub const TTL: Duration = Duration::from_secs(3600);

struct Entry {
    digest: [u8; 32],
    verified_at: Instant,
}

/// [`ChargerAuth`] `A` (the store's argon2 check) behind a cache of successful verifications.
pub struct CachedAuth<A> {
    state: Arc<AppState>,
    inner: A,
    secret: String,
    entries: Mutex<HashMap<String, Entry>>,
    slow_checks: Semaphore,
}

impl<A: ChargerAuth> CachedAuth<A> {
    pub fn new(state: Arc<AppState>, inner: A) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        CachedAuth { state, inner, secret: token::generate(), entries: Mutex::new(HashMap::new()), slow_checks: Semaphore::new(cores) }
    }

    fn digest(&self, charger_id: &str, stored_hash: &str, password: &str) -> [u8; 32] {
        token::fingerprint(&format!("{}\0{charger_id}\0{stored_hash}\0{password}", self.secret))
    }

    fn hit(&self, charger_id: &str, digest: &[u8; 32]) -> bool {
        let entries = self.entries.lock().expect("auth cache lock");
        entries.get(charger_id).is_some_and(|e| ocpp_gateway::auth::constant_time_eq(&e.digest, digest) && e.verified_at.elapsed() < TTL)
    }
}

impl<A: ChargerAuth> ChargerAuth for CachedAuth<A> {
    fn check<'a>(&'a self, charger_id: &'a str, basic_auth: Option<&'a BasicAuth>) -> BoxFuture<'a, AuthResult> {
        Box::pin(async move {
            let Some(password) = basic_auth.and_then(BasicAuth::password_str) else {
                return self.inner.check(charger_id, basic_auth).await;
            };
            // Unknown chargers and store errors: the inner check gives its own verdict, cheaply.
            let Ok(Some(charger)) = self.state.store.get_charger(charger_id).await else {
                return self.inner.check(charger_id, basic_auth).await;
            };
            let digest = self.digest(charger_id, &charger.password_hash, password);
            if self.hit(charger_id, &digest) {
                return AuthResult::Accepted;
            }
            let verdict = {
                let _slot = self.slow_checks.acquire().await.expect("semaphore never closed");
                self.inner.check(charger_id, basic_auth).await
            };
            if verdict == AuthResult::Accepted {
                // Keyed by the hash read before the check: if it changed meanwhile, this entry
                // never matches the new one.
                self.entries
                    .lock()
                    .expect("auth cache lock")
                    .insert(charger_id.to_owned(), Entry { digest, verified_at: Instant::now() });
            }
            verdict
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microcpo::StoreAuth;
    use hub_core::party::PartyKey;
    use hub_core::store::{NewCharger, Store, StoreOptions};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The real store check, counting how often it runs (i.e. how often argon2 runs).
    struct Counted {
        inner: StoreAuth,
        calls: Arc<AtomicUsize>,
    }

    impl ChargerAuth for Counted {
        fn check<'a>(&'a self, charger_id: &'a str, basic_auth: Option<&'a BasicAuth>) -> BoxFuture<'a, AuthResult> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.inner.check(charger_id, basic_auth)
        }
    }

    fn basic(id: &str, password: &str) -> BasicAuth {
        BasicAuth { username: id.into(), password: password.as_bytes().to_vec() }
    }

    #[tokio::test]
    async fn verified_passwords_skip_argon2_until_the_stored_hash_changes() {
        // AppState builds the hub's HTTP client, which needs the process's rustls provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = std::env::temp_dir().join(format!("auth-cache-{}", uuid_like()));
        let url = format!("sqlite://{}/hub.db", dir.display());
        let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
        let party = PartyKey::new("NL", "MCP");
        store.create_hosted_party(&party, "Micro").await.unwrap();
        let hash = token::hash("first-password").unwrap();
        let charger = NewCharger { charger_id: "CP1".into(), password_hash: hash, owner: party, location_id: "L1".into(), evse_uids: vec!["E1".into()] };
        store.add_charger(&charger).await.unwrap();
        let config = hub_core::config::HubConfig::load(None).unwrap();
        let state = Arc::new(AppState::new(store, config));
        let calls = Arc::new(AtomicUsize::new(0));
        let auth = CachedAuth::new(state.clone(), Counted { inner: StoreAuth { state: state.clone() }, calls: calls.clone() });

        let good = basic("CP1", "first-password");
        assert_eq!(auth.check("CP1", Some(&good)).await, AuthResult::Accepted);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Reconnects: from the cache.
        assert_eq!(auth.check("CP1", Some(&good)).await, AuthResult::Accepted);
        assert_eq!(auth.check("CP1", Some(&good)).await, AuthResult::Accepted);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A wrong password is never answered from the cache, and does not evict the good one.
        assert_eq!(auth.check("CP1", Some(&basic("CP1", "guess"))).await, AuthResult::BadCredentials);
        assert_eq!(auth.check("CP1", None).await, AuthResult::BadCredentials);
        assert_eq!(auth.check("CP1", Some(&good)).await, AuthResult::Accepted);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(auth.check("CP9", Some(&basic("CP9", "first-password"))).await, AuthResult::UnknownCharger);

        // The password changes in the store (as another process would change it): the old one is
        // refused at once, the new one verified with argon2 and then cached.
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("UPDATE chargers SET password_hash = $1 WHERE charger_id = 'CP1'")
            .bind(token::hash("second-password").unwrap())
            .execute(&pool)
            .await
            .unwrap();
        let before = calls.load(Ordering::SeqCst);
        assert_eq!(auth.check("CP1", Some(&good)).await, AuthResult::BadCredentials);
        let new = basic("CP1", "second-password");
        assert_eq!(auth.check("CP1", Some(&new)).await, AuthResult::Accepted);
        assert_eq!(auth.check("CP1", Some(&new)).await, AuthResult::Accepted);
        assert_eq!(calls.load(Ordering::SeqCst), before + 2);
        pool.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    fn uuid_like() -> String {
        token::generate()[..16].to_string()
    }
}
