//! The store's behaviour, checked identically on every back end.
//!
//! Each scenario is written once (`scenario_*`) and run through [`for_each_backend`]: always on
//! SQLite (a fresh file in a fresh temp directory per test), and on PostgreSQL when
//! `HUB_TEST_POSTGRES_URL` names a server (e.g. `postgres://postgres@127.0.0.1:5432/postgres`):
//! a scratch database `hub_store_<uuid>` is created there for the test and dropped afterwards,
//! also when the test fails.

use hub_core::party::{ConnectionStatus, Endpoint, InterfaceRole, PartyKey, Platform, Role};
use hub_core::store::{
    Callback, Delivery, ListFilter, NewDelivery, ObjectChange, ObjectKey, Registration, ServerTokenKind, Store,
    StoreError, StoreOptions, StoredObject, now_micros,
};
use hub_core::token;
use sqlx::Connection;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const PG_ENV: &str = "HUB_TEST_POSTGRES_URL";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A scratch database for one run of one test; removed when dropped (also while unwinding).
enum Scratch {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, name: String },
}

impl Scratch {
    /// A database file in a directory that does not exist yet (`open` must create it).
    fn sqlite() -> (Scratch, String) {
        let dir = std::env::temp_dir().join(format!("hub_store_{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}", dir.join("nested").join("hub.db").display());
        (Scratch::Sqlite { dir }, url)
    }

    async fn postgres(admin_url: &str) -> (Scratch, String) {
        let name = format!("hub_store_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("{PG_ENV}={admin_url}: cannot connect: {e}"));
        let scratch = Scratch::Postgres {
            admin_url: admin_url.to_string(),
            name: name.clone(),
        };
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = conn.close().await;
        let url = with_database(admin_url, &name);
        (scratch, url)
    }

    fn backend(&self) -> &'static str {
        match self {
            Scratch::Sqlite { .. } => "sqlite",
            Scratch::Postgres { .. } => "postgres",
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match self {
            Scratch::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Scratch::Postgres { admin_url, name } => {
                // Drop may run inside (or while unwinding out of) a runtime: use a thread with
                // its own runtime.
                let label = name.clone();
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let outcome = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                    rt.block_on(async move {
                        let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut conn)
                        .await?;
                        conn.close().await?;
                        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                    })
                })
                .join();
                match outcome {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("warning: could not drop scratch database {label}: {e}"),
                    Err(_) => eprintln!("warning: dropping scratch database {label} panicked"),
                }
            }
        }
    }
}

/// `url` with its database (path) replaced by `db`, keeping any query parameters.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path = base[authority..].find('/').map(|i| authority + i).unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path], db);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn postgres_url() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty())
}

/// Runs `f` once per back end with the URL of a fresh, empty database. The body runs in its own
/// task so a failing assertion is caught, the scratch database removed, and the panic re-raised.
async fn for_each_database<F, Fut>(f: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut scratches = vec![Scratch::sqlite()];
    match postgres_url() {
        Some(admin) => scratches.push(Scratch::postgres(&admin).await),
        None => eprintln!("note: {PG_ENV} is not set; running this scenario on SQLite only"),
    }
    for (scratch, url) in scratches {
        let outcome = tokio::spawn(f(url)).await;
        let backend = scratch.backend();
        drop(scratch);
        if let Err(e) = outcome {
            eprintln!("scenario failed on the {backend} back end");
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
            panic!("scenario on {backend} did not complete: {e}");
        }
    }
}

/// Runs a scenario once per back end against a freshly opened (migrated) store.
async fn for_each_backend<F, Fut>(f: F)
where
    F: Fn(Store) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    for_each_database(move |url| {
        let f = f.clone();
        async move {
            let store = Store::open(&url, &StoreOptions::default()).await.expect("open store");
            f(store.clone()).await;
            store.close().await;
        }
    })
    .await
}

/// Runs a scenario on SQLite with group commit on (`Store::enable_group_commit`): the writes go
/// through the writer task and must behave exactly as without it.
async fn with_group_commit<F, Fut>(f: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (scratch, url) = Scratch::sqlite();
    let store = Store::open(&url, &StoreOptions::default()).await.expect("open store");
    assert!(store.enable_group_commit());
    let outcome = tokio::spawn(f(store.clone())).await;
    store.close().await;
    drop(scratch);
    if let Err(e) = outcome {
        eprintln!("scenario failed on SQLite with group commit");
        std::panic::resume_unwind(e.into_panic());
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const BASE: i64 = 1_700_000_000_000_000; // a last_updated origin, micros

fn pk(cc: &str, pid: &str) -> PartyKey {
    PartyKey::new(cc, pid)
}

fn ep(identifier: &str, role: InterfaceRole, url: &str) -> Endpoint {
    Endpoint {
        identifier: identifier.into(),
        role,
        url: url.into(),
    }
}

struct Issued {
    plain: String,
    lookup: String,
    hash: String,
}

fn issue() -> Issued {
    let plain = token::generate();
    Issued {
        lookup: token::lookup_key(&plain),
        hash: token::hash(&plain).expect("hash"),
        plain,
    }
}

fn registration(
    roles: &[(PartyKey, Role)],
    endpoints: Vec<Endpoint>,
    client_token: &str,
    new_token: Option<&Issued>,
) -> Registration {
    Registration {
        ocpi_version: "2.2.1".into(),
        versions_url: "https://partner.example/ocpi/versions".into(),
        client_token: client_token.into(),
        endpoints,
        roles: roles.iter().map(|(k, r)| (k.clone(), *r, None)).collect(),
        new_server_token: new_token.map(|t| (t.lookup.clone(), t.hash.clone())),
    }
}

/// A CONNECTED platform hosting `roles`, with one endpoint and an active server token.
async fn registered(store: &Store, name: &str, roles: &[(PartyKey, Role)]) -> (i64, Issued) {
    let id = store.create_platform(Some(name)).await.unwrap();
    let t = issue();
    let reg = registration(
        roles,
        vec![ep(
            "locations",
            InterfaceRole::Receiver,
            &format!("https://{name}.example/locations"),
        )],
        &format!("client-token-{name}"),
        Some(&t),
    );
    store.complete_registration(id, &reg).await.unwrap();
    (id, t)
}

async fn platform(store: &Store, id: i64) -> Platform {
    store
        .get_platform(id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("platform {id} missing"))
}

fn delivery(target: i64, object_key: &str, tag: &str) -> NewDelivery {
    NewDelivery {
        target_platform_id: target,
        object_key: object_key.into(),
        module: "locations".into(),
        interface_role: InterfaceRole::Receiver,
        method: "PUT".into(),
        path: format!("/NL/AAA/{tag}"),
        absolute_url: false,
        headers: vec![("OCPI-from-country-code".into(), "NL".into())],
        body: Some(format!("{{\"tag\":\"{tag}\"}}")),
    }
}

fn tag(d: &Delivery) -> &str {
    d.d.path.rsplit('/').next().unwrap()
}

fn tags(ds: &[Delivery]) -> Vec<&str> {
    ds.iter().map(tag).collect()
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await
}

fn list(module: &str) -> ListFilter {
    ListFilter {
        module: module.into(),
        limit: 100_000,
        ..Default::default()
    }
}

fn ids(items: &[StoredObject]) -> Vec<&str> {
    items.iter().map(|o| o.key.id.as_str()).collect()
}

fn assert_conflict<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    match r {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected a conflict, got {other:?}"),
    }
}

/// A tiny deterministic generator (no proptest).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------------------------------------
// Opening and migrating
// ---------------------------------------------------------------------------------------------

async fn scenario_open_idempotent(url: String) {
    let opts = StoreOptions::default();
    let expected_backend = if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };

    let a = Store::open(&url, &opts)
        .await
        .expect("first open (creates the sqlite directory)");
    assert_eq!(a.backend(), expected_backend);
    a.migrate().await.expect("migrating an up-to-date database is a no-op");
    a.migrate().await.expect("and again");
    let id = a.create_platform(Some("kept")).await.unwrap();

    // A second open of the same, already migrated database works and sees the data.
    let b = Store::open(
        &url,
        &StoreOptions {
            max_connections: 1,
            sqlite_synchronous_full: false,
        },
    )
    .await
    .expect("second open");
    assert_eq!(platform(&b, id).await.name.as_deref(), Some("kept"));
    b.close().await;
    a.close().await;

    // Connect (no migration) after closing: the data is durable.
    let c = Store::connect(&url, &opts).await.expect("connect");
    assert_eq!(c.backend(), expected_backend);
    let all = c.list_platforms().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, id);
    assert_eq!(all[0].status, ConnectionStatus::Planned);
    c.close().await;

    match Store::open("mysql://localhost/hub", &opts).await {
        Err(StoreError::UnsupportedUrl(_)) => {}
        other => panic!("mysql url: expected UnsupportedUrl, got {other:?}"),
    }
}

#[tokio::test]
async fn open_is_idempotent() {
    for_each_database(|url| async move { scenario_open_idempotent(url).await }).await;
}

// ---------------------------------------------------------------------------------------------
// Platforms, parties and tokens
// ---------------------------------------------------------------------------------------------

async fn scenario_invites(store: &Store) {
    let aaa = pk("nl", "aaa"); // CiStrings: stored upper-cased
    let t = issue();
    let p1 = store
        .create_invite(Some("Alpha"), Some((aaa.clone(), Role::Cpo)), &t.lookup, &t.hash)
        .await
        .unwrap();

    let p = platform(store, p1).await;
    assert_eq!(p.name.as_deref(), Some("Alpha"));
    assert_eq!(p.status, ConnectionStatus::Planned);
    assert!(p.endpoints.is_empty());
    assert!(!p.is_registered());
    assert_eq!(p.client_token, None);
    assert_eq!(p.consecutive_failures, 0);
    assert_eq!(p.roles.len(), 1);
    let r = &p.roles[0];
    assert_eq!(
        (r.country_code.as_str(), r.party_id.as_str(), r.role),
        ("NL", "AAA", Role::Cpo)
    );
    assert_eq!(r.platform_id, p1);
    assert_eq!(r.status, ConnectionStatus::Planned);
    assert_eq!(r.business_details, None);

    // The token is found by its lookup key and proven by the stored hash.
    let rows = store.find_server_tokens(&t.lookup).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].kind, ServerTokenKind::Invite);
    assert_eq!(rows[0].platform_id, p1);
    assert_eq!(rows[0].hash, t.hash);
    assert!(token::verify(&t.plain, &rows[0].hash));
    assert!(!token::verify(&token::generate(), &rows[0].hash));
    assert!(!rows[0].hash.contains(&t.plain), "the plain token must not be stored");
    assert!(
        !rows[0].hash.contains(&t.lookup),
        "the hash is not derived from the lookup key"
    );
    assert!(store.server_token_exists(rows[0].id).await.unwrap());
    assert!(!store.server_token_exists(rows[0].id + 1000).await.unwrap());
    assert!(
        store
            .find_server_tokens(&token::lookup_key("unknown"))
            .await
            .unwrap()
            .is_empty()
    );

    // The same party and role cannot be invited twice, and nothing of the refused invite stays.
    let t2 = issue();
    assert_conflict(
        store
            .create_invite(
                Some("Alpha again"),
                Some((pk("NL", "AAA"), Role::Cpo)),
                &t2.lookup,
                &t2.hash,
            )
            .await,
        "second invite of NL-AAA CPO",
    );
    assert_eq!(
        store.list_platforms().await.unwrap().len(),
        1,
        "the refused invite's platform was rolled back"
    );
    assert!(store.find_server_tokens(&t2.lookup).await.unwrap().is_empty());

    // Same party, another role: fine.
    let p2 = store
        .create_invite(None, Some((aaa.clone(), Role::Emsp)), &t2.lookup, &t2.hash)
        .await
        .unwrap();
    assert_ne!(p2, p1);
    assert_eq!(platform(store, p2).await.roles[0].role, Role::Emsp);

    // An invite without a party.
    let t3 = issue();
    let p3 = store.create_invite(None, None, &t3.lookup, &t3.hash).await.unwrap();
    let p = platform(store, p3).await;
    assert!(p.roles.is_empty());
    assert_eq!(p.name, None);

    // Two tokens under one lookup key: both candidates come back, each proven by its own hash.
    let t4 = issue();
    let p4 = store
        .create_invite(Some("collision"), None, &t3.lookup, &t4.hash)
        .await
        .unwrap();
    let rows = store.find_server_tokens(&t3.lookup).await.unwrap();
    assert_eq!(rows.len(), 2);
    let by_platform: HashMap<i64, &str> = rows.iter().map(|r| (r.platform_id, r.hash.as_str())).collect();
    assert!(token::verify(&t3.plain, by_platform[&p3]));
    assert!(token::verify(&t4.plain, by_platform[&p4]));
    assert!(!token::verify(&t3.plain, by_platform[&p4]));

    let all: Vec<i64> = store.list_platforms().await.unwrap().iter().map(|p| p.id).collect();
    assert_eq!(all, vec![p1, p2, p3, p4]);
    assert!(store.get_platform(p4 + 1000).await.unwrap().is_none());
}

#[tokio::test]
async fn invites_and_tokens() {
    for_each_backend(|store| async move { scenario_invites(&store).await }).await;
}

async fn scenario_registration(store: &Store) {
    let aaa = pk("NL", "AAA");
    let invite = issue();
    let p1 = store
        .create_invite(
            Some("Alpha"),
            Some((aaa.clone(), Role::Cpo)),
            &invite.lookup,
            &invite.hash,
        )
        .await
        .unwrap();
    let invite_row = store.find_server_tokens(&invite.lookup).await.unwrap()[0].id;

    // First registration.
    let t1 = issue();
    let details = serde_json::json!({"name": "Alpha Charging", "website": "https://alpha.example"});
    let reg1 = Registration {
        ocpi_version: "2.2.1".into(),
        versions_url: "https://alpha.example/versions".into(),
        client_token: "token-b-1".into(),
        endpoints: vec![
            ep("tokens", InterfaceRole::Receiver, "https://alpha.example/tokens"),
            ep("locations", InterfaceRole::Sender, "https://alpha.example/locations"),
        ],
        roles: vec![
            (aaa.clone(), Role::Cpo, Some(details.clone())),
            (aaa.clone(), Role::Emsp, None),
        ],
        new_server_token: Some((t1.lookup.clone(), t1.hash.clone())),
    };
    store.complete_registration(p1, &reg1).await.unwrap();

    let p = platform(store, p1).await;
    assert_eq!(p.status, ConnectionStatus::Connected);
    assert_eq!(p.ocpi_version.as_deref(), Some("2.2.1"));
    assert_eq!(p.versions_url.as_deref(), Some("https://alpha.example/versions"));
    assert_eq!(p.client_token.as_deref(), Some("token-b-1"));
    assert!(p.is_registered());
    assert_eq!(p.consecutive_failures, 0);
    assert_eq!(p.endpoints.len(), 2);
    assert_eq!(
        p.endpoint("locations", InterfaceRole::Sender),
        Some("https://alpha.example/locations")
    );
    assert_eq!(
        p.endpoint("tokens", InterfaceRole::Receiver),
        Some("https://alpha.example/tokens")
    );
    assert_eq!(p.endpoint("locations", InterfaceRole::Receiver), None);
    let roles: BTreeSet<(String, String, &str, Option<String>)> = p
        .roles
        .iter()
        .map(|r| {
            (
                r.country_code.clone(),
                r.party_id.clone(),
                r.role.as_str(),
                r.business_details.as_ref().map(|d| d.to_string()),
            )
        })
        .collect();
    let expected: BTreeSet<_> = [
        ("NL".to_string(), "AAA".to_string(), "CPO", Some(details.to_string())),
        ("NL".to_string(), "AAA".to_string(), "EMSP", None),
    ]
    .into_iter()
    .collect();
    assert_eq!(roles, expected);
    assert!(
        p.roles
            .iter()
            .all(|r| r.status == ConnectionStatus::Connected && r.platform_id == p1)
    );

    // The invite token is gone; the new token is active.
    assert!(store.find_server_tokens(&invite.lookup).await.unwrap().is_empty());
    assert!(!store.server_token_exists(invite_row).await.unwrap());
    let rows = store.find_server_tokens(&t1.lookup).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].kind, ServerTokenKind::Active);
    assert_eq!(rows[0].platform_id, p1);
    assert!(token::verify(&t1.plain, &rows[0].hash));
    assert!(!rows[0].hash.contains(&t1.plain));
    let t1_row = rows[0].id;

    // Re-registration: version, endpoints and parties are replaced, the token rotates.
    let t2 = issue();
    let mut reg2 = registration(
        &[(aaa.clone(), Role::Cpo)],
        vec![ep("cdrs", InterfaceRole::Receiver, "https://alpha.example/v2/cdrs")],
        "token-b-2",
        Some(&t2),
    );
    reg2.ocpi_version = "2.1.1".into();
    reg2.versions_url = "https://alpha.example/v2/versions".into();
    store.complete_registration(p1, &reg2).await.unwrap();
    let p = platform(store, p1).await;
    assert_eq!(p.ocpi_version.as_deref(), Some("2.1.1"));
    assert_eq!(p.versions_url.as_deref(), Some("https://alpha.example/v2/versions"));
    assert_eq!(p.client_token.as_deref(), Some("token-b-2"));
    assert_eq!(
        p.endpoints,
        vec![ep("cdrs", InterfaceRole::Receiver, "https://alpha.example/v2/cdrs")]
    );
    assert_eq!(p.roles.len(), 1);
    assert_eq!(
        (p.roles[0].role, p.roles[0].business_details.clone()),
        (Role::Cpo, None)
    );

    let old = store.find_server_tokens(&t1.lookup).await.unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].id, t1_row);
    assert_eq!(
        old[0].kind,
        ServerTokenKind::Superseded,
        "the previous token stays valid until the new one is used"
    );
    assert!(token::verify(&t1.plain, &old[0].hash));
    assert!(store.server_token_exists(t1_row).await.unwrap());
    let new = store.find_server_tokens(&t2.lookup).await.unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].kind, ServerTokenKind::Active);
    assert!(token::verify(&t2.plain, &new[0].hash));

    // Another rotation: only the token active until now stays (superseded), the older one ends.
    let t3 = issue();
    store
        .complete_registration(
            p1,
            &registration(&[(aaa.clone(), Role::Cpo)], vec![], "token-b-3", Some(&t3)),
        )
        .await
        .unwrap();
    assert!(store.find_server_tokens(&t1.lookup).await.unwrap().is_empty());
    assert_eq!(
        store.find_server_tokens(&t2.lookup).await.unwrap()[0].kind,
        ServerTokenKind::Superseded
    );
    assert_eq!(
        store.find_server_tokens(&t3.lookup).await.unwrap()[0].kind,
        ServerTokenKind::Active
    );
    assert!(
        platform(store, p1).await.endpoints.is_empty(),
        "endpoints replaced by an empty list"
    );

    // First use of the new token ends the superseded one.
    assert_eq!(store.drop_superseded_tokens(p1).await.unwrap(), 1);
    assert!(store.find_server_tokens(&t2.lookup).await.unwrap().is_empty());
    assert_eq!(
        store.find_server_tokens(&t3.lookup).await.unwrap()[0].kind,
        ServerTokenKind::Active
    );
    assert_eq!(store.drop_superseded_tokens(p1).await.unwrap(), 0);

    // A registration without a new token leaves the tokens alone.
    store
        .complete_registration(
            p1,
            &registration(&[(aaa.clone(), Role::Cpo)], vec![], "token-b-4", None),
        )
        .await
        .unwrap();
    let rows = store.find_server_tokens(&t3.lookup).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].kind, ServerTokenKind::Active);
    assert_eq!(store.drop_superseded_tokens(p1).await.unwrap(), 0);
    assert_eq!(platform(store, p1).await.client_token.as_deref(), Some("token-b-4"));

    // Another platform cannot take a party role p1 holds, and nothing of that attempt is stored.
    let bbb = pk("DE", "BBB");
    let p2 = store.create_platform(Some("Beta")).await.unwrap();
    let t5 = issue();
    let reg5 = registration(
        &[(bbb.clone(), Role::Cpo), (aaa.clone(), Role::Cpo)],
        vec![ep("locations", InterfaceRole::Sender, "https://beta.example/locations")],
        "token-b-beta",
        Some(&t5),
    );
    assert_conflict(
        store.complete_registration(p2, &reg5).await,
        "registering NL-AAA CPO on a second platform",
    );
    let p = platform(store, p2).await;
    assert_eq!(p.status, ConnectionStatus::Planned);
    assert!(p.endpoints.is_empty());
    assert!(p.roles.is_empty());
    assert_eq!((p.ocpi_version, p.versions_url, p.client_token), (None, None, None));
    assert!(store.find_server_tokens(&t5.lookup).await.unwrap().is_empty());
    assert!(store.find_platforms_by_party(&bbb, None).await.unwrap().is_empty());
    let holders: Vec<i64> = store
        .find_platforms_by_party(&aaa, Some(Role::Cpo))
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(holders, vec![p1]);
    assert_eq!(platform(store, p1).await.client_token.as_deref(), Some("token-b-4"));

    // Without the contested role it registers.
    let reg5 = registration(
        &[(bbb.clone(), Role::Cpo)],
        reg5.endpoints.clone(),
        "token-b-beta",
        Some(&t5),
    );
    store.complete_registration(p2, &reg5).await.unwrap();
    assert_eq!(platform(store, p2).await.status, ConnectionStatus::Connected);
    assert_eq!(
        store.find_server_tokens(&t5.lookup).await.unwrap()[0].kind,
        ServerTokenKind::Active
    );

    // delete_platform removes the platform and everything of it; the party is free again.
    let cb = Callback {
        id: "cb-beta".into(),
        requester_platform_id: p2,
        requester: bbb.clone(),
        receiver: aaa.clone(),
        module: "commands".into(),
        response_url: "https://beta.example/cb".into(),
    };
    store.create_callback(&cb).await.unwrap();
    store.enqueue(&[delivery(p2, "k", "x")]).await.unwrap();
    store.delete_platform(p2).await.unwrap();
    assert!(store.get_platform(p2).await.unwrap().is_none());
    assert!(store.find_server_tokens(&t5.lookup).await.unwrap().is_empty());
    assert!(store.find_platforms_by_party(&bbb, None).await.unwrap().is_empty());
    assert!(store.get_callback("cb-beta").await.unwrap().is_none());
    assert_eq!(store.outbox_counts().await.unwrap(), (0, 0));
    store
        .create_invite(None, Some((bbb, Role::Cpo)), "lookup", "hash")
        .await
        .unwrap();
}

#[tokio::test]
async fn registration_and_rotation() {
    for_each_backend(|store| async move { scenario_registration(&store).await }).await;
}

async fn scenario_unregister(store: &Store) {
    let (p1, t1) = registered(store, "alpha", &[(pk("NL", "AAA"), Role::Cpo)]).await;
    let (p2, t2) = registered(store, "beta", &[(pk("DE", "BBB"), Role::Emsp)]).await;
    store
        .enqueue(&[
            delivery(p1, "k1", "a"),
            delivery(p1, "k2", "b"),
            delivery(p2, "k1", "c"),
        ])
        .await
        .unwrap();
    let claimed = store.claim_due_deliveries(10, 60_000).await.unwrap();
    let b = claimed.iter().find(|d| tag(d) == "b").expect("b claimed");
    store.delivery_rejected(b.id, "400").await.unwrap();
    assert_eq!(store.outbox_counts().await.unwrap(), (2, 1));

    let before = platform(store, p1).await.roles[0].last_updated;
    sleep_ms(5).await;
    store.unregister(p1).await.unwrap();

    let p = platform(store, p1).await;
    assert_eq!(p.status, ConnectionStatus::Suspended);
    assert!(p.endpoints.is_empty());
    assert_eq!(p.client_token, None);
    assert_eq!(p.ocpi_version, None);
    assert!(!p.is_registered());
    assert_eq!(p.roles.len(), 1, "the party stays, for Hub Client Info");
    assert_eq!(p.roles[0].status, ConnectionStatus::Suspended);
    assert!(p.roles[0].last_updated > before);
    assert!(store.find_server_tokens(&t1.lookup).await.unwrap().is_empty());
    assert_eq!(
        store.outbox_counts().await.unwrap(),
        (1, 0),
        "p1's pending and dead deliveries are gone"
    );
    assert!(!store.has_pending_delivery(p1, "k1").await.unwrap());
    assert!(store.has_pending_delivery(p2, "k1").await.unwrap());

    // The other platform is untouched.
    let q = platform(store, p2).await;
    assert_eq!(q.status, ConnectionStatus::Connected);
    assert_eq!(q.endpoints.len(), 1);
    assert_eq!(
        store.find_server_tokens(&t2.lookup).await.unwrap()[0].kind,
        ServerTokenKind::Active
    );
}

#[tokio::test]
async fn unregister() {
    for_each_backend(|store| async move { scenario_unregister(&store).await }).await;
}

async fn role_times(store: &Store, id: i64) -> Vec<i64> {
    platform(store, id).await.roles.iter().map(|r| r.last_updated).collect()
}

async fn scenario_status(store: &Store) {
    let aaa = pk("NL", "AAA");
    let (p, _) = registered(store, "alpha", &[(aaa.clone(), Role::Cpo), (aaa.clone(), Role::Emsp)]).await;
    let (other, _) = registered(store, "beta", &[(pk("DE", "BBB"), Role::Cpo)]).await;
    let other_times = role_times(store, other).await;
    let t0 = role_times(store, p).await;
    sleep_ms(5).await;

    assert!(
        !store.set_platform_status(p, ConnectionStatus::Connected).await.unwrap(),
        "no change"
    );
    assert_eq!(role_times(store, p).await, t0, "no change, no new last_updated");

    // Failures accumulate; a status change resets them.
    for _ in 0..2 {
        assert_eq!(store.record_delivery_outcome(p, false, 100).await.unwrap(), None);
    }
    assert_eq!(platform(store, p).await.consecutive_failures, 2);
    assert!(store.set_platform_status(p, ConnectionStatus::Offline).await.unwrap());
    let q = platform(store, p).await;
    assert_eq!(q.status, ConnectionStatus::Offline);
    assert_eq!(q.consecutive_failures, 0);
    assert!(q.roles.iter().all(|r| r.status == ConnectionStatus::Offline));
    let t1 = role_times(store, p).await;
    assert!(
        t1.iter().zip(&t0).all(|(a, b)| a > b),
        "party_roles.last_updated moves on a change"
    );
    assert_eq!(
        role_times(store, other).await,
        other_times,
        "other platforms' parties do not move"
    );

    assert!(!store.set_platform_status(p, ConnectionStatus::Offline).await.unwrap());
    assert_eq!(role_times(store, p).await, t1);

    // Hub Client Info shows the platform's status.
    let (roles, _) = store.list_party_roles(None, None, 0, 100).await.unwrap();
    let mine: Vec<_> = roles.iter().filter(|r| r.platform_id == p).collect();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|r| r.status == ConnectionStatus::Offline));
    assert!(
        roles
            .iter()
            .filter(|r| r.platform_id == other)
            .all(|r| r.status == ConnectionStatus::Connected)
    );

    assert!(store.set_platform_status(p, ConnectionStatus::Suspended).await.unwrap());
    assert_eq!(platform(store, p).await.status, ConnectionStatus::Suspended);
    assert!(store.set_platform_status(p, ConnectionStatus::Connected).await.unwrap());
    assert_eq!(platform(store, p).await.status, ConnectionStatus::Connected);
    assert!(
        !store
            .set_platform_status(p + 1000, ConnectionStatus::Suspended)
            .await
            .unwrap(),
        "unknown platform"
    );
}

#[tokio::test]
async fn platform_status() {
    for_each_backend(|store| async move { scenario_status(&store).await }).await;
}

async fn scenario_delivery_outcome(store: &Store) {
    let (p, _) = registered(store, "alpha", &[(pk("NL", "AAA"), Role::Cpo)]).await;
    let t0 = role_times(store, p).await;
    sleep_ms(5).await;

    // OFFLINE after 3 consecutive failures.
    assert_eq!(store.record_delivery_outcome(p, false, 3).await.unwrap(), None);
    assert_eq!(store.record_delivery_outcome(p, false, 3).await.unwrap(), None);
    assert_eq!(platform(store, p).await.status, ConnectionStatus::Connected);
    assert_eq!(role_times(store, p).await, t0);
    assert_eq!(
        store.record_delivery_outcome(p, false, 3).await.unwrap(),
        Some(ConnectionStatus::Offline)
    );
    let q = platform(store, p).await;
    assert_eq!((q.status, q.consecutive_failures), (ConnectionStatus::Offline, 3));
    let t1 = role_times(store, p).await;
    assert!(t1[0] > t0[0], "going OFFLINE changes Hub Client Info");
    assert_eq!(
        store.record_delivery_outcome(p, false, 3).await.unwrap(),
        None,
        "already OFFLINE"
    );
    assert_eq!(platform(store, p).await.consecutive_failures, 4);

    // A success brings it back.
    sleep_ms(5).await;
    assert_eq!(
        store.record_delivery_outcome(p, true, 3).await.unwrap(),
        Some(ConnectionStatus::Connected)
    );
    let q = platform(store, p).await;
    assert_eq!((q.status, q.consecutive_failures), (ConnectionStatus::Connected, 0));
    assert!(role_times(store, p).await[0] > t1[0]);
    assert_eq!(store.record_delivery_outcome(p, true, 3).await.unwrap(), None);

    // Failures must be consecutive: a success in between restarts the count.
    assert_eq!(store.record_delivery_outcome(p, false, 3).await.unwrap(), None);
    assert_eq!(store.record_delivery_outcome(p, false, 3).await.unwrap(), None);
    assert_eq!(store.record_delivery_outcome(p, true, 3).await.unwrap(), None);
    assert_eq!(platform(store, p).await.consecutive_failures, 0);
    assert_eq!(store.record_delivery_outcome(p, false, 3).await.unwrap(), None);
    assert_eq!(store.record_delivery_outcome(p, false, 3).await.unwrap(), None);
    assert_eq!(platform(store, p).await.status, ConnectionStatus::Connected);

    // Threshold 1: the first failure.
    let (p1, _) = registered(store, "beta", &[(pk("DE", "BBB"), Role::Cpo)]).await;
    assert_eq!(
        store.record_delivery_outcome(p1, false, 1).await.unwrap(),
        Some(ConnectionStatus::Offline)
    );

    // SUSPENDED and PLANNED platforms are never moved by delivery outcomes.
    assert!(store.set_platform_status(p, ConnectionStatus::Suspended).await.unwrap());
    let planned = store.create_platform(Some("planned")).await.unwrap();
    for id in [p, planned] {
        let status = platform(store, id).await.status;
        for _ in 0..5 {
            assert_eq!(store.record_delivery_outcome(id, false, 2).await.unwrap(), None);
        }
        assert_eq!(platform(store, id).await.status, status);
        assert_eq!(store.record_delivery_outcome(id, true, 2).await.unwrap(), None);
        assert_eq!(platform(store, id).await.status, status);
    }
    assert_eq!(platform(store, p).await.status, ConnectionStatus::Suspended);
    assert_eq!(platform(store, planned).await.status, ConnectionStatus::Planned);
}

#[tokio::test]
async fn delivery_outcome_moves_status() {
    for_each_backend(|store| async move { scenario_delivery_outcome(&store).await }).await;
}

async fn scenario_find_by_party(store: &Store) {
    let aaa = pk("NL", "AAA");
    let (p1, _) = registered(store, "alpha", &[(aaa.clone(), Role::Cpo), (aaa.clone(), Role::Emsp)]).await;
    let (p2, _) = registered(store, "beta", &[(aaa.clone(), Role::Nsp)]).await;
    let (p3, _) = registered(store, "gamma", &[(pk("DE", "CCC"), Role::Cpo)]).await;

    let found = |v: Vec<Platform>| -> Vec<i64> {
        let mut ids: Vec<i64> = v.iter().map(|p| p.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        found(store.find_platforms_by_party(&aaa, None).await.unwrap()),
        vec![p1, p2],
        "each platform once"
    );
    assert_eq!(
        found(store.find_platforms_by_party(&aaa, Some(Role::Cpo)).await.unwrap()),
        vec![p1]
    );
    assert_eq!(
        found(store.find_platforms_by_party(&aaa, Some(Role::Emsp)).await.unwrap()),
        vec![p1]
    );
    assert_eq!(
        found(store.find_platforms_by_party(&aaa, Some(Role::Nsp)).await.unwrap()),
        vec![p2]
    );
    assert!(
        store
            .find_platforms_by_party(&aaa, Some(Role::Scsp))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        found(store.find_platforms_by_party(&pk("nl", "aaa"), None).await.unwrap()),
        vec![p1, p2]
    );
    assert!(
        store
            .find_platforms_by_party(&pk("NL", "AAB"), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .find_platforms_by_party(&pk("DE", "AAA"), None)
            .await
            .unwrap()
            .is_empty()
    );

    let ccc = store
        .find_platforms_by_party(&pk("DE", "CCC"), Some(Role::Cpo))
        .await
        .unwrap();
    assert_eq!(ccc.len(), 1);
    assert_eq!(ccc[0].id, p3);
    assert_eq!(ccc[0].name.as_deref(), Some("gamma"));
    assert_eq!(ccc[0].endpoints.len(), 1, "platforms come back fully loaded");
    assert_eq!(ccc[0].roles.len(), 1);

    let all = store.list_platforms().await.unwrap();
    assert_eq!(all.iter().map(|p| p.id).collect::<Vec<_>>(), vec![p1, p2, p3]);
    assert_eq!(all[0].roles.len(), 2);
    assert!(all.iter().all(|p| p.roles.iter().all(|r| r.platform_id == p.id)));
}

#[tokio::test]
async fn find_platforms_by_party() {
    for_each_backend(|store| async move { scenario_find_by_party(&store).await }).await;
}

async fn scenario_list_party_roles(store: &Store) {
    let mut platforms = Vec::new();
    for i in 0..7 {
        let id = store
            .create_invite(
                Some(&format!("p{i}")),
                Some((pk("NL", &format!("P{i:02}")), Role::Cpo)),
                &format!("l{i}"),
                "h",
            )
            .await
            .unwrap();
        platforms.push(id);
        sleep_ms(3).await;
    }
    let names = |roles: &[hub_core::party::PartyRole]| roles.iter().map(|r| r.party_id.clone()).collect::<Vec<_>>();

    let (all, total) = store.list_party_roles(None, None, 0, 100).await.unwrap();
    assert_eq!(total, 7);
    assert_eq!(names(&all), (0..7).map(|i| format!("P{i:02}")).collect::<Vec<_>>());
    assert!(all.windows(2).all(|w| w[0].last_updated < w[1].last_updated));
    assert!(all.iter().all(|r| r.status == ConnectionStatus::Planned));

    // Paging.
    let mut paged = Vec::new();
    for offset in (0..7).step_by(3) {
        let (page, total) = store.list_party_roles(None, None, offset, 3).await.unwrap();
        assert_eq!(total, 7);
        assert_eq!(page.len(), if offset == 6 { 1 } else { 3 });
        paged.extend(page);
    }
    assert_eq!(paged, all);
    let (page, total) = store.list_party_roles(None, None, 9, 3).await.unwrap();
    assert!(page.is_empty());
    assert_eq!(total, 7);

    // Date window: from inclusive, to exclusive.
    let lu = |i: usize| all[i].last_updated;
    let (w, total) = store.list_party_roles(Some(lu(2)), Some(lu(5)), 0, 100).await.unwrap();
    assert_eq!(
        (names(&w), total),
        (vec!["P02".to_string(), "P03".into(), "P04".into()], 3)
    );
    let (w, total) = store.list_party_roles(Some(lu(5)), None, 0, 100).await.unwrap();
    assert_eq!((names(&w), total), (vec!["P05".to_string(), "P06".into()], 2));
    let (w, total) = store.list_party_roles(None, Some(lu(1)), 0, 100).await.unwrap();
    assert_eq!((names(&w), total), (vec!["P00".to_string()], 1));
    let (w, total) = store.list_party_roles(Some(lu(3)), Some(lu(3)), 0, 100).await.unwrap();
    assert_eq!((w.len(), total), (0, 0));
    let (w, total) = store.list_party_roles(Some(lu(2)), Some(lu(5)), 1, 1).await.unwrap();
    assert_eq!((names(&w), total), (vec!["P03".to_string()], 3));

    // A status change moves the party to the end.
    sleep_ms(3).await;
    assert!(
        store
            .set_platform_status(platforms[1], ConnectionStatus::Suspended)
            .await
            .unwrap()
    );
    let (all2, _) = store.list_party_roles(None, None, 0, 100).await.unwrap();
    assert_eq!(all2.last().unwrap().party_id, "P01");
    assert_eq!(all2.last().unwrap().status, ConnectionStatus::Suspended);
    let (w, total) = store
        .list_party_roles(Some(all2[6].last_updated), None, 0, 100)
        .await
        .unwrap();
    assert_eq!((names(&w), total), (vec!["P01".to_string()], 1));

    // Equal last_updated: ordered by insertion (id).
    sleep_ms(3).await;
    let x = pk("BE", "XXX");
    registered(
        store,
        "x",
        &[(x.clone(), Role::Nsp), (x.clone(), Role::Cpo), (x.clone(), Role::Emsp)],
    )
    .await;
    let (all3, total) = store.list_party_roles(None, None, 0, 100).await.unwrap();
    assert_eq!(total, 10);
    let tail: Vec<Role> = all3[7..].iter().map(|r| r.role).collect();
    assert_eq!(tail, vec![Role::Nsp, Role::Cpo, Role::Emsp]);
    assert!(
        all3[7..]
            .iter()
            .all(|r| r.last_updated == all3[7].last_updated && r.party_id == "XXX")
    );
    let (page, _) = store.list_party_roles(None, None, 8, 1).await.unwrap();
    assert_eq!(page[0].role, Role::Cpo);
}

#[tokio::test]
async fn list_party_roles() {
    for_each_backend(|store| async move { scenario_list_party_roles(&store).await }).await;
}

// ---------------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------------

fn counter_body(n: i64) -> String {
    format!("{{\"id\":\"LOC1\",\"n\":{n}}}")
}

async fn scenario_objects_apply(store: &Store) {
    let aaa = pk("NL", "AAA");
    let (target, _) = registered(store, "emsp", &[(pk("DE", "EEE"), Role::Emsp)]).await;
    let key = ObjectKey::new("locations", &aaa, "LOC1");
    assert_eq!(key.owner(), aaa);
    let okey = key.ordering_key();

    // Put, with deliveries.
    let out = store
        .apply(
            Some(ObjectChange::Put {
                key: key.clone(),
                last_updated: BASE + 1,
                body: counter_body(1),
            }),
            &[delivery(target, &okey, "put1"), delivery(target, "other", "put1b")],
        )
        .await
        .unwrap();
    assert_eq!(out.as_deref(), Some(counter_body(1).as_str()));
    let o = store.get_object(&key).await.unwrap().expect("stored");
    assert_eq!(
        (o.key.clone(), o.last_updated, o.body.clone()),
        (key.clone(), BASE + 1, counter_body(1))
    );
    assert_eq!(o.json().unwrap()["n"], 1);
    let seq = o.seq;
    assert_eq!(store.outbox_counts().await.unwrap(), (2, 0));
    assert!(store.has_pending_delivery(target, &okey).await.unwrap());

    // Put again: replaced, same seq.
    store
        .apply(
            Some(ObjectChange::Put {
                key: key.clone(),
                last_updated: BASE + 2,
                body: counter_body(2),
            }),
            &[],
        )
        .await
        .unwrap();
    let o = store.get_object(&key).await.unwrap().unwrap();
    assert_eq!(
        (o.seq, o.last_updated, o.body.as_str()),
        (seq, BASE + 2, counter_body(2).as_str())
    );

    // Patch: the closure sees the stored text and decides the new text and last_updated.
    let patch = Box::new(|old: &str| -> Result<(String, i64), String> {
        let v: serde_json::Value = serde_json::from_str(old).map_err(|e| e.to_string())?;
        let n = v["n"].as_i64().ok_or("no n")?;
        Ok((counter_body(n + 1), BASE + 3))
    });
    let out = store
        .apply(
            Some(ObjectChange::Patch {
                key: key.clone(),
                patch,
            }),
            &[delivery(target, &okey, "patch1")],
        )
        .await
        .unwrap();
    assert_eq!(out.as_deref(), Some(counter_body(3).as_str()));
    let o = store.get_object(&key).await.unwrap().unwrap();
    assert_eq!(
        (o.seq, o.last_updated, o.body.as_str()),
        (seq, BASE + 3, counter_body(3).as_str())
    );
    assert_eq!(store.outbox_counts().await.unwrap(), (3, 0));

    // A refused patch stores neither the change nor its deliveries.
    let refused = Box::new(|_: &str| -> Result<(String, i64), String> { Err("bad patch".into()) });
    match store
        .apply(
            Some(ObjectChange::Patch {
                key: key.clone(),
                patch: refused,
            }),
            &[delivery(target, &okey, "refused")],
        )
        .await
    {
        Err(StoreError::Rejected(m)) => assert!(m.contains("bad patch")),
        other => panic!("expected Rejected, got {other:?}"),
    }
    let o = store.get_object(&key).await.unwrap().unwrap();
    assert_eq!((o.last_updated, o.body.as_str()), (BASE + 3, counter_body(3).as_str()));
    assert_eq!(
        store.outbox_counts().await.unwrap(),
        (3, 0),
        "the refused patch's delivery is not queued"
    );

    // A put whose delivery cannot be stored (unknown target) is not stored either.
    let key2 = ObjectKey::new("locations", &aaa, "LOC2");
    let r = store
        .apply(
            Some(ObjectChange::Put {
                key: key2.clone(),
                last_updated: BASE,
                body: "{}".into(),
            }),
            &[delivery(999_999, "k", "orphan")],
        )
        .await;
    assert!(
        matches!(r, Err(StoreError::Db(_) | StoreError::Database(_))),
        "expected a database error, got {r:?}"
    );
    assert!(
        store.get_object(&key2).await.unwrap().is_none(),
        "the put was rolled back with its delivery"
    );
    assert_eq!(store.outbox_counts().await.unwrap(), (3, 0));

    // Patching an object the hub has no copy of: nothing to patch, the closure is not called.
    let called = Arc::new(AtomicBool::new(false));
    let flag = called.clone();
    let patch = Box::new(move |_: &str| -> Result<(String, i64), String> {
        flag.store(true, Ordering::SeqCst);
        Ok(("{}".into(), 0))
    });
    let out = store
        .apply(
            Some(ObjectChange::Patch {
                key: key2.clone(),
                patch,
            }),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(out, None);
    assert!(!called.load(Ordering::SeqCst));
    assert!(store.get_object(&key2).await.unwrap().is_none());

    // Only deliveries.
    assert_eq!(
        store.apply(None, &[delivery(target, "k9", "only")]).await.unwrap(),
        None
    );
    assert_eq!(store.outbox_counts().await.unwrap(), (4, 0));

    // find_objects_by_id: every owner, one module.
    let bbb = pk("DE", "BBB");
    let tok_a = ObjectKey::new("tokens", &aaa, "UID1");
    let tok_b = ObjectKey::new("tokens", &bbb, "UID1");
    store
        .apply(
            Some(ObjectChange::Put {
                key: tok_b.clone(),
                last_updated: BASE,
                body: "{\"o\":\"b\"}".into(),
            }),
            &[],
        )
        .await
        .unwrap();
    store
        .apply(
            Some(ObjectChange::Put {
                key: tok_a.clone(),
                last_updated: BASE,
                body: "{\"o\":\"a\"}".into(),
            }),
            &[],
        )
        .await
        .unwrap();
    store
        .apply(
            Some(ObjectChange::Put {
                key: ObjectKey::new("locations", &aaa, "UID1"),
                last_updated: BASE,
                body: "{}".into(),
            }),
            &[],
        )
        .await
        .unwrap();
    let found = store.find_objects_by_id("tokens", "UID1").await.unwrap();
    assert_eq!(
        found.iter().map(|o| o.key.clone()).collect::<Vec<_>>(),
        vec![tok_b.clone(), tok_a.clone()],
        "ordered by seq"
    );
    assert!(found[0].seq < found[1].seq);
    assert!(store.find_objects_by_id("tokens", "UID2").await.unwrap().is_empty());
    assert!(store.find_objects_by_id("sessions", "UID1").await.unwrap().is_empty());
    assert_eq!(store.find_objects_by_id("locations", "LOC1").await.unwrap().len(), 1);

    // Delete (with a delivery), and a delete of a missing object.
    let out = store
        .apply(
            Some(ObjectChange::Delete { key: tok_a.clone() }),
            &[delivery(target, "tok", "del")],
        )
        .await
        .unwrap();
    assert_eq!(out, None);
    assert!(store.get_object(&tok_a).await.unwrap().is_none());
    assert!(
        store.get_object(&tok_b).await.unwrap().is_some(),
        "only that owner's object"
    );
    assert_eq!(store.find_objects_by_id("tokens", "UID1").await.unwrap().len(), 1);
    assert_eq!(store.outbox_counts().await.unwrap(), (5, 0));
    assert_eq!(
        store
            .apply(Some(ObjectChange::Delete { key: tok_a.clone() }), &[])
            .await
            .unwrap(),
        None
    );

    // A deleted object can come back (with a new seq).
    store
        .apply(
            Some(ObjectChange::Put {
                key: tok_a.clone(),
                last_updated: BASE,
                body: "{}".into(),
            }),
            &[],
        )
        .await
        .unwrap();
    let back = store.get_object(&tok_a).await.unwrap().unwrap();
    assert!(back.seq > found[1].seq);
}

#[tokio::test]
async fn objects_apply_is_atomic() {
    for_each_backend(|store| async move { scenario_objects_apply(&store).await }).await;
    with_group_commit(|store| async move { scenario_objects_apply(&store).await }).await;
}

async fn scenario_list_objects(store: &Store) {
    let a = pk("NL", "AAA");
    let b = pk("DE", "BBB");
    let spec: [(&str, &PartyKey, i64); 7] = [
        ("L1", &a, 300),
        ("L2", &b, 100),
        ("L3", &a, 200),
        ("L4", &a, 100),
        ("L5", &b, 300),
        ("L6", &b, 200),
        ("L7", &a, 400),
    ];
    let rows: Vec<(ObjectKey, i64, String)> = spec
        .iter()
        .map(|(id, owner, lu)| {
            (
                ObjectKey::new("locations", owner, id),
                BASE + lu,
                format!("{{\"id\":\"{id}\"}}"),
            )
        })
        .collect();
    store.insert_objects(&rows).await.unwrap();
    store
        .insert_objects(&[(ObjectKey::new("tariffs", &a, "T1"), BASE + 100, "{}".into())])
        .await
        .unwrap();
    let seq = |items: &[StoredObject], id: &str| items.iter().find(|o| o.key.id == id).unwrap().seq;

    let page = store.list_objects(&list("locations")).await.unwrap();
    assert_eq!(page.total, 7);
    assert_eq!(ids(&page.items), ["L2", "L4", "L3", "L6", "L1", "L5", "L7"]);
    let all = page.items;
    assert!(
        all.windows(2)
            .all(|w| (w[0].last_updated, w[0].seq) < (w[1].last_updated, w[1].seq))
    );
    for (id, owner, lu) in spec {
        let o = all.iter().find(|o| o.key.id == id).unwrap();
        assert_eq!((&o.key.owner(), o.last_updated), (owner, BASE + lu));
        assert_eq!(o.body, format!("{{\"id\":\"{id}\"}}"));
    }

    let q = |f: ListFilter| async move { store.list_objects(&f).await.unwrap() };

    // date_from inclusive, date_to exclusive.
    let p = q(ListFilter {
        date_from: Some(BASE + 200),
        ..list("locations")
    })
    .await;
    assert_eq!((ids(&p.items), p.total), (vec!["L3", "L6", "L1", "L5", "L7"], 5));
    let p = q(ListFilter {
        date_to: Some(BASE + 300),
        ..list("locations")
    })
    .await;
    assert_eq!((ids(&p.items), p.total), (vec!["L2", "L4", "L3", "L6"], 4));
    let p = q(ListFilter {
        date_from: Some(BASE + 200),
        date_to: Some(BASE + 300),
        ..list("locations")
    })
    .await;
    assert_eq!((ids(&p.items), p.total), (vec!["L3", "L6"], 2));
    let p = q(ListFilter {
        date_from: Some(BASE + 201),
        date_to: Some(BASE + 300),
        ..list("locations")
    })
    .await;
    assert_eq!((ids(&p.items), p.total), (Vec::<&str>::new(), 0));

    // Owner.
    let p = q(ListFilter {
        owner: Some(a.clone()),
        ..list("locations")
    })
    .await;
    assert_eq!((ids(&p.items), p.total), (vec!["L4", "L3", "L1", "L7"], 4));
    let p = q(ListFilter {
        owner: Some(b.clone()),
        date_from: Some(BASE + 200),
        ..list("locations")
    })
    .await;
    assert_eq!((ids(&p.items), p.total), (vec!["L6", "L5"], 2));
    let p = q(ListFilter {
        owner: Some(pk("NL", "ZZZ")),
        ..list("locations")
    })
    .await;
    assert_eq!((p.items.len(), p.total), (0, 0));
    let p = q(ListFilter {
        owner: Some(pk("DE", "AAA")),
        ..list("locations")
    })
    .await;
    assert_eq!((p.items.len(), p.total), (0, 0), "owner is country code AND party id");

    // Offset and limit.
    let p = q(ListFilter {
        offset: 2,
        limit: 2,
        ..list("locations")
    })
    .await;
    assert_eq!((ids(&p.items), p.total), (vec!["L3", "L6"], 7));
    let p = q(ListFilter {
        offset: 6,
        limit: 5,
        ..list("locations")
    })
    .await;
    assert_eq!(ids(&p.items), ["L7"]);
    let p = q(ListFilter {
        offset: 7,
        limit: 5,
        ..list("locations")
    })
    .await;
    assert_eq!((p.items.len(), p.total), (0, 7));
    let p = q(ListFilter {
        limit: 0,
        ..list("locations")
    })
    .await;
    assert_eq!((p.items.len(), p.total), (0, 7));
    let p = q(ListFilter {
        owner: Some(a.clone()),
        offset: 1,
        limit: 2,
        ..list("locations")
    })
    .await;
    assert_eq!((ids(&p.items), p.total), (vec!["L3", "L1"], 4));
    let p = q(ListFilter {
        date_from: Some(BASE + 200),
        offset: 1,
        limit: 2,
        ..list("locations")
    })
    .await;
    assert_eq!((ids(&p.items), p.total), (vec!["L6", "L1"], 5));

    // Keyset: strictly after (last_updated, seq); offset is then not scanned.
    let after = Some((BASE + 200, seq(&all, "L3")));
    let p = q(ListFilter {
        after,
        limit: 3,
        ..list("locations")
    })
    .await;
    assert_eq!((ids(&p.items), p.total), (vec!["L6", "L1", "L5"], 7));
    let p = q(ListFilter {
        after,
        offset: 100,
        limit: 3,
        ..list("locations")
    })
    .await;
    assert_eq!(ids(&p.items), ["L6", "L1", "L5"]);
    let p = q(ListFilter {
        after,
        owner: Some(a.clone()),
        ..list("locations")
    })
    .await;
    assert_eq!((ids(&p.items), p.total), (vec!["L1", "L7"], 4));
    let p = q(ListFilter {
        after: Some((BASE + 400, seq(&all, "L7"))),
        ..list("locations")
    })
    .await;
    assert!(p.items.is_empty());

    // Other modules are separate.
    let p = q(list("tariffs")).await;
    assert_eq!((ids(&p.items), p.total), (vec!["T1"], 1));
    let p = q(list("sessions")).await;
    assert_eq!((p.items.len(), p.total), (0, 0));

    // An update moves the object by its new last_updated; its seq stays.
    store
        .apply(
            Some(ObjectChange::Put {
                key: ObjectKey::new("locations", &b, "L2"),
                last_updated: BASE + 500,
                body: "{}".into(),
            }),
            &[],
        )
        .await
        .unwrap();
    let p = q(list("locations")).await;
    assert_eq!(ids(&p.items), ["L4", "L3", "L6", "L1", "L5", "L7", "L2"]);
    assert_eq!(seq(&p.items, "L2"), seq(&all, "L2"));

    // insert_objects over stored objects replaces them.
    store
        .insert_objects(&[(ObjectKey::new("locations", &a, "L4"), BASE + 600, "{\"v\":2}".into())])
        .await
        .unwrap();
    let p = q(list("locations")).await;
    assert_eq!(p.total, 7);
    assert_eq!(ids(&p.items).last(), Some(&"L4"));
    assert_eq!(p.items.last().unwrap().body, "{\"v\":2}");
    assert_eq!(seq(&p.items, "L4"), seq(&all, "L4"));
}

#[tokio::test]
async fn list_objects_order_and_filters() {
    for_each_backend(|store| async move { scenario_list_objects(&store).await }).await;
}

async fn page_by_offset(store: &Store, f: &ListFilter, size: i64) -> Vec<StoredObject> {
    let mut out = Vec::new();
    let mut offset = 0;
    let total = store
        .list_objects(&ListFilter { limit: 0, ..f.clone() })
        .await
        .unwrap()
        .total;
    loop {
        let page = store
            .list_objects(&ListFilter {
                offset,
                limit: size,
                after: None,
                ..f.clone()
            })
            .await
            .unwrap();
        assert_eq!(page.total, total);
        assert!(page.items.len() as i64 <= size);
        if page.items.is_empty() {
            break;
        }
        offset += page.items.len() as i64;
        out.extend(page.items);
    }
    out
}

async fn page_by_keyset(store: &Store, f: &ListFilter, size: i64, first_by_offset: bool) -> Vec<StoredObject> {
    let mut out: Vec<StoredObject> = Vec::new();
    let total = store
        .list_objects(&ListFilter { limit: 0, ..f.clone() })
        .await
        .unwrap()
        .total;
    loop {
        let after = out.last().map(|o| (o.last_updated, o.seq));
        let offset = if first_by_offset && after.is_none() {
            0
        } else {
            out.len() as i64
        };
        let page = store
            .list_objects(&ListFilter {
                offset,
                limit: size,
                after,
                ..f.clone()
            })
            .await
            .unwrap();
        assert_eq!(page.total, total);
        if page.items.is_empty() {
            break;
        }
        out.extend(page.items);
    }
    out
}

fn seqs(items: &[StoredObject]) -> Vec<i64> {
    items.iter().map(|o| o.seq).collect()
}

async fn scenario_paging(store: &Store) {
    const N: usize = 2_500;
    let owners = [pk("NL", "AAA"), pk("DE", "BBB"), pk("BE", "CCC")];
    let mut rng = Lcg(42);
    let mut expected: HashMap<String, (PartyKey, i64)> = HashMap::new();
    let mut rows = Vec::with_capacity(N);
    for i in 0..N {
        let owner = owners[rng.below(3) as usize].clone();
        // ~250 distinct values: about ten objects share each last_updated.
        let lu = BASE + rng.below(250) as i64 * 10;
        let id = format!("LOC{i:05}");
        rows.push((
            ObjectKey::new("locations", &owner, &id),
            lu,
            format!("{{\"id\":\"{id}\"}}"),
        ));
        expected.insert(id, (owner, lu));
    }
    store.insert_objects(&rows[..1_000]).await.unwrap();
    store.insert_objects(&rows[1_000..]).await.unwrap();
    // Noise in another module.
    store
        .insert_objects(&[(ObjectKey::new("tariffs", &owners[0], "T"), BASE + 50, "{}".into())])
        .await
        .unwrap();

    let full = store.list_objects(&list("locations")).await.unwrap();
    assert_eq!(full.total, N as i64);
    let full = full.items;
    assert_eq!(full.len(), N);
    assert!(
        full.windows(2)
            .all(|w| (w[0].last_updated, w[0].seq) < (w[1].last_updated, w[1].seq)),
        "ordered by (last_updated, seq)"
    );
    assert_eq!(full.iter().map(|o| o.key.id.clone()).collect::<HashSet<_>>().len(), N);
    for o in &full {
        let (owner, lu) = &expected[&o.key.id];
        assert_eq!((&o.key.owner(), o.last_updated), (owner, *lu), "{}", o.key.id);
    }
    let dup = full
        .windows(2)
        .filter(|w| w[0].last_updated == w[1].last_updated)
        .count();
    assert!(dup > 1_000, "the data must have many equal last_updated values");

    for size in [97, 250, 1] {
        let by_offset = page_by_offset(store, &list("locations"), size).await;
        assert_eq!(seqs(&by_offset), seqs(&full), "offset pages of {size}");
        let by_keyset = page_by_keyset(store, &list("locations"), size, false).await;
        assert_eq!(seqs(&by_keyset), seqs(&full), "keyset pages of {size}");
    }

    // The same with an owner and a date window.
    let f = ListFilter {
        owner: Some(owners[1].clone()),
        date_from: Some(BASE + 500),
        date_to: Some(BASE + 2_000),
        ..list("locations")
    };
    let want: Vec<i64> = full
        .iter()
        .filter(|o| o.key.owner() == owners[1] && o.last_updated >= BASE + 500 && o.last_updated < BASE + 2_000)
        .map(|o| o.seq)
        .collect();
    assert!(want.len() > 100);
    let page = store.list_objects(&f).await.unwrap();
    assert_eq!(page.total, want.len() as i64);
    assert_eq!(seqs(&page.items), want);
    assert_eq!(seqs(&page_by_offset(store, &f, 37).await), want);
    assert_eq!(seqs(&page_by_keyset(store, &f, 37, true).await), want);

    // Offset pages starting at every position of a tie agree with keyset pages.
    let mut rng = Lcg(7);
    for _ in 0..40 {
        let offset = rng.below(N as u64) as i64;
        let limit = 1 + rng.below(60) as i64;
        let by_offset = store
            .list_objects(&ListFilter {
                offset,
                limit,
                ..list("locations")
            })
            .await
            .unwrap();
        let end = ((offset + limit) as usize).min(N);
        assert_eq!(
            seqs(&by_offset.items),
            seqs(&full[offset as usize..end]),
            "offset {offset} limit {limit}"
        );
        if offset > 0 {
            let prev = &full[offset as usize - 1];
            let by_key = store
                .list_objects(&ListFilter {
                    after: Some((prev.last_updated, prev.seq)),
                    limit,
                    ..list("locations")
                })
                .await
                .unwrap();
            assert_eq!(
                seqs(&by_key.items),
                seqs(&by_offset.items),
                "keyset after item {}",
                offset - 1
            );
        }
    }
}

#[tokio::test]
async fn list_objects_paging_offset_equals_keyset() {
    for_each_backend(|store| async move { scenario_paging(&store).await }).await;
}

// ---------------------------------------------------------------------------------------------
// Outbox
// ---------------------------------------------------------------------------------------------

async fn scenario_outbox(store: &Store) {
    let p1 = store.create_platform(Some("one")).await.unwrap();
    let p2 = store.create_platform(Some("two")).await.unwrap();
    assert_eq!(store.outbox_counts().await.unwrap(), (0, 0));
    assert!(store.claim_due_deliveries(10, 60_000).await.unwrap().is_empty());

    let mut special = delivery(p2, "k2", "p2k2");
    special.method = "PATCH".into();
    special.interface_role = InterfaceRole::Sender;
    special.absolute_url = true;
    special.path = "https://two.example/cb/p2k2".into();
    special.headers = vec![
        ("X-Correlation-ID".into(), "c-1".into()),
        ("OCPI-to-party-id".into(), "BBB".into()),
    ];
    special.body = None;
    let before = now_micros();
    store
        .enqueue(&[
            delivery(p1, "k1", "p1k1a"),
            delivery(p1, "k1", "p1k1b"),
            delivery(p1, "k2", "p1k2a"),
            delivery(p2, "k1", "p2k1a"),
            delivery(p2, "k1", "p2k1b"),
            special.clone(),
        ])
        .await
        .unwrap();
    assert_eq!(store.outbox_counts().await.unwrap(), (6, 0));
    assert!(store.has_pending_delivery(p1, "k1").await.unwrap());
    assert!(!store.has_pending_delivery(p1, "k3").await.unwrap());
    assert!(!store.has_pending_delivery(p2, "k9").await.unwrap());

    // Only the head of each (target, object) is due.
    let claimed = store.claim_due_deliveries(100, 60_000).await.unwrap();
    assert_eq!(tags(&claimed), ["p1k1a", "p1k2a", "p2k1a", "p2k2"]);
    assert!(claimed.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(claimed[0].d, delivery(p1, "k1", "p1k1a"), "round trip");
    assert_eq!(
        claimed[3].d, special,
        "round trip of headers, absolute url, no body, method, role"
    );
    assert!(
        claimed
            .iter()
            .all(|d| d.attempts == 0 && d.created_at >= before && d.created_at <= now_micros())
    );

    // Leased: nothing is due until an outcome is recorded.
    assert!(store.claim_due_deliveries(100, 60_000).await.unwrap().is_empty());

    // Success: the next one of that object becomes due.
    store.delivery_succeeded(claimed[0].id).await.unwrap();
    assert_eq!(store.outbox_counts().await.unwrap(), (5, 0));
    let next = store.claim_due_deliveries(100, 60_000).await.unwrap();
    assert_eq!(tags(&next), ["p1k1b"]);
    store.delivery_succeeded(next[0].id).await.unwrap();
    assert!(!store.has_pending_delivery(p1, "k1").await.unwrap());

    // Failure with a back-off: not due before next_attempt_at, and it still holds back the rest.
    let p2k1a = claimed[2].id;
    store
        .delivery_failed(p2k1a, "timeout", now_micros() + 60_000_000)
        .await
        .unwrap();
    assert!(store.claim_due_deliveries(100, 60_000).await.unwrap().is_empty());
    assert!(store.has_pending_delivery(p2, "k1").await.unwrap());
    assert_eq!(store.outbox_counts().await.unwrap(), (4, 0));
    // Failure due now: claimable at once (the lease is released), attempts counted.
    store
        .delivery_failed(p2k1a, "timeout again", now_micros())
        .await
        .unwrap();
    let again = store.claim_due_deliveries(100, 60_000).await.unwrap();
    assert_eq!(tags(&again), ["p2k1a"]);
    assert_eq!(again[0].attempts, 2);

    // Rejected: a dead letter that no longer blocks the object's later pushes.
    store.delivery_rejected(p2k1a, "2001 invalid").await.unwrap();
    assert_eq!(store.outbox_counts().await.unwrap(), (3, 1));
    assert!(
        store.has_pending_delivery(p2, "k1").await.unwrap(),
        "p2k1b is still pending"
    );
    let after_reject = store.claim_due_deliveries(100, 60_000).await.unwrap();
    assert_eq!(tags(&after_reject), ["p2k1b"]);
    store.delivery_succeeded(after_reject[0].id).await.unwrap();
    assert!(
        !store.has_pending_delivery(p2, "k1").await.unwrap(),
        "a rejected delivery is not pending"
    );
    assert_eq!(store.outbox_counts().await.unwrap(), (2, 1));

    // Limit.
    store.delivery_failed(claimed[1].id, "x", 0).await.unwrap();
    store.delivery_failed(claimed[3].id, "x", 0).await.unwrap();
    let one = store.claim_due_deliveries(1, 60_000).await.unwrap();
    assert_eq!(tags(&one), ["p1k2a"]);
    let rest = store.claim_due_deliveries(10, 60_000).await.unwrap();
    assert_eq!(tags(&rest), ["p2k2"]);
    assert_eq!(rest[0].attempts, 1);

    // The lease expires: a claimed item nobody reported on is claimed again.
    store.delivery_succeeded(one[0].id).await.unwrap();
    store.delivery_succeeded(rest[0].id).await.unwrap();
    assert_eq!(store.outbox_counts().await.unwrap(), (0, 1));
    store
        .enqueue(&[delivery(p1, "k5", "lease"), delivery(p1, "k5", "behind")])
        .await
        .unwrap();
    let leased = store.claim_due_deliveries(10, 300).await.unwrap();
    assert_eq!(tags(&leased), ["lease"]);
    assert!(
        store.claim_due_deliveries(10, 300).await.unwrap().is_empty(),
        "still leased"
    );
    sleep_ms(450).await;
    let reclaimed = store.claim_due_deliveries(10, 60_000).await.unwrap();
    assert_eq!(tags(&reclaimed), ["lease"], "the head again, not the one behind it");
    assert_eq!(reclaimed[0].id, leased[0].id);
    assert_eq!(reclaimed[0].attempts, 0, "an expired lease is not an attempt");
    store.delivery_succeeded(reclaimed[0].id).await.unwrap();
    let behind = store.claim_due_deliveries(10, 60_000).await.unwrap();
    assert_eq!(tags(&behind), ["behind"]);
    store.delivery_succeeded(behind[0].id).await.unwrap();
    assert_eq!(store.outbox_counts().await.unwrap(), (0, 1));
    assert!(
        store.claim_due_deliveries(10, 60_000).await.unwrap().is_empty(),
        "dead letters are never claimed"
    );
}

#[tokio::test]
async fn outbox_claim_order_and_outcomes() {
    for_each_backend(|store| async move { scenario_outbox(&store).await }).await;
    with_group_commit(|store| async move { scenario_outbox(&store).await }).await;
}

async fn scenario_postpone_wake(store: &Store) {
    let p1 = store.create_platform(Some("one")).await.unwrap();
    let p2 = store.create_platform(Some("two")).await.unwrap();
    store
        .enqueue(&[
            delivery(p1, "a", "p1a"),
            delivery(p1, "b", "p1b"),
            delivery(p2, "a", "p2a"),
            delivery(p1, "c", "p1c"),
        ])
        .await
        .unwrap();

    // Postponed: only the other platform's deliveries are due.
    store.postpone_deliveries(p1, now_micros() + 60_000_000).await.unwrap();
    let due = store.claim_due_deliveries(10, 60_000).await.unwrap();
    assert_eq!(tags(&due), ["p2a"]);
    store
        .delivery_failed(due[0].id, "down", now_micros() + 60_000_000)
        .await
        .unwrap();
    assert!(
        store.has_pending_delivery(p1, "a").await.unwrap(),
        "postponed is still pending"
    );

    // Woken: due now; waking p1 does not wake p2.
    store.wake_deliveries(p1).await.unwrap();
    let due = store.claim_due_deliveries(10, 60_000).await.unwrap();
    assert_eq!(tags(&due), ["p1a", "p1b", "p1c"]);
    for d in &due {
        store.delivery_failed(d.id, "x", 0).await.unwrap();
    }

    // A delivery failed with a long back-off is not brought forward by a shorter postponement.
    let p1c = due[2].id;
    store
        .delivery_failed(p1c, "slow", now_micros() + 60_000_000)
        .await
        .unwrap();
    store.postpone_deliveries(p1, now_micros() + 300_000).await.unwrap();
    assert!(store.claim_due_deliveries(10, 60_000).await.unwrap().is_empty());
    sleep_ms(450).await;
    let due = store.claim_due_deliveries(10, 60_000).await.unwrap();
    assert_eq!(
        tags(&due),
        ["p1a", "p1b"],
        "the postponement ended, the longer back-off did not"
    );
    for d in &due {
        store.delivery_succeeded(d.id).await.unwrap();
    }

    // Wake also ends back-offs; it leaves dead letters alone.
    store.wake_deliveries(p1).await.unwrap();
    let due = store.claim_due_deliveries(10, 60_000).await.unwrap();
    assert_eq!(tags(&due), ["p1c"]);
    store.delivery_rejected(due[0].id, "400").await.unwrap();
    store.wake_deliveries(p1).await.unwrap();
    assert!(store.claim_due_deliveries(10, 60_000).await.unwrap().is_empty());
    store.wake_deliveries(p2).await.unwrap();
    let due = store.claim_due_deliveries(10, 60_000).await.unwrap();
    assert_eq!(tags(&due), ["p2a"]);
    assert_eq!(due[0].attempts, 1);
    assert_eq!(store.outbox_counts().await.unwrap(), (1, 1));
}

#[tokio::test]
async fn outbox_postpone_and_wake() {
    for_each_backend(|store| async move { scenario_postpone_wake(&store).await }).await;
}

/// Random enqueues, claims and outcomes against a model: every delivery ends exactly once, and
/// the deliveries of each (target, object) are first claimed in enqueue order.
async fn scenario_outbox_randomized(store: &Store) {
    let targets = [
        store.create_platform(Some("r1")).await.unwrap(),
        store.create_platform(Some("r2")).await.unwrap(),
        store.create_platform(Some("r3")).await.unwrap(),
    ];
    let mut rng = Lcg(2024);
    let mut enqueued: BTreeMap<(i64, String), Vec<String>> = BTreeMap::new();
    let mut first_claims: BTreeMap<(i64, String), Vec<String>> = BTreeMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut finished: HashSet<String> = HashSet::new();
    let (mut ok, mut rejected) = (0i64, 0i64);
    let mut n = 0;
    for round in 0..60 {
        if round < 40 {
            let batch: Vec<NewDelivery> = (0..rng.below(4))
                .map(|_| {
                    n += 1;
                    let target = targets[rng.below(3) as usize];
                    let key = format!("obj{}", rng.below(4));
                    let t = format!("d{n}");
                    enqueued.entry((target, key.clone())).or_default().push(t.clone());
                    delivery(target, &key, &t)
                })
                .collect();
            store.enqueue(&batch).await.unwrap();
        }
        let claimed = store
            .claim_due_deliveries(1 + rng.below(6) as i64, 60_000)
            .await
            .unwrap();
        let mut heads = HashSet::new();
        for d in &claimed {
            let t = tag(d).to_string();
            assert!(!finished.contains(&t), "{t} was claimed after it ended");
            assert!(
                heads.insert((d.d.target_platform_id, d.d.object_key.clone())),
                "two of one object in one claim"
            );
            if seen.insert(t.clone()) {
                first_claims
                    .entry((d.d.target_platform_id, d.d.object_key.clone()))
                    .or_default()
                    .push(t.clone());
            }
            match rng.below(4) {
                0 | 1 => {
                    store.delivery_succeeded(d.id).await.unwrap();
                    finished.insert(t);
                    ok += 1;
                }
                2 => {
                    store.delivery_rejected(d.id, "no").await.unwrap();
                    finished.insert(t);
                    rejected += 1;
                }
                _ => store.delivery_failed(d.id, "retry", 0).await.unwrap(),
            }
        }
        let (pending, dead) = store.outbox_counts().await.unwrap();
        assert_eq!(dead, rejected);
        assert_eq!(pending, n - ok - rejected);
    }
    // Drain.
    loop {
        let claimed = store.claim_due_deliveries(100, 60_000).await.unwrap();
        if claimed.is_empty() {
            break;
        }
        for d in &claimed {
            let t = tag(d).to_string();
            if seen.insert(t.clone()) {
                first_claims
                    .entry((d.d.target_platform_id, d.d.object_key.clone()))
                    .or_default()
                    .push(t);
            }
            store.delivery_succeeded(d.id).await.unwrap();
            ok += 1;
        }
    }
    assert_eq!(ok + rejected, n);
    assert_eq!(store.outbox_counts().await.unwrap(), (0, rejected));
    assert_eq!(
        first_claims, enqueued,
        "per (target, object), deliveries go out in enqueue order"
    );
}

#[tokio::test]
async fn outbox_randomized_against_model() {
    for_each_backend(|store| async move { scenario_outbox_randomized(&store).await }).await;
}

/// Workers claiming at the same time never get the same delivery.
async fn scenario_concurrent_claims(store: &Store) {
    let p = store.create_platform(Some("one")).await.unwrap();
    let batch: Vec<NewDelivery> = (0..60)
        .map(|i| delivery(p, &format!("k{i}"), &format!("d{i}")))
        .collect();
    store.enqueue(&batch).await.unwrap();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..5 {
                    got.extend(
                        s.claim_due_deliveries(7, 60_000)
                            .await
                            .unwrap()
                            .into_iter()
                            .map(|d| d.id),
                    );
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a delivery was claimed twice");
    assert_eq!(
        all.len() + store.claim_due_deliveries(100, 60_000).await.unwrap().len(),
        60
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_concurrent_claims() {
    for_each_backend(|store| async move { scenario_concurrent_claims(&store).await }).await;
}

/// Concurrent pushes patching the same object: none is lost, none fails.
async fn scenario_concurrent_patches(store: &Store) {
    let target = store.create_platform(Some("t")).await.unwrap();
    let key = ObjectKey::new("sessions", &pk("NL", "AAA"), "S1");
    store
        .apply(
            Some(ObjectChange::Put {
                key: key.clone(),
                last_updated: BASE,
                body: counter_body(0),
            }),
            &[],
        )
        .await
        .unwrap();
    const N: i64 = 12;
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let s = store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                let patch = Box::new(|old: &str| -> Result<(String, i64), String> {
                    let v: serde_json::Value = serde_json::from_str(old).map_err(|e| e.to_string())?;
                    let n = v["n"].as_i64().ok_or("no n")?;
                    Ok((counter_body(n + 1), BASE + n + 1))
                });
                let okey = key.ordering_key();
                s.apply(
                    Some(ObjectChange::Patch { key, patch }),
                    &[delivery(target, &okey, &format!("p{i}"))],
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().expect("a concurrent patch failed");
    }
    let o = store.get_object(&key).await.unwrap().unwrap();
    assert_eq!(o.body, counter_body(N), "a patch was lost");
    assert_eq!(o.last_updated, BASE + N);
    assert_eq!(store.outbox_counts().await.unwrap(), (N, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_concurrent_patches() {
    for_each_backend(|store| async move { scenario_concurrent_patches(&store).await }).await;
    with_group_commit(|store| async move { scenario_concurrent_patches(&store).await }).await;
}

/// Registrations running at the same time: all succeed, and of two platforms racing for one
/// party role exactly one gets it while nothing of the loser's registration is stored.
async fn scenario_concurrent_registrations(store: &Store) {
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(store.create_platform(Some(&format!("p{i}"))).await.unwrap());
    }
    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            let s = store.clone();
            tokio::spawn(async move {
                let roles = [(pk("NL", &format!("A{i:02}")), Role::Cpo)];
                let reg = registration(
                    &roles,
                    vec![ep("locations", InterfaceRole::Sender, "https://x.example/l")],
                    "b",
                    None,
                );
                s.complete_registration(id, &reg).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().expect("a concurrent registration failed");
    }
    for id in &ids {
        assert_eq!(platform(store, *id).await.status, ConnectionStatus::Connected);
    }

    let contested = pk("DE", "RACE");
    let racers = [
        store.create_platform(Some("r1")).await.unwrap(),
        store.create_platform(Some("r2")).await.unwrap(),
    ];
    let tasks: Vec<_> = racers
        .iter()
        .map(|&id| {
            let s = store.clone();
            let contested = contested.clone();
            tokio::spawn(async move {
                let reg = registration(
                    &[(contested, Role::Cpo)],
                    vec![ep("tokens", InterfaceRole::Receiver, "https://r.example/t")],
                    "b",
                    None,
                );
                s.complete_registration(id, &reg).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|r| r.is_ok()).count(),
        1,
        "exactly one wins: {outcomes:?}"
    );
    let winner = racers[outcomes.iter().position(|r| r.is_ok()).unwrap()];
    let loser = racers[outcomes.iter().position(|r| r.is_err()).unwrap()];
    assert!(
        outcomes.iter().any(|r| matches!(r, Err(StoreError::Conflict(_)))),
        "the loser gets a conflict, not a database error: {outcomes:?}"
    );
    let holders: Vec<i64> = store
        .find_platforms_by_party(&contested, None)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(holders, vec![winner]);
    let l = platform(store, loser).await;
    assert_eq!(l.status, ConnectionStatus::Planned);
    assert!(l.endpoints.is_empty() && l.roles.is_empty() && l.client_token.is_none());

    // The same race between two invites.
    let before = store.list_platforms().await.unwrap().len();
    let invited = pk("BE", "INV");
    let tasks: Vec<_> = (0..2)
        .map(|i| {
            let s = store.clone();
            let invited = invited.clone();
            tokio::spawn(async move {
                s.create_invite(None, Some((invited, Role::Emsp)), &format!("race{i}"), "h")
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|r| r.is_ok()).count(),
        1,
        "exactly one invite: {outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|r| matches!(r, Err(StoreError::Conflict(_)))),
        "{outcomes:?}"
    );
    assert_eq!(
        store.list_platforms().await.unwrap().len(),
        before + 1,
        "the losing invite left no platform"
    );
    let lost = outcomes.iter().position(|r| r.is_err()).unwrap();
    assert!(
        store
            .find_server_tokens(&format!("race{lost}"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registrations() {
    for_each_backend(|store| async move { scenario_concurrent_registrations(&store).await }).await;
}

/// `platforms_stamp` changes on every write to platforms, parties or endpoints, and only then.
async fn scenario_platforms_stamp(store: &Store) {
    assert_eq!(store.platforms_stamp().await.unwrap(), (0, 0));
    let mut last = store.platforms_stamp().await.unwrap();
    let mut changed = async |what: &str| {
        let now = store.platforms_stamp().await.unwrap();
        assert_ne!(now, last, "{what} must change the stamp");
        last = now;
        sleep_ms(2).await;
    };
    let p = store.create_platform(Some("p")).await.unwrap();
    changed("create_platform").await;
    store
        .create_invite(None, Some((pk("NL", "AAA"), Role::Cpo)), "l", "h")
        .await
        .unwrap();
    changed("create_invite").await;
    let reg = registration(
        &[(pk("DE", "BBB"), Role::Cpo)],
        vec![ep("locations", InterfaceRole::Sender, "https://p.example/l")],
        "b",
        None,
    );
    store.complete_registration(p, &reg).await.unwrap();
    changed("complete_registration").await;
    assert!(store.set_platform_status(p, ConnectionStatus::Offline).await.unwrap());
    changed("set_platform_status").await;
    assert_eq!(
        store.record_delivery_outcome(p, true, 3).await.unwrap(),
        Some(ConnectionStatus::Connected)
    );
    changed("a delivery outcome that changes the status").await;
    store.unregister(p).await.unwrap();
    changed("unregister").await;
    store.delete_platform(p).await.unwrap();
    changed("delete_platform").await;
    let _ = changed;

    let before = store.platforms_stamp().await.unwrap();
    let other = store.list_platforms().await.unwrap()[0].id;
    assert!(
        !store
            .set_platform_status(other, ConnectionStatus::Planned)
            .await
            .unwrap()
    );
    assert_eq!(store.platforms_stamp().await.unwrap(), before, "no change, same stamp");
}

#[tokio::test]
async fn platforms_stamp() {
    for_each_backend(|store| async move { scenario_platforms_stamp(&store).await }).await;
}

// ---------------------------------------------------------------------------------------------
// Callbacks
// ---------------------------------------------------------------------------------------------

async fn scenario_callbacks(store: &Store) {
    let p = store.create_platform(Some("requester")).await.unwrap();
    let cb = Callback {
        id: uuid::Uuid::new_v4().to_string(),
        requester_platform_id: p,
        requester: pk("NL", "AAA"),
        receiver: pk("DE", "BBB"),
        module: "commands".into(),
        response_url: "https://requester.example/commands/START_SESSION/42".into(),
    };
    store.create_callback(&cb).await.unwrap();
    let got = store.get_callback(&cb.id).await.unwrap().expect("stored");
    assert_eq!(got.id, cb.id);
    assert_eq!(got.requester_platform_id, p);
    assert_eq!(got.requester, cb.requester);
    assert_eq!(got.receiver, cb.receiver);
    assert_eq!(got.module, "commands");
    assert_eq!(got.response_url, cb.response_url);
    assert!(store.get_callback("missing").await.unwrap().is_none());

    // Ids are unique; the requester must exist.
    assert!(store.create_callback(&cb).await.is_err(), "duplicate id");
    let orphan = Callback {
        id: "orphan".into(),
        requester_platform_id: p + 1000,
        ..cb.clone()
    };
    assert!(
        store.create_callback(&orphan).await.is_err(),
        "unknown requester platform"
    );
    assert!(store.get_callback("orphan").await.unwrap().is_none());

    let second = Callback {
        id: "second".into(),
        module: "chargingprofiles".into(),
        ..cb.clone()
    };
    store.create_callback(&second).await.unwrap();
    assert_eq!(
        store.get_callback("second").await.unwrap().unwrap().module,
        "chargingprofiles"
    );
    assert_eq!(store.get_callback(&cb.id).await.unwrap().unwrap().module, "commands");
}

#[tokio::test]
async fn callbacks() {
    for_each_backend(|store| async move { scenario_callbacks(&store).await }).await;
}

#[test]
fn with_database_replaces_only_the_path() {
    assert_eq!(
        with_database("postgres://u:p@h:5432/postgres", "x"),
        "postgres://u:p@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/postgres?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgresql://h", "x"), "postgresql://h/x");
}

/// `note_charging_state` (the 1.6 StatusNotification Charging / Suspended* / Finishing signal)
/// adds one sample to the active transaction of that connector only, and nothing when there is
/// none; the same through the group-commit writer.
async fn scenario_charging_state(store: &Store) {
    let tx = hub_core::store::NewTransaction {
        charger_id: "CP1".into(),
        transaction_id: None,
        owner: pk("NL", "MCP"),
        location_id: "LOC".into(),
        evse_uid: "E2".into(),
        connector_id: "1".into(),
        evse_number: 2,
        id_tag: Some("TAG".into()),
        emsp: None,
        cdr_token: serde_json::json!({}),
        auth_method: "WHITELIST".into(),
        authorization_reference: None,
        started_at: BASE,
        meter_start_wh: rust_decimal::Decimal::ZERO,
        seen_start: true,
    };
    let (started, _) = store.start_transaction(&tx).await.unwrap();
    let before = store.meter_samples(started.id).await.unwrap();
    // Another connector, another charger: nothing to note.
    store.note_charging_state("CP1", 1, true, BASE + 1).await.unwrap();
    store.note_charging_state("CP9", 2, true, BASE + 1).await.unwrap();
    assert_eq!(store.meter_samples(started.id).await.unwrap(), before);
    store.note_charging_state("CP1", 2, false, BASE + 5).await.unwrap();
    let after = store.meter_samples(started.id).await.unwrap();
    assert_eq!(after.len(), before.len() + 1);
    let s = after.iter().find(|s| s.ts == BASE + 5).expect("the new sample");
    assert_eq!(s.charging, Some(false));
    assert_eq!(s.energy_wh, None);
}

#[tokio::test]
async fn charging_state_samples() {
    for_each_backend(|store| async move { scenario_charging_state(&store).await }).await;
    with_group_commit(|store| async move { scenario_charging_state(&store).await }).await;
}
