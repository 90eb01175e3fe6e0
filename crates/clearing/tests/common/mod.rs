//! Shared by the tests and the benchmark: the spec's examples, a CDR builder that writes
//! charging periods the way a CPO following the spec would, and the generated sessions of the
//! differential test and the benchmark.
//!
//! The spec directory is `../../../shared/specs/ocpi-2.2.1` from this crate; when that does not
//! exist, the `OCPI_SPECS_DIR` environment variable names it.

#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use clearing::rating::{parse_cdr, parse_tariff};
use hub_core::ocpi::v221::{Cdr, Tariff};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

pub fn specs_dir() -> PathBuf {
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

pub fn examples_dir() -> PathBuf {
    specs_dir().join("examples")
}

/// The tariff example files: every `tariff_*.json` and `tariffrestriction_*.json`, sorted.
pub fn tariff_example_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(examples_dir())
        .expect("examples dir")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.ends_with(".json")
                && (n.starts_with("tariff_") || n.starts_with("tariffrestriction_"))
        })
        .collect();
    names.sort();
    names
}

/// The JSON text of a tariff example, ready to be parsed.
///
/// `tariff_put_example.json` has no `last_updated`, which the Tariff object requires (the
/// example is the body of a PUT in the spec text and was cut short), so hub-core rightly
/// rejects it; rating does not use `last_updated`, so it is added here.
pub fn tariff_example_json(name: &str) -> String {
    let path = examples_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let object = value.as_object_mut().expect("a tariff is an object");
    if !object.contains_key("last_updated") {
        object.insert("last_updated".into(), json!("2015-06-29T20:39:09Z"));
        return value.to_string();
    }
    text
}

pub fn example_tariff(name: &str) -> Tariff {
    parse_tariff(tariff_example_json(name).as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub const AMSTERDAM: Tz = chrono_tz::Europe::Amsterdam;

/// Minutes as seconds.
pub const fn min(m: i64) -> i64 {
    m * 60
}

/// Hours of `ms` milliseconds as JSON number text, rounded up at the 12th decimal: exact when
/// the quotient is, and never read back as a millisecond less by an engine that truncates
/// (ocpi-tariffs turns hours into whole milliseconds by truncation).
pub fn hours_text(ms: i64) -> String {
    let h = (Decimal::from(ms) / Decimal::from(3_600_000))
        .round_dp_with_strategy(12, RoundingStrategy::ToPositiveInfinity);
    number_text(h)
}

/// A decimal as JSON number text: normalized, and with a fraction kept a fraction.
pub fn number_text(d: Decimal) -> String {
    let n = d.normalize();
    if n.scale() == 0 {
        format!("{n}.0")
    } else {
        n.to_string()
    }
}

fn utc_text(at: DateTime<Utc>) -> String {
    if at.timestamp_subsec_millis() == 0 {
        at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }
}

/// A local time in `tz` (`YYYY-MM-DD HH:MM[:SS]`); the earlier instant when it is ambiguous.
pub fn local(tz: Tz, text: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    tz.from_local_datetime(&naive)
        .earliest()
        .unwrap_or_else(|| panic!("{text} does not exist in {tz}"))
        .to_utc()
}

/// Builds a CDR one charging period after another, from a start instant.
#[derive(Debug, Clone)]
pub struct CdrBuilder {
    start: DateTime<Utc>,
    cursor: DateTime<Utc>,
    periods: Vec<Value>,
    currency: String,
    country: String,
}

impl CdrBuilder {
    /// Starting at local time `local_start` in `tz`.
    pub fn at(tz: Tz, local_start: &str) -> Self {
        Self::from_utc(local(tz, local_start))
    }

    pub fn from_utc(start: DateTime<Utc>) -> Self {
        Self {
            start,
            cursor: start,
            periods: Vec::new(),
            currency: "EUR".into(),
            country: "NLD".into(),
        }
    }

    pub fn country(mut self, alpha3: &str) -> Self {
        self.country = alpha3.into();
        self
    }

    pub fn currency(mut self, code: &str) -> Self {
        self.currency = code.into();
        self
    }

    pub fn cursor(&self) -> DateTime<Utc> {
        self.cursor
    }

    /// A period of `ms` milliseconds with these dimensions (type, JSON number text).
    pub fn period_ms(mut self, ms: i64, dims: Vec<(&str, String)>) -> Self {
        let dims: Vec<Value> = dims
            .into_iter()
            .map(|(t, v)| {
                let volume: Value = serde_json::from_str(&v).expect("number text");
                json!({"type": t, "volume": volume})
            })
            .collect();
        self.periods.push(json!({
            "start_date_time": utc_text(self.cursor),
            "dimensions": dims,
        }));
        self.cursor += TimeDelta::milliseconds(ms);
        self
    }

    /// Charging for `secs` seconds, transferring `kwh` (decimal text), with extra dimensions
    /// such as `("MAX_CURRENT", "16")`.
    pub fn charge_with(self, secs: i64, kwh: &str, extra: &[(&str, &str)]) -> Self {
        let mut dims = vec![
            ("ENERGY", number_text(dec(kwh))),
            ("TIME", hours_text(secs * 1000)),
        ];
        dims.extend(extra.iter().map(|(t, v)| (*t, number_text(dec(v)))));
        self.period_ms(secs * 1000, dims)
    }

    pub fn charge(self, secs: i64, kwh: &str) -> Self {
        self.charge_with(secs, kwh, &[])
    }

    /// Connected, not charging, for `secs` seconds.
    pub fn park(self, secs: i64) -> Self {
        self.period_ms(secs * 1000, vec![("PARKING_TIME", hours_text(secs * 1000))])
    }

    /// The EVSE reserved for `secs` seconds.
    pub fn reserve(self, secs: i64) -> Self {
        self.period_ms(
            secs * 1000,
            vec![("RESERVATION_TIME", hours_text(secs * 1000))],
        )
    }

    /// The CDR as JSON text (totals are zero: the engines compute them).
    pub fn json(&self) -> String {
        let reservation_only = self
            .periods
            .iter()
            .all(|p| p["dimensions"][0]["type"] == "RESERVATION_TIME");
        let na = |v: &str| {
            if reservation_only {
                "#NA".to_owned()
            } else {
                v.to_owned()
            }
        };
        json!({
            "country_code": "NL",
            "party_id": "CPO",
            "id": "CDR0001",
            "start_date_time": utc_text(self.start),
            "end_date_time": utc_text(self.cursor),
            "session_id": "S0001",
            "cdr_token": {"uid": "012345678", "type": "RFID", "contract_id": "NL-ABC-C12345678-X"},
            "auth_method": "WHITELIST",
            "cdr_location": {
                "id": "LOC1",
                "address": "Stationsplein 1",
                "city": "Amsterdam",
                "postal_code": "1012AB",
                "country": self.country,
                "coordinates": {"latitude": "52.378900", "longitude": "4.900300"},
                "evse_uid": na("EVSE1"),
                "evse_id": na("NL*CPO*E0001"),
                "connector_id": na("1"),
                "connector_standard": "IEC_62196_T2",
                "connector_format": "SOCKET",
                "connector_power_type": "AC_3_PHASE"
            },
            "currency": self.currency,
            "charging_periods": self.periods,
            "total_cost": {"excl_vat": 0.0, "incl_vat": 0.0},
            "total_energy": 0.0,
            "total_time": 0.0,
            "last_updated": utc_text(self.cursor)
        })
        .to_string()
    }

    pub fn cdr(&self) -> Cdr {
        parse_cdr(self.json().as_bytes()).unwrap_or_else(|e| panic!("{e}\n{}", self.json()))
    }
}

// ---------------------------------------------------------------------------------------------
// Generated sessions
// ---------------------------------------------------------------------------------------------

/// What happens during a segment of a generated session.
#[derive(Debug, Clone)]
pub enum Activity {
    /// Charging at a constant `kw`, with this range of current (A).
    Charge {
        kw: Decimal,
        min_a: Decimal,
        max_a: Decimal,
    },
    Park,
}

#[derive(Debug, Clone)]
pub struct Segment {
    pub activity: Activity,
    pub secs: i64,
}

pub fn charge(secs: i64, kw: &str, min_a: &str, max_a: &str) -> Segment {
    Segment {
        activity: Activity::Charge {
            kw: dec(kw),
            min_a: dec(min_a),
            max_a: dec(max_a),
        },
        secs,
    }
}

pub fn park(secs: i64) -> Segment {
    Segment {
        activity: Activity::Park,
        secs,
    }
}

/// A generated session: a local start and its segments.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub local_start: &'static str,
    pub segments: Vec<Segment>,
}

/// Where a CPO that follows the spec starts a new charging period for `tariff`: every
/// quarter of an hour on the UTC clock (every time of day in the example tariffs, midnight and
/// every DST change in whole-hour zones fall on one), every `min_duration`/`max_duration` after
/// the start, and where the session's energy reaches a `min_kwh`/`max_kwh`.
pub struct CutRules {
    pub durations_ms: Vec<i64>,
    pub energy_kwh: Vec<Decimal>,
}

impl CutRules {
    pub fn of(tariff: &Tariff) -> Self {
        let mut durations_ms = Vec::new();
        let mut energy_kwh = Vec::new();
        for r in tariff
            .elements
            .iter()
            .filter_map(|e| e.restrictions.as_ref())
        {
            durations_ms.extend(r.min_duration.map(|s| i64::from(s) * 1000));
            durations_ms.extend(r.max_duration.map(|s| i64::from(s) * 1000));
            energy_kwh.extend(r.min_kwh);
            energy_kwh.extend(r.max_kwh);
        }
        Self {
            durations_ms,
            energy_kwh,
        }
    }
}

/// Energy after `ms` at `kw`, to 4 decimals (what both engines read from a CDR).
fn energy_at(kw: Decimal, ms: i64) -> Decimal {
    (kw * Decimal::from(ms) / Decimal::from(3_600_000))
        .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
}

/// The grid every generated instant and duration is on: 9 s is 0.0025 h, so every duration
/// is exact as a CDR volume in hours with OCPI's 4 decimals (see `reference_diff.rs`,
/// difference 5).
pub const GRID_MS: i64 = 9_000;

fn snap(ms: i64) -> i64 {
    (ms + GRID_MS / 2).div_euclid(GRID_MS) * GRID_MS
}

/// The CDR of `scenario` in `tz`, cut into charging periods as [`CutRules`] says. The start
/// and the segment durations are moved to the 9-second grid ([`GRID_MS`]).
pub fn generated_cdr(scenario: &Scenario, tz: Tz, rules: &CutRules) -> CdrBuilder {
    let start = local(tz, scenario.local_start);
    let start =
        DateTime::from_timestamp_millis(start.timestamp_millis().div_euclid(GRID_MS) * GRID_MS)
            .unwrap();
    let mut b = CdrBuilder::from_utc(start);
    let mut energy = Decimal::ZERO; // session energy so far, kWh
    let mut at_ms: i64 = 0; // since the session start
    for seg in &scenario.segments {
        let seg_start = at_ms;
        let seg_end = at_ms + snap(seg.secs * 1000).max(GRID_MS);
        // Cut points inside the segment: (ms since session start, energy forced there).
        let mut cuts: Vec<(i64, Option<Decimal>)> = Vec::new();
        let quarter = 15 * 60 * 1000;
        let start_ms = start.timestamp_millis();
        let mut q = (start_ms + seg_start).div_euclid(quarter) * quarter + quarter;
        while q < start_ms + seg_end {
            cuts.push((q - start_ms, None));
            q += quarter;
        }
        for &d in &rules.durations_ms {
            if seg_start < d && d < seg_end {
                cuts.push((d, None));
            }
        }
        let seg_energy_start = energy;
        if let Activity::Charge { kw, .. } = seg.activity {
            let seg_total = energy_at(kw, seg_end - seg_start);
            for &t in &rules.energy_kwh {
                if seg_energy_start < t && t < seg_energy_start + seg_total {
                    let ms = ((t - seg_energy_start) * Decimal::from(3_600_000) / kw)
                        .round()
                        .try_into()
                        .unwrap_or(0i64);
                    let ms = snap(ms).clamp(GRID_MS, seg_end - seg_start - GRID_MS);
                    cuts.push((seg_start + ms, Some(t)));
                }
            }
        }
        cuts.sort_by_key(|c| c.0);
        cuts.dedup_by_key(|c| c.0);
        cuts.push((seg_end, None));

        let mut piece_start = seg_start;
        for (cut, forced) in cuts {
            let ms = cut - piece_start;
            match &seg.activity {
                Activity::Charge { kw, min_a, max_a } => {
                    let target = match forced {
                        Some(t) => t,
                        None => seg_energy_start + energy_at(*kw, cut - seg_start),
                    };
                    let target = target.max(energy);
                    let kwh = target - energy;
                    energy = target;
                    b = b.period_ms(
                        ms,
                        vec![
                            ("ENERGY", number_text(kwh)),
                            ("TIME", hours_text(ms)),
                            ("MIN_CURRENT", number_text(*min_a)),
                            ("MAX_CURRENT", number_text(*max_a)),
                            ("MIN_POWER", number_text(*kw)),
                            ("MAX_POWER", number_text(*kw)),
                        ],
                    );
                }
                Activity::Park => {
                    b = b.period_ms(ms, vec![("PARKING_TIME", hours_text(ms))]);
                }
            }
            piece_start = cut;
        }
        at_ms = seg_end;
    }
    b
}

/// The generated sessions: time of day across tariff boundaries and midnight, weekdays and
/// weekends, short and long, little and much energy, odd durations against step sizes,
/// parking before and after charging, several power levels, both DST changes of 2019 in
/// Europe/Amsterdam. All in June 2019 (Monday 3 to Sunday 9) unless the name says otherwise.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "short charge Monday morning",
            local_start: "2019-06-03 10:00",
            segments: vec![charge(min(12), "11", "15", "16")],
        },
        Scenario {
            name: "2.5 h charge, no parking, Tuesday",
            local_start: "2019-06-04 14:10",
            segments: vec![charge(min(150), "7.4", "30", "32")],
        },
        Scenario {
            name: "150 min charge + 42 min parking, Wednesday",
            local_start: "2019-06-05 08:00",
            segments: vec![charge(min(150), "11", "15", "16"), park(min(42))],
        },
        Scenario {
            name: "Friday night across midnight into Saturday",
            local_start: "2019-06-07 23:20",
            segments: vec![charge(min(180), "22", "30", "32"), park(min(60))],
        },
        Scenario {
            name: "16:55 charge 10 min + park 2 min",
            local_start: "2019-06-03 16:55",
            segments: vec![charge(min(10), "11", "15", "16"), park(min(2))],
        },
        Scenario {
            name: "16:35 charge 35 min",
            local_start: "2019-06-03 16:35",
            segments: vec![charge(min(35), "11", "15", "16")],
        },
        Scenario {
            name: "19:40 charge 12 min + park 20 min",
            local_start: "2019-06-03 19:40",
            segments: vec![charge(min(12), "11", "15", "16"), park(min(20))],
        },
        Scenario {
            name: "Saturday 13:30 charge 114 min at 43 A + park 71 min",
            local_start: "2019-06-08 13:30",
            segments: vec![charge(min(114), "30", "43", "45"), park(min(71))],
        },
        Scenario {
            name: "Monday 09:30 charge 165 min at 16 A + park 42 min",
            local_start: "2019-06-03 09:30",
            segments: vec![charge(min(165), "3.7", "10", "16"), park(min(42))],
        },
        Scenario {
            name: "75 kWh fast charge",
            local_start: "2019-06-04 12:05",
            segments: vec![charge(min(90), "50", "100", "120")],
        },
        Scenario {
            name: "0.8 kWh",
            local_start: "2019-06-04 12:05",
            segments: vec![charge(min(10), "4.8", "20", "21")],
        },
        Scenario {
            name: "odd seconds against step sizes",
            local_start: "2019-06-05 11:11",
            segments: vec![charge(1234, "7", "30", "31"), park(777)],
        },
        Scenario {
            name: "three power levels (max_power example)",
            local_start: "2019-06-05 15:00",
            segments: vec![
                charge(min(10), "6", "26", "26"),
                charge(min(50), "48", "70", "70"),
                charge(450, "4", "17", "17"),
            ],
        },
        Scenario {
            name: "40 min: 5 kWh in 30 min then 1.2 kWh (max_duration example)",
            local_start: "2019-06-06 10:00",
            segments: vec![
                charge(min(30), "10", "43", "44"),
                charge(min(10), "7.2", "31", "31"),
            ],
        },
        Scenario {
            name: "20 kWh in 1 h then 2:45 h parking",
            local_start: "2019-06-06 08:00",
            segments: vec![charge(min(60), "20", "29", "29"), park(min(165))],
        },
        Scenario {
            name: "parking first (delayed start), then charging",
            local_start: "2019-06-06 17:10",
            segments: vec![park(min(20)), charge(min(60), "11", "15", "16")],
        },
        Scenario {
            name: "Thursday 17:10 charge 30 min + park 40 min (weekday parking window closes at 18:00)",
            local_start: "2019-06-06 17:10",
            segments: vec![charge(min(30), "11", "15", "16"), park(min(40))],
        },
        Scenario {
            name: "Sunday charge at 40 A",
            local_start: "2019-06-09 10:20",
            segments: vec![charge(min(95), "27", "40", "41"), park(min(13))],
        },
        Scenario {
            name: "overnight: 2 h charge, 20 h parking",
            local_start: "2019-06-05 18:30",
            segments: vec![charge(min(120), "11", "15", "16"), park(min(1200))],
        },
        Scenario {
            name: "DST spring forward 2019-03-31 (CET to CEST)",
            local_start: "2019-03-31 01:30",
            segments: vec![charge(min(120), "11", "15", "16"), park(min(30))],
        },
        Scenario {
            name: "DST fall back 2019-10-27 (CEST to CET), after tariff 6 ends",
            local_start: "2019-10-27 01:30",
            segments: vec![charge(min(120), "11", "15", "16"), park(min(30))],
        },
    ]
}
