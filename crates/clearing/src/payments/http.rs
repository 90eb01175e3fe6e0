//! `POST /stripe/webhooks` as an actix-web resource, registered on the OCPI HTTP listener by the
//! binary when `stripe.webhook_secret` is set.
//!
//! Answers: 200 `{"received": true, "duplicate": ..}` for an accepted event (a replay too, so
//! Stripe stops resending it); 400 for a bad signature, a stale timestamp or an unreadable
//! payload; 500 when our database fails (Stripe retries). The secret is never logged.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use hub_core::store::Store;
use serde_json::json;

use super::webhooks::{self, WebhookError};

/// What the webhook resource needs.
#[derive(Clone)]
pub struct WebhookState {
    pub store: Store,
    secret: Arc<str>,
}

impl WebhookState {
    pub fn new(store: Store, secret: &str) -> Self {
        Self { store, secret: Arc::from(secret) }
    }
}

impl std::fmt::Debug for WebhookState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookState").field("secret", &"<redacted>").finish_non_exhaustive()
    }
}

/// Registers `/stripe/webhooks` (POST; other methods get 405).
pub fn configure(cfg: &mut web::ServiceConfig, state: WebhookState) {
    cfg.service(web::resource("/stripe/webhooks").app_data(web::Data::new(state)).post(receive));
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<WebhookState>) -> HttpResponse {
    let Ok(payload) = std::str::from_utf8(&body) else {
        return HttpResponse::BadRequest().json(json!({"error": "payload is not UTF-8"}));
    };
    let signature = req.headers().get("Stripe-Signature").and_then(|v| v.to_str().ok());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    match webhooks::handle(&state.store, &state.secret, signature, payload, now).await {
        Ok(h) => {
            tracing::info!(event = %h.event_id, kind = %h.event_type, duplicate = h.duplicate, effect = %h.effect, "Stripe webhook");
            HttpResponse::Ok().json(json!({"received": true, "duplicate": h.duplicate, "effect": h.effect}))
        }
        Err(e @ (WebhookError::Signature(_) | WebhookError::Payload(_))) => {
            tracing::warn!(error = %e, "Stripe webhook refused");
            HttpResponse::BadRequest().json(json!({"error": e.to_string()}))
        }
        Err(e) => {
            tracing::error!(error = %e, "Stripe webhook not recorded");
            HttpResponse::InternalServerError().json(json!({"error": "not recorded, retry later"}))
        }
    }
}
