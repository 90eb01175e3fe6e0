//! The 2.1.1 entry into the routing pipeline, and the 2.1.1 hooks of forwarding.
//!
//! A 2.1.1 request (`/ocpi/2.1.1/{module}[/...]`) carries no routing headers and names no
//! interface: the hub's interface follows from the caller's role (the opposite of the one its
//! role implements, `v211::party_interface`), the sender is the caller's one party, and the
//! receiver is found by open routing, exactly as for a 2.2.1 request without OCPI-to: the
//! token's eMSP for sessions, CDRs and authorizations, the location's CPO for commands, a
//! broadcast for locations, tariffs and tokens, the hub's copy for GET All. The body is
//! validated as 2.1.1 and translated to 2.2.1 first; the answer is translated back.

use super::*;
use crate::v211::{self as v211x, Outbound, Refused};
use crate::versions::ROUTED_MODULES_211;

pub(super) async fn handle(
    req: &HttpRequest,
    body: Bytes,
    state: &AppState,
    http: web::Data<crate::state::WorkerClient>,
    rest: &str,
) -> HttpResponse {
    let ids = Ids::of(req);
    let (module, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if !ROUTED_MODULES_211.contains(&module) {
        return reply::builder(StatusCode::NOT_FOUND, &ids, None, None).json(Envelope::error(status::CLIENT_ERROR, "no such module"));
    }
    let caller = match auth::authenticate(state, req, &ids, Accept::ServerToken).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let Some((from, role)) = v211x::role_211(&caller.platform) else {
        return reply::builder(StatusCode::METHOD_NOT_ALLOWED, &ids, None, None)
            .json(Envelope::error(status::CLIENT_ERROR, "the OCPI 2.1.1 modules serve CPOs and eMSPs"));
    };
    let Some(party_iface) = v211x::party_interface(module, role) else {
        return reply::builder(StatusCode::NOT_FOUND, &ids, None, None).json(Envelope::error(status::CLIENT_ERROR, "no such module"));
    };
    let segs: Vec<String> = tail.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let ctx = Ctx {
        http,
        ids,
        platform: caller.platform,
        from,
        to: To::Open,
        module: module.to_string(),
        iface: v211x::opposite(party_iface),
        method: req.method().as_str().to_string(),
        segs,
        query: req.query_string().to_string(),
    };
    let body = match v211x::inbound_request(state, &ctx.from, &ctx.module, ctx.iface, &ctx.method, &ctx.segs, &body).await {
        Ok(b) => b,
        Err(Refused::Syntax(m)) => {
            return reply::builder(StatusCode::BAD_REQUEST, &ctx.ids, None, None).json(Envelope::error(status::INVALID_PARAMETERS, m));
        }
        Err(Refused::Invalid(m)) => return strip(ctx.fail(status::INVALID_PARAMETERS, m)),
    };
    let resp = match route(state, &ctx, body).await {
        Ok(r) | Err(r) => r,
    };
    respond(state, &ctx, resp).await
}

/// The pipeline's answer for a 2.1.1 caller: `data` in 2.1.1, hub URLs (Link, Location) in the
/// 2.1.1 layout, no routing headers.
async fn respond(state: &AppState, ctx: &Ctx, resp: HttpResponse) -> HttpResponse {
    let status_code = resp.status();
    let headers = resp.headers().clone();
    let body = actix_web::body::to_bytes(resp.into_body()).await.unwrap_or_default();
    let mut out = body.clone();
    if let Ok(mut env) = serde_json::from_slice::<Value>(&body) {
        let ok = env.get("status_code").and_then(Value::as_u64) == Some(u64::from(status::SUCCESS));
        if let Some(data) = env.get("data").filter(|d| ok && !d.is_null())
            && let Some(d) = v211x::outbound_response(state, &ctx.module, ctx.iface, &ctx.method, &ctx.segs, data).await
        {
            env["data"] = d;
            out = Bytes::from(env.to_string());
        }
    }
    let mut b = HttpResponse::build(status_code);
    for (name, value) in headers.iter() {
        let n = name.as_str();
        if n.starts_with("ocpi-") || n == "content-length" {
            continue;
        }
        if (n == "link" || n == "location")
            && let Some(v) = value.to_str().ok().map(|v| v211x::hub_url_to_v211(state, v))
        {
            b.append_header((name.clone(), v));
            continue;
        }
        b.append_header((name.clone(), value.clone()));
    }
    b.body(out)
}

/// An error of the hub for a 2.1.1 caller, without routing headers.
fn strip(mut resp: HttpResponse) -> HttpResponse {
    let names: Vec<_> = resp.headers().keys().filter(|k| k.as_str().starts_with("ocpi-")).cloned().collect();
    for n in names {
        resp.headers_mut().remove(n);
    }
    resp
}

/// Translates a request the hub forwards to a 2.1.1 platform (`send_raw`): the body to 2.1.1,
/// no routing headers. `Err` is the answer to give instead of sending (a request without a
/// 2.1.1 counterpart, an object 2.1.1 cannot represent).
pub(super) async fn prepare(
    state: &AppState,
    ctx: &Ctx,
    target: &PartyKey,
    headers: Vec<(String, String)>,
    body: Option<Bytes>,
) -> Result<(Vec<(String, String)>, Option<Bytes>), HttpResponse> {
    match v211x::outbound_request(state, &ctx.module, ctx.iface, &ctx.method, &ctx.segs, body.as_ref()).await {
        Ok(Outbound::Send(body)) => Ok((v211x::strip_routing_headers(&headers), body)),
        Ok(Outbound::Answer(env)) => Err(reply::builder(StatusCode::OK, &ctx.ids, Some(target), Some(&ctx.from)).json(env)),
        Err(m) => Err(ctx.fail(status::CLIENT_ERROR, format!("{target} speaks OCPI 2.1.1, which cannot represent this: {m}"))),
    }
}

/// A 2.1.1 platform's answer to a forwarded request, in 2.2.1.
pub(super) async fn answer(state: &AppState, ctx: &Ctx, target: &PartyKey, body: &Bytes) -> Bytes {
    v211x::inbound_response(state, &ctx.module, ctx.iface, &ctx.method, &ctx.segs, target, body).await
}
