//! The pricing itself: [`CompiledTariff::rate`] turns a usage into cost lines and totals.
//!
//! 1. The usage is cut into slices within which no restriction changes (`timeline`).
//! 2. Each slice gets, per dimension, the price component of the first matching element
//!    (`tariff`) and becomes cost lines: energy × price per kWh, charging time × price per
//!    hour (`TIME`, charging slices), parking time × price per hour (`PARKING_TIME`, parking
//!    slices), reservation time × the reservation elements' `TIME` price. A `FLAT` fee is
//!    charged once per session (the first slice where one applies) and once per reservation.
//! 3. `step_size` (mod_cdrs, "step_size"): applied once per session to the session's total of
//!    a dimension — all of it, including what was not priced — using the step size of the
//!    last price component that priced that dimension; the extra volume is billed at that
//!    component's price, on top of the last slice it priced. For time, one step applies to
//!    charging and parking together: when parking time was priced, the parking total is
//!    rounded (and charging time is not: "step_size is not taken into account when switching
//!    time based paying for charging to paying for parking"); otherwise the charging total.
//!    Reservation time is rounded on its own.
//! 4. VAT per line; the sums per category give the CDR totals; `min_price`/`max_price` bound
//!    `total_cost`, excl. and incl. VAT each on its own; results are rounded to 4 decimals.

use chrono_tz::Tz;
use hub_core::ocpi::v221::TariffDimensionType;
use rust_decimal::Decimal;

use super::RatingError;
use super::math::{self, WH_PER_KWH, round};
use super::tariff::{CompiledTariff, Component, CostCategory, ENERGY, FLAT, PARKING, TIME};
use super::timeline::{self, Slice};
use super::totals::{Amount, CdrTotals, CostLine, Rating};
use super::usage::{PeriodKind, Usage};

fn category_index(c: CostCategory) -> usize {
    match c {
        CostCategory::Fixed => 0,
        CostCategory::Energy => 1,
        CostCategory::Time => 2,
        CostCategory::Parking => 3,
        CostCategory::Reservation => 4,
    }
}

/// The session total of one dimension and the last line that priced it.
#[derive(Debug, Default)]
struct Track {
    /// Wh for energy, nanoseconds for time.
    total: Decimal,
    /// Index of the last line with a positive volume, and its component's step size.
    last: Option<(usize, u32)>,
}

#[derive(Debug, Default)]
struct Accumulator {
    lines: Vec<CostLine>,
    session_flat_done: bool,
    reservation_flat_done: bool,
    energy: Track,
    charging: Track,
    parking: Track,
    reservation: Track,
    /// A component of the category applied (even to a zero volume).
    seen: [bool; 5],
    session_nanos: i64,
    parking_nanos: i64,
}

/// The cost of `excl_vat` with `vat` percent, or with unknown VAT.
fn amount(excl_vat: Decimal, vat: Option<Decimal>) -> Result<Amount, RatingError> {
    let incl_vat = match vat {
        Some(v) => Some(math::with_vat(excl_vat, v)?),
        None if excl_vat.is_zero() => Some(Decimal::ZERO),
        None => None,
    };
    Ok(Amount { excl_vat, incl_vat })
}

impl Accumulator {
    fn push(
        &mut self,
        category: CostCategory,
        c: &Component,
        slice: &Slice,
        volume: Decimal,
        excl_vat: Decimal,
    ) -> Result<usize, RatingError> {
        self.lines.push(CostLine {
            category,
            dimension: c.dimension,
            element: c.element,
            start: slice.start,
            end: slice.end,
            volume,
            unit_price: c.price,
            vat: c.vat,
            step_rounding: false,
            cost: amount(excl_vat, c.vat)?,
        });
        Ok(self.lines.len() - 1)
    }

    fn flat(
        &mut self,
        category: CostCategory,
        c: &Component,
        slice: &Slice,
    ) -> Result<(), RatingError> {
        self.seen[category_index(category)] = true;
        self.push(category, c, slice, Decimal::ONE, c.price)?;
        Ok(())
    }

    /// Prices `nanos` of time of `slice` in `category` and tracks it.
    fn time(
        &mut self,
        category: CostCategory,
        c: Option<&Component>,
        slice: &Slice,
        nanos: i64,
        track: fn(&mut Self) -> &mut Track,
    ) -> Result<(), RatingError> {
        track(self).total = math::add(track(self).total, Decimal::from(nanos))?;
        let Some(c) = c else { return Ok(()) };
        self.seen[category_index(category)] = true;
        if nanos > 0 {
            let cost = math::time_cost(c.price, nanos)?;
            let line = self.push(category, c, slice, math::hours(nanos)?, cost)?;
            track(self).last = Some((line, c.step_size));
        }
        Ok(())
    }

    fn slice(
        &mut self,
        tariff: &CompiledTariff,
        slice: &Slice,
        reservation_expired: bool,
    ) -> Result<(), RatingError> {
        let nanos = slice.nanos()?;
        match slice.kind {
            PeriodKind::Charging | PeriodKind::Parking => {
                let charging = slice.kind == PeriodKind::Charging;
                let mut wanted = [false; 4];
                wanted[FLAT] = !self.session_flat_done;
                wanted[ENERGY] = true;
                wanted[TIME] = charging;
                wanted[PARKING] = !charging;
                let chosen = tariff.select(slice.kind, reservation_expired, wanted, &slice.ctx);

                if let Some(c) = chosen[FLAT] {
                    self.session_flat_done = true;
                    self.flat(tariff.flat_category(c.element), c, slice)?;
                }

                self.session_nanos = self
                    .session_nanos
                    .checked_add(nanos)
                    .ok_or(RatingError::Overflow)?;
                let wh = slice.energy_wh;
                self.energy.total = math::add(self.energy.total, wh)?;
                if let Some(c) = chosen[ENERGY]
                    && (charging || !wh.is_zero())
                {
                    self.seen[category_index(CostCategory::Energy)] = true;
                    if !wh.is_zero() {
                        let cost = math::energy_cost(c.price, wh)?;
                        let kwh = math::div(wh, WH_PER_KWH)?;
                        let line = self.push(CostCategory::Energy, c, slice, kwh, cost)?;
                        if wh > Decimal::ZERO {
                            self.energy.last = Some((line, c.step_size));
                        }
                    }
                }

                if charging {
                    self.time(CostCategory::Time, chosen[TIME], slice, nanos, |a| {
                        &mut a.charging
                    })?;
                } else {
                    self.parking_nanos = self
                        .parking_nanos
                        .checked_add(nanos)
                        .ok_or(RatingError::Overflow)?;
                    self.time(CostCategory::Parking, chosen[PARKING], slice, nanos, |a| {
                        &mut a.parking
                    })?;
                }
            }
            PeriodKind::Reservation => {
                let mut wanted = [false; 4];
                wanted[FLAT] = !self.reservation_flat_done;
                wanted[TIME] = true;
                let chosen = tariff.select(slice.kind, reservation_expired, wanted, &slice.ctx);
                if let Some(c) = chosen[FLAT] {
                    self.reservation_flat_done = true;
                    self.flat(CostCategory::Reservation, c, slice)?;
                }
                self.time(CostCategory::Reservation, chosen[TIME], slice, nanos, |a| {
                    &mut a.reservation
                })?;
            }
        }
        Ok(())
    }

    /// Bills the extra volume of rounding `track`'s total up to the step size of its last
    /// line, at that line's price, as a line of its own.
    fn step(&mut self, which: fn(&Self) -> &Track) -> Result<(), RatingError> {
        let track = which(self);
        let Some((line, step)) = track.last else {
            return Ok(());
        };
        let base = &self.lines[line];
        let (total, volume_per_unit) = match base.dimension {
            // Step size in Wh; volume in kWh.
            TariffDimensionType::Energy => (track.total, WH_PER_KWH),
            // Step size in seconds; volume in hours.
            _ => (
                math::div(track.total, Decimal::from(math::NANOS_PER_SECOND))?,
                Decimal::from(3_600),
            ),
        };
        let billed = math::round_up_to_step(total, step)?;
        let extra = math::sub(billed, total)?;
        if extra <= Decimal::ZERO {
            return Ok(());
        }
        let volume = math::div(extra, volume_per_unit)?;
        // Multiplied first, divided last.
        let excl_vat = math::div(math::mul(extra, base.unit_price)?, volume_per_unit)?;
        let step_line = CostLine {
            start: base.end,
            volume,
            step_rounding: true,
            cost: amount(excl_vat, base.vat)?,
            ..base.clone()
        };
        self.lines.push(step_line);
        Ok(())
    }

    fn finish(mut self, tariff: &CompiledTariff) -> Result<Rating, RatingError> {
        self.step(|a| &a.energy)?;
        if self.parking.last.is_some() {
            self.step(|a| &a.parking)?;
        } else {
            self.step(|a| &a.charging)?;
        }
        self.step(|a| &a.reservation)?;

        let mut sums: [Option<Amount>; 5] = [None; 5];
        for (i, seen) in self.seen.iter().enumerate() {
            if *seen {
                sums[i] = Some(Amount::ZERO);
            }
        }
        for line in &self.lines {
            let sum = sums[category_index(line.category)].get_or_insert(Amount::ZERO);
            *sum = add_amounts(*sum, line.cost)?;
        }
        let mut total = Amount::ZERO;
        for sum in sums.iter().flatten() {
            total = add_amounts(total, *sum)?;
        }
        if let Some((excl, incl)) = tariff.min_price {
            total = bound(total, excl, incl, Decimal::max);
        }
        if let Some((excl, incl)) = tariff.max_price {
            total = bound(total, excl, incl, Decimal::min);
        }
        let get = |c: CostCategory| sums[category_index(c)].map(Amount::to_price);
        let totals = CdrTotals {
            total_cost: total.to_price(),
            total_fixed_cost: get(CostCategory::Fixed),
            total_energy: round(math::div(self.energy.total, WH_PER_KWH)?),
            total_energy_cost: get(CostCategory::Energy),
            total_time: round(math::hours(self.session_nanos)?),
            total_time_cost: get(CostCategory::Time),
            total_parking_time: Some(round(math::hours(self.parking_nanos)?)),
            total_parking_cost: get(CostCategory::Parking),
            total_reservation_cost: get(CostCategory::Reservation),
        };
        Ok(Rating {
            totals,
            lines: self.lines,
        })
    }
}

fn add_amounts(a: Amount, b: Amount) -> Result<Amount, RatingError> {
    Ok(Amount {
        excl_vat: math::add(a.excl_vat, b.excl_vat)?,
        incl_vat: match (a.incl_vat, b.incl_vat) {
            (Some(x), Some(y)) => Some(math::add(x, y)?),
            _ => None,
        },
    })
}

/// Applies a `min_price` (`pick` = max) or `max_price` (`pick` = min) to a total: excl. VAT
/// against the limit's excl. VAT, incl. VAT against its incl. VAT. When the limit changed the
/// amount excl. VAT but has no amount incl. VAT, the total incl. VAT is unknown.
fn bound(
    total: Amount,
    limit_excl: Decimal,
    limit_incl: Option<Decimal>,
    pick: fn(Decimal, Decimal) -> Decimal,
) -> Amount {
    let excl_vat = pick(total.excl_vat, limit_excl);
    let changed = excl_vat != total.excl_vat;
    let incl_vat = match (total.incl_vat, limit_incl) {
        (Some(t), Some(l)) => Some(pick(t, l)),
        (Some(t), None) if !changed => Some(t),
        _ => None,
    };
    Amount { excl_vat, incl_vat }
}

impl CompiledTariff {
    /// Prices `usage` with this tariff, in time zone `tz` (the Location's `time_zone`).
    pub fn rate(&self, usage: &Usage, tz: Tz) -> Result<Rating, RatingError> {
        usage.validate()?;
        let first = usage.periods[0].start;
        if !self.is_valid_at(first) {
            return Err(RatingError::TariffNotActive {
                tariff_id: self.id.clone(),
                session_start: first,
            });
        }
        let slices = timeline::slices(usage, self, tz)?;
        let expired = usage.reservation_expired();
        let mut acc = Accumulator::default();
        for slice in &slices {
            acc.slice(self, slice, expired)?;
        }
        acc.finish(self)
    }
}
