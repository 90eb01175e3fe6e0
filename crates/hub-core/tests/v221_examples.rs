//! Acceptance test of the OCPI 2.2.1 models against the examples of the specification.
//!
//! Every JSON file of the spec's `examples/` directory is classified by its name: a whole
//! object is parsed into its model, validated, written back and compared with the original as a
//! `serde_json::Value`; a fragment (`{"energy_mix": {...}}`) or a response envelope is checked
//! the same way for its object; a PATCH body is applied to a whole example and the result
//! parsed; the few examples that break the spec are listed with the error they must give. A
//! file that fits none of these fails the test, so a new example is never skipped silently.
//!
//! The spec directory is `../../../shared/specs/ocpi-2.2.1` from this crate; when that does not
//! exist, the `OCPI_SPECS_DIR` environment variable names it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use hub_core::ocpi::v221::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn specs_dir() -> PathBuf {
    // `OCPI_SPECS_ROOT` (the folder holding `ocpi-2.1.1/` and `ocpi-2.2.1/`) wins.
    if let Some(root) = std::env::var_os("OCPI_SPECS_ROOT") {
        return PathBuf::from(root).join("ocpi-2.2.1");
    }
    let default =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs/ocpi-2.2.1");
    if default.is_dir() {
        return default;
    }
    match std::env::var_os("OCPI_SPECS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => panic!(
            "OCPI 2.2.1 spec not found at {} and OCPI_SPECS_DIR is not set",
            default.display()
        ),
    }
}

fn examples_dir() -> PathBuf {
    specs_dir().join("examples")
}

fn read_example(name: &str) -> Vec<u8> {
    std::fs::read(examples_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("example is JSON")
}

// ---------------------------------------------------------------------------------------------
// Round-trip helpers; each returns a description of what went wrong.
// ---------------------------------------------------------------------------------------------

/// Checks that `parsed` writes back to `original`, both through `to_value` and through text.
fn compare<T: Serialize>(parsed: &T, original: &Value) -> Result<(), String> {
    let as_value = serde_json::to_value(parsed).map_err(|e| format!("to_value: {e}"))?;
    if as_value != *original {
        return Err(format!(
            "round trip differs:\n  original: {original}\n  written:  {as_value}"
        ));
    }
    let text = serde_json::to_string(parsed).map_err(|e| format!("to_string: {e}"))?;
    let reread: Value =
        serde_json::from_str(&text).map_err(|e| format!("written text is not JSON: {e}"))?;
    if reread != *original {
        return Err(format!(
            "round trip through text differs:\n  original: {original}\n  written:  {text}"
        ));
    }
    Ok(())
}

/// A whole object: parse the bytes (with validation) and compare.
fn whole<T: DeserializeOwned + Serialize + Validate>(bytes: &[u8]) -> Result<(), String> {
    let parsed: T = parse(bytes).map_err(|e| format!("parse: {e}"))?;
    compare(&parsed, &json_of(bytes))
}

/// An object given as a JSON value.
fn value<T: DeserializeOwned + Serialize + Validate>(v: &Value) -> Result<(), String> {
    let parsed: T = from_value(v.clone()).map_err(|e| format!("parse: {e}"))?;
    compare(&parsed, v)
}

/// Checks one example given as bytes, or as a JSON value.
type BytesCheck = fn(&[u8]) -> Result<(), String>;
type ValueCheck = fn(&Value) -> Result<(), String>;

/// How an example file is checked.
enum Kind {
    /// The file is one object of a model.
    Whole(BytesCheck),
    /// The file is `{"<key>": object}`: a fragment of a bigger object.
    Fragment(&'static str, ValueCheck),
    /// The file is a response envelope; its `data` is checked.
    Envelope(ValueCheck),
}

/// Classification by file name; the first matching prefix wins.
fn kind_of(name: &str) -> Option<Kind> {
    type KindFn = fn() -> Kind;
    let by_prefix: &[(&str, KindFn)] = &[
        ("location_energymix_", || {
            Kind::Fragment("energy_mix", value::<EnergyMix>)
        }),
        ("location_regularhours_", || {
            Kind::Fragment("opening_times", value::<Hours>)
        }),
        ("location_hours_", || Kind::Whole(whole::<Hours>)),
        ("location_", || Kind::Whole(whole::<Location>)),
        ("session_", || Kind::Whole(whole::<Session>)),
        ("cdr_", || Kind::Whole(whole::<Cdr>)),
        // Despite the name, these are whole tariffs showing restrictions.
        ("tariffrestriction_", || Kind::Whole(whole::<Tariff>)),
        ("tariff_", || Kind::Whole(whole::<Tariff>)),
        ("token_", || Kind::Whole(whole::<Token>)),
        ("credentials_", || Kind::Whole(whole::<Credentials>)),
        ("type_displaytext_", || Kind::Whole(whole::<DisplayText>)),
        ("versions_info_", || Kind::Whole(whole::<Vec<Version>>)),
        ("version_details_", || Kind::Whole(whole::<VersionDetails>)),
        ("transport_and_format_get_token_list_", || {
            Kind::Envelope(value::<Vec<Token>>)
        }),
        ("transport_and_format_get_token_", || {
            Kind::Envelope(value::<Token>)
        }),
        ("transport_and_format_version_details_", || {
            Kind::Envelope(value::<VersionDetails>)
        }),
        ("transport_and_format_version_info_", || {
            Kind::Envelope(value::<Vec<Version>>)
        }),
    ];
    by_prefix
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, kind)| kind())
}

/// PATCH bodies hold partial objects. Each is applied (top-level merge, as OCPI PATCH does) to
/// the object at `pointer` in a whole example, and the result must parse as that object.
/// (file, base example, JSON pointer into the base, check of the patched object)
const PATCHES: &[(&str, &str, &str, ValueCheck)] = &[
    (
        "location_patch_example_location.json",
        "location_example.json",
        "",
        value::<Location>,
    ),
    (
        "location_patch_example_remove_evse.json",
        "location_example.json",
        "/evses/0",
        value::<Evse>,
    ),
    (
        "location_patch_example_status.json",
        "location_example.json",
        "/evses/0",
        value::<Evse>,
    ),
    (
        "location_patch_example_tariff.json",
        "location_example.json",
        "/evses/0/connectors/0",
        value::<Connector>,
    ),
    (
        "session_patch_example_charging_period.json",
        "session_example_2_short_finished.json",
        "",
        value::<Session>,
    ),
    (
        "session_patch_example_total_cost.json",
        "session_example_1_simple_start.json",
        "",
        value::<Session>,
    ),
    (
        "token_patch_example.json",
        "token_example_1_app_user.json",
        "",
        value::<Token>,
    ),
];

/// Examples of whole objects that break the spec, with the field their parse must reject.
/// (file, model, expected error field, why)
const NONCONFORMING: &[(&str, BytesCheck, &str, &str)] = &[
    (
        "location_put_example_add_evse.json",
        whole::<Evse>,
        "connectors[0].power_type",
        "EVSE of a PUT: its connector lacks the required power_type, max_voltage, max_amperage \
         and last_updated; physical_reference is a number, not string(16); `floor` is not an \
         EVSE field (floor_level is)",
    ),
    (
        "tariff_put_example.json",
        whole::<Tariff>,
        "last_updated",
        "Tariff of a PUT without the required last_updated",
    ),
];

#[test]
fn every_example_round_trips() {
    let dir = examples_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(
        names.len() >= 50,
        "expected the spec's examples in {}, found {}",
        dir.display(),
        names.len()
    );

    let mut failures = Vec::new();
    let mut checked = 0;
    for name in &names {
        let bytes = read_example(name);
        let result = if !name.ends_with(".json") {
            Err("not a .json file; classify it in this test".to_owned())
        } else if let Some(&(_, base, pointer, check)) = PATCHES.iter().find(|p| p.0 == name) {
            check_patch(&bytes, base, pointer, check)
        } else if let Some(&(_, model, field, _)) = NONCONFORMING.iter().find(|n| n.0 == name) {
            check_nonconforming(&bytes, model, field)
        } else {
            match kind_of(name) {
                Some(Kind::Whole(check)) => check(&bytes),
                Some(Kind::Fragment(key, check)) => {
                    let v = json_of(&bytes);
                    let keys: Vec<&String> = v
                        .as_object()
                        .map(|o| o.keys().collect())
                        .unwrap_or_default();
                    if keys != [key] {
                        Err(format!(
                            "expected an object with only `{key}`, found keys {keys:?}"
                        ))
                    } else {
                        check(&v[key])
                    }
                }
                Some(Kind::Envelope(check)) => {
                    let v = json_of(&bytes);
                    if v["status_code"] != json!(1000) {
                        Err("expected a success envelope".to_owned())
                    } else {
                        check(&v["data"])
                    }
                }
                None => Err("unknown example: add its file name prefix to `kind_of`".to_owned()),
            }
        };
        checked += 1;
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }

    let present: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    for listed in PATCHES
        .iter()
        .map(|p| p.0)
        .chain(NONCONFORMING.iter().map(|n| n.0))
    {
        if !present.contains(listed) {
            failures.push(format!(
                "{listed}: listed in this test but not in the examples"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} examples failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check_patch(patch: &[u8], base: &str, pointer: &str, check: ValueCheck) -> Result<(), String> {
    let patch = json_of(patch);
    let fields = patch
        .as_object()
        .ok_or("a PATCH body must be a JSON object")?;
    if !fields.contains_key("last_updated") {
        return Err("a PATCH body must contain last_updated".to_owned());
    }
    let mut target = json_of(&read_example(base))
        .pointer(pointer)
        .cloned()
        .ok_or_else(|| format!("{base} has nothing at {pointer}"))?;
    let object = target
        .as_object_mut()
        .ok_or("PATCH target is not an object")?;
    for (key, v) in fields {
        object.insert(key.clone(), v.clone());
    }
    check(&target)
}

fn check_nonconforming(bytes: &[u8], model: BytesCheck, field: &str) -> Result<(), String> {
    json_of(bytes);
    match model(bytes) {
        Ok(()) => Err(
            "expected to break the spec, but it parses: move it out of NONCONFORMING".to_owned(),
        ),
        Err(e) if e.contains(&format!("`{field}`")) => Ok(()),
        Err(e) => Err(format!("expected an error at `{field}`, got: {e}")),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON examples inside the asciidoc texts
// ---------------------------------------------------------------------------------------------

/// Inline `[source,json]` blocks that are not whole, valid objects: (asciidoc file, text that
/// identifies the block, why it is skipped).
const INLINE_SKIPPED: &[(&str, &str, &str)] = &[
    (
        "mod_hub_client_info.asciidoc",
        r#""status": "PLANNED""#,
        "ClientInfo PUT example: not valid JSON (trailing comma) and without the required last_updated",
    ),
    (
        "transport_and_format.asciidoc",
        r#""status_code": 2001"#,
        "an error response envelope, not a module object",
    ),
];

/// Every `[source,json]` block of the spec either includes an example file (checked by
/// `every_example_round_trips`) or is one of the documented inline blocks.
#[test]
fn asciidoc_json_blocks_are_covered() {
    let dir = specs_dir();
    let examples: BTreeSet<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut failures = Vec::new();
    let mut skipped_seen = BTreeSet::new();
    let mut includes = 0;
    let mut docs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "asciidoc"))
        .collect();
    docs.sort();
    assert!(!docs.is_empty(), "no asciidoc files in {}", dir.display());

    for doc in &docs {
        let doc_name = doc.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(doc).unwrap();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if line.trim() != "[source,json]" {
                continue;
            }
            if lines.next().map(str::trim) != Some("----") {
                failures.push(format!("{doc_name}: [source,json] not followed by ----"));
                continue;
            }
            let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "----").collect();
            let included: Vec<&str> = block
                .iter()
                .filter_map(|l| l.trim().strip_prefix("include::examples/"))
                .map(|rest| rest.split('[').next().unwrap())
                .collect();
            if !included.is_empty() {
                for file in included {
                    includes += 1;
                    if !examples.contains(file) {
                        failures.push(format!("{doc_name}: includes missing example {file}"));
                    }
                }
                continue;
            }
            let body = block.join("\n");
            match INLINE_SKIPPED.iter().find(|(d, marker, _)| *d == doc_name && body.contains(marker)) {
                Some(entry) => {
                    skipped_seen.insert((entry.0, entry.1));
                }
                None => failures.push(format!(
                    "{doc_name}: inline JSON example not covered by this test; check it or add it to \
                     INLINE_SKIPPED:\n{body}"
                )),
            }
        }
    }
    for (doc, marker, _) in INLINE_SKIPPED {
        if !skipped_seen.contains(&(*doc, *marker)) {
            failures.push(format!(
                "{doc}: skipped inline block `{marker}` no longer exists"
            ));
        }
    }
    assert!(includes >= 50, "found only {includes} example includes");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Behaviour of parse/validate on modified examples
// ---------------------------------------------------------------------------------------------

fn location_example() -> Value {
    json_of(&read_example("location_example.json"))
}

fn parse_location(v: &Value) -> Result<Location, ParseError> {
    parse(&serde_json::to_vec(v).unwrap())
}

fn invalid_field(result: Result<impl std::fmt::Debug, ParseError>) -> String {
    match result {
        Err(ParseError::Invalid { field, .. }) => field,
        other => panic!("expected ParseError::Invalid, got {other:?}"),
    }
}

#[test]
fn unknown_fields_survive_round_trip() {
    let mut v = location_example();
    v["x_top"] = json!({"nested": [1, 2.5, null, "s"], "flag": true});
    v["evses"][0]["x_evse"] = json!("kept");
    v["evses"][0]["connectors"][1]["x_connector"] = json!(42);
    v["operator"]["x_operator"] = json!(null);
    v["coordinates"]["x_datum"] = json!("WGS84");

    let location = parse_location(&v).unwrap();
    assert_eq!(location.extra["x_top"], v["x_top"]);
    let evse = &location.evses.as_ref().unwrap()[0];
    assert_eq!(evse.extra["x_evse"], json!("kept"));
    assert_eq!(evse.connectors[1].extra["x_connector"], json!(42));
    assert_eq!(serde_json::to_value(&location).unwrap(), v);
}

#[test]
fn explicit_null_reads_as_absent() {
    // The spec treats an optional field set to null like an omitted one; no example has one.
    let mut v = location_example();
    v["name"] = Value::Null;
    v["evses"][0]["capabilities"] = Value::Null;
    let location = parse_location(&v).unwrap();
    assert_eq!(location.name, None);
    let written = serde_json::to_value(&location).unwrap();
    assert!(written.get("name").is_none());
    assert!(written["evses"][0].get("capabilities").is_none());
}

#[test]
fn bad_enum_value_names_its_path() {
    let mut v = location_example();
    v["evses"][0]["status"] = json!("BROKEN");
    let err = parse_location(&v).unwrap_err();
    let ParseError::Invalid { field, message } = err else {
        panic!("{err:?}")
    };
    assert_eq!(field, "evses[0].status");
    assert!(message.contains("BROKEN"), "{message}");

    let mut v = location_example();
    v["evses"][0]["connectors"][1]["standard"] = json!("iec_62196_t2");
    assert_eq!(
        invalid_field(parse_location(&v)),
        "evses[0].connectors[1].standard"
    );

    let mut v = location_example();
    v["parking_type"] = json!(7);
    assert_eq!(invalid_field(parse_location(&v)), "parking_type");
}

#[test]
fn missing_field_is_named() {
    let mut v = location_example();
    v.as_object_mut().unwrap().remove("id");
    let err = parse_location(&v).unwrap_err();
    let ParseError::Invalid { field, message } = err else {
        panic!("{err:?}")
    };
    assert_eq!(field, "id");
    assert!(message.contains("missing field"), "{message}");

    let mut v = location_example();
    v["evses"][1].as_object_mut().unwrap().remove("uid");
    assert_eq!(invalid_field(parse_location(&v)), "evses[1].uid");

    let mut v = location_example();
    v["evses"][0]["connectors"][0]
        .as_object_mut()
        .unwrap()
        .remove("last_updated");
    assert_eq!(
        invalid_field(parse_location(&v)),
        "evses[0].connectors[0].last_updated"
    );
}

#[test]
fn too_long_party_id_is_rejected() {
    let mut v = location_example();
    v["party_id"] = json!("BECX");
    let err = parse_location(&v).unwrap_err();
    let ParseError::Invalid { field, message } = err else {
        panic!("{err:?}")
    };
    assert_eq!(field, "party_id");
    assert!(message.contains("3"), "{message}");

    let mut v = location_example();
    v["country_code"] = json!("BEL");
    assert_eq!(invalid_field(parse_location(&v)), "country_code");

    let mut v = location_example();
    v["id"] = json!("x".repeat(37));
    assert_eq!(invalid_field(parse_location(&v)), "id");

    let mut v = location_example();
    v["evses"][1]["connectors"][0]["tariff_ids"] = json!(["ok", "y".repeat(37)]);
    assert_eq!(
        invalid_field(parse_location(&v)),
        "evses[1].connectors[0].tariff_ids[1]"
    );

    let mut v = location_example();
    v["coordinates"]["latitude"] = json!("51.0");
    assert_eq!(invalid_field(parse_location(&v)), "coordinates.latitude");
}

#[test]
fn malformed_json_is_a_syntax_error() {
    for body in [
        &b"{\"id\": "[..],
        b"not json",
        b"",
        b"{\"country_code\": 5, ",
        b"{} trailing",
    ] {
        match parse::<Location>(body) {
            Err(ParseError::Syntax(_)) => {}
            other => panic!(
                "{:?}: expected Syntax, got {other:?}",
                String::from_utf8_lossy(body)
            ),
        }
    }
    assert_eq!(invalid_field(parse::<Location>(b"[]")), "");
    assert_eq!(invalid_field(from_value::<Location>(json!("x"))), "");
}

#[test]
fn errors_from_values_name_their_path_too() {
    let mut v = location_example();
    v["evses"][1]["capabilities"] = json!(["RESERVABLE", "TELEPORT"]);
    assert_eq!(
        invalid_field(from_value::<Location>(v)),
        "evses[1].capabilities[1]"
    );
}

#[test]
fn decimals_are_exact_json_numbers() {
    for text in ["0.1", "2.1", "0.25", "1234567.8912"] {
        let body = format!(r#"{{"excl_vat":{text},"incl_vat":{text}}}"#);
        let price: Price = serde_json::from_str(&body).unwrap();
        assert_eq!(price.excl_vat.to_string(), text);
        assert_eq!(price.incl_vat.unwrap().to_string(), text);
        assert_eq!(serde_json::to_string(&price).unwrap(), body);
    }
    let price = Price {
        excl_vat: "4.400".parse().unwrap(),
        incl_vat: Some(5.into()),
        extra: Default::default(),
    };
    assert_eq!(
        serde_json::to_string(&price).unwrap(),
        r#"{"excl_vat":4.4,"incl_vat":5}"#
    );
}

#[test]
fn timestamps_keep_their_text() {
    let mut v = location_example();
    v["last_updated"] = json!("2015-06-29T20:39:09");
    v["evses"][0]["last_updated"] = json!("2015-06-29T20:39:09.25Z");
    let location = parse_location(&v).unwrap();
    assert_eq!(
        location.last_updated,
        DateTime::parse("2015-06-29T20:39:09Z").unwrap()
    );
    assert_eq!(serde_json::to_value(&location).unwrap(), v);

    v["last_updated"] = json!("2015-06-29T20:39:09+01:00");
    assert_eq!(invalid_field(parse_location(&v)), "last_updated");
}

#[test]
fn contextual_rules() {
    // publish_allowed_to only with publish = false.
    let mut v = json_of(&read_example(
        "location_example_uc4_limited_visibility.json",
    ));
    v["publish"] = json!(true);
    assert_eq!(invalid_field(parse_location(&v)), "publish_allowed_to");
    // A PublishTokenType with a uid needs a type.
    let mut v = json_of(&read_example(
        "location_example_uc4_limited_visibility.json",
    ));
    v["publish_allowed_to"][2]
        .as_object_mut()
        .unwrap()
        .remove("type");
    assert_eq!(
        invalid_field(parse_location(&v)),
        "publish_allowed_to[2].type"
    );
    // An EVSE has at least one connector.
    let mut v = location_example();
    v["evses"][0]["connectors"] = json!([]);
    assert_eq!(invalid_field(parse_location(&v)), "evses[0].connectors");
    // Regular hours only, and then required, when not 24/7.
    let mut v = json_of(&read_example(
        "location_example_parking_garage_opening_hours.json",
    ));
    v["opening_times"]["twentyfourseven"] = json!(true);
    assert_eq!(
        invalid_field(parse_location(&v)),
        "opening_times.regular_hours"
    );
    v["opening_times"]["regular_hours"][3]["period_end"] = json!("24:00");
    v["opening_times"]["twentyfourseven"] = json!(false);
    assert_eq!(
        invalid_field(parse_location(&v)),
        "opening_times.regular_hours[3].period_end"
    );

    // A credit CDR needs credit_reference_id.
    let mut cdr = json_of(&read_example("cdr_example.json"));
    cdr["credit"] = json!(true);
    assert_eq!(
        invalid_field(from_value::<Cdr>(cdr.clone())),
        "credit_reference_id"
    );
    cdr["credit_reference_id"] = json!("12345");
    from_value::<Cdr>(cdr).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Modules without example files in the spec
// ---------------------------------------------------------------------------------------------

fn token() -> Value {
    json_of(&read_example("token_example_2_full_rfid.json"))
}

#[test]
fn command_objects_round_trip() {
    let start = json!({
        "response_url": "https://emsp.example.com/ocpi/2.2.1/commands/START_SESSION/1234",
        "token": token(),
        "location_id": "LOC1",
        "evse_uid": "3256",
        "connector_id": "1",
        "authorization_reference": "AUTH-1"
    });
    value::<StartSession>(&start).unwrap();
    let mut no_evse = start.clone();
    no_evse.as_object_mut().unwrap().remove("evse_uid");
    assert_eq!(
        invalid_field(from_value::<StartSession>(no_evse)),
        "evse_uid"
    );
    let mut bad_token = start;
    bad_token["token"]["whitelist"] = json!("SOMETIMES");
    assert_eq!(
        invalid_field(from_value::<StartSession>(bad_token)),
        "token.whitelist"
    );

    value::<StopSession>(&json!({"response_url": "https://e.example/cb/1", "session_id": "101"}))
        .unwrap();
    value::<ReserveNow>(&json!({
        "response_url": "https://e.example/cb/2", "token": token(), "expiry_date": "2020-03-09T11:17:09Z",
        "reservation_id": "R1", "location_id": "LOC1"
    }))
    .unwrap();
    value::<CancelReservation>(
        &json!({"response_url": "https://e.example/cb/3", "reservation_id": "R1"}),
    )
    .unwrap();
    value::<UnlockConnector>(&json!({
        "response_url": "https://e.example/cb/4", "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"
    }))
    .unwrap();
    value::<CommandResponse>(&json!({
        "result": "ACCEPTED", "timeout": 30, "message": [{"language": "en", "text": "Accepted"}]
    }))
    .unwrap();
    value::<CommandResult>(&json!({"result": "EVSE_OCCUPIED"})).unwrap();
    assert_eq!(
        invalid_field(from_value::<CommandResult>(json!({"result": "MAYBE"}))),
        "result"
    );
}

#[test]
fn charging_profile_objects_round_trip() {
    let profile = json!({
        "start_date_time": "2020-03-09T10:17:09Z",
        "duration": 3600,
        "charging_rate_unit": "W",
        "min_charging_rate": 1380.5,
        "charging_profile_period": [
            {"start_period": 0, "limit": 11000},
            {"start_period": 1800, "limit": 7400.0}
        ]
    });
    value::<SetChargingProfile>(
        &json!({"charging_profile": profile, "response_url": "https://s.example/cb/1"}),
    )
    .unwrap();
    let active = json!({"start_date_time": "2020-03-09T10:17:09.5Z", "charging_profile": profile});
    value::<ActiveChargingProfile>(&active).unwrap();
    value::<ActiveChargingProfileResult>(&json!({"result": "ACCEPTED", "profile": active}))
        .unwrap();
    assert_eq!(
        invalid_field(from_value::<ActiveChargingProfileResult>(
            json!({"result": "ACCEPTED"})
        )),
        "profile"
    );
    value::<ChargingProfileResponse>(&json!({"result": "TOO_OFTEN", "timeout": 10})).unwrap();
    value::<ChargingProfileResult>(&json!({"result": "REJECTED"})).unwrap();
    value::<ClearProfileResult>(&json!({"result": "UNKNOWN"})).unwrap();

    let mut fine = profile.clone();
    fine["charging_profile_period"][1]["limit"] = json!(7400.25);
    assert_eq!(
        invalid_field(from_value::<ChargingProfile>(fine)),
        "charging_profile_period[1].limit"
    );
}

#[test]
fn token_authorization_and_client_info_round_trip() {
    value::<AuthorizationInfo>(&json!({
        "allowed": "ALLOWED",
        "token": token(),
        "location": {"location_id": "LOC1", "evse_uids": ["3256", "3257"]},
        "authorization_reference": "AUTH-1",
        "info": {"language": "en", "text": "Welcome"}
    }))
    .unwrap();
    value::<LocationReferences>(&json!({"location_id": "LOC1"})).unwrap();
    value::<ClientInfo>(&json!({
        "party_id": "ALL", "country_code": "NL", "role": "CPO", "status": "PLANNED",
        "last_updated": "2019-06-24T12:39:09Z"
    }))
    .unwrap();
    assert_eq!(
        invalid_field(from_value::<ClientInfo>(json!({
            "party_id": "ALL", "country_code": "NL", "role": "CPO", "status": "GONE",
            "last_updated": "2019-06-24T12:39:09Z"
        }))),
        "status"
    );
    value::<ChargingPreferences>(&json!({
        "profile_type": "FAST", "departure_time": "2019-06-24T18:00:00Z", "energy_need": 32.5
    }))
    .unwrap();
}
