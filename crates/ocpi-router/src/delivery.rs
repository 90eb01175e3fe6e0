//! The delivery worker: drains the outbox with retries and exponential backoff, in order per
//! (receiver, object), and keeps each receiver's CONNECTED/OFFLINE status in step.
//!
//! A delivery leaves the outbox only when the receiver took it (HTTP 2xx and OCPI 1xxx) or
//! refused it as a client error (kept as a dead letter). Transport errors, timeouts, HTTP 5xx,
//! 401/408/429 and OCPI 3xxx are retried: the receiver may be down for an hour, or the hub may
//! be restarted, and the push still arrives.

use crate::client::{self, CallError};
use crate::hub_client_info;
use crate::state::AppState;
use hub_core::party::{ConnectionStatus, Platform};
use hub_core::store::{Delivery, now_micros};
use std::sync::Arc;
use std::time::Duration;

/// Deliveries claimed per round, and sent concurrently.
const BATCH: i64 = 64;
const CONCURRENCY: usize = 16;

enum Outcome {
    Delivered,
    Retry(String),
    Rejected(String),
}

/// Runs until the process ends.
pub async fn run(state: Arc<AppState>) {
    let poll = Duration::from_millis(state.config.delivery.poll_ms.max(10));
    // A claimed delivery stays reserved for one attempt's worst case: a worker that dies
    // mid-attempt holds it back no longer than that.
    let lease_ms = (state.config.forwarding.timeout_ms as i64) * 2 + 5_000;
    if state.store.backend() == "sqlite" {
        match state.store.release_all_leases().await {
            Ok(n) if n > 0 => tracing::info!(released = n, "released deliveries left claimed by a previous run"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "releasing leases failed"),
        }
    }
    loop {
        let claimed = match state.store.claim_due_deliveries(BATCH, lease_ms).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "claiming deliveries failed");
                tokio::time::sleep(poll).await;
                continue;
            }
        };
        let n = claimed.len();
        let mut tasks = tokio::task::JoinSet::new();
        for d in claimed {
            while tasks.len() >= CONCURRENCY {
                let _ = tasks.join_next().await;
            }
            let state = state.clone();
            tasks.spawn(async move { deliver(&state, d).await });
        }
        while tasks.join_next().await.is_some() {}
        if (n as i64) < BATCH {
            // Sleep until woken by an enqueue, or the poll interval (for retries coming due).
            let _ = tokio::time::timeout(poll, state.delivery_wakeup.notified()).await;
        }
    }
}

async fn deliver(state: &AppState, d: Delivery) {
    let platform_id = d.d.target_platform_id;
    let platform = receiver(state, platform_id).await;
    let outcome = match &platform {
        Ok(Some(p)) => attempt(state, p, &d).await,
        Ok(None) => Outcome::Rejected("receiver no longer exists".into()),
        Err(e) => Outcome::Retry(format!("store: {e}")),
    };
    let platform = platform.ok().flatten();
    let result = match &outcome {
        Outcome::Delivered => state.store.delivery_succeeded(d.id).await,
        Outcome::Rejected(why) => {
            tracing::warn!(delivery = d.id, reason = %why, "delivery refused by receiver; kept as dead letter");
            state.store.delivery_rejected(d.id, why).await
        }
        Outcome::Retry(why) => {
            let next = now_micros() + backoff_ms(state, d.attempts) * 1000;
            tracing::info!(delivery = d.id, attempts = d.attempts + 1, reason = %why, "delivery failed; will retry");
            let r = state.store.delivery_failed(d.id, why, next).await;
            let _ = state.store.postpone_deliveries(platform_id, next).await;
            r
        }
    };
    if let Err(e) = result {
        tracing::error!(error = %e, delivery = d.id, "recording delivery result failed");
    }
    if let Some(platform) = platform {
        note_outcome(state, &platform, !matches!(outcome, Outcome::Retry(_))).await;
    }
}

/// Keeps a platform's OFFLINE/CONNECTED status in step with what reaching it just did, for
/// deliveries and synchronous forwards alike. A healthy platform costs no write: only failures,
/// and the first success after them, touch the store. A change is announced as ClientInfo.
pub(crate) async fn note_outcome(state: &AppState, platform: &Platform, ok: bool) {
    if ok && platform.consecutive_failures == 0 && platform.status != ConnectionStatus::Offline {
        return;
    }
    let threshold = i64::from(state.config.delivery.offline_after_failures);
    match state.store.record_delivery_outcome(platform.id, ok, threshold).await {
        Ok(changed) => {
            // The cached failure count and status are stale now.
            state.invalidate();
            if let Some(s) = changed {
                tracing::info!(platform = platform.id, status = s.as_str(), "platform status changed");
                if s == ConnectionStatus::Connected {
                    let _ = state.store.wake_deliveries(platform.id).await;
                    state.delivery_wakeup.notify_one();
                }
                hub_client_info::announce(state, platform.id).await;
            }
        }
        Err(e) => tracing::error!(error = %e, "recording delivery outcome failed"),
    }
}

fn backoff_ms(state: &AppState, attempts: i64) -> i64 {
    let min = state.config.delivery.min_backoff_ms.max(1) as i64;
    let max = state.config.delivery.max_backoff_ms.max(1) as i64;
    min.saturating_mul(1i64 << attempts.clamp(0, 20)).min(max)
}

/// The receiver, from the in-memory directory (re-read once if it is missing: it may have
/// registered a moment ago in another process).
async fn receiver(state: &AppState, id: i64) -> Result<Option<Arc<Platform>>, hub_core::store::StoreError> {
    if let Some(p) = state.platform(id).await? {
        return Ok(Some(p));
    }
    state.invalidate();
    state.platform(id).await
}

async fn attempt(state: &AppState, platform: &Platform, d: &Delivery) -> Outcome {
    if platform.status == ConnectionStatus::Suspended {
        return Outcome::Retry("receiver suspended".into());
    }
    let (Some(token), Some(version)) = (platform.client_token.as_deref(), platform.ocpi_version.as_deref()) else {
        return Outcome::Rejected("receiver is not registered".into());
    };
    let url = if d.d.absolute_url {
        d.d.path.clone()
    } else {
        match platform.endpoint(&d.d.module, d.d.interface_role) {
            Some(e) => format!("{e}{}", d.d.path),
            None => return Outcome::Rejected(format!("receiver has no {} {} endpoint", d.d.module, d.d.interface_role.as_str())),
        }
    };
    let method = reqwest::Method::from_bytes(d.d.method.as_bytes()).unwrap_or(reqwest::Method::PUT);
    let body = d.d.body.clone().map(bytes::Bytes::from);
    // The outbox keeps 2.2.1 bodies; a 2.1.1 receiver gets them translated, without routing headers.
    let (headers, body) = if crate::v211::is_v211(platform) {
        match crate::v211::delivery_to_v211(state, &d.d, body).await {
            Ok(translated) => translated,
            Err(why) => return Outcome::Rejected(format!("cannot be represented in OCPI 2.1.1: {why}")),
        }
    } else {
        (d.d.headers.clone(), body)
    };
    match client::call(&state.http, method, &url, token, version, &headers, body).await {
        Err(CallError::Timeout) => Outcome::Retry("timed out".into()),
        Err(e) => Outcome::Retry(e.to_string()),
        Ok(answer) => {
            let code = answer.envelope().map(|e| e.status_code);
            match (answer.status, code) {
                (200..=299, None | Some(1000..=1999)) => Outcome::Delivered,
                (200..=299, Some(c @ 3000..=3999)) => Outcome::Retry(format!("OCPI status {c}")),
                (200..=299, Some(c)) => Outcome::Rejected(format!("OCPI status {c}")),
                (401 | 408 | 429, _) | (500..=599, _) => Outcome::Retry(format!("HTTP {}", answer.status)),
                (s, c) => Outcome::Rejected(format!("HTTP {s}, OCPI status {c:?}")),
            }
        }
    }
}
