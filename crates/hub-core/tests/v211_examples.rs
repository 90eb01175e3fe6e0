//! Acceptance test of the OCPI 2.1.1 models against the examples of the 2.1.1 specification.
//!
//! The 2.1.1 spec has no example files: its examples are the ```` ```json ```` blocks of the
//! markdown chapters. [`spec_blocks`] scans every `*.md` file of the spec directory and
//! extracts them, each named by its file and the heading above it ([`Block::id`]). Every block
//! is then checked in exactly one way:
//! - a **whole object** (or a success envelope, whose `data` is checked): its model is decided
//!   from its fields ([`shape_of`]) and must belong to the chapter it is in; it is parsed,
//!   validated, written back and compared with the original as a `serde_json::Value`;
//! - a block in [`NOT_WHOLE`] is not a whole object (a PATCH body, a `"key": {...}` fragment,
//!   an error envelope, invalid JSON), with the reason; patches and fragments are still checked
//!   as far as they go;
//! - a block in [`NONCONFORMING`] is a whole object that breaks the spec: its parse must fail
//!   at the listed field, and after the listed repair it must round-trip like any other.
//!
//! A block that fits none of these (a new example, or a block whose fields do not identify a
//! model) fails the test, and so does a list entry whose block no longer exists, so an example
//! is never skipped silently. A fenced block without the `json` tag that looks like JSON fails
//! too.
//!
//! The spec directory is `$OCPI_211_SPECS_DIR` when set, else
//! `../../../shared/specs/ocpi-2.1.1` from this crate.
//!
//! `tests/translate_roundtrip.rs` includes this file as a module to reuse the extraction and
//! the repaired examples ([`whole_examples`]), so these tests also run in that binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use hub_core::ocpi::v211::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub fn specs_dir() -> PathBuf {
    // `OCPI_SPECS_ROOT` (the folder holding `ocpi-2.1.1/` and `ocpi-2.2.1/`) wins.
    if let Some(root) = std::env::var_os("OCPI_SPECS_ROOT") {
        return PathBuf::from(root).join("ocpi-2.1.1");
    }
    if let Some(dir) = std::env::var_os("OCPI_211_SPECS_DIR") {
        return PathBuf::from(dir);
    }
    let default =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs/ocpi-2.1.1");
    assert!(
        default.is_dir(),
        "OCPI 2.1.1 spec not found at {}; set OCPI_211_SPECS_DIR",
        default.display()
    );
    default
}

// ---------------------------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------------------------

/// One ```` ```json ```` block of the spec.
#[derive(Debug, Clone)]
pub struct Block {
    /// `file § heading`, with ` (n)` for the n-th block under the same heading (n ≥ 2).
    pub id: String,
    pub file: String,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// A leading `PUT To URL: ...` / `PATCH To URL: ...` line, when the block has one.
    pub request_line: Option<String>,
    /// The block without its request line.
    pub body: String,
}

/// Every `json` block of every markdown file of the spec, in file order.
pub fn spec_blocks() -> Vec<Block> {
    let dir = specs_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "no 2.1.1 markdown in {}", dir.display());

    let mut blocks = Vec::new();
    for path in &files {
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let mut heading = String::from("(top)");
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut lines = text.lines().enumerate();
        while let Some((i, line)) = lines.next() {
            let trimmed = line.trim();
            if let Some(tag) = trimmed.strip_prefix("```") {
                let content: Vec<&str> = lines
                    .by_ref()
                    .map(|(_, l)| l)
                    .take_while(|l| !l.trim().starts_with("```"))
                    .collect();
                let body = content.join("\n");
                if tag.trim() != "json" {
                    let start = body.trim_start();
                    assert!(
                        !(start.starts_with('{') || start.starts_with('[')),
                        "{file}:{}: a fenced block tagged `{}` looks like JSON; tag it or \
                         handle it in this test",
                        i + 1,
                        tag.trim()
                    );
                    continue;
                }
                let n = seen.entry(heading.clone()).or_default();
                *n += 1;
                let id = if *n == 1 {
                    format!("{file} § {heading}")
                } else {
                    format!("{file} § {heading} ({n})")
                };
                let (request_line, body) = split_request_line(&body);
                blocks.push(Block {
                    id,
                    file: file.clone(),
                    line: i + 1,
                    request_line,
                    body,
                });
            } else if trimmed.starts_with('#') {
                heading = trimmed.trim_start_matches('#').trim().to_owned();
            }
        }
    }
    blocks
}

fn split_request_line(body: &str) -> (Option<String>, String) {
    let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.contains(" To URL:") {
        let rest = body.split_once(first).unwrap().1;
        (Some(first.trim().to_owned()), rest.to_owned())
    } else {
        (None, body.to_owned())
    }
}

// ---------------------------------------------------------------------------------------------
// Models by kind
// ---------------------------------------------------------------------------------------------

/// The models the examples are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Location,
    Evse,
    Connector,
    Hours,
    EnergyMix,
    Session,
    Cdr,
    Tariff,
    Token,
    AuthorizationInfo,
    CommandResponse,
    Credentials,
    Version,
    VersionDetails,
}

impl Kind {
    /// The chapter a kind's examples belong to.
    fn chapter(self) -> &'static str {
        match self {
            Kind::Location | Kind::Evse | Kind::Connector | Kind::Hours | Kind::EnergyMix => {
                "mod_locations.md"
            }
            Kind::Session => "mod_sessions.md",
            Kind::Cdr => "mod_cdrs.md",
            Kind::Tariff => "mod_tariffs.md",
            Kind::Token | Kind::AuthorizationInfo => "mod_tokens.md",
            Kind::CommandResponse => "mod_commands.md",
            Kind::Credentials => "credentials.md",
            Kind::Version | Kind::VersionDetails => "version_information_endpoint.md",
        }
    }

    /// Parses (with validation) and compares the written-back object with `v`.
    pub fn check(self, v: &Value) -> Result<(), String> {
        match self {
            Kind::Location => round_trip::<Location>(v),
            Kind::Evse => round_trip::<Evse>(v),
            Kind::Connector => round_trip::<Connector>(v),
            Kind::Hours => round_trip::<Hours>(v),
            Kind::EnergyMix => round_trip::<EnergyMix>(v),
            Kind::Session => round_trip::<Session>(v),
            Kind::Cdr => round_trip::<Cdr>(v),
            Kind::Tariff => round_trip::<Tariff>(v),
            Kind::Token => round_trip::<Token>(v),
            Kind::AuthorizationInfo => round_trip::<AuthorizationInfo>(v),
            Kind::CommandResponse => round_trip::<CommandResponse>(v),
            Kind::Credentials => round_trip::<Credentials>(v),
            Kind::Version => round_trip::<Version>(v),
            Kind::VersionDetails => round_trip::<VersionDetails>(v),
        }
    }
}

/// A whole object, or a list of whole objects of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    One(Kind),
    List(Kind),
}

/// Decides the model of a JSON value from its fields.
pub fn shape_of(v: &Value) -> Option<Shape> {
    match v {
        Value::Array(items) => {
            let kinds: BTreeSet<Option<Kind>> = items.iter().map(kind_of).collect();
            match kinds.into_iter().collect::<Vec<_>>().as_slice() {
                [Some(kind)] => Some(Shape::List(*kind)),
                _ => None,
            }
        }
        _ => kind_of(v).map(Shape::One),
    }
}

fn kind_of(v: &Value) -> Option<Kind> {
    let o = v.as_object()?;
    let has = |k: &str| o.contains_key(k);
    Some(if has("endpoints") {
        Kind::VersionDetails
    } else if has("version") && has("url") {
        Kind::Version
    } else if has("business_details") && has("token") {
        Kind::Credentials
    } else if has("stop_date_time") || (has("auth_id") && has("total_energy")) {
        Kind::Cdr
    } else if has("start_datetime") || (has("auth_id") && has("kwh")) {
        Kind::Session
    } else if has("auth_id") && has("uid") {
        Kind::Token
    } else if has("elements") && has("currency") {
        Kind::Tariff
    } else if has("coordinates") && has("address") {
        Kind::Location
    } else if has("connectors") && has("uid") {
        Kind::Evse
    } else if has("standard") && has("format") {
        Kind::Connector
    } else if has("allowed") {
        Kind::AuthorizationInfo
    } else if has("result") {
        Kind::CommandResponse
    } else if has("is_green_energy") {
        Kind::EnergyMix
    } else if has("twentyfourseven") || has("regular_hours") {
        Kind::Hours
    } else {
        return None;
    })
}

/// Parses `v` as `T` (with validation) and checks it writes back to `v`, through `to_value`
/// and through text.
fn round_trip<T: DeserializeOwned + Serialize + Validate>(v: &Value) -> Result<(), String> {
    let parsed: T = from_value(v.clone()).map_err(|e| format!("parse: {e}"))?;
    let written = serde_json::to_value(&parsed).map_err(|e| format!("to_value: {e}"))?;
    if written != *v {
        return Err(format!(
            "round trip differs:\n  original: {v}\n  written:  {written}"
        ));
    }
    let text = serde_json::to_string(&parsed).map_err(|e| format!("to_string: {e}"))?;
    let reread: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    if reread != *v {
        return Err(format!(
            "round trip through text differs:\n  written: {text}"
        ));
    }
    Ok(())
}

fn check_shape(shape: Shape, v: &Value) -> Result<(), String> {
    match shape {
        Shape::One(kind) => kind.check(v),
        Shape::List(kind) => v
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| kind.check(item).map_err(|e| format!("[{i}]: {e}"))),
    }
}

/// The `field` of a failed parse of `v` as `shape` (a list is parsed as a `Vec`).
fn error_field(shape: Shape, v: &Value) -> Result<String, String> {
    fn field<T: DeserializeOwned + Validate>(v: &Value) -> Result<String, String> {
        match from_value::<T>(v.clone()) {
            Ok(_) => Err("parses without error".to_owned()),
            Err(ParseError::Invalid { field, .. }) => Ok(field),
            Err(e) => Err(format!("unexpected error {e}")),
        }
    }
    macro_rules! by_kind {
        ($kind:expr, $wrap:ident) => {
            match $kind {
                Kind::Location => field::<$wrap<Location>>(v),
                Kind::Evse => field::<$wrap<Evse>>(v),
                Kind::Connector => field::<$wrap<Connector>>(v),
                Kind::Hours => field::<$wrap<Hours>>(v),
                Kind::EnergyMix => field::<$wrap<EnergyMix>>(v),
                Kind::Session => field::<$wrap<Session>>(v),
                Kind::Cdr => field::<$wrap<Cdr>>(v),
                Kind::Tariff => field::<$wrap<Tariff>>(v),
                Kind::Token => field::<$wrap<Token>>(v),
                Kind::AuthorizationInfo => field::<$wrap<AuthorizationInfo>>(v),
                Kind::CommandResponse => field::<$wrap<CommandResponse>>(v),
                Kind::Credentials => field::<$wrap<Credentials>>(v),
                Kind::Version => field::<$wrap<Version>>(v),
                Kind::VersionDetails => field::<$wrap<VersionDetails>>(v),
            }
        };
    }
    type One<T> = T;
    match shape {
        Shape::One(kind) => by_kind!(kind, One),
        Shape::List(kind) => by_kind!(kind, Vec),
    }
}

// ---------------------------------------------------------------------------------------------
// The blocks that are not plain whole objects
// ---------------------------------------------------------------------------------------------

/// How a block that is not a whole object is checked.
#[derive(Debug, Clone, Copy)]
pub enum NotWhole {
    /// A PATCH body (a partial object): merged (top level, as OCPI PATCH does) into the object
    /// at `pointer` of the (repaired) example `base`, the result must parse as `kind`.
    Patch {
        base: &'static str,
        pointer: &'static str,
        kind: Kind,
    },
    /// `"key": {...}`, not JSON by itself. Wrapped in braces, the value of `key` must parse as
    /// `kind`, or, with `error`, must fail at that field.
    Fragment {
        key: &'static str,
        kind: Kind,
        error: Option<&'static str>,
    },
    /// An error response envelope: no object to check.
    ErrorEnvelope,
    /// Not JSON, not even as a fragment.
    InvalidJson,
}

/// Blocks that are not whole objects: (block id, how it is checked, why).
pub const NOT_WHOLE: &[(&str, NotWhole, &str)] = &[
    (
        "mod_locations.md § Example: a simple status update",
        NotWhole::Patch {
            base: "mod_locations.md § Example",
            pointer: "/evses/0",
            kind: Kind::Evse,
        },
        "PATCH body of an EVSE (only `status`)",
    ),
    (
        "mod_locations.md § Example: change the location name",
        NotWhole::Patch {
            base: "mod_locations.md § Example",
            pointer: "",
            kind: Kind::Location,
        },
        "PATCH body of a Location (only `name`)",
    ),
    (
        "mod_locations.md § Example: set tariff update",
        NotWhole::Patch {
            base: "mod_locations.md § Example",
            pointer: "/evses/0/connectors/1",
            kind: Kind::Connector,
        },
        "PATCH body of a Connector (only `tariff_id`)",
    ),
    (
        "mod_locations.md § Example: delete an EVSE",
        NotWhole::Patch {
            base: "mod_locations.md § Example",
            pointer: "/evses/0",
            kind: Kind::Evse,
        },
        "PATCH body of an EVSE (only `status`: REMOVED)",
    ),
    (
        "mod_locations.md § Simple:",
        NotWhole::Fragment {
            key: "energy_mix",
            kind: Kind::EnergyMix,
            error: None,
        },
        "`\"energy_mix\": {...}` fragment of a Location",
    ),
    (
        "mod_locations.md § Tariff name based:",
        NotWhole::Fragment {
            key: "energy_mix",
            kind: Kind::EnergyMix,
            error: None,
        },
        "`\"energy_mix\": {...}` fragment of a Location",
    ),
    (
        "mod_locations.md § Complete:",
        NotWhole::InvalidJson,
        "`\"energy_mix\": {...}` fragment with trailing commas inside its lists",
    ),
    (
        "mod_locations.md § 4.19.1 Example",
        NotWhole::Fragment {
            key: "opening_times",
            kind: Kind::Hours,
            error: Some("exceptional_openings[0].period_begin"),
        },
        "`\"opening_times\": {...}` fragment of a Location; its exceptional periods use \
         `+02:00` offsets, which the 2.1.1 DateTime type forbids (UTC only)",
    ),
    (
        "mod_sessions.md § Example: update the total cost",
        NotWhole::Patch {
            base: "mod_sessions.md § Simple Session example of a just starting session",
            pointer: "",
            kind: Kind::Session,
        },
        "PATCH body of a Session (only `total_cost`)",
    ),
    (
        "mod_tariffs.md § Example: Change Tariff to 2,50",
        NotWhole::Patch {
            base: "mod_tariffs.md § Simple Tariff example 2 euro per hour",
            pointer: "",
            kind: Kind::Tariff,
        },
        "PATCH body of a Tariff (only `elements`), although its request line says PUT",
    ),
    (
        "mod_tokens.md § Example: invalidate a Token",
        NotWhole::Patch {
            base: "mod_tokens.md § Example",
            pointer: "",
            kind: Kind::Token,
        },
        "PATCH body of a Token (only `valid`)",
    ),
    (
        "transport_and_format.md § Example: Response with an error (contains no data field)",
        NotWhole::ErrorEnvelope,
        "an error response envelope, without data",
    ),
];

/// Edits a spec example into a conforming object.
pub type Repair = fn(&mut Value);

/// Whole objects that break the spec: (block id, field at which the parse must fail — a path
/// in the object, for an envelope in its `data` —, the repair after which it must round-trip,
/// what is wrong).
pub const NONCONFORMING: &[(&str, &str, Repair, &str)] = &[
    (
        "mod_locations.md § Example",
        "evses[1].connectors[0].last_updated",
        |v| v["evses"][1]["connectors"][0]["last_updated"] = json!("2015-06-29T20:39:09Z"),
        "the connector of EVSE 3257 has no last_updated (repair: the EVSE's)",
    ),
    (
        "mod_locations.md § Example: add an EVSE",
        "connectors[0].power_type",
        |v| {
            let c = &mut v["connectors"][0];
            c["power_type"] = json!("AC_3_PHASE");
            c["voltage"] = json!(220);
            c["amperage"] = json!(16);
            c["last_updated"] = json!("2015-06-29T20:39:09Z");
            v["physical_reference"] = json!("3");
            let floor = v.as_object_mut().unwrap().remove("floor").unwrap();
            v["floor_level"] = json!(floor.to_string());
            v["last_updated"] = json!("2015-06-29T20:39:09Z");
        },
        "EVSE of a PUT: its connector lacks power_type, voltage, amperage and last_updated, the \
         EVSE lacks last_updated, physical_reference is a number (string(16)), and `floor` is \
         not a field (floor_level is). Repair: the values of the Location example, \
         physical_reference \"3\", floor → floor_level \"-1\"",
    ),
    (
        "mod_sessions.md § Simple Session example of a just starting session",
        "location.type",
        |v| {
            repair_embedded_location(&mut v["location"]);
            v["auth_method"] = json!("WHITELIST");
        },
        "lower-case `on_street` location type, 2-letter `country` (alpha-3 required), `STATUS` \
         for the EVSE's `status`, no auth_method. Repair: ON_STREET, BEL, status, WHITELIST",
    ),
    (
        "mod_sessions.md § Simple Session example of a short finished session",
        "location.type",
        |v| {
            repair_embedded_location(&mut v["location"]);
            v["auth_method"] = json!("WHITELIST");
            v["charging_periods"][1]["dimensions"][0]["type"] = json!("ENERGY");
        },
        "as the starting session, and a lower-case `energy` dimension type. Repair: as there, \
         and ENERGY",
    ),
    (
        "mod_cdrs.md § Example of a CDR",
        "location.type",
        |v| {
            repair_embedded_location(&mut v["location"]);
            let tariff = &mut v["tariffs"][0];
            let element = tariff["elements"][0].as_object_mut().unwrap();
            let last_updated = element.remove("last_updated").unwrap();
            tariff["last_updated"] = last_updated;
            tariff["elements"][0]["price_components"][0]["price"] = json!(2.00);
        },
        "the location as in the session examples; the tariff's last_updated sits in its \
         element, and its price is the string \"2.00\" instead of a number. Repair: as the \
         sessions, last_updated moved to the tariff, price 2.00",
    ),
    (
        "mod_tariffs.md § Example: New Tariff 2 euro per hour",
        "last_updated",
        |v| v["last_updated"] = json!("2015-06-29T20:39:09Z"),
        "Tariff of a PUT without last_updated (repair: the one of the other tariff examples)",
    ),
    (
        "transport_and_format.md § Example: Tokens GET Response with one Token object. (CPO \
         end-point) (one object)",
        "whitelist",
        repair_2_1_token,
        "a 2.1 Token: `allow_whitelist` instead of whitelist, no last_updated. Repair: \
         allow_whitelist true → whitelist ALLOWED, last_updated added",
    ),
    (
        "transport_and_format.md § Example: Tokens GET Response with list of Token objects. \
         (eMSP end-point) (list of objects)",
        "[0].whitelist",
        |v| {
            v.as_array_mut()
                .unwrap()
                .iter_mut()
                .for_each(repair_2_1_token)
        },
        "2.1 Tokens, as the single-token example; same repair",
    ),
];

fn repair_embedded_location(l: &mut Value) {
    l["type"] = json!("ON_STREET");
    l["country"] = json!("BEL");
    let evse = l["evses"][0].as_object_mut().unwrap();
    let status = evse.remove("STATUS").unwrap();
    evse.insert("status".to_owned(), status);
}

fn repair_2_1_token(v: &mut Value) {
    let token = v.as_object_mut().unwrap();
    let allow = token.remove("allow_whitelist").unwrap();
    assert_eq!(allow, json!(true));
    token.insert("whitelist".to_owned(), json!("ALLOWED"));
    token.insert("last_updated".to_owned(), json!("2015-06-29T22:39:09Z"));
}

// ---------------------------------------------------------------------------------------------
// Classification of every block
// ---------------------------------------------------------------------------------------------

/// The object a block holds: the body, or the `data` of a success envelope.
fn object_of(block: &Block) -> Result<Value, String> {
    let v: Value = serde_json::from_str(&block.body).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("status_code").is_some() {
        if v["status_code"] != json!(1000) {
            return Err("an error envelope; list it in NOT_WHOLE".to_owned());
        }
        return v
            .get("data")
            .cloned()
            .ok_or_else(|| "a success envelope without data".to_owned());
    }
    Ok(v)
}

fn shape_in_chapter(block: &Block, v: &Value) -> Result<Shape, String> {
    let shape = shape_of(v).ok_or_else(|| {
        "its fields identify no model: add a rule to `kind_of` or list it".to_owned()
    })?;
    let kind = match shape {
        Shape::One(k) | Shape::List(k) => k,
    };
    if block.file != kind.chapter() && block.file != "transport_and_format.md" {
        return Err(format!(
            "its fields say {kind:?}, which belongs in {}",
            kind.chapter()
        ));
    }
    Ok(shape)
}

/// A conforming whole example: the object (repaired when listed in [`NONCONFORMING`]), with its
/// block id (`id[i]` for the elements of a list).
#[derive(Debug, Clone)]
pub struct Example {
    pub id: String,
    pub kind: Kind,
    pub value: Value,
}

/// Every whole object of the spec, repaired where needed, lists flattened. Panics on a block
/// that `every_json_block_is_checked` would reject.
pub fn whole_examples() -> Vec<Example> {
    let mut out = Vec::new();
    for block in spec_blocks() {
        if NOT_WHOLE.iter().any(|n| n.0 == block.id) {
            continue;
        }
        let mut v = object_of(&block).unwrap_or_else(|e| panic!("{}: {e}", block.id));
        if let Some(entry) = NONCONFORMING.iter().find(|n| n.0 == block.id) {
            (entry.2)(&mut v);
        }
        match shape_in_chapter(&block, &v).unwrap_or_else(|e| panic!("{}: {e}", block.id)) {
            Shape::One(kind) => out.push(Example {
                id: block.id.clone(),
                kind,
                value: v,
            }),
            Shape::List(kind) => {
                for (i, item) in v.as_array().unwrap().iter().enumerate() {
                    out.push(Example {
                        id: format!("{}[{i}]", block.id),
                        kind,
                        value: item.clone(),
                    });
                }
            }
        }
    }
    out
}

fn whole_example(id: &str) -> Value {
    whole_examples()
        .into_iter()
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("no whole example {id}"))
        .value
}

fn check_block(block: &Block) -> Result<String, String> {
    if let Some(&(_, how, _)) = NOT_WHOLE.iter().find(|n| n.0 == block.id) {
        return check_not_whole(block, how);
    }
    if let Some(&(_, field, repair, _)) = NONCONFORMING.iter().find(|n| n.0 == block.id) {
        let mut v = object_of(block)?;
        let shape = shape_in_chapter(block, &v)?;
        let got = error_field(shape, &v)?;
        if got != field {
            return Err(format!(
                "expected the parse to fail at `{field}`, it fails at `{got}`"
            ));
        }
        repair(&mut v);
        check_shape(shape, &v).map_err(|e| format!("after repair: {e}"))?;
        return Ok(format!("nonconforming {shape:?}, repaired"));
    }
    let v = object_of(block)?;
    let shape = shape_in_chapter(block, &v)?;
    check_shape(shape, &v)?;
    Ok(format!("{shape:?}"))
}

fn check_not_whole(block: &Block, how: NotWhole) -> Result<String, String> {
    match how {
        NotWhole::Patch {
            base,
            pointer,
            kind,
        } => {
            let patch: Value =
                serde_json::from_str(&block.body).map_err(|e| format!("not JSON: {e}"))?;
            let fields = patch.as_object().ok_or("a PATCH body must be an object")?;
            let mut target = whole_example(base)
                .pointer(pointer)
                .cloned()
                .ok_or_else(|| format!("{base} has nothing at `{pointer}`"))?;
            let object = target
                .as_object_mut()
                .ok_or("PATCH target is not an object")?;
            for (key, value) in fields {
                object.insert(key.clone(), value.clone());
            }
            kind.check(&target)?;
            Ok(format!("patch of {kind:?}"))
        }
        NotWhole::Fragment { key, kind, error } => {
            if serde_json::from_str::<Value>(&block.body).is_ok() {
                return Err("is JSON by itself, not a fragment".to_owned());
            }
            let wrapped: Value = serde_json::from_str(&format!("{{{}}}", block.body))
                .map_err(|e| format!("not JSON even in braces: {e}"))?;
            let keys: Vec<&String> = wrapped.as_object().unwrap().keys().collect();
            if keys != [key] {
                return Err(format!("expected only `{key}`, found {keys:?}"));
            }
            match error {
                None => kind.check(&wrapped[key])?,
                Some(field) => {
                    let got = error_field(Shape::One(kind), &wrapped[key])?;
                    if got != field {
                        return Err(format!("expected an error at `{field}`, got `{got}`"));
                    }
                }
            }
            Ok(format!("fragment {kind:?}"))
        }
        NotWhole::ErrorEnvelope => {
            let v: Value =
                serde_json::from_str(&block.body).map_err(|e| format!("not JSON: {e}"))?;
            if v.get("data").is_some() || v["status_code"] == json!(1000) {
                return Err("not an error envelope".to_owned());
            }
            Ok("error envelope".to_owned())
        }
        NotWhole::InvalidJson => {
            let as_is = serde_json::from_str::<Value>(&block.body);
            let wrapped = serde_json::from_str::<Value>(&format!("{{{}}}", block.body));
            if as_is.is_ok() || wrapped.is_ok() {
                return Err("is valid JSON now".to_owned());
            }
            Ok("invalid JSON".to_owned())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn every_json_block_is_checked() {
    let blocks = spec_blocks();
    assert!(
        blocks.len() >= 30,
        "expected the spec's JSON examples, found {}",
        blocks.len()
    );
    let mut failures = Vec::new();
    let mut outcomes = BTreeMap::new();
    for block in &blocks {
        match check_block(block) {
            Ok(outcome) => *outcomes.entry(outcome).or_insert(0) += 1,
            Err(e) => failures.push(format!("{} (line {}): {e}", block.id, block.line)),
        }
    }
    let ids: BTreeSet<&str> = blocks.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids.len(), blocks.len(), "block ids must be unique");
    for listed in NOT_WHOLE
        .iter()
        .map(|n| n.0)
        .chain(NONCONFORMING.iter().map(|n| n.0))
    {
        if !ids.contains(listed) {
            failures.push(format!("{listed}: listed in this test but not in the spec"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} blocks failed:\n{}",
        failures.len(),
        blocks.len(),
        failures.join("\n\n")
    );
    eprintln!("{} blocks: {outcomes:?}", blocks.len());
}

#[test]
fn request_lines_are_put_or_patch() {
    for block in spec_blocks() {
        if let Some(line) = &block.request_line {
            assert!(
                line.starts_with("PUT To URL: ") || line.starts_with("PATCH To URL: "),
                "{}: {line}",
                block.id
            );
            let is_patch = NOT_WHOLE
                .iter()
                .any(|n| n.0 == block.id && matches!(n.1, NotWhole::Patch { .. }));
            if line.starts_with("PATCH") {
                assert!(is_patch, "{}: a PATCH body not listed as a patch", block.id);
            }
        }
    }
}

#[test]
fn whole_examples_cover_the_main_objects() {
    let kinds: BTreeSet<Kind> = whole_examples().iter().map(|e| e.kind).collect();
    for kind in [
        Kind::Location,
        Kind::Evse,
        Kind::Session,
        Kind::Cdr,
        Kind::Tariff,
        Kind::Token,
        Kind::Credentials,
        Kind::Version,
        Kind::VersionDetails,
    ] {
        assert!(kinds.contains(&kind), "no whole 2.1.1 example of {kind:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Validation rules and objects without examples
// ---------------------------------------------------------------------------------------------

fn invalid_field<T: std::fmt::Debug>(result: Result<T, ParseError>) -> String {
    match result {
        Err(ParseError::Invalid { field, .. }) => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn location() -> Value {
    whole_example("mod_locations.md § Example")
}

fn token() -> Value {
    whole_example("mod_tokens.md § Example")
}

#[test]
fn location_rules_name_the_field() {
    let mut v = location();
    v["type"] = json!("ALONG_MOTORWAY");
    assert_eq!(invalid_field(from_value::<Location>(v)), "type");
    let mut v = location();
    v.as_object_mut().unwrap().remove("postal_code");
    assert_eq!(invalid_field(from_value::<Location>(v)), "postal_code");
    let mut v = location();
    v["id"] = json!("x".repeat(40));
    assert_eq!(invalid_field(from_value::<Location>(v)), "id");
    let mut v = location();
    v["id"] = json!("x".repeat(39));
    from_value::<Location>(v).unwrap();
    let mut v = location();
    v["evses"][0]["capabilities"] = json!(["RESERVABLE", "PED_TERMINAL"]);
    assert_eq!(
        invalid_field(from_value::<Location>(v)),
        "evses[0].capabilities[1]"
    );
    let mut v = location();
    v["evses"][0]["connectors"][1]["standard"] = json!("GBT_DC");
    assert_eq!(
        invalid_field(from_value::<Location>(v)),
        "evses[0].connectors[1].standard"
    );
    let mut v = location();
    v["evses"][0]["connectors"][1]["tariff_ids"] = json!(["11"]);
    let parsed = from_value::<Location>(v).unwrap();
    assert!(
        parsed.evses.unwrap()[0].connectors[1]
            .extra
            .contains_key("tariff_ids")
    );
    let mut v = location();
    v["evses"][1]["connectors"] = json!([]);
    assert_eq!(
        invalid_field(from_value::<Location>(v)),
        "evses[1].connectors"
    );
    let mut v = location();
    v["facilities"] = json!(["HOTEL", "TRAM_STOP"]);
    assert_eq!(invalid_field(from_value::<Location>(v)), "facilities[1]");
}

#[test]
fn hours_are_a_choice() {
    from_value::<Hours>(json!({"twentyfourseven": true})).unwrap();
    from_value::<Hours>(json!({"regular_hours": [
        {"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}
    ]}))
    .unwrap();
    assert_eq!(
        invalid_field(from_value::<Hours>(json!({"exceptional_openings": []}))),
        "twentyfourseven"
    );
    assert_eq!(
        invalid_field(from_value::<Hours>(
            json!({"twentyfourseven": true, "regular_hours": [
                {"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}
            ]})
        )),
        "regular_hours"
    );
}

#[test]
fn token_rules() {
    let mut v = token();
    v["type"] = json!("APP_USER");
    assert_eq!(invalid_field(from_value::<Token>(v)), "type");
    let mut v = token();
    v["auth_id"] = json!("");
    assert_eq!(invalid_field(from_value::<Token>(v)), "auth_id");
    let mut v = token();
    v.as_object_mut().unwrap().remove("whitelist");
    assert_eq!(invalid_field(from_value::<Token>(v)), "whitelist");
}

#[test]
fn cdr_needs_a_charging_period() {
    let mut v = whole_example("mod_cdrs.md § Example of a CDR");
    v["charging_periods"] = json!([]);
    assert_eq!(invalid_field(from_value::<Cdr>(v)), "charging_periods");
    let mut v = whole_example("mod_cdrs.md § Example of a CDR");
    v["auth_method"] = json!("COMMAND");
    assert_eq!(invalid_field(from_value::<Cdr>(v)), "auth_method");
}

#[test]
fn command_objects_round_trip() {
    let start = json!({
        "response_url": "https://emsp.example.com/ocpi/emsp/2.1.1/commands/START_SESSION/1234",
        "token": token(),
        "location_id": "LOC1",
        "evse_uid": "3256"
    });
    check_value::<StartSession>(&start);
    check_value::<StopSession>(
        &json!({"response_url": "https://e.example/cb/1", "session_id": "101"}),
    );
    let reserve = json!({
        "response_url": "https://e.example/cb/2", "token": token(),
        "expiry_date": "2020-03-09T11:17:09Z", "reservation_id": 17, "location_id": "LOC1"
    });
    check_value::<ReserveNow>(&reserve);
    let mut text_id = reserve.clone();
    text_id["reservation_id"] = json!("R1");
    assert_eq!(
        invalid_field(from_value::<ReserveNow>(text_id)),
        "reservation_id"
    );
    check_value::<UnlockConnector>(&json!({
        "response_url": "https://e.example/cb/4", "location_id": "LOC1", "evse_uid": "3256",
        "connector_id": "1"
    }));
    for result in [
        "ACCEPTED",
        "REJECTED",
        "NOT_SUPPORTED",
        "TIMEOUT",
        "UNKNOWN_SESSION",
    ] {
        Kind::CommandResponse
            .check(&json!({ "result": result }))
            .unwrap();
    }
    assert_eq!(
        invalid_field(from_value::<CommandResponse>(
            json!({"result": "EVSE_OCCUPIED"})
        )),
        "result"
    );
    let mut bad_token = start;
    bad_token["token"]["type"] = json!("AD_HOC_USER");
    assert_eq!(
        invalid_field(from_value::<StartSession>(bad_token)),
        "token.type"
    );
}

#[test]
fn authorization_info_round_trips() {
    Kind::AuthorizationInfo
        .check(&json!({
            "allowed": "ALLOWED",
            "location": {"location_id": "LOC1", "evse_uids": ["3256"], "connector_ids": ["1", "2"]},
            "info": {"language": "en", "text": "Welcome"}
        }))
        .unwrap();
    Kind::AuthorizationInfo
        .check(&json!({"allowed": "NO_CREDIT"}))
        .unwrap();
    assert_eq!(
        invalid_field(from_value::<AuthorizationInfo>(json!({
            "allowed": "ALLOWED", "location": {"location_id": "LOC1", "connector_ids": [""]}
        }))),
        "location.connector_ids[0]"
    );
}

#[test]
fn environmental_impact_is_named_source() {
    let mix = json!({
        "is_green_energy": false,
        "energy_sources": [{"source": "COAL", "percentage": 33.2}],
        "environ_impact": [{"source": "CARBON_DIOXIDE", "amount": 372}]
    });
    Kind::EnergyMix.check(&mix).unwrap();
    let parsed: EnergyMix = from_value(mix).unwrap();
    assert!(parsed.environ_impact.unwrap()[0].extra.is_empty());
}

/// Round-trips an object of a model that is no [`Kind`] (commands); panics on failure.
fn check_value<T: DeserializeOwned + Serialize + Validate>(v: &Value) {
    round_trip::<T>(v).unwrap_or_else(|e| panic!("{e}"));
}
