//! OCPI 2.1.1 parties: credentials, the interface roles of their endpoints, and the translation
//! of bodies between 2.1.1 and the 2.2.1 the pipeline works in.
//!
//! Inside the hub everything is 2.2.1: the hub's copy of objects, the outbox, the routing
//! pipeline (`routing.rs`). Translation happens at the edges:
//! - a 2.1.1 caller's request body is validated as 2.1.1 and translated to 2.2.1
//!   ([`inbound_request`]) before the pipeline sees it, and the pipeline's answer is translated
//!   back ([`outbound_response`]); see `routing/v211.rs`;
//! - what the hub sends to a 2.1.1 platform is translated when it is sent
//!   ([`outbound_request`]: synchronous forwards in `routing::send_raw`, queued deliveries in
//!   `delivery::attempt`), and that platform's answer is translated to 2.2.1
//!   ([`inbound_response`]).
//!
//! The object conversions are `hub_core::ocpi::translate` (see `docs/ocpi-2.1.1-mapping.md`);
//! this module supplies their context: owners from the URL or the caller's credentials, the
//! token behind an `auth_id` from the hub's copy of tokens, the stored Location of a session.

use crate::auth::{self, Accept};
use crate::client;
use crate::credentials;
use crate::reply::{self, Ids};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use hub_core::ocpi::translate::{self as tr, LocationContext, PatchObject, TokenIdentity, TranslateError};
use hub_core::ocpi::{Envelope, status, v211, v221};
use hub_core::party::{Endpoint, InterfaceRole, PartyKey, Platform, Role};
use hub_core::store::ObjectKey;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Whether a platform speaks OCPI 2.1.x.
pub fn is_v211(platform: &Platform) -> bool {
    platform.ocpi_version.as_deref().is_some_and(is_v211_version)
}

pub fn is_v211_version(version: &str) -> bool {
    version.starts_with("2.1")
}

/// Whether a version a party offers is the hub's version `ours`: the same text, or "2.1" for
/// 2.1.1 (some 2.1.1 implementations announce themselves so).
pub fn same_version(theirs: &str, ours: &str) -> bool {
    theirs == ours || (ours == "2.1.1" && theirs == "2.1")
}

/// GETs a party's versions list. The hub does not know the party's version yet: it presents
/// the token Base64-encoded (2.2.1), and raw (2.1.1) when that is refused with HTTP 401.
pub async fn get_versions(state: &AppState, url: &str, token: &str) -> Result<Value, String> {
    match client::get_data(state, url, token, "2.2.1").await {
        Err(e) if e.ends_with(": HTTP 401") => client::get_data(state, url, token, "2.1.1").await,
        other => other,
    }
}

/// The interface a party with `role` implements for a 2.1.1 `module` (2.1.1 endpoints carry no
/// role: a CPO is the SENDER of locations, sessions, CDRs and tariffs and the RECEIVER of tokens
/// and commands; an eMSP the opposite).
pub fn party_interface(module: &str, role: Role) -> Option<InterfaceRole> {
    let cpo_side = match module {
        "locations" | "sessions" | "cdrs" | "tariffs" => InterfaceRole::Sender,
        "tokens" | "commands" => InterfaceRole::Receiver,
        _ => return None,
    };
    match role {
        Role::Cpo => Some(cpo_side),
        Role::Emsp => Some(opposite(cpo_side)),
        _ => None,
    }
}

pub fn opposite(iface: InterfaceRole) -> InterfaceRole {
    match iface {
        InterfaceRole::Sender => InterfaceRole::Receiver,
        InterfaceRole::Receiver => InterfaceRole::Sender,
    }
}

/// The role a 2.1.1 platform plays: its CPO or eMSP party (a 2.1.1 platform has one).
pub fn role_211(platform: &Platform) -> Option<(PartyKey, Role)> {
    platform
        .roles
        .iter()
        .find(|r| matches!(r.role, Role::Cpo | Role::Emsp))
        .map(|r| (r.key(), r.role))
}

/// Gives the role-less endpoints of a 2.1.1 party the interface role its party role implies,
/// so `Platform::endpoint(module, iface)` finds them as it finds 2.2.1 endpoints. The
/// credentials endpoint is stored with both roles; modules the hub does not route are dropped.
pub fn assign_interface_roles(
    endpoints: &[Endpoint],
    roles: &[(PartyKey, Role, Option<Value>)],
) -> Result<Vec<Endpoint>, String> {
    let role = roles
        .iter()
        .map(|(_, r, _)| *r)
        .find(|r| matches!(r, Role::Cpo | Role::Emsp))
        .ok_or("roles: an OCPI 2.1.1 party must be a CPO or an EMSP")?;
    let mut out = Vec::new();
    for e in endpoints {
        if e.identifier == "credentials" {
            for iface in [InterfaceRole::Sender, InterfaceRole::Receiver] {
                out.push(Endpoint { identifier: e.identifier.clone(), role: iface, url: e.url.clone() });
            }
        } else if let Some(iface) = party_interface(&e.identifier, role) {
            out.push(Endpoint { identifier: e.identifier.clone(), role: iface, url: e.url.clone() });
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Credentials (2.1.1)

/// The hub's 2.1.1 credentials object, carrying `token`.
pub fn hub_credentials(state: &AppState, token: &str) -> Value {
    json!({
        "token": token,
        "url": format!("{}/ocpi/versions", state.public_url),
        "business_details": {"name": state.config.identity.name},
        "party_id": state.hub.party_id,
        "country_code": state.hub.country_code,
    })
}

/// GET /ocpi/2.1.1/credentials: the hub's credentials, with the token the caller presented.
pub async fn credentials_get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ids = Ids::of(&req);
    match auth::authenticate(&state, &req, &ids, Accept::InviteOrServerToken).await {
        Ok(caller) => reply::ok(&ids, Some(hub_credentials(&state, &caller.token))),
        Err(resp) => resp,
    }
}

/// POST (register) and PUT (update) of a 2.1.1 party. The body names one party and no role:
/// the role is the invite's (`party invite --country-code CC --party-id ID --role CPO|EMSP`),
/// or, for an update, the registered one. The exchange itself is the 2.2.1 one.
pub async fn credentials_post_or_put(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let ids = Ids::of(&req);
    let caller = match auth::authenticate(&state, &req, &ids, Accept::InviteOrServerToken).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let not_allowed = |m: &str| {
        reply::builder(StatusCode::METHOD_NOT_ALLOWED, &ids, None, None).json(Envelope::error(status::CLIENT_ERROR, m))
    };
    let is_post = req.method() == actix_web::http::Method::POST;
    if is_post && !caller.invite && caller.platform.is_registered() {
        return not_allowed("already registered: use PUT to update");
    }
    if !is_post && (caller.invite || !caller.platform.is_registered()) {
        return not_allowed("not registered: use POST to register");
    }
    let creds: v211::Credentials = match v211::parse(&body) {
        Ok(c) => c,
        Err(v211::ParseError::Syntax(m)) => {
            return reply::builder(StatusCode::BAD_REQUEST, &ids, None, None).json(Envelope::error(status::INVALID_PARAMETERS, m));
        }
        Err(v211::ParseError::Invalid { field, message }) => {
            return reply::error(&ids, status::INVALID_PARAMETERS, format!("{field}: {message}"));
        }
    };
    let key = PartyKey::new(&creds.country_code, &creds.party_id);
    let same_party: Vec<Role> = caller.platform.roles.iter().filter(|r| r.key() == key).map(|r| r.role).collect();
    let role = match same_party.iter().copied().find(|r| matches!(r, Role::Cpo | Role::Emsp)) {
        Some(r) => r,
        None => {
            let message = if let Some(other) = caller.platform.roles.iter().find(|r| r.key() != key) {
                format!("party_id/country_code: this registration was issued for party {}", other.key())
            } else if let Some(r) = same_party.first() {
                format!("role: the invite for {key} names role {r}; OCPI 2.1.1 needs CPO or EMSP (party invite --role CPO|EMSP)")
            } else {
                format!("role: an OCPI 2.1.1 party names no role; register {key} with an invite that does (party invite --country-code {} --party-id {} --role CPO|EMSP)", key.country_code, key.party_id)
            };
            return reply::error(&ids, status::INVALID_PARAMETERS, message);
        }
    };
    let v221_creds = tr::credentials_to_v221(&creds, role);
    match credentials::exchange(&state, &caller, &v221_creds).await {
        Ok(Some(new_token)) => reply::ok(&ids, Some(hub_credentials(&state, &new_token))),
        Ok(None) if is_post => not_allowed("already registered: use PUT to update"),
        Ok(None) => reply::unauthorized(&ids, "this credentials token is no longer valid"),
        Err(e) => reply::error(&ids, e.code, e.message),
    }
}

// ---------------------------------------------------------------------------------------------
// Context lookups

/// What the hub knows of the token behind a 2.1.1 `auth_id` (a 2.2.1 `contract_id`): from its
/// copy of tokens, first by uid (many eMSPs use the same value), then by contract id.
pub async fn token_identity(state: &AppState, auth_id: &str) -> Option<TokenIdentity> {
    let by_contract = |o: &hub_core::store::StoredObject| -> Option<TokenIdentity> {
        let v = o.json().ok()?;
        (v.get("contract_id")?.as_str()? == auth_id).then(|| identity_of(&v, &o.key.owner()))?
    };
    if let Ok(found) = state.store.find_objects_by_id("tokens", auth_id).await
        && let Some(t) = found.iter().find_map(by_contract)
    {
        return Some(t);
    }
    let found = state.store.find_tokens_mentioning(auth_id, 50).await.ok()?;
    found.iter().find_map(by_contract)
}

fn identity_of(token: &Value, owner: &PartyKey) -> Option<TokenIdentity> {
    Some(TokenIdentity {
        uid: token.get("uid")?.as_str()?.to_string(),
        token_type: serde_json::from_value(token.get("type")?.clone()).ok()?,
        emsp: Some(owner.clone()),
    })
}

/// The hub's copy of a location (2.2.1).
async fn stored_location(state: &AppState, owner: &PartyKey, id: &str) -> Option<v221::Location> {
    let obj = state.store.get_object(&ObjectKey::new("locations", owner, id)).await.ok().flatten()?;
    serde_json::from_str(&obj.body).ok()
}

async fn session_to_v211(state: &AppState, s: &v221::Session) -> Result<v211::Session, String> {
    let owner = PartyKey::new(&s.country_code, &s.party_id);
    let location = stored_location(state, &owner, &s.location_id)
        .await
        .ok_or_else(|| format!("location_id: the hub has no location {} of {owner}, which a 2.1.1 session embeds", s.location_id))?;
    tr::session_to_v211(s, &location).map_err(|e| e.to_string())
}

async fn cdr_to_v211(state: &AppState, c: &v221::Cdr) -> Result<v211::Cdr, String> {
    let owner = PartyKey::new(&c.country_code, &c.party_id);
    let location = stored_location(state, &owner, &c.cdr_location.id).await;
    tr::cdr_to_v211(c, location.as_ref()).map_err(|e| e.to_string())
}

fn location_context(state: &AppState, owner: &PartyKey) -> LocationContext {
    LocationContext {
        owner: owner.clone(),
        publish: true,
        default_time_zone: Some(state.config.ocpi211.default_time_zone.clone()).filter(|z| !z.is_empty()),
    }
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn parse_as<T: DeserializeOwned>(v: &Value) -> Result<T, String> {
    serde_json::from_value(v.clone()).map_err(|e| e.to_string())
}

fn translate_err(e: TranslateError) -> String {
    e.to_string()
}

// ---------------------------------------------------------------------------------------------
// A 2.1.1 caller's request → 2.2.1

/// Why a 2.1.1 request body was refused.
pub enum Refused {
    /// Not JSON (HTTP 400, 2001).
    Syntax(String),
    /// Breaks a 2.1.1 rule, or cannot be represented in 2.2.1 (2001 naming the field).
    Invalid(String),
}

fn parse_211<T: DeserializeOwned + v211::Validate>(value: &Value) -> Result<T, Refused> {
    v211::from_value::<T>(value.clone()).map_err(|e| match e {
        v211::ParseError::Syntax(m) => Refused::Syntax(m),
        v211::ParseError::Invalid { field, message } => Refused::Invalid(format!("{field}: {message}")),
    })
}

fn refused(e: TranslateError) -> Refused {
    Refused::Invalid(format!("{}: {}", e.field(), e))
}

/// Validates the body of a 2.1.1 caller as 2.1.1 and translates it to 2.2.1. `from` is the
/// caller's party; `iface` the hub interface the request maps to; `segs` the path below the
/// module. Bodies without a 2.1.1 model (or requests without a body) pass unchanged.
pub async fn inbound_request(
    state: &AppState,
    from: &PartyKey,
    module: &str,
    iface: InterfaceRole,
    method: &str,
    segs: &[String],
    body: &Bytes,
) -> Result<Bytes, Refused> {
    use InterfaceRole::*;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(body.clone());
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| Refused::Syntax(format!("malformed JSON: {e}")))?;
    let out: Value = match (iface, module, method) {
        (Receiver, "locations", "PUT") => match segs.len() {
            4 => to_json(&tr::evse_to_v221(&parse_211::<v211::Evse>(&value)?)),
            5 => to_json(&tr::connector_to_v221(&parse_211::<v211::Connector>(&value)?)),
            _ => {
                let l = parse_211::<v211::Location>(&value)?;
                to_json(&tr::location_to_v221(&l, &location_context(state, from)).map_err(refused)?)
            }
        },
        (Receiver, "sessions", "PUT") => {
            let s = parse_211::<v211::Session>(&value)?;
            let token = token_identity(state, &s.auth_id).await;
            to_json(&tr::session_to_v221(&s, from, token.as_ref()))
        }
        (Receiver, "tariffs", "PUT") => to_json(&tr::tariff_to_v221(&parse_211::<v211::Tariff>(&value)?, from)),
        (Receiver, "tokens", "PUT") => to_json(&tr::token_to_v221(&parse_211::<v211::Token>(&value)?, from)),
        (Receiver, "locations" | "sessions" | "tariffs" | "tokens", "PATCH") => {
            let Some(object) = PatchObject::of(module, segs.len()) else { return Ok(body.clone()) };
            let token = match value.get("auth_id").and_then(Value::as_str) {
                Some(a) if object == PatchObject::Session => token_identity(state, a).await,
                _ => None,
            };
            let mut patch = tr::patch_to_v221(object, &value, token.as_ref()).map_err(refused)?;
            // 2.2.1 requires `last_updated` in a PATCH; 2.1.1 does not (its own examples have
            // none): the hub stamps the time it received the change.
            if let Some(o) = patch.as_object_mut().filter(|o| !o.contains_key("last_updated")) {
                o.insert("last_updated".into(), json!(hub_core::ocpi::now_timestamp()));
            }
            patch
        }
        (Receiver, "cdrs", "POST") => {
            let c = parse_211::<v211::Cdr>(&value)?;
            let token = token_identity(state, &c.auth_id).await;
            to_json(&tr::cdr_to_v221(&c, from, token.as_ref()).map_err(refused)?)
        }
        (Receiver, "commands", "POST") => match segs.first().map(String::as_str) {
            Some("START_SESSION") => to_json(&tr::start_session_to_v221(&parse_211::<v211::StartSession>(&value)?, from)),
            Some("STOP_SESSION") => to_json(&tr::stop_session_to_v221(&parse_211::<v211::StopSession>(&value)?)),
            Some("RESERVE_NOW") => to_json(&tr::reserve_now_to_v221(&parse_211::<v211::ReserveNow>(&value)?, from)),
            Some("UNLOCK_CONNECTOR") => to_json(&tr::unlock_connector_to_v221(&parse_211::<v211::UnlockConnector>(&value)?)),
            other => return Err(Refused::Invalid(format!("command: unknown OCPI 2.1.1 command type {:?}", other.unwrap_or_default()))),
        },
        (Sender, "tokens", "POST") => to_json(&tr::location_references_to_v221(&parse_211::<v211::LocationReferences>(&value)?)),
        _ => return Ok(body.clone()),
    };
    Ok(Bytes::from(out.to_string()))
}

/// The `data` of the hub's (2.2.1) answer → 2.1.1, for a 2.1.1 caller. `None` leaves it as it
/// is (pushes' acknowledgements, errors). Objects that cannot be represented in 2.1.1 are left
/// out of lists.
pub async fn outbound_response(
    state: &AppState,
    module: &str,
    iface: InterfaceRole,
    method: &str,
    segs: &[String],
    data: &Value,
) -> Option<Value> {
    use InterfaceRole::*;
    match (iface, module, method) {
        (Sender, _, "GET") if segs.is_empty() => {
            let list = data.as_array()?;
            let mut out = Vec::with_capacity(list.len());
            for item in list {
                match object_to_v211(state, module, 0, item).await {
                    Ok(v) => out.push(v),
                    Err(e) => tracing::info!(module, error = %e, "left out of a 2.1.1 list"),
                }
            }
            Some(Value::Array(out))
        }
        (Sender, "locations", "GET") => object_to_v211(state, module, segs.len() + 2, data).await.ok(),
        (Receiver, _, "GET") => object_to_v211(state, module, segs.len(), data).await.ok(),
        (Sender, "tokens", "POST") => Some(to_json(&tr::authorization_info_to_v211(&parse_as::<v221::AuthorizationInfo>(data).ok()?))),
        (Receiver, "commands", "POST") => Some(to_json(&tr::command_response_to_v211(&parse_as::<v221::CommandResponse>(data).ok()?))),
        _ => None,
    }
}

/// A stored/forwarded 2.2.1 object → 2.1.1. `depth` is the number of path segments of its
/// receiver URL (`/{cc}/{pid}/{id}` = 3, an EVSE 4, a connector 5); 0 for a whole object.
async fn object_to_v211(state: &AppState, module: &str, depth: usize, v: &Value) -> Result<Value, String> {
    Ok(match (module, depth) {
        ("locations", 4) => to_json(&tr::evse_to_v211(&parse_as(v)?).map_err(translate_err)?),
        ("locations", 5) => to_json(&tr::connector_to_v211(&parse_as(v)?).map_err(translate_err)?),
        ("locations", _) => to_json(&tr::location_to_v211(&parse_as(v)?)),
        ("sessions", _) => to_json(&session_to_v211(state, &parse_as(v)?).await?),
        ("cdrs", _) => to_json(&cdr_to_v211(state, &parse_as(v)?).await?),
        ("tariffs", _) => to_json(&tr::tariff_to_v211(&parse_as(v)?).map_err(translate_err)?),
        ("tokens", _) => to_json(&tr::token_to_v211(&parse_as(v)?)),
        _ => v.clone(),
    })
}

// ---------------------------------------------------------------------------------------------
// What the hub sends to a 2.1.1 platform

/// A request for a 2.1.1 platform, after translation.
pub enum Outbound {
    /// Send this body (or none).
    Send(Option<Bytes>),
    /// Do not send: the request has no 2.1.1 counterpart; answer with this envelope instead.
    Answer(Value),
}

/// The (2.2.1) body of a request the hub sends to a 2.1.1 platform's `module` endpoint with
/// interface `iface` → 2.1.1. `Err` when the object cannot be represented in 2.1.1.
pub async fn outbound_request(
    state: &AppState,
    module: &str,
    iface: InterfaceRole,
    method: &str,
    segs: &[String],
    body: Option<&Bytes>,
) -> Result<Outbound, String> {
    use InterfaceRole::*;
    if let (Receiver, "commands", "POST", Some("CANCEL_RESERVATION")) = (iface, module, method, segs.first().map(String::as_str)) {
        // 2.1.1 has no CancelReservation: the hub answers for the CPO.
        let answer = v221::CommandResponse {
            result: v221::CommandResponseType::NotSupported,
            timeout: 0,
            message: None,
            extra: Default::default(),
        };
        return Ok(Outbound::Answer(json!({
            "data": answer, "status_code": status::SUCCESS,
            "status_message": "CANCEL_RESERVATION does not exist in OCPI 2.1.1", "timestamp": hub_core::ocpi::now_timestamp(),
        })));
    }
    if (Sender, "sessions", "PUT") == (iface, module, method) {
        return Ok(Outbound::Answer(json!(Envelope::error(status::CLIENT_ERROR, "charging preferences do not exist in OCPI 2.1.1"))));
    }
    let Some(body) = body.filter(|b| !b.iter().all(u8::is_ascii_whitespace)) else { return Ok(Outbound::Send(body.cloned())) };
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return Ok(Outbound::Send(Some(body.clone()))) };
    let out: Value = match (iface, module, method) {
        (Receiver, "locations" | "sessions" | "tariffs" | "tokens", "PUT") => object_to_v211(state, module, segs.len(), &value).await?,
        (Receiver, "locations" | "sessions" | "tariffs" | "tokens", "PATCH") => match PatchObject::of(module, segs.len()) {
            Some(object) => tr::patch_to_v211(object, &value).map_err(translate_err)?,
            None => value,
        },
        (Receiver, "cdrs", "POST") => object_to_v211(state, module, 0, &value).await?,
        (Receiver, "commands", "POST") => match segs.first().map(String::as_str) {
            Some("START_SESSION") => to_json(&tr::start_session_to_v211(&parse_as(&value)?)),
            Some("STOP_SESSION") => to_json(&tr::stop_session_to_v211(&parse_as(&value)?)),
            Some("RESERVE_NOW") => to_json(&tr::reserve_now_to_v211(&parse_as(&value)?).map_err(translate_err)?),
            Some("UNLOCK_CONNECTOR") => to_json(&tr::unlock_connector_to_v211(&parse_as(&value)?)),
            _ => value,
        },
        (Sender, "tokens", "POST") => to_json(&tr::location_references_to_v211(&parse_as(&value)?)),
        _ => value,
    };
    Ok(Outbound::Send(Some(Bytes::from(out.to_string()))))
}

/// A 2.1.1 platform's answer → 2.2.1 (the pipeline, and 2.2.1 requesters, work in 2.2.1).
/// `target` is the party that answered. Objects that do not parse or convert are left out of
/// lists; anything else unexpected passes unchanged.
pub async fn inbound_response(
    state: &AppState,
    module: &str,
    iface: InterfaceRole,
    method: &str,
    segs: &[String],
    target: &PartyKey,
    body: &Bytes,
) -> Bytes {
    use InterfaceRole::*;
    let Ok(mut env) = serde_json::from_slice::<Value>(body) else { return body.clone() };
    let Some(data) = env.get("data").filter(|d| !d.is_null()).cloned() else { return body.clone() };
    let converted: Option<Value> = match (iface, module, method) {
        (Sender, _, "GET") if segs.is_empty() => {
            let mut out = Vec::new();
            for item in data.as_array().cloned().unwrap_or_default() {
                match object_to_v221(state, module, 0, target, &item).await {
                    Ok(v) => out.push(v),
                    Err(e) => tracing::info!(module, error = %e, "left out of a list from a 2.1.1 party"),
                }
            }
            Some(Value::Array(out))
        }
        (Sender, "locations", "GET") => object_to_v221(state, module, segs.len() + 2, target, &data).await.ok(),
        (Receiver, _, "GET") if segs.len() >= 3 => {
            let owner = PartyKey::new(&segs[0], &segs[1]);
            object_to_v221(state, module, segs.len(), &owner, &data).await.ok()
        }
        (Sender, "tokens", "POST") => match (parse_as::<v211::AuthorizationInfo>(&data), segs.first()) {
            (Ok(info), Some(uid)) => {
                let token = token_for_authorization(state, target, uid).await;
                Some(to_json(&tr::authorization_info_to_v221(&info, &token)))
            }
            _ => None,
        },
        (Receiver, "commands", "POST") => parse_as::<v211::CommandResponse>(&data)
            .ok()
            .map(|r| to_json(&tr::command_response_to_v221(&r, state.config.ocpi211.command_timeout_s))),
        _ => None,
    };
    match converted {
        Some(c) => {
            env["data"] = c;
            Bytes::from(env.to_string())
        }
        None => body.clone(),
    }
}

/// A 2.1.1 object → 2.2.1 (see [`object_to_v211`] for `depth`); `owner` is the CPO (or the
/// eMSP, for tokens) it belongs to.
async fn object_to_v221(state: &AppState, module: &str, depth: usize, owner: &PartyKey, v: &Value) -> Result<Value, String> {
    Ok(match (module, depth) {
        ("locations", 4) => to_json(&tr::evse_to_v221(&parse_as(v)?)),
        ("locations", 5) => to_json(&tr::connector_to_v221(&parse_as(v)?)),
        ("locations", _) => to_json(&tr::location_to_v221(&parse_as(v)?, &location_context(state, owner)).map_err(translate_err)?),
        ("sessions", _) => {
            let s: v211::Session = parse_as(v)?;
            let token = token_identity(state, &s.auth_id).await;
            to_json(&tr::session_to_v221(&s, owner, token.as_ref()))
        }
        ("cdrs", _) => {
            let c: v211::Cdr = parse_as(v)?;
            let token = token_identity(state, &c.auth_id).await;
            to_json(&tr::cdr_to_v221(&c, owner, token.as_ref()).map_err(translate_err)?)
        }
        ("tariffs", _) => to_json(&tr::tariff_to_v221(&parse_as(v)?, owner)),
        ("tokens", _) => to_json(&tr::token_to_v221(&parse_as(v)?, owner)),
        _ => v.clone(),
    })
}

/// The 2.2.1 Token a 2.1.1 eMSP's AuthorizationInfo is about: the hub's copy (the eMSP pushed
/// it, or the hub routed the authorization by it); else the little the request tells (uid,
/// owner), with the uid standing in for the contract id.
async fn token_for_authorization(state: &AppState, emsp: &PartyKey, uid: &str) -> v221::Token {
    let stored = state.store.get_object(&ObjectKey::new("tokens", emsp, uid)).await.ok().flatten();
    if let Some(t) = stored.and_then(|o| serde_json::from_str::<v221::Token>(&o.body).ok()) {
        return t;
    }
    v221::Token {
        country_code: emsp.country_code.clone(),
        party_id: emsp.party_id.clone(),
        uid: uid.to_string(),
        r#type: v221::TokenType::Other,
        contract_id: uid.to_string(),
        visual_number: None,
        issuer: String::new(),
        group_id: None,
        valid: true,
        whitelist: v221::WhitelistType::Never,
        language: None,
        default_profile_type: None,
        energy_contract: None,
        last_updated: v221::DateTime::now(),
        extra: Default::default(),
    }
}

// ---------------------------------------------------------------------------------------------
// Asynchronous command results

/// A 2.1.1 CPO's asynchronous CommandResponse (posted to the hub's callback) → 2.2.1
/// CommandResult. `Err` names the field when it is not a valid 2.1.1 CommandResponse.
pub fn command_result_to_v221(body: &[u8]) -> Result<Bytes, Refused> {
    let value: Value = serde_json::from_slice(body).map_err(|e| Refused::Syntax(format!("malformed JSON: {e}")))?;
    let r = parse_211::<v211::CommandResponse>(&value)?;
    Ok(Bytes::from(to_json(&tr::command_result_to_v221(&r)).to_string()))
}

/// A 2.2.1 CommandResult queued for a 2.1.1 requester → its CommandResponse.
pub fn command_result_to_v211(body: &str) -> Result<String, String> {
    let r: v221::CommandResult = serde_json::from_str(body).map_err(|e| e.to_string())?;
    Ok(to_json(&tr::command_result_to_v211(&r)).to_string())
}

/// The path segments of a delivery's relative path (`/NL/CPO/LOC1?x=1` → `[NL, CPO, LOC1]`).
pub fn segments_of(path: &str) -> Vec<String> {
    let path = path.split('?').next().unwrap_or_default();
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_else(|| s.to_string()))
        .collect()
}

/// The headers sent to a 2.1.1 platform: without the 2.2.1 routing headers.
pub fn strip_routing_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers.iter().filter(|(k, _)| !k.to_ascii_lowercase().starts_with("ocpi-")).cloned().collect()
}

/// Rewrites a hub URL of the 2.2.1 layout (`/ocpi/2.2.1/{sender|receiver}/{module}...`) to
/// the 2.1.1 one (`/ocpi/2.1.1/{module}...`), for Link and Location headers given to a 2.1.1
/// caller.
pub fn hub_url_to_v211(state: &AppState, url: &str) -> String {
    let v221 = state.version_url("2.2.1");
    let v211 = state.version_url("2.1.1");
    for iface in ["sender", "receiver"] {
        let prefix = format!("{v221}/{iface}/");
        if let Some(i) = url.find(&prefix) {
            return format!("{}{v211}/{}", &url[..i], &url[i + prefix.len()..]);
        }
    }
    url.to_string()
}

/// A queued delivery (2.2.1 body) for a 2.1.1 platform: its headers and body. `Err` when it
/// cannot be represented in 2.1.1 (kept as a dead letter).
pub async fn delivery_to_v211(
    state: &AppState,
    d: &hub_core::store::NewDelivery,
    body: Option<Bytes>,
) -> Result<(Vec<(String, String)>, Option<Bytes>), String> {
    let headers = strip_routing_headers(&d.headers);
    if d.absolute_url {
        // An asynchronous result for a callback URL the party gave.
        let body = match (d.module.as_str(), d.body.as_deref()) {
            ("commands", Some(b)) => Some(Bytes::from(command_result_to_v211(b)?)),
            _ => body,
        };
        return Ok((headers, body));
    }
    if d.module == "hubclientinfo" {
        return Err("Hub Client Info does not exist in OCPI 2.1.1".into());
    }
    match outbound_request(state, &d.module, d.interface_role, &d.method, &segments_of(&d.path), body.as_ref()).await? {
        Outbound::Send(body) => Ok((headers, body)),
        Outbound::Answer(_) => Err(format!("{} {} has no OCPI 2.1.1 counterpart", d.method, d.module)),
    }
}
