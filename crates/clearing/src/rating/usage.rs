//! The normalized usage timeline the engine prices: [`Usage`], a list of [`UsagePeriod`]s, each
//! a span of time that is charging, parking (connected, not charging) or reservation, with the
//! energy transferred and the current and power seen during it.
//!
//! A CDR becomes a usage with [`Usage::from_cdr`]; the OCPP gateway builds one from its meter
//! values to price micro-CPO transactions. Time always comes from the timestamps (a period
//! lasts from its `start` to its `end`); the energy of a period is its own.
//!
//! How a CDR charging period is read (it lasts until the next one starts, the last one until
//! the CDR's `end_date_time`):
//! - `TIME` only: charging; `PARKING_TIME` only: parking; `RESERVATION_TIME` only: reservation.
//! - Several of them (e.g. `TIME` 0.5 and `PARKING_TIME` 0.25 in one period): the period is cut
//!   in that order — reservation, then charging, then parking — each part as long as its
//!   volume; the last part takes whatever time is left, so the parts always fill the period.
//! - None of them: charging when energy was transferred, else parking (the CDR's definition of
//!   parking time: "where the EV was not charging (no energy was transferred between EVSE and
//!   EV)").
//! - `ENERGY` (kWh) goes to the charging part (to the first part when there is none);
//!   without `ENERGY`, `ENERGY_IMPORT` minus `ENERGY_EXPORT` is used.
//! - `MIN_CURRENT`/`MAX_CURRENT`/`MIN_POWER`/`MAX_POWER` (and, as a fallback, the session-only
//!   `CURRENT`/`POWER` averages) go to the charging part, or to the whole period when it is
//!   not split.

use chrono::{DateTime, Utc};
use hub_core::ocpi::v221::{Cdr, CdrDimensionType};
use rust_decimal::Decimal;

use super::RatingError;
use super::math::{self, WH_PER_KWH};

/// What the EVSE was used for during a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodKind {
    /// The EV is charging (or discharging): `TIME` is billed.
    Charging,
    /// The EV is connected but not charging: `PARKING_TIME` is billed.
    Parking,
    /// The EVSE is reserved and not yet in use: billed by the tariff elements with a
    /// `reservation` restriction, as reservation cost.
    Reservation,
}

/// One span of a usage timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct UsagePeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: PeriodKind,
    /// Energy transferred during the period, in Wh (negative: fed back to the grid).
    pub energy_wh: Decimal,
    /// Lowest current during the period, in A, summed over the phases.
    pub min_current: Option<Decimal>,
    /// Highest current during the period, in A, summed over the phases.
    pub max_current: Option<Decimal>,
    /// Lowest power during the period, in kW.
    pub min_power: Option<Decimal>,
    /// Highest power during the period, in kW.
    pub max_power: Option<Decimal>,
}

impl UsagePeriod {
    /// A period of `kind` without energy and without current or power readings.
    pub fn new(kind: PeriodKind, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            start,
            end,
            kind,
            energy_wh: Decimal::ZERO,
            min_current: None,
            max_current: None,
            min_power: None,
            max_power: None,
        }
    }

    /// A charging period that transferred `energy_wh`.
    pub fn charging(start: DateTime<Utc>, end: DateTime<Utc>, energy_wh: Decimal) -> Self {
        Self {
            energy_wh,
            ..Self::new(PeriodKind::Charging, start, end)
        }
    }

    /// A parking period (connected, not charging).
    pub fn parking(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self::new(PeriodKind::Parking, start, end)
    }

    /// A reservation period.
    pub fn reservation(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self::new(PeriodKind::Reservation, start, end)
    }

    /// With the lowest and highest current (A, summed over the phases).
    pub fn with_current(mut self, min: Option<Decimal>, max: Option<Decimal>) -> Self {
        self.min_current = min;
        self.max_current = max;
        self
    }

    /// With the lowest and highest power (kW).
    pub fn with_power(mut self, min: Option<Decimal>, max: Option<Decimal>) -> Self {
        self.min_power = min;
        self.max_power = max;
        self
    }
}

/// A session (and the reservation before it, if any) as a chronological list of periods.
/// Periods must not overlap; gaps between them are allowed and are not billed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Usage {
    pub periods: Vec<UsagePeriod>,
}

impl Usage {
    pub fn new(periods: Vec<UsagePeriod>) -> Self {
        Self { periods }
    }

    /// When the session proper started: the start of the first charging or parking period.
    pub fn session_start(&self) -> Option<DateTime<Utc>> {
        self.periods
            .iter()
            .find(|p| p.kind != PeriodKind::Reservation)
            .map(|p| p.start)
    }

    /// When the reservation started: the start of the first reservation period.
    pub fn reservation_start(&self) -> Option<DateTime<Utc>> {
        self.periods
            .iter()
            .find(|p| p.kind == PeriodKind::Reservation)
            .map(|p| p.start)
    }

    /// A reservation that expired: there was a reservation and no session followed it
    /// (`RESERVATION_EXPIRES` tariff elements apply).
    pub fn reservation_expired(&self) -> bool {
        self.reservation_start().is_some() && self.session_start().is_none()
    }

    /// Checks that the periods are in order, do not overlap, and none ends before it starts.
    pub fn validate(&self) -> Result<(), RatingError> {
        if self.periods.is_empty() {
            return Err(RatingError::NoPeriods);
        }
        let mut previous_end: Option<DateTime<Utc>> = None;
        for (index, p) in self.periods.iter().enumerate() {
            if p.end < p.start {
                return Err(RatingError::PeriodEndsBeforeStart {
                    index,
                    start: p.start,
                    end: p.end,
                });
            }
            if let Some(previous_end) = previous_end
                && p.start < previous_end
            {
                return Err(RatingError::PeriodsOverlap {
                    index,
                    start: p.start,
                    previous_end,
                });
            }
            previous_end = Some(p.end);
        }
        Ok(())
    }

    /// The usage a CDR describes: its charging periods, sorted by `start_date_time`, each
    /// lasting until the next one starts and the last one until `end_date_time`; see the
    /// module documentation for how dimensions are read.
    pub fn from_cdr(cdr: &Cdr) -> Result<Self, RatingError> {
        let mut order: Vec<usize> = (0..cdr.charging_periods.len()).collect();
        order.sort_by_key(|&i| cdr.charging_periods[i].start_date_time.utc());
        let mut periods = Vec::with_capacity(order.len());
        for (position, &index) in order.iter().enumerate() {
            let period = &cdr.charging_periods[index];
            let start = period.start_date_time.utc();
            let end = match order.get(position + 1) {
                Some(&next) => cdr.charging_periods[next].start_date_time.utc(),
                None => cdr.end_date_time.utc(),
            };
            if end < start {
                return Err(RatingError::PeriodEndsBeforeStart { index, start, end });
            }
            let dims = Dimensions::read(period.dimensions.iter().map(|d| (d.r#type, d.volume)))?;
            dims.push_periods(start, end, &mut periods)?;
        }
        if periods.is_empty() {
            return Err(RatingError::NoPeriods);
        }
        Ok(Self { periods })
    }
}

/// The dimensions of one CDR charging period, summed (volumes) or combined (extremes).
#[derive(Debug, Default)]
struct Dimensions {
    energy_kwh: Option<Decimal>,
    energy_import_kwh: Option<Decimal>,
    energy_export_kwh: Option<Decimal>,
    time_h: Option<Decimal>,
    parking_h: Option<Decimal>,
    reservation_h: Option<Decimal>,
    min_current: Option<Decimal>,
    max_current: Option<Decimal>,
    current: Option<Decimal>,
    min_power: Option<Decimal>,
    max_power: Option<Decimal>,
    power: Option<Decimal>,
}

fn sum(slot: &mut Option<Decimal>, v: Decimal) -> Result<(), RatingError> {
    *slot = Some(math::add(slot.unwrap_or_default(), v)?);
    Ok(())
}

fn lowest(slot: &mut Option<Decimal>, v: Decimal) {
    *slot = Some(slot.map_or(v, |s| s.min(v)));
}

fn highest(slot: &mut Option<Decimal>, v: Decimal) {
    *slot = Some(slot.map_or(v, |s| s.max(v)));
}

impl Dimensions {
    fn read(dims: impl Iterator<Item = (CdrDimensionType, Decimal)>) -> Result<Self, RatingError> {
        let mut d = Self::default();
        for (kind, v) in dims {
            match kind {
                CdrDimensionType::Energy => sum(&mut d.energy_kwh, v)?,
                CdrDimensionType::EnergyImport => sum(&mut d.energy_import_kwh, v)?,
                CdrDimensionType::EnergyExport => sum(&mut d.energy_export_kwh, v)?,
                CdrDimensionType::Time => sum(&mut d.time_h, v)?,
                CdrDimensionType::ParkingTime => sum(&mut d.parking_h, v)?,
                CdrDimensionType::ReservationTime => sum(&mut d.reservation_h, v)?,
                CdrDimensionType::MinCurrent => lowest(&mut d.min_current, v),
                CdrDimensionType::MaxCurrent => highest(&mut d.max_current, v),
                CdrDimensionType::Current => d.current = Some(v),
                CdrDimensionType::MinPower => lowest(&mut d.min_power, v),
                CdrDimensionType::MaxPower => highest(&mut d.max_power, v),
                CdrDimensionType::Power => d.power = Some(v),
                CdrDimensionType::StateOfCharge => {}
            }
        }
        Ok(d)
    }

    fn energy_wh(&self) -> Result<Decimal, RatingError> {
        let kwh = match (
            self.energy_kwh,
            self.energy_import_kwh,
            self.energy_export_kwh,
        ) {
            (Some(e), _, _) => e,
            (None, None, None) => Decimal::ZERO,
            (None, import, export) => {
                math::sub(import.unwrap_or_default(), export.unwrap_or_default())?
            }
        };
        math::mul(kwh, WH_PER_KWH)
    }

    /// Appends the usage periods of one CDR charging period spanning `start..end`.
    fn push_periods(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        out: &mut Vec<UsagePeriod>,
    ) -> Result<(), RatingError> {
        let energy_wh = self.energy_wh()?;
        let mut parts: Vec<(PeriodKind, Decimal)> = [
            (PeriodKind::Reservation, self.reservation_h),
            (PeriodKind::Charging, self.time_h),
            (PeriodKind::Parking, self.parking_h),
        ]
        .into_iter()
        .filter_map(|(kind, v)| v.map(|v| (kind, v)))
        .collect();
        if parts.len() > 1 {
            // A zero volume next to a positive one is no part at all.
            parts.retain(|&(_, v)| v > Decimal::ZERO);
        }
        if parts.is_empty() {
            let kind = if energy_wh.is_zero() {
                PeriodKind::Parking
            } else {
                PeriodKind::Charging
            };
            parts.push((kind, Decimal::ZERO));
        }
        let energy_part = parts
            .iter()
            .position(|&(k, _)| k == PeriodKind::Charging)
            .unwrap_or(0);
        let whole = parts.len() == 1;
        let last = parts.len() - 1;
        let mut cursor = start;
        for (i, &(kind, volume_h)) in parts.iter().enumerate() {
            let part_end = if i == last {
                end
            } else {
                let n = math::nanos_from_hours(volume_h.max(Decimal::ZERO))?;
                cursor
                    .checked_add_signed(math::delta(n))
                    .ok_or(RatingError::Overflow)?
                    .min(end)
            };
            let mut p = UsagePeriod::new(kind, cursor, part_end);
            if i == energy_part {
                p.energy_wh = energy_wh;
            }
            if whole || kind == PeriodKind::Charging {
                p.min_current = self.min_current.or(self.current);
                p.max_current = self.max_current.or(self.current);
                p.min_power = self.min_power.or(self.power);
                p.max_power = self.max_power.or(self.power);
            }
            out.push(p);
            cursor = part_end;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn split(dims: &[(CdrDimensionType, Decimal)], start: &str, end: &str) -> Vec<UsagePeriod> {
        let d = Dimensions::read(dims.iter().copied()).unwrap();
        let mut out = Vec::new();
        d.push_periods(at(start), at(end), &mut out).unwrap();
        out
    }

    #[test]
    fn time_and_parking_in_one_period_are_cut_charging_first() {
        let out = split(
            &[
                (CdrDimensionType::Energy, dec!(10)),
                (CdrDimensionType::Time, dec!(0.5)),
                (CdrDimensionType::ParkingTime, dec!(0.25)),
                (CdrDimensionType::MaxCurrent, dec!(16)),
            ],
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:45:00Z",
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].kind, PeriodKind::Charging);
        assert_eq!(out[0].end, at("2024-01-01T10:30:00Z"));
        assert_eq!(out[0].energy_wh, dec!(10000));
        assert_eq!(out[0].max_current, Some(dec!(16)));
        assert_eq!(out[1].kind, PeriodKind::Parking);
        assert_eq!(out[1].start, at("2024-01-01T10:30:00Z"));
        assert_eq!(out[1].end, at("2024-01-01T10:45:00Z"));
        assert_eq!(out[1].energy_wh, Decimal::ZERO);
        assert_eq!(out[1].max_current, None);
    }

    #[test]
    fn without_time_dimensions_energy_decides() {
        let charging = split(
            &[(CdrDimensionType::Energy, dec!(1.5))],
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:10:00Z",
        );
        assert_eq!(charging[0].kind, PeriodKind::Charging);
        assert_eq!(charging[0].energy_wh, dec!(1500));
        let parking = split(
            &[(CdrDimensionType::MaxCurrent, dec!(0))],
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:10:00Z",
        );
        assert_eq!(parking[0].kind, PeriodKind::Parking);
        let imported = split(
            &[
                (CdrDimensionType::EnergyImport, dec!(2)),
                (CdrDimensionType::EnergyExport, dec!(0.5)),
            ],
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:10:00Z",
        );
        assert_eq!(imported[0].energy_wh, dec!(1500));
    }

    #[test]
    fn validate_rejects_overlap_and_reversed_periods() {
        let a = at("2024-01-01T10:00:00Z");
        let b = at("2024-01-01T11:00:00Z");
        let c = at("2024-01-01T10:30:00Z");
        assert_eq!(Usage::new(vec![]).validate(), Err(RatingError::NoPeriods));
        assert!(matches!(
            Usage::new(vec![UsagePeriod::parking(b, a)]).validate(),
            Err(RatingError::PeriodEndsBeforeStart { index: 0, .. })
        ));
        assert!(matches!(
            Usage::new(vec![UsagePeriod::parking(a, b), UsagePeriod::parking(c, b)]).validate(),
            Err(RatingError::PeriodsOverlap { index: 1, .. })
        ));
        let gap = Usage::new(vec![UsagePeriod::parking(a, c), UsagePeriod::parking(b, b)]);
        assert_eq!(gap.validate(), Ok(()));
    }
}
