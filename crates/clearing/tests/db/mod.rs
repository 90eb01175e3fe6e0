//! Shared by the ledger tests and the settlement benchmark: scratch databases on SQLite and
//! PostgreSQL (`HUB_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/postgres`: a
//! `hub_clearing_<uuid>` database is created per run and dropped afterwards), and CDR / tariff
//! JSON as a CPO would send them, stored as the hub's copies.

#![allow(dead_code)]

use hub_core::party::PartyKey;
use hub_core::store::{ObjectKey, Store, StoreOptions};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::Connection;
use std::future::Future;
use std::path::PathBuf;

pub const PG_ENV: &str = "HUB_TEST_POSTGRES_URL";

/// A scratch database; removed when dropped (also while unwinding).
pub enum Scratch {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, name: String },
}

impl Scratch {
    pub fn sqlite() -> (Scratch, String) {
        let dir = std::env::temp_dir().join(format!("hub_clearing_{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}", dir.join("hub.db").display());
        (Scratch::Sqlite { dir }, url)
    }

    pub async fn postgres(admin_url: &str) -> (Scratch, String) {
        let name = format!("hub_clearing_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("{PG_ENV}={admin_url}: cannot connect: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = conn.close().await;
        let (base, query) = match admin_url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (admin_url, None),
        };
        let authority = base.find("://").map(|i| i + 3).unwrap_or(0);
        let path = base[authority..].find('/').map(|i| authority + i).unwrap_or(base.len());
        let mut url = format!("{}/{}", &base[..path], name);
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        (Scratch::Postgres { admin_url: admin_url.to_string(), name }, url)
    }

    pub fn backend(&self) -> &'static str {
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
                // Drop may run inside a runtime: use a thread with its own.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    rt.block_on(async move {
                        let mut conn = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                            .execute(&mut conn)
                            .await
                            .ok()?;
                        conn.close().await.ok()
                    })
                })
                .join();
            }
        }
    }
}

pub fn postgres_url() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty())
}

/// Runs `f` with a fresh, migrated store on SQLite, then on PostgreSQL when configured. The body
/// runs in its own task so a failure still removes the scratch database before it is re-raised.
pub async fn for_each_backend<F, Fut>(f: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut scratches = vec![Scratch::sqlite()];
    match postgres_url() {
        Some(admin) => scratches.push(Scratch::postgres(&admin).await),
        None => eprintln!("note: {PG_ENV} is not set; running on SQLite only"),
    }
    for (scratch, url) in scratches {
        // NORMAL on SQLite: these tests are about results, not durability, and fsyncs would
        // dominate their time.
        let options = StoreOptions { max_connections: 4, sqlite_synchronous_full: false };
        let store = Store::open(&url, &options).await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let outcome = tokio::spawn(f(store.clone())).await;
        store.close().await;
        let backend = scratch.backend();
        drop(scratch);
        if let Err(e) = outcome {
            eprintln!("failed on {backend}");
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Energy price of [`tariff`], per kWh excl. VAT, and its VAT percentage.
pub const PRICE_PER_KWH: &str = "0.25";
pub const VAT: &str = "10";

/// A tariff of `owner`: ENERGY at 0.25 per kWh excl. VAT, 10 % VAT.
pub fn tariff(owner: &PartyKey, id: &str, currency: &str) -> Value {
    json!({
        "country_code": owner.country_code, "party_id": owner.party_id, "id": id, "currency": currency,
        "elements": [{"price_components": [{"type": "ENERGY", "price": PRICE_PER_KWH, "vat": VAT, "step_size": 1}]}],
        "last_updated": "2026-01-01T00:00:00Z"
    })
}

/// The totals the hub's rating gives for `kwh` with [`tariff`]: (excl, incl).
pub fn rated(kwh: Decimal) -> (Decimal, Decimal) {
    let excl = clearing::rating::round(kwh * d(PRICE_PER_KWH));
    let incl = clearing::rating::round(excl * d("1.10"));
    (excl, incl)
}

/// A CDR of `cpo` for a token of `emsp`, `kwh` charged in one hour ending at `end`, with the
/// given `total_cost`. `credit_of`: a credit CDR of that CDR id.
#[allow(clippy::too_many_arguments)]
pub fn cdr(cpo: &PartyKey, id: &str, emsp: &PartyKey, currency: &str, tariff_id: &str, kwh: Decimal, total: (Decimal, Decimal), end: &str, credit_of: Option<&str>) -> Value {
    let end_t = chrono::DateTime::parse_from_rfc3339(end).unwrap();
    let start = (end_t - chrono::TimeDelta::hours(1)).to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut v = json!({
        "country_code": cpo.country_code, "party_id": cpo.party_id, "id": id,
        "start_date_time": start, "end_date_time": end,
        "cdr_token": {"country_code": emsp.country_code, "party_id": emsp.party_id, "uid": "TOKEN1", "type": "RFID", "contract_id": "NL-EMS-C12345678-X"},
        "auth_method": "WHITELIST",
        "cdr_location": {"id": "LOC1", "address": "Street 1", "city": "Amsterdam", "postal_code": "1000AA", "country": "NLD",
            "coordinates": {"latitude": "52.37403", "longitude": "4.88969"}, "evse_uid": "EVSE1", "evse_id": "NL*CPO*E1",
            "connector_id": "1", "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET", "connector_power_type": "AC_3_PHASE"},
        "currency": currency,
        "charging_periods": [{"start_date_time": start, "dimensions": [{"type": "ENERGY", "volume": kwh.to_string()}], "tariff_id": tariff_id}],
        "total_cost": {"excl_vat": total.0.to_string(), "incl_vat": total.1.to_string()},
        "total_energy": kwh.to_string(),
        "total_time": "1",
        "last_updated": end
    });
    if let Some(orig) = credit_of {
        v["credit"] = json!(true);
        v["credit_reference_id"] = json!(orig);
    }
    v
}

/// Stores objects as the hub's copies (as the router does when it routes them).
pub async fn put(store: &Store, module: &str, objects: &[Value]) {
    let rows: Vec<_> = objects
        .iter()
        .map(|o| {
            let owner = PartyKey::new(o["country_code"].as_str().unwrap(), o["party_id"].as_str().unwrap());
            (ObjectKey::new(module, &owner, o["id"].as_str().unwrap()), 0i64, o.to_string())
        })
        .collect();
    for chunk in rows.chunks(5000) {
        store.insert_objects(chunk).await.unwrap();
    }
}
