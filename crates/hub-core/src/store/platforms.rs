//! Platforms, their parties (roles), endpoints and the server/invite tokens they authenticate with.

use super::{Result, Store, StoreError, dispatch, now_micros, parse_col};
use crate::party::{ConnectionStatus, Endpoint, PartyKey, PartyRole, Platform, Role};
use sqlx::Row;

/// What a server token row is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTokenKind {
    /// The spec's token A: lets a platform fetch versions and register, once.
    Invite,
    /// The spec's token C: the platform's token for every call after registration.
    Active,
    /// A token replaced by a rotation; valid until the new token is first used.
    Superseded,
}

impl ServerTokenKind {
    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "invite" => ServerTokenKind::Invite,
            "active" => ServerTokenKind::Active,
            "superseded" => ServerTokenKind::Superseded,
            other => return Err(StoreError::Corrupt(format!("token kind {other}"))),
        })
    }
}

#[derive(Debug, Clone)]
pub struct ServerTokenRow {
    pub id: i64,
    pub platform_id: i64,
    pub kind: ServerTokenKind,
    pub hash: String,
}

/// The outcome of a credentials exchange, written in one transaction.
#[derive(Debug, Clone)]
pub struct Registration {
    pub ocpi_version: String,
    pub versions_url: String,
    pub client_token: String,
    pub endpoints: Vec<Endpoint>,
    /// Parties of the platform: (key, role, business_details).
    pub roles: Vec<(PartyKey, Role, Option<serde_json::Value>)>,
    /// Lookup key and hash of the new server token, if one is issued.
    pub new_server_token: Option<(String, String)>,
}

impl Store {
    /// Creates a PLANNED platform with an invite token and, optionally, the party it will host.
    pub async fn create_invite(
        &self,
        name: Option<&str>,
        party: Option<(PartyKey, Role)>,
        token_lookup: &str,
        token_hash: &str,
    ) -> Result<i64> {
        let now = now_micros();
        dispatch!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query(
                "INSERT INTO platforms (name, status, created_at, updated_at) VALUES ($1, 'PLANNED', $2, $2) RETURNING id",
            )
            .bind(name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            if let Some((key, role)) = &party {
                // A party whose platform unregistered (no client token, SUSPENDED) may come back.
                sqlx::query("DELETE FROM party_roles WHERE country_code = $1 AND party_id = $2 AND role = $3 AND platform_id IN (SELECT id FROM platforms WHERE client_token IS NULL AND status = 'SUSPENDED')")
                    .bind(&key.country_code).bind(&key.party_id).bind(role.as_str())
                    .execute(&mut *tx).await?;
                let taken = sqlx::query("SELECT 1 AS x FROM party_roles WHERE country_code = $1 AND party_id = $2 AND role = $3")
                    .bind(&key.country_code).bind(&key.party_id).bind(role.as_str())
                    .fetch_optional(&mut *tx).await?;
                if taken.is_some() {
                    return Err(StoreError::Conflict(format!("party {key} {role} already exists")));
                }
                sqlx::query("INSERT INTO party_roles (platform_id, country_code, party_id, role, last_updated) VALUES ($1, $2, $3, $4, $5)")
                    .bind(id).bind(&key.country_code).bind(&key.party_id).bind(role.as_str()).bind(now)
                    .execute(&mut *tx).await
                    .map_err(|e| conflict_on_unique(e, || format!("party {key} {role} already exists")))?;
            }
            sqlx::query("INSERT INTO server_tokens (platform_id, kind, lookup, hash, created_at) VALUES ($1, 'invite', $2, $3, $4)")
                .bind(id).bind(token_lookup).bind(token_hash).bind(now)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Creates a platform without a token (used by hub-initiated registration before it succeeds).
    pub async fn create_platform(&self, name: Option<&str>) -> Result<i64> {
        let now = now_micros();
        dispatch!(self, pool => {
            let row = sqlx::query("INSERT INTO platforms (name, status, created_at, updated_at) VALUES ($1, 'PLANNED', $2, $2) RETURNING id")
                .bind(name).bind(now).fetch_one(pool).await?;
            Ok(row.try_get("id")?)
        })
    }

    /// Removes a platform and everything that belongs to it (a failed hub-initiated registration).
    pub async fn delete_platform(&self, id: i64) -> Result<()> {
        dispatch!(self, pool => {
            sqlx::query("DELETE FROM platforms WHERE id = $1").bind(id).execute(pool).await?;
            Ok(())
        })
    }

    /// Server or invite tokens whose lookup key matches.
    pub async fn find_server_tokens(&self, lookup: &str) -> Result<Vec<ServerTokenRow>> {
        dispatch!(self, pool => {
            let rows = sqlx::query("SELECT id, platform_id, kind, hash FROM server_tokens WHERE lookup = $1")
                .bind(lookup).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(ServerTokenRow {
                id: r.try_get("id")?,
                platform_id: r.try_get("platform_id")?,
                kind: ServerTokenKind::parse(r.try_get::<String, _>("kind")?.as_str())?,
                hash: r.try_get("hash")?,
            })).collect()
        })
    }

    /// Whether a token row still exists (it may have been rotated away or unregistered).
    pub async fn server_token_exists(&self, id: i64) -> Result<bool> {
        dispatch!(self, pool => {
            Ok(sqlx::query("SELECT 1 AS x FROM server_tokens WHERE id = $1").bind(id).fetch_optional(pool).await?.is_some())
        })
    }

    /// Called when a platform first uses its new server token: older, superseded tokens end.
    pub async fn drop_superseded_tokens(&self, platform_id: i64) -> Result<u64> {
        dispatch!(self, pool => {
            let mut tx = pool.begin().await?;
            let r = sqlx::query("DELETE FROM server_tokens WHERE platform_id = $1 AND kind = 'superseded'")
                .bind(platform_id).execute(&mut *tx).await?;
            if r.rows_affected() > 0 {
                // Other hub processes must notice: the stamp moves with updated_at.
                sqlx::query("UPDATE platforms SET updated_at = $1 WHERE id = $2").bind(now_micros()).bind(platform_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(r.rows_affected())
        })
    }

    /// Writes a completed credentials exchange: version, client token, endpoints and parties are
    /// replaced, the platform becomes CONNECTED, invite tokens end, the previous server token is
    /// superseded (still valid until the new one is used) and the new one is stored.
    pub async fn complete_registration(&self, platform_id: i64, reg: &Registration) -> Result<()> {
        let now = now_micros();
        let begin = self.begin_write();
        dispatch!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            for (key, role, _) in &reg.roles {
                // A party whose platform unregistered (no client token, SUSPENDED) may come back.
                sqlx::query("DELETE FROM party_roles WHERE country_code = $1 AND party_id = $2 AND role = $3 AND platform_id IN (SELECT id FROM platforms WHERE client_token IS NULL AND status = 'SUSPENDED')")
                    .bind(&key.country_code).bind(&key.party_id).bind(role.as_str())
                    .execute(&mut *tx).await?;
                let other = sqlx::query("SELECT platform_id FROM party_roles WHERE country_code = $1 AND party_id = $2 AND role = $3 AND platform_id <> $4")
                    .bind(&key.country_code).bind(&key.party_id).bind(role.as_str()).bind(platform_id)
                    .fetch_optional(&mut *tx).await?;
                if other.is_some() {
                    return Err(StoreError::Conflict(format!("party {key} {role} is registered by another platform")));
                }
            }
            sqlx::query("UPDATE platforms SET ocpi_version = $1, versions_url = $2, client_token = $3, status = 'CONNECTED', consecutive_failures = 0, updated_at = $4 WHERE id = $5")
                .bind(&reg.ocpi_version).bind(&reg.versions_url).bind(&reg.client_token).bind(now).bind(platform_id)
                .execute(&mut *tx).await?;
            sqlx::query("DELETE FROM endpoints WHERE platform_id = $1").bind(platform_id).execute(&mut *tx).await?;
            for e in &reg.endpoints {
                sqlx::query("INSERT INTO endpoints (platform_id, identifier, role, url) VALUES ($1, $2, $3, $4) ON CONFLICT (platform_id, identifier, role) DO UPDATE SET url = excluded.url")
                    .bind(platform_id).bind(&e.identifier).bind(e.role.as_str()).bind(&e.url)
                    .execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM party_roles WHERE platform_id = $1").bind(platform_id).execute(&mut *tx).await?;
            for (key, role, details) in &reg.roles {
                let details = details.as_ref().map(|d| d.to_string());
                sqlx::query("INSERT INTO party_roles (platform_id, country_code, party_id, role, business_details, last_updated) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(platform_id).bind(&key.country_code).bind(&key.party_id).bind(role.as_str()).bind(details).bind(now)
                    .execute(&mut *tx).await
                    .map_err(|e| conflict_on_unique(e, || format!("party {key} {role} is registered by another platform")))?;
            }
            if let Some((lookup, hash)) = &reg.new_server_token {
                sqlx::query("DELETE FROM server_tokens WHERE platform_id = $1 AND kind IN ('invite', 'superseded')")
                    .bind(platform_id).execute(&mut *tx).await?;
                sqlx::query("UPDATE server_tokens SET kind = 'superseded' WHERE platform_id = $1 AND kind = 'active'")
                    .bind(platform_id).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO server_tokens (platform_id, kind, lookup, hash, created_at) VALUES ($1, 'active', $2, $3, $4)")
                    .bind(platform_id).bind(lookup).bind(hash).bind(now)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Ends a registration (credentials DELETE): tokens and endpoints go, the platform becomes
    /// SUSPENDED (Hub Client Info cannot delete), and undelivered pushes to it are dropped.
    pub async fn unregister(&self, platform_id: i64) -> Result<()> {
        let now = now_micros();
        dispatch!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM server_tokens WHERE platform_id = $1").bind(platform_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM endpoints WHERE platform_id = $1").bind(platform_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM outbox WHERE target_platform_id = $1").bind(platform_id).execute(&mut *tx).await?;
            sqlx::query("UPDATE platforms SET client_token = NULL, ocpi_version = NULL, status = 'SUSPENDED', updated_at = $1 WHERE id = $2")
                .bind(now).bind(platform_id).execute(&mut *tx).await?;
            sqlx::query("UPDATE party_roles SET last_updated = $1 WHERE platform_id = $2").bind(now).bind(platform_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Sets a platform's status; returns whether it changed.
    pub async fn set_platform_status(&self, platform_id: i64, status: ConnectionStatus) -> Result<bool> {
        let now = now_micros();
        dispatch!(self, pool => {
            let mut tx = pool.begin().await?;
            let r = sqlx::query("UPDATE platforms SET status = $1, consecutive_failures = 0, updated_at = $2 WHERE id = $3 AND status <> $1")
                .bind(status.as_str()).bind(now).bind(platform_id).execute(&mut *tx).await?;
            let changed = r.rows_affected() > 0;
            if changed {
                sqlx::query("UPDATE party_roles SET last_updated = $1 WHERE platform_id = $2").bind(now).bind(platform_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// Records a delivery outcome to a platform. After `offline_after` consecutive failures a
    /// CONNECTED platform becomes OFFLINE; a success brings an OFFLINE one back to CONNECTED.
    /// Returns the new status when it changed.
    pub async fn record_delivery_outcome(
        &self,
        platform_id: i64,
        ok: bool,
        offline_after: i64,
    ) -> Result<Option<ConnectionStatus>> {
        let now = now_micros();
        dispatch!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed_to = if ok {
                sqlx::query("UPDATE platforms SET consecutive_failures = 0 WHERE id = $1 AND consecutive_failures <> 0")
                    .bind(platform_id).execute(&mut *tx).await?;
                let r = sqlx::query("UPDATE platforms SET status = 'CONNECTED', updated_at = $1 WHERE id = $2 AND status = 'OFFLINE'")
                    .bind(now).bind(platform_id).execute(&mut *tx).await?;
                (r.rows_affected() > 0).then_some(ConnectionStatus::Connected)
            } else {
                sqlx::query("UPDATE platforms SET consecutive_failures = consecutive_failures + 1 WHERE id = $1")
                    .bind(platform_id).execute(&mut *tx).await?;
                let r = sqlx::query("UPDATE platforms SET status = 'OFFLINE', updated_at = $1 WHERE id = $2 AND status = 'CONNECTED' AND consecutive_failures >= $3")
                    .bind(now).bind(platform_id).bind(offline_after).execute(&mut *tx).await?;
                (r.rows_affected() > 0).then_some(ConnectionStatus::Offline)
            };
            if changed_to.is_some() {
                sqlx::query("UPDATE party_roles SET last_updated = $1 WHERE platform_id = $2").bind(now).bind(platform_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(changed_to)
        })
    }

    /// A cheap stamp that changes whenever any platform, its parties or endpoints change
    /// (every such write bumps `platforms.updated_at`, or adds/removes a row). Lets each hub
    /// process notice changes made by another process (the CLI, another node).
    pub async fn platforms_stamp(&self) -> Result<(i64, i64)> {
        dispatch!(self, pool => {
            let r = sqlx::query("SELECT COALESCE(MAX(updated_at), 0) AS m, COUNT(*) AS n FROM platforms").fetch_one(pool).await?;
            Ok((r.try_get("m")?, r.try_get("n")?))
        })
    }

    pub async fn get_platform(&self, id: i64) -> Result<Option<Platform>> {
        Ok(self.load_platforms(Some(id)).await?.into_iter().next())
    }

    pub async fn list_platforms(&self) -> Result<Vec<Platform>> {
        self.load_platforms(None).await
    }

    /// Platforms hosting the party `key` (with `role`, if given).
    pub async fn find_platforms_by_party(&self, key: &PartyKey, role: Option<Role>) -> Result<Vec<Platform>> {
        let ids: Vec<i64> = dispatch!(self, pool => {
            let rows = sqlx::query("SELECT DISTINCT platform_id FROM party_roles WHERE country_code = $1 AND party_id = $2 AND ($3 = '' OR role = $3)")
                .bind(&key.country_code).bind(&key.party_id).bind(role.map(|r| r.as_str()).unwrap_or(""))
                .fetch_all(pool).await?;
            rows.iter().map(|r| r.try_get::<i64, _>("platform_id")).collect::<std::result::Result<Vec<_>, _>>()?
        });
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(p) = self.get_platform(id).await? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Parties for Hub Client Info, ordered by (last_updated, id), optionally filtered.
    pub async fn list_party_roles(
        &self,
        date_from: Option<i64>,
        date_to: Option<i64>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<PartyRole>, i64)> {
        let from = date_from.unwrap_or(i64::MIN);
        let to = date_to.unwrap_or(i64::MAX);
        dispatch!(self, pool => {
            let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM party_roles WHERE last_updated >= $1 AND last_updated < $2")
                .bind(from).bind(to).fetch_one(pool).await?.try_get("n")?;
            let rows = sqlx::query(
                "SELECT r.platform_id, r.country_code, r.party_id, r.role, r.business_details, r.last_updated, p.status \
                 FROM party_roles r JOIN platforms p ON p.id = r.platform_id \
                 WHERE r.last_updated >= $1 AND r.last_updated < $2 ORDER BY r.last_updated, r.id LIMIT $3 OFFSET $4")
                .bind(from).bind(to).bind(limit).bind(offset).fetch_all(pool).await?;
            let roles = rows.iter().map(|r| party_role_from_row(r, None)).collect::<Result<Vec<_>>>()?;
            Ok((roles, total))
        })
    }

    async fn load_platforms(&self, only: Option<i64>) -> Result<Vec<Platform>> {
        let only = only.unwrap_or(-1);
        dispatch!(self, pool => {
            let rows = sqlx::query("SELECT id, name, status, ocpi_version, versions_url, client_token, consecutive_failures, hosted FROM platforms WHERE ($1 = -1 OR id = $1) ORDER BY id")
                .bind(only).fetch_all(pool).await?;
            let mut platforms = Vec::with_capacity(rows.len());
            for r in &rows {
                platforms.push(Platform {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    status: parse_col(r.try_get::<String, _>("status")?.as_str(), "status")?,
                    ocpi_version: r.try_get("ocpi_version")?,
                    versions_url: r.try_get("versions_url")?,
                    client_token: r.try_get("client_token")?,
                    consecutive_failures: r.try_get("consecutive_failures")?,
                    hosted: r.try_get::<i64, _>("hosted")? != 0,
                    endpoints: Vec::new(),
                    roles: Vec::new(),
                });
            }
            let eps = sqlx::query("SELECT platform_id, identifier, role, url FROM endpoints WHERE ($1 = -1 OR platform_id = $1) ORDER BY platform_id, identifier, role")
                .bind(only).fetch_all(pool).await?;
            for r in &eps {
                let pid: i64 = r.try_get("platform_id")?;
                if let Some(p) = platforms.iter_mut().find(|p| p.id == pid) {
                    p.endpoints.push(Endpoint {
                        identifier: r.try_get("identifier")?,
                        role: parse_col(r.try_get::<String, _>("role")?.as_str(), "interface role")?,
                        url: r.try_get("url")?,
                    });
                }
            }
            let roles = sqlx::query("SELECT platform_id, country_code, party_id, role, business_details, last_updated FROM party_roles WHERE ($1 = -1 OR platform_id = $1) ORDER BY id")
                .bind(only).fetch_all(pool).await?;
            for r in &roles {
                let pid: i64 = r.try_get("platform_id")?;
                if let Some(p) = platforms.iter_mut().find(|p| p.id == pid) {
                    let role = party_role_from_row(r, Some(p.status))?;
                    p.roles.push(role);
                }
            }
            Ok(platforms)
        })
    }
}

/// A unique violation on `party_roles` is the conflict the pre-check looks for, lost to a
/// concurrent transaction (PostgreSQL, read committed): report it as such.
fn conflict_on_unique(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what()),
        _ => StoreError::Db(e),
    }
}

fn party_role_from_row<R: Row>(r: &R, status: Option<ConnectionStatus>) -> Result<PartyRole>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let status = match status {
        Some(s) => s,
        None => parse_col(r.try_get::<String, _>("status")?.as_str(), "status")?,
    };
    let details: Option<String> = r.try_get("business_details")?;
    Ok(PartyRole {
        platform_id: r.try_get("platform_id")?,
        country_code: r.try_get("country_code")?,
        party_id: r.try_get("party_id")?,
        role: parse_col(r.try_get::<String, _>("role")?.as_str(), "role")?,
        business_details: details.and_then(|d| serde_json::from_str(&d).ok()),
        status,
        last_updated: r.try_get("last_updated")?,
    })
}
