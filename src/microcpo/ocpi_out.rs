//! A micro-CPO transaction as OCPI: the Session (PUT on start, PATCHes while it runs and when it
//! ends) for the token's eMSP and, without driver data, for every SCSP; and on the end a CDR
//! priced with the connector's tariff, POSTed to the token's eMSP.
//!
//! Every push goes through the durable outbox in the same database transaction as the hub's
//! copy (`objects`), so nothing is lost while a receiver is down; the delivery worker
//! translates for 2.1.1 receivers.
//!
//! Usage and price: the transaction's samples become a [`Usage`] timeline (a period between
//! consecutive readings; energy interpolated linearly in time where a reading lacks it; a period
//! is charging when the charger said so, else when energy flowed, parking otherwise), priced by
//! `clearing::rating` in the location's time zone. The CDR's charging periods are those same
//! periods, so the eMSP recomputing the price from the CDR gets the same totals.
//!
//! Numbers are built as decimal strings and read into the typed OCPI objects, whose serializers
//! write exact JSON numbers: no money passes through a float.

use super::{MicroCpoHandler, internal, ts_of};
use chrono::{DateTime, Utc};
use clearing::rating::{self, CdrTotals, PeriodKind, Usage, UsagePeriod};
use hub_core::ocpi::v221::cdrs::Cdr;
use hub_core::ocpi::v221::parse::{self, ParseError};
use hub_core::ocpi::v221::sessions::{ChargingPeriod, Session};
use hub_core::ocpi::v221::types::{Price, decimal_number};
use hub_core::ocpi::v221::Tariff;
use hub_core::party::{ConnectionStatus, InterfaceRole, PartyKey, Role};
use hub_core::store::{Charger, MeterSample, NewDelivery, ObjectChange, ObjectKey, OcppTransaction, TransactionUpdate};
use ocpi_router::reply::{self, FROM_CC, FROM_PID, TO_CC, TO_PID};
use ocpp_gateway::CallErrorReply;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};

const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// The Session fields that change while it runs: the PATCH body.
#[derive(Serialize)]
struct SessionPatch<'a> {
    #[serde(with = "decimal_number")]
    kwh: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_date_time: Option<&'a hub_core::ocpi::v221::types::DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    charging_periods: Option<&'a Vec<ChargingPeriod>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_cost: Option<&'a Price>,
    status: &'a hub_core::ocpi::v221::sessions::SessionStatus,
    last_updated: &'a hub_core::ocpi::v221::types::DateTime,
}

fn dec(d: Decimal) -> Value {
    Value::String(rating::round(d).normalize().to_string())
}

fn price_json(p: &Price) -> Value {
    let mut o = json!({"excl_vat": p.excl_vat.to_string()});
    if let Some(i) = p.incl_vat {
        o["incl_vat"] = Value::String(i.to_string());
    }
    o
}

fn invalid(e: ParseError) -> CallErrorReply {
    internal(match e {
        ParseError::Invalid { field, message } => format!("built an invalid OCPI object: {field}: {message}"),
        ParseError::Syntax(m) => m,
    })
}

/// Cumulative energy at each instant of `at`, from the samples that carry energy: linear in
/// time between two readings, flat before the first and after the last.
fn energy_at(samples: &[MeterSample], at: &[i64]) -> Vec<Decimal> {
    let known: Vec<(i64, Decimal)> = samples.iter().filter_map(|s| Some((s.ts, s.energy_wh?))).collect();
    at.iter()
        .map(|&t| {
            let Some(first) = known.first() else { return Decimal::ZERO };
            if t <= first.0 {
                return first.1;
            }
            match known.iter().position(|(kt, _)| *kt >= t) {
                None => known.last().map(|k| k.1).unwrap_or_default(),
                Some(i) => {
                    let (t1, e1) = known[i];
                    let (t0, e0) = known[i - 1];
                    if t1 == t0 {
                        e1
                    } else {
                        e0 + (e1 - e0) * Decimal::from(t - t0) / Decimal::from(t1 - t0)
                    }
                }
            }
        })
        .collect()
}

/// The usage timeline of a transaction up to `end` (micros).
pub(super) fn usage_of(started_at: i64, end: i64, samples: &[MeterSample]) -> Usage {
    let end = end.max(started_at);
    let mut cuts: Vec<i64> = vec![started_at];
    cuts.extend(samples.iter().map(|s| s.ts).filter(|t| *t > started_at && *t < end));
    cuts.push(end);
    cuts.sort_unstable();
    cuts.dedup();
    let energy = energy_at(samples, &cuts);
    let mut periods = Vec::new();
    for i in 0..cuts.len().saturating_sub(1) {
        let (a, b) = (cuts[i], cuts[i + 1]);
        // A meter that went backwards (replaced, reset) contributes nothing rather than a credit.
        let wh = (energy[i + 1] - energy[i]).max(Decimal::ZERO);
        let said = samples.iter().rfind(|s| s.ts <= a && s.charging.is_some()).and_then(|s| s.charging);
        // Energy flowing proves charging; otherwise the charger's word, else parking.
        let kind = if wh > Decimal::ZERO || said == Some(true) { PeriodKind::Charging } else { PeriodKind::Parking };
        let within: Vec<&MeterSample> = samples.iter().filter(|s| s.ts >= a && s.ts <= b).collect();
        let max_power = within.iter().filter_map(|s| s.power_kw).max();
        let min_power = within.iter().filter_map(|s| s.power_kw).min();
        let max_current = within.iter().filter_map(|s| s.current_a).max();
        let min_current = within.iter().filter_map(|s| s.current_a).min();
        let (Some(start), Some(stop)) = (DateTime::<Utc>::from_timestamp_micros(a), DateTime::<Utc>::from_timestamp_micros(b)) else {
            continue;
        };
        let mut p = UsagePeriod::new(kind, start, stop).with_power(min_power, max_power).with_current(min_current, max_current);
        p.energy_wh = wh;
        periods.push(p);
    }
    Usage::new(periods)
}

/// OCPI charging periods for a usage (one per period; volumes rounded to 4 decimals).
fn charging_periods(usage: &Usage, tariff_id: Option<&str>) -> Vec<Value> {
    usage
        .periods
        .iter()
        .map(|p| {
            let hours = Decimal::from((p.end - p.start).num_microseconds().unwrap_or(0)) / Decimal::from(MICROS_PER_HOUR);
            let mut dims = vec![json!({"type": "ENERGY", "volume": dec(p.energy_wh / Decimal::ONE_THOUSAND)})];
            match p.kind {
                PeriodKind::Parking => dims.push(json!({"type": "PARKING_TIME", "volume": dec(hours)})),
                _ => dims.push(json!({"type": "TIME", "volume": dec(hours)})),
            }
            if let Some(m) = p.max_power {
                dims.push(json!({"type": "MAX_POWER", "volume": dec(m)}));
            }
            if let Some(m) = p.min_power {
                dims.push(json!({"type": "MIN_POWER", "volume": dec(m)}));
            }
            if let Some(m) = p.max_current {
                dims.push(json!({"type": "MAX_CURRENT", "volume": dec(m)}));
            }
            if let Some(m) = p.min_current {
                dims.push(json!({"type": "MIN_CURRENT", "volume": dec(m)}));
            }
            let mut cp = json!({"start_date_time": p.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "dimensions": dims});
            if let Some(t) = tariff_id {
                cp["tariff_id"] = json!(t);
            }
            cp
        })
        .collect()
}

/// Everything needed to describe a transaction in OCPI.
struct Priced {
    location: Value,
    tariff: Option<(Value, Tariff)>,
    usage: Usage,
    totals: Option<CdrTotals>,
    currency: String,
    end: i64,
}

impl MicroCpoHandler {
    /// The hub's copy of the charger's location.
    pub(super) async fn location(&self, charger: &Charger) -> Result<Option<Value>, CallErrorReply> {
        let key = ObjectKey::new("locations", &charger.owner(), &charger.location_id);
        let obj = self.state.store.get_object(&key).await.map_err(internal)?;
        Ok(obj.and_then(|o| o.json().ok()))
    }

    async fn price(&self, tx: &OcppTransaction, samples: &[MeterSample]) -> Result<Priced, CallErrorReply> {
        let loc_key = ObjectKey::new("locations", &tx.owner, &tx.location_id);
        let location = self.state.store.get_object(&loc_key).await.map_err(internal)?.and_then(|o| o.json().ok()).unwrap_or(Value::Null);
        let connector = location
            .get("evses")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|e| e.get("uid").and_then(Value::as_str) == Some(tx.evse_uid.as_str())))
            .and_then(|e| e.get("connectors"))
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|c| c.get("id").and_then(Value::as_str) == Some(tx.connector_id.as_str())))
            .cloned();
        let tariff_id = connector
            .as_ref()
            .and_then(|c| c.get("tariff_ids"))
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .map(str::to_owned);
        let tariff = match &tariff_id {
            Some(id) => {
                let obj = self.state.store.get_object(&ObjectKey::new("tariffs", &tx.owner, id)).await.map_err(internal)?;
                match obj {
                    Some(o) => {
                        let typed = rating::parse_tariff(o.body.as_bytes()).map_err(internal)?;
                        Some((o.json().map_err(internal)?, typed))
                    }
                    None => {
                        tracing::warn!(tariff = %id, "connector names a tariff the hub does not hold: session not priced");
                        None
                    }
                }
            }
            None => None,
        };
        let end = tx.stopped_at.unwrap_or_else(|| chrono::Utc::now().timestamp_micros());
        let usage = usage_of(tx.started_at, end, samples);
        let tz = location
            .get("time_zone")
            .and_then(Value::as_str)
            .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
            .or_else(|| location.get("country").and_then(Value::as_str).and_then(rating::time_zone_of_country))
            .unwrap_or(chrono_tz::UTC);
        let totals = match &tariff {
            Some((_, t)) if !usage.periods.is_empty() => match rating::price_session(t, &usage, tz) {
                Ok(totals) => Some(totals),
                Err(e) => {
                    tracing::error!(error = %e, session = %tx.session_id, "pricing failed");
                    None
                }
            },
            _ => None,
        };
        let currency = tariff.as_ref().map(|(_, t)| t.currency.clone()).unwrap_or_else(|| "EUR".into());
        Ok(Priced { location, tariff, usage, totals, currency, end })
    }

    fn session_of(&self, tx: &OcppTransaction, p: &Priced) -> Result<Session, CallErrorReply> {
        let kwh: Decimal = p.usage.periods.iter().map(|x| x.energy_wh).sum::<Decimal>() / Decimal::ONE_THOUSAND;
        let tariff_id = p.tariff.as_ref().map(|(v, _)| v.get("id").and_then(Value::as_str).unwrap_or_default().to_string());
        let mut s = json!({
            "country_code": tx.owner.country_code,
            "party_id": tx.owner.party_id,
            "id": tx.session_id,
            "start_date_time": ts_of(tx.started_at),
            "kwh": dec(kwh),
            "cdr_token": tx.cdr_token,
            "auth_method": tx.auth_method,
            "location_id": tx.location_id,
            "evse_uid": tx.evse_uid,
            "connector_id": tx.connector_id,
            "currency": p.currency,
            "charging_periods": charging_periods(&p.usage, tariff_id.as_deref()),
            "status": tx.status,
            "last_updated": ts_of(chrono::Utc::now().timestamp_micros()),
        });
        if let Some(r) = &tx.authorization_reference {
            s["authorization_reference"] = json!(r);
        }
        if tx.stopped_at.is_some() {
            s["end_date_time"] = json!(ts_of(p.end));
        }
        if let Some(t) = &p.totals {
            s["total_cost"] = price_json(&t.total_cost);
        }
        parse::from_value::<Session>(s).map_err(invalid)
    }

    /// Stores the Session and queues it (PUT when new to the hub, else PATCH) for the token's
    /// eMSP and the SCSPs.
    pub(super) async fn publish_session(&self, tx: &OcppTransaction) -> Result<(), CallErrorReply> {
        let samples = self.state.store.meter_samples(tx.id).await.map_err(internal)?;
        let priced = self.price(tx, &samples).await?;
        let session = self.session_of(tx, &priced)?;
        let full = serde_json::to_string(&session).map_err(internal)?;
        let key = ObjectKey::new("sessions", &tx.owner, &tx.session_id);
        let known = self.state.store.get_object(&key).await.map_err(internal)?.is_some();
        let (method, body) = if known {
            let patch = SessionPatch {
                kwh: session.kwh,
                end_date_time: session.end_date_time.as_ref(),
                charging_periods: session.charging_periods.as_ref(),
                total_cost: session.total_cost.as_ref(),
                status: &session.status,
                last_updated: &session.last_updated,
            };
            ("PATCH", serde_json::to_string(&patch).map_err(internal)?)
        } else {
            ("PUT", full.clone())
        };
        let micros = chrono::Utc::now().timestamp_micros();
        let change = ObjectChange::Put { key: key.clone(), last_updated: micros, body: full };
        let path = format!("/{}/{}/{}", tx.owner.country_code, tx.owner.party_id, tx.session_id);
        let mut stripped: Value = serde_json::from_str(&body).map_err(internal)?;
        ocpi_router::routing::strip_driver_data(&mut stripped);
        let deliveries = self.targets(tx, "sessions", method, &path, &body, Some(&stripped.to_string())).await?;
        self.state.store.apply(Some(change), &deliveries).await.map_err(internal)?;
        self.state.delivery_wakeup.notify_one();
        Ok(())
    }

    /// Makes, stores and queues the CDR of an ended transaction (once).
    pub(super) async fn publish_cdr(&self, tx: &OcppTransaction) -> Result<(), CallErrorReply> {
        let samples = self.state.store.meter_samples(tx.id).await.map_err(internal)?;
        let p = self.price(tx, &samples).await?;
        let loc = &p.location;
        let evse = loc
            .get("evses")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|e| e.get("uid").and_then(Value::as_str) == Some(tx.evse_uid.as_str())))
            .cloned()
            .unwrap_or(Value::Null);
        let connector = evse
            .get("connectors")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|c| c.get("id").and_then(Value::as_str) == Some(tx.connector_id.as_str())))
            .cloned()
            .unwrap_or(Value::Null);
        let mut cdr_location = json!({
            "id": tx.location_id,
            "address": loc.get("address").cloned().unwrap_or(json!("")),
            "city": loc.get("city").cloned().unwrap_or(json!("")),
            "country": loc.get("country").cloned().unwrap_or(json!("")),
            "coordinates": loc.get("coordinates").cloned().unwrap_or(json!({"latitude": "0.0", "longitude": "0.0"})),
            "evse_uid": tx.evse_uid,
            "evse_id": evse.get("evse_id").cloned().unwrap_or(json!(tx.evse_uid)),
            "connector_id": tx.connector_id,
            "connector_standard": connector.get("standard").cloned().unwrap_or(json!("IEC_62196_T2")),
            "connector_format": connector.get("format").cloned().unwrap_or(json!("SOCKET")),
            "connector_power_type": connector.get("power_type").cloned().unwrap_or(json!("AC_3_PHASE")),
        });
        for f in ["name", "postal_code", "state"] {
            if let Some(v) = loc.get(f) {
                cdr_location[f] = v.clone();
            }
        }
        let total_energy: Decimal = p.usage.periods.iter().map(|x| x.energy_wh).sum::<Decimal>() / Decimal::ONE_THOUSAND;
        let hours = |kind: PeriodKind| -> Decimal {
            p.usage.periods.iter().filter(|x| x.kind == kind).map(|x| Decimal::from((x.end - x.start).num_microseconds().unwrap_or(0))).sum::<Decimal>()
                / Decimal::from(MICROS_PER_HOUR)
        };
        let total_time = hours(PeriodKind::Charging) + hours(PeriodKind::Parking);
        let tariff_id = p.tariff.as_ref().map(|(v, _)| v.get("id").and_then(Value::as_str).unwrap_or_default().to_string());
        let mut periods = charging_periods(&p.usage, tariff_id.as_deref());
        if periods.is_empty() {
            // A CDR needs one period: a zero-length one at the start.
            periods.push(json!({"start_date_time": ts_of(tx.started_at), "dimensions": [{"type": "ENERGY", "volume": "0"}]}));
        }
        let mut cdr = json!({
            "country_code": tx.owner.country_code,
            "party_id": tx.owner.party_id,
            "id": tx.session_id,
            "start_date_time": ts_of(tx.started_at),
            "end_date_time": ts_of(p.end),
            "session_id": tx.session_id,
            "cdr_token": tx.cdr_token,
            "auth_method": tx.auth_method,
            "cdr_location": cdr_location,
            "currency": p.currency,
            "charging_periods": periods,
            "total_cost": {"excl_vat": "0"},
            "total_energy": dec(total_energy),
            "total_time": dec(total_time),
            "last_updated": ts_of(chrono::Utc::now().timestamp_micros()),
        });
        if let Some(r) = &tx.authorization_reference {
            cdr["authorization_reference"] = json!(r);
        }
        if let Some((tariff_json, _)) = &p.tariff {
            cdr["tariffs"] = json!([tariff_json]);
        }
        let parking = hours(PeriodKind::Parking);
        if parking > Decimal::ZERO {
            cdr["total_parking_time"] = dec(parking);
        }
        match &p.totals {
            Some(t) => {
                cdr["total_cost"] = price_json(&t.total_cost);
                for (field, v) in [
                    ("total_fixed_cost", &t.total_fixed_cost),
                    ("total_energy_cost", &t.total_energy_cost),
                    ("total_time_cost", &t.total_time_cost),
                    ("total_parking_cost", &t.total_parking_cost),
                    ("total_reservation_cost", &t.total_reservation_cost),
                ] {
                    if let Some(price) = v {
                        cdr[field] = price_json(price);
                    }
                }
            }
            None => {
                cdr["remark"] = json!("not priced: no tariff for this connector");
            }
        }
        if !tx.seen_start {
            cdr["remark"] = json!("the charger's start of this transaction was never received: made from its stop");
        }
        let typed = parse::from_value::<Cdr>(cdr).map_err(invalid)?;
        let body = serde_json::to_string(&typed).map_err(internal)?;
        let key = ObjectKey::new("cdrs", &tx.owner, &tx.session_id);
        let change = ObjectChange::Put { key, last_updated: chrono::Utc::now().timestamp_micros(), body: body.clone() };
        let deliveries = match &tx.emsp {
            Some(_) => self.targets(tx, "cdrs", "POST", "", &body, None).await?,
            None => vec![],
        };
        // The copy, the deliveries and the transaction's cdr_id: a crash between the first two
        // and the last re-makes the same CDR (same id, same content) on the replayed stop.
        self.state.store.apply(Some(change), &deliveries).await.map_err(internal)?;
        self.state
            .store
            .update_transaction(tx.id, &TransactionUpdate { cdr_id: Some(tx.session_id.clone()), ..Default::default() }, &[])
            .await
            .map_err(internal)?;
        self.state.delivery_wakeup.notify_one();
        tracing::info!(session = %tx.session_id, total = %typed.total_cost.excl_vat, "CDR made");
        Ok(())
    }

    /// Deliveries of a session or CDR push: the token's eMSP gets `body`, every SCSP (sessions
    /// only) gets `stripped`.
    async fn targets(&self, tx: &OcppTransaction, module: &str, method: &str, path: &str, body: &str, stripped: Option<&str>) -> Result<Vec<NewDelivery>, CallErrorReply> {
        let dir = self.state.directory().await.map_err(internal)?;
        let correlation = uuid::Uuid::new_v4().to_string();
        let key = ObjectKey::new(module, &tx.owner, &tx.session_id);
        let make = |platform_id: i64, to: &PartyKey, body: &str| NewDelivery {
            target_platform_id: platform_id,
            object_key: key.ordering_key(),
            module: module.to_string(),
            interface_role: InterfaceRole::Receiver,
            method: method.to_string(),
            path: path.to_string(),
            absolute_url: false,
            headers: vec![
                (FROM_CC.into(), tx.owner.country_code.clone()),
                (FROM_PID.into(), tx.owner.party_id.clone()),
                (TO_CC.into(), to.country_code.clone()),
                (TO_PID.into(), to.party_id.clone()),
                (reply::X_CORRELATION_ID.into(), correlation.clone()),
            ],
            body: Some(body.to_string()),
        };
        let mut out = Vec::new();
        let live = |p: &&std::sync::Arc<hub_core::party::Platform>| {
            p.is_registered() && matches!(p.status, ConnectionStatus::Connected | ConnectionStatus::Offline) && p.endpoint(module, InterfaceRole::Receiver).is_some()
        };
        if let Some(emsp) = &tx.emsp
            && let Some(p) = dir.iter().filter(live).find(|p| p.has_party(emsp)) {
                out.push(make(p.id, emsp, body));
            }
        if let Some(stripped) = stripped {
            for p in dir.iter().filter(live) {
                if tx.emsp.as_ref().is_some_and(|e| p.has_party(e)) {
                    continue;
                }
                if let Some(scsp) = p.roles.iter().find(|r| r.role == Role::Scsp) {
                    out.push(make(p.id, &scsp.key(), stripped));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn t(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn usage_from_samples() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let samples = vec![
            MeterSample { ts: t("2026-01-01T10:00:00Z"), energy_wh: Some(d("1000")), ..Default::default() },
            MeterSample { ts: t("2026-01-01T10:30:00Z"), energy_wh: Some(d("6000")), power_kw: Some(d("11")), ..Default::default() },
            MeterSample { ts: t("2026-01-01T11:00:00Z"), charging: Some(false), ..Default::default() },
            MeterSample { ts: t("2026-01-01T11:30:00Z"), energy_wh: Some(d("6000")), ..Default::default() },
        ];
        let u = usage_of(t("2026-01-01T10:00:00Z"), t("2026-01-01T11:30:00Z"), &samples);
        assert_eq!(u.periods.len(), 3);
        assert_eq!(u.periods[0].energy_wh, d("5000"));
        assert_eq!(u.periods[0].kind, PeriodKind::Charging);
        assert_eq!(u.periods[0].max_power, Some(d("11")));
        assert_eq!(u.periods[1].energy_wh, Decimal::ZERO);
        assert_eq!(u.periods[1].kind, PeriodKind::Parking);
        assert_eq!(u.periods[2].kind, PeriodKind::Parking);
    }

    #[test]
    fn energy_is_interpolated_between_readings() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let samples = vec![
            MeterSample { ts: t("2026-01-01T10:00:00Z"), energy_wh: Some(d("0")), ..Default::default() },
            MeterSample { ts: t("2026-01-01T10:30:00Z"), charging: Some(true), ..Default::default() },
            MeterSample { ts: t("2026-01-01T11:00:00Z"), energy_wh: Some(d("10000")), ..Default::default() },
        ];
        let u = usage_of(t("2026-01-01T10:00:00Z"), t("2026-01-01T11:00:00Z"), &samples);
        assert_eq!(u.periods.len(), 2);
        assert_eq!(u.periods[0].energy_wh, d("5000"));
        assert_eq!(u.periods[1].energy_wh, d("5000"));
    }
}
