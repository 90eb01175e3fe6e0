//! Building OCPI HTTP responses: the envelope, the HTTP status that goes with an OCPI status,
//! and the echo of request/correlation ids and routing headers.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use hub_core::ocpi::{Envelope, status};
use hub_core::party::PartyKey;

pub const X_REQUEST_ID: &str = "X-Request-ID";
pub const X_CORRELATION_ID: &str = "X-Correlation-ID";
pub const FROM_CC: &str = "OCPI-from-country-code";
pub const FROM_PID: &str = "OCPI-from-party-id";
pub const TO_CC: &str = "OCPI-to-country-code";
pub const TO_PID: &str = "OCPI-to-party-id";

/// Request and correlation id of an incoming request (made up when the caller sent none).
#[derive(Debug, Clone)]
pub struct Ids {
    pub request_id: String,
    pub correlation_id: String,
}

impl Ids {
    pub fn of(req: &HttpRequest) -> Self {
        let get = |name: &str| {
            req.headers().get(name).and_then(|v| v.to_str().ok()).filter(|s| !s.is_empty()).map(str::to_string)
        };
        let request_id = get(X_REQUEST_ID).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let correlation_id = get(X_CORRELATION_ID).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Self { request_id, correlation_id }
    }
}

/// The HTTP status the hub uses for an OCPI status it produces itself.
pub fn http_status_for(ocpi: u32) -> StatusCode {
    match ocpi {
        1000..=1999 => StatusCode::OK,
        status::UNKNOWN_LOCATION | status::UNKNOWN_TOKEN => StatusCode::NOT_FOUND,
        2000..=2999 => StatusCode::BAD_REQUEST,
        status::UNKNOWN_RECEIVER => StatusCode::NOT_FOUND,
        status::FORWARD_TIMEOUT => StatusCode::GATEWAY_TIMEOUT,
        status::CONNECTION_PROBLEM => StatusCode::BAD_GATEWAY,
        // The party's own API or versions are at fault, not the hub.
        status::UNABLE_TO_USE_CLIENT_API | status::UNSUPPORTED_VERSION | status::NO_MATCHING_ENDPOINTS => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A response builder with the id headers and (for routed modules) the routing headers.
pub fn builder(status: StatusCode, ids: &Ids, from: Option<&PartyKey>, to: Option<&PartyKey>) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header((X_REQUEST_ID, ids.request_id.as_str()));
    b.insert_header((X_CORRELATION_ID, ids.correlation_id.as_str()));
    if let Some(from) = from {
        b.insert_header((FROM_CC, from.country_code.as_str()));
        b.insert_header((FROM_PID, from.party_id.as_str()));
    }
    if let Some(to) = to {
        b.insert_header((TO_CC, to.country_code.as_str()));
        b.insert_header((TO_PID, to.party_id.as_str()));
    }
    b
}

/// An envelope response whose HTTP status follows from its OCPI status.
pub fn envelope(ids: &Ids, env: &Envelope, from: Option<&PartyKey>, to: Option<&PartyKey>) -> HttpResponse {
    builder(http_status_for(env.status_code), ids, from, to).json(env)
}

pub fn ok(ids: &Ids, data: Option<serde_json::Value>) -> HttpResponse {
    envelope(ids, &Envelope::success(data), None, None)
}

pub fn error(ids: &Ids, code: u32, message: impl Into<String>) -> HttpResponse {
    envelope(ids, &Envelope::error(code, message), None, None)
}

/// HTTP 401 with an OCPI body, for a missing or unknown credentials token.
pub fn unauthorized(ids: &Ids, message: &str) -> HttpResponse {
    builder(StatusCode::UNAUTHORIZED, ids, None, None).json(Envelope::error(status::CLIENT_ERROR, message))
}
