//! The routed functional modules (locations, sessions, cdrs, tariffs, tokens, commands,
//! chargingprofiles): one inbound pipeline for every request.
//!
//! 1. authenticate the platform by its server token;
//! 2. establish the sender (OCPI-from, which must be a party of that platform) and the
//!    addressee (OCPI-to: a party, the hub itself, or absent for open routing);
//! 3. classify the request ([`Kind`]) from interface, module, method and path;
//! 4. validate the body (malformed JSON: HTTP 400; an invalid object: OCPI 2001 naming the field);
//! 5. keep the hub's copy of pushed objects and decide the receivers;
//! 6. forward synchronously (direct requests) or queue durably (broadcasts, and pushes to a
//!    receiver that is offline or does not answer), in the same transaction as the copy.

// `Flow<T>` carries a finished HttpResponse as its error on purpose: an early answer ends the
// pipeline. It is built once per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use crate::auth::{self, Accept};
use crate::client::CallError;
use crate::pagination::{self, Page};
use crate::reply::{self, FROM_CC, FROM_PID, Ids, TO_CC, TO_PID};
use crate::state::AppState;
use crate::versions::ROUTED_MODULES;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use bytes::Bytes;
use hub_core::ocpi::v221::parse::{self, ParseError, Validate};
use hub_core::ocpi::v221::{cdrs, charging_profiles, commands, locations, sessions, tariffs, tokens};
use hub_core::ocpi::{Envelope, status};
use hub_core::party::{ConnectionStatus, InterfaceRole, PartyKey, Platform, Role};
use hub_core::store::{ListFilter, NewDelivery, ObjectChange, ObjectKey, StoreError};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;

mod v211;

/// Everything known about a request once it is authenticated and addressed.
struct Ctx {
    /// This worker's forwarding client.
    http: web::Data<crate::state::WorkerClient>,
    ids: Ids,
    platform: Arc<Platform>,
    from: PartyKey,
    to: To,
    module: String,
    /// The hub's interface that was called.
    iface: InterfaceRole,
    method: String,
    /// Path segments after the module.
    segs: Vec<String>,
    query: String,
}

#[derive(Debug, Clone, PartialEq)]
enum To {
    Party(PartyKey),
    Hub,
    Open,
}

/// An early answer (error or final response) that ends the pipeline.
type Flow<T> = Result<T, HttpResponse>;

impl Ctx {
    fn fail(&self, code: u32, message: impl Into<String>) -> HttpResponse {
        reply::envelope(&self.ids, &Envelope::error(code, message), None, Some(&self.from))
    }

    fn forbidden(&self, message: impl Into<String>) -> HttpResponse {
        reply::builder(StatusCode::FORBIDDEN, &self.ids, None, Some(&self.from)).json(Envelope::error(status::CLIENT_ERROR, message))
    }

    fn tail(&self) -> String {
        let mut t = String::new();
        for s in &self.segs {
            t.push('/');
            t.push_str(s);
        }
        t
    }

    fn tail_with_query(&self) -> String {
        if self.query.is_empty() { self.tail() } else { format!("{}?{}", self.tail(), self.query) }
    }
}

pub async fn handle(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
    http: web::Data<crate::state::WorkerClient>,
) -> HttpResponse {
    let ids = Ids::of(&req);
    // `/ocpi/2.1.1/{module}[/{tail}]`: a 2.1.1 party's request, mapped onto the same pipeline.
    if let Some(rest) = req.path().strip_prefix("/ocpi/2.1.1/") {
        return v211::handle(&req, body, &state, http, rest).await;
    }
    // `/ocpi/2.2.1/{sender|receiver}/{module}[/{tail}]`, split by hand: this is the hot path,
    // and actix's pattern matcher would run a regex for the open-ended tail.
    let Some(rest) = req.path().strip_prefix("/ocpi/2.2.1/") else {
        return reply::builder(StatusCode::NOT_FOUND, &ids, None, None).json(Envelope::error(status::CLIENT_ERROR, "no such endpoint"));
    };
    if let Some(id) = rest.strip_prefix("callbacks/")
        && req.method() == actix_web::http::Method::POST && !id.is_empty() && !id.contains('/') {
            return callback(&req, body, &state, id).await;
        }
    let mut parts = rest.splitn(3, '/');
    let (iface_s, module, tail) = (parts.next().unwrap_or(""), parts.next().unwrap_or("").to_string(), parts.next().unwrap_or(""));
    let iface = match iface_s {
        "sender" => InterfaceRole::Sender,
        "receiver" => InterfaceRole::Receiver,
        _ => return reply::builder(StatusCode::NOT_FOUND, &ids, None, None).json(Envelope::error(status::CLIENT_ERROR, "no such endpoint")),
    };
    if !ROUTED_MODULES.contains(&module.as_str()) {
        return reply::builder(StatusCode::NOT_FOUND, &ids, None, None).json(Envelope::error(status::CLIENT_ERROR, "no such module"));
    }
    let caller = match auth::authenticate(&state, &req, &ids, Accept::ServerToken).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let segs: Vec<String> = tail
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let from = match sender_party(&req, &caller.platform, &ids) {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let to = match addressee(&req, &state, &ids) {
        Ok(t) => t,
        Err(resp) => return resp,
    };
    let ctx = Ctx {
        http,
        ids,
        platform: caller.platform,
        from,
        to,
        module,
        iface,
        method: req.method().as_str().to_string(),
        segs,
        query: req.query_string().to_string(),
    };
    let resp = route(&state, &ctx, body).await;
    match resp {
        Ok(r) | Err(r) => finish(&state, &ctx, r),
    }
}

/// Puts the hub as OCPI-from on responses the hub produced itself.
fn finish(state: &AppState, ctx: &Ctx, mut resp: HttpResponse) -> HttpResponse {
    use actix_web::http::header::{HeaderName, HeaderValue};
    const FROM_CC_H: HeaderName = HeaderName::from_static("ocpi-from-country-code");
    const FROM_PID_H: HeaderName = HeaderName::from_static("ocpi-from-party-id");
    const TO_CC_H: HeaderName = HeaderName::from_static("ocpi-to-country-code");
    const TO_PID_H: HeaderName = HeaderName::from_static("ocpi-to-party-id");
    let h = resp.headers_mut();
    if !h.contains_key(&FROM_CC_H)
        && let (Ok(cc), Ok(pid)) = (HeaderValue::from_str(&state.hub.country_code), HeaderValue::from_str(&state.hub.party_id)) {
            h.insert(FROM_CC_H, cc);
            h.insert(FROM_PID_H, pid);
        }
    if !h.contains_key(&TO_CC_H)
        && let (Ok(cc), Ok(pid)) = (HeaderValue::from_str(&ctx.from.country_code), HeaderValue::from_str(&ctx.from.party_id)) {
            h.insert(TO_CC_H, cc);
            h.insert(TO_PID_H, pid);
        }
    resp
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty())
}

/// OCPI-from must name a party of the caller's credentials. A platform with a single party may
/// leave it out (many 2.2.1 peers do).
fn sender_party(req: &HttpRequest, platform: &Platform, ids: &Ids) -> Flow<PartyKey> {
    match (header(req, FROM_CC), header(req, FROM_PID)) {
        (Some(cc), Some(pid)) => {
            let key = PartyKey::new(cc, pid);
            if platform.has_party(&key) {
                Ok(key)
            } else {
                Err(reply::builder(StatusCode::FORBIDDEN, ids, None, None).json(Envelope::error(
                    status::CLIENT_ERROR,
                    format!("OCPI-from: {key} is not a party of your credentials"),
                )))
            }
        }
        (None, None) => {
            let mut keys: Vec<PartyKey> = platform.roles.iter().map(|r| r.key()).collect();
            keys.dedup();
            if keys.len() == 1 {
                Ok(keys.remove(0))
            } else {
                Err(reply::error(ids, status::INVALID_PARAMETERS, "OCPI-from-country-code/OCPI-from-party-id: required"))
            }
        }
        _ => Err(reply::error(ids, status::INVALID_PARAMETERS, "OCPI-from-country-code/OCPI-from-party-id: both or neither")),
    }
}

fn addressee(req: &HttpRequest, state: &AppState, ids: &Ids) -> Flow<To> {
    match (header(req, TO_CC), header(req, TO_PID)) {
        (Some(cc), Some(pid)) => {
            let key = PartyKey::new(cc, pid);
            Ok(if key == state.hub { To::Hub } else { To::Party(key) })
        }
        (None, None) => Ok(To::Open),
        _ => Err(reply::error(ids, status::INVALID_PARAMETERS, "OCPI-to-country-code/OCPI-to-party-id: both or neither")),
    }
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// Which module owns objects pushed on its receiver interface.
fn owner_role(module: &str) -> Role {
    match module {
        "tokens" => Role::Emsp,
        _ => Role::Cpo,
    }
}

async fn route(state: &AppState, ctx: &Ctx, body: Bytes) -> Flow<HttpResponse> {
    use InterfaceRole::*;
    let m = ctx.method.as_str();
    match (ctx.iface, ctx.module.as_str(), m) {
        (Receiver, "locations" | "sessions" | "tariffs" | "tokens", "PUT" | "PATCH" | "DELETE") => push_object(state, ctx, body).await,
        (Receiver, "cdrs", "POST") if ctx.segs.is_empty() => push_cdr(state, ctx, body).await,
        (Receiver, "locations" | "sessions" | "tariffs" | "tokens" | "cdrs", "GET") => read_pushed(state, ctx).await,
        (Receiver, "commands", "POST") => command(state, ctx, body).await,
        (Receiver, "chargingprofiles", "GET" | "PUT" | "DELETE") => charging_profile(state, ctx, body).await,
        (Sender, "locations" | "sessions" | "cdrs" | "tariffs" | "tokens", "GET") if ctx.segs.is_empty() => list(state, ctx).await,
        (Sender, "locations", "GET") => read_location(state, ctx).await,
        (Sender, "tokens", "POST") if ctx.segs.len() == 2 && ctx.segs[1] == "authorize" => authorize(state, ctx, body).await,
        (Sender, "sessions", "PUT") if ctx.segs.len() == 2 && ctx.segs[1] == "charging_preferences" => {
            let target = session_owner(state, ctx, &ctx.segs[0]).await?;
            forward(state, ctx, &target, InterfaceRole::Sender, Some(body), None).await
        }
        (Sender, "chargingprofiles", "PUT") if ctx.segs.len() == 1 => {
            let target = match &ctx.to {
                To::Party(p) => p.clone(),
                _ => return Err(ctx.fail(status::UNKNOWN_RECEIVER, "OCPI-to headers are required for an ActiveChargingProfile push")),
            };
            validate::<charging_profiles::ActiveChargingProfile>(ctx, &body)?;
            let key = format!("chargingprofiles/{}", ctx.segs[0]);
            forward(state, ctx, &target, InterfaceRole::Sender, Some(body), Some(key)).await
        }
        _ => Err(reply::builder(StatusCode::METHOD_NOT_ALLOWED, &ctx.ids, None, Some(&ctx.from))
            .json(Envelope::error(status::CLIENT_ERROR, format!("{} not supported on the {} interface of {}", ctx.method, ctx.iface.as_str(), ctx.module)))),
    }
}

// ---------------------------------------------------------------------------------------------
// Validation

fn validate<T: DeserializeOwned + Validate>(ctx: &Ctx, body: &[u8]) -> Flow<Value> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        reply::builder(StatusCode::BAD_REQUEST, &ctx.ids, None, Some(&ctx.from))
            .json(Envelope::error(status::INVALID_PARAMETERS, format!("malformed JSON: {e}")))
    })?;
    match parse::from_value::<T>(value.clone()) {
        Ok(_) => Ok(value),
        Err(ParseError::Syntax(m)) => Err(reply::builder(StatusCode::BAD_REQUEST, &ctx.ids, None, Some(&ctx.from))
            .json(Envelope::error(status::INVALID_PARAMETERS, m))),
        Err(ParseError::Invalid { field, message }) => Err(ctx.fail(status::INVALID_PARAMETERS, format!("{field}: {message}"))),
    }
}

fn json_body(ctx: &Ctx, body: &[u8]) -> Flow<Value> {
    serde_json::from_slice(body).map_err(|e| {
        reply::builder(StatusCode::BAD_REQUEST, &ctx.ids, None, Some(&ctx.from))
            .json(Envelope::error(status::INVALID_PARAMETERS, format!("malformed JSON: {e}")))
    })
}

/// Validates a full object pushed with PUT at this path level.
fn validate_put(ctx: &Ctx, body: &[u8]) -> Flow<Value> {
    match (ctx.module.as_str(), ctx.segs.len()) {
        ("locations", 3) => validate::<locations::Location>(ctx, body),
        ("locations", 4) => validate::<locations::Evse>(ctx, body),
        ("locations", 5) => validate::<locations::Connector>(ctx, body),
        ("sessions", _) => validate::<sessions::Session>(ctx, body),
        ("tariffs", _) => validate::<tariffs::Tariff>(ctx, body),
        ("tokens", _) => validate::<tokens::Token>(ctx, body),
        _ => json_body(ctx, body),
    }
}

/// Validates an object after a PATCH was merged into the hub's copy.
fn validate_merged(module: &str, level: usize, value: &Value) -> Result<(), String> {
    let r = match (module, level) {
        ("locations", _) => parse::from_value::<locations::Location>(value.clone()).map(|_| ()),
        ("sessions", _) => parse::from_value::<sessions::Session>(value.clone()).map(|_| ()),
        ("tariffs", _) => parse::from_value::<tariffs::Tariff>(value.clone()).map(|_| ()),
        ("tokens", _) => parse::from_value::<tokens::Token>(value.clone()).map(|_| ()),
        _ => Ok(()),
    };
    r.map_err(|e| match e {
        ParseError::Invalid { field, message } => format!("{field}: {message}"),
        ParseError::Syntax(m) => m,
    })
}

fn last_updated_of(v: &Value) -> Option<i64> {
    v.get("last_updated").and_then(Value::as_str).and_then(pagination::parse_datetime)
}

// ---------------------------------------------------------------------------------------------
// Pushes of client-owned objects

/// The object addressed by `/{cc}/{pid}/{id}[/...]`, which must be the sender's own.
fn owned_key(ctx: &Ctx) -> Flow<ObjectKey> {
    let max = if ctx.module == "locations" { 5 } else { 3 };
    if ctx.segs.len() < 3 || ctx.segs.len() > max {
        return Err(ctx.fail(status::INVALID_PARAMETERS, format!("path: expected /{{country_code}}/{{party_id}}/{{id}} for {}", ctx.module)));
    }
    let owner = PartyKey::new(&ctx.segs[0], &ctx.segs[1]);
    if owner != ctx.from {
        return Err(ctx.forbidden(format!("{owner} is not your party: you may only push your own objects")));
    }
    Ok(ObjectKey::new(&ctx.module, &owner, &ctx.segs[2]))
}

async fn push_object(state: &AppState, ctx: &Ctx, body: Bytes) -> Flow<HttpResponse> {
    let key = owned_key(ctx)?;
    let level = ctx.segs.len();
    let method = ctx.method.as_str();
    let (change, value) = match method {
        "PUT" => {
            let value = validate_put(ctx, &body)?;
            check_identity(ctx, &value, &key)?;
            let lu = last_updated_of(&value).ok_or_else(|| ctx.fail(status::INVALID_PARAMETERS, "last_updated: required"))?;
            let change = if level == 3 {
                ObjectChange::Put { key: key.clone(), last_updated: lu, body: String::from_utf8_lossy(&body).into_owned() }
            } else {
                sub_object_change(ctx, key.clone(), value.clone(), false)
            };
            (Some(change), Some(value))
        }
        "PATCH" => {
            let value = json_body(ctx, &body)?;
            if !value.is_object() {
                return Err(ctx.fail(status::INVALID_PARAMETERS, "body: a PATCH must be a JSON object"));
            }
            if last_updated_of(&value).is_none() {
                return Err(ctx.fail(status::INVALID_PARAMETERS, "last_updated: required in a PATCH"));
            }
            check_identity(ctx, &value, &key)?;
            (Some(sub_object_change(ctx, key.clone(), value.clone(), true)), Some(value))
        }
        "DELETE" => {
            if ctx.module != "tariffs" {
                return Err(ctx.fail(status::CLIENT_ERROR, format!("DELETE is not part of the {} module", ctx.module)));
            }
            (Some(ObjectChange::Delete { key: key.clone() }), None)
        }
        _ => unreachable!("route() only sends PUT/PATCH/DELETE here"),
    };
    let change = change.expect("set above");

    // Sessions go to the token's eMSP (never broadcast: they carry driver data) plus, without
    // driver data, to every SCSP.
    if ctx.module == "sessions" {
        return push_session(state, ctx, key, change, value, body).await;
    }
    match &ctx.to {
        To::Party(target) => {
            store_copy(state, ctx, change, &[]).await?;
            forward(state, ctx, target, InterfaceRole::Receiver, Some(body), Some(key.ordering_key())).await
        }
        To::Hub | To::Open => {
            let targets = broadcast_targets(state, ctx, owner_role(&ctx.module)).await?;
            let deliveries: Vec<NewDelivery> = targets
                .iter()
                .map(|(p, party)| delivery(ctx, p.id, party, &state.hub, &key, Some(String::from_utf8_lossy(&body).into_owned())))
                .collect();
            store_copy(state, ctx, change, &deliveries).await?;
            state.delivery_wakeup.notify_one();
            Ok(ok_from_hub(ctx, None, Some(format!("accepted; broadcast to {} parties", deliveries.len()))))
        }
    }
}

/// The URL names the object; so must the body (a PUT, or a PATCH that mentions an identity
/// field): an object stored under one key must not call itself another.
fn check_identity(ctx: &Ctx, value: &Value, key: &ObjectKey) -> Flow<()> {
    let text = |name: &str| value.get(name).and_then(Value::as_str);
    let differs = |field: &str, expected: &str, case_insensitive: bool| {
        text(field).is_some_and(|v| if case_insensitive { !v.eq_ignore_ascii_case(expected) } else { v != expected })
    };
    match ctx.segs.len() {
        // The object itself.
        3 => {
            if differs("country_code", &key.country_code, true) {
                return Err(ctx.fail(status::INVALID_PARAMETERS, "country_code: differs from the URL"));
            }
            if differs("party_id", &key.party_id, true) {
                return Err(ctx.fail(status::INVALID_PARAMETERS, "party_id: differs from the URL"));
            }
            let id_field = if ctx.module == "tokens" { "uid" } else { "id" };
            if differs(id_field, &key.id, false) {
                return Err(ctx.fail(status::INVALID_PARAMETERS, format!("{id_field}: differs from the URL")));
            }
        }
        // An EVSE of a location.
        4 => {
            if differs("uid", &ctx.segs[3], false) {
                return Err(ctx.fail(status::INVALID_PARAMETERS, "uid: differs from the URL"));
            }
        }
        // A connector of an EVSE.
        _ => {
            if differs("id", &ctx.segs[4], false) {
                return Err(ctx.fail(status::INVALID_PARAMETERS, "id: differs from the URL"));
            }
        }
    }
    Ok(())
}

/// A PUT of an EVSE/connector, or a PATCH at any level, applied to the hub's copy.
fn sub_object_change(ctx: &Ctx, key: ObjectKey, incoming: Value, patch: bool) -> ObjectChange {
    let module = ctx.module.clone();
    let path: Vec<String> = ctx.segs[3..].to_vec();
    ObjectChange::Patch {
        key,
        patch: Box::new(move |old: &str| {
            let mut obj: Value = serde_json::from_str(old).map_err(|e| e.to_string())?;
            let lu = last_updated_of(&incoming).ok_or("last_updated: required")?;
            {
                let target = locate_mut(&mut obj, &path, !patch)?;
                if patch {
                    merge(target, &incoming);
                } else {
                    *target = incoming.clone();
                }
            }
            // The location changed when one of its parts did.
            if let (Some(o), Some(s)) = (obj.as_object_mut(), incoming.get("last_updated")) {
                o.insert("last_updated".into(), s.clone());
            }
            validate_merged(&module, path.len(), &obj)?;
            Ok((obj.to_string(), lu))
        }),
    }
}

/// The part of a location at `path` (`[evse_uid]` or `[evse_uid, connector_id]`); with `create`,
/// a missing EVSE or connector is appended.
fn locate_mut<'a>(obj: &'a mut Value, path: &[String], create: bool) -> Result<&'a mut Value, String> {
    let mut cur = obj;
    for (depth, id) in path.iter().enumerate() {
        let (list, id_field) = if depth == 0 { ("evses", "uid") } else { ("connectors", "id") };
        let arr = cur
            .as_object_mut()
            .ok_or("stored object is not an object")?
            .entry(list)
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .ok_or(format!("{list}: not an array"))?;
        let pos = arr.iter().position(|e| e.get(id_field).and_then(Value::as_str) == Some(id.as_str()));
        let pos = match (pos, create) {
            (Some(p), _) => p,
            (None, true) => {
                arr.push(json!({ id_field: id }));
                arr.len() - 1
            }
            (None, false) => return Err(format!("{list}: no element with {id_field} {id}")),
        };
        cur = &mut arr[pos];
    }
    Ok(cur)
}

/// OCPI PATCH: the fields present replace the stored ones (lists are replaced whole).
fn merge(target: &mut Value, patch: &Value) {
    if let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            t.insert(k.clone(), v.clone());
        }
    }
}

async fn store_copy(state: &AppState, ctx: &Ctx, change: ObjectChange, deliveries: &[NewDelivery]) -> Flow<Option<String>> {
    match state.store.apply(Some(change), deliveries).await {
        Ok(v) => Ok(v),
        Err(StoreError::Rejected(m)) => Err(ctx.fail(status::INVALID_PARAMETERS, m)),
        Err(e) => {
            tracing::error!(error = %e, "storing a pushed object failed");
            Err(ctx.fail(status::SERVER_ERROR, "internal error"))
        }
    }
}

fn delivery(ctx: &Ctx, target: i64, to: &PartyKey, from: &PartyKey, key: &ObjectKey, body: Option<String>) -> NewDelivery {
    NewDelivery {
        target_platform_id: target,
        object_key: key.ordering_key(),
        module: ctx.module.clone(),
        interface_role: InterfaceRole::Receiver,
        method: ctx.method.clone(),
        path: ctx.tail_with_query(),
        absolute_url: false,
        headers: vec![
            (FROM_CC.into(), from.country_code.clone()),
            (FROM_PID.into(), from.party_id.clone()),
            (TO_CC.into(), to.country_code.clone()),
            (TO_PID.into(), to.party_id.clone()),
            (reply::X_CORRELATION_ID.into(), ctx.ids.correlation_id.clone()),
        ],
        body,
    }
}

/// Receivers of a broadcast push: every other registered platform implementing the module's
/// receiver interface with an "opposite" role (spec: CPO pushes reach eMSPs, NSPs, NAPs, OTHER
/// and SCSPs; eMSP/OTHER pushes reach CPOs). Each is addressed as its first fitting party.
async fn broadcast_targets(state: &AppState, ctx: &Ctx, sender_role: Role) -> Flow<Vec<(Arc<Platform>, PartyKey)>> {
    crate::publish::broadcast_targets(state, &ctx.module, &ctx.from, sender_role).await.map_err(|e| {
        tracing::error!(error = %e, "directory");
        ctx.fail(status::SERVER_ERROR, "internal error")
    })
}

/// Removes the driver's data from a session (or session PATCH) for an SCSP (CWA 4.7).
pub fn strip_driver_data(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("cdr_token");
        o.remove("authorization_reference");
    }
}

async fn push_session(
    state: &AppState,
    ctx: &Ctx,
    key: ObjectKey,
    change: ObjectChange,
    value: Option<Value>,
    body: Bytes,
) -> Flow<HttpResponse> {
    let dir = state.directory().await.map_err(|_| ctx.fail(status::SERVER_ERROR, "internal error"))?;
    let scsp_role = |p: &Platform| p.roles.iter().find(|r| r.role == Role::Scsp).map(|r| r.key());
    // Stripped copies for every SCSP (other than a directly addressed one, which gets its own).
    let direct_is_scsp = |p: &PartyKey| dir.iter().any(|pl| pl.roles.iter().any(|r| r.role == Role::Scsp && r.key() == *p));
    let mut stripped_body = value.clone().unwrap_or(Value::Null);
    strip_driver_data(&mut stripped_body);
    let mut deliveries: Vec<NewDelivery> = dir
        .iter()
        .filter(|p| p.id != ctx.platform.id && p.is_registered())
        .filter(|p| matches!(p.status, ConnectionStatus::Connected | ConnectionStatus::Offline))
        .filter(|p| p.endpoint("sessions", InterfaceRole::Receiver).is_some())
        .filter_map(|p| Some((p.id, scsp_role(p)?)))
        .filter(|(_, party)| !matches!(&ctx.to, To::Party(t) if t == party))
        .map(|(id, party)| delivery(ctx, id, &party, &ctx.from, &key, Some(stripped_body.to_string())))
        .collect();

    let emsp = match &ctx.to {
        To::Party(p) => Some(p.clone()),
        _ => {
            // Open routing: the token's eMSP, from the body or from the hub's copy.
            let from_body = value.as_ref().and_then(token_owner);
            match from_body {
                Some(k) => Some(k),
                None => state.store.get_object(&key).await.ok().flatten().and_then(|o| o.json().ok()).as_ref().and_then(token_owner),
            }
        }
    };
    match emsp {
        Some(target) if matches!(ctx.to, To::Party(_)) => {
            store_copy(state, ctx, change, &deliveries).await?;
            state.delivery_wakeup.notify_one();
            let body = if direct_is_scsp(&target) { Bytes::from(stripped_body.to_string()) } else { body };
            forward(state, ctx, &target, InterfaceRole::Receiver, Some(body), Some(key.ordering_key())).await
        }
        Some(target) => {
            // Open routing and broadcast to the hub: delivered durably to the token's eMSP.
            if let Some(p) = state.platform_for_party(&target, "sessions", InterfaceRole::Receiver).await.ok().flatten() {
                let body = if direct_is_scsp(&target) { stripped_body.to_string() } else { String::from_utf8_lossy(&body).into_owned() };
                deliveries.push(delivery(ctx, p.id, &target, &ctx.from, &key, Some(body)));
            }
            store_copy(state, ctx, change, &deliveries).await?;
            state.delivery_wakeup.notify_one();
            Ok(ok_from_hub(ctx, None, Some(format!("accepted; delivering to {} parties", deliveries.len()))))
        }
        None => {
            store_copy(state, ctx, change, &deliveries).await?;
            state.delivery_wakeup.notify_one();
            Ok(ok_from_hub(ctx, None, Some("accepted; no eMSP could be determined from cdr_token".into())))
        }
    }
}

/// The eMSP of a session or CDR: its `cdr_token` names it.
fn token_owner(v: &Value) -> Option<PartyKey> {
    let t = v.get("cdr_token")?;
    Some(PartyKey::new(t.get("country_code")?.as_str()?, t.get("party_id")?.as_str()?))
}

async fn push_cdr(state: &AppState, ctx: &Ctx, body: Bytes) -> Flow<HttpResponse> {
    let value = validate::<cdrs::Cdr>(ctx, &body)?;
    let owner = PartyKey::new(
        value.get("country_code").and_then(Value::as_str).unwrap_or_default(),
        value.get("party_id").and_then(Value::as_str).unwrap_or_default(),
    );
    if owner != ctx.from {
        return Err(ctx.forbidden(format!("{owner} is not your party: you may only post your own CDRs")));
    }
    let id = value.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let key = ObjectKey::new("cdrs", &owner, &id);
    let lu = last_updated_of(&value).ok_or_else(|| ctx.fail(status::INVALID_PARAMETERS, "last_updated: required"))?;
    let change = ObjectChange::Put { key: key.clone(), last_updated: lu, body: String::from_utf8_lossy(&body).into_owned() };
    let target = match &ctx.to {
        To::Party(p) => Some(p.clone()),
        _ => token_owner(&value),
    };
    let Some(target) = target else {
        return Err(ctx.fail(status::UNKNOWN_RECEIVER, "no receiver: OCPI-to is absent and cdr_token names no party"));
    };
    if matches!(ctx.to, To::Party(_)) {
        store_copy(state, ctx, change, &[]).await?;
        let mut resp = forward(state, ctx, &target, InterfaceRole::Receiver, Some(body), Some(key.ordering_key())).await?;
        // The receiver's Location names its own URL; the sender gets the hub's.
        let hub_url = format!("{}/receiver/cdrs/{}/{}/{}", state.version_url("2.2.1"), owner.country_code, owner.party_id, id);
        if let Ok(v) = hub_url.parse() {
            resp.headers_mut().insert(actix_web::http::header::LOCATION, v);
        }
        Ok(resp)
    } else {
        let p = state
            .platform_for_party(&target, "cdrs", InterfaceRole::Receiver)
            .await
            .ok()
            .flatten()
            .ok_or_else(|| ctx.fail(status::UNKNOWN_RECEIVER, format!("unknown receiver {target}")))?;
        let d = delivery(ctx, p.id, &target, &ctx.from, &key, Some(String::from_utf8_lossy(&body).into_owned()));
        store_copy(state, ctx, change, &[d]).await?;
        state.delivery_wakeup.notify_one();
        let mut resp = ok_from_hub(ctx, None, Some(format!("accepted; delivering to {target}")));
        let hub_url = format!("{}/receiver/cdrs/{}/{}/{}", state.version_url("2.2.1"), owner.country_code, owner.party_id, id);
        if let Ok(v) = hub_url.parse() {
            resp.headers_mut().insert(actix_web::http::header::LOCATION, v);
        }
        Ok(resp)
    }
}

fn ok_from_hub(ctx: &Ctx, data: Option<Value>, message: Option<String>) -> HttpResponse {
    let mut env = Envelope::success(data);
    env.status_message = message;
    reply::envelope(&ctx.ids, &env, None, Some(&ctx.from))
}

// ---------------------------------------------------------------------------------------------
// Reads

/// GET on the receiver interface: the owner reads back an object. Forwarded when addressed to a
/// party; otherwise served from the hub's copy (only to its owner, or for sessions and CDRs also
/// to the eMSP of its token).
async fn read_pushed(state: &AppState, ctx: &Ctx) -> Flow<HttpResponse> {
    if let To::Party(target) = &ctx.to {
        return forward(state, ctx, target, InterfaceRole::Receiver, None, None).await;
    }
    if ctx.segs.len() < 3 {
        return Err(ctx.fail(status::INVALID_PARAMETERS, "path: expected /{country_code}/{party_id}/{id}"));
    }
    let key = ObjectKey::new(&ctx.module, &PartyKey::new(&ctx.segs[0], &ctx.segs[1]), &ctx.segs[2]);
    let obj = state.store.get_object(&key).await.map_err(|_| ctx.fail(status::SERVER_ERROR, "internal error"))?;
    let value = obj.and_then(|o| o.json().ok());
    let allowed = |v: &Value| key.owner() == ctx.from || token_owner(v).is_some_and(|t| t == ctx.from);
    match value {
        Some(v) if allowed(&v) => {
            let part = sub_object(&v, &ctx.segs[3..]).ok_or_else(|| ctx.fail(status::UNKNOWN_LOCATION, "unknown EVSE or connector"))?;
            Ok(ok_from_hub(ctx, Some(part), None))
        }
        _ => Err(ctx.fail(unknown_code(&ctx.module), format!("unknown {} object", ctx.module))),
    }
}

fn unknown_code(module: &str) -> u32 {
    match module {
        "tokens" => status::UNKNOWN_TOKEN,
        "locations" => status::UNKNOWN_LOCATION,
        _ => status::CLIENT_ERROR,
    }
}

fn sub_object(v: &Value, path: &[String]) -> Option<Value> {
    let mut cur = v;
    for (depth, id) in path.iter().enumerate() {
        let (list, id_field) = if depth == 0 { ("evses", "uid") } else { ("connectors", "id") };
        cur = cur.get(list)?.as_array()?.iter().find(|e| e.get(id_field).and_then(Value::as_str) == Some(id.as_str()))?;
    }
    Some(cur.clone())
}

/// GET one location (or EVSE, connector) on the sender interface.
async fn read_location(state: &AppState, ctx: &Ctx) -> Flow<HttpResponse> {
    if let To::Party(target) = &ctx.to {
        return forward(state, ctx, target, InterfaceRole::Sender, None, None).await;
    }
    let found = state.store.find_objects_by_id("locations", &ctx.segs[0]).await.map_err(|_| ctx.fail(status::SERVER_ERROR, "internal error"))?;
    match found.len() {
        0 => Err(ctx.fail(status::UNKNOWN_LOCATION, format!("unknown location {}", ctx.segs[0]))),
        1 => {
            let v = found[0].json().map_err(|_| ctx.fail(status::SERVER_ERROR, "internal error"))?;
            let part = sub_object(&v, &ctx.segs[1..]).ok_or_else(|| ctx.fail(status::UNKNOWN_LOCATION, "unknown EVSE or connector"))?;
            let owner = found[0].key.owner();
            Ok(reply::envelope(&ctx.ids, &Envelope::success(Some(part)), Some(&owner), Some(&ctx.from)))
        }
        _ => Err(ctx.fail(status::NOT_ENOUGH_INFORMATION, "several CPOs use this location id: add OCPI-to headers")),
    }
}

/// GET All on the sender interface. Addressed to a party: forwarded, with its Link rewritten
/// to the hub. Addressed to the hub (or open): served from the hub's copy for locations,
/// tariffs and tokens, and for sessions and CDRs those of the caller (an eMSP's tokens, a
/// CPO's own).
async fn list(state: &AppState, ctx: &Ctx) -> Flow<HttpResponse> {
    let page = Page::from_query(&ctx.query).map_err(|m| ctx.fail(status::INVALID_PARAMETERS, m))?;
    if let To::Party(target) = &ctx.to {
        return forward_list(state, ctx, target, &page).await;
    }
    let caller_is_cpo = ctx.platform.roles.iter().any(|r| r.role == Role::Cpo && r.key() == ctx.from);
    let (owner, recipient) = match ctx.module.as_str() {
        "locations" | "tariffs" => (None, None),
        // Tokens are meant for CPOs; any other party sees only its own.
        "tokens" => ((!caller_is_cpo).then(|| ctx.from.clone()), None),
        // Sessions and CDRs with no sender named (always so for a 2.1.1 eMSP, which has no
        // routing headers): the hub's copy of those for the caller's tokens, or, for a CPO,
        // of its own.
        "sessions" | "cdrs" if caller_is_cpo => (Some(ctx.from.clone()), None),
        "sessions" | "cdrs" => (None, Some(ctx.from.clone())),
        _ => return Err(ctx.fail(status::UNKNOWN_RECEIVER, format!("GET All of {} needs OCPI-to headers naming the sender", ctx.module))),
    };
    // A client that computes offsets itself (instead of following Link) usually asks for the
    // offset right after a page it just read: the position remembered then avoids a scan.
    let list_name = match (&owner, &recipient) {
        (Some(o), _) => format!("{}/{o}", ctx.module),
        (None, Some(r)) => format!("{}/for/{r}", ctx.module),
        (None, None) => ctx.module.clone(),
    };
    let position_key = (list_name, page.date_from, page.date_to);
    let after = page.cursor.or_else(|| state.page_positions.get(&position_key, page.offset));
    let filter = ListFilter {
        module: ctx.module.clone(),
        owner,
        date_from: page.date_from,
        date_to: page.date_to,
        offset: page.offset,
        limit: page.limit,
        recipient,
        after,
    };
    let result = state.store.list_objects(&filter).await.map_err(|e| {
        tracing::error!(error = %e, "list objects");
        ctx.fail(status::SERVER_ERROR, "internal error")
    })?;
    let n = result.items.len() as i64;
    let mut data = String::with_capacity(result.items.iter().map(|o| o.body.len() + 1).sum::<usize>() + 2);
    data.push('[');
    for (i, o) in result.items.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        data.push_str(&o.body);
    }
    data.push(']');
    let last = result.items.last().map(|o| (o.last_updated, o.seq));
    if let Some(last) = last {
        state.page_positions.put(position_key, page.offset + n, last);
    }
    let next = (page.offset + n < result.total && n > 0)
        .then(|| page.next_url(&format!("{}/sender/{}", state.version_url("2.2.1"), ctx.module), n, last));
    let mut b = reply::builder(StatusCode::OK, &ctx.ids, None, Some(&ctx.from));
    pagination::headers(&mut b, result.total, page.limit, next.as_deref());
    b.insert_header((actix_web::http::header::CONTENT_TYPE, "application/json"));
    // The envelope is written by hand around the stored JSON texts: they are sent as stored,
    // without a parse and re-serialization per object.
    Ok(b.body(format!(
        "{{\"data\":{data},\"status_code\":1000,\"timestamp\":\"{}\"}}",
        hub_core::ocpi::now_timestamp()
    )))
}

/// A forwarded GET All. The receiver's `Link` is replaced by a hub URL carrying the remote next
/// URL (checked against the receiver's endpoint when it comes back, so it cannot be pointed
/// elsewhere).
async fn forward_list(state: &AppState, ctx: &Ctx, target: &PartyKey, page: &Page) -> Flow<HttpResponse> {
    let (platform, _) = target_platform(state, ctx, target, InterfaceRole::Sender).await?;
    let endpoint = platform.endpoint(&ctx.module, InterfaceRole::Sender).unwrap_or_default().to_string();
    let url = match &page.hub_page {
        Some(encoded) => {
            let remote = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ctx.fail(status::INVALID_PARAMETERS, "hub_page: malformed"))?;
            if !remote.starts_with(&endpoint) {
                return Err(ctx.fail(status::INVALID_PARAMETERS, "hub_page: not a page of this receiver"));
            }
            remote
        }
        None => {
            if ctx.query.is_empty() { endpoint.clone() } else { format!("{endpoint}?{}", ctx.query) }
        }
    };
    let mut resp = send(state, ctx, &platform, target, &url, None).await?;
    if let Some(next) = resp.headers().get("link").and_then(|v| v.to_str().ok()).and_then(pagination::next_link) {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        // Echo offset/limit of the remote link for readability; hub_page is what counts.
        if let Some((_, query)) = next.split_once('?') {
            for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
                if k == "offset" || k == "limit" {
                    q.append_pair(&k, &v);
                }
            }
        }
        q.append_pair("hub_page", &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(next.as_bytes()));
        let hub_link = format!("<{}/sender/{}?{}>; rel=\"next\"", state.version_url("2.2.1"), ctx.module, q.finish());
        if let Ok(v) = hub_link.parse() {
            resp.headers_mut().insert(actix_web::http::header::LINK, v);
        }
    }
    Ok(resp)
}

// ---------------------------------------------------------------------------------------------
// Requests that are not object pushes

async fn authorize(state: &AppState, ctx: &Ctx, body: Bytes) -> Flow<HttpResponse> {
    if !body.is_empty() {
        validate::<tokens::LocationReferences>(ctx, &body)?;
    }
    let target = match &ctx.to {
        To::Party(p) => p.clone(),
        _ => {
            let owners = state.store.find_objects_by_id("tokens", &ctx.segs[0]).await.map_err(|_| ctx.fail(status::SERVER_ERROR, "internal error"))?;
            match owners.first() {
                Some(o) => o.key.owner(),
                None => return Err(ctx.fail(status::UNKNOWN_TOKEN, format!("unknown token {}: no eMSP pushed it through the hub", ctx.segs[0]))),
            }
        }
    };
    let body = if body.is_empty() { None } else { Some(body) };
    forward(state, ctx, &target, InterfaceRole::Sender, body, None).await
}

/// The CPO of a session: from OCPI-to, or from the hub's copy of the session.
async fn session_owner(state: &AppState, ctx: &Ctx, session_id: &str) -> Flow<PartyKey> {
    if let To::Party(p) = &ctx.to {
        return Ok(p.clone());
    }
    let found = state.store.find_objects_by_id("sessions", session_id).await.map_err(|_| ctx.fail(status::SERVER_ERROR, "internal error"))?;
    match found.as_slice() {
        [one] => Ok(one.key.owner()),
        [] => Err(ctx.fail(status::UNKNOWN_RECEIVER, format!("unknown session {session_id}: add OCPI-to headers"))),
        _ => Err(ctx.fail(status::UNKNOWN_RECEIVER, format!("session id {session_id} is ambiguous: add OCPI-to headers"))),
    }
}

/// The CPO of a location, from the hub's copy.
async fn location_owner(state: &AppState, ctx: &Ctx, location_id: &str) -> Flow<PartyKey> {
    let found = state.store.find_objects_by_id("locations", location_id).await.map_err(|_| ctx.fail(status::SERVER_ERROR, "internal error"))?;
    match found.as_slice() {
        [one] => Ok(one.key.owner()),
        [] => Err(ctx.fail(status::UNKNOWN_RECEIVER, format!("unknown location {location_id}: add OCPI-to headers"))),
        _ => Err(ctx.fail(status::UNKNOWN_RECEIVER, format!("location id {location_id} is ambiguous: add OCPI-to headers"))),
    }
}

/// A new hub callback URL standing in for the requester's `response_url`.
async fn callback_url(state: &AppState, ctx: &Ctx, receiver: &PartyKey, original: &str) -> Flow<String> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let cb = hub_core::store::Callback {
        id: id.clone(),
        requester_platform_id: ctx.platform.id,
        requester: ctx.from.clone(),
        receiver: receiver.clone(),
        module: ctx.module.clone(),
        response_url: original.to_string(),
    };
    state.store.create_callback(&cb).await.map_err(|e| {
        tracing::error!(error = %e, "create callback");
        ctx.fail(status::SERVER_ERROR, "internal error")
    })?;
    Ok(format!("{}/callbacks/{id}", state.version_url("2.2.1")))
}

async fn command(state: &AppState, ctx: &Ctx, body: Bytes) -> Flow<HttpResponse> {
    let command = ctx.segs.first().map(String::as_str).unwrap_or("");
    let mut value = match command {
        "START_SESSION" => validate::<commands::StartSession>(ctx, &body)?,
        "STOP_SESSION" => validate::<commands::StopSession>(ctx, &body)?,
        "RESERVE_NOW" => validate::<commands::ReserveNow>(ctx, &body)?,
        "CANCEL_RESERVATION" => validate::<commands::CancelReservation>(ctx, &body)?,
        "UNLOCK_CONNECTOR" => validate::<commands::UnlockConnector>(ctx, &body)?,
        other => return Err(ctx.fail(status::INVALID_PARAMETERS, format!("command: unknown command type {other:?}"))),
    };
    let target = match &ctx.to {
        To::Party(p) => p.clone(),
        _ => {
            if let Some(loc) = value.get("location_id").and_then(Value::as_str) {
                location_owner(state, ctx, loc).await?
            } else if let Some(sid) = value.get("session_id").and_then(Value::as_str) {
                session_owner(state, ctx, sid).await?
            } else {
                return Err(ctx.fail(status::UNKNOWN_RECEIVER, "cannot tell the CPO of this command: add OCPI-to headers"));
            }
        }
    };
    if let Some(answer) = to_hosted(state, ctx, &target, value.clone()).await? {
        return Ok(answer);
    }
    let original = value.get("response_url").and_then(Value::as_str).unwrap_or_default().to_string();
    let url = callback_url(state, ctx, &target, &original).await?;
    value["response_url"] = Value::String(url);
    forward(state, ctx, &target, InterfaceRole::Receiver, Some(Bytes::from(value.to_string())), None).await
}

/// Hands a request for a hosted party to the hub's own CPO side; `None` when `target` is not
/// hosted (the request is forwarded as usual).
async fn to_hosted(state: &AppState, ctx: &Ctx, target: &PartyKey, body: Value) -> Flow<Option<HttpResponse>> {
    let dir = state.directory().await.map_err(|_| ctx.fail(status::SERVER_ERROR, "internal error"))?;
    if !dir.iter().any(|p| p.hosted && p.has_party(target)) {
        return Ok(None);
    }
    let Some(hosted) = state.hosted.get() else {
        return Err(ctx.fail(status::CONNECTION_PROBLEM, format!("{target} is hosted by this hub, whose OCPP gateway is not running")));
    };
    let req = crate::hosted::HostedRequest {
        owner: target.clone(),
        requester: ctx.from.clone(),
        requester_platform_id: ctx.platform.id,
        module: ctx.module.clone(),
        method: ctx.method.clone(),
        segs: ctx.segs.clone(),
        query: url::form_urlencoded::parse(ctx.query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
        body,
        correlation_id: ctx.ids.correlation_id.clone(),
    };
    match hosted.handle(state, req).await {
        Ok(data) => {
            let resp = reply::envelope(&ctx.ids, &Envelope::success(Some(data)), Some(target), Some(&ctx.from));
            Ok(Some(resp))
        }
        Err(e) => Err(reply::envelope(&ctx.ids, &Envelope::error(e.status_code, e.message), Some(target), Some(&ctx.from))),
    }
}

async fn charging_profile(state: &AppState, ctx: &Ctx, body: Bytes) -> Flow<HttpResponse> {
    let session_id = ctx.segs.first().cloned().ok_or_else(|| ctx.fail(status::INVALID_PARAMETERS, "path: session_id required"))?;
    let target = session_owner(state, ctx, &session_id).await?;
    if ctx.method == "PUT" {
        let value = validate::<charging_profiles::SetChargingProfile>(ctx, &body)?;
        if let Some(answer) = to_hosted(state, ctx, &target, value).await? {
            return Ok(answer);
        }
    } else if let Some(answer) = to_hosted(state, ctx, &target, Value::Null).await? {
        return Ok(answer);
    }
    match ctx.method.as_str() {
        "PUT" => {
            let mut value = validate::<charging_profiles::SetChargingProfile>(ctx, &body)?;
            let original = value.get("response_url").and_then(Value::as_str).unwrap_or_default().to_string();
            value["response_url"] = Value::String(callback_url(state, ctx, &target, &original).await?);
            forward(state, ctx, &target, InterfaceRole::Receiver, Some(Bytes::from(value.to_string())), None).await
        }
        _ => {
            // GET and DELETE carry response_url in the query.
            let mut pairs: Vec<(String, String)> =
                url::form_urlencoded::parse(ctx.query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            let Some(pos) = pairs.iter().position(|(k, _)| k == "response_url") else {
                return Err(ctx.fail(status::INVALID_PARAMETERS, "response_url: required"));
            };
            pairs[pos].1 = callback_url(state, ctx, &target, &pairs[pos].1.clone()).await?;
            let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
            let (platform, _) = target_platform(state, ctx, &target, InterfaceRole::Receiver).await?;
            let endpoint = platform.endpoint(&ctx.module, InterfaceRole::Receiver).unwrap_or_default();
            let url = format!("{endpoint}{}?{query}", ctx.tail());
            send(state, ctx, &platform, &target, &url, None).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Forwarding

/// The registered platform of `target` with an endpoint for this module and interface.
async fn target_platform(state: &AppState, ctx: &Ctx, target: &PartyKey, iface: InterfaceRole) -> Flow<(Arc<Platform>, String)> {
    let mut platform = state.platform_for_party(target, &ctx.module, iface).await.map_err(|_| ctx.fail(status::SERVER_ERROR, "internal error"))?;
    if platform.is_none() {
        // Perhaps registered a moment ago by another process: look once more, freshly.
        state.invalidate();
        platform = state.platform_for_party(target, &ctx.module, iface).await.map_err(|_| ctx.fail(status::SERVER_ERROR, "internal error"))?;
    }
    let platform = platform.ok_or_else(|| ctx.fail(status::UNKNOWN_RECEIVER, format!("unknown receiver {target}")))?;
    if !platform.is_registered() || platform.status == ConnectionStatus::Suspended {
        return Err(ctx.fail(status::CONNECTION_PROBLEM, format!("receiver {target} is not connected")));
    }
    let endpoint = platform
        .endpoint(&ctx.module, iface)
        .ok_or_else(|| ctx.fail(status::UNKNOWN_RECEIVER, format!("receiver {target} does not implement {} {}", ctx.module, iface.as_str())))?
        .to_string();
    Ok((platform, endpoint))
}

/// Forwards the request to `target`'s endpoint for this module and `iface`, with the same path
/// below the module. With `durable` (an ordering key), a push that cannot be delivered now is
/// queued and acknowledged instead of failing.
async fn forward(
    state: &AppState,
    ctx: &Ctx,
    target: &PartyKey,
    iface: InterfaceRole,
    body: Option<Bytes>,
    durable: Option<String>,
) -> Flow<HttpResponse> {
    let (platform, endpoint) = target_platform(state, ctx, target, iface).await?;
    let url = format!("{endpoint}{}", ctx.tail_with_query());
    if let Some(object_key) = &durable {
        let must_queue = platform.status == ConnectionStatus::Offline
            || state.store.has_pending_delivery(platform.id, object_key).await.unwrap_or(false);
        if must_queue {
            return queue_direct(state, ctx, &platform, target, iface, body, object_key, "receiver offline or earlier pushes pending").await;
        }
    }
    match send_raw(state, ctx, &platform, target, &url, body.clone()).await {
        Ok(resp) => Ok(resp),
        Err(err) => match durable {
            Some(object_key) => queue_direct(state, ctx, &platform, target, iface, body, &object_key, &err.to_string()).await,
            None => Err(match err {
                CallError::Timeout => ctx.fail(status::FORWARD_TIMEOUT, format!("{target} did not answer in time")),
                other => ctx.fail(status::CONNECTION_PROBLEM, format!("{target}: {other}")),
            }),
        },
    }
}

#[allow(clippy::too_many_arguments)]
async fn queue_direct(
    state: &AppState,
    ctx: &Ctx,
    platform: &Platform,
    target: &PartyKey,
    iface: InterfaceRole,
    body: Option<Bytes>,
    object_key: &str,
    why: &str,
) -> Flow<HttpResponse> {
    let d = NewDelivery {
        target_platform_id: platform.id,
        object_key: object_key.to_string(),
        module: ctx.module.clone(),
        interface_role: iface,
        method: ctx.method.clone(),
        path: ctx.tail_with_query(),
        absolute_url: false,
        headers: vec![
            (FROM_CC.into(), ctx.from.country_code.clone()),
            (FROM_PID.into(), ctx.from.party_id.clone()),
            (TO_CC.into(), target.country_code.clone()),
            (TO_PID.into(), target.party_id.clone()),
            (reply::X_CORRELATION_ID.into(), ctx.ids.correlation_id.clone()),
        ],
        body: body.map(|b| String::from_utf8_lossy(&b).into_owned()),
    };
    state.store.enqueue(&[d]).await.map_err(|e| {
        tracing::error!(error = %e, "enqueue");
        ctx.fail(status::SERVER_ERROR, "internal error")
    })?;
    state.delivery_wakeup.notify_one();
    tracing::info!(target = %target, reason = why, "push queued for later delivery");
    Ok(ok_from_hub(ctx, None, Some(format!("accepted by the hub; delivery to {target} pending"))))
}

/// Sends to a URL and maps transport errors to hub errors.
async fn send(state: &AppState, ctx: &Ctx, platform: &Platform, target: &PartyKey, url: &str, body: Option<Bytes>) -> Flow<HttpResponse> {
    send_raw(state, ctx, platform, target, url, body).await.map_err(|err| match err {
        CallError::Timeout => ctx.fail(status::FORWARD_TIMEOUT, format!("{target} did not answer in time")),
        other => ctx.fail(status::CONNECTION_PROBLEM, format!("{target}: {other}")),
    })
}

/// Sends the request and relays the receiver's status, body and pagination headers.
async fn send_raw(
    state: &AppState,
    ctx: &Ctx,
    platform: &Platform,
    target: &PartyKey,
    url: &str,
    body: Option<Bytes>,
) -> Result<HttpResponse, CallError> {
    let headers = vec![
        (FROM_CC.to_string(), ctx.from.country_code.clone()),
        (FROM_PID.to_string(), ctx.from.party_id.clone()),
        (TO_CC.to_string(), target.country_code.clone()),
        (TO_PID.to_string(), target.party_id.clone()),
        (reply::X_CORRELATION_ID.to_string(), ctx.ids.correlation_id.clone()),
    ];
    let token = platform.client_token.as_deref().unwrap_or_default();
    let version = platform.ocpi_version.as_deref().unwrap_or("2.2.1");
    // A 2.1.1 receiver gets 2.1.1 bodies and no routing headers.
    let v211 = crate::v211::is_v211(platform);
    let (headers, body) = if v211 {
        match v211::prepare(state, ctx, target, headers, body).await {
            Ok(prepared) => prepared,
            Err(answer) => return Ok(answer),
        }
    } else {
        (headers, body)
    };
    let result = ctx.http.0.call(&ctx.method, url, token, version, &headers, body).await;
    crate::delivery::note_outcome(state, platform, result.is_ok()).await;
    let answer = result?;
    let mut b = reply::builder(
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY),
        &ctx.ids,
        Some(target),
        Some(&ctx.from),
    );
    for name in ["x-total-count", "x-limit", "link", "location"] {
        if let Some(v) = answer.headers.get(name).and_then(|v| v.to_str().ok()) {
            b.insert_header((name, v));
        }
    }
    b.insert_header((actix_web::http::header::CONTENT_TYPE, "application/json"));
    if v211 {
        return Ok(b.body(v211::answer(state, ctx, target, &answer.body).await));
    }
    Ok(b.body(answer.body))
}

// ---------------------------------------------------------------------------------------------
// Callbacks (rewritten response_url)

/// POST {hub}/callbacks/{id}: a CPO's asynchronous result (CommandResult, ChargingProfileResult,
/// ...). Queued durably for the original requester's response_url.
async fn callback(req: &HttpRequest, body: Bytes, state: &AppState, id: &str) -> HttpResponse {
    let ids = Ids::of(req);
    let caller = match auth::authenticate(state, req, &ids, Accept::ServerToken).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let cb = match state.store.get_callback(id).await {
        Ok(Some(cb)) => cb,
        Ok(None) => return reply::builder(StatusCode::NOT_FOUND, &ids, None, None).json(Envelope::error(status::CLIENT_ERROR, "unknown callback")),
        Err(_) => return reply::error(&ids, status::SERVER_ERROR, "internal error"),
    };
    if !caller.platform.has_party(&cb.receiver) {
        return reply::builder(StatusCode::FORBIDDEN, &ids, None, None).json(Envelope::error(status::CLIENT_ERROR, "this callback belongs to another party"));
    }
    // A 2.1.1 CPO posts a 2.1.1 CommandResponse: the requester is owed a 2.2.1 CommandResult
    // (translated again at delivery for a 2.1.1 requester).
    let body = if cb.module == "commands" && crate::v211::is_v211(&caller.platform) {
        match crate::v211::command_result_to_v221(&body) {
            Ok(b) => b,
            Err(crate::v211::Refused::Syntax(m)) => {
                return reply::builder(StatusCode::BAD_REQUEST, &ids, None, None).json(Envelope::error(status::INVALID_PARAMETERS, m));
            }
            Err(crate::v211::Refused::Invalid(m)) => return reply::error(&ids, status::INVALID_PARAMETERS, m),
        }
    } else {
        body
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return reply::builder(StatusCode::BAD_REQUEST, &ids, None, None)
                .json(Envelope::error(status::INVALID_PARAMETERS, format!("malformed JSON: {e}")));
        }
    };
    let checked = if cb.module == "commands" {
        parse::from_value::<commands::CommandResult>(value).map(|_| ())
    } else {
        Ok(())
    };
    if let Err(e) = checked {
        let message = match e {
            ParseError::Invalid { field, message } => format!("{field}: {message}"),
            ParseError::Syntax(m) => m,
        };
        return reply::error(&ids, status::INVALID_PARAMETERS, message);
    }
    let d = NewDelivery {
        target_platform_id: cb.requester_platform_id,
        object_key: format!("callbacks/{}", cb.id),
        module: cb.module.clone(),
        interface_role: InterfaceRole::Sender,
        method: "POST".into(),
        path: cb.response_url.clone(),
        absolute_url: true,
        headers: vec![
            (FROM_CC.into(), cb.receiver.country_code.clone()),
            (FROM_PID.into(), cb.receiver.party_id.clone()),
            (TO_CC.into(), cb.requester.country_code.clone()),
            (TO_PID.into(), cb.requester.party_id.clone()),
            (reply::X_CORRELATION_ID.into(), ids.correlation_id.clone()),
        ],
        body: Some(String::from_utf8_lossy(&body).into_owned()),
    };
    if let Err(e) = state.store.enqueue(&[d]).await {
        tracing::error!(error = %e, "enqueue callback");
        return reply::error(&ids, status::SERVER_ERROR, "internal error");
    }
    state.delivery_wakeup.notify_one();
    reply::envelope(&ids, &Envelope::success(None), Some(&state.hub), Some(&cb.receiver))
}
