//! Micro-CPO transactions: the hub's record of each OCPP transaction of a hosted charger
//! (`ocpp_transactions`), its meter samples (`ocpp_meter_samples`), and the tokens learnt
//! through real-time authorization (`ocpp_id_tags`).
//!
//! The OCPP business handler (the binary's `microcpo` module) turns these into OCPI Sessions and
//! CDRs. The row id doubles as the OCPP 1.6 `transactionId` the hub hands out; 2.0.1 chargers
//! choose their own ids, kept in `transaction_id` (unique per charger), which also makes a
//! replayed start find the transaction it already created. Meter readings are exact decimals
//! stored as text (SQLite has no decimal type).

use super::{Result, Store, StoreError, dispatch, now_micros};
use crate::party::PartyKey;
use rust_decimal::Decimal;
use sqlx::Row;
use std::str::FromStr;

/// A transaction as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OcppTransaction {
    /// Row id; the OCPP 1.6 `transactionId`.
    pub id: i64,
    pub charger_id: String,
    /// The id as the charger knows it.
    pub transaction_id: String,
    /// The OCPI Session id (and CDR id).
    pub session_id: String,
    /// The hosted CPO.
    pub owner: PartyKey,
    pub location_id: String,
    pub evse_uid: String,
    pub connector_id: String,
    /// OCPP connector (1.6) / EVSE (2.0.1) number.
    pub evse_number: i64,
    pub id_tag: Option<String>,
    /// The token's eMSP, when known.
    pub emsp: Option<PartyKey>,
    /// OCPI CdrToken.
    pub cdr_token: serde_json::Value,
    /// OCPI AuthMethod.
    pub auth_method: String,
    pub authorization_reference: Option<String>,
    /// Micros since the epoch.
    pub started_at: i64,
    pub stopped_at: Option<i64>,
    pub meter_start_wh: Decimal,
    pub meter_stop_wh: Option<Decimal>,
    pub last_seq_no: Option<i64>,
    /// OCPI SessionStatus: `ACTIVE` or `COMPLETED`.
    pub status: String,
    pub stop_reason: Option<String>,
    pub charging_needs: Option<serde_json::Value>,
    pub cdr_id: Option<String>,
    /// False when the hub never saw the start and made the record up from the stop.
    pub seen_start: bool,
}

impl OcppTransaction {
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

/// A transaction to record.
#[derive(Debug, Clone)]
pub struct NewTransaction {
    pub charger_id: String,
    /// 2.0.1: the charger's id. 1.6: `None` (the row id becomes the id).
    pub transaction_id: Option<String>,
    pub owner: PartyKey,
    pub location_id: String,
    pub evse_uid: String,
    pub connector_id: String,
    pub evse_number: i64,
    pub id_tag: Option<String>,
    pub emsp: Option<PartyKey>,
    pub cdr_token: serde_json::Value,
    pub auth_method: String,
    pub authorization_reference: Option<String>,
    pub started_at: i64,
    pub meter_start_wh: Decimal,
    pub seen_start: bool,
}

/// One meter sample or charging-state change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeterSample {
    /// Micros since the epoch, charger time.
    pub ts: i64,
    pub energy_wh: Option<Decimal>,
    pub power_kw: Option<Decimal>,
    pub current_a: Option<Decimal>,
    /// `Some(true)` charging, `Some(false)` connected but not charging.
    pub charging: Option<bool>,
}

/// A token learnt through real-time authorization.
#[derive(Debug, Clone, PartialEq)]
pub struct LearntIdTag {
    pub id_tag: String,
    pub emsp: PartyKey,
    pub cdr_token: serde_json::Value,
    pub authorization_reference: Option<String>,
    /// OCPI AllowedType as answered.
    pub allowed: String,
    /// How the hub learnt it: `AUTH_REQUEST` or `COMMAND` (a token in a START_SESSION or
    /// RESERVE_NOW command, whose session's auth_method is COMMAND).
    pub source: String,
}

/// What changes when a transaction is updated (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct TransactionUpdate {
    pub status: Option<String>,
    pub stopped_at: Option<i64>,
    pub meter_stop_wh: Option<Decimal>,
    pub stop_reason: Option<String>,
    pub last_seq_no: Option<i64>,
    pub charging_needs: Option<serde_json::Value>,
    pub cdr_id: Option<String>,
    pub emsp: Option<PartyKey>,
    pub cdr_token: Option<serde_json::Value>,
    pub authorization_reference: Option<String>,
    pub id_tag: Option<String>,
}

const TX_COLS: &str = "id, charger_id, transaction_id, session_id, country_code, party_id, location_id, evse_uid, connector_id, \
    evse_number, id_tag, emsp_country_code, emsp_party_id, cdr_token, auth_method, authorization_reference, started_at, stopped_at, \
    meter_start_wh, meter_stop_wh, last_seq_no, status, stop_reason, charging_needs, cdr_id, seen_start";

fn dec(s: Option<String>, field: &str) -> Result<Option<Decimal>> {
    s.map(|s| Decimal::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{field}: {e}")))).transpose()
}

fn json(s: Option<String>, field: &str) -> Result<Option<serde_json::Value>> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{field}: {e}")))).transpose()
}

fn party(cc: Option<String>, pid: Option<String>) -> Option<PartyKey> {
    Some(PartyKey::new(&cc?, &pid?))
}

macro_rules! tx_from_row {
    ($r:expr) => {{
        let r = $r;
        OcppTransaction {
            id: r.try_get("id")?,
            charger_id: r.try_get("charger_id")?,
            transaction_id: r.try_get("transaction_id")?,
            session_id: r.try_get("session_id")?,
            owner: PartyKey::new(&r.try_get::<String, _>("country_code")?, &r.try_get::<String, _>("party_id")?),
            location_id: r.try_get("location_id")?,
            evse_uid: r.try_get("evse_uid")?,
            connector_id: r.try_get("connector_id")?,
            evse_number: r.try_get("evse_number")?,
            id_tag: r.try_get("id_tag")?,
            emsp: party(r.try_get("emsp_country_code")?, r.try_get("emsp_party_id")?),
            cdr_token: json(Some(r.try_get("cdr_token")?), "cdr_token")?.unwrap_or_default(),
            auth_method: r.try_get("auth_method")?,
            authorization_reference: r.try_get("authorization_reference")?,
            started_at: r.try_get("started_at")?,
            stopped_at: r.try_get("stopped_at")?,
            meter_start_wh: dec(Some(r.try_get("meter_start_wh")?), "meter_start_wh")?.unwrap_or_default(),
            meter_stop_wh: dec(r.try_get("meter_stop_wh")?, "meter_stop_wh")?,
            last_seq_no: r.try_get("last_seq_no")?,
            status: r.try_get("status")?,
            stop_reason: r.try_get("stop_reason")?,
            charging_needs: json(r.try_get("charging_needs")?, "charging_needs")?,
            cdr_id: r.try_get("cdr_id")?,
            seen_start: r.try_get::<i64, _>("seen_start")? != 0,
        }
    }};
}

/// [`Store::note_charging_state`]'s statements (shared with the group-commit writer, which binds
/// by position: parameters appear in the order of their numbers).
pub(crate) const NOTE_CHARGING_SAMPLE: &str = "INSERT INTO ocpp_meter_samples (transaction_row, ts, charging) \
     SELECT id, $1, $2 FROM ocpp_transactions WHERE charger_id = $3 AND status = 'ACTIVE' AND evse_number = $4 ORDER BY id LIMIT 1";
pub(crate) const NOTE_CHARGING_TOUCH: &str = "UPDATE ocpp_transactions SET updated_at = $1 WHERE id = \
     (SELECT id FROM ocpp_transactions WHERE charger_id = $2 AND status = 'ACTIVE' AND evse_number = $3 ORDER BY id LIMIT 1)";

impl Store {
    /// Records a transaction start. Idempotent: a start the hub already has (2.0.1: the same
    /// charger transaction id; 1.6: the same connector, id tag and start time, as a charger
    /// repeats a StartTransaction whose answer it lost in a reconnect) returns the existing
    /// record with `false`. The OCPI session id is `{charger_id}-{row id}` for 1.6 and
    /// `{charger_id}-{transaction_id}` for 2.0.1.
    pub async fn start_transaction(&self, t: &NewTransaction) -> Result<(OcppTransaction, bool)> {
        let now = now_micros();
        let token = t.cdr_token.to_string();
        let meter = t.meter_start_wh.to_string();
        let begin = self.begin_write();
        let sql_existing = match &t.transaction_id {
            Some(_) => format!("SELECT {TX_COLS} FROM ocpp_transactions WHERE charger_id = $1 AND transaction_id = $2"),
            None => format!(
                "SELECT {TX_COLS} FROM ocpp_transactions WHERE charger_id = $1 AND evse_number = $2 AND started_at = $3 \
                 AND COALESCE(id_tag, '') = $4 AND seen_start = 1"
            ),
        };
        let sql_one = format!("SELECT {TX_COLS} FROM ocpp_transactions WHERE id = $1");
        dispatch!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            let existing = match &t.transaction_id {
                Some(id) => sqlx::query(sqlx::AssertSqlSafe(sql_existing.as_str())).bind(&t.charger_id).bind(id).fetch_optional(&mut *tx).await?,
                None => sqlx::query(sqlx::AssertSqlSafe(sql_existing.as_str()))
                    .bind(&t.charger_id).bind(t.evse_number).bind(t.started_at).bind(t.id_tag.clone().unwrap_or_default())
                    .fetch_optional(&mut *tx).await?,
            };
            if let Some(r) = existing {
                let found = tx_from_row!(r);
                tx.commit().await?;
                return Ok((found, false));
            }
            // A placeholder id first: the 1.6 ids derive from the row id.
            let placeholder = format!("pending-{}", uuid::Uuid::new_v4().simple());
            let id: i64 = sqlx::query(
                "INSERT INTO ocpp_transactions (charger_id, transaction_id, session_id, country_code, party_id, location_id, evse_uid, \
                 connector_id, evse_number, id_tag, emsp_country_code, emsp_party_id, cdr_token, auth_method, authorization_reference, \
                 started_at, meter_start_wh, status, seen_start, created_at, updated_at) \
                 VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'ACTIVE', $17, $18, $18) RETURNING id")
                .bind(&t.charger_id).bind(&placeholder).bind(&t.owner.country_code).bind(&t.owner.party_id).bind(&t.location_id)
                .bind(&t.evse_uid).bind(&t.connector_id).bind(t.evse_number).bind(&t.id_tag)
                .bind(t.emsp.as_ref().map(|e| e.country_code.clone())).bind(t.emsp.as_ref().map(|e| e.party_id.clone()))
                .bind(&token).bind(&t.auth_method).bind(&t.authorization_reference).bind(t.started_at).bind(&meter)
                .bind(i64::from(t.seen_start)).bind(now)
                .fetch_one(&mut *tx).await?.try_get("id")?;
            let charger_tx_id = t.transaction_id.clone().unwrap_or_else(|| id.to_string());
            let session_id = format!("{}-{}", t.charger_id, charger_tx_id);
            sqlx::query("UPDATE ocpp_transactions SET transaction_id = $1, session_id = $2 WHERE id = $3")
                .bind(&charger_tx_id).bind(&session_id).bind(id).execute(&mut *tx).await?;
            let r = sqlx::query(sqlx::AssertSqlSafe(sql_one.as_str())).bind(id).fetch_one(&mut *tx).await?;
            let created = tx_from_row!(r);
            tx.commit().await?;
            Ok((created, true))
        })
    }

    /// The transaction `transaction_id` (as the charger knows it) of a charger.
    pub async fn get_transaction(&self, charger_id: &str, transaction_id: &str) -> Result<Option<OcppTransaction>> {
        let sql = format!("SELECT {TX_COLS} FROM ocpp_transactions WHERE charger_id = $1 AND transaction_id = $2");
        dispatch!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(charger_id).bind(transaction_id).fetch_optional(pool).await?;
            match row { Some(r) => Ok(Some(tx_from_row!(r))), None => Ok(None) }
        })
    }

    /// The transaction of an OCPI session id.
    pub async fn find_transaction_by_session(&self, session_id: &str) -> Result<Option<OcppTransaction>> {
        let sql = format!("SELECT {TX_COLS} FROM ocpp_transactions WHERE session_id = $1");
        dispatch!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(session_id).fetch_optional(pool).await?;
            match row { Some(r) => Ok(Some(tx_from_row!(r))), None => Ok(None) }
        })
    }

    /// The active transactions of a charger (on one connector/EVSE number, or all).
    pub async fn active_transactions(&self, charger_id: &str, evse_number: Option<i64>) -> Result<Vec<OcppTransaction>> {
        let sql = format!(
            "SELECT {TX_COLS} FROM ocpp_transactions WHERE charger_id = $1 AND status = 'ACTIVE' AND ($2 = -1 OR evse_number = $2) ORDER BY id"
        );
        dispatch!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(charger_id).bind(evse_number.unwrap_or(-1)).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(tx_from_row!(r)); }
            Ok(out)
        })
    }

    /// Appends a charging-state sample (`charging`, at `ts`) to the active transaction of a
    /// charger's connector/EVSE `evse_number`, if there is one: the 1.6 StatusNotification
    /// Charging / SuspendedEV(SE) / Finishing signal. One write, no read first (batched by the
    /// SQLite group-commit writer).
    pub async fn note_charging_state(&self, charger_id: &str, evse_number: i64, charging: bool, ts: i64) -> Result<()> {
        if let Some(writer) = self.writer.get() {
            return writer.charging_state(charger_id, evse_number, charging, ts).await;
        }
        let now = now_micros();
        let begin = self.begin_write();
        dispatch!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            sqlx::query(NOTE_CHARGING_SAMPLE).bind(ts).bind(i64::from(charging)).bind(charger_id).bind(evse_number)
                .execute(&mut *tx).await?;
            sqlx::query(NOTE_CHARGING_TOUCH).bind(now).bind(charger_id).bind(evse_number)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Applies `u` (and appends `samples`) in one write transaction; returns the record after.
    pub async fn update_transaction(&self, id: i64, u: &TransactionUpdate, samples: &[MeterSample]) -> Result<OcppTransaction> {
        let now = now_micros();
        let begin = self.begin_write();
        let sql_one = format!("SELECT {TX_COLS} FROM ocpp_transactions WHERE id = $1");
        dispatch!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            sqlx::query(
                "UPDATE ocpp_transactions SET status = COALESCE($1, status), stopped_at = COALESCE($2, stopped_at), \
                 meter_stop_wh = COALESCE($3, meter_stop_wh), stop_reason = COALESCE($4, stop_reason), \
                 last_seq_no = CASE WHEN $5 IS NULL THEN last_seq_no WHEN last_seq_no IS NULL OR last_seq_no < $5 THEN $5 ELSE last_seq_no END, \
                 charging_needs = COALESCE($6, charging_needs), cdr_id = COALESCE($7, cdr_id), \
                 emsp_country_code = COALESCE($8, emsp_country_code), emsp_party_id = COALESCE($9, emsp_party_id), \
                 cdr_token = COALESCE($10, cdr_token), authorization_reference = COALESCE($11, authorization_reference), \
                 id_tag = COALESCE($12, id_tag), updated_at = $13 WHERE id = $14")
                .bind(&u.status).bind(u.stopped_at).bind(u.meter_stop_wh.map(|d| d.to_string())).bind(&u.stop_reason)
                .bind(u.last_seq_no).bind(u.charging_needs.as_ref().map(|v| v.to_string())).bind(&u.cdr_id)
                .bind(u.emsp.as_ref().map(|e| e.country_code.clone())).bind(u.emsp.as_ref().map(|e| e.party_id.clone()))
                .bind(u.cdr_token.as_ref().map(|v| v.to_string())).bind(&u.authorization_reference).bind(&u.id_tag)
                .bind(now).bind(id)
                .execute(&mut *tx).await?;
            for s in samples {
                sqlx::query("INSERT INTO ocpp_meter_samples (transaction_row, ts, energy_wh, power_kw, current_a, charging) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(id).bind(s.ts).bind(s.energy_wh.map(|d| d.to_string())).bind(s.power_kw.map(|d| d.to_string()))
                    .bind(s.current_a.map(|d| d.to_string())).bind(s.charging.map(i64::from))
                    .execute(&mut *tx).await?;
            }
            let r = sqlx::query(sqlx::AssertSqlSafe(sql_one.as_str())).bind(id).fetch_optional(&mut *tx).await?
                .ok_or_else(|| StoreError::Corrupt(format!("transaction {id} vanished")))?;
            let after = tx_from_row!(r);
            tx.commit().await?;
            Ok(after)
        })
    }

    /// The samples of a transaction in time order.
    pub async fn meter_samples(&self, id: i64) -> Result<Vec<MeterSample>> {
        dispatch!(self, pool => {
            let rows = sqlx::query("SELECT ts, energy_wh, power_kw, current_a, charging FROM ocpp_meter_samples WHERE transaction_row = $1 ORDER BY ts, id")
                .bind(id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(MeterSample {
                    ts: r.try_get("ts")?,
                    energy_wh: dec(r.try_get("energy_wh")?, "energy_wh")?,
                    power_kw: dec(r.try_get("power_kw")?, "power_kw")?,
                    current_a: dec(r.try_get("current_a")?, "current_a")?,
                    charging: r.try_get::<Option<i64>, _>("charging")?.map(|c| c != 0),
                });
            }
            Ok(out)
        })
    }

    /// Remembers (or refreshes) a token learnt through real-time authorization.
    pub async fn put_learnt_id_tag(&self, t: &LearntIdTag) -> Result<()> {
        let now = now_micros();
        dispatch!(self, pool => {
            sqlx::query("INSERT INTO ocpp_id_tags (id_tag, emsp_country_code, emsp_party_id, cdr_token, authorization_reference, allowed, source, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id_tag) DO UPDATE SET emsp_country_code = excluded.emsp_country_code, \
                         emsp_party_id = excluded.emsp_party_id, cdr_token = excluded.cdr_token, \
                         authorization_reference = excluded.authorization_reference, allowed = excluded.allowed, \
                         source = excluded.source, updated_at = excluded.updated_at")
                .bind(&t.id_tag).bind(&t.emsp.country_code).bind(&t.emsp.party_id).bind(t.cdr_token.to_string())
                .bind(&t.authorization_reference).bind(&t.allowed).bind(&t.source).bind(now)
                .execute(pool).await?;
            Ok(())
        })
    }

    pub async fn get_learnt_id_tag(&self, id_tag: &str) -> Result<Option<LearntIdTag>> {
        dispatch!(self, pool => {
            let row = sqlx::query("SELECT id_tag, emsp_country_code, emsp_party_id, cdr_token, authorization_reference, allowed, source FROM ocpp_id_tags WHERE id_tag = $1")
                .bind(id_tag).fetch_optional(pool).await?;
            match row {
                None => Ok(None),
                Some(r) => Ok(Some(LearntIdTag {
                    id_tag: r.try_get("id_tag")?,
                    emsp: PartyKey::new(&r.try_get::<String, _>("emsp_country_code")?, &r.try_get::<String, _>("emsp_party_id")?),
                    cdr_token: json(Some(r.try_get("cdr_token")?), "cdr_token")?.unwrap_or_default(),
                    authorization_reference: r.try_get("authorization_reference")?,
                    allowed: r.try_get("allowed")?,
                    source: r.try_get("source")?,
                })),
            }
        })
    }

    /// Remembers which charger holds an OCPI reservation of `owner`.
    pub async fn put_reservation(&self, owner: &PartyKey, reservation_id: &str, charger_id: &str, ocpp_id: i64) -> Result<()> {
        let now = now_micros();
        dispatch!(self, pool => {
            sqlx::query("INSERT INTO ocpp_reservations (country_code, party_id, reservation_id, charger_id, ocpp_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (country_code, party_id, reservation_id) DO UPDATE SET charger_id = excluded.charger_id, ocpp_id = excluded.ocpp_id")
                .bind(&owner.country_code).bind(&owner.party_id).bind(reservation_id).bind(charger_id).bind(ocpp_id).bind(now)
                .execute(pool).await?;
            Ok(())
        })
    }

    /// The charger and OCPP id of an OCPI reservation of `owner`.
    pub async fn get_reservation(&self, owner: &PartyKey, reservation_id: &str) -> Result<Option<(String, i64)>> {
        dispatch!(self, pool => {
            let row = sqlx::query("SELECT charger_id, ocpp_id FROM ocpp_reservations WHERE country_code = $1 AND party_id = $2 AND reservation_id = $3")
                .bind(&owner.country_code).bind(&owner.party_id).bind(reservation_id).fetch_optional(pool).await?;
            match row {
                Some(r) => Ok(Some((r.try_get("charger_id")?, r.try_get("ocpp_id")?))),
                None => Ok(None),
            }
        })
    }
}
