//! Differential test against the reference engine `ocpi-tariffs` 0.41: every tariff example of
//! the spec, on every generated session of `common::scenarios()` (time of day across tariff
//! boundaries and midnight, weekdays and weekends, both DST changes, little and much energy,
//! odd durations against step sizes, parking before and after charging, several power
//! levels), cut into charging periods as a CPO following the spec would (`generated_cdr`).
//! Both engines must agree on every total to half a cent, and on the quantities.
//!
//! Run with `cargo test -p clearing --features reference-diff` (see Cargo.toml for why it is
//! a feature).
//!
//! Where the spec text and ocpi-tariffs 0.41 disagree, the spec text is followed, and the
//! comparison is adjusted exactly for that, nothing more:
//!
//! 1. `reservation` restrictions: ocpi-tariffs does not read them, so it prices the
//!    RESERVATION / RESERVATION_EXPIRES elements of tariffs 15-18 as if unrestricted (their
//!    TIME price applies to charging time, their FLAT becomes the start fee). The spec: "When
//!    this field is present, the TariffElement describes reservation costs." The sessions
//!    here have no reservation, so the reference is run on the tariff without its reservation
//!    elements, which is what applies to a session; `reference_prices_reservation_elements`
//!    shows the reference's own numbers on the full tariffs.
//! 2. `min_price` / `max_price`: ocpi-tariffs does not apply them. The spec: "When this field
//!    is set, a Charging Session with this tariff will at least cost this amount." So the
//!    reference's `total_cost` is bounded here before comparing (tariffs 6 and 12).
//! 3. A price component without `vat`: ocpi-tariffs takes it as 0% (incl. = excl.); the spec
//!    text of tariff 7 says "As no VAT information is given, it is not possible to calculate
//!    total costs including VAT", so the engine leaves `incl_vat` out when such a component
//!    contributed a non-zero amount. Compared: the engine's `incl_vat` is absent exactly when a
//!    component without VAT contributed, and then the reference's equals its `excl_vat`.
//! 4. Not exercised here because the generated CDRs avoid them, documented in the crate:
//!    ocpi-tariffs evaluates restrictions only at the start of each charging period (the
//!    engine cuts periods where a restriction changes, which gives the same result for CDRs
//!    cut as the spec asks); it counts a missing current reading as satisfying
//!    `min_current`/`max_current` (the engine: a restriction on an unknown reading does not
//!    match); it bills a TIME/PARKING_TIME step extra on the last period that had the
//!    dimension's volume even when zero; it reads `end_time` 00:00 with `start_time` 00:00
//!    as an empty window (the engine: the whole day, "To stop at end of the day use: 00:00");
//!    it takes `end_date_time` as exclusive. The tariff 14 example #1 is the one worked
//!    number of the spec that neither engine reproduces (see `spec_examples.rs`).
//! 5. Time comes from the timestamps in the engine (a period lasts until the next starts),
//!    from the `TIME`/`PARKING_TIME` volumes in ocpi-tariffs, which rounds every number of a
//!    CDR to OCPI's 4 decimals first. 10 minutes is 0.1667 h there, 600.12 s, and with a
//!    60-second step that is billed as 11 minutes (`reference_reads_time_from_rounded_volumes`).
//!    The generated sessions are on a 9-second grid (0.0025 h), where both readings are exact.

mod common;

use chrono::TimeDelta;
use chrono_tz::Tz;
use clearing::rating::{CdrTotals, RatingError, price_cdr};
use common::*;
use hub_core::ocpi::v221::{Price, Tariff};
use ocpi_tariffs::{Version, cdr as ref_cdr, price as ref_price, tariff as ref_tariff};
use rust_decimal::Decimal;
use serde_json::Value;

/// A price of the reference as (excl, incl).
type RefPrice = Option<(Decimal, Option<Decimal>)>;

#[derive(Debug)]
struct RefTotals {
    total_cost: RefPrice,
    fixed: RefPrice,
    energy: RefPrice,
    time: RefPrice,
    parking: RefPrice,
    total_energy: Option<Decimal>,
    total_time: TimeDelta,
    total_parking_time: Option<TimeDelta>,
}

fn ref_price(p: Option<ocpi_tariffs::Price>) -> RefPrice {
    p.map(|p| (Decimal::from(p.excl_vat), p.incl_vat.map(Decimal::from)))
}

/// Prices with ocpi-tariffs.
fn reference(tariff_json: &str, cdr_json: &str, tz: Tz) -> Result<RefTotals, String> {
    let tariff = ref_tariff::parse_with_version(tariff_json, Version::V221)
        .map_err(|e| format!("reference tariff: {e:?}"))?
        .tariff;
    let cdr = ref_cdr::parse_with_version(cdr_json, Version::V221)
        .map_err(|e| format!("reference CDR: {e:?}"))?
        .cdr;
    let report = ref_cdr::price(&cdr, ref_price::TariffSource::Override(vec![tariff]), tz)
        .map_err(|e| format!("reference pricing: {e:?}"))?;
    let (r, _warnings) = report.into_parts();
    Ok(RefTotals {
        total_cost: ref_price(r.total_cost.calculated),
        fixed: ref_price(r.total_fixed_cost.calculated),
        energy: ref_price(r.total_energy_cost.calculated),
        time: ref_price(r.total_time_cost.calculated),
        parking: ref_price(r.total_parking_cost.calculated),
        total_energy: r.total_energy.calculated.map(Decimal::from),
        total_time: r.total_time.calculated,
        total_parking_time: r.total_parking_time.calculated,
    })
}

fn hours(d: TimeDelta) -> Decimal {
    Decimal::from(d.num_milliseconds()) / Decimal::from(3_600_000)
}

/// The tariff JSON without its reservation elements (difference 1).
fn without_reservation_elements(tariff_json: &str) -> String {
    let mut v: Value = serde_json::from_str(tariff_json).unwrap();
    v["elements"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["restrictions"]["reservation"].is_null());
    v.to_string()
}

fn has_reservation_elements(t: &Tariff) -> bool {
    t.elements.iter().any(|e| {
        e.restrictions
            .as_ref()
            .is_some_and(|r| r.reservation.is_some())
    })
}

/// The reference's total bounded by the tariff's min_price / max_price (difference 2).
fn bounded(t: &Tariff, total: RefPrice) -> RefPrice {
    let (mut excl, mut incl) = total.unwrap_or((Decimal::ZERO, Some(Decimal::ZERO)));
    if let Some(min) = &t.min_price {
        excl = excl.max(min.excl_vat);
        incl = match (incl, min.incl_vat) {
            (Some(i), Some(m)) => Some(i.max(m)),
            (i, _) => i,
        };
    }
    if let Some(max) = &t.max_price {
        excl = excl.min(max.excl_vat);
        incl = match (incl, max.incl_vat) {
            (Some(i), Some(m)) => Some(i.min(m)),
            (i, _) => i,
        };
    }
    Some((excl, incl))
}

/// "To the cent": the two amounts differ by at most half a cent. (ocpi-tariffs rounds the
/// hours of every period to 4 decimals before multiplying; the engine does not round before
/// the end.)
const TOLERANCE: &str = "0.005";

fn compare_price(
    what: &str,
    mine: &Option<Price>,
    theirs: RefPrice,
    tariff: &Tariff,
    failures: &mut Vec<String>,
) {
    let tolerance = dec(TOLERANCE);
    let mine_excl = mine.as_ref().map_or(Decimal::ZERO, |p| p.excl_vat);
    let (their_excl, their_incl) = theirs.unwrap_or((Decimal::ZERO, Some(Decimal::ZERO)));
    if (mine_excl - their_excl).abs() > tolerance {
        failures.push(format!(
            "{what} excl_vat: engine {mine_excl}, reference {their_excl}"
        ));
    }
    match mine.as_ref().map_or(Some(Decimal::ZERO), |p| p.incl_vat) {
        Some(mine_incl) => {
            let their_incl = their_incl.unwrap_or(their_excl);
            if (mine_incl - their_incl).abs() > tolerance {
                failures.push(format!(
                    "{what} incl_vat: engine {mine_incl}, reference {their_incl}"
                ));
            }
        }
        None => {
            // Difference 3: unknown VAT.
            let no_vat = tariff
                .elements
                .iter()
                .flat_map(|e| &e.price_components)
                .any(|pc| pc.vat.is_none());
            if !no_vat || their_incl != Some(their_excl) {
                failures.push(format!(
                    "{what} incl_vat unknown in the engine, reference {their_incl:?} (excl {their_excl})"
                ));
            }
        }
    }
}

fn compare(tariff: &Tariff, mine: &CdrTotals, theirs: &RefTotals) -> Vec<String> {
    let mut f = Vec::new();
    compare_price(
        "total_cost",
        &Some(mine.total_cost.clone()),
        bounded(tariff, theirs.total_cost),
        tariff,
        &mut f,
    );
    compare_price(
        "total_fixed_cost",
        &mine.total_fixed_cost,
        theirs.fixed,
        tariff,
        &mut f,
    );
    compare_price(
        "total_energy_cost",
        &mine.total_energy_cost,
        theirs.energy,
        tariff,
        &mut f,
    );
    compare_price(
        "total_time_cost",
        &mine.total_time_cost,
        theirs.time,
        tariff,
        &mut f,
    );
    compare_price(
        "total_parking_cost",
        &mine.total_parking_cost,
        theirs.parking,
        tariff,
        &mut f,
    );
    let q = dec("0.0001");
    let their_energy = theirs.total_energy.unwrap_or_default();
    if (mine.total_energy - their_energy).abs() > q {
        f.push(format!(
            "total_energy: engine {}, reference {their_energy}",
            mine.total_energy
        ));
    }
    if (mine.total_time - hours(theirs.total_time)).abs() > q {
        f.push(format!(
            "total_time: engine {}, reference {}",
            mine.total_time,
            hours(theirs.total_time)
        ));
    }
    let their_parking = theirs.total_parking_time.map(hours).unwrap_or_default();
    if (mine.total_parking_time.unwrap_or_default() - their_parking).abs() > q {
        f.push(format!(
            "total_parking_time: engine {:?}, reference {their_parking}",
            mine.total_parking_time
        ));
    }
    f
}

#[test]
fn engine_and_reference_agree_on_every_example_tariff_and_generated_session() {
    let tz = AMSTERDAM;
    let mut compared = 0;
    let mut both_refused = 0;
    let mut failures = Vec::new();
    for name in tariff_example_names() {
        let tariff_json = tariff_example_json(&name);
        let tariff = example_tariff(&name);
        let reference_json = if has_reservation_elements(&tariff) {
            without_reservation_elements(&tariff_json)
        } else {
            tariff_json.clone()
        };
        let rules = CutRules::of(&tariff);
        for scenario in scenarios() {
            let cdr = generated_cdr(&scenario, tz, &rules);
            let cdr_json = cdr.json();
            let mine = price_cdr(&tariff, &cdr.cdr(), tz);
            let theirs = reference(&reference_json, &cdr_json, tz);
            match (mine, theirs) {
                (Ok(mine), Ok(theirs)) => {
                    compared += 1;
                    for f in compare(&tariff, &mine, &theirs) {
                        failures.push(format!("{name} / {}: {f}", scenario.name));
                    }
                }
                // Tariff 6 ends on 2019-06-30: neither prices the October session.
                (Err(RatingError::TariffNotActive { .. }), Err(e))
                    if e.contains("NoValidTariff") =>
                {
                    both_refused += 1;
                }
                (mine, theirs) => failures.push(format!(
                    "{name} / {}: engine {mine:?}, reference {theirs:?}",
                    scenario.name
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        both_refused, 1,
        "only the tariff 6 session after its end date"
    );
    assert_eq!(
        compared,
        tariff_example_names().len() * scenarios().len() - 1
    );
}

/// Difference 1 in numbers: ocpi-tariffs on the full reservation tariffs, for 2 hours of
/// charging 20 kWh (no reservation).
#[test]
fn reference_prices_reservation_elements() {
    let tz = AMSTERDAM;
    let cdr = CdrBuilder::at(tz, "2019-06-03 10:00").charge(min(120), "20");
    let price = |name: &str| {
        let theirs = reference(&tariff_example_json(name), &cdr.json(), tz).unwrap();
        let mine = price_cdr(&example_tariff(name), &cdr.cdr(), tz).unwrap();
        (theirs, mine)
    };
    // Tariff 15: the reservation element's TIME 5.00/h is charged on the 2 hours of charging.
    let (theirs, mine) = price("tariff_15_reservation_5_euro_per_hour.json");
    assert_eq!(theirs.time.unwrap().0, dec("10"));
    assert_eq!(mine.total_time_cost, None);
    assert_eq!(mine.total_cost.excl_vat, dec("5.50"));
    // Tariff 16: the reservation fee (FLAT 2.00, first in the list) becomes the start fee.
    let (theirs, mine) = price("tariff_16_reservation_2_euro_fee_5_euro_per_hour.json");
    assert_eq!(theirs.fixed.unwrap().0, dec("2"));
    assert_eq!(mine.total_fixed_cost.unwrap().excl_vat, dec("0.50"));
    // Tariff 17: the expiration fee (FLAT 4.00) becomes the start fee.
    let (theirs, mine) = price("tariff_17_reservation_with_expire_fee.json");
    assert_eq!(theirs.fixed.unwrap().0, dec("4"));
    assert_eq!(mine.total_fixed_cost.unwrap().excl_vat, dec("0.50"));
    // Tariff 18: the expired-reservation rate (TIME 6.00/h) is charged on charging time.
    let (theirs, mine) = price("tariff_18_reservation_with_expire_time.json");
    assert_eq!(theirs.time.unwrap().0, dec("12"));
    assert_eq!(mine.total_time_cost, None);
}

/// Differences 2 and 3 in numbers.
#[test]
fn reference_ignores_min_max_price_and_takes_missing_vat_as_zero() {
    let tz = AMSTERDAM;
    let cdr = CdrBuilder::at(tz, "2019-06-03 10:00").charge(min(120), "50");
    let name = "tariff_6_025kwh_start_max_price.json";
    let theirs = reference(&tariff_example_json(name), &cdr.json(), tz).unwrap();
    let mine = price_cdr(&example_tariff(name), &cdr.cdr(), tz).unwrap();
    // "For a charging session where 50 kWh are charged, this tariff will result in costs of
    // 10.00 euro (excl. VAT) or 11.00 euro (incl. VAT) due to the price limit."
    assert_eq!(theirs.total_cost.unwrap().0, dec("13"));
    assert_eq!(mine.total_cost.excl_vat, dec("10"));

    // Tariff 7 (no VAT anywhere), 20 kWh in an hour then 2:45 h parking, cut where the first
    // kWh is reached and at 3:00 into the session (see `spec_examples::tariff_7_realistic_session`).
    let cdr = CdrBuilder::at(tz, "2019-06-03 10:00")
        .charge(min(3), "1")
        .charge(min(57), "19")
        .park(min(120))
        .park(min(45));
    let name = "tariff_7_first_hour_kwh_free.json";
    let theirs = reference(&tariff_example_json(name), &cdr.json(), tz).unwrap();
    let mine = price_cdr(&example_tariff(name), &cdr.cdr(), tz).unwrap();
    let (excl, incl) = theirs.total_cost.unwrap();
    assert_eq!(incl, Some(excl));
    assert_eq!(mine.total_cost.incl_vat, None);
    assert_eq!(mine.total_cost.excl_vat, excl);
    assert_eq!(excl, dec("10.05"));
}

/// Difference 4 in numbers: the same session in one charging and one parking period. The
/// engine cuts where the first kWh is reached and at 3:00 and gives the same 10.05;
/// ocpi-tariffs prices each period by the elements that match at its start: all 20 kWh at
/// the first-kWh-free price (0.00) and all parking at the 1:00-3:00 price (2.75 h * 2.00).
#[test]
fn reference_evaluates_restrictions_at_period_starts_only() {
    let tz = AMSTERDAM;
    let cdr = CdrBuilder::at(tz, "2019-06-03 10:00")
        .charge(min(60), "20")
        .park(min(165));
    let name = "tariff_7_first_hour_kwh_free.json";
    let theirs = reference(&tariff_example_json(name), &cdr.json(), tz).unwrap();
    let mine = price_cdr(&example_tariff(name), &cdr.cdr(), tz).unwrap();
    assert_eq!(theirs.total_cost.unwrap().0, dec("5.50"));
    assert_eq!(mine.total_cost.excl_vat, dec("10.05"));
}

/// Difference 5 in numbers: 10 minutes of charging at 2.00/h in 60-second steps (tariff 1).
#[test]
fn reference_reads_time_from_rounded_volumes() {
    let tz = AMSTERDAM;
    let cdr = CdrBuilder::at(tz, "2019-06-03 10:00").charge(min(10), "2");
    let name = "tariff_1_simple_2hour.json";
    let theirs = reference(&tariff_example_json(name), &cdr.json(), tz).unwrap();
    let mine = price_cdr(&example_tariff(name), &cdr.cdr(), tz).unwrap();
    // 10 minutes: 0.3333.
    assert_eq!(mine.total_cost.excl_vat, dec("0.3333"));
    // 0.1667 h = 600.12 s, rounded up to 11 minutes (and 11/60 h rounded to 0.1833 h).
    assert_eq!(theirs.total_cost.unwrap().0, dec("0.3666"));
}
