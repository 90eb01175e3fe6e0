//! Normalization of known charger quirks, applied to a payload *before* schema validation so that
//! harmless deviations are repaired instead of rejected.
//!
//! Built in (applied by [`crate::schema`] to every field the schema declares `format: date-time`):
//! - a timestamp without a zone (`2024-05-01T10:00:00`) is taken as UTC: `Z` is appended;
//! - a space instead of `T` between date and time is replaced;
//! - a numeric offset without a colon (`+0200`) gets its colon (`+02:00`).
//!
//! Business-level quirks (a meter that reports kWh while labelling Wh, a vendor that counts
//! connectors from 0, ...) need knowledge of the charger model: the business layer applies them in
//! [`Handler::normalize`](crate::handler::Handler::normalize), and can use the helpers here
//! ([`normalize_energy_wh`]).

use chrono::{DateTime, NaiveDateTime};

/// Repairs a zone-less or sloppily written timestamp. Returns `None` when `s` is already a valid
/// RFC 3339 date-time, or when it is not a timestamp at all (left for validation to reject).
pub fn normalize_timestamp(s: &str) -> Option<String> {
    if is_strict_rfc3339(s) {
        return None;
    }
    let t = s.trim();
    if !t.is_ascii() {
        return None;
    }
    // Date and time separated by a space (or lowercase t): use `T`.
    let mut fixed = String::with_capacity(t.len() + 6);
    if t.len() > 10 && matches!(t.as_bytes()[10], b' ' | b't') {
        fixed.push_str(&t[..10]);
        fixed.push('T');
        fixed.push_str(&t[11..]);
    } else {
        fixed.push_str(t);
    }
    if is_strict_rfc3339(&fixed) {
        return Some(fixed);
    }
    // `+hhmm` / `-hhmm` offset without colon.
    let bytes = fixed.as_bytes();
    if bytes.len() > 5 {
        let (head, tail) = fixed.split_at(fixed.len() - 5);
        let tb = tail.as_bytes();
        if (tb[0] == b'+' || tb[0] == b'-') && tb[1..].iter().all(u8::is_ascii_digit) {
            let candidate = format!("{head}{}:{}", &tail[..3], &tail[3..]);
            if is_strict_rfc3339(&candidate) {
                return Some(candidate);
            }
        }
    }
    // No zone at all: UTC.
    if NaiveDateTime::parse_from_str(&fixed, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || NaiveDateTime::parse_from_str(&fixed, "%Y-%m-%dT%H:%M").is_ok()
    {
        let candidate = if fixed.len() == 16 {
            format!("{fixed}:00Z")
        } else {
            format!("{fixed}Z")
        };
        if is_strict_rfc3339(&candidate) {
            return Some(candidate);
        }
    }
    None
}

/// RFC 3339 with an upper-case `T` separator (chrono alone also accepts a space).
fn is_strict_rfc3339(s: &str) -> bool {
    s.as_bytes().get(10) == Some(&b'T') && DateTime::parse_from_rfc3339(s).is_ok()
}

/// Converts an energy reading to Wh from its unit, as used by OCPP 1.6 `SampledValue.unit` and
/// OCPP 2.0.1 `UnitOfMeasure.unit`. `None` unit means Wh (the default of both versions).
/// Returns `None` for a unit that is not an energy unit (e.g. `W`, `A`, `Percent`).
///
/// Accepts the OCPP spellings `Wh`, `kWh`, `varh`, `kvarh`, plus `MWh` and the case variants
/// chargers send (`KWH`, `kwh`).
pub fn normalize_energy_wh(value: f64, unit: Option<&str>) -> Option<f64> {
    normalize_energy_wh_with_multiplier(value, unit, 0)
}

/// Like [`normalize_energy_wh`] with the OCPP 2.0.1 `UnitOfMeasure.multiplier` (a power of ten).
pub fn normalize_energy_wh_with_multiplier(
    value: f64,
    unit: Option<&str>,
    multiplier: i32,
) -> Option<f64> {
    let factor = match unit.map(str::trim) {
        None | Some("") => 1.0,
        Some(u) => match u.to_ascii_lowercase().as_str() {
            "wh" | "varh" => 1.0,
            "kwh" | "kvarh" => 1_000.0,
            "mwh" if u.starts_with('M') || u == "MWH" => 1_000_000.0,
            _ => return None,
        },
    };
    let scaled = value * factor * 10f64.powi(multiplier.clamp(-30, 30));
    scaled.is_finite().then_some(scaled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(normalize_timestamp("2024-05-01T10:00:00Z"), None);
        assert_eq!(normalize_timestamp("2024-05-01T10:00:00.123+02:00"), None);
        assert_eq!(
            normalize_timestamp("2024-05-01T10:00:00").as_deref(),
            Some("2024-05-01T10:00:00Z")
        );
        assert_eq!(
            normalize_timestamp("2024-05-01T10:00:00.5").as_deref(),
            Some("2024-05-01T10:00:00.5Z")
        );
        assert_eq!(
            normalize_timestamp("2024-05-01 10:00:00").as_deref(),
            Some("2024-05-01T10:00:00Z")
        );
        assert_eq!(
            normalize_timestamp("2024-05-01 10:00:00Z").as_deref(),
            Some("2024-05-01T10:00:00Z")
        );
        assert_eq!(
            normalize_timestamp("2024-05-01T10:00:00+0200").as_deref(),
            Some("2024-05-01T10:00:00+02:00")
        );
        assert_eq!(
            normalize_timestamp("2024-05-01T10:00").as_deref(),
            Some("2024-05-01T10:00:00Z")
        );
        assert_eq!(normalize_timestamp("yesterday"), None);
        assert_eq!(normalize_timestamp("2024-13-01T10:00:00"), None);
        assert_eq!(normalize_timestamp(""), None);
        assert_eq!(normalize_timestamp("ééééééééééééééé"), None);
        assert_eq!(normalize_timestamp("2024-05-01é10:00:00"), None);
    }

    proptest::proptest! {
        #[test]
        fn timestamp_repair_never_panics_and_yields_rfc3339(s in "[0-9T:. tZz+-]{0,40}|.{0,40}") {
            if let Some(fixed) = normalize_timestamp(&s) {
                proptest::prop_assert!(is_strict_rfc3339(&fixed), "{s:?} -> {fixed:?}");
            }
        }
    }

    #[test]
    fn energy() {
        assert_eq!(normalize_energy_wh(1500.0, None), Some(1500.0));
        assert_eq!(normalize_energy_wh(1500.0, Some("Wh")), Some(1500.0));
        assert_eq!(normalize_energy_wh(1.5, Some("kWh")), Some(1500.0));
        assert_eq!(normalize_energy_wh(1.5, Some("KWH")), Some(1500.0));
        assert_eq!(normalize_energy_wh(2.0, Some("kvarh")), Some(2000.0));
        assert_eq!(normalize_energy_wh(0.5, Some("MWh")), Some(500_000.0));
        assert_eq!(normalize_energy_wh(0.5, Some("mWh")), None);
        assert_eq!(normalize_energy_wh(7.0, Some("W")), None);
        assert_eq!(normalize_energy_wh(7.0, Some("Percent")), None);
        assert_eq!(
            normalize_energy_wh_with_multiplier(15.0, Some("Wh"), 2),
            Some(1500.0)
        );
        assert_eq!(
            normalize_energy_wh_with_multiplier(1.5, Some("kWh"), 0),
            Some(1500.0)
        );
        assert_eq!(normalize_energy_wh(f64::MAX, Some("kWh")), None);
    }
}
