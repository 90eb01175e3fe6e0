//! Validation of payloads against the official OCA JSON schemas of each version.
//!
//! The schemas are vendored in `schemas/v16` and `schemas/v201` (see the README there) and embedded
//! by a `build.rs`-generated table; each schema is compiled once, on first use, with the
//! `jsonschema` crate. Before validation every field the schema declares `format: date-time` is
//! passed through [`quirks::normalize_timestamp`], so zone-less timestamps are repaired instead of
//! rejected.
//!
//! Violations map to CALLERROR codes (spelled per version by [`ErrorCode::as_str`]):
//!
//! | schema keyword | code |
//! |---|---|
//! | `required`, `minItems`, `maxItems`, `minProperties`, `maxProperties` | `OccurrenceConstraintViolation` (1.6: `OccurenceConstraintViolation`) |
//! | `type`, `minLength`, `maxLength` (the CiString length is part of the data type) | `TypeConstraintViolation` |
//! | `additionalProperties`, `format` (e.g. a date-time that is not one) | `FormatViolation` (1.6: `FormationViolation`) |
//! | `enum`, `const`, `pattern`, `minimum`, `maximum`, `multipleOf`, `uniqueItems`, combinators | `PropertyConstraintViolation` |
//!
//! When a payload has several violations the code is chosen in the order of that table (first row
//! wins); `errorDetails.errors` lists up to [`MAX_REPORTED_ERRORS`] violations with their JSON
//! path. An action without a schema in the version is unknown: `NotImplemented`.

use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::quirks;
use crate::rpc::{CallErrorReply, ErrorCode, truncate};
use crate::version::OcppVersion;

/// At most this many violations are listed in `errorDetails`.
pub const MAX_REPORTED_ERRORS: usize = 8;

/// Which half of an action a payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// The CALL payload (`*.req`).
    Request,
    /// The CALLRESULT payload (`*.conf`).
    Response,
}

/// Who sends the CALL of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The charger calls the CSMS (e.g. `BootNotification`).
    FromCharger,
    /// The CSMS calls the charger (e.g. `RemoteStartTransaction`).
    FromCsms,
    /// Either side (`DataTransfer`).
    Both,
}

impl Direction {
    /// Whether the gateway accepts this action as an incoming CALL.
    pub fn charger_may_call(self) -> bool {
        matches!(self, Direction::FromCharger | Direction::Both)
    }

    /// Whether the gateway may send this action as an outbound CALL.
    pub fn csms_may_call(self) -> bool {
        matches!(self, Direction::FromCsms | Direction::Both)
    }
}

/// Schema compilation failed (a broken vendored schema; covered by a test).
#[derive(Debug, Clone, thiserror::Error)]
#[error("schema {version}/{action} {kind:?} does not compile: {message}")]
pub struct SchemaError {
    /// Version of the schema.
    pub version: OcppVersion,
    /// Action of the schema.
    pub action: &'static str,
    /// Request or response.
    pub kind: MessageKind,
    /// The compiler's message.
    pub message: String,
}

/// One path segment to a `date-time` field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Items,
}

struct Compiled {
    validator: jsonschema::Validator,
    datetime_paths: Vec<Vec<Seg>>,
}

pub(crate) struct SchemaEntry {
    action: &'static str,
    request_src: &'static str,
    response_src: &'static str,
    request: OnceLock<Result<Compiled, String>>,
    response: OnceLock<Result<Compiled, String>>,
}

impl SchemaEntry {
    const fn new(
        action: &'static str,
        request_src: &'static str,
        response_src: &'static str,
    ) -> Self {
        SchemaEntry {
            action,
            request_src,
            response_src,
            request: OnceLock::new(),
            response: OnceLock::new(),
        }
    }

    fn compiled(&self, kind: MessageKind) -> &Result<Compiled, String> {
        let (cell, src) = match kind {
            MessageKind::Request => (&self.request, self.request_src),
            MessageKind::Response => (&self.response, self.response_src),
        };
        cell.get_or_init(|| compile(src))
    }
}

include!(concat!(env!("OUT_DIR"), "/schema_table.rs"));

fn table(version: OcppVersion) -> &'static [SchemaEntry] {
    match version {
        OcppVersion::V16 => &V16_SCHEMAS,
        OcppVersion::V201 => &V201_SCHEMAS,
    }
}

fn entry(version: OcppVersion, action: &str) -> Option<&'static SchemaEntry> {
    let t = table(version);
    t.binary_search_by(|e| e.action.cmp(action))
        .ok()
        .map(|i| &t[i])
}

fn compile(src: &str) -> Result<Compiled, String> {
    let schema: Value = serde_json::from_str(src).map_err(|e| format!("invalid JSON: {e}"))?;
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| e.to_string())?;
    let mut datetime_paths = Vec::new();
    collect_datetime_paths(&schema, &schema, &mut Vec::new(), &mut datetime_paths, 0);
    Ok(Compiled {
        validator,
        datetime_paths,
    })
}

/// Walks `node` (following local `$ref`s) and records the path of every `format: date-time`.
fn collect_datetime_paths(
    root: &Value,
    node: &Value,
    path: &mut Vec<Seg>,
    out: &mut Vec<Vec<Seg>>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    let Some(obj) = node.as_object() else { return };
    if let Some(Value::String(r)) = obj.get("$ref") {
        if let Some(target) = r.strip_prefix('#').and_then(|p| root.pointer(p)) {
            collect_datetime_paths(root, target, path, out, depth + 1);
        }
        return;
    }
    if obj.get("format").and_then(Value::as_str) == Some("date-time") {
        out.push(path.clone());
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (k, sub) in props {
            path.push(Seg::Key(k.clone()));
            collect_datetime_paths(root, sub, path, out, depth + 1);
            path.pop();
        }
    }
    if let Some(items) = obj.get("items") {
        path.push(Seg::Items);
        collect_datetime_paths(root, items, path, out, depth + 1);
        path.pop();
    }
}

fn normalize_at(value: &mut Value, path: &[Seg]) -> usize {
    match path.split_first() {
        None => match value {
            Value::String(s) => match quirks::normalize_timestamp(s) {
                Some(fixed) => {
                    *s = fixed;
                    1
                }
                None => 0,
            },
            _ => 0,
        },
        Some((Seg::Key(k), rest)) => value
            .get_mut(k.as_str())
            .map_or(0, |v| normalize_at(v, rest)),
        Some((Seg::Items, rest)) => match value {
            Value::Array(items) => items.iter_mut().map(|v| normalize_at(v, rest)).sum(),
            _ => 0,
        },
    }
}

/// The canonical (`'static`) name of `action` if the version defines it.
pub fn known_action(version: OcppVersion, action: &str) -> Option<&'static str> {
    entry(version, action).map(|e| e.action)
}

/// The text of the vendored schema of an action.
pub fn source(version: OcppVersion, action: &str, kind: MessageKind) -> Option<&'static str> {
    entry(version, action).map(|e| match kind {
        MessageKind::Request => e.request_src,
        MessageKind::Response => e.response_src,
    })
}

/// Every action of a version, sorted.
pub fn actions(version: OcppVersion) -> impl Iterator<Item = &'static str> {
    table(version).iter().map(|e| e.action)
}

const V16_FROM_CHARGER: &[&str] = &[
    "Authorize",
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "LogStatusNotification",
    "MeterValues",
    "SecurityEventNotification",
    "SignCertificate",
    "SignedFirmwareStatusNotification",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
];

const V201_FROM_CHARGER: &[&str] = &[
    "Authorize",
    "BootNotification",
    "ClearedChargingLimit",
    "FirmwareStatusNotification",
    "Get15118EVCertificate",
    "GetCertificateStatus",
    "Heartbeat",
    "LogStatusNotification",
    "MeterValues",
    "NotifyChargingLimit",
    "NotifyCustomerInformation",
    "NotifyDisplayMessages",
    "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule",
    "NotifyEvent",
    "NotifyMonitoringReport",
    "NotifyReport",
    "PublishFirmwareStatusNotification",
    "ReportChargingProfiles",
    "ReservationStatusUpdate",
    "SecurityEventNotification",
    "SignCertificate",
    "StatusNotification",
    "TransactionEvent",
];

/// Who sends the CALL of `action`, or `None` for an action the version does not define.
pub fn direction(version: OcppVersion, action: &str) -> Option<Direction> {
    let action = known_action(version, action)?;
    if action == "DataTransfer" {
        return Some(Direction::Both);
    }
    let from_charger = match version {
        OcppVersion::V16 => V16_FROM_CHARGER,
        OcppVersion::V201 => V201_FROM_CHARGER,
    };
    Some(if from_charger.contains(&action) {
        Direction::FromCharger
    } else {
        Direction::FromCsms
    })
}

/// Compiles every schema now (otherwise each compiles on first use). Returns the first failure.
pub fn precompile_all() -> Result<(), SchemaError> {
    for version in OcppVersion::ALL {
        for e in table(version) {
            for kind in [MessageKind::Request, MessageKind::Response] {
                if let Err(message) = e.compiled(kind) {
                    return Err(SchemaError {
                        version,
                        action: e.action,
                        kind,
                        message: message.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Repairs known quirks in place (see [`crate::quirks`]), then validates. The usual entry point
/// for payloads received from a charger. Returns the number of repaired fields.
pub fn normalize_and_validate(
    version: OcppVersion,
    action: &str,
    kind: MessageKind,
    payload: &mut Value,
) -> Result<usize, CallErrorReply> {
    let compiled = compiled(version, action, kind)?;
    let repaired = compiled
        .datetime_paths
        .iter()
        .map(|p| normalize_at(payload, p))
        .sum();
    check(compiled, action, kind, payload)?;
    Ok(repaired)
}

/// Repairs the built-in quirks of `payload` in place without validating. Returns the number of
/// repaired fields (0 for an unknown action).
pub fn normalize(
    version: OcppVersion,
    action: &str,
    kind: MessageKind,
    payload: &mut Value,
) -> usize {
    match compiled(version, action, kind) {
        Ok(c) => c
            .datetime_paths
            .iter()
            .map(|p| normalize_at(payload, p))
            .sum(),
        Err(_) => 0,
    }
}

/// Validates `payload` as is.
pub fn validate(
    version: OcppVersion,
    action: &str,
    kind: MessageKind,
    payload: &Value,
) -> Result<(), CallErrorReply> {
    check(compiled(version, action, kind)?, action, kind, payload)
}

fn compiled(
    version: OcppVersion,
    action: &str,
    kind: MessageKind,
) -> Result<&'static Compiled, CallErrorReply> {
    let e = entry(version, action).ok_or_else(|| {
        CallErrorReply::new(
            ErrorCode::NotImplemented,
            format!("action {action} is not defined in OCPP {version}"),
        )
    })?;
    e.compiled(kind)
        .as_ref()
        .map_err(|m| CallErrorReply::internal(format!("schema of {action} does not compile: {m}")))
}

fn code_for(kind: &jsonschema::error::ValidationErrorKind) -> ErrorCode {
    use jsonschema::error::ValidationErrorKind as K;
    match kind {
        K::Required { .. }
        | K::MinItems { .. }
        | K::MaxItems { .. }
        | K::MinProperties { .. }
        | K::MaxProperties { .. } => ErrorCode::OccurrenceConstraintViolation,
        K::Type { .. } | K::MinLength { .. } | K::MaxLength { .. } => {
            ErrorCode::TypeConstraintViolation
        }
        K::AdditionalProperties { .. }
        | K::AdditionalItems { .. }
        | K::UnevaluatedProperties { .. }
        | K::UnevaluatedItems { .. }
        | K::PropertyNames { .. }
        | K::Format { .. }
        | K::FalseSchema
        | K::ContentEncoding { .. }
        | K::ContentMediaType { .. }
        | K::FromUtf8 { .. } => ErrorCode::FormatViolation,
        K::Enum { .. }
        | K::Constant { .. }
        | K::Pattern { .. }
        | K::Minimum { .. }
        | K::Maximum { .. }
        | K::ExclusiveMinimum { .. }
        | K::ExclusiveMaximum { .. }
        | K::MultipleOf { .. }
        | K::UniqueItems
        | K::Contains
        | K::Not { .. }
        | K::AnyOf { .. }
        | K::OneOfMultipleValid { .. }
        | K::OneOfNotValid { .. } => ErrorCode::PropertyConstraintViolation,
        _ => ErrorCode::GenericError,
    }
}

fn rank(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::OccurrenceConstraintViolation => 0,
        ErrorCode::TypeConstraintViolation => 1,
        ErrorCode::FormatViolation => 2,
        ErrorCode::PropertyConstraintViolation => 3,
        _ => 4,
    }
}

fn check(
    compiled: &Compiled,
    action: &str,
    kind: MessageKind,
    payload: &Value,
) -> Result<(), CallErrorReply> {
    if compiled.validator.is_valid(payload) {
        return Ok(());
    }
    let mut best: Option<(ErrorCode, String)> = None;
    let mut listed = Vec::new();
    for err in compiled.validator.iter_errors(payload) {
        let code = code_for(err.kind());
        let path = err.instance_path().as_str().to_owned();
        let message = truncate(&err.to_string(), 200).to_owned();
        let path_shown = if path.is_empty() { "/" } else { path.as_str() };
        if best.as_ref().is_none_or(|(c, _)| rank(code) < rank(*c)) {
            best = Some((code, format!("{message} (at {path_shown})")));
        }
        if listed.len() < MAX_REPORTED_ERRORS {
            listed.push(
                json!({"path": path_shown, "keyword": err.kind().keyword(), "message": message}),
            );
        }
    }
    let (code, first) = best.unwrap_or((ErrorCode::GenericError, "payload is invalid".to_owned()));
    let which = match kind {
        MessageKind::Request => "request",
        MessageKind::Response => "response",
    };
    Err(
        CallErrorReply::new(code, format!("{action} {which}: {first}"))
            .with_details(json!({ "errors": listed })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(version: OcppVersion, action: &str, payload: Value) -> Option<&'static str> {
        let mut p = payload;
        normalize_and_validate(version, action, MessageKind::Request, &mut p)
            .err()
            .map(|e| e.code.as_str(version))
    }

    #[test]
    fn every_vendored_schema_compiles() {
        precompile_all().unwrap();
        assert_eq!(actions(OcppVersion::V16).count(), 39);
        assert_eq!(actions(OcppVersion::V201).count(), 64);
        for v in OcppVersion::ALL {
            let list: Vec<_> = actions(v).collect();
            assert!(
                list.windows(2).all(|w| w[0] < w[1]),
                "table sorted for binary search"
            );
        }
    }

    #[test]
    fn directions() {
        use Direction::*;
        assert_eq!(
            direction(OcppVersion::V16, "BootNotification"),
            Some(FromCharger)
        );
        assert_eq!(
            direction(OcppVersion::V16, "RemoteStartTransaction"),
            Some(FromCsms)
        );
        assert_eq!(direction(OcppVersion::V16, "DataTransfer"), Some(Both));
        assert_eq!(direction(OcppVersion::V16, "TransactionEvent"), None);
        assert_eq!(
            direction(OcppVersion::V201, "TransactionEvent"),
            Some(FromCharger)
        );
        assert_eq!(
            direction(OcppVersion::V201, "RequestStartTransaction"),
            Some(FromCsms)
        );
        for v in OcppVersion::ALL {
            let list = match v {
                OcppVersion::V16 => V16_FROM_CHARGER,
                OcppVersion::V201 => V201_FROM_CHARGER,
            };
            for a in list {
                assert!(known_action(v, a).is_some(), "{v} {a}");
            }
        }
    }

    #[test]
    fn valid_payloads_pass() {
        let v = OcppVersion::V16;
        assert_eq!(
            code_of(
                v,
                "BootNotification",
                json!({"chargePointVendor":"V","chargePointModel":"M"})
            ),
            None
        );
        assert_eq!(code_of(v, "Heartbeat", json!({})), None);
        let v = OcppVersion::V201;
        assert_eq!(
            code_of(
                v,
                "BootNotification",
                json!({"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}})
            ),
            None
        );
    }

    #[test]
    fn codes_per_version() {
        let boot16 = |p| code_of(OcppVersion::V16, "BootNotification", p);
        assert_eq!(
            boot16(json!({"chargePointVendor":"V"})),
            Some("OccurenceConstraintViolation")
        );
        assert_eq!(
            boot16(json!({"chargePointVendor":"V","chargePointModel":5})),
            Some("TypeConstraintViolation")
        );
        assert_eq!(
            boot16(json!({"chargePointVendor":"V","chargePointModel":"x".repeat(21)})),
            Some("TypeConstraintViolation")
        );
        assert_eq!(
            boot16(json!({"chargePointVendor":"V","chargePointModel":"M","extra":1})),
            Some("FormationViolation")
        );
        let status16 = |p| code_of(OcppVersion::V16, "StatusNotification", p);
        assert_eq!(
            status16(json!({"connectorId":1,"errorCode":"NoError","status":"Sleeping"})),
            Some("PropertyConstraintViolation")
        );
        assert_eq!(
            status16(
                json!({"connectorId":1,"errorCode":"NoError","status":"Available","timestamp":"not a time"})
            ),
            Some("FormationViolation")
        );

        let boot201 = |p| code_of(OcppVersion::V201, "BootNotification", p);
        assert_eq!(
            boot201(json!({"reason":"PowerUp"})),
            Some("OccurrenceConstraintViolation")
        );
        assert_eq!(
            boot201(json!({"reason":"PowerUp","chargingStation":{"model":1,"vendorName":"V"}})),
            Some("TypeConstraintViolation")
        );
        assert_eq!(
            boot201(json!({"reason":"Bored","chargingStation":{"model":"M","vendorName":"V"}})),
            Some("PropertyConstraintViolation")
        );
        assert_eq!(
            boot201(
                json!({"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"},"x":1})
            ),
            Some("FormatViolation")
        );
        // customData is open
        assert_eq!(
            boot201(
                json!({"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"},"customData":{"vendorId":"X","y":1}})
            ),
            None
        );
        // several violations: occurrence wins over type
        assert_eq!(
            boot16(json!({"chargePointVendor":5})),
            Some("OccurenceConstraintViolation")
        );
        assert_eq!(
            code_of(OcppVersion::V16, "NoSuchAction", json!({})),
            Some("NotImplemented")
        );
        assert_eq!(
            code_of(OcppVersion::V16, "TransactionEvent", json!({})),
            Some("NotImplemented")
        );
    }

    #[test]
    fn details_list_paths() {
        let mut p = json!({"chargePointVendor":5});
        let e = normalize_and_validate(
            OcppVersion::V16,
            "BootNotification",
            MessageKind::Request,
            &mut p,
        )
        .unwrap_err();
        let errors = e.details["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["path"] == "/chargePointVendor" && e["keyword"] == "type"),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e["keyword"] == "required"),
            "{errors:?}"
        );
        assert!(
            e.description.starts_with("BootNotification request: "),
            "{}",
            e.description
        );
    }

    #[test]
    fn zone_less_timestamps_are_repaired_before_validation() {
        let mut p = json!({
            "connectorId": 1,
            "transactionId": 5,
            "meterValue": [
                {"timestamp": "2024-05-01T10:00:00", "sampledValue": [{"value": "10"}]},
                {"timestamp": "2024-05-01 10:05:00", "sampledValue": [{"value": "11"}]}
            ]
        });
        let repaired = normalize_and_validate(
            OcppVersion::V16,
            "MeterValues",
            MessageKind::Request,
            &mut p,
        )
        .unwrap();
        assert_eq!(repaired, 2);
        assert_eq!(p["meterValue"][0]["timestamp"], "2024-05-01T10:00:00Z");
        assert_eq!(p["meterValue"][1]["timestamp"], "2024-05-01T10:05:00Z");

        // 2.0.1 uses $ref'd definitions
        let mut p = json!({
            "eventType": "Started",
            "timestamp": "2024-05-01T10:00:00",
            "triggerReason": "Authorized",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "t1"},
            "meterValue": [{"timestamp": "2024-05-01T10:00:00", "sampledValue": [{"value": 1.0}]}]
        });
        let repaired = normalize_and_validate(
            OcppVersion::V201,
            "TransactionEvent",
            MessageKind::Request,
            &mut p,
        )
        .unwrap();
        assert_eq!(repaired, 2);
        assert_eq!(p["timestamp"], "2024-05-01T10:00:00Z");
        assert_eq!(p["meterValue"][0]["timestamp"], "2024-05-01T10:00:00Z");
        // a text field that looks like a timestamp is left alone
        let mut p = json!({"vendorId": "V", "data": "2024-05-01T10:00:00"});
        normalize_and_validate(
            OcppVersion::V16,
            "DataTransfer",
            MessageKind::Request,
            &mut p,
        )
        .unwrap();
        assert_eq!(p["data"], "2024-05-01T10:00:00");
    }

    #[test]
    fn decimal_multiple_of_tenths_is_accepted() {
        // 1.6 SetChargingProfile limits are `multipleOf: 0.1`; 21.4 / 0.1 is not an integer in
        // binary floating point, and must still validate.
        let mut p = json!({
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 1, "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}, {"startPeriod": 60, "limit": 0.3}],
                    "minChargingRate": 6.1
                }
            }
        });
        normalize_and_validate(
            OcppVersion::V16,
            "SetChargingProfile",
            MessageKind::Request,
            &mut p,
        )
        .unwrap();
        p["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] =
            json!(21.45);
        let e = normalize_and_validate(
            OcppVersion::V16,
            "SetChargingProfile",
            MessageKind::Request,
            &mut p,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::PropertyConstraintViolation);
    }

    #[test]
    fn responses_validate_too() {
        assert!(
            validate(
                OcppVersion::V16,
                "RemoteStartTransaction",
                MessageKind::Response,
                &json!({"status":"Accepted"})
            )
            .is_ok()
        );
        let e = validate(
            OcppVersion::V16,
            "RemoteStartTransaction",
            MessageKind::Response,
            &json!({"status":"Maybe"}),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::PropertyConstraintViolation);
    }
}
