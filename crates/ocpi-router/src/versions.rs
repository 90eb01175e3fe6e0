//! Versions and version details: what the hub implements, and where.

use crate::auth::{self, Accept};
use crate::reply::{self, Ids};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

/// Functional modules the hub routes, each offered with both interface roles.
pub const ROUTED_MODULES: &[&str] = &["locations", "sessions", "cdrs", "tariffs", "tokens", "commands", "chargingprofiles"];

/// The versions the hub speaks, highest first.
pub const VERSIONS: &[&str] = &["2.2.1", "2.1.1"];

/// Modules the hub offers in 2.1.1 (besides credentials). A 2.1.1 endpoint has no interface
/// role: one URL per module, and the side the hub plays follows from the caller's role.
pub const ROUTED_MODULES_211: &[&str] = &["locations", "sessions", "cdrs", "tariffs", "tokens", "commands"];

pub async fn versions(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ids = Ids::of(&req);
    if let Err(resp) = auth::authenticate(&state, &req, &ids, Accept::InviteOrServerToken).await {
        return resp;
    }
    let list: Vec<_> = VERSIONS.iter().map(|v| json!({"version": v, "url": state.version_url(v)})).collect();
    reply::ok(&ids, Some(json!(list)))
}

pub async fn details_221(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ids = Ids::of(&req);
    if let Err(resp) = auth::authenticate(&state, &req, &ids, Accept::InviteOrServerToken).await {
        return resp;
    }
    reply::ok(&ids, Some(endpoints_221(&state)))
}

/// Version details of 2.2.1 as the hub publishes them.
pub fn endpoints_221(state: &AppState) -> serde_json::Value {
    let base = state.version_url("2.2.1");
    let mut endpoints = vec![
        json!({"identifier": "credentials", "role": "SENDER", "url": format!("{base}/credentials")}),
        json!({"identifier": "credentials", "role": "RECEIVER", "url": format!("{base}/credentials")}),
        json!({"identifier": "hubclientinfo", "role": "SENDER", "url": format!("{base}/hubclientinfo")}),
    ];
    for module in ROUTED_MODULES {
        endpoints.push(json!({"identifier": module, "role": "SENDER", "url": format!("{base}/sender/{module}")}));
        endpoints.push(json!({"identifier": module, "role": "RECEIVER", "url": format!("{base}/receiver/{module}")}));
    }
    json!({"version": "2.2.1", "endpoints": endpoints})
}

pub async fn details_211(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ids = Ids::of(&req);
    if let Err(resp) = auth::authenticate(&state, &req, &ids, Accept::InviteOrServerToken).await {
        return resp;
    }
    reply::ok(&ids, Some(endpoints_211(&state)))
}

/// Version details of 2.1.1 as the hub publishes them: `{public}/ocpi/2.1.1/{module}`.
pub fn endpoints_211(state: &AppState) -> serde_json::Value {
    let base = state.version_url("2.1.1");
    let mut endpoints = vec![json!({"identifier": "credentials", "url": format!("{base}/credentials")})];
    for module in ROUTED_MODULES_211 {
        endpoints.push(json!({"identifier": module, "url": format!("{base}/{module}")}));
    }
    json!({"version": "2.1.1", "endpoints": endpoints})
}
