//! Charger transactions → the `ocpp_transactions` record (and from there, in `ocpi_out.rs`, the
//! OCPI Session and CDR).
//!
//! OCPP 1.6: StartTransaction (the hub hands out the row id as `transactionId`), MeterValues,
//! StopTransaction (with its `transactionData`). OCPP 2.0.1: TransactionEvent Started / Updated /
//! Ended (the charger's own transaction id; `seqNo` kept; offline events carry their own
//! timestamps), MeterValues, NotifyEVChargingNeeds (kept on the transaction for smart charging).
//!
//! Robustness, each case chosen so that no energy is lost and every message is acknowledged:
//! - a repeated start (1.6 after a reconnect: same connector, id tag and timestamp; 2.0.1: same
//!   transaction id) finds the transaction it created and answers the same id;
//! - a stop for a transaction the hub never saw is acknowledged and recorded from what it
//!   carries (its meter values, its meterStop), and a CDR is made from that;
//! - 1.6 `transactionId` 0 or -1 (a charger that started offline and never got an id): the
//!   active transaction of that connector (MeterValues) or with that id tag / the only active
//!   one (StopTransaction), else as above;
//! - clock skew: a timestamp more than [`MAX_FUTURE_SKEW_S`] in the future is replaced by the
//!   hub's time; past timestamps are kept (they are how an offline charger replays its queue);
//!   an end before the start is moved to the start;
//! - samples are stored with their own timestamps and read in time order, so a replayed queue
//!   arriving late or out of order still prices correctly.
//!
//! Quirks repaired before schema validation ([`normalize`]): unit spellings (`KWH`, `wh`), and a
//! 1.6 `meterStart`/`meterStop` sent as a decimal number of kWh where an integer of Wh is due.

use super::authorize::{TokenDecision, cdr_token_of, id_token};
use super::{MicroCpoHandler, internal, parse_ts};
use hub_core::store::{Charger, MeterSample, NewTransaction, OcppTransaction, TransactionUpdate};
use ocpp_gateway::{CallErrorReply, ErrorCode, OcppVersion, Session};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::str::FromStr;

/// Timestamps further ahead of the hub's clock than this are taken as a wrong charger clock.
pub const MAX_FUTURE_SKEW_S: i64 = 300;

/// Repairs quirks of transaction payloads before schema validation.
pub(super) fn normalize(session: &Session, action: &str, payload: &mut Value) {
    if session.version == OcppVersion::V16 {
        for field in ["meterStart", "meterStop"] {
            if let Some(n) = payload.get(field).and_then(Value::as_number)
                && !n.is_i64() && !n.is_u64()
                && let Some(d) = decimal_of_number(n) {
                    // A decimal where Wh integers are due: the meter speaks kWh.
                    let wh = (d * Decimal::ONE_THOUSAND).round();
                    if let Ok(i) = i64::try_from(wh) {
                        tracing::info!(charger_id = %session.charger_id, action, field, "kWh meter reading converted to Wh");
                        payload[field] = json!(i);
                    }
                }
        }
    }
    // Unit spellings, in every sampled value of the payload.
    let lists: Vec<&mut Value> = match action {
        "MeterValues" | "TransactionEvent" => payload.get_mut("meterValue").into_iter().collect(),
        "StopTransaction" => payload.get_mut("transactionData").into_iter().collect(),
        _ => vec![],
    };
    for list in lists {
        for mv in list.as_array_mut().into_iter().flatten() {
            for sv in mv.get_mut("sampledValue").and_then(Value::as_array_mut).into_iter().flatten() {
                let unit = match session.version {
                    OcppVersion::V16 => sv.get_mut("unit"),
                    OcppVersion::V201 => sv.get_mut("unitOfMeasure").and_then(|u| u.get_mut("unit")),
                };
                if let Some(u) = unit
                    && let Some(fixed) = u.as_str().and_then(canonical_unit) {
                        *u = Value::String(fixed.to_string());
                    }
            }
        }
    }
}

/// The schema's spelling of a unit sent in another case.
fn canonical_unit(u: &str) -> Option<&'static str> {
    let canon = match u.to_ascii_lowercase().as_str() {
        "wh" => "Wh",
        "kwh" => "kWh",
        "varh" => "varh",
        "kvarh" => "kvarh",
        "w" => "W",
        "kw" => "kW",
        "a" => "A",
        "v" => "V",
        _ => return None,
    };
    (canon != u).then_some(canon)
}

fn decimal_of_number(n: &serde_json::Number) -> Option<Decimal> {
    let s = n.to_string();
    Decimal::from_str(&s).ok().or_else(|| Decimal::from_scientific(&s).ok())
}

fn decimal_of(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => decimal_of_number(n),
        Value::String(s) => Decimal::from_str(s.trim()).ok().or_else(|| Decimal::from_scientific(s.trim()).ok()),
        _ => None,
    }
}

/// A charger timestamp, with future skew corrected (see the module doc).
fn charger_time(ts: Option<&str>) -> i64 {
    let now = chrono::Utc::now().timestamp_micros();
    match ts.and_then(parse_ts) {
        Some(t) if t <= now + MAX_FUTURE_SKEW_S * 1_000_000 => t,
        Some(_) => {
            tracing::warn!("charger timestamp in the future: using the hub's time");
            now
        }
        None => now,
    }
}

/// Reads the samples of OCPP MeterValue objects (both versions).
pub(super) fn samples_of(version: OcppVersion, meter_values: Option<&Value>) -> Vec<MeterSample> {
    let mut out = Vec::new();
    for mv in meter_values.and_then(Value::as_array).into_iter().flatten() {
        let ts = charger_time(mv.get("timestamp").and_then(Value::as_str));
        let mut s = MeterSample { ts, ..Default::default() };
        let mut current_phases = Decimal::ZERO;
        let mut saw_phase_current = false;
        for sv in mv.get("sampledValue").and_then(Value::as_array).into_iter().flatten() {
            let measurand = sv.get("measurand").and_then(Value::as_str).unwrap_or("Energy.Active.Import.Register");
            let (unit, multiplier) = match version {
                OcppVersion::V16 => (sv.get("unit").and_then(Value::as_str), 0),
                OcppVersion::V201 => {
                    let u = sv.get("unitOfMeasure");
                    (
                        u.and_then(|u| u.get("unit")).and_then(Value::as_str),
                        u.and_then(|u| u.get("multiplier")).and_then(Value::as_i64).unwrap_or(0),
                    )
                }
            };
            // Signed meter values in 1.6 carry an opaque blob as value.
            if sv.get("format").and_then(Value::as_str) == Some("SignedData") {
                continue;
            }
            let Some(mut value) = sv.get("value").and_then(decimal_of) else { continue };
            if multiplier != 0 {
                let factor = Decimal::from_i128_with_scale(10i128.pow(multiplier.unsigned_abs().min(20) as u32), 0);
                value = if multiplier > 0 { value * factor } else { value / factor };
            }
            let phase = sv.get("phase").and_then(Value::as_str);
            match measurand {
                "Energy.Active.Import.Register" if phase.is_none() => {
                    let factor = match unit.map(str::to_ascii_lowercase).as_deref() {
                        None | Some("wh") => Decimal::ONE,
                        Some("kwh") => Decimal::ONE_THOUSAND,
                        _ => continue,
                    };
                    s.energy_wh = Some(value * factor);
                }
                "Power.Active.Import" if phase.is_none() => {
                    s.power_kw = Some(match unit {
                        Some("kW") => value,
                        _ => value / Decimal::ONE_THOUSAND,
                    });
                }
                "Current.Import" => match phase {
                    None => s.current_a = Some(value),
                    Some("L1" | "L2" | "L3") => {
                        current_phases += value;
                        saw_phase_current = true;
                    }
                    Some(_) => {}
                },
                _ => {}
            }
        }
        if s.current_a.is_none() && saw_phase_current {
            s.current_a = Some(current_phases);
        }
        if s.energy_wh.is_some() || s.power_kw.is_some() || s.current_a.is_some() {
            out.push(s);
        }
    }
    out
}

fn property(message: impl Into<String>) -> CallErrorReply {
    CallErrorReply::new(ErrorCode::PropertyConstraintViolation, message)
}

/// OCPP 1.6 StopTransaction `reason` / 2.0.1 `stoppedReason`, kept as sent.
fn stop_reason(version: OcppVersion, payload: &Value) -> Option<String> {
    let v = match version {
        OcppVersion::V16 => payload.get("reason"),
        OcppVersion::V201 => payload.get("transactionInfo").and_then(|t| t.get("stoppedReason")),
    };
    v.and_then(Value::as_str).map(str::to_owned)
}

impl MicroCpoHandler {
    /// Records a start (idempotently) and publishes the Session when it is new.
    #[allow(clippy::too_many_arguments)]
    async fn begin(
        &self,
        charger: &Charger,
        number: i64,
        connector_hint: Option<i64>,
        transaction_id: Option<String>,
        token: Option<(String, Option<String>)>,
        started_at: i64,
        initial: Vec<MeterSample>,
        seen_start: bool,
    ) -> Result<(OcppTransaction, Option<TokenDecision>), CallErrorReply> {
        let evse_uid = charger
            .evse_uid(number)
            .ok_or_else(|| property(format!("connector/EVSE {number} is not configured for charger {}", charger.charger_id)))?
            .to_string();
        let connector_id = self.connector_of(charger, &evse_uid, connector_hint).await?;
        let decision = match &token {
            Some((id, kind)) if !id.is_empty() => Some(self.resolve_token(charger, id, kind.as_deref(), Some(&evse_uid), true).await?),
            _ => None,
        };
        let hub = self.state.hub.clone();
        let (cdr_token, emsp, auth_method, reference) = match &decision {
            Some(d) => (d.cdr_token.clone(), d.emsp.clone(), d.auth_method, d.authorization_reference.clone()),
            None => {
                // No token (2.0.1 NoAuthorization, or an offline start): the hub stands in.
                let uid = token.as_ref().map(|t| t.0.clone()).filter(|s| !s.is_empty()).unwrap_or_else(|| "UNKNOWN".into());
                (cdr_token_of(&hub, &uid, "OTHER", &uid), None, "WHITELIST", None)
            }
        };
        let meter_start = initial.iter().find_map(|s| s.energy_wh).unwrap_or_default();
        let new = NewTransaction {
            charger_id: charger.charger_id.clone(),
            transaction_id,
            owner: charger.owner(),
            location_id: charger.location_id.clone(),
            evse_uid,
            connector_id,
            evse_number: number,
            id_tag: token.map(|t| t.0).filter(|s| !s.is_empty()),
            emsp,
            cdr_token,
            auth_method: auth_method.to_string(),
            authorization_reference: reference,
            started_at,
            meter_start_wh: meter_start,
            seen_start,
        };
        let (tx, created) = self.state.store.start_transaction(&new).await.map_err(internal)?;
        let tx = if created && !initial.is_empty() {
            self.state.store.update_transaction(tx.id, &TransactionUpdate::default(), &initial).await.map_err(internal)?
        } else {
            tx
        };
        if created {
            tracing::info!(charger_id = %charger.charger_id, session = %tx.session_id, "transaction started");
        } else {
            tracing::info!(charger_id = %charger.charger_id, session = %tx.session_id, "repeated transaction start: same transaction");
        }
        // Published on a repeat too: the first attempt may have crashed before publishing.
        self.publish_session(&tx).await?;
        Ok((tx, decision))
    }

    /// The OCPI connector id of an EVSE: the 2.0.1 connector number's connector when given,
    /// else the EVSE's first connector.
    async fn connector_of(&self, charger: &Charger, evse_uid: &str, hint: Option<i64>) -> Result<String, CallErrorReply> {
        let loc = self.location(charger).await?;
        let connectors = loc
            .as_ref()
            .and_then(|l| l.get("evses"))
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|e| e.get("uid").and_then(Value::as_str) == Some(evse_uid)))
            .and_then(|e| e.get("connectors"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let idx = hint.and_then(|h| usize::try_from(h - 1).ok()).filter(|i| *i < connectors.len()).unwrap_or(0);
        Ok(connectors.get(idx).and_then(|c| c.get("id")).and_then(Value::as_str).unwrap_or("1").to_string())
    }

    /// Records samples (and other changes) and sends the Session PATCH.
    async fn progress(&self, tx: &OcppTransaction, update: TransactionUpdate, samples: &[MeterSample]) -> Result<OcppTransaction, CallErrorReply> {
        let after = self.state.store.update_transaction(tx.id, &update, samples).await.map_err(internal)?;
        if after.is_active() {
            self.publish_session(&after).await?;
        }
        Ok(after)
    }

    /// Ends a transaction: the Session becomes COMPLETED and the CDR is made (once).
    async fn finish(&self, tx: &OcppTransaction, stopped_at: i64, reason: Option<String>, samples: &[MeterSample]) -> Result<OcppTransaction, CallErrorReply> {
        if !tx.is_active() {
            // A replayed stop: samples still recorded; the CDR exists already.
            if !samples.is_empty() {
                self.state.store.update_transaction(tx.id, &TransactionUpdate::default(), samples).await.map_err(internal)?;
            }
            if tx.cdr_id.is_none() {
                self.publish_cdr(tx).await?;
            }
            return Ok(tx.clone());
        }
        let stopped_at = stopped_at.max(tx.started_at);
        let meter_stop = samples.iter().rev().find_map(|s| s.energy_wh);
        let update = TransactionUpdate {
            status: Some("COMPLETED".into()),
            stopped_at: Some(stopped_at),
            meter_stop_wh: meter_stop,
            stop_reason: reason,
            ..Default::default()
        };
        let after = self.state.store.update_transaction(tx.id, &update, samples).await.map_err(internal)?;
        self.publish_session(&after).await?;
        self.publish_cdr(&after).await?;
        tracing::info!(charger_id = %after.charger_id, session = %after.session_id, "transaction ended");
        Ok(after)
    }

    // ----------------------------------------------------------------------------------------
    // OCPP 1.6

    pub(super) async fn start_transaction_16(&self, session: &Session, payload: Value) -> Result<Value, CallErrorReply> {
        let charger = self.charger(session).await?;
        let number = payload["connectorId"].as_i64().unwrap_or(0);
        if number < 1 {
            return Err(property("connectorId: a transaction runs on connector 1 or higher"));
        }
        let started_at = charger_time(payload["timestamp"].as_str());
        let meter_start = Decimal::from(payload["meterStart"].as_i64().unwrap_or(0));
        let start_sample = MeterSample { ts: started_at, energy_wh: Some(meter_start), ..Default::default() };
        let (tx, decision) =
            self.begin(&charger, number, None, None, Some(id_token(session.version, &payload)), started_at, vec![start_sample], true).await?;
        let status = decision.map(|d| d.ocpp_status(session.version)).unwrap_or("Invalid");
        Ok(json!({"idTagInfo": {"status": status}, "transactionId": tx.id}))
    }

    pub(super) async fn stop_transaction_16(&self, session: &Session, payload: Value) -> Result<Value, CallErrorReply> {
        let charger = self.charger(session).await?;
        let given = payload["transactionId"].as_i64().unwrap_or(0);
        let id_tag = payload["idTag"].as_str().map(str::to_owned);
        let stopped_at = charger_time(payload["timestamp"].as_str());
        let mut samples = samples_of(session.version, payload.get("transactionData"));
        let meter_stop = Decimal::from(payload["meterStop"].as_i64().unwrap_or(0));
        samples.push(MeterSample { ts: stopped_at, energy_wh: Some(meter_stop), ..Default::default() });
        let tx = self.find_16(&charger, given, None, id_tag.as_deref()).await?;
        let tx = match tx {
            Some(tx) => tx,
            None => {
                // Never seen: record it from what the stop tells.
                // A 1.6 stop names no connector: the charger's first (its only one, for most).
                let number = 1;
                let started_at = samples.iter().map(|s| s.ts).min().unwrap_or(stopped_at);
                let tx_id = format!("unseen-{given}-{}", started_at);
                tracing::warn!(charger_id = %charger.charger_id, given, "StopTransaction for a transaction the hub never saw: making it up from the stop");
                let token = id_tag.clone().map(|t| (t, None));
                self.begin(&charger, number, None, Some(tx_id), token, started_at, vec![], false).await?.0
            }
        };
        self.finish(&tx, stopped_at, stop_reason(session.version, &payload), &samples).await?;
        Ok(match id_tag {
            Some(_) => json!({"idTagInfo": {"status": "Accepted"}}),
            None => json!({}),
        })
    }

    /// A 1.6 transaction by the id the charger gives; 0, -1 or an unknown id fall back to the
    /// active transaction of the connector, or with the id tag, or the charger's only one.
    async fn find_16(&self, charger: &Charger, given: i64, connector: Option<i64>, id_tag: Option<&str>) -> Result<Option<OcppTransaction>, CallErrorReply> {
        let store = &self.state.store;
        if given > 0
            && let Some(tx) = store.get_transaction(&charger.charger_id, &given.to_string()).await.map_err(internal)?
        {
            return Ok(Some(tx));
        }
        let active = store.active_transactions(&charger.charger_id, connector).await.map_err(internal)?;
        if given > 0 {
            // An id the hub never handed out: only a made-up record can match it.
            let prefix = format!("unseen-{given}-");
            let found = active.into_iter().find(|t| t.transaction_id.starts_with(&prefix));
            return Ok(found);
        }
        if let Some(tag) = id_tag
            && let Some(tx) = active.iter().find(|t| t.id_tag.as_deref() == Some(tag)) {
                return Ok(Some(tx.clone()));
            }
        Ok(if active.len() == 1 { active.into_iter().next() } else { None })
    }

    // ----------------------------------------------------------------------------------------
    // Both versions

    pub(super) async fn meter_values(&self, session: &Session, payload: Value) -> Result<Value, CallErrorReply> {
        let charger = self.charger(session).await?;
        let samples = samples_of(session.version, payload.get("meterValue"));
        let tx = match session.version {
            OcppVersion::V16 => {
                let connector = payload["connectorId"].as_i64().unwrap_or(0);
                match payload.get("transactionId").and_then(Value::as_i64) {
                    Some(id) => self.find_16(&charger, id, Some(connector).filter(|c| *c > 0), None).await?,
                    None if connector > 0 => self.state.store.active_transactions(&charger.charger_id, Some(connector)).await.map_err(internal)?.into_iter().next(),
                    None => None,
                }
            }
            OcppVersion::V201 => {
                let evse = payload["evseId"].as_i64().unwrap_or(0);
                if evse > 0 {
                    self.state.store.active_transactions(&charger.charger_id, Some(evse)).await.map_err(internal)?.into_iter().next()
                } else {
                    None
                }
            }
        };
        // Readings outside a transaction (connector 0, idle meters) are not billed.
        if let Some(tx) = tx
            && !samples.is_empty() {
                if tx.is_active() {
                    self.progress(&tx, TransactionUpdate::default(), &samples).await?;
                } else {
                    self.state.store.update_transaction(tx.id, &TransactionUpdate::default(), &samples).await.map_err(internal)?;
                }
            }
        Ok(json!({}))
    }

    /// 1.6 StatusNotification during a transaction: Charging / SuspendedEV(SE) / Finishing tell
    /// whether the EV charges (parking time otherwise).
    pub(super) async fn note_charging_state(&self, session: &Session, number: i64, charging: bool, ts: Option<i64>) -> Result<(), CallErrorReply> {
        let ts = ts.unwrap_or_else(|| charger_time(None));
        self.state.store.note_charging_state(&session.charger_id, number, charging, ts).await.map_err(internal)
    }

    // ----------------------------------------------------------------------------------------
    // OCPP 2.0.1

    pub(super) async fn transaction_event(&self, session: &Session, payload: Value) -> Result<Value, CallErrorReply> {
        let charger = self.charger(session).await?;
        let event = payload["eventType"].as_str().unwrap_or_default();
        let ts = charger_time(payload["timestamp"].as_str());
        let seq = payload["seqNo"].as_i64();
        let info = &payload["transactionInfo"];
        let tx_id = info["transactionId"].as_str().unwrap_or_default().to_string();
        let mut samples = samples_of(session.version, payload.get("meterValue"));
        if let Some(state) = info.get("chargingState").and_then(Value::as_str) {
            samples.push(MeterSample { ts, charging: Some(state == "Charging"), ..Default::default() });
        }
        let token = payload.get("idToken").map(|_| id_token(session.version, &payload)).filter(|(id, kind)| !id.is_empty() && kind.as_deref() != Some("NoAuthorization"));
        let existing = self.state.store.get_transaction(&charger.charger_id, &tx_id).await.map_err(internal)?;
        let tx = match existing {
            Some(tx) => tx,
            None => {
                // Started, or the first event the hub sees of this transaction (Updated/Ended of
                // a transaction whose start was lost): a record either way.
                let number = payload["evse"]["id"].as_i64().unwrap_or(1);
                let connector = payload["evse"]["connectorId"].as_i64();
                let seen_start = event == "Started";
                let started_at = if seen_start { ts } else { samples.iter().map(|s| s.ts).min().unwrap_or(ts).min(ts) };
                let initial: Vec<MeterSample> = if seen_start { std::mem::take(&mut samples) } else { vec![] };
                let (tx, decision) = self.begin(&charger, number, connector, Some(tx_id.clone()), token.clone(), started_at, initial, seen_start).await?;
                if event == "Started" {
                    let mut answer = json!({});
                    if let Some(d) = decision {
                        answer["idTokenInfo"] = json!({"status": d.ocpp_status(session.version)});
                    }
                    if seq.is_some() {
                        self.state.store.update_transaction(tx.id, &TransactionUpdate { last_seq_no: seq, ..Default::default() }, &[]).await.map_err(internal)?;
                    }
                    return Ok(answer);
                }
                tx
            }
        };
        // A token presented after the start (authorized later).
        let mut update = TransactionUpdate { last_seq_no: seq, ..Default::default() };
        let mut answer = json!({});
        if let Some((id, kind)) = &token
            && tx.id_tag.as_deref() != Some(id.as_str()) {
                let d = self.resolve_token(&charger, id, kind.as_deref(), Some(&tx.evse_uid), true).await?;
                answer["idTokenInfo"] = json!({"status": d.ocpp_status(session.version)});
                update.id_tag = Some(id.clone());
                update.emsp = d.emsp.clone();
                update.cdr_token = Some(d.cdr_token.clone());
                update.authorization_reference = d.authorization_reference.clone();
            }
        match event {
            "Ended" => {
                let after = self.state.store.update_transaction(tx.id, &update, &[]).await.map_err(internal)?;
                self.finish(&after, ts, stop_reason(session.version, &payload), &samples).await?;
            }
            _ => {
                if tx.is_active() {
                    self.progress(&tx, update, &samples).await?;
                } else {
                    // Late event of an ended transaction (an offline queue replayed out of
                    // order): kept, but the CDR is already out.
                    tracing::warn!(session = %tx.session_id, ?seq, "event after the transaction ended: recorded, CDR unchanged");
                    self.state.store.update_transaction(tx.id, &update, &samples).await.map_err(internal)?;
                }
            }
        }
        Ok(answer)
    }

    pub(super) async fn notify_ev_charging_needs(&self, session: &Session, payload: Value) -> Result<Value, CallErrorReply> {
        let evse = payload["evseId"].as_i64().unwrap_or(0);
        let active = self.state.store.active_transactions(&session.charger_id, Some(evse)).await.map_err(internal)?;
        let Some(tx) = active.first() else {
            // Needs without a transaction cannot be planned for (yet): the charger may ask again.
            return Ok(json!({"status": "Rejected"}));
        };
        let update = TransactionUpdate { charging_needs: Some(payload["chargingNeeds"].clone()), ..Default::default() };
        self.state.store.update_transaction(tx.id, &update, &[]).await.map_err(internal)?;
        Ok(json!({"status": "Accepted"}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_energy_power_and_current() {
        let mv = json!([{"timestamp": "2026-01-01T10:00:00Z", "sampledValue": [
            {"value": "12.5", "unit": "kWh"},
            {"value": "7400", "measurand": "Power.Active.Import", "unit": "W"},
            {"value": "10", "measurand": "Current.Import", "phase": "L1"},
            {"value": "11", "measurand": "Current.Import", "phase": "L2"},
            {"value": "1000", "measurand": "Energy.Active.Import.Register", "phase": "L1"}
        ]}]);
        let s = samples_of(OcppVersion::V16, Some(&mv));
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].energy_wh, Some(Decimal::from(12500)));
        assert_eq!(s[0].power_kw, Some(Decimal::from_str("7.4").unwrap()));
        assert_eq!(s[0].current_a, Some(Decimal::from(21)));
    }

    #[test]
    fn reads_201_multiplier() {
        let mv = json!([{"timestamp": "2026-01-01T10:00:00Z", "sampledValue": [
            {"value": 15, "unitOfMeasure": {"unit": "Wh", "multiplier": 3}}
        ]}]);
        let s = samples_of(OcppVersion::V201, Some(&mv));
        assert_eq!(s[0].energy_wh, Some(Decimal::from(15000)));
    }

    #[test]
    fn future_timestamps_are_clamped() {
        let far = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
        let t = charger_time(Some(&far));
        assert!(t <= chrono::Utc::now().timestamp_micros());
        let past = "2020-01-01T00:00:00Z";
        assert_eq!(charger_time(Some(past)), parse_ts(past).unwrap());
    }

    #[test]
    fn kwh_meter_readings_become_wh() {
        let session = Session {
            charger_id: "CP".into(),
            version: OcppVersion::V16,
            connection_id: 1,
            remote_addr: "127.0.0.1:1".parse().unwrap(),
            tls: false,
        };
        let mut p = json!({"meterStop": 12.345, "transactionId": 1, "timestamp": "2026-01-01T10:00:00Z",
            "transactionData": [{"timestamp": "2026-01-01T10:00:00Z", "sampledValue": [{"value": "1", "unit": "KWH"}]}]});
        normalize(&session, "StopTransaction", &mut p);
        assert_eq!(p["meterStop"], json!(12345));
        assert_eq!(p["transactionData"][0]["sampledValue"][0]["unit"], json!("kWh"));
        let mut ok = json!({"meterStop": 12345});
        normalize(&session, "StopTransaction", &mut ok);
        assert_eq!(ok["meterStop"], json!(12345));
    }
}
