//! The hub's copy of the OCPI objects routed through it (locations, tariffs, sessions, CDRs,
//! tokens): served by GET All via the hub, used for open routing (who owns this location, whose
//! token is this) and for access checks. Bodies are kept as the exact JSON text received.

use super::outbox::{NewDelivery, insert_delivery};
use super::{Result, Store, StoreError, dispatch, now_micros};
use crate::party::PartyKey;
use sqlx::Row;

/// Identity of a stored object: module, owner and object id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    pub module: String,
    pub country_code: String,
    pub party_id: String,
    pub id: String,
}

impl ObjectKey {
    pub fn new(module: &str, owner: &PartyKey, id: &str) -> Self {
        Self {
            module: module.to_string(),
            country_code: owner.country_code.clone(),
            party_id: owner.party_id.clone(),
            id: id.to_string(),
        }
    }

    pub fn owner(&self) -> PartyKey {
        PartyKey::new(&self.country_code, &self.party_id)
    }

    /// The key deliveries of this object are ordered by.
    pub fn ordering_key(&self) -> String {
        format!("{}/{}/{}/{}", self.module, self.country_code, self.party_id, self.id)
    }
}

#[derive(Debug, Clone)]
pub struct StoredObject {
    pub key: ObjectKey,
    pub seq: i64,
    /// The object's own `last_updated`, in micros.
    pub last_updated: i64,
    /// The JSON text of the object.
    pub body: String,
}

impl StoredObject {
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_str(&self.body).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// Applies a PATCH to an object's JSON text: returns the new text and its `last_updated`
/// (micros), or a message naming what is wrong with the patch.
pub type PatchFn = Box<dyn FnOnce(&str) -> std::result::Result<(String, i64), String> + Send>;

/// A change to one stored object.
pub enum ObjectChange {
    Put { key: ObjectKey, last_updated: i64, body: String },
    Patch { key: ObjectKey, patch: PatchFn },
    Delete { key: ObjectKey },
}

/// A GET All query: by module, optional owner, `last_updated` window, offset/limit, and a
/// keyset cursor `(last_updated, seq)` that makes deep pages as cheap as the first.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub module: String,
    pub owner: Option<PartyKey>,
    /// Inclusive lower bound on last_updated (micros).
    pub date_from: Option<i64>,
    /// Exclusive upper bound on last_updated (micros).
    pub date_to: Option<i64>,
    pub offset: i64,
    pub limit: i64,
    /// Only sessions and CDRs for this party (their `cdr_token`'s eMSP).
    pub recipient: Option<PartyKey>,
    /// Resume after this (last_updated, seq); when set, `offset` is only echoed, not scanned.
    pub after: Option<(i64, i64)>,
}

#[derive(Debug, Clone)]
pub struct ListPage {
    pub items: Vec<StoredObject>,
    /// Number of objects matching the filter (without offset/limit/after).
    pub total: i64,
}

/// The statements of a change to the hub's copy, shared by [`Store::apply`] (sqlx) and the
/// SQLite group-commit writer (`writer.rs`, rusqlite). Parameters `$1..$N` appear in order, so
/// that both bind them by position.
pub(crate) const UPSERT_OBJECT: &str = "INSERT INTO objects (module, country_code, party_id, object_id, last_updated, body, recipient_cc, recipient_pid) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (module, country_code, party_id, object_id) DO UPDATE SET last_updated = excluded.last_updated, body = excluded.body, \
     recipient_cc = excluded.recipient_cc, recipient_pid = excluded.recipient_pid";
pub(crate) const SELECT_BODY: &str = "SELECT body FROM objects WHERE module = $1 AND country_code = $2 AND party_id = $3 AND object_id = $4";
pub(crate) const UPDATE_BODY: &str =
    "UPDATE objects SET body = $1, last_updated = $2 WHERE module = $3 AND country_code = $4 AND party_id = $5 AND object_id = $6";
pub(crate) const DELETE_OBJECT: &str = "DELETE FROM objects WHERE module = $1 AND country_code = $2 AND party_id = $3 AND object_id = $4";

const OBJ_COLS: &str = "seq, module, country_code, party_id, object_id, last_updated, body";

impl Store {
    /// Applies `change` (if any) and enqueues `deliveries` in one transaction: a push is either
    /// wholly accepted (stored and queued) or not at all. Returns the object's text after the change
    /// (`None` for a delete, or a patch of an object the hub has no copy of).
    pub async fn apply(&self, change: Option<ObjectChange>, deliveries: &[NewDelivery]) -> Result<Option<String>> {
        if let Some(writer) = self.writer.get() {
            // Group commit (SQLite): the writer thread runs this with others in one transaction.
            return writer.apply(change, deliveries.to_vec()).await;
        }
        let now = now_micros();
        let lock = if self.is_postgres() { " FOR UPDATE" } else { "" };
        let begin = self.begin_write();
        dispatch!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            let out = match change {
                None => None,
                Some(ObjectChange::Put { key, last_updated, body }) => {
                    let (rcc, rpid) = recipient_of(&key.module, &body).unzip();
                    sqlx::query(UPSERT_OBJECT)
                        .bind(&key.module).bind(&key.country_code).bind(&key.party_id).bind(&key.id).bind(last_updated).bind(&body).bind(rcc).bind(rpid)
                        .execute(&mut *tx).await?;
                    Some(body)
                }
                Some(ObjectChange::Patch { key, patch }) => {
                    let sql = format!("{}{lock}", SELECT_BODY);
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                        .bind(&key.module).bind(&key.country_code).bind(&key.party_id).bind(&key.id)
                        .fetch_optional(&mut *tx).await?;
                    match row {
                        None => None,
                        Some(row) => {
                            let old: String = row.try_get("body")?;
                            let (body, last_updated) = patch(&old).map_err(StoreError::Rejected)?;
                            sqlx::query(UPDATE_BODY)
                                .bind(&body).bind(last_updated).bind(&key.module).bind(&key.country_code).bind(&key.party_id).bind(&key.id)
                                .execute(&mut *tx).await?;
                            Some(body)
                        }
                    }
                }
                Some(ObjectChange::Delete { key }) => {
                    sqlx::query(DELETE_OBJECT)
                        .bind(&key.module).bind(&key.country_code).bind(&key.party_id).bind(&key.id)
                        .execute(&mut *tx).await?;
                    None
                }
            };
            for d in deliveries {
                insert_delivery!(tx, d, now);
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    pub async fn get_object(&self, key: &ObjectKey) -> Result<Option<StoredObject>> {
        let sql = format!("SELECT {OBJ_COLS} FROM objects WHERE module = $1 AND country_code = $2 AND party_id = $3 AND object_id = $4");
        dispatch!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(&key.module).bind(&key.country_code).bind(&key.party_id).bind(&key.id)
                .fetch_optional(pool).await?;
            row.map(|r| object_from_row(&r)).transpose()
        })
    }

    /// Objects of a module with this id, whoever owns them (open routing: a token uid, a
    /// location id or a session id names its owner only through the hub's copy).
    pub async fn find_objects_by_id(&self, module: &str, id: &str) -> Result<Vec<StoredObject>> {
        let sql = format!("SELECT {OBJ_COLS} FROM objects WHERE module = $1 AND object_id = $2 ORDER BY seq");
        dispatch!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(module).bind(id).fetch_all(pool).await?;
            rows.iter().map(object_from_row).collect()
        })
    }

    /// Stored tokens whose body mentions `text` (a superset: callers check the field they need).
    /// Used to find a token by its `contract_id` (the 2.1.1 `auth_id` of sessions and CDRs),
    /// which is not indexed: it scans the module's rows, so it is a fallback after
    /// [`Store::find_objects_by_id`].
    pub async fn find_tokens_mentioning(&self, text: &str, limit: i64) -> Result<Vec<StoredObject>> {
        let sql = format!("SELECT {OBJ_COLS} FROM objects WHERE module = 'tokens' AND body LIKE $1 ESCAPE '\\' ORDER BY seq LIMIT $2");
        let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        dispatch!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(&pattern).bind(limit).fetch_all(pool).await?;
            rows.iter().map(object_from_row).collect()
        })
    }

    /// One page of a GET All.
    ///
    /// Only the conditions that apply are written into the SQL (with `QueryBuilder`), so both
    /// planners see a plain range on the (module, last_updated, seq) index: a constant-true
    /// `? = '' OR ...` or an unbounded date window made SQLite scan the module from its start.
    pub async fn list_objects(&self, f: &ListFilter) -> Result<ListPage> {
        /// `WHERE` with the module, an optional lower bound, the date window end and the owner.
        macro_rules! push_where {
            ($qb:expr, $lower:expr) => {{
                $qb.push(" WHERE module = ").push_bind(f.module.clone());
                if let Some(lo) = $lower {
                    $qb.push(" AND last_updated >= ").push_bind(lo);
                }
                if let Some(to) = f.date_to {
                    $qb.push(" AND last_updated < ").push_bind(to);
                }
                if let Some(o) = &f.owner {
                    $qb.push(" AND country_code = ").push_bind(o.country_code.clone());
                    $qb.push(" AND party_id = ").push_bind(o.party_id.clone());
                }
                if let Some(r) = &f.recipient {
                    $qb.push(" AND recipient_cc = ").push_bind(r.country_code.clone());
                    $qb.push(" AND recipient_pid = ").push_bind(r.party_id.clone());
                }
            }};
        }
        let unfiltered = f.date_from.is_none() && f.date_to.is_none() && f.owner.is_none() && f.recipient.is_none();
        dispatch!(self, pool => {
            let total: i64 = if unfiltered {
                sqlx::query("SELECT n FROM object_counts WHERE module = $1").bind(&f.module)
                    .fetch_optional(pool).await?.map(|r| r.try_get("n")).transpose()?.unwrap_or(0)
            } else {
                let mut qb = sqlx::QueryBuilder::new("SELECT COUNT(*) AS n FROM objects");
                push_where!(qb, f.date_from);
                qb.build().fetch_one(pool).await?.try_get("n")?
            };
            // Where the page starts: after the cursor, or at the offset-th entry (found by
            // skipping index entries only: every column read is in the index), inclusive.
            let start = match f.after {
                Some(after) => Some((after, false)),
                None if f.offset <= 0 => Some(((f.date_from.unwrap_or(i64::MIN), i64::MIN), false)),
                None => {
                    let mut qb = sqlx::QueryBuilder::new("SELECT last_updated, seq FROM objects");
                    push_where!(qb, f.date_from);
                    qb.push(" ORDER BY last_updated, seq LIMIT 1 OFFSET ").push_bind(f.offset);
                    match qb.build().fetch_optional(pool).await? {
                        Some(r) => Some(((r.try_get::<i64, _>("last_updated")?, r.try_get::<i64, _>("seq")?), true)),
                        None => None,
                    }
                }
            };
            let items = match start {
                None => Vec::new(),
                Some(((lu, seq), inclusive)) => {
                    let lower = lu.max(f.date_from.unwrap_or(i64::MIN));
                    let mut qb = sqlx::QueryBuilder::new(format!("SELECT {OBJ_COLS} FROM objects"));
                    push_where!(qb, Some(lower));
                    qb.push(" AND (last_updated > ").push_bind(lu);
                    qb.push(if inclusive { " OR seq >= " } else { " OR seq > " }).push_bind(seq);
                    qb.push(") ORDER BY last_updated, seq LIMIT ").push_bind(f.limit);
                    let rows = qb.build().fetch_all(pool).await?;
                    rows.iter().map(object_from_row).collect::<Result<Vec<_>>>()?
                }
            };
            Ok(ListPage { items, total })
        })
    }

    /// Bulk insert for benchmarks and imports: objects that are not yet stored.
    pub async fn insert_objects(&self, objects: &[(ObjectKey, i64, String)]) -> Result<()> {
        dispatch!(self, pool => {
            let mut tx = pool.begin().await?;
            for (key, lu, body) in objects {
                let (rcc, rpid) = recipient_of(&key.module, body).unzip();
                sqlx::query("INSERT INTO objects (module, country_code, party_id, object_id, last_updated, body, recipient_cc, recipient_pid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                             ON CONFLICT (module, country_code, party_id, object_id) DO UPDATE SET last_updated = excluded.last_updated, body = excluded.body, \
                             recipient_cc = excluded.recipient_cc, recipient_pid = excluded.recipient_pid")
                    .bind(&key.module).bind(&key.country_code).bind(&key.party_id).bind(&key.id).bind(lu).bind(body).bind(rcc).bind(rpid)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

/// The eMSP a session or CDR is for: its `cdr_token`'s country_code and party_id (2.2.1, as the
/// hub stores everything). `None` for other modules or a body without one.
pub(crate) fn recipient_of(module: &str, body: &str) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct WithToken {
        cdr_token: Option<TokenOwner>,
    }
    #[derive(serde::Deserialize)]
    struct TokenOwner {
        country_code: String,
        party_id: String,
    }
    if !matches!(module, "sessions" | "cdrs") {
        return None;
    }
    let t = serde_json::from_str::<WithToken>(body).ok()?.cdr_token?;
    Some((t.country_code, t.party_id))
}

fn object_from_row<R: Row>(r: &R) -> Result<StoredObject>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(StoredObject {
        key: ObjectKey {
            module: r.try_get("module")?,
            country_code: r.try_get("country_code")?,
            party_id: r.try_get("party_id")?,
            id: r.try_get("object_id")?,
        },
        seq: r.try_get("seq")?,
        last_updated: r.try_get("last_updated")?,
        body: r.try_get("body")?,
    })
}
