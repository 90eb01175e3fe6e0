//! `GET /clearing/v1/reports?from=..&to=..&format=csv|json[&country_code=..&party_id=..]`: the
//! settlement report of `ocpi-hub settlement report` over HTTP, for the finance teams of the
//! parties (schema: `docs/settlement-report.md`).
//!
//! - A party authenticates with its OCPI credentials token (the same `Authorization: Token ...`,
//!   Base64 or raw, as on the OCPI modules) and sees the statements of its own roles only
//!   (every country_code/party_id of its platform); naming another party is 403.
//! - The operator may use the token whose argon2 hash is `clearing.report_token`
//!   (`ocpi-hub settlement token` makes one) and sees every party. It is tried only after the
//!   credentials lookup failed, one verification at a time (the same lock as credentials
//!   tokens), and a verified token is remembered by its SHA-256 fingerprint.
//! - No or an unknown token: 401. Bad parameters: 400 with an OCPI status 2001 naming them.

use crate::auth::{self, Accept};
use crate::reply::{self, Ids};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use clearing::ledger::statements::{self, Report, StatementFilter};
use hub_core::ocpi::{Envelope, status};
use hub_core::party::PartyKey;
use hub_core::token;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// The fingerprint of the last operator token verified against a given hash.
static OPERATOR: Mutex<Option<([u8; 32], String)>> = Mutex::new(None);

/// Who is asking.
enum Reader {
    /// A party: the (country_code, party_id) of its roles.
    Parties(BTreeSet<PartyKey>),
    Operator,
}

/// The query of a report request.
struct Query {
    from: i64,
    to: i64,
    csv: bool,
    party: Option<PartyKey>,
}

fn parse_query(qs: &str) -> Result<Query, String> {
    let (mut from, mut to, mut format, mut cc, mut pid) = (None, None, None, None, None);
    for (k, v) in url::form_urlencoded::parse(qs.as_bytes()) {
        let slot = match k.as_ref() {
            "from" => &mut from,
            "to" => &mut to,
            "format" => &mut format,
            "country_code" => &mut cc,
            "party_id" => &mut pid,
            other => return Err(format!("unknown parameter `{other}` (expected from, to, format, country_code, party_id)")),
        };
        *slot = Some(v.into_owned());
    }
    let bound = |name: &str, v: Option<String>| -> Result<i64, String> {
        let v = v.ok_or_else(|| format!("`{name}` is required (a date YYYY-MM-DD or an RFC 3339 timestamp)"))?;
        statements::parse_bound(&v).map_err(|e| format!("{name}: {e}"))
    };
    let (from, to) = (bound("from", from)?, bound("to", to)?);
    if from >= to {
        return Err("`from` must be before `to`".into());
    }
    let csv = match format.as_deref().unwrap_or("json") {
        "csv" => true,
        "json" => false,
        other => return Err(format!("format `{other}`: expected csv or json")),
    };
    let party = match (cc, pid) {
        (None, None) => None,
        (Some(cc), Some(pid)) if cc.len() == 2 && pid.len() == 3 => Some(PartyKey::new(&cc, &pid)),
        (Some(_), Some(_)) => return Err("country_code takes 2 characters and party_id 3".into()),
        _ => return Err("country_code and party_id go together".into()),
    };
    Ok(Query { from, to, csv, party })
}

pub async fn get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let ids = Ids::of(&req);
    let reader = match auth::authenticate(&state, &req, &ids, Accept::ServerToken).await {
        Ok(caller) => Reader::Parties(caller.platform.roles.iter().map(|r| PartyKey::new(&r.country_code, &r.party_id)).collect()),
        Err(refused) if refused.status() == StatusCode::UNAUTHORIZED && is_operator(&state, &req).await => Reader::Operator,
        Err(refused) => return refused,
    };
    let q = match parse_query(req.query_string()) {
        Ok(q) => q,
        Err(m) => return reply::error(&ids, status::INVALID_PARAMETERS, m),
    };
    let parties: Vec<Option<PartyKey>> = match (&reader, &q.party) {
        (Reader::Operator, p) => vec![p.clone()],
        (Reader::Parties(own), Some(p)) if own.contains(p) => vec![Some(p.clone())],
        (Reader::Parties(_), Some(p)) => {
            return reply::builder(StatusCode::FORBIDDEN, &ids, None, None)
                .json(Envelope::error(status::CLIENT_ERROR, format!("{p} is not a party of these credentials")));
        }
        (Reader::Parties(own), None) => own.iter().cloned().map(Some).collect(),
    };
    let mut reports: Vec<Report> = Vec::new();
    for party in parties {
        let filter = StatementFilter { party, from: Some(q.from), to: Some(q.to), ..Default::default() };
        match statements::reports(&state.store, &filter).await {
            Ok(r) => reports.extend(r),
            Err(e) => {
                tracing::error!(error = %e, "settlement report failed");
                return reply::error(&ids, status::SERVER_ERROR, "the report could not be read");
            }
        }
    }
    // The order of `settlement report`: period, party, currency.
    reports.sort_by(|a, b| {
        let k = |r: &Report| (r.statement.period_id, r.statement.country_code.clone(), r.statement.party_id.clone(), r.statement.currency.clone());
        k(a).cmp(&k(b))
    });
    let mut b = reply::builder(StatusCode::OK, &ids, None, None);
    if q.csv {
        b.content_type("text/csv; charset=utf-8").body(statements::to_csv_all(&reports))
    } else {
        b.json(serde_json::json!({"statements": reports}))
    }
}

/// Whether the request carries the operator's report token (`clearing.report_token`).
async fn is_operator(state: &AppState, req: &HttpRequest) -> bool {
    let Some(hash) = state.config.clearing.report_token.clone().filter(|h| !h.trim().is_empty()) else {
        return false;
    };
    let header = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    for candidate in token::candidates(header) {
        let fp = token::fingerprint(&candidate);
        let known = |fp: &[u8; 32]| OPERATOR.lock().ok().and_then(|g| g.as_ref().map(|(f, h)| f == fp && *h == hash)).unwrap_or(false);
        if known(&fp) {
            return true;
        }
        let _turn = state.verify_lock.lock().await;
        if known(&fp) {
            return true;
        }
        let h = hash.clone();
        let ok = tokio::task::spawn_blocking(move || token::verify(&candidate, &h)).await.unwrap_or(false);
        if ok {
            if let Ok(mut g) = OPERATOR.lock() {
                *g = Some((fp, hash.clone()));
            }
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_checked_with_clear_messages() {
        let q = parse_query("from=2026-01-01&to=2026-02-01&format=csv&country_code=nl&party_id=cpo").unwrap();
        assert!(q.csv);
        assert_eq!(q.party, Some(PartyKey::new("NL", "CPO")));
        assert!(!parse_query("from=2026-01-01&to=2026-02-01").unwrap().csv);
        for (qs, needle) in [
            ("to=2026-02-01", "`from` is required"),
            ("from=2026-13-01&to=2026-02-01", "from:"),
            ("from=2026-02-01&to=2026-01-01", "before"),
            ("from=2026-01-01&to=2026-02-01&format=xml", "format `xml`"),
            ("from=2026-01-01&to=2026-02-01&country_code=NL", "go together"),
            ("from=2026-01-01&to=2026-02-01&foo=1", "unknown parameter `foo`"),
        ] {
            let e = parse_query(qs).err().unwrap_or_else(|| panic!("{qs} accepted"));
            assert!(e.contains(needle), "{qs}: {e}");
        }
    }
}
