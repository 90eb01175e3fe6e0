//! [`CompiledTariff`]: an OCPI 2.2.1 [`Tariff`] read once into the form the engine evaluates —
//! parsed restriction times and dates, energy thresholds in Wh, durations in nanoseconds, one
//! price component per dimension per element — and the rule that picks, for each dimension,
//! the first tariff element whose restrictions all match.
//!
//! Restriction semantics (mod_tariffs, `TariffRestrictions`; all are ANDed):
//! - `start_time` (inclusive) / `end_time` (exclusive), local time; `end_time` < `start_time`
//!   wraps past midnight; `end_time` `00:00` is the end of the day ("To stop at end of the
//!   day use: 00:00").
//! - `start_date` (inclusive) / `end_date` (exclusive), local date; `day_of_week`, local
//!   weekday (an empty list restricts nothing).
//! - `min_kwh` (inclusive) / `max_kwh` (exclusive): energy charged in the session so far.
//! - `min_duration` (inclusive) / `max_duration` (exclusive): seconds since the session started.
//! - `min_current` (inclusive) / `max_current` (exclusive), `min_power` / `max_power`: the
//!   current or power of the period: the lowest value seen is compared with a minimum, the
//!   highest with a maximum; when only one of them is known it stands for both; a charging
//!   period without power readings uses its average power (energy / time); a parking or
//!   reservation period without readings has current and power 0. A charging period with no
//!   current reading at all matches no current restriction.
//! - `reservation`: an element with `RESERVATION` prices reservation periods only, an element
//!   without it the session only; `RESERVATION_EXPIRES` elements price a reservation that
//!   expired (no session followed), ahead of the `RESERVATION` ones.
//!
//! Every restriction is evaluated at the start of a slice; the timeline module cuts the
//! usage wherever one of them can change, so the value at the start holds for the whole slice.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use hub_core::ocpi::v221::{
    DayOfWeek, PriceComponent, ReservationRestrictionType, Tariff, TariffDimensionType,
    TariffRestrictions,
};
use rust_decimal::Decimal;

use super::RatingError;
use super::math::{self, NANOS_PER_SECOND, WH_PER_KWH};
use super::usage::PeriodKind;

/// One price component, as used by the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Index of the tariff element it belongs to.
    pub element: usize,
    pub dimension: TariffDimensionType,
    /// Price per unit excl. VAT: per kWh, per hour, or the flat amount.
    pub price: Decimal,
    /// VAT percentage; `None`: no VAT given.
    pub vat: Option<Decimal>,
    /// Wh for `ENERGY`, seconds for `TIME` and `PARKING_TIME`.
    pub step_size: u32,
}

impl Component {
    fn new(element: usize, pc: &PriceComponent) -> Self {
        Self {
            element,
            dimension: pc.r#type,
            price: pc.price,
            vat: pc.vat,
            step_size: pc.step_size,
        }
    }
}

/// Which total a cost belongs to (the CDR's `total_*_cost` fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CostCategory {
    /// `total_fixed_cost`: flat fees of the session ("except fixed price components of parking
    /// and reservation").
    Fixed,
    /// `total_energy_cost`.
    Energy,
    /// `total_time_cost`: charging time.
    Time,
    /// `total_parking_cost`: parking time, "including fixed price components" (a `FLAT` in an
    /// element that otherwise only prices `PARKING_TIME`).
    Parking,
    /// `total_reservation_cost`: everything priced by reservation elements.
    Reservation,
}

/// Index of `FLAT` in per-dimension arrays.
pub(crate) const FLAT: usize = 0;
/// Index of `ENERGY` in per-dimension arrays.
pub(crate) const ENERGY: usize = 1;
/// Index of `TIME` in per-dimension arrays.
pub(crate) const TIME: usize = 2;
/// Index of `PARKING_TIME` in per-dimension arrays.
pub(crate) const PARKING: usize = 3;

/// The index of a dimension in per-dimension arrays.
pub(crate) fn slot(dimension: TariffDimensionType) -> usize {
    match dimension {
        TariffDimensionType::Flat => FLAT,
        TariffDimensionType::Energy => ENERGY,
        TariffDimensionType::Time => TIME,
        TariffDimensionType::ParkingTime => PARKING,
    }
}

/// The first price component of each dimension in a tariff element, by [`slot`].
pub(crate) type ComponentSet<'a> = [Option<&'a Component>; 4];

#[derive(Debug, Clone)]
pub(crate) struct Element {
    /// The first component of each dimension, by [`slot`].
    pub components: [Option<Component>; 4],
    pub restrictions: Restrictions,
    pub reservation: Option<ReservationRestrictionType>,
    /// Where this element's `FLAT` component is accounted.
    pub flat_category: CostCategory,
}

/// Restrictions of one element, parsed. `None` everywhere means "no restriction".
#[derive(Debug, Clone, Default)]
pub(crate) struct Restrictions {
    start_time: Option<NaiveTime>,
    /// `None` also for `00:00`, which is the end of the day.
    end_time: Option<NaiveTime>,
    /// `end_time` was given (so `start_time == end_time` is an empty window, not no window).
    has_end_time: bool,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    min_wh: Option<Decimal>,
    max_wh: Option<Decimal>,
    min_current: Option<Decimal>,
    max_current: Option<Decimal>,
    min_power: Option<Decimal>,
    max_power: Option<Decimal>,
    min_duration: Option<i64>,
    max_duration: Option<i64>,
    /// Bit `n` set: active on the weekday with `num_days_from_monday() == n`.
    days: Option<u8>,
}

/// What a restriction is evaluated against: the state at the start of a slice.
#[derive(Debug, Clone)]
pub(crate) struct MatchContext {
    /// Local time at the start of the slice (present when the tariff needs it).
    pub local: Option<NaiveDateTime>,
    /// Energy charged in the session before the slice, Wh.
    pub energy_before_wh: Decimal,
    /// Nanoseconds since the session (or reservation) started.
    pub elapsed_nanos: i64,
    pub min_current: Option<Decimal>,
    pub max_current: Option<Decimal>,
    pub min_power: Option<Decimal>,
    pub max_power: Option<Decimal>,
}

impl Restrictions {
    fn parse(index: usize, r: &TariffRestrictions) -> Result<Self, RatingError> {
        let invalid = |field: &'static str, value: &str| RatingError::InvalidRestriction {
            element: index,
            field,
            value: value.to_owned(),
        };
        let time = |field: &'static str, v: &Option<String>| {
            v.as_deref()
                .map(|s| NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| invalid(field, s)))
                .transpose()
        };
        let date = |field: &'static str, v: &Option<String>| {
            v.as_deref()
                .map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| invalid(field, s)))
                .transpose()
        };
        let wh = |v: Option<Decimal>| v.map(|kwh| math::mul(kwh, WH_PER_KWH)).transpose();
        let nanos = |v: Option<u32>| v.map(|s| i64::from(s) * NANOS_PER_SECOND);
        let end_time = time("end_time", &r.end_time)?;
        let days = r
            .day_of_week
            .as_deref()
            .filter(|days| !days.is_empty())
            .map(|days| days.iter().fold(0u8, |bits, d| bits | 1 << day_index(*d)));
        Ok(Self {
            start_time: time("start_time", &r.start_time)?,
            end_time: end_time.filter(|t| *t != NaiveTime::MIN),
            has_end_time: end_time.is_some(),
            start_date: date("start_date", &r.start_date)?,
            end_date: date("end_date", &r.end_date)?,
            min_wh: wh(r.min_kwh)?,
            max_wh: wh(r.max_kwh)?,
            min_current: r.min_current,
            max_current: r.max_current,
            min_power: r.min_power,
            max_power: r.max_power,
            min_duration: nanos(r.min_duration),
            max_duration: nanos(r.max_duration),
            days,
        })
    }

    fn uses_local_time(&self) -> bool {
        self.start_time.is_some()
            || self.has_end_time
            || self.start_date.is_some()
            || self.end_date.is_some()
            || self.days.is_some()
    }

    /// Whether all restrictions hold in `ctx`.
    pub(crate) fn matches(&self, ctx: &MatchContext) -> bool {
        self.matches_local(ctx.local)
            && self.min_wh.is_none_or(|min| ctx.energy_before_wh >= min)
            && self.max_wh.is_none_or(|max| ctx.energy_before_wh < max)
            && self.min_duration.is_none_or(|min| ctx.elapsed_nanos >= min)
            && self.max_duration.is_none_or(|max| ctx.elapsed_nanos < max)
            && at_least(self.min_current, ctx.min_current.or(ctx.max_current))
            && below(self.max_current, ctx.max_current.or(ctx.min_current))
            && at_least(self.min_power, ctx.min_power.or(ctx.max_power))
            && below(self.max_power, ctx.max_power.or(ctx.min_power))
    }

    fn matches_local(&self, local: Option<NaiveDateTime>) -> bool {
        if !self.uses_local_time() {
            return true;
        }
        let Some(local) = local else {
            return false;
        };
        let (date, time) = (local.date(), local.time());
        let in_window = match (self.start_time, self.end_time) {
            (Some(start), Some(end)) if end < start => time >= start || time < end,
            (start, end) => {
                let empty = self.has_end_time && end.is_some() && start == end;
                !empty && start.is_none_or(|s| time >= s) && end.is_none_or(|e| time < e)
            }
        };
        in_window
            && self.start_date.is_none_or(|d| date >= d)
            && self.end_date.is_none_or(|d| date < d)
            && self
                .days
                .is_none_or(|bits| bits & (1 << date.weekday().num_days_from_monday()) != 0)
    }
}

/// A minimum restriction on a reading: unknown readings do not match.
fn at_least(min: Option<Decimal>, value: Option<Decimal>) -> bool {
    min.is_none_or(|min| value.is_some_and(|v| v >= min))
}

/// A maximum restriction on a reading: unknown readings do not match.
fn below(max: Option<Decimal>, value: Option<Decimal>) -> bool {
    max.is_none_or(|max| value.is_some_and(|v| v < max))
}

fn day_index(d: DayOfWeek) -> u8 {
    match d {
        DayOfWeek::Monday => 0,
        DayOfWeek::Tuesday => 1,
        DayOfWeek::Wednesday => 2,
        DayOfWeek::Thursday => 3,
        DayOfWeek::Friday => 4,
        DayOfWeek::Saturday => 5,
        DayOfWeek::Sunday => 6,
    }
}

/// Where the engine must cut the usage so that every restriction is constant within a slice.
#[derive(Debug, Clone, Default)]
pub(crate) struct Boundaries {
    /// Local times of day where a time window opens or closes (sorted, unique).
    pub times_of_day: Vec<NaiveTime>,
    /// Cut at local midnight (date and weekday restrictions).
    pub midnight: bool,
    /// Durations since the session start, nanoseconds (sorted, unique).
    pub durations: Vec<i64>,
    /// Session energy thresholds, Wh (sorted, unique).
    pub energy_wh: Vec<Decimal>,
}

/// A tariff ready to rate with: see the module documentation.
#[derive(Debug, Clone)]
pub struct CompiledTariff {
    pub(crate) id: String,
    pub(crate) currency: String,
    pub(crate) start_date_time: Option<DateTime<Utc>>,
    pub(crate) end_date_time: Option<DateTime<Utc>>,
    pub(crate) min_price: Option<(Decimal, Option<Decimal>)>,
    pub(crate) max_price: Option<(Decimal, Option<Decimal>)>,
    pub(crate) elements: Vec<Element>,
    pub(crate) boundaries: Boundaries,
}

impl CompiledTariff {
    /// Reads a tariff. Fails only on a restriction value that cannot be interpreted.
    pub fn new(tariff: &Tariff) -> Result<Self, RatingError> {
        let mut elements = Vec::with_capacity(tariff.elements.len());
        let mut boundaries = Boundaries::default();
        for (index, el) in tariff.elements.iter().enumerate() {
            let mut components: [Option<Component>; 4] = Default::default();
            for pc in &el.price_components {
                let s = &mut components[slot(pc.r#type)];
                if s.is_none() {
                    *s = Some(Component::new(index, pc));
                }
            }
            let restrictions = match &el.restrictions {
                Some(r) => Restrictions::parse(index, r)?,
                None => Restrictions::default(),
            };
            boundaries.add(&restrictions);
            let reservation = el.restrictions.as_ref().and_then(|r| r.reservation);
            let parking_only = components[PARKING].is_some()
                && components[ENERGY].is_none()
                && components[TIME].is_none();
            let flat_category = if reservation.is_some() {
                CostCategory::Reservation
            } else if parking_only {
                CostCategory::Parking
            } else {
                CostCategory::Fixed
            };
            elements.push(Element {
                components,
                restrictions,
                reservation,
                flat_category,
            });
        }
        boundaries.times_of_day.sort();
        boundaries.times_of_day.dedup();
        boundaries.durations.sort();
        boundaries.durations.dedup();
        boundaries.energy_wh.sort();
        boundaries.energy_wh.dedup();
        let price =
            |p: &Option<hub_core::ocpi::v221::Price>| p.as_ref().map(|p| (p.excl_vat, p.incl_vat));
        Ok(Self {
            id: tariff.id.clone(),
            currency: tariff.currency.clone(),
            start_date_time: tariff.start_date_time.as_ref().map(|d| d.utc()),
            end_date_time: tariff.end_date_time.as_ref().map(|d| d.utc()),
            min_price: price(&tariff.min_price),
            max_price: price(&tariff.max_price),
            elements,
            boundaries,
        })
    }

    /// The tariff's `id`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The tariff's `currency`.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// Whether some restriction depends on local time or date, so that the time zone matters.
    pub fn needs_local_time(&self) -> bool {
        !self.boundaries.times_of_day.is_empty() || self.boundaries.midnight
    }

    /// Whether the tariff may be used for a session that starts at `at`: `start_date_time`
    /// inclusive, `end_date_time` too ("The time after which this tariff is no longer valid").
    pub fn is_valid_at(&self, at: DateTime<Utc>) -> bool {
        self.start_date_time.is_none_or(|s| at >= s) && self.end_date_time.is_none_or(|e| at <= e)
    }

    /// The price components that apply to a slice of `kind` in `ctx`: per dimension, the
    /// component of the first element (in tariff order) that has one, is meant for this kind
    /// of period, and whose restrictions all match. Only the dimensions in `wanted` (by
    /// [`slot`]) are looked up.
    pub(crate) fn select(
        &self,
        kind: PeriodKind,
        reservation_expired: bool,
        wanted: [bool; 4],
        ctx: &MatchContext,
    ) -> ComponentSet<'_> {
        let mut chosen: ComponentSet<'_> = [None; 4];
        let passes: &[Option<ReservationRestrictionType>] = match kind {
            PeriodKind::Charging | PeriodKind::Parking => &[None],
            PeriodKind::Reservation if reservation_expired => &[
                Some(ReservationRestrictionType::ReservationExpires),
                Some(ReservationRestrictionType::Reservation),
            ],
            PeriodKind::Reservation => &[Some(ReservationRestrictionType::Reservation)],
        };
        for &class in passes {
            for el in self.elements.iter().filter(|el| el.reservation == class) {
                let useful =
                    (0..4).any(|i| wanted[i] && chosen[i].is_none() && el.components[i].is_some());
                if !useful || !el.restrictions.matches(ctx) {
                    continue;
                }
                for i in 0..4 {
                    if wanted[i] && chosen[i].is_none() {
                        chosen[i] = el.components[i].as_ref();
                    }
                }
                if (0..4).all(|i| !wanted[i] || chosen[i].is_some()) {
                    return chosen;
                }
            }
        }
        chosen
    }

    /// The category a `FLAT` component of element `index` is accounted in.
    pub(crate) fn flat_category(&self, element: usize) -> CostCategory {
        self.elements
            .get(element)
            .map_or(CostCategory::Fixed, |el| el.flat_category)
    }
}

impl Boundaries {
    fn add(&mut self, r: &Restrictions) {
        self.times_of_day.extend(r.start_time);
        if r.has_end_time {
            self.times_of_day.push(r.end_time.unwrap_or(NaiveTime::MIN));
        }
        self.midnight |= r.start_date.is_some() || r.end_date.is_some() || r.days.is_some();
        self.durations.extend(r.min_duration);
        self.durations.extend(r.max_duration);
        self.energy_wh.extend(r.min_wh);
        self.energy_wh.extend(r.max_wh);
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn restrictions(json: serde_json::Value) -> Restrictions {
        let r: TariffRestrictions = serde_json::from_value(json).unwrap();
        Restrictions::parse(0, &r).unwrap()
    }

    fn ctx_at(local: &str) -> MatchContext {
        MatchContext {
            local: Some(NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap()),
            energy_before_wh: Decimal::ZERO,
            elapsed_nanos: 0,
            min_current: None,
            max_current: None,
            min_power: None,
            max_power: None,
        }
    }

    #[test]
    fn time_window_plain_wrapping_and_end_of_day() {
        let day = restrictions(serde_json::json!({"start_time": "09:00", "end_time": "18:00"}));
        assert!(!day.matches(&ctx_at("2024-01-01 08:59")));
        assert!(day.matches(&ctx_at("2024-01-01 09:00")));
        assert!(day.matches(&ctx_at("2024-01-01 17:59")));
        assert!(!day.matches(&ctx_at("2024-01-01 18:00")));

        let night = restrictions(serde_json::json!({"start_time": "22:00", "end_time": "06:00"}));
        assert!(night.matches(&ctx_at("2024-01-01 23:30")));
        assert!(night.matches(&ctx_at("2024-01-02 00:00")));
        assert!(night.matches(&ctx_at("2024-01-02 05:59")));
        assert!(!night.matches(&ctx_at("2024-01-02 06:00")));
        assert!(!night.matches(&ctx_at("2024-01-01 21:59")));

        let evening = restrictions(serde_json::json!({"start_time": "20:00", "end_time": "00:00"}));
        assert!(evening.matches(&ctx_at("2024-01-01 23:59")));
        assert!(!evening.matches(&ctx_at("2024-01-02 00:00")));
        assert!(!evening.matches(&ctx_at("2024-01-01 19:59")));

        let until_midnight = restrictions(serde_json::json!({"end_time": "00:00"}));
        assert!(until_midnight.matches(&ctx_at("2024-01-01 00:00")));
        assert!(until_midnight.matches(&ctx_at("2024-01-01 23:59")));

        let whole_day =
            restrictions(serde_json::json!({"start_time": "00:00", "end_time": "00:00"}));
        assert!(whole_day.matches(&ctx_at("2024-01-01 12:00")));

        let empty = restrictions(serde_json::json!({"start_time": "08:00", "end_time": "08:00"}));
        assert!(!empty.matches(&ctx_at("2024-01-01 08:00")));
        assert!(!empty.matches(&ctx_at("2024-01-01 12:00")));
    }

    #[test]
    fn dates_and_days() {
        let dates =
            restrictions(serde_json::json!({"start_date": "2015-12-24", "end_date": "2015-12-27"}));
        assert!(!dates.matches(&ctx_at("2015-12-23 23:59")));
        assert!(dates.matches(&ctx_at("2015-12-24 00:00")));
        assert!(dates.matches(&ctx_at("2015-12-26 23:59")));
        assert!(!dates.matches(&ctx_at("2015-12-27 00:00")));

        let weekend = restrictions(serde_json::json!({"day_of_week": ["SATURDAY", "SUNDAY"]}));
        assert!(!weekend.matches(&ctx_at("2024-01-05 23:59"))); // Friday
        assert!(weekend.matches(&ctx_at("2024-01-06 00:00"))); // Saturday
        assert!(weekend.matches(&ctx_at("2024-01-07 12:00"))); // Sunday
        assert!(!weekend.matches(&ctx_at("2024-01-08 00:00"))); // Monday

        let none = restrictions(serde_json::json!({"day_of_week": []}));
        assert!(none.matches(&ctx_at("2024-01-08 00:00")));

        let no_local = MatchContext {
            local: None,
            ..ctx_at("2024-01-08 00:00")
        };
        assert!(!weekend.matches(&no_local));
    }

    #[test]
    fn energy_duration_current_power() {
        let mut ctx = ctx_at("2024-01-01 12:00");
        let kwh = restrictions(serde_json::json!({"min_kwh": 20, "max_kwh": 50}));
        ctx.energy_before_wh = dec!(19999.9);
        assert!(!kwh.matches(&ctx));
        ctx.energy_before_wh = dec!(20000);
        assert!(kwh.matches(&ctx));
        ctx.energy_before_wh = dec!(49999.99);
        assert!(kwh.matches(&ctx));
        ctx.energy_before_wh = dec!(50000);
        assert!(!kwh.matches(&ctx));

        let duration =
            restrictions(serde_json::json!({"min_duration": 1800, "max_duration": 3600}));
        ctx.elapsed_nanos = 1_799 * NANOS_PER_SECOND;
        assert!(!duration.matches(&ctx));
        ctx.elapsed_nanos = 1_800 * NANOS_PER_SECOND;
        assert!(duration.matches(&ctx));
        ctx.elapsed_nanos = 3_600 * NANOS_PER_SECOND;
        assert!(!duration.matches(&ctx));

        let current = restrictions(serde_json::json!({"min_current": 5, "max_current": 32}));
        assert!(
            !current.matches(&ctx),
            "no reading matches no current restriction"
        );
        ctx.min_current = Some(dec!(5));
        ctx.max_current = Some(dec!(31.9));
        assert!(current.matches(&ctx));
        ctx.max_current = Some(dec!(32));
        assert!(!current.matches(&ctx), "max_current is exclusive");
        ctx.min_current = Some(dec!(4.9));
        ctx.max_current = Some(dec!(16));
        assert!(
            !current.matches(&ctx),
            "min_current is inclusive of the lowest reading"
        );
        ctx.min_current = None;
        ctx.max_current = Some(dec!(16));
        assert!(current.matches(&ctx), "a single reading stands for both");

        let power = restrictions(serde_json::json!({"min_power": 16, "max_power": 32}));
        ctx.min_power = Some(dec!(16));
        ctx.max_power = Some(dec!(31.99));
        assert!(power.matches(&ctx));
        ctx.max_power = Some(dec!(32));
        assert!(!power.matches(&ctx));
        ctx.min_power = Some(dec!(15));
        ctx.max_power = None;
        assert!(!power.matches(&ctx));
    }
}
