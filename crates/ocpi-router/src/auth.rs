//! Authentication of incoming calls by credentials token (server tokens and invite tokens).
//!
//! argon2 verification is deliberately slow, so a verified token is cached in memory by its
//! SHA-256 fingerprint; the store is asked again only on a cache miss or after a local change.

use crate::reply::{self, Ids};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse};
use hub_core::party::{ConnectionStatus, Platform};
use hub_core::store::ServerTokenKind;
use hub_core::token;
use std::sync::Arc;

/// An authenticated caller.
#[derive(Clone)]
pub struct Caller {
    pub platform: Arc<Platform>,
    /// True when the caller used its invite token (token A).
    pub invite: bool,
    /// The token as presented (for credentials GET, which echoes it).
    pub token: String,
}

/// Which tokens an endpoint accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Server tokens only (functional modules).
    ServerToken,
    /// Invite or server tokens (versions, credentials).
    InviteOrServerToken,
}

pub async fn authenticate(state: &AppState, req: &HttpRequest, ids: &Ids, accept: Accept) -> Result<Caller, HttpResponse> {
    let header = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let candidates = token::candidates(header);
    if candidates.is_empty() {
        return Err(reply::unauthorized(ids, "missing or malformed Authorization header"));
    }
    for candidate in candidates {
        let fp = token::fingerprint(&candidate);
        let lookup_failed = |e: hub_core::store::StoreError| {
            tracing::error!(error = %e, "token lookup failed");
            reply::error(ids, hub_core::ocpi::status::SERVER_ERROR, "token lookup failed")
        };
        let found = match state.cached_token(&fp) {
            Some(t) if t.invite => {
                recheck_invite(state, &candidate, fp, t.platform_id).await.map_err(lookup_failed)?
            }
            Some(t) => Some((t.platform_id, t.invite)),
            None => verify_once(state, &candidate, fp).await.map_err(lookup_failed)?,
        };
        let Some((platform_id, invite)) = found else { continue };
        let platform = match state.platform(platform_id).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                // Registered by another process (the CLI) after the directory was loaded.
                state.invalidate();
                match state.platform(platform_id).await {
                    Ok(Some(p)) => p,
                    _ => continue,
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "platform lookup failed");
                return Err(reply::error(ids, hub_core::ocpi::status::SERVER_ERROR, "platform lookup failed"));
            }
        };
        if invite && accept == Accept::ServerToken {
            return Err(reply::unauthorized(ids, "a registration token may only be used for versions and credentials"));
        }
        if platform.status == ConnectionStatus::Suspended && !invite {
            // Refusing is rare: make sure the suspension was not lifted a moment ago by
            // another process before saying no.
            state.invalidate();
            let fresh = state.platform(platform_id).await.ok().flatten();
            match fresh {
                Some(p) if p.status != ConnectionStatus::Suspended => return Ok(Caller { platform: p, invite, token: candidate }),
                _ => return Err(reply::unauthorized(ids, "this platform is suspended")),
            }
        }
        return Ok(Caller { platform, invite, token: candidate });
    }
    Err(reply::unauthorized(ids, "unknown credentials token"))
}

/// Verifies a token missing from the cache, one at a time: when the cache is cleared under
/// load, every in-flight request misses together, and letting each run argon2 would burn
/// seconds of CPU on the same token. After waiting its turn a request finds the token cached.
async fn verify_once(
    state: &AppState,
    candidate: &str,
    fp: [u8; 32],
) -> Result<Option<(i64, bool)>, hub_core::store::StoreError> {
    let _turn = state.verify_lock.lock().await;
    if let Some(t) = state.cached_token(&fp) {
        return Ok(Some((t.platform_id, t.invite)));
    }
    verify_in_store(state, candidate, fp).await
}

/// A token cached as an invite may be stale: in a hub-initiated registration (`ocpi-hub party
/// register`, another process) the party uses its token on our versions endpoint while it is
/// still an invite, and the CLI then turns it into the platform's server token. Taken from the
/// cache, it would be refused on functional modules (401) and on credentials PUT (405). A cheap
/// lookup tells whether the store now holds a server token under this lookup key; only then is
/// the token verified again (a plain invite costs no argon2 run).
async fn recheck_invite(
    state: &AppState,
    candidate: &str,
    fp: [u8; 32],
    platform_id: i64,
) -> Result<Option<(i64, bool)>, hub_core::store::StoreError> {
    let rows = state.store.find_server_tokens(&token::lookup_key(candidate)).await?;
    if !rows.iter().any(|r| r.platform_id == platform_id && r.kind != ServerTokenKind::Invite) {
        return Ok(Some((platform_id, true)));
    }
    let _turn = state.verify_lock.lock().await;
    if let Some(t) = state.cached_token(&fp).filter(|t| !t.invite) {
        return Ok(Some((t.platform_id, t.invite)));
    }
    // The registration happened elsewhere: the cached directory is stale too.
    state.invalidate();
    verify_in_store(state, candidate, fp).await
}

async fn verify_in_store(
    state: &AppState,
    candidate: &str,
    fp: [u8; 32],
) -> Result<Option<(i64, bool)>, hub_core::store::StoreError> {
    let rows = state.store.find_server_tokens(&token::lookup_key(candidate)).await?;
    for row in rows {
        let (c, hash) = (candidate.to_string(), row.hash.clone());
        let ok = tokio::task::spawn_blocking(move || token::verify(&c, &hash)).await.unwrap_or(false);
        if !ok {
            continue;
        }
        let invite = row.kind == ServerTokenKind::Invite;
        if row.kind == ServerTokenKind::Active {
            // First use of a rotated-in token ends the rotation: the old token stops working.
            if state.store.drop_superseded_tokens(row.platform_id).await? > 0 {
                state.invalidate();
            }
        }
        state.cache_token(fp, row.platform_id, row.id, invite);
        return Ok(Some((row.platform_id, invite)));
    }
    Ok(None)
}
