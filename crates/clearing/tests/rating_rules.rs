//! The rules of rating one by one, on small tariffs and usage timelines: every restriction
//! type, `step_size` (with the examples of the mod_cdrs and mod_tariffs text), flat fees,
//! `min_price`/`max_price`, VAT, time zones (sessions across both DST changes of
//! Europe/Amsterdam) and the errors.

mod common;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clearing::rating::{
    CdrTotals, CompiledTariff, CostCategory, PeriodKind, RatingError, Usage, UsagePeriod,
    parse_tariff, price_cdr, price_files, price_session,
};
use common::*;
use hub_core::ocpi::v221::{Price, Tariff};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn tariff_with(elements: Value, extra: Value) -> Tariff {
    let mut t = json!({
        "country_code": "NL",
        "party_id": "CPO",
        "id": "T1",
        "currency": "EUR",
        "elements": elements,
        "last_updated": "2024-01-01T00:00:00Z"
    });
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    parse_tariff(t.to_string().as_bytes()).unwrap()
}

fn tariff(elements: Value) -> Tariff {
    tariff_with(elements, json!({}))
}

/// A local time in Amsterdam.
fn at(local_time: &str) -> DateTime<Utc> {
    local(AMSTERDAM, local_time)
}

fn charging(from: &str, to: &str, kwh: &str) -> UsagePeriod {
    UsagePeriod::charging(at(from), at(to), dec(kwh) * dec("1000"))
}

fn parking(from: &str, to: &str) -> UsagePeriod {
    UsagePeriod::parking(at(from), at(to))
}

fn rate_in(tz: Tz, t: &Tariff, periods: Vec<UsagePeriod>) -> CdrTotals {
    price_session(t, &Usage::new(periods), tz).unwrap()
}

fn rate(t: &Tariff, periods: Vec<UsagePeriod>) -> CdrTotals {
    rate_in(AMSTERDAM, t, periods)
}

fn excl(p: &Price) -> Decimal {
    p.excl_vat
}

fn excl_of(p: &Option<Price>) -> Decimal {
    p.as_ref().expect("a price").excl_vat
}

// ---------------------------------------------------------------------------------------------
// Restrictions
// ---------------------------------------------------------------------------------------------

#[test]
fn start_and_end_time_including_past_midnight() {
    // Night energy 22:00-06:00 ("If end_time < start_time then the period wraps around to the
    // next day"), else the default element.
    let t = tariff(json!([
        {"price_components": [{"type": "ENERGY", "price": 0.10, "step_size": 1}],
         "restrictions": {"start_time": "22:00", "end_time": "06:00"}},
        {"price_components": [{"type": "ENERGY", "price": 0.30, "step_size": 1}]}
    ]));
    // 21:00-23:00, 20 kWh at a constant rate: 10 kWh at 0.30, 10 at 0.10.
    let t1 = rate(
        &t,
        vec![charging("2024-06-03 21:00", "2024-06-03 23:00", "20")],
    );
    assert_eq!(excl(&t1.total_cost), dec("4.00"));
    // Across midnight, all in the window.
    let t2 = rate(
        &t,
        vec![charging("2024-06-03 23:00", "2024-06-04 01:00", "20")],
    );
    assert_eq!(excl(&t2.total_cost), dec("2.00"));
    // 05:00-07:00: 10 kWh at 0.10 until 06:00 (end_time exclusive), 10 at 0.30.
    let t3 = rate(
        &t,
        vec![charging("2024-06-04 05:00", "2024-06-04 07:00", "20")],
    );
    assert_eq!(excl(&t3.total_cost), dec("4.00"));

    // "To stop at end of the day use: 00:00."
    let evening = tariff(json!([
        {"price_components": [{"type": "TIME", "price": 1.00, "step_size": 1}],
         "restrictions": {"start_time": "20:00", "end_time": "00:00"}},
        {"price_components": [{"type": "TIME", "price": 3.00, "step_size": 1}]}
    ]));
    let t4 = rate(
        &evening,
        vec![charging("2024-06-03 19:00", "2024-06-04 01:00", "10")],
    );
    // 19-20 at 3, 20-24 at 1, 00-01 at 3.
    assert_eq!(excl_of(&t4.total_time_cost), dec("10.00"));
}

#[test]
fn start_and_end_date() {
    // "valid from this day (inclusive)" ... "valid until this day (exclusive)"
    let t = tariff(json!([
        {"price_components": [{"type": "ENERGY", "price": 0.0, "step_size": 1}],
         "restrictions": {"start_date": "2024-12-25", "end_date": "2024-12-26"}},
        {"price_components": [{"type": "ENERGY", "price": 0.30, "step_size": 1}]}
    ]));
    // Christmas ends at local midnight: 5 kWh free, 5 at 0.30.
    let t1 = rate(
        &t,
        vec![charging("2024-12-25 23:00", "2024-12-26 01:00", "10")],
    );
    assert_eq!(excl(&t1.total_cost), dec("1.50"));
    let t2 = rate(
        &t,
        vec![charging("2024-12-24 23:00", "2024-12-25 01:00", "10")],
    );
    assert_eq!(excl(&t2.total_cost), dec("1.50"));
    let t3 = rate(
        &t,
        vec![charging("2024-12-25 08:00", "2024-12-25 10:00", "10")],
    );
    assert_eq!(excl(&t3.total_cost), dec("0"));
}

#[test]
fn day_of_week() {
    let t = tariff(json!([
        {"price_components": [{"type": "TIME", "price": 1.00, "step_size": 1}],
         "restrictions": {"day_of_week": ["SATURDAY", "SUNDAY"]}},
        {"price_components": [{"type": "TIME", "price": 2.00, "step_size": 1}]}
    ]));
    // Friday 23:00 to Saturday 01:00 (2024-06-07 is a Friday): 1 h at 2, 1 h at 1.
    let t1 = rate(
        &t,
        vec![charging("2024-06-07 23:00", "2024-06-08 01:00", "10")],
    );
    assert_eq!(excl(&t1.total_cost), dec("3.00"));
    // Sunday 23:00 to Monday 01:00: 1 h at 1, 1 h at 2.
    let t2 = rate(
        &t,
        vec![charging("2024-06-09 23:00", "2024-06-10 01:00", "10")],
    );
    assert_eq!(excl(&t2.total_cost), dec("3.00"));
    // A whole Wednesday.
    let t3 = rate(
        &t,
        vec![charging("2024-06-05 10:00", "2024-06-05 12:00", "10")],
    );
    assert_eq!(excl(&t3.total_cost), dec("4.00"));
}

#[test]
fn min_and_max_kwh() {
    // "valid from this amount of energy (inclusive)" / "valid until this amount of energy
    // (exclusive) being used"
    let t = tariff(json!([
        {"price_components": [{"type": "ENERGY", "price": 0.20, "step_size": 1}],
         "restrictions": {"max_kwh": 10}},
        {"price_components": [{"type": "ENERGY", "price": 0.40, "step_size": 1}],
         "restrictions": {"min_kwh": 10}},
        {"price_components": [{"type": "PARKING_TIME", "price": 6.00, "step_size": 1}],
         "restrictions": {"min_kwh": 20}},
        {"price_components": [{"type": "PARKING_TIME", "price": 1.00, "step_size": 1}]}
    ]));
    // One period of 25 kWh: 10 at 0.20, 15 at 0.40; parking after 25 kWh at 6.00/h.
    let one = rate(
        &t,
        vec![
            charging("2024-06-03 10:00", "2024-06-03 12:30", "25"),
            parking("2024-06-03 12:30", "2024-06-03 13:00"),
        ],
    );
    assert_eq!(excl_of(&one.total_energy_cost), dec("8.00"));
    assert_eq!(excl_of(&one.total_parking_cost), dec("3.00"));
    // Cut differently: the same.
    let two = rate(
        &t,
        vec![
            charging("2024-06-03 10:00", "2024-06-03 10:48", "8"),
            charging("2024-06-03 10:48", "2024-06-03 12:30", "17"),
            parking("2024-06-03 12:30", "2024-06-03 13:00"),
        ],
    );
    assert_eq!(one, two);
    // Parking after only 15 kWh: the default parking price.
    let less = rate(
        &t,
        vec![
            charging("2024-06-03 10:00", "2024-06-03 11:30", "15"),
            parking("2024-06-03 11:30", "2024-06-03 12:00"),
        ],
    );
    assert_eq!(excl_of(&less.total_energy_cost), dec("4.00"));
    assert_eq!(excl_of(&less.total_parking_cost), dec("0.50"));
}

#[test]
fn min_and_max_current() {
    let t = tariff(json!([
        {"price_components": [{"type": "TIME", "price": 1.00, "step_size": 1}],
         "restrictions": {"max_current": 16}},
        {"price_components": [{"type": "TIME", "price": 2.00, "step_size": 1}],
         "restrictions": {"min_current": 16, "max_current": 32}},
        {"price_components": [{"type": "TIME", "price": 5.00, "step_size": 1}]}
    ]));
    let hour = |h: u32| {
        charging(
            &format!("2024-06-03 {:02}:00", 10 + h),
            &format!("2024-06-03 {:02}:00", 11 + h),
            "5",
        )
    };
    let d = |s: &str| Some(dec(s));
    let periods = vec![
        // below 16 A all the time: 1.00
        hour(0).with_current(d("6"), d("10")),
        // between 16 and 32 A: 2.00
        hour(1).with_current(d("20"), d("30")),
        // up to 40 A: "the TariffElement MUST no longer be active when the charging current
        // raises above the defined value": the default 5.00
        hour(2).with_current(d("20"), d("40")),
        // no reading: no current restriction can be verified, the default 5.00
        hour(3),
        // exactly 16 A: max_current is exclusive, min_current inclusive: 2.00
        hour(4).with_current(None, d("16")),
    ];
    let t1 = rate(&t, periods);
    assert_eq!(excl_of(&t1.total_time_cost), dec("15.00"));
}

#[test]
fn min_and_max_power() {
    let t = tariff(json!([
        {"price_components": [{"type": "ENERGY", "price": 0.50, "step_size": 1}],
         "restrictions": {"min_power": 22}},
        {"price_components": [{"type": "ENERGY", "price": 0.30, "step_size": 1}],
         "restrictions": {"max_power": 11}},
        {"price_components": [{"type": "ENERGY", "price": 0.40, "step_size": 1}]}
    ]));
    let d = |s: &str| Some(dec(s));
    let t1 = rate(
        &t,
        vec![
            // No readings: the average power, 50 kW: 50 * 0.50
            charging("2024-06-03 10:00", "2024-06-03 11:00", "50"),
            // Average 7 kW: 7 * 0.30
            charging("2024-06-03 11:00", "2024-06-03 12:00", "7"),
            // Exactly 11 kW: neither "more than, or equal to" 22 nor "less than" 11: 11 * 0.40
            charging("2024-06-03 12:00", "2024-06-03 13:00", "11").with_power(d("11"), d("11")),
        ],
    );
    assert_eq!(excl_of(&t1.total_energy_cost), dec("31.50"));
}

#[test]
fn min_and_max_duration() {
    let t = tariff(json!([
        {"price_components": [{"type": "TIME", "price": 0, "step_size": 1}],
         "restrictions": {"max_duration": 1800}},
        {"price_components": [{"type": "TIME", "price": 6.00, "step_size": 1}],
         "restrictions": {"min_duration": 1800}},
        {"price_components": [{"type": "PARKING_TIME", "price": 0, "step_size": 1}],
         "restrictions": {"max_duration": 3600}},
        {"price_components": [{"type": "PARKING_TIME", "price": 4.00, "step_size": 1}]}
    ]));
    // First 30 minutes free, then 6.00/h; the duration is that of the session, parking
    // included and charging counted: parking from 0:50 is free until 1:00, then 4.00/h.
    let t1 = rate(
        &t,
        vec![
            charging("2024-06-03 10:00", "2024-06-03 10:50", "8"),
            parking("2024-06-03 10:50", "2024-06-03 11:20"),
        ],
    );
    assert_eq!(excl_of(&t1.total_time_cost), dec("2.00"));
    assert_eq!(excl_of(&t1.total_parking_cost), dec("1.3333"));
}

#[test]
fn reservation_elements_price_only_reservations() {
    // Tariff 15: its RESERVATION element (TIME 5.00/h) must not price charging time.
    let t = example_tariff("tariff_15_reservation_5_euro_per_hour.json");
    let t1 = rate(
        &t,
        vec![charging("2024-06-03 10:00", "2024-06-03 12:00", "20")],
    );
    assert_eq!(t1.total_time_cost, None);
    assert_eq!(t1.total_reservation_cost, None);
    assert_eq!(excl(&t1.total_cost), dec("5.50"));

    // Tariff 18: RESERVATION_EXPIRES (6.00/h) only when no session follows.
    let t = example_tariff("tariff_18_reservation_with_expire_time.json");
    let used = rate(
        &t,
        vec![
            UsagePeriod::reservation(at("2024-06-03 09:00"), at("2024-06-03 10:00")),
            charging("2024-06-03 10:00", "2024-06-03 12:00", "20"),
        ],
    );
    assert_eq!(excl_of(&used.total_reservation_cost), dec("3.00"));
    let expired = rate(
        &t,
        vec![UsagePeriod::reservation(
            at("2024-06-03 09:00"),
            at("2024-06-03 10:00"),
        )],
    );
    assert_eq!(excl_of(&expired.total_reservation_cost), dec("6.00"));
    assert_eq!(expired.total_time, dec("0"));
}

// ---------------------------------------------------------------------------------------------
// step_size
// ---------------------------------------------------------------------------------------------

#[test]
fn step_size_of_the_price_component_note() {
    // "If someone charges their EV with 115.2 Wh, then they are billed for 116 Wh, resulting
    // in total cost of 0.029 euro. When `step_size = 25`, then the same amount would be billed
    // for 101 to 125 Wh: 0.031 euro. When `step_size = 500`, then the same amount will be
    // billed for 1 to 500 Wh: 0.125 euro."
    for (step, cost) in [(1, "0.029"), (25, "0.0313"), (500, "0.125")] {
        let t = tariff(json!([
            {"price_components": [{"type": "ENERGY", "price": 0.25, "step_size": step}]}
        ]));
        let r = rate(
            &t,
            vec![charging("2024-06-03 10:00", "2024-06-03 10:05", "0.1152")],
        );
        // 125 Wh * 0.25 = 0.03125, which the text shows to 3 decimals; 4 decimals, half away
        // from zero: 0.0313.
        assert_eq!(excl(&r.total_cost), dec(cost), "step {step}");
        assert_eq!(r.total_energy, dec("0.1152"));
    }
    // "if `type` is `TIME` and `step_size` has a value of `300`, then time will be billed in
    // blocks of 5 minutes. If 6 minutes were used, 10 minutes (2 blocks of `step_size`) will
    // be billed."
    let t =
        tariff(json!([{"price_components": [{"type": "TIME", "price": 6.00, "step_size": 300}]}]));
    let r = rate(
        &t,
        vec![charging("2024-06-03 10:00", "2024-06-03 10:06", "1")],
    );
    assert_eq!(excl(&r.total_cost), dec("1.00"));
    // "This means that when someone parked for 8 minutes they will be billed for 10 minutes."
    let t = tariff(
        json!([{"price_components": [{"type": "PARKING_TIME", "price": 6.00, "step_size": 300}]}]),
    );
    let r = rate(&t, vec![parking("2024-06-03 10:00", "2024-06-03 10:08")]);
    assert_eq!(excl(&r.total_cost), dec("1.00"));
}

#[test]
fn step_size_on_the_session_total_of_energy() {
    // mod_cdrs: "Charging cost 0.20 euro/Wh before 17:00 and 0.27 euro/Wh after 17:00 both
    // have a `step_size` of 500 Wh. If a driver charges 4.3 kWh before 17:00 and 1.1 kWh after
    // 17:00, a total of 5.4 kWh is charged. The `step_size` rounds this up to 5.5 kWh total.
    // It does NOT round the energy used after 17:00 to 1.5 kWh."
    // (per kWh, as the tariff's unit is) 4.3 * 0.20 + 1.2 * 0.27 = 0.86 + 0.324 = 1.184
    let t = tariff(json!([
        {"price_components": [{"type": "ENERGY", "price": 0.20, "step_size": 500}],
         "restrictions": {"end_time": "17:00"}},
        {"price_components": [{"type": "ENERGY", "price": 0.27, "step_size": 500}]}
    ]));
    let r = rate(
        &t,
        vec![
            charging("2024-06-03 16:00", "2024-06-03 17:00", "4.3"),
            charging("2024-06-03 17:00", "2024-06-03 17:30", "1.1"),
        ],
    );
    assert_eq!(excl(&r.total_cost), dec("1.184"));
    assert_eq!(r.total_energy, dec("5.4"));

    // "If the `step_size` differs for the different TariffElements, the `step_size` of the
    // last relevant PriceComponent is used": with 1 Wh after 17:00, nothing is rounded.
    let t = tariff(json!([
        {"price_components": [{"type": "ENERGY", "price": 0.20, "step_size": 500}],
         "restrictions": {"end_time": "17:00"}},
        {"price_components": [{"type": "ENERGY", "price": 0.27, "step_size": 1}]}
    ]));
    let r = rate(
        &t,
        vec![
            charging("2024-06-03 16:00", "2024-06-03 17:00", "4.3"),
            charging("2024-06-03 17:00", "2024-06-03 17:30", "1.1"),
        ],
    );
    assert_eq!(excl(&r.total_cost), dec("1.157"));
}

#[test]
fn step_size_on_the_session_total_of_time() {
    // mod_cdrs: "Charging cost 5 euro/hour before 17:00 and 7 euro/hour after 17:00 both have
    // a `step_size` of 10 minutes. If a driver charges 6 minutes before 17:00 and 22 minutes
    // after 17:00: a total of 28 minutes charging. The `step_size` rounds this up to 30
    // minutes total, so 24 minutes after 17:00 will be billed."
    // 6/60 * 5 + 24/60 * 7 = 0.50 + 2.80 = 3.30
    let t = tariff(json!([
        {"price_components": [{"type": "TIME", "price": 5.00, "step_size": 600}],
         "restrictions": {"end_time": "17:00"}},
        {"price_components": [{"type": "TIME", "price": 7.00, "step_size": 600}]}
    ]));
    let r = rate(
        &t,
        vec![charging("2024-06-03 16:54", "2024-06-03 17:22", "5")],
    );
    assert_eq!(excl(&r.total_cost), dec("3.30"));
}

#[test]
fn step_size_when_charging_is_followed_by_parking() {
    // mod_cdrs: "`step_size` for both charging (`TIME`) and parking is 5 minutes. After 21
    // minutes of charging, the EV is full but remains connected for 7 more minutes. The cost
    // of charging will be calculated based on 21 minutes (not 25). The cost of parking will
    // be calculated based on 10 minutes (`step_size` is 5)."
    // With 1.00/h charging and 2.00/h parking: 0.35 + 0.333.. = 0.6833
    let t = tariff(json!([
        {"price_components": [
            {"type": "TIME", "price": 1.00, "step_size": 300},
            {"type": "PARKING_TIME", "price": 2.00, "step_size": 300}
        ]}
    ]));
    let r = rate(
        &t,
        vec![
            charging("2024-06-03 10:00", "2024-06-03 10:21", "3"),
            parking("2024-06-03 10:21", "2024-06-03 10:28"),
        ],
    );
    assert_eq!(excl_of(&r.total_time_cost), dec("0.35"));
    assert_eq!(excl_of(&r.total_parking_cost), dec("0.3333"));

    // mod_cdrs: "Charging cost 1.00 euro/hour, parking 2.00 euro/hour both have a `step_size`
    // of 10 minutes. If a driver charges 21 minutes, and keeps his EV connected while it is
    // full for another 16 minutes. The step_size rounds the parking duration up to 20
    // minutes, making it a total of 41 minutes. Note that the charging duration is not
    // rounded up, as it is followed by another time base period."
    let t = tariff(json!([
        {"price_components": [
            {"type": "TIME", "price": 1.00, "step_size": 600},
            {"type": "PARKING_TIME", "price": 2.00, "step_size": 600}
        ]}
    ]));
    let r = rate(
        &t,
        vec![
            charging("2024-06-03 10:00", "2024-06-03 10:21", "3"),
            parking("2024-06-03 10:21", "2024-06-03 10:37"),
        ],
    );
    assert_eq!(excl_of(&r.total_time_cost), dec("0.35"));
    assert_eq!(excl_of(&r.total_parking_cost), dec("0.6667"));
    assert_eq!(excl(&r.total_cost), dec("1.0167"));
}

// ---------------------------------------------------------------------------------------------
// Flat fees, min_price / max_price, VAT
// ---------------------------------------------------------------------------------------------

#[test]
fn flat_fee_once_per_session_and_parking_flat_is_parking_cost() {
    let t = tariff(json!([
        {"price_components": [{"type": "FLAT", "price": 1.00, "step_size": 1}],
         "restrictions": {"end_time": "12:00"}},
        {"price_components": [{"type": "FLAT", "price": 2.00, "step_size": 1}]}
    ]));
    let r = rate(
        &t,
        vec![charging("2024-06-03 11:00", "2024-06-03 13:00", "10")],
    );
    assert_eq!(excl_of(&r.total_fixed_cost), dec("1.00"));

    // A FLAT in an element that otherwise prices parking only is a "fixed price component of
    // parking": total_parking_cost, not total_fixed_cost. Here an idle fee after 2 hours.
    let t = tariff(json!([
        {"price_components": [
            {"type": "FLAT", "price": 5.00, "step_size": 1},
            {"type": "PARKING_TIME", "price": 2.00, "step_size": 1}
        ], "restrictions": {"min_duration": 7200}},
        {"price_components": [{"type": "ENERGY", "price": 0.30, "step_size": 1}]}
    ]));
    let r = rate(
        &t,
        vec![
            charging("2024-06-03 10:00", "2024-06-03 11:30", "10"),
            parking("2024-06-03 11:30", "2024-06-03 12:30"),
        ],
    );
    assert_eq!(r.total_fixed_cost, None);
    assert_eq!(excl_of(&r.total_parking_cost), dec("6.00"));
    assert_eq!(excl(&r.total_cost), dec("9.00"));
}

#[test]
fn min_and_max_price_apply_excl_and_incl_vat_each() {
    // "As the VAT might be built up of different parts, there might be situations where
    // minimum cost including VAT is reached earlier or later than the minimum cost excluding
    // VAT. So as a rule, they both apply"
    let t = tariff_with(
        json!([{"price_components": [{"type": "ENERGY", "price": 0.25, "vat": 21.0, "step_size": 1}]}]),
        json!({"min_price": {"excl_vat": 1.00, "incl_vat": 1.10}}),
    );
    // 3.8 kWh: 0.95 excl. (raised to 1.00), 1.1495 incl. (above 1.10, kept).
    let r = rate(
        &t,
        vec![charging("2024-06-03 10:00", "2024-06-03 11:00", "3.8")],
    );
    assert_eq!(r.total_cost.excl_vat, dec("1.00"));
    assert_eq!(r.total_cost.incl_vat, Some(dec("1.1495")));
    // 3.2 kWh: 0.80 / 0.968, both raised.
    let r = rate(
        &t,
        vec![charging("2024-06-03 10:00", "2024-06-03 11:00", "3.2")],
    );
    assert_eq!(r.total_cost.excl_vat, dec("1.00"));
    assert_eq!(r.total_cost.incl_vat, Some(dec("1.10")));

    let t = tariff_with(
        json!([{"price_components": [{"type": "ENERGY", "price": 0.25, "vat": 21.0, "step_size": 1}]}]),
        json!({"max_price": {"excl_vat": 10.00, "incl_vat": 12.00}}),
    );
    // 41 kWh: 10.25 excl. (capped at 10.00), 12.4025 incl. (capped at 12.00).
    let r = rate(
        &t,
        vec![charging("2024-06-03 10:00", "2024-06-03 12:00", "41")],
    );
    assert_eq!(r.total_cost.excl_vat, dec("10.00"));
    assert_eq!(r.total_cost.incl_vat, Some(dec("12.00")));
    // 39.8 kWh: 9.95 excl. (kept), 12.0395 incl. (capped).
    let r = rate(
        &t,
        vec![charging("2024-06-03 10:00", "2024-06-03 12:00", "39.8")],
    );
    assert_eq!(r.total_cost.excl_vat, dec("9.95"));
    assert_eq!(r.total_cost.incl_vat, Some(dec("12.00")));

    // A limit without incl_vat that changes the total: the total incl. VAT is not known.
    let t = tariff_with(
        json!([{"price_components": [{"type": "ENERGY", "price": 0.25, "vat": 21.0, "step_size": 1}]}]),
        json!({"min_price": {"excl_vat": 1.00}}),
    );
    let r = rate(
        &t,
        vec![charging("2024-06-03 10:00", "2024-06-03 11:00", "2")],
    );
    assert_eq!(r.total_cost.excl_vat, dec("1.00"));
    assert_eq!(r.total_cost.incl_vat, None);
    let r = rate(
        &t,
        vec![charging("2024-06-03 10:00", "2024-06-03 11:00", "8")],
    );
    assert_eq!(r.total_cost.incl_vat, Some(dec("2.42")));
}

#[test]
fn vat_per_price_component() {
    let t = tariff(json!([
        {"price_components": [
            {"type": "FLAT", "price": 1.00, "vat": 21.0, "step_size": 1},
            {"type": "ENERGY", "price": 0.30, "vat": 9.0, "step_size": 1},
            {"type": "TIME", "price": 2.00, "vat": 0.0, "step_size": 1},
            {"type": "PARKING_TIME", "price": 3.00, "step_size": 1}
        ]}
    ]));
    let r = rate(
        &t,
        vec![
            charging("2024-06-03 10:00", "2024-06-03 11:00", "10"),
            parking("2024-06-03 11:00", "2024-06-03 11:30"),
        ],
    );
    assert_eq!(
        r.total_fixed_cost.as_ref().unwrap().incl_vat,
        Some(dec("1.21"))
    );
    assert_eq!(
        r.total_energy_cost.as_ref().unwrap().incl_vat,
        Some(dec("3.27"))
    );
    // "Not providing a VAT is different from 0% VAT, which would be a value of 0.0 here."
    assert_eq!(
        r.total_time_cost.as_ref().unwrap().incl_vat,
        Some(dec("2.00"))
    );
    // No VAT given for parking: its amount incl. VAT, and so the total's, is unknown.
    assert_eq!(r.total_parking_cost.as_ref().unwrap().excl_vat, dec("1.50"));
    assert_eq!(r.total_parking_cost.as_ref().unwrap().incl_vat, None);
    assert_eq!(r.total_cost.excl_vat, dec("7.50"));
    assert_eq!(r.total_cost.incl_vat, None);
    // Without parking, everything is known.
    let r = rate(
        &t,
        vec![charging("2024-06-03 10:00", "2024-06-03 11:00", "10")],
    );
    assert_eq!(r.total_cost.incl_vat, Some(dec("6.48")));
}

// ---------------------------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------------------------

fn night_and_day() -> Tariff {
    tariff(json!([
        {"price_components": [{"type": "TIME", "price": 1.00, "step_size": 1}],
         "restrictions": {"start_time": "22:00", "end_time": "06:00"}},
        {"price_components": [{"type": "TIME", "price": 3.00, "step_size": 1}]}
    ]))
}

#[test]
fn session_across_the_autumn_dst_change_in_amsterdam() {
    // 2024-10-27 00:00 CEST (22:00 UTC the day before) to 07:00 CET (06:00 UTC): 8 real hours,
    // as 02:00-03:00 happens twice. Night price until local 06:00 (05:00 UTC): 7 hours at
    // 1.00; 06:00-07:00 local at 3.00.
    let r = rate(
        &night_and_day(),
        vec![charging("2024-10-27 00:00", "2024-10-27 07:00", "40")],
    );
    assert_eq!(r.total_time, dec("8"));
    assert_eq!(excl(&r.total_cost), dec("10.00"));

    // A window inside the repeated hour: local 02:30-03:00 happens twice, 1 hour at 10.00;
    // the other 3 of the 4 real hours (01:00 CEST to 04:00 CET) at 1.00.
    let t = tariff(json!([
        {"price_components": [{"type": "TIME", "price": 10.00, "step_size": 1}],
         "restrictions": {"start_time": "02:30", "end_time": "03:00"}},
        {"price_components": [{"type": "TIME", "price": 1.00, "step_size": 1}]}
    ]));
    let start = DateTime::parse_from_rfc3339("2024-10-26T23:00:00Z")
        .unwrap()
        .to_utc();
    let end = DateTime::parse_from_rfc3339("2024-10-27T03:00:00Z")
        .unwrap()
        .to_utc();
    let r = rate(&t, vec![UsagePeriod::charging(start, end, dec("10000"))]);
    assert_eq!(r.total_time, dec("4"));
    assert_eq!(excl(&r.total_cost), dec("13.00"));
}

#[test]
fn session_across_the_spring_dst_change_in_amsterdam() {
    // 2024-03-31 00:00 CET (23:00 UTC) to 07:00 CEST (05:00 UTC): 6 real hours, as 02:00-03:00
    // does not happen. Night until local 06:00 (04:00 UTC): 5 hours at 1.00, then 1 at 3.00.
    let r = rate(
        &night_and_day(),
        vec![charging("2024-03-31 00:00", "2024-03-31 07:00", "40")],
    );
    assert_eq!(r.total_time, dec("6"));
    assert_eq!(excl(&r.total_cost), dec("8.00"));

    // A window that starts in the skipped hour (02:30) opens when the clock jumps to 03:00.
    let t = tariff(json!([
        {"price_components": [{"type": "TIME", "price": 10.00, "step_size": 1}],
         "restrictions": {"start_time": "02:30", "end_time": "04:00"}},
        {"price_components": [{"type": "TIME", "price": 1.00, "step_size": 1}]}
    ]));
    // 01:00 CET to 05:00 CEST = 3 real hours: 01:00-02:00 CET at 1, 03:00-04:00 CEST at 10,
    // 04:00-05:00 at 1.
    let r = rate(
        &t,
        vec![charging("2024-03-31 01:00", "2024-03-31 05:00", "10")],
    );
    assert_eq!(r.total_time, dec("3"));
    assert_eq!(excl(&r.total_cost), dec("12.00"));
}

#[test]
fn the_same_session_in_another_time_zone() {
    // 21:00-23:00 UTC is 23:00-01:00 in Amsterdam (all night) and 22:00-00:00 in London
    // (all night too) but 17:00-19:00 in New York (all day).
    let start = DateTime::parse_from_rfc3339("2024-06-03T21:00:00Z")
        .unwrap()
        .to_utc();
    let end = DateTime::parse_from_rfc3339("2024-06-03T23:00:00Z")
        .unwrap()
        .to_utc();
    let usage = || vec![UsagePeriod::charging(start, end, dec("10000"))];
    let t = night_and_day();
    assert_eq!(
        excl(&rate_in(AMSTERDAM, &t, usage()).total_cost),
        dec("2.00")
    );
    assert_eq!(
        excl(&rate_in(chrono_tz::Europe::London, &t, usage()).total_cost),
        dec("2.00")
    );
    assert_eq!(
        excl(&rate_in(chrono_tz::America::New_York, &t, usage()).total_cost),
        dec("6.00")
    );
}

// ---------------------------------------------------------------------------------------------
// Cost lines, errors
// ---------------------------------------------------------------------------------------------

#[test]
fn cost_lines_show_step_rounding() {
    let t = example_tariff("tariff_10_025kwh_parking_start.json");
    let usage = Usage::new(vec![
        charging("2024-06-03 10:00", "2024-06-03 12:00", "20"),
        parking("2024-06-03 12:00", "2024-06-03 12:40"),
    ]);
    let rating = CompiledTariff::new(&t)
        .unwrap()
        .rate(&usage, AMSTERDAM)
        .unwrap();
    let parking: Vec<_> = rating
        .lines
        .iter()
        .filter(|l| l.category == CostCategory::Parking)
        .collect();
    assert_eq!(parking.len(), 2);
    assert!(!parking[0].step_rounding);
    assert!(parking[1].step_rounding);
    // 40 minutes, plus 5 to the 15-minute step.
    assert_eq!(
        clearing::rating::round(parking[1].volume * dec("60")),
        dec("5")
    );
    let sum: Decimal = rating.lines.iter().map(|l| l.cost.excl_vat).sum();
    assert_eq!(
        clearing::rating::round(sum),
        rating.totals.total_cost.excl_vat
    );
}

#[test]
fn errors() {
    let t = example_tariff("tariff_8_simple_025kwh.json");
    // Overlapping periods.
    let overlapping = Usage::new(vec![
        charging("2024-06-03 10:00", "2024-06-03 11:00", "5"),
        charging("2024-06-03 10:30", "2024-06-03 11:30", "5"),
    ]);
    assert!(matches!(
        price_session(&t, &overlapping, AMSTERDAM),
        Err(RatingError::PeriodsOverlap { index: 1, .. })
    ));
    assert_eq!(
        price_session(&t, &Usage::default(), AMSTERDAM),
        Err(RatingError::NoPeriods)
    );

    // Currency.
    let cdr = CdrBuilder::at(AMSTERDAM, "2019-06-03 10:00")
        .currency("CHF")
        .charge(min(60), "10");
    assert!(matches!(
        price_cdr(&t, &cdr.cdr(), AMSTERDAM),
        Err(RatingError::CurrencyMismatch { .. })
    ));

    // A tariff that starts later.
    let future = tariff_with(
        json!([{"price_components": [{"type": "ENERGY", "price": 0.25, "step_size": 1}]}]),
        json!({"start_date_time": "2030-01-01T00:00:00Z"}),
    );
    let usage = Usage::new(vec![charging("2024-06-03 10:00", "2024-06-03 11:00", "5")]);
    assert!(matches!(
        price_session(&future, &usage, AMSTERDAM),
        Err(RatingError::TariffNotActive { .. })
    ));

    // No time zone given and none known for the country: fine without local-time
    // restrictions (UTC), an error with them.
    let cdr = CdrBuilder::at(AMSTERDAM, "2019-06-03 10:00")
        .country("USA")
        .charge(min(60), "10");
    let plain = tariff_example_json("tariff_8_simple_025kwh.json");
    let out = price_files(plain.as_bytes(), cdr.json().as_bytes(), None).unwrap();
    assert_eq!(out["time_zone"], "UTC");
    let local_time = tariff_example_json("tariff_14_step_size.json");
    assert_eq!(
        price_files(local_time.as_bytes(), cdr.json().as_bytes(), None),
        Err(RatingError::TimeZoneRequired {
            country: "USA".into()
        })
    );
}

#[test]
fn usage_from_a_cdr() {
    let cdr = CdrBuilder::at(AMSTERDAM, "2019-06-03 10:00")
        .reserve(min(10))
        .charge(min(60), "10")
        .park(min(15))
        .cdr();
    let usage = Usage::from_cdr(&cdr).unwrap();
    let kinds: Vec<PeriodKind> = usage.periods.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            PeriodKind::Reservation,
            PeriodKind::Charging,
            PeriodKind::Parking
        ]
    );
    assert_eq!(usage.periods[1].energy_wh, dec("10000"));
    assert_eq!(
        usage.periods[2].end - usage.periods[2].start,
        chrono::TimeDelta::minutes(15)
    );
    assert!(!usage.reservation_expired());
}
