//! Charger authentication (OCPP security profiles 1 and 2: HTTP Basic with the charger's
//! password, checked against its argon2 hash in the `chargers` table).

use hub_core::token;
use ocpi_router::state::AppState;
use ocpp_gateway::{AuthResult, BasicAuth, BoxFuture, ChargerAuth};
use std::sync::Arc;

/// Charger authentication against the `chargers` table.
pub struct StoreAuth {
    pub state: Arc<AppState>,
}

impl ChargerAuth for StoreAuth {
    fn check<'a>(&'a self, charger_id: &'a str, basic_auth: Option<&'a BasicAuth>) -> BoxFuture<'a, AuthResult> {
        Box::pin(async move {
            let charger = match self.state.store.get_charger(charger_id).await {
                Ok(Some(c)) => c,
                Ok(None) => return AuthResult::UnknownCharger,
                Err(e) => {
                    tracing::error!(error = %e, charger_id, "charger lookup failed");
                    return AuthResult::Unavailable;
                }
            };
            let Some(password) = basic_auth.and_then(|b| b.password_str()).map(str::to_owned) else {
                return AuthResult::BadCredentials;
            };
            // argon2 is deliberately slow: off the async workers.
            let hash = charger.password_hash;
            match tokio::task::spawn_blocking(move || token::verify(&password, &hash)).await {
                Ok(true) => AuthResult::Accepted,
                Ok(false) => AuthResult::BadCredentials,
                Err(_) => AuthResult::Unavailable,
            }
        })
    }
}

