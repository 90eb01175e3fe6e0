//! Micro-CPO: CPO parties hosted by the hub itself (a `platforms` row with `hosted = 1`, status
//! CONNECTED, no client token and no endpoints, plus its CPO `party_roles` row, so Hub Client
//! Info lists it like any connected CPO), and the OCPP chargers of those parties (`chargers`).
//!
//! A charger belongs to one location of its party; `evse_uids` lists the location's EVSE uids in
//! OCPP order: element `n - 1` is connector `n` (OCPP 1.6) or EVSE `n` (OCPP 2.0.1). Passwords are
//! stored only as argon2 hashes (`crate::token::hash`).

use super::{Result, Store, StoreError, dispatch, now_micros};
use crate::party::{PartyKey, Role};
use sqlx::Row;

/// A charger as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Charger {
    pub charger_id: String,
    /// Argon2 PHC string of the charger's Basic-auth password.
    #[serde(skip)]
    pub password_hash: String,
    pub country_code: String,
    pub party_id: String,
    pub location_id: String,
    /// EVSE uids in OCPP order (connector / EVSE 1..n).
    pub evse_uids: Vec<String>,
    /// The last BootNotification payload.
    pub boot_info: Option<serde_json::Value>,
    /// When the last BootNotification came (micros).
    pub booted_at: Option<i64>,
    pub connected: bool,
}

impl Charger {
    pub fn owner(&self) -> PartyKey {
        PartyKey::new(&self.country_code, &self.party_id)
    }

    /// The EVSE uid of OCPP connector (1.6) / EVSE (2.0.1) number `n` (1-based).
    pub fn evse_uid(&self, n: i64) -> Option<&str> {
        usize::try_from(n).ok().filter(|&n| n >= 1).and_then(|n| self.evse_uids.get(n - 1)).map(String::as_str)
    }
}

/// A charger to create.
#[derive(Debug, Clone)]
pub struct NewCharger {
    pub charger_id: String,
    pub password_hash: String,
    pub owner: PartyKey,
    pub location_id: String,
    pub evse_uids: Vec<String>,
}

/// Shared with the SQLite group-commit writer (`writer.rs`).
pub(crate) const SET_BOOT: &str = "UPDATE chargers SET boot_info = $1, booted_at = $2, updated_at = $2 WHERE charger_id = $3";
pub(crate) const SET_CONNECTED: &str = "UPDATE chargers SET connected = $1, updated_at = $2 WHERE charger_id = $3";

const CHARGER_COLS: &str = "charger_id, password_hash, country_code, party_id, location_id, evse_uids, boot_info, booted_at, connected";

impl Store {
    /// Creates a hosted CPO party: a CONNECTED platform marked `hosted` with the party's CPO role
    /// (business name `name`). Returns the platform id. A party that exists already (with any
    /// platform) is a conflict.
    pub async fn create_hosted_party(&self, key: &PartyKey, name: &str) -> Result<i64> {
        let now = now_micros();
        let details = serde_json::json!({ "name": name }).to_string();
        let begin = self.begin_write();
        dispatch!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            let taken = sqlx::query("SELECT 1 AS x FROM party_roles WHERE country_code = $1 AND party_id = $2 AND role = $3")
                .bind(&key.country_code).bind(&key.party_id).bind(Role::Cpo.as_str())
                .fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!("party {key} CPO already exists")));
            }
            let id: i64 = sqlx::query("INSERT INTO platforms (name, status, hosted, created_at, updated_at) VALUES ($1, 'CONNECTED', 1, $2, $2) RETURNING id")
                .bind(name).bind(now).fetch_one(&mut *tx).await?.try_get("id")?;
            sqlx::query("INSERT INTO party_roles (platform_id, country_code, party_id, role, business_details, last_updated) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id).bind(&key.country_code).bind(&key.party_id).bind(Role::Cpo.as_str()).bind(&details).bind(now)
                .execute(&mut *tx).await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!("party {key} CPO already exists")),
                    _ => StoreError::Db(e),
                })?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// The platform id of the hosted party `key`, if the hub hosts it.
    pub async fn find_hosted_party(&self, key: &PartyKey) -> Result<Option<i64>> {
        dispatch!(self, pool => {
            let row = sqlx::query("SELECT p.id FROM platforms p JOIN party_roles r ON r.platform_id = p.id \
                                   WHERE p.hosted = 1 AND r.country_code = $1 AND r.party_id = $2 AND r.role = $3")
                .bind(&key.country_code).bind(&key.party_id).bind(Role::Cpo.as_str())
                .fetch_optional(pool).await?;
            row.map(|r| r.try_get::<i64, _>("id")).transpose().map_err(StoreError::from)
        })
    }

    /// Creates a charger; an existing charger id is a conflict.
    pub async fn add_charger(&self, c: &NewCharger) -> Result<()> {
        let now = now_micros();
        let uids = serde_json::to_string(&c.evse_uids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        dispatch!(self, pool => {
            sqlx::query("INSERT INTO chargers (charger_id, password_hash, country_code, party_id, location_id, evse_uids, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
                .bind(&c.charger_id).bind(&c.password_hash).bind(&c.owner.country_code).bind(&c.owner.party_id)
                .bind(&c.location_id).bind(&uids).bind(now)
                .execute(pool).await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!("charger {} already exists", c.charger_id)),
                    _ => StoreError::Db(e),
                })?;
            Ok(())
        })
    }

    pub async fn get_charger(&self, charger_id: &str) -> Result<Option<Charger>> {
        let sql = format!("SELECT {CHARGER_COLS} FROM chargers WHERE charger_id = $1");
        dispatch!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(charger_id).fetch_optional(pool).await?;
            match row {
                None => Ok(None),
                Some(r) => {
                    let uids: String = r.try_get("evse_uids")?;
                    let boot: Option<String> = r.try_get("boot_info")?;
                    Ok(Some(Charger {
                        charger_id: r.try_get("charger_id")?,
                        password_hash: r.try_get("password_hash")?,
                        country_code: r.try_get("country_code")?,
                        party_id: r.try_get("party_id")?,
                        location_id: r.try_get("location_id")?,
                        evse_uids: serde_json::from_str(&uids).map_err(|e| StoreError::Corrupt(format!("evse_uids: {e}")))?,
                        boot_info: boot.and_then(|b| serde_json::from_str(&b).ok()),
                        booted_at: r.try_get("booted_at")?,
                        connected: r.try_get::<i64, _>("connected")? != 0,
                    }))
                }
            }
        })
    }

    /// The chargers of a hosted party (ids only; see [`Store::get_charger`]).
    pub async fn charger_ids_of(&self, owner: &PartyKey) -> Result<Vec<String>> {
        dispatch!(self, pool => {
            let rows = sqlx::query("SELECT charger_id FROM chargers WHERE country_code = $1 AND party_id = $2 ORDER BY charger_id")
                .bind(&owner.country_code).bind(&owner.party_id).fetch_all(pool).await?;
            rows.iter().map(|r| r.try_get::<String, _>("charger_id").map_err(StoreError::from)).collect()
        })
    }

    /// Records a BootNotification payload.
    pub async fn set_charger_boot(&self, charger_id: &str, boot_info: &serde_json::Value) -> Result<()> {
        if let Some(writer) = self.writer.get() {
            return writer.charger_boot(charger_id, boot_info.to_string()).await;
        }
        let now = now_micros();
        dispatch!(self, pool => {
            sqlx::query(SET_BOOT)
                .bind(boot_info.to_string()).bind(now).bind(charger_id).execute(pool).await?;
            Ok(())
        })
    }

    /// Records whether the charger's websocket is up.
    pub async fn set_charger_connected(&self, charger_id: &str, connected: bool) -> Result<()> {
        if let Some(writer) = self.writer.get() {
            return writer.charger_connected(charger_id, connected).await;
        }
        let now = now_micros();
        dispatch!(self, pool => {
            sqlx::query(SET_CONNECTED)
                .bind(i64::from(connected)).bind(now).bind(charger_id).execute(pool).await?;
            Ok(())
        })
    }
}
