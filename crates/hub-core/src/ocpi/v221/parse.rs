//! Parsing and validation of OCPI 2.2.1 request and response bodies.
//!
//! [`parse`] (bytes) and [`from_value`] (a `serde_json::Value`) deserialize a model and then run
//! its [`Validate`] checks. Errors come in two kinds:
//! - [`ParseError::Syntax`]: the body is not JSON at all (answer HTTP 400);
//! - [`ParseError::Invalid`]: JSON of the wrong shape or content (answer OCPI 2001), naming the
//!   field by its JSON path, e.g. `evses[0].connectors[1].standard`; a missing field is named by
//!   its parent's path plus its own name, e.g. `evses[0].uid`.
//!
//! [`Validate`] covers what serde cannot: the spec's string length limits (`CiString(n)`,
//! `string(n)`, `URL`), the formats of `country_code`, `party_id`, coordinates, times and dates,
//! `+` cardinalities (at least one element) and a few rules that depend on other fields. The
//! checks of each object are a table next to its definition, written with [`Fields`] and
//! [`Rule`]. CiStrings must be printable ASCII; free-text strings are checked for length only.

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

/// Why a body could not be turned into a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON at all (HTTP 400).
    #[error("malformed JSON: {0}")]
    Syntax(String),
    /// JSON, but not a valid object of the expected type (OCPI status 2001). `field` is the
    /// JSON path of the offending field, empty for the body itself.
    #[error("invalid field `{field}`: {message}")]
    Invalid { field: String, message: String },
}

/// One failed validation check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// JSON path of the field, e.g. `evses[0].uid`.
    pub field: String,
    pub message: String,
}

impl From<FieldError> for ParseError {
    fn from(e: FieldError) -> Self {
        ParseError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

/// The semantic checks of an OCPI object that serde cannot express.
pub trait Validate {
    /// Appends a [`FieldError`] for each violated rule. `path` is the JSON path of `self`
    /// (empty for the top-level object); field paths are built from it.
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>);
}

impl<T: Validate> Validate for Vec<T> {
    fn validate(&self, path: &str, errors: &mut Vec<FieldError>) {
        for (i, item) in self.iter().enumerate() {
            item.validate(&format!("{path}[{i}]"), errors);
        }
    }
}

/// All validation errors of a top-level object.
pub fn validate<T: Validate>(value: &T) -> Vec<FieldError> {
    let mut errors = Vec::new();
    value.validate("", &mut errors);
    errors
}

/// Deserializes and validates a body.
pub fn parse<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, ParseError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    if let Ok(v) = serde::Deserialize::deserialize(&mut de)
        && de.end().is_ok()
    {
        return checked(v);
    }
    // The error path reads the body again as a JSON value: a shape error may come before a
    // syntax error further on (malformed JSON must win), and serde_json's reader reports some
    // shape errors (a number where an enum string belongs) as syntax errors, which the value
    // deserializer does not.
    let value = serde_json::from_slice(body).map_err(|e| ParseError::Syntax(e.to_string()))?;
    from_value(value)
}

/// Deserializes and validates an already parsed JSON value.
pub fn from_value<T: DeserializeOwned + Validate>(
    value: serde_json::Value,
) -> Result<T, ParseError> {
    let v = serde_path_to_error::deserialize(value).map_err(path_error)?;
    checked(v)
}

fn checked<T: Validate>(value: T) -> Result<T, ParseError> {
    let mut errors = validate(&value);
    if errors.is_empty() {
        return Ok(value);
    }
    let more = errors.len() - 1;
    let mut first = errors.remove(0);
    if more > 0 {
        first.message = format!("{} (and {more} more invalid field(s))", first.message);
    }
    Err(first.into())
}

/// Turns a deserialization error of a JSON value (always a shape error) into `Invalid`.
fn path_error(e: serde_path_to_error::Error<serde_json::Error>) -> ParseError {
    let path = render_path(e.path());
    let message = e.into_inner().to_string();
    // serde reports a missing field at the path of its parent object.
    let field = match message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        Some(name) => join(&path, name),
        None => path,
    };
    ParseError::Invalid { field, message }
}

fn render_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => out = join(&out, key),
            Segment::Enum { variant } => out = join(&out, variant),
            Segment::Unknown => out = join(&out, "?"),
        }
    }
    out
}

/// `parent.field`, or `field` at the top level.
pub fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

// ---------------------------------------------------------------------------------------------
// Check helpers
// ---------------------------------------------------------------------------------------------

/// A rule for a string field, from the spec's type column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `CiString(n)`: printable ASCII, at most n characters.
    CiString(usize),
    /// A required identifier `CiString(n)`: as `CiString(n)`, and not empty.
    Id(usize),
    /// `string(n)`: at most n characters.
    Str(usize),
    /// `URL`: string(255) without whitespace.
    Url,
    /// ISO 3166-1 alpha-2 `country_code`: two ASCII letters.
    CountryCode,
    /// ISO 15118 `party_id`: three ASCII letters or digits.
    PartyId,
    /// ISO 3166-1 alpha-3 `country`: three ASCII letters.
    Country,
    /// ISO 4217 currency code: three ASCII letters.
    Currency,
    /// ISO 639-1 language code: two ASCII letters.
    Language,
    /// `-?[0-9]{1,2}\.[0-9]{5,7}`
    Latitude,
    /// `-?[0-9]{1,3}\.[0-9]{5,7}`
    Longitude,
    /// `([0-1][0-9]|2[0-3]):[0-5][0-9]`
    HourMinute,
    /// `([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])`
    Date,
}

impl Rule {
    /// `None` when `value` satisfies the rule, else what is wrong.
    pub fn check(self, value: &str) -> Option<String> {
        let chars = value.chars().count();
        let too_long = |max: usize| (chars > max).then(|| format!("longer than {max} characters"));
        let printable_ascii = || value.bytes().all(|b| (0x20..=0x7e).contains(&b));
        let letters = |n: usize| chars == n && value.bytes().all(|b| b.is_ascii_alphabetic());
        match self {
            Rule::CiString(max) => too_long(max)
                .or_else(|| (!printable_ascii()).then(|| "must be printable ASCII".to_owned())),
            Rule::Id(max) => {
                if value.is_empty() {
                    Some("must not be empty".to_owned())
                } else {
                    Rule::CiString(max).check(value)
                }
            }
            Rule::Str(max) => too_long(max),
            Rule::Url => too_long(255).or_else(|| {
                value
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control())
                    .then(|| "must be a URL without whitespace".to_owned())
            }),
            Rule::CountryCode => (!letters(2))
                .then(|| "must be an ISO 3166-1 alpha-2 country code (2 letters)".to_owned()),
            Rule::PartyId => (!(chars == 3 && value.bytes().all(|b| b.is_ascii_alphanumeric())))
                .then(|| "must be 3 letters or digits".to_owned()),
            Rule::Country => (!letters(3))
                .then(|| "must be an ISO 3166-1 alpha-3 country code (3 letters)".to_owned()),
            Rule::Currency => {
                (!letters(3)).then(|| "must be an ISO 4217 currency code (3 letters)".to_owned())
            }
            Rule::Language => {
                (!letters(2)).then(|| "must be an ISO 639-1 language code (2 letters)".to_owned())
            }
            Rule::Latitude => (!is_coordinate(value, 2))
                .then(|| r"must match -?[0-9]{1,2}\.[0-9]{5,7}".to_owned()),
            Rule::Longitude => (!is_coordinate(value, 3))
                .then(|| r"must match -?[0-9]{1,3}\.[0-9]{5,7}".to_owned()),
            Rule::HourMinute => {
                (!is_hour_minute(value)).then(|| "must be a time hh:mm (00:00-23:59)".to_owned())
            }
            Rule::Date => (!is_date(value)).then(|| "must be a date YYYY-MM-DD".to_owned()),
        }
    }
}

fn digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_coordinate(value: &str, max_int_digits: usize) -> bool {
    let unsigned = value.strip_prefix('-').unwrap_or(value);
    match unsigned.split_once('.') {
        Some((int, frac)) => digits(int, 1, max_int_digits) && digits(frac, 5, 7),
        None => false,
    }
}

fn is_hour_minute(value: &str) -> bool {
    match value.split_once(':') {
        Some((h, m)) => {
            digits(h, 2, 2)
                && digits(m, 2, 2)
                && h.parse::<u8>().is_ok_and(|h| h < 24)
                && m.parse::<u8>().is_ok_and(|m| m < 60)
        }
        None => false,
    }
}

fn is_date(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    digits(y, 4, 4)
        && digits(m, 2, 2)
        && digits(d, 2, 2)
        && (y.starts_with('1') || y.starts_with('2'))
        && m.parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
        && d.parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
}

/// Collects the errors of one object's fields, relative to the object's path. Every method
/// returns `&mut Self` so the checks of an object read as one table.
pub struct Fields<'a> {
    path: &'a str,
    errors: &'a mut Vec<FieldError>,
}

impl<'a> Fields<'a> {
    pub fn new(path: &'a str, errors: &'a mut Vec<FieldError>) -> Self {
        Self { path, errors }
    }

    fn push(&mut self, field: String, message: impl Into<String>) {
        self.errors.push(FieldError {
            field,
            message: message.into(),
        });
    }

    /// Checks string fields: `(name, value, rule)`; `None` is an absent optional field.
    pub fn strings(&mut self, table: &[(&str, Option<&String>, Rule)]) -> &mut Self {
        for &(name, value, rule) in table {
            if let Some(message) = value.and_then(|v| rule.check(v)) {
                self.push(join(self.path, name), message);
            }
        }
        self
    }

    /// Checks every element of a list of strings.
    pub fn each_string(&mut self, name: &str, values: Option<&[String]>, rule: Rule) -> &mut Self {
        for (i, value) in values.unwrap_or_default().iter().enumerate() {
            if let Some(message) = rule.check(value) {
                self.push(format!("{}[{i}]", join(self.path, name)), message);
            }
        }
        self
    }

    /// Validates a nested object, if present.
    pub fn object<T: Validate>(&mut self, name: &str, value: Option<&T>) -> &mut Self {
        if let Some(value) = value {
            value.validate(&join(self.path, name), self.errors);
        }
        self
    }

    /// Validates each object of an optional list (cardinality `*`).
    pub fn list<T: Validate>(&mut self, name: &str, items: Option<&[T]>) -> &mut Self {
        for (i, item) in items.unwrap_or_default().iter().enumerate() {
            item.validate(&format!("{}[{i}]", join(self.path, name)), self.errors);
        }
        self
    }

    /// Validates each object of a required list, which must not be empty (cardinality `+`).
    pub fn non_empty_list<T: Validate>(&mut self, name: &str, items: &[T]) -> &mut Self {
        self.require(!items.is_empty(), name, "must contain at least one element");
        self.list(name, Some(items))
    }

    /// Records `message` for `name` unless `ok`.
    pub fn require(&mut self, ok: bool, name: &str, message: &str) -> &mut Self {
        if !ok {
            self.push(join(self.path, name), message);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let ok = |rule: Rule, v: &str| rule.check(v).is_none();
        assert!(ok(Rule::CountryCode, "NL") && ok(Rule::CountryCode, "nl"));
        assert!(!ok(Rule::CountryCode, "NLD") && !ok(Rule::CountryCode, "N1"));
        assert!(ok(Rule::PartyId, "TNM") && ok(Rule::PartyId, "A1B"));
        assert!(!ok(Rule::PartyId, "TNMX") && !ok(Rule::PartyId, "T-M"));
        assert!(ok(Rule::Latitude, "51.047599") && ok(Rule::Latitude, "-3.72994"));
        assert!(!ok(Rule::Latitude, "151.04759") && !ok(Rule::Latitude, "51.0475"));
        assert!(ok(Rule::Longitude, "-126.104965") && !ok(Rule::Longitude, "1261.104965"));
        assert!(ok(Rule::HourMinute, "00:00") && ok(Rule::HourMinute, "23:59"));
        assert!(!ok(Rule::HourMinute, "24:00") && !ok(Rule::HourMinute, "7:00"));
        assert!(
            ok(Rule::Date, "2015-12-24")
                && !ok(Rule::Date, "2015-13-01")
                && !ok(Rule::Date, "15-12-24")
        );
        assert!(
            ok(Rule::CiString(3), "abc")
                && !ok(Rule::CiString(3), "abcd")
                && !ok(Rule::CiString(9), "tab\t")
        );
        assert!(ok(Rule::Str(3), "Köl") && !ok(Rule::Str(3), "Köln"));
        assert!(!ok(Rule::Id(36), "") && ok(Rule::CiString(36), ""));
        assert!(!ok(Rule::Url, "https://a b"));
    }
}
