//! Connector/EVSE status: OCPP StatusNotification mapped to the OCPI EVSE status, applied to the
//! hub's copy of the location and broadcast as a PATCH to every receiver of locations.

use super::{MicroCpoHandler, internal, now_ts};
use hub_core::party::{PartyKey, Role};
use hub_core::store::{Charger, ObjectChange, ObjectKey};
use ocpi_router::publish::{self, Push};
use ocpp_gateway::{CallErrorReply, OcppVersion, Session};
use serde_json::{Value, json};

/// OCPP 1.6 `ChargePointStatus` → OCPI 2.2.1 EVSE `Status`.
///
/// | OCPP 1.6        | OCPI        | why |
/// |-----------------|-------------|-----|
/// | Available       | AVAILABLE   | |
/// | Preparing       | CHARGING    | plugged in / authorized: the EVSE is in use, not free |
/// | Charging        | CHARGING    | |
/// | SuspendedEV     | CHARGING    | session running, the car pauses |
/// | SuspendedEVSE   | CHARGING    | session running, the charger pauses |
/// | Finishing       | CHARGING    | session ended, the car still occupies the EVSE |
/// | Reserved        | RESERVED    | |
/// | Unavailable     | INOPERATIVE | taken out of service on purpose |
/// | Faulted         | OUTOFORDER  | broken |
pub fn map_status_16(status: &str) -> Option<&'static str> {
    Some(match status {
        "Available" => "AVAILABLE",
        "Preparing" | "Charging" | "SuspendedEV" | "SuspendedEVSE" | "Finishing" => "CHARGING",
        "Reserved" => "RESERVED",
        "Unavailable" => "INOPERATIVE",
        "Faulted" => "OUTOFORDER",
        _ => return None,
    })
}

/// OCPP 2.0.1 `ConnectorStatusEnumType` → OCPI 2.2.1 EVSE `Status`.
///
/// | OCPP 2.0.1  | OCPI        |
/// |-------------|-------------|
/// | Available   | AVAILABLE   |
/// | Occupied    | CHARGING    |
/// | Reserved    | RESERVED    |
/// | Unavailable | INOPERATIVE |
/// | Faulted     | OUTOFORDER  |
pub fn map_status_201(status: &str) -> Option<&'static str> {
    Some(match status {
        "Available" => "AVAILABLE",
        "Occupied" => "CHARGING",
        "Reserved" => "RESERVED",
        "Unavailable" => "INOPERATIVE",
        "Faulted" => "OUTOFORDER",
        _ => return None,
    })
}

impl MicroCpoHandler {
    pub(super) async fn status_notification(&self, session: &Session, payload: Value) -> Result<Value, CallErrorReply> {
        let (number, ocpp_status) = match session.version {
            OcppVersion::V16 => (payload["connectorId"].as_i64().unwrap_or(0), map_status_16(payload["status"].as_str().unwrap_or_default())),
            OcppVersion::V201 => (payload["evseId"].as_i64().unwrap_or(0), map_status_201(payload["connectorStatus"].as_str().unwrap_or_default())),
        };
        if session.version == OcppVersion::V16 && number >= 1 {
            // During a 1.6 transaction the connector status is the only charging-state signal.
            let charging = match payload["status"].as_str().unwrap_or_default() {
                "Charging" => Some(true),
                "SuspendedEV" | "SuspendedEVSE" | "Finishing" => Some(false),
                _ => None,
            };
            if let Some(c) = charging {
                let ts = payload.get("timestamp").and_then(Value::as_str).and_then(super::parse_ts);
                self.note_charging_state(session, number, c, ts).await?;
            }
        }
        // Connector 0 (1.6) is the charger as a whole: no EVSE to update.
        let Some(ocpi_status) = ocpp_status.filter(|_| number >= 1) else {
            return Ok(json!({}));
        };
        let charger = self.charger(session).await?;
        let Some(evse_uid) = charger.evse_uid(number).map(str::to_owned) else {
            tracing::warn!(charger_id = %charger.charger_id, number, "StatusNotification for an EVSE the charger was not configured with");
            return Ok(json!({}));
        };
        self.publish_evse_status(&charger, &evse_uid, ocpi_status).await?;
        Ok(json!({}))
    }

    /// Applies `{status, last_updated}` to the EVSE in the hub's copy of the location and queues
    /// the same PATCH for every receiver of locations, in one transaction.
    async fn publish_evse_status(&self, charger: &Charger, evse_uid: &str, status: &'static str) -> Result<(), CallErrorReply> {
        let owner = charger.owner();
        let key = ObjectKey::new("locations", &owner, &charger.location_id);
        let now = now_ts();
        let micros = chrono::DateTime::parse_from_rfc3339(&now).map(|d| d.timestamp_micros()).unwrap_or_default();
        let patch = json!({"status": status, "last_updated": now});
        let uid = evse_uid.to_string();
        let incoming = patch.clone();
        let change = ObjectChange::Patch {
            key: key.clone(),
            patch: Box::new(move |old: &str| {
                let mut loc: Value = serde_json::from_str(old).map_err(|e| e.to_string())?;
                let evse = loc
                    .get_mut("evses")
                    .and_then(Value::as_array_mut)
                    .and_then(|a| a.iter_mut().find(|e| e.get("uid").and_then(Value::as_str) == Some(uid.as_str())))
                    .ok_or_else(|| format!("evses: no EVSE {uid}"))?;
                if let (Some(e), Some(p)) = (evse.as_object_mut(), incoming.as_object()) {
                    for (k, v) in p {
                        e.insert(k.clone(), v.clone());
                    }
                }
                loc["last_updated"] = incoming["last_updated"].clone();
                // No full Location validation here: the stored location was validated when it
                // was put, and this patch sets only an OCPI status from `map_status_*` and a
                // timestamp the hub made. (It runs in the group-commit writer, once per
                // StatusNotification.)
                Ok((loc.to_string(), micros))
            }),
        };
        let hub: PartyKey = self.state.hub.clone();
        let published = publish::broadcast_push(
            &self.state,
            Push {
                from: &hub,
                owner_role: Role::Cpo,
                key: &key,
                change: Some(change),
                method: "PATCH",
                path: format!("/{}/{}/{}/{}", owner.country_code, owner.party_id, charger.location_id, evse_uid),
                body: Some(patch.to_string()),
            },
        )
        .await
        .map_err(internal)?;
        if published.stored.is_none() {
            tracing::warn!(location = %charger.location_id, "EVSE status of a location the hub has no copy of");
        }
        tracing::debug!(charger_id = %charger.charger_id, evse_uid, status, receivers = published.receivers, "EVSE status published");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping() {
        assert_eq!(map_status_16("Available"), Some("AVAILABLE"));
        assert_eq!(map_status_16("Finishing"), Some("CHARGING"));
        assert_eq!(map_status_16("Faulted"), Some("OUTOFORDER"));
        assert_eq!(map_status_16("Unavailable"), Some("INOPERATIVE"));
        assert_eq!(map_status_201("Occupied"), Some("CHARGING"));
        assert_eq!(map_status_201("Sleeping"), None);
    }
}
