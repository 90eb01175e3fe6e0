//! OCPI commands and charging profiles for hosted parties, carried to the chargers over OCPP:
//! the router hands them here ([`ocpi_router::hosted::HostedCpo`]).
//!
//! | OCPI | OCPP 1.6 | OCPP 2.0.1 |
//! |---|---|---|
//! | START_SESSION | RemoteStartTransaction | RequestStartTransaction |
//! | STOP_SESSION | RemoteStopTransaction | RequestStopTransaction |
//! | UNLOCK_CONNECTOR | UnlockConnector | UnlockConnector |
//! | RESERVE_NOW | ReserveNow | ReserveNow |
//! | CANCEL_RESERVATION | CancelReservation | CancelReservation |
//! | chargingprofiles PUT | SetChargingProfile (TxProfile on the session's transaction) | SetChargingProfile |
//! | chargingprofiles DELETE | ClearChargingProfile (TxProfile) | ClearChargingProfile |
//! | chargingprofiles GET | GetCompositeSchedule | GetCompositeSchedule |
//!
//! The OCPI response (CommandResponse / ChargingProfileResponse) is given at once: REJECTED
//! when the charger is not connected, UNKNOWN_SESSION for a session the hub does not run,
//! else ACCEPTED with the timeout. The charger's answer becomes the asynchronous result
//! (CommandResult, ChargingProfileResult, ClearProfileResult, ActiveChargingProfileResult),
//! posted to the requester's `response_url` through the outbox; no answer in time is TIMEOUT
//! (commands) or REJECTED (profiles, which have no TIMEOUT result).

use super::authorize::cdr_token_of;
use super::{MicroCpoHandler, ts_of};
use hub_core::ocpi::status;
use hub_core::party::PartyKey;
use hub_core::store::{Charger, LearntIdTag, OcppTransaction};
use ocpi_router::hosted::{self, BoxFuture, HostedCpo, HostedError, HostedRequest};
use ocpi_router::state::AppState;
use ocpp_gateway::{CallError, ErrorCode, OcppVersion};
use serde_json::{Value, json};

fn err(code: u32, message: impl Into<String>) -> HostedError {
    HostedError { status_code: code, message: message.into() }
}

fn server_error(e: impl std::fmt::Display) -> HostedError {
    tracing::error!(error = %e, "hosted request");
    err(status::SERVER_ERROR, "internal error")
}

/// A stable positive 31-bit OCPP integer id for an OCPI string id (reservations, charging
/// profiles, remote starts: OCPP wants integers where OCPI has strings).
fn ocpp_int_id(id: &str) -> i64 {
    if let Ok(n) = id.parse::<i64>()
        && (1..=i64::from(i32::MAX)).contains(&n) {
            return n;
        }
    // FNV-1a: stable across processes and versions, unlike std's hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    i64::from(h & 0x7fff_ffff).max(1)
}

/// OCPP 2.0.1 IdTokenEnumType for an OCPI token type.
fn id_token_type(ocpi_type: &str) -> &'static str {
    match ocpi_type {
        "RFID" => "ISO14443",
        _ => "Central",
    }
}

/// OCPI CommandResultType for the charger's answer to a command.
fn command_result(answer: &Result<Value, CallError>, ok: &[&str]) -> &'static str {
    match answer {
        Ok(v) => {
            let s = v.get("status").and_then(Value::as_str).unwrap_or_default();
            if ok.contains(&s) {
                "ACCEPTED"
            } else {
                match s {
                    "Occupied" => "EVSE_OCCUPIED",
                    "Faulted" | "Unavailable" => "EVSE_INOPERATIVE",
                    "UnlockFailed" | "OngoingAuthorizedTransaction" | "UnknownConnector" => "FAILED",
                    "NotSupported" => "NOT_SUPPORTED",
                    _ => "REJECTED",
                }
            }
        }
        Err(CallError::Timeout(_)) => "TIMEOUT",
        Err(e) if e.remote_code() == Some(ErrorCode::NotImplemented) || e.remote_code() == Some(ErrorCode::NotSupported) => "NOT_SUPPORTED",
        Err(_) => "FAILED",
    }
}

/// What to send and how to read the answer, decided before answering the requester.
struct Planned {
    charger: Charger,
    action: &'static str,
    payload: Value,
    /// Charger statuses that mean success.
    ok: &'static [&'static str],
}

impl MicroCpoHandler {
    async fn charger_by_id(&self, id: &str) -> Result<Option<Charger>, HostedError> {
        self.state.store.get_charger(id).await.map_err(server_error)
    }

    /// The charger of `owner` at `location_id` serving `evse_uid` (any EVSE when `None`), with
    /// the OCPP number of that EVSE. A connected charger is preferred: an EVSE may have been
    /// mapped on a replacement charger while the old one is still configured.
    async fn charger_for(&self, owner: &PartyKey, location_id: &str, evse_uid: Option<&str>) -> Result<Option<(Charger, i64)>, HostedError> {
        let mut fallback = None;
        for id in self.state.store.charger_ids_of(owner).await.map_err(server_error)? {
            let Some(c) = self.charger_by_id(&id).await? else { continue };
            if c.location_id != location_id {
                continue;
            }
            let pos = match evse_uid {
                Some(uid) => c.evse_uids.iter().position(|u| u == uid),
                None => (!c.evse_uids.is_empty()).then_some(0),
            };
            if let Some(pos) = pos {
                if self.gateway.is_connected(&c.charger_id) {
                    return Ok(Some((c, pos as i64 + 1)));
                }
                fallback.get_or_insert((c, pos as i64 + 1));
            }
        }
        Ok(fallback)
    }

    async fn session_tx(&self, owner: &PartyKey, session_id: &str) -> Result<Option<(OcppTransaction, Charger)>, HostedError> {
        let Some(tx) = self.state.store.find_transaction_by_session(session_id).await.map_err(server_error)? else { return Ok(None) };
        if tx.owner != *owner || !tx.is_active() {
            return Ok(None);
        }
        let Some(c) = self.charger_by_id(&tx.charger_id).await? else { return Ok(None) };
        Ok(Some((tx, c)))
    }

    /// Remembers a command's token so the transaction it starts knows its eMSP (auth COMMAND).
    async fn learn_command_token(&self, requester: &PartyKey, token: &Value, reference: Option<&str>) -> Result<String, HostedError> {
        let uid = token.get("uid").and_then(Value::as_str).unwrap_or_default().to_string();
        let emsp = PartyKey::new(
            token.get("country_code").and_then(Value::as_str).unwrap_or(&requester.country_code),
            token.get("party_id").and_then(Value::as_str).unwrap_or(&requester.party_id),
        );
        let cdr_token = cdr_token_of(
            &emsp,
            &uid,
            token.get("type").and_then(Value::as_str).unwrap_or("APP_USER"),
            token.get("contract_id").and_then(Value::as_str).unwrap_or(&uid),
        );
        let learnt = LearntIdTag {
            id_tag: uid.clone(),
            emsp,
            cdr_token,
            authorization_reference: reference.map(str::to_owned),
            allowed: "ALLOWED".into(),
            source: "COMMAND".into(),
        };
        self.state.store.put_learnt_id_tag(&learnt).await.map_err(server_error)?;
        Ok(uid)
    }

    async fn plan_command(&self, req: &HostedRequest) -> Result<Result<Planned, &'static str>, HostedError> {
        let b = &req.body;
        let command = req.segs.first().map(String::as_str).unwrap_or_default();
        let owner = &req.owner;
        let s = |k: &str| b.get(k).and_then(Value::as_str);
        Ok(Ok(match command {
            "START_SESSION" => {
                let Some((charger, n)) = self.charger_for(owner, s("location_id").unwrap_or_default(), s("evse_uid")).await? else {
                    return Ok(Err("REJECTED"));
                };
                let token = b.get("token").cloned().unwrap_or(Value::Null);
                let uid = self.learn_command_token(&req.requester, &token, s("authorization_reference")).await?;
                let payload = match self.version_of(&charger) {
                    OcppVersion::V16 => {
                        if uid.len() > 20 {
                            // An OCPP 1.6 idTag holds 20 characters.
                            return Ok(Err("NOT_SUPPORTED"));
                        }
                        json!({"connectorId": n, "idTag": uid})
                    }
                    OcppVersion::V201 => json!({
                        "idToken": {"idToken": uid, "type": id_token_type(token.get("type").and_then(Value::as_str).unwrap_or("APP_USER"))},
                        "remoteStartId": ocpp_int_id(&uuid::Uuid::new_v4().to_string()),
                        "evseId": n,
                    }),
                };
                let action = match self.version_of(&charger) { OcppVersion::V16 => "RemoteStartTransaction", OcppVersion::V201 => "RequestStartTransaction" };
                Planned { charger, action, payload, ok: &["Accepted"] }
            }
            "STOP_SESSION" => {
                let Some((tx, charger)) = self.session_tx(owner, s("session_id").unwrap_or_default()).await? else {
                    return Ok(Err("UNKNOWN_SESSION"));
                };
                let (action, payload) = match self.version_of(&charger) {
                    OcppVersion::V16 => ("RemoteStopTransaction", json!({"transactionId": tx.transaction_id.parse::<i64>().unwrap_or(tx.id)})),
                    OcppVersion::V201 => ("RequestStopTransaction", json!({"transactionId": tx.transaction_id})),
                };
                Planned { charger, action, payload, ok: &["Accepted"] }
            }
            "UNLOCK_CONNECTOR" => {
                let Some((charger, n)) = self.charger_for(owner, s("location_id").unwrap_or_default(), s("evse_uid")).await? else {
                    return Ok(Err("REJECTED"));
                };
                let payload = match self.version_of(&charger) {
                    OcppVersion::V16 => json!({"connectorId": n}),
                    OcppVersion::V201 => json!({"evseId": n, "connectorId": 1}),
                };
                Planned { charger, action: "UnlockConnector", payload, ok: &["Unlocked"] }
            }
            "RESERVE_NOW" => {
                let Some((charger, n)) = self.charger_for(owner, s("location_id").unwrap_or_default(), s("evse_uid")).await? else {
                    return Ok(Err("REJECTED"));
                };
                let token = b.get("token").cloned().unwrap_or(Value::Null);
                let uid = self.learn_command_token(&req.requester, &token, s("authorization_reference")).await?;
                let reservation = s("reservation_id").unwrap_or_default().to_string();
                let id = ocpp_int_id(&reservation);
                self.state.store.put_reservation(owner, &reservation, &charger.charger_id, id).await.map_err(server_error)?;
                let expiry = s("expiry_date").unwrap_or_default();
                let payload = match self.version_of(&charger) {
                    OcppVersion::V16 => json!({"connectorId": n, "expiryDate": expiry, "idTag": uid, "reservationId": id}),
                    OcppVersion::V201 => json!({"id": id, "expiryDateTime": expiry, "evseId": n,
                        "idToken": {"idToken": uid, "type": id_token_type(token.get("type").and_then(Value::as_str).unwrap_or("APP_USER"))}}),
                };
                Planned { charger, action: "ReserveNow", payload, ok: &["Accepted"] }
            }
            "CANCEL_RESERVATION" => {
                let reservation = s("reservation_id").unwrap_or_default();
                let Some((charger_id, id)) = self.state.store.get_reservation(owner, reservation).await.map_err(server_error)? else {
                    return Ok(Err("REJECTED"));
                };
                let Some(charger) = self.charger_by_id(&charger_id).await? else { return Ok(Err("REJECTED")) };
                Planned { charger, action: "CancelReservation", payload: json!({"reservationId": id}), ok: &["Accepted"] }
            }
            _ => return Ok(Err("NOT_SUPPORTED")),
        }))
    }

    fn version_of(&self, charger: &Charger) -> OcppVersion {
        self.gateway.charger(&charger.charger_id).map(|h| h.version()).unwrap_or(OcppVersion::V16)
    }

    async fn command(&self, req: HostedRequest) -> Result<Value, HostedError> {
        let timeout = self.state.config.ocpi211.command_timeout_s.max(1);
        let response_url = req.body.get("response_url").and_then(Value::as_str).unwrap_or_default().to_string();
        let planned = match self.plan_command(&req).await? {
            Ok(p) => p,
            Err(result) => return Ok(json!({"result": result, "timeout": timeout})),
        };
        if !self.gateway.is_connected(&planned.charger.charger_id) {
            return Ok(json!({"result": "REJECTED", "timeout": timeout, "message": [{"language": "en", "text": "the charger is not connected"}]}));
        }
        let gateway = self.gateway.clone();
        let state = self.state.clone();
        tokio::spawn(async move {
            let answer = tokio::time::timeout(
                std::time::Duration::from_secs(u64::from(timeout)),
                gateway.send_call(&planned.charger.charger_id, planned.action, planned.payload),
            )
            .await
            .unwrap_or(Err(CallError::Timeout(std::time::Duration::from_secs(u64::from(timeout)))));
            let result = command_result(&answer, planned.ok);
            tracing::info!(charger_id = %planned.charger.charger_id, action = planned.action, result, answer = ?answer, "command answered");
            let body = json!({"result": result});
            if let Err(e) = hosted::queue_result(&state, &req, &response_url, &body).await {
                tracing::error!(error = %e, "queueing a CommandResult");
            }
        });
        Ok(json!({"result": "ACCEPTED", "timeout": timeout}))
    }

    async fn charging_profile(&self, req: HostedRequest) -> Result<Value, HostedError> {
        let timeout = self.state.config.ocpi211.command_timeout_s.max(1);
        let session_id = req.segs.first().cloned().unwrap_or_default();
        let Some((tx, charger)) = self.session_tx(&req.owner, &session_id).await? else {
            return Ok(json!({"result": "UNKNOWN_SESSION", "timeout": timeout}));
        };
        if !self.gateway.is_connected(&charger.charger_id) {
            return Ok(json!({"result": "REJECTED", "timeout": timeout}));
        }
        let query = |k: &str| req.query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone());
        let v16 = self.version_of(&charger) == OcppVersion::V16;
        let n = tx.evse_number;
        let (action, payload, response_url, result_kind) = match req.method.as_str() {
            "PUT" => {
                let profile = &req.body["charging_profile"];
                let schedule = ocpp_schedule(profile, v16);
                let id = ocpp_int_id(&session_id);
                let payload = if v16 {
                    let mut p = json!({"chargingProfileId": id, "stackLevel": 1, "chargingProfilePurpose": "TxProfile",
                        "chargingProfileKind": if profile.get("start_date_time").is_some() { "Absolute" } else { "Relative" },
                        "chargingSchedule": schedule});
                    if let Ok(t) = tx.transaction_id.parse::<i64>() {
                        p["transactionId"] = json!(t);
                    }
                    json!({"connectorId": n, "csChargingProfiles": p})
                } else {
                    json!({"evseId": n, "chargingProfile": {"id": id, "stackLevel": 1, "chargingProfilePurpose": "TxProfile",
                        "chargingProfileKind": if profile.get("start_date_time").is_some() { "Absolute" } else { "Relative" },
                        "chargingSchedule": [schedule], "transactionId": tx.transaction_id}})
                };
                let url = req.body.get("response_url").and_then(Value::as_str).unwrap_or_default().to_string();
                ("SetChargingProfile", payload, url, "set")
            }
            "DELETE" => {
                let payload = if v16 {
                    json!({"connectorId": n, "chargingProfilePurpose": "TxProfile"})
                } else {
                    json!({"chargingProfileCriteria": {"evseId": n, "chargingProfilePurpose": "TxProfile"}})
                };
                ("ClearChargingProfile", payload, query("response_url").unwrap_or_default(), "clear")
            }
            _ => {
                let duration = query("duration").and_then(|d| d.parse::<i64>().ok()).unwrap_or(3600);
                let payload = if v16 { json!({"connectorId": n, "duration": duration}) } else { json!({"evseId": n, "duration": duration}) };
                ("GetCompositeSchedule", payload, query("response_url").unwrap_or_default(), "get")
            }
        };
        let gateway = self.gateway.clone();
        let state = self.state.clone();
        let charger_id = charger.charger_id.clone();
        tokio::spawn(async move {
            let answer = tokio::time::timeout(std::time::Duration::from_secs(u64::from(timeout)), gateway.send_call(&charger_id, action, payload))
                .await
                .unwrap_or(Err(CallError::Timeout(std::time::Duration::from_secs(u64::from(timeout)))));
            let accepted = matches!(&answer, Ok(v) if v.get("status").and_then(Value::as_str) == Some("Accepted"));
            let unknown = matches!(&answer, Ok(v) if v.get("status").and_then(Value::as_str) == Some("Unknown"));
            let result = if accepted { "ACCEPTED" } else if unknown { "UNKNOWN" } else { "REJECTED" };
            let mut body = json!({"result": result});
            if result_kind == "get"
                && let Ok(v) = &answer
                && let Some(profile) = ocpi_active_profile(v, v16) {
                    body["profile"] = profile;
                }
            tracing::info!(charger_id = %charger_id, action, result, answer = ?answer, "charging profile answered");
            if let Err(e) = hosted::queue_result(&state, &req, &response_url, &body).await {
                tracing::error!(error = %e, "queueing a charging profile result");
            }
        });
        Ok(json!({"result": "ACCEPTED", "timeout": timeout}))
    }
}

/// OCPI ChargingProfile → OCPP ChargingSchedule (limits are physical quantities, not money).
fn ocpp_schedule(profile: &Value, v16: bool) -> Value {
    let num = |v: &Value| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok()));
    let periods: Vec<Value> = profile
        .get("charging_profile_period")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|p| json!({"startPeriod": p["start_period"].as_i64().unwrap_or(0), "limit": num(&p["limit"]).unwrap_or(0.0)})).collect())
        .unwrap_or_default();
    let mut s = json!({"chargingRateUnit": profile.get("charging_rate_unit").and_then(Value::as_str).unwrap_or("W"), "chargingSchedulePeriod": periods});
    if !v16 {
        s["id"] = json!(1);
    }
    if let Some(d) = profile.get("duration").and_then(Value::as_i64) {
        s["duration"] = json!(d);
    }
    if let Some(t) = profile.get("start_date_time").and_then(Value::as_str) {
        s["startSchedule"] = json!(t);
    }
    if let Some(m) = profile.get("min_charging_rate").and_then(num) {
        s["minChargingRate"] = json!(m);
    }
    s
}

/// OCPP GetCompositeSchedule answer → OCPI ActiveChargingProfile.
fn ocpi_active_profile(answer: &Value, v16: bool) -> Option<Value> {
    let (schedule, start) = if v16 {
        (answer.get("chargingSchedule")?, answer.get("scheduleStart").and_then(Value::as_str))
    } else {
        let s = answer.get("schedule")?;
        (s, s.get("scheduleStart").and_then(Value::as_str))
    };
    let periods: Vec<Value> = schedule
        .get("chargingSchedulePeriod")
        .and_then(Value::as_array)?
        .iter()
        .map(|p| json!({"start_period": p["startPeriod"], "limit": p["limit"]}))
        .collect();
    let mut profile = json!({"charging_rate_unit": schedule.get("chargingRateUnit").cloned().unwrap_or(json!("W")), "charging_profile_period": periods});
    if let Some(d) = schedule.get("duration") {
        profile["duration"] = d.clone();
    }
    Some(json!({"start_date_time": start.map(str::to_owned).unwrap_or_else(|| ts_of(chrono::Utc::now().timestamp_micros())), "charging_profile": profile}))
}

impl HostedCpo for MicroCpoHandler {
    fn handle<'a>(&'a self, _state: &'a AppState, req: HostedRequest) -> BoxFuture<'a, Result<Value, HostedError>> {
        Box::pin(async move {
            match req.module.as_str() {
                "commands" => self.command(req).await,
                "chargingprofiles" => self.charging_profile(req).await,
                other => Err(err(status::CLIENT_ERROR, format!("{other} is not handled for hosted parties"))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservation_ids_are_stable_and_positive() {
        assert_eq!(ocpp_int_id("42"), 42);
        let a = ocpp_int_id("RES-ABC");
        assert_eq!(a, ocpp_int_id("RES-ABC"));
        assert!(a >= 1 && a <= i64::from(i32::MAX));
        assert_ne!(a, ocpp_int_id("RES-ABD"));
    }

    #[test]
    fn command_results() {
        assert_eq!(command_result(&Ok(json!({"status": "Accepted"})), &["Accepted"]), "ACCEPTED");
        assert_eq!(command_result(&Ok(json!({"status": "Rejected"})), &["Accepted"]), "REJECTED");
        assert_eq!(command_result(&Ok(json!({"status": "Occupied"})), &["Accepted"]), "EVSE_OCCUPIED");
        assert_eq!(command_result(&Err(CallError::Timeout(std::time::Duration::from_secs(1))), &["Accepted"]), "TIMEOUT");
        assert_eq!(command_result(&Err(CallError::Disconnected), &["Accepted"]), "FAILED");
    }
}
