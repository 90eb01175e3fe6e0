//! Driver authorization for hosted chargers: OCPP Authorize (1.6 `idTag`, 2.0.1 `idToken`), also
//! used by transaction starts.
//!
//! Order of decision (OCPI 2.2.1 mod_tokens, WhitelistType):
//! 1. a token an eMSP pushed to the hub (its copy in `objects`): `valid` false → Blocked;
//!    whitelist ALWAYS or ALLOWED → answered locally; ALLOWED_OFFLINE → real-time, locally only
//!    when the eMSP cannot be reached; NEVER → real-time only;
//! 2. a token learnt earlier through real-time authorization or a START_SESSION command
//!    (`ocpp_id_tags`) → real-time with that eMSP when reachable, else the remembered answer;
//! 3. otherwise real-time authorization with the eMSP the token names (an eMAID such as
//!    `NL-TNM-C12345678-X` names its eMSP), else with every connected eMSP in turn;
//! 4. nobody knows it → Invalid (the issue asks for Invalid, in both versions).
//!
//! Real-time authorization is `POST {eMSP tokens sender endpoint}/{uid}/authorize` with the
//! location and EVSE as LocationReferences, from the hosted CPO to the eMSP, with the eMSP's
//! version (2.1.1 answers carry no token and no authorization reference).

use super::{MicroCpoHandler, internal};
use hub_core::party::{ConnectionStatus, InterfaceRole, PartyKey, Platform, Role};
use hub_core::store::{Charger, LearntIdTag};
use ocpi_router::client;
use ocpi_router::reply::{FROM_CC, FROM_PID, TO_CC, TO_PID};
use ocpp_gateway::{CallErrorReply, OcppVersion, Session};
use serde_json::{Value, json};
use std::sync::Arc;

/// The outcome of authorizing a token, in OCPI terms.
#[derive(Debug, Clone)]
pub(super) struct TokenDecision {
    /// OCPI AllowedType, or `UNKNOWN` when no eMSP knows the token.
    pub allowed: String,
    pub emsp: Option<PartyKey>,
    /// OCPI CdrToken for sessions and CDRs.
    pub cdr_token: Value,
    pub authorization_reference: Option<String>,
    /// OCPI AuthMethod: WHITELIST (answered locally) or AUTH_REQUEST (real-time).
    pub auth_method: &'static str,
}

impl TokenDecision {
    fn unknown(hub: &PartyKey, id: &str) -> Self {
        TokenDecision {
            allowed: "UNKNOWN".into(),
            emsp: None,
            cdr_token: cdr_token_of(hub, id, "OTHER", id),
            authorization_reference: None,
            auth_method: "AUTH_REQUEST",
        }
    }

    /// OCPP `idTagInfo` (1.6) / `idTokenInfo` (2.0.1) status.
    pub fn ocpp_status(&self, version: OcppVersion) -> &'static str {
        match (self.allowed.as_str(), version) {
            ("ALLOWED", _) => "Accepted",
            ("BLOCKED", _) => "Blocked",
            ("EXPIRED", _) => "Expired",
            ("NO_CREDIT", OcppVersion::V201) => "NoCredit",
            ("NOT_ALLOWED", OcppVersion::V201) => "NotAtThisLocation",
            ("NO_CREDIT" | "NOT_ALLOWED", OcppVersion::V16) => "Blocked",
            _ => "Invalid",
        }
    }
}

/// An OCPI CdrToken (the one place the micro-CPO layer builds one).
pub(super) fn cdr_token_of(emsp: &PartyKey, uid: &str, kind: &str, contract_id: &str) -> Value {
    json!({"country_code": emsp.country_code, "party_id": emsp.party_id, "uid": uid, "type": kind, "contract_id": contract_id})
}

/// The eMSP named by an eMAID, if the id is one: the hyphenated form `CC-PPP-...` always, the
/// compact form `CCPPP...` only when the charger typed the token as an eMAID (a hex RFID uid
/// such as `DEADBEEF12` would otherwise name a party).
fn emsp_of_emaid(id: &str, typed_emaid: bool) -> Option<PartyKey> {
    if !typed_emaid && !id.contains('-') {
        return None;
    }
    let compact: String = id.chars().filter(|c| *c != '-').collect();
    if compact.len() < 9 || !compact.is_char_boundary(5) {
        return None;
    }
    let (cc, pid) = (&compact[..2], &compact[2..5]);
    let ok = cc.chars().all(|c| c.is_ascii_alphabetic()) && pid.chars().all(|c| c.is_ascii_alphanumeric());
    // Hyphenated form must put the hyphens where the eMAID has them.
    let hyphen_ok = !id.contains('-') || (id.len() > 7 && &id[2..3] == "-" && &id[6..7] == "-");
    (ok && hyphen_ok).then(|| PartyKey::new(&cc.to_ascii_uppercase(), &pid.to_ascii_uppercase()))
}

/// OCPI token type of an OCPP 2.0.1 IdTokenEnumType (1.6 idTags are RFID uids).
fn ocpi_token_type(ocpp_type: Option<&str>) -> &'static str {
    match ocpp_type {
        None | Some("ISO14443" | "ISO15693") => "RFID",
        Some("eMAID" | "Central") => "APP_USER",
        Some(_) => "OTHER",
    }
}

impl MicroCpoHandler {
    /// OCPP Authorize.
    pub(super) async fn authorize(&self, session: &Session, payload: Value) -> Result<Value, CallErrorReply> {
        let charger = self.charger(session).await?;
        let (id, kind) = id_token(session.version, &payload);
        let decision = self.resolve_token(&charger, &id, kind.as_deref(), None, false).await?;
        tracing::info!(charger_id = %charger.charger_id, allowed = %decision.allowed, "Authorize");
        Ok(match session.version {
            OcppVersion::V16 => json!({"idTagInfo": {"status": decision.ocpp_status(session.version)}}),
            OcppVersion::V201 => json!({"idTokenInfo": {"status": decision.ocpp_status(session.version)}}),
        })
    }

    /// Decides on a token (see the module doc). `evse_uid` narrows the LocationReferences;
    /// `starting`: for a transaction start (which uses up a command's token).
    pub(super) async fn resolve_token(&self, charger: &Charger, id: &str, ocpp_type: Option<&str>, evse_uid: Option<&str>, starting: bool) -> Result<TokenDecision, CallErrorReply> {
        let store = &self.state.store;
        // 0. A token of a START_SESSION / RESERVE_NOW command: the eMSP asked for this session.
        //    Used up by the transaction start: a later swipe of the same token is authorized the usual way.
        if let Some(mut learnt) = store.get_learnt_id_tag(id).await.map_err(internal)?
            && learnt.source == "COMMAND" {
                let decision = TokenDecision {
                    allowed: learnt.allowed.clone(),
                    emsp: Some(learnt.emsp.clone()),
                    cdr_token: learnt.cdr_token.clone(),
                    authorization_reference: learnt.authorization_reference.clone(),
                    auth_method: "COMMAND",
                };
                if starting {
                    learnt.source = "AUTH_REQUEST".into();
                    store.put_learnt_id_tag(&learnt).await.map_err(internal)?;
                }
                return Ok(decision);
            }
        // 1. Tokens pushed by eMSPs: exact uid, then (eMAIDs, 2.0.1 `eMAID` tokens) the contract id.
        let mut pushed = store.find_objects_by_id("tokens", id).await.map_err(internal)?;
        if pushed.is_empty() && !id.eq_ignore_ascii_case(&id.to_ascii_uppercase()) {
            pushed = store.find_objects_by_id("tokens", &id.to_ascii_uppercase()).await.map_err(internal)?;
        }
        if pushed.is_empty() && (ocpp_type == Some("eMAID") || emsp_of_emaid(id, false).is_some()) {
            pushed = store
                .find_tokens_mentioning(id, 20)
                .await
                .map_err(internal)?
                .into_iter()
                .filter(|o| o.json().ok().and_then(|t| t.get("contract_id").and_then(Value::as_str).map(|c| c.eq_ignore_ascii_case(id))).unwrap_or(false))
                .collect();
        }
        if let Some(obj) = pushed.first() {
            let token = obj.json().map_err(internal)?;
            let emsp = obj.key.owner();
            let uid = token.get("uid").and_then(Value::as_str).unwrap_or(id).to_string();
            let cdr_token = cdr_token_of(
                &emsp,
                &uid,
                token.get("type").and_then(Value::as_str).unwrap_or("RFID"),
                token.get("contract_id").and_then(Value::as_str).unwrap_or(&uid),
            );
            let local = TokenDecision {
                allowed: if token.get("valid").and_then(Value::as_bool).unwrap_or(false) { "ALLOWED".into() } else { "BLOCKED".into() },
                emsp: Some(emsp.clone()),
                cdr_token: cdr_token.clone(),
                authorization_reference: None,
                auth_method: "WHITELIST",
            };
            let whitelist = token.get("whitelist").and_then(Value::as_str).unwrap_or("ALLOWED");
            if local.allowed != "ALLOWED" || matches!(whitelist, "ALWAYS" | "ALLOWED") {
                return Ok(local);
            }
            let token_type = token.get("type").and_then(Value::as_str).unwrap_or("RFID").to_string();
            return match self.realtime(charger, &emsp, &uid, &token_type, evse_uid, Some(cdr_token)).await {
                Some(d) => Ok(d),
                None if whitelist == "ALLOWED_OFFLINE" => Ok(local),
                None => Ok(TokenDecision { allowed: "NOT_ALLOWED".into(), ..local }),
            };
        }
        let token_type = ocpi_token_type(ocpp_type);
        // 2. Learnt earlier.
        if let Some(learnt) = store.get_learnt_id_tag(id).await.map_err(internal)? {
            let uid = learnt.cdr_token.get("uid").and_then(Value::as_str).unwrap_or(id).to_string();
            let kind = learnt.cdr_token.get("type").and_then(Value::as_str).unwrap_or(token_type).to_string();
            if let Some(d) = self.realtime(charger, &learnt.emsp, &uid, &kind, evse_uid, Some(learnt.cdr_token.clone())).await {
                return Ok(d);
            }
            return Ok(TokenDecision {
                allowed: learnt.allowed,
                emsp: Some(learnt.emsp),
                cdr_token: learnt.cdr_token,
                authorization_reference: learnt.authorization_reference,
                auth_method: "AUTH_REQUEST",
            });
        }
        // 3. Real-time with the eMSP the id names, else with every eMSP.
        let candidates: Vec<PartyKey> = match emsp_of_emaid(id, ocpp_type == Some("eMAID")) {
            Some(p) => vec![p],
            None => self.emsps_with_realtime().await?,
        };
        for emsp in candidates {
            if let Some(d) = self.realtime(charger, &emsp, id, token_type, evse_uid, None).await
                && d.allowed != "UNKNOWN" {
                    return Ok(d);
                }
        }
        Ok(TokenDecision::unknown(&self.state.hub, id))
    }

    /// Connected eMSP parties that implement the tokens sender interface.
    async fn emsps_with_realtime(&self) -> Result<Vec<PartyKey>, CallErrorReply> {
        let dir = self.state.directory().await.map_err(internal)?;
        Ok(dir
            .iter()
            .filter(|p| p.is_registered() && p.status == ConnectionStatus::Connected)
            .filter(|p| p.endpoint("tokens", InterfaceRole::Sender).is_some())
            .flat_map(|p| p.roles.iter().filter(|r| r.role == Role::Emsp).map(|r| r.key()))
            .collect())
    }

    /// One real-time authorization request. `None` when the eMSP cannot be asked or did not
    /// answer usably; `Some` with `UNKNOWN` when it does not know the token. An ALLOWED answer
    /// is remembered for the transaction start that follows.
    async fn realtime(&self, charger: &Charger, emsp: &PartyKey, uid: &str, token_type: &str, evse_uid: Option<&str>, known: Option<Value>) -> Option<TokenDecision> {
        let platform: Arc<Platform> = self.state.platform_for_party(emsp, "tokens", InterfaceRole::Sender).await.ok().flatten()?;
        if !platform.is_registered() || platform.status == ConnectionStatus::Suspended {
            return None;
        }
        let endpoint = platform.endpoint("tokens", InterfaceRole::Sender)?;
        let v211 = platform.ocpi_version.as_deref().is_some_and(|v| v.starts_with("2.1"));
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let url = if v211 {
            format!("{endpoint}/{}/authorize", enc(uid))
        } else {
            format!("{endpoint}/{}/authorize?type={token_type}", enc(uid))
        };
        let evses: Vec<&str> = match evse_uid {
            Some(e) => vec![e],
            None => charger.evse_uids.iter().map(String::as_str).collect(),
        };
        let body = json!({"location_id": charger.location_id, "evse_uids": evses}).to_string();
        let owner = charger.owner();
        let headers: Vec<(String, String)> = if v211 {
            vec![]
        } else {
            vec![
                (FROM_CC.into(), owner.country_code.clone()),
                (FROM_PID.into(), owner.party_id.clone()),
                (TO_CC.into(), emsp.country_code.clone()),
                (TO_PID.into(), emsp.party_id.clone()),
            ]
        };
        let token = platform.client_token.as_deref().unwrap_or_default();
        let version = platform.ocpi_version.as_deref().unwrap_or("2.2.1");
        let answer = match client::call(&self.state.http, reqwest::Method::POST, &url, token, version, &headers, Some(body.into())).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(emsp = %emsp, error = %e, "real-time authorization failed");
                return None;
            }
        };
        let env = answer.envelope()?;
        if env.status_code == hub_core::ocpi::status::UNKNOWN_TOKEN || answer.status == 404 {
            return Some(TokenDecision { emsp: Some(emsp.clone()), ..TokenDecision::unknown(&self.state.hub, uid) });
        }
        let data = env.data.filter(|_| env.status_code == hub_core::ocpi::status::SUCCESS)?;
        let allowed = data.get("allowed").and_then(Value::as_str)?.to_string();
        let cdr_token = match data.get("token") {
            Some(t) => cdr_token_of(
                emsp,
                t.get("uid").and_then(Value::as_str).unwrap_or(uid),
                t.get("type").and_then(Value::as_str).unwrap_or(token_type),
                t.get("contract_id").and_then(Value::as_str).or_else(|| t.get("auth_id").and_then(Value::as_str)).unwrap_or(uid),
            ),
            None => known.unwrap_or_else(|| cdr_token_of(emsp, uid, token_type, uid)),
        };
        let decision = TokenDecision {
            allowed,
            emsp: Some(emsp.clone()),
            cdr_token,
            authorization_reference: data.get("authorization_reference").and_then(Value::as_str).map(str::to_owned),
            auth_method: "AUTH_REQUEST",
        };
        if decision.allowed == "ALLOWED" {
            let learnt = LearntIdTag {
                id_tag: uid.to_string(),
                emsp: emsp.clone(),
                cdr_token: decision.cdr_token.clone(),
                authorization_reference: decision.authorization_reference.clone(),
                allowed: decision.allowed.clone(),
                source: "AUTH_REQUEST".into(),
            };
            if let Err(e) = self.state.store.put_learnt_id_tag(&learnt).await {
                tracing::error!(error = %e, "remembering an authorized token");
            }
        }
        Some(decision)
    }
}

/// The token of an Authorize/StartTransaction payload: (id, 2.0.1 IdTokenEnumType).
pub(super) fn id_token(version: OcppVersion, payload: &Value) -> (String, Option<String>) {
    match version {
        OcppVersion::V16 => (payload["idTag"].as_str().unwrap_or_default().to_string(), None),
        OcppVersion::V201 => (
            payload["idToken"]["idToken"].as_str().unwrap_or_default().to_string(),
            payload["idToken"]["type"].as_str().map(str::to_owned),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emaid_names_its_emsp() {
        assert_eq!(emsp_of_emaid("NL-TNM-C12345678-X", false), Some(PartyKey::new("NL", "TNM")));
        assert_eq!(emsp_of_emaid("NLTNMC12345678X", true), Some(PartyKey::new("NL", "TNM")));
        assert_eq!(emsp_of_emaid("DEADBEEF12", false), None);
        assert_eq!(emsp_of_emaid("012345678", true), None);
        assert_eq!(emsp_of_emaid("ABC", true), None);
    }

    #[test]
    fn ocpp_status_mapping() {
        let d = |a: &str| TokenDecision { allowed: a.into(), ..TokenDecision::unknown(&PartyKey::new("NL", "HUB"), "x") };
        assert_eq!(d("ALLOWED").ocpp_status(OcppVersion::V16), "Accepted");
        assert_eq!(d("NO_CREDIT").ocpp_status(OcppVersion::V16), "Blocked");
        assert_eq!(d("NO_CREDIT").ocpp_status(OcppVersion::V201), "NoCredit");
        assert_eq!(d("UNKNOWN").ocpp_status(OcppVersion::V16), "Invalid");
        assert_eq!(d("UNKNOWN").ocpp_status(OcppVersion::V201), "Invalid");
    }
}
