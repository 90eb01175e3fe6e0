//! Round trips of every typed payload against payloads generated from the official schemas: all
//! optional fields present or absent, and every enum value.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::{OcppRequest, v16, v201};
use crate::schema::{self, Direction, MessageKind};

fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .unwrap_or(node),
        None => node,
    }
}

fn max_enum_len(root: &Value, node: &Value, depth: usize) -> usize {
    if depth > 20 {
        return 1;
    }
    let node = resolve(root, node);
    let mut n = node
        .get("enum")
        .and_then(Value::as_array)
        .map_or(1, Vec::len);
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for p in props.values() {
            n = n.max(max_enum_len(root, p, depth + 1));
        }
    }
    if let Some(items) = node.get("items") {
        n = n.max(max_enum_len(root, items, depth + 1));
    }
    n
}

/// A payload valid against `node`: every property when `full`, only required ones otherwise;
/// enums take their `variant`-th value (modulo their length).
fn sample(root: &Value, node: &Value, variant: usize, full: bool, depth: usize) -> Value {
    let node = resolve(root, node);
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        return values[variant % values.len()].clone();
    }
    match node.get("type").and_then(Value::as_str) {
        Some("object") => {
            let required: Vec<&str> = node
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut out = Map::new();
            if let Some(props) = node.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    if (full && depth < 12) || required.contains(&k.as_str()) {
                        out.insert(k.clone(), sample(root, sub, variant, full, depth + 1));
                    }
                }
            }
            Value::Object(out)
        }
        Some("array") => {
            let n = node
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1) as usize;
            let items = node.get("items").cloned().unwrap_or(json!({}));
            Value::Array(
                (0..n)
                    .map(|i| sample(root, &items, variant + i, full, depth + 1))
                    .collect(),
            )
        }
        Some("string") => match node.get("format").and_then(Value::as_str) {
            Some("date-time") => json!("2024-05-01T10:00:00Z"),
            Some("uri") => json!("https://example.com/x"),
            _ => json!("x"),
        },
        Some("integer") => json!(
            node.get("minimum")
                .and_then(Value::as_f64)
                .map_or(1, |m| m.max(0.0) as i64)
        ),
        Some("number") => json!(1.5),
        Some("boolean") => json!(true),
        _ => json!({}),
    }
}

fn round_trip<T: Serialize + DeserializeOwned>(payload: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(payload.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

fn check_half<T: Serialize + DeserializeOwned>(
    version: crate::OcppVersion,
    action: &str,
    kind: MessageKind,
) -> usize {
    let src = schema::source(version, action, kind)
        .unwrap_or_else(|| panic!("no schema for {version} {action}"));
    let root: Value = serde_json::from_str(src).unwrap();
    let variants = max_enum_len(&root, &root, 0);
    let mut checked = 0;
    for variant in 0..variants {
        for full in [true, false] {
            let payload = sample(&root, &root, variant, full, 0);
            schema::validate(version, action, kind, &payload).unwrap_or_else(|e| {
                panic!("generated {version} {action} {kind:?} invalid: {e}\n{payload:#}")
            });
            let back = round_trip::<T>(&payload)
                .unwrap_or_else(|e| panic!("{version} {action} {kind:?}: {e}\n{payload:#}"));
            assert_eq!(
                back, payload,
                "{version} {action} {kind:?} full={full} variant={variant}"
            );
            checked += 1;
        }
    }
    // Fields the type does not model survive.
    let mut payload = sample(&root, &root, 0, false, 0);
    payload
        .as_object_mut()
        .unwrap()
        .insert("zzVendorField".into(), json!({"a": [1, "b"]}));
    assert_eq!(
        round_trip::<T>(&payload).unwrap(),
        payload,
        "{version} {action} {kind:?} extra field"
    );
    checked
}

fn check_request<R: OcppRequest>() -> usize {
    assert_eq!(
        schema::known_action(R::VERSION, R::ACTION),
        Some(R::ACTION),
        "{} {}",
        R::VERSION,
        R::ACTION
    );
    check_half::<R>(R::VERSION, R::ACTION, MessageKind::Request)
        + check_half::<R::Response>(R::VERSION, R::ACTION, MessageKind::Response)
}

type Check = fn() -> usize;

macro_rules! v16_checks {
    ($($t:ident),* $(,)?) => { vec![$((stringify!($t), check_request::<v16::$t> as Check)),*] };
}
macro_rules! v201_checks {
    ($($t:ident),* $(,)?) => { vec![$((stringify!($t), check_request::<v201::$t> as Check)),*] };
}

#[test]
fn every_v16_type_round_trips_generated_payloads() {
    let checks: Vec<(&str, Check)> = v16::for_each_v16_request!(v16_checks);
    assert_eq!(checks.len(), 18);
    let total: usize = checks.iter().map(|(_, f)| f()).sum();
    assert!(total > 100, "{total}");
}

#[test]
fn every_v201_type_round_trips_generated_payloads() {
    let checks: Vec<(&str, Check)> = v201::for_each_v201_request!(v201_checks);
    assert_eq!(checks.len(), 15);
    let total: usize = checks.iter().map(|(_, f)| f()).sum();
    assert!(total > 100, "{total}");
}

#[test]
fn typed_directions_match_the_tables() {
    use crate::OcppVersion;
    assert_eq!(
        schema::direction(OcppVersion::V16, v16::RemoteStartTransactionRequest::ACTION),
        Some(Direction::FromCsms)
    );
    assert_eq!(
        schema::direction(OcppVersion::V201, v201::TransactionEventRequest::ACTION),
        Some(Direction::FromCharger)
    );
    assert_eq!(
        v201::NotifyEvChargingNeedsRequest::ACTION,
        "NotifyEVChargingNeeds"
    );
}

#[test]
fn enums_have_schema_spellings() {
    assert_eq!(v16::Measurand::Rpm.as_str(), "RPM");
    assert_eq!(v16::Measurand::ALL.len(), 22);
    assert_eq!(v201::ConnectorType::S3091P16A.to_string(), "s309-1P-16A");
    assert_eq!(
        serde_json::to_value(v201::IdTokenEnum::EMaid).unwrap(),
        json!("eMAID")
    );
}
