//! Credentials module (2.2.1): registration in both directions, update with token rotation,
//! unregistration; and discovery of a party's versions and endpoints.

use crate::auth::{self, Accept, Caller};
use crate::client;
use crate::hub_client_info;
use crate::reply::{self, Ids};
use crate::state::AppState;
use crate::versions::VERSIONS;
use actix_web::{HttpRequest, HttpResponse, web};
use hub_core::ocpi::status;
use hub_core::ocpi::v221::credentials::Credentials;
use hub_core::ocpi::v221::parse::{self, ParseError};
use hub_core::party::{Endpoint, InterfaceRole, PartyKey, Role};
use hub_core::store::{Registration, ServerTokenKind, StoreError};
use hub_core::token;
use serde_json::json;

/// A failed step of a credentials exchange, as an OCPI status and message.
#[derive(Debug)]
pub struct ExchangeError {
    pub code: u32,
    pub message: String,
}

impl ExchangeError {
    fn new(code: u32, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl From<StoreError> for ExchangeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ExchangeError::new(status::CLIENT_ERROR, m),
            other => {
                tracing::error!(error = %other, "store error during credentials exchange");
                ExchangeError::new(status::SERVER_ERROR, "internal error")
            }
        }
    }
}

/// What the hub learned from a party's versions endpoint.
pub struct Discovered {
    pub version: String,
    pub endpoints: Vec<Endpoint>,
}

/// Fetches a party's versions and the details of the highest version both sides speak.
pub async fn discover(state: &AppState, versions_url: &str, token: &str) -> Result<Discovered, ExchangeError> {
    let data = crate::v211::get_versions(state, versions_url, token)
        .await
        .map_err(|e| ExchangeError::new(status::UNABLE_TO_USE_CLIENT_API, e))?;
    let offered: Vec<(String, String)> = data
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| Some((v.get("version")?.as_str()?.to_string(), v.get("url")?.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let (version, details_url) = VERSIONS
        .iter()
        .find_map(|ours| offered.iter().find(|(v, _)| crate::v211::same_version(v, ours)).map(|(_, url)| (ours.to_string(), url.clone())))
        .ok_or_else(|| {
            let theirs: Vec<_> = offered.iter().map(|(v, _)| v.as_str()).collect();
            ExchangeError::new(status::UNSUPPORTED_VERSION, format!("no mutual OCPI version (party offers {theirs:?}, hub speaks {VERSIONS:?})"))
        })?;
    let details = client::get_data(state, &details_url, token, &version)
        .await
        .map_err(|e| ExchangeError::new(status::UNABLE_TO_USE_CLIENT_API, e))?;
    let endpoints = details
        .get("endpoints")
        .and_then(|e| e.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|e| {
                    Some(Endpoint {
                        identifier: e.get("identifier")?.as_str()?.to_string(),
                        // 2.1.x endpoints have no role; `v211::assign_interface_roles` gives them
                        // the one the party's role implies before they are stored.
                        role: match e.get("role") {
                            None if version.starts_with("2.1") => InterfaceRole::Sender,
                            r => r?.as_str()?.parse().ok()?,
                        },
                        url: e.get("url")?.as_str()?.trim_end_matches('/').to_string(),
                    })
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if endpoints.is_empty() {
        return Err(ExchangeError::new(status::NO_MATCHING_ENDPOINTS, "the party's version details list no endpoints"));
    }
    Ok(Discovered { version, endpoints })
}

/// The hub's own credentials object, carrying `token`.
pub fn hub_credentials(state: &AppState, token: &str) -> serde_json::Value {
    json!({
        "token": token,
        "url": format!("{}/ocpi/versions", state.public_url),
        "roles": [{
            "role": "HUB",
            "business_details": {"name": state.config.identity.name},
            "party_id": state.hub.party_id,
            "country_code": state.hub.country_code,
        }]
    })
}

pub fn roles_of(creds: &Credentials) -> Vec<(PartyKey, Role, Option<serde_json::Value>)> {
    creds
        .roles
        .iter()
        .map(|r| {
            let details = serde_json::to_value(&r.business_details).ok();
            (PartyKey::new(&r.country_code, &r.party_id), r.role, details)
        })
        .collect()
}

/// GET: the hub's credentials, with the token the caller presented.
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ids = Ids::of(&req);
    match auth::authenticate(&state, &req, &ids, Accept::InviteOrServerToken).await {
        Ok(caller) => reply::ok(&ids, Some(hub_credentials(&state, &caller.token))),
        Err(resp) => resp,
    }
}

/// POST (register) and PUT (update, token rotation).
pub async fn post_or_put(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let ids = Ids::of(&req);
    let caller = match auth::authenticate(&state, &req, &ids, Accept::InviteOrServerToken).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let is_post = req.method() == actix_web::http::Method::POST;
    if is_post && !caller.invite && caller.platform.is_registered() {
        // Spec: a registered party updates with PUT; POST is not allowed.
        return reply::builder(actix_web::http::StatusCode::METHOD_NOT_ALLOWED, &ids, None, None)
            .json(hub_core::ocpi::Envelope::error(status::CLIENT_ERROR, "already registered: use PUT to update"));
    }
    if !is_post && (caller.invite || !caller.platform.is_registered()) {
        return reply::builder(actix_web::http::StatusCode::METHOD_NOT_ALLOWED, &ids, None, None)
            .json(hub_core::ocpi::Envelope::error(status::CLIENT_ERROR, "not registered: use POST to register"));
    }
    let creds: Credentials = match parse::parse(&body) {
        Ok(c) => c,
        Err(ParseError::Syntax(m)) => {
            return reply::builder(actix_web::http::StatusCode::BAD_REQUEST, &ids, None, None)
                .json(hub_core::ocpi::Envelope::error(status::INVALID_PARAMETERS, m));
        }
        Err(ParseError::Invalid { field, message }) => {
            return reply::error(&ids, status::INVALID_PARAMETERS, format!("{field}: {message}"));
        }
    };
    match exchange(&state, &caller, &creds).await {
        Ok(Some(new_token)) => reply::ok(&ids, Some(hub_credentials(&state, &new_token))),
        // A concurrent exchange used the token first: the platform is registered now (POST), or
        // the token is gone (PUT racing a DELETE).
        Ok(None) if is_post => reply::builder(actix_web::http::StatusCode::METHOD_NOT_ALLOWED, &ids, None, None)
            .json(hub_core::ocpi::Envelope::error(status::CLIENT_ERROR, "already registered: use PUT to update")),
        Ok(None) => reply::unauthorized(&ids, "this credentials token is no longer valid"),
        Err(e) => reply::error(&ids, e.code, e.message),
    }
}

/// Serializes the writes of credentials exchanges in this process (see [`exchange`]).
static EXCHANGE_WRITES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether the token the caller authenticated with is still stored as it was (an invite, or a
/// server token of the caller's platform).
async fn token_still_valid(state: &AppState, caller: &Caller) -> Result<bool, StoreError> {
    let rows = state.store.find_server_tokens(&token::lookup_key(&caller.token)).await?;
    Ok(rows
        .iter()
        .any(|r| r.platform_id == caller.platform.id && (r.kind == ServerTokenKind::Invite) == caller.invite))
}

/// The server side of a credentials exchange. Everything that can fail (reaching the party,
/// version negotiation, role conflicts) happens before anything is written, and the write is
/// one transaction: a failed update leaves the previous registration and token intact.
/// `Ok(None)`: the caller's token was used up by a concurrent exchange, nothing was written.
pub(crate) async fn exchange(state: &AppState, caller: &Caller, creds: &Credentials) -> Result<Option<String>, ExchangeError> {
    let roles = roles_of(creds);
    if roles.is_empty() {
        return Err(ExchangeError::new(status::INVALID_PARAMETERS, "roles: at least one role is required"));
    }
    if roles.iter().any(|(k, _, _)| *k == state.hub) {
        return Err(ExchangeError::new(status::INVALID_PARAMETERS, "roles: the hub's own party id cannot be registered"));
    }
    // A platform invited for a given party must register that party.
    for invited in caller.platform.roles.iter() {
        if !roles.iter().any(|(k, _, _)| *k == invited.key()) {
            return Err(ExchangeError::new(
                status::INVALID_PARAMETERS,
                format!("roles: this registration was issued for party {}", invited.key()),
            ));
        }
    }
    let mut discovered = discover(state, &creds.url, &creds.token).await?;
    if discovered.version.starts_with("2.1") {
        discovered.endpoints = crate::v211::assign_interface_roles(&discovered.endpoints, &roles)
            .map_err(|m| ExchangeError::new(status::INVALID_PARAMETERS, m))?;
    }
    let new_token = token::generate();
    let hash = {
        let t = new_token.clone();
        tokio::task::spawn_blocking(move || token::hash(&t))
            .await
            .map_err(|_| ExchangeError::new(status::SERVER_ERROR, "hashing failed"))?
            .map_err(|_| ExchangeError::new(status::SERVER_ERROR, "hashing failed"))?
    };
    let reg = Registration {
        ocpi_version: discovered.version,
        versions_url: creds.url.clone(),
        client_token: creds.token.clone(),
        endpoints: discovered.endpoints,
        roles,
        new_server_token: Some((token::lookup_key(&new_token), hash)),
    };
    {
        // One write at a time, and only while the caller's token is still valid: POSTs racing
        // with one invite must not all register (each would get a token, all but the last dead,
        // or several holders of a leaked invite would each get a working one).
        let _one = EXCHANGE_WRITES.lock().await;
        if !token_still_valid(state, caller).await? {
            return Ok(None);
        }
        state.store.complete_registration(caller.platform.id, &reg).await?;
        state.invalidate();
    }
    hub_client_info::announce(state, caller.platform.id).await;
    tracing::info!(platform = caller.platform.id, "credentials exchanged");
    Ok(Some(new_token))
}

/// DELETE: unregister.
pub async fn delete(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ids = Ids::of(&req);
    // The invite token is valid on the credentials module (transport_and_format: 401 is for the
    // other modules); its holder is not registered, which the spec answers with 405.
    let caller = match auth::authenticate(&state, &req, &ids, Accept::InviteOrServerToken).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    if caller.invite || !caller.platform.is_registered() {
        return reply::builder(actix_web::http::StatusCode::METHOD_NOT_ALLOWED, &ids, None, None)
            .json(hub_core::ocpi::Envelope::error(status::CLIENT_ERROR, "not registered"));
    }
    if let Err(e) = state.store.unregister(caller.platform.id).await {
        tracing::error!(error = %e, "unregister failed");
        return reply::error(&ids, status::SERVER_ERROR, "internal error");
    }
    state.invalidate();
    hub_client_info::announce(state.get_ref(), caller.platform.id).await;
    reply::ok(&ids, None)
}

/// Hub-initiated registration (`ocpi-hub party register`): the hub is the credentials sender.
/// It issues the party a server token, POSTs the hub's credentials with the party's token, and
/// stores the token the party answers with. A failure leaves nothing behind.
///
/// A 2.1.1 party's credentials name no role: the operator gives it (`role_211`, CPO or EMSP),
/// as it does on a 2.1.1 invite; it is ignored for 2.2.1, whose credentials carry roles.
pub async fn register_with(state: &AppState, versions_url: &str, party_token: &str, role_211: Option<Role>) -> Result<i64, ExchangeError> {
    let discovered = discover(state, versions_url, party_token).await?;
    let v211 = discovered.version.starts_with("2.1");
    // Only a 2.1.1 party's answer is read with the given role; a 2.2.1 party's names its own.
    let role_211 = match role_211 {
        _ if !v211 => None,
        Some(r @ (Role::Cpo | Role::Emsp)) => Some(r),
        _ => {
            return Err(ExchangeError::new(
                status::INVALID_PARAMETERS,
                "role: the party speaks OCPI 2.1.1, whose credentials name no role: give it (party register --role CPO|EMSP)",
            ));
        }
    };
    let creds_url = discovered
        .endpoints
        .iter()
        .find(|e| e.identifier == "credentials" && e.role == InterfaceRole::Receiver)
        .or_else(|| discovered.endpoints.iter().find(|e| e.identifier == "credentials"))
        .map(|e| e.url.clone())
        .ok_or_else(|| ExchangeError::new(status::NO_MATCHING_ENDPOINTS, "the party has no credentials endpoint"))?;
    let server_token = token::generate();
    let hash = token::hash(&server_token).map_err(|e| ExchangeError::new(status::SERVER_ERROR, e.to_string()))?;
    let lookup = token::lookup_key(&server_token);
    // The party calls our versions with the new token while it handles the POST, so the
    // token must exist first (as an invite: it cannot reach functional modules yet).
    let platform_id = state.store.create_invite(None, None, &lookup, &hash).await?;
    let result = async {
        let ours = if v211 { crate::v211::hub_credentials(state, &server_token) } else { hub_credentials(state, &server_token) };
        let body = serde_json::to_vec(&ours).expect("json");
        let answer = client::call(&state.http, reqwest::Method::POST, &creds_url, party_token, &discovered.version, &[], Some(body.into()))
            .await
            .map_err(|e| ExchangeError::new(status::UNABLE_TO_USE_CLIENT_API, format!("POST {creds_url}: {e}")))?;
        let env = answer
            .envelope()
            .ok_or_else(|| ExchangeError::new(status::UNABLE_TO_USE_CLIENT_API, format!("POST {creds_url}: HTTP {} without OCPI body", answer.status)))?;
        if env.status_code != status::SUCCESS {
            return Err(ExchangeError::new(
                status::UNABLE_TO_USE_CLIENT_API,
                format!("POST {creds_url}: OCPI status {} {}", env.status_code, env.status_message.unwrap_or_default()),
            ));
        }
        let data = env.data.unwrap_or_default();
        let creds: Credentials = match role_211 {
            Some(role) => {
                let c: hub_core::ocpi::v211::Credentials = hub_core::ocpi::v211::from_value(data)
                    .map_err(|e| ExchangeError::new(status::UNABLE_TO_USE_CLIENT_API, format!("party credentials (2.1.1): {e}")))?;
                hub_core::ocpi::translate::credentials_to_v221(&c, role)
            }
            None => parse::from_value(data)
                .map_err(|e| ExchangeError::new(status::UNABLE_TO_USE_CLIENT_API, format!("party credentials: {e}")))?,
        };
        // Endpoints may be re-read with the token the party gave us.
        let mut discovered = discover(state, &creds.url, &creds.token).await.unwrap_or(discovered);
        if discovered.version.starts_with("2.1") {
            discovered.endpoints = crate::v211::assign_interface_roles(&discovered.endpoints, &roles_of(&creds))
                .map_err(|m| ExchangeError::new(status::INVALID_PARAMETERS, m))?;
        }
        let reg = Registration {
            ocpi_version: discovered.version,
            versions_url: creds.url.clone(),
            client_token: creds.token.clone(),
            endpoints: discovered.endpoints,
            roles: roles_of(&creds),
            new_server_token: Some((lookup.clone(), hash.clone())),
        };
        state.store.complete_registration(platform_id, &reg).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            state.invalidate();
            hub_client_info::announce(state, platform_id).await;
            Ok(platform_id)
        }
        Err(e) => {
            let _ = state.store.delete_platform(platform_id).await;
            Err(e)
        }
    }
}
