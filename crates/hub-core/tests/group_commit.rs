//! Group commit (SQLite): many callers' writes committed together by the store's writer task.
//! Each caller still gets its own outcome: a rejected patch or a delivery to a platform that does
//! not exist fails alone, with nothing of it stored, while the rest of the batch is committed.

use hub_core::party::PartyKey;
use hub_core::store::{NewCharger, NewDelivery, ObjectChange, ObjectKey, Store, StoreError, StoreOptions};
use hub_core::party::InterfaceRole;
use std::path::PathBuf;

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn store() -> (Store, TempDir) {
    let dir = std::env::temp_dir().join(format!("hub_gc_{}", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}", dir.join("hub.db").display());
    let store = Store::open(&url, &StoreOptions::default()).await.expect("open");
    assert!(store.enable_group_commit(), "SQLite supports group commit");
    assert_eq!(store.group_commit_stats(), Some((0, 0)));
    (store, TempDir(dir))
}

fn delivery(target: i64, key: &ObjectKey, tag: &str) -> NewDelivery {
    NewDelivery {
        target_platform_id: target,
        object_key: key.ordering_key(),
        module: key.module.clone(),
        interface_role: InterfaceRole::Receiver,
        method: "PUT".into(),
        path: format!("/{tag}"),
        absolute_url: false,
        headers: vec![],
        body: Some(tag.into()),
    }
}

/// What each concurrent operation is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// A put with a delivery to a real platform: stored, queued.
    Good,
    /// A patch whose function refuses the object: fails, nothing changes.
    Rejected,
    /// A put with two deliveries, the second to a platform that does not exist (foreign key):
    /// fails, and its put and first delivery are rolled back with it.
    BadTarget,
}

fn kind(i: usize) -> Kind {
    match i % 10 {
        3 => Kind::Rejected,
        7 => Kind::BadTarget,
        _ => Kind::Good,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_writes_fail_alone() {
    let (store, _dir) = store().await;
    let owner = PartyKey::new("NL", "AAA");
    let target = store.create_platform(Some("emsp")).await.unwrap();
    // The objects the rejected patches aim at exist, with a body the patch must leave alone.
    for i in (0..400).filter(|i| kind(*i) == Kind::Rejected) {
        let key = ObjectKey::new("locations", &owner, &format!("L{i}"));
        store
            .apply(Some(ObjectChange::Put { key, last_updated: 1, body: "{\"v\":0}".into() }), &[])
            .await
            .unwrap();
    }
    let (_, before) = store.group_commit_stats().unwrap();

    let tasks: Vec<_> = (0..400usize)
        .map(|i| {
            let store = store.clone();
            let key = ObjectKey::new("locations", &owner, &format!("L{i}"));
            tokio::spawn(async move {
                let r = match kind(i) {
                    Kind::Good => {
                        let d = [delivery(target, &key, &format!("g{i}"))];
                        store.apply(Some(ObjectChange::Put { key, last_updated: 2, body: format!("{{\"v\":{i}}}") }), &d).await
                    }
                    Kind::Rejected => {
                        let patch = Box::new(|_: &str| -> Result<(String, i64), String> { Err("status: not a status".into()) });
                        let d = [delivery(target, &key, &format!("r{i}"))];
                        store.apply(Some(ObjectChange::Patch { key, patch }), &d).await
                    }
                    Kind::BadTarget => {
                        let d = [delivery(target, &key, &format!("b{i}")), delivery(target + 1000, &key, &format!("x{i}"))];
                        store.apply(Some(ObjectChange::Put { key, last_updated: 2, body: format!("{{\"v\":{i}}}") }), &d).await
                    }
                };
                (i, r)
            })
        })
        .collect();
    for t in tasks {
        let (i, r) = t.await.unwrap();
        match kind(i) {
            Kind::Good => assert_eq!(r.unwrap(), Some(format!("{{\"v\":{i}}}")), "operation {i}"),
            Kind::Rejected => assert!(matches!(r, Err(StoreError::Rejected(ref m)) if m.contains("status")), "operation {i}: {r:?}"),
            Kind::BadTarget => assert!(matches!(r, Err(StoreError::Database(ref m)) if m.contains("FOREIGN KEY")), "operation {i}: {r:?}"),
        }
    }
    let (batches, ops) = store.group_commit_stats().unwrap();
    let ops = ops - before;
    assert_eq!(ops, 400, "every operation went through the writer");
    assert!(batches < 400 + before, "400 concurrent writes were grouped ({batches} batches)");

    for i in 0..400usize {
        let key = ObjectKey::new("locations", &owner, &format!("L{i}"));
        let got = store.get_object(&key).await.unwrap().map(|o| o.body);
        let want = match kind(i) {
            Kind::Good => Some(format!("{{\"v\":{i}}}")),
            Kind::Rejected => Some("{\"v\":0}".to_string()),
            Kind::BadTarget => None,
        };
        assert_eq!(got, want, "object {i}");
    }
    let good = (0..400).filter(|i| kind(*i) == Kind::Good).count() as i64;
    assert_eq!(store.outbox_counts().await.unwrap().0, good, "only the good operations' deliveries are queued");
}

/// A patch function that panics fails its own write; the writer thread lives on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_patch_fails_alone() {
    let (store, _dir) = store().await;
    let owner = PartyKey::new("NL", "AAA");
    let key = ObjectKey::new("locations", &owner, "L1");
    store.apply(Some(ObjectChange::Put { key: key.clone(), last_updated: 1, body: "{\"v\":1}".into() }), &[]).await.unwrap();
    let target = store.create_platform(Some("emsp")).await.unwrap();
    let patch = Box::new(|_: &str| -> Result<(String, i64), String> { panic!("a bug in a patch") });
    let d = [delivery(target, &key, "p")];
    let r = store.apply(Some(ObjectChange::Patch { key: key.clone(), patch }), &d).await;
    assert!(matches!(r, Err(StoreError::Database(_))), "{r:?}");
    assert_eq!(store.outbox_counts().await.unwrap().0, 0, "nothing of the failed patch is queued");
    // Later writes still go through the writer.
    let out = store.apply(Some(ObjectChange::Put { key: key.clone(), last_updated: 2, body: "{\"v\":2}".into() }), &d).await.unwrap();
    assert_eq!(out.as_deref(), Some("{\"v\":2}"));
    assert_eq!(store.get_object(&key).await.unwrap().unwrap().body, "{\"v\":2}");
    assert_eq!(store.outbox_counts().await.unwrap().0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charger_boot_and_connection_are_grouped() {
    let (store, _dir) = store().await;
    let owner = PartyKey::new("NL", "MCP");
    store.create_hosted_party(&owner, "Café").await.unwrap();
    for i in 0..50 {
        store
            .add_charger(&NewCharger {
                charger_id: format!("CP{i}"),
                password_hash: "x".into(),
                owner: owner.clone(),
                location_id: "LOC".into(),
                evse_uids: vec!["E1".into()],
            })
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = format!("CP{i}");
                store.set_charger_connected(&id, true).await?;
                store.set_charger_boot(&id, &serde_json::json!({"chargePointVendor": format!("V{i}")})).await?;
                if i % 2 == 0 {
                    store.set_charger_connected(&id, false).await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // An unknown charger is not an error (nothing to update), as without group commit.
    store.set_charger_connected("NOPE", true).await.unwrap();
    for i in 0..50 {
        let c = store.get_charger(&format!("CP{i}")).await.unwrap().unwrap();
        assert_eq!(c.connected, i % 2 == 1, "charger {i}");
        assert_eq!(c.boot_info.unwrap()["chargePointVendor"], format!("V{i}"));
        assert!(c.booted_at.is_some());
    }
    let (batches, ops) = store.group_commit_stats().unwrap();
    assert_eq!(ops, 50 * 2 + 25 + 1);
    assert!(batches < ops, "grouped: {batches} batches for {ops} operations");
}

/// PostgreSQL keeps its concurrent transactions: group commit is refused there.
#[tokio::test]
async fn postgres_does_not_group() {
    let Some(url) = std::env::var("HUB_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("note: HUB_TEST_POSTGRES_URL is not set; skipped");
        return;
    };
    let store = Store::connect(&url, &StoreOptions::default()).await.expect("connect");
    assert!(!store.enable_group_commit());
    assert_eq!(store.group_commit_stats(), None);
}
