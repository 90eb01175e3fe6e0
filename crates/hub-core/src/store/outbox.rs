//! The durable outbox: every push the hub owes a party, written in the same transaction that
//! accepted it, and drained by the delivery worker in order per (receiver, object).

use super::{Result, Store, dispatch, now_micros, parse_col};
use crate::party::InterfaceRole;
use sqlx::Row;

/// A push to deliver later.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub target_platform_id: i64,
    /// Deliveries with the same target and ordering key are sent strictly in order.
    pub object_key: String,
    /// Module identifier of the target endpoint.
    pub module: String,
    /// Interface role of the target endpoint.
    pub interface_role: InterfaceRole,
    pub method: String,
    /// Appended to the target's endpoint URL; or a whole URL when `absolute_url`.
    pub path: String,
    pub absolute_url: bool,
    /// Headers to send (routing headers, correlation id); `X-Request-ID` is made per attempt.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub attempts: i64,
    pub created_at: i64,
    pub d: NewDelivery,
}

/// Shared by `insert_delivery!` and the SQLite group-commit writer (`writer.rs`).
pub(crate) const INSERT_DELIVERY: &str = "INSERT INTO outbox (target_platform_id, object_key, module, interface_role, method, path, absolute_url, headers, body, next_attempt_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";

/// Inserts one delivery on an open transaction. A macro rather than a generic function: a
/// generic `Executor` bound makes the calling futures lose `Send` (higher-ranked lifetimes).
macro_rules! insert_delivery {
    ($tx:expr, $d:expr, $now:expr) => {{
        let d: &$crate::store::NewDelivery = $d;
        let headers = serde_json::to_string(&d.headers).unwrap_or_else(|_| "[]".into());
        sqlx::query($crate::store::outbox::INSERT_DELIVERY)
        .bind(d.target_platform_id)
        .bind(d.object_key.as_str())
        .bind(d.module.as_str())
        .bind(d.interface_role.as_str())
        .bind(d.method.as_str())
        .bind(d.path.as_str())
        .bind(i64::from(d.absolute_url))
        .bind(headers)
        .bind(d.body.as_deref())
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    }};
}
pub(crate) use insert_delivery;

const COLS: &str = "id, target_platform_id, object_key, module, interface_role, method, path, absolute_url, headers, body, attempts, created_at";

impl Store {
    /// Enqueues deliveries in one transaction.
    pub async fn enqueue(&self, deliveries: &[NewDelivery]) -> Result<()> {
        self.apply(None, deliveries).await.map(|_| ())
    }

    /// Claims up to `limit` due deliveries for `lease_ms`: only the oldest pending delivery of each
    /// (target, object) is due, so an object's pushes are never reordered.
    pub async fn claim_due_deliveries(&self, limit: i64, lease_ms: i64) -> Result<Vec<Delivery>> {
        let now = now_micros();
        let lease_until = now + lease_ms * 1000;
        let sql = format!(
            "SELECT {COLS} FROM outbox o WHERE o.status = 'pending' AND o.next_attempt_at <= $1 AND o.locked_until <= $1 \
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.target_platform_id = o.target_platform_id AND p.object_key = o.object_key AND p.status = 'pending' AND p.id < o.id) \
             ORDER BY o.id LIMIT $2"
        );
        dispatch!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(now).bind(limit).fetch_all(pool).await?;
            let mut claimed = Vec::with_capacity(rows.len());
            for r in &rows {
                let id: i64 = r.try_get("id")?;
                let res = sqlx::query("UPDATE outbox SET locked_until = $1 WHERE id = $2 AND locked_until <= $3 AND status = 'pending'")
                    .bind(lease_until).bind(id).bind(now).execute(pool).await?;
                if res.rows_affected() == 0 {
                    continue; // another worker took it
                }
                let headers: String = r.try_get("headers")?;
                claimed.push(Delivery {
                    id,
                    attempts: r.try_get("attempts")?,
                    created_at: r.try_get("created_at")?,
                    d: NewDelivery {
                        target_platform_id: r.try_get("target_platform_id")?,
                        object_key: r.try_get("object_key")?,
                        module: r.try_get("module")?,
                        interface_role: parse_col(r.try_get::<String, _>("interface_role")?.as_str(), "interface_role")?,
                        method: r.try_get("method")?,
                        path: r.try_get("path")?,
                        absolute_url: r.try_get::<i64, _>("absolute_url")? != 0,
                        headers: serde_json::from_str(&headers).unwrap_or_default(),
                        body: r.try_get("body")?,
                    },
                });
            }
            Ok(claimed)
        })
    }

    /// Releases every lease: for a worker starting on SQLite, which only one process uses, so
    /// any lease left is from a process that died mid-delivery.
    pub async fn release_all_leases(&self) -> Result<u64> {
        dispatch!(self, pool => {
            let r = sqlx::query("UPDATE outbox SET locked_until = 0 WHERE locked_until <> 0").execute(pool).await?;
            Ok(r.rows_affected())
        })
    }

    /// The receiver took it: the delivery is done and removed.
    pub async fn delivery_succeeded(&self, id: i64) -> Result<()> {
        dispatch!(self, pool => {
            sqlx::query("DELETE FROM outbox WHERE id = $1").bind(id).execute(pool).await?;
            Ok(())
        })
    }

    /// Try again at `next_attempt_at` (micros).
    pub async fn delivery_failed(&self, id: i64, error: &str, next_attempt_at: i64) -> Result<()> {
        dispatch!(self, pool => {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, locked_until = 0 WHERE id = $3")
                .bind(error).bind(next_attempt_at).bind(id).execute(pool).await?;
            Ok(())
        })
    }

    /// The receiver refused the push itself (a client error): kept as a dead letter for the
    /// operator, and no longer blocks later pushes of the same object.
    pub async fn delivery_rejected(&self, id: i64, error: &str) -> Result<()> {
        dispatch!(self, pool => {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, status = 'rejected', last_error = $1, locked_until = 0 WHERE id = $2")
                .bind(error).bind(id).execute(pool).await?;
            Ok(())
        })
    }

    /// Holds back every pending delivery to a platform until `until` (micros): after a
    /// connection failure there is no point trying its other objects right away.
    pub async fn postpone_deliveries(&self, platform_id: i64, until: i64) -> Result<()> {
        dispatch!(self, pool => {
            sqlx::query("UPDATE outbox SET next_attempt_at = $1 WHERE target_platform_id = $2 AND status = 'pending' AND next_attempt_at < $1")
                .bind(until).bind(platform_id).execute(pool).await?;
            Ok(())
        })
    }

    /// Makes a platform's pending deliveries due now (it came back, or was unsuspended).
    pub async fn wake_deliveries(&self, platform_id: i64) -> Result<()> {
        let now = now_micros();
        dispatch!(self, pool => {
            sqlx::query("UPDATE outbox SET next_attempt_at = $1 WHERE target_platform_id = $2 AND status = 'pending' AND next_attempt_at > $1")
                .bind(now).bind(platform_id).execute(pool).await?;
            Ok(())
        })
    }

    /// Whether a delivery of this object to this platform is still pending (a new direct push
    /// must then queue behind it instead of overtaking it).
    pub async fn has_pending_delivery(&self, platform_id: i64, object_key: &str) -> Result<bool> {
        dispatch!(self, pool => {
            Ok(sqlx::query("SELECT 1 AS x FROM outbox WHERE target_platform_id = $1 AND object_key = $2 AND status = 'pending' LIMIT 1")
                .bind(platform_id).bind(object_key).fetch_optional(pool).await?.is_some())
        })
    }

    /// (pending, rejected) counts, for operators and tests.
    pub async fn outbox_counts(&self) -> Result<(i64, i64)> {
        dispatch!(self, pool => {
            let r = sqlx::query("SELECT COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS p, COALESCE(SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END), 0) AS r FROM outbox")
                .fetch_one(pool).await?;
            Ok((r.try_get("p")?, r.try_get("r")?))
        })
    }
}
