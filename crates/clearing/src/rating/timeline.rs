//! Cutting a [`Usage`] into [`Slice`]s within which no restriction of the tariff can change, so
//! that evaluating the restrictions at the start of a slice is exact for all of it.
//!
//! A usage period is cut:
//! - where the UTC offset of the time zone changes (DST), and at every local time of day where a
//!   `start_time`/`end_time` window opens or closes, and at local midnight when an element has
//!   date or weekday restrictions — computed per stretch of constant offset, so a DST jump that
//!   skips or repeats a boundary is handled;
//! - at every `min_duration`/`max_duration` after the start of the session;
//! - where the session's energy crosses a `min_kwh`/`max_kwh` threshold: energy within a period
//!   is taken to flow at a constant rate, so the moment is interpolated, and the energy on
//!   either side of the cut is exact (the threshold is reached exactly at the cut).
//!
//! A CDR from a CPO that follows the spec ("A CPO SHALL at least start (and add) a
//! ChargingPeriod every moment/event that has relevance for the total costs") is already cut
//! at these moments, and then this changes nothing. For a coarser CDR, or a usage built from
//! meter values, it makes the price independent of where the periods happen to be cut.

use chrono::{DateTime, Days, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::RatingError;
use super::math;
use super::tariff::{CompiledTariff, MatchContext};
use super::usage::{PeriodKind, Usage, UsagePeriod};

/// A piece of a usage period within which every restriction is constant.
#[derive(Debug, Clone)]
pub(crate) struct Slice {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: PeriodKind,
    /// Energy transferred during the slice, Wh.
    pub energy_wh: Decimal,
    /// The restriction context at the start of the slice.
    pub ctx: MatchContext,
}

impl Slice {
    pub fn nanos(&self) -> Result<i64, RatingError> {
        math::nanos(self.end - self.start)
    }
}

/// Cuts `usage` into slices (see the module documentation). `usage` must be valid.
pub(crate) fn slices(
    usage: &Usage,
    tariff: &CompiledTariff,
    tz: Tz,
) -> Result<Vec<Slice>, RatingError> {
    let session_start = usage.session_start();
    let reservation_start = usage.reservation_start();
    let local_time = tariff.needs_local_time();
    let b = &tariff.boundaries;
    let mut out = Vec::with_capacity(usage.periods.len());
    let mut energy_before = Decimal::ZERO;
    let mut cuts: Vec<DateTime<Utc>> = Vec::new();
    for period in &usage.periods {
        let origin = match period.kind {
            PeriodKind::Reservation => reservation_start,
            PeriodKind::Charging | PeriodKind::Parking => session_start,
        }
        .unwrap_or(period.start);

        cuts.clear();
        if period.end > period.start {
            if local_time {
                local_cuts(
                    period.start,
                    period.end,
                    tz,
                    &b.times_of_day,
                    b.midnight,
                    &mut cuts,
                )?;
            }
            for &d in &b.durations {
                let at = origin
                    .checked_add_signed(math::delta(d))
                    .ok_or(RatingError::Overflow)?;
                if period.start < at && at < period.end {
                    cuts.push(at);
                }
            }
            cuts.sort();
            cuts.dedup();
        }

        let readings = Readings::of(period)?;
        let total = math::nanos(period.end - period.start)?;
        let energy = if period.kind == PeriodKind::Reservation {
            Decimal::ZERO
        } else {
            period.energy_wh
        };
        let mut piece_start = period.start;
        let mut energy_left = energy;
        for i in 0..=cuts.len() {
            let piece_end = cuts.get(i).copied().unwrap_or(period.end);
            let piece_energy = if i == cuts.len() {
                energy_left
            } else {
                let n = math::nanos(piece_end - piece_start)?;
                math::div(math::mul(energy, Decimal::from(n))?, Decimal::from(total))?
            };
            energy_left = math::sub(energy_left, piece_energy)?;
            let piece = Piece {
                start: piece_start,
                end: piece_end,
                energy_wh: piece_energy,
            };
            let thresholds: &[Decimal] = if period.kind == PeriodKind::Reservation {
                &[]
            } else {
                &b.energy_wh
            };
            for part in piece.split_at_energy(energy_before, thresholds)? {
                out.push(Slice {
                    start: part.start,
                    end: part.end,
                    kind: period.kind,
                    energy_wh: part.energy_wh,
                    ctx: MatchContext {
                        local: local_time.then(|| part.start.with_timezone(&tz).naive_local()),
                        energy_before_wh: energy_before,
                        elapsed_nanos: math::nanos(part.start - origin)?,
                        min_current: readings.min_current,
                        max_current: readings.max_current,
                        min_power: readings.min_power,
                        max_power: readings.max_power,
                    },
                });
                energy_before = math::add(energy_before, part.energy_wh)?;
            }
            piece_start = piece_end;
        }
    }
    Ok(out)
}

/// The current and power readings restrictions see for a period.
struct Readings {
    min_current: Option<Decimal>,
    max_current: Option<Decimal>,
    min_power: Option<Decimal>,
    max_power: Option<Decimal>,
}

impl Readings {
    fn of(p: &UsagePeriod) -> Result<Self, RatingError> {
        let mut r = Readings {
            min_current: p.min_current,
            max_current: p.max_current,
            min_power: p.min_power,
            max_power: p.max_power,
        };
        match p.kind {
            PeriodKind::Parking | PeriodKind::Reservation => {
                // Not charging: no current and no power, unless readings say otherwise.
                if r.min_current.is_none() && r.max_current.is_none() {
                    r.min_current = Some(Decimal::ZERO);
                    r.max_current = Some(Decimal::ZERO);
                }
                if r.min_power.is_none() && r.max_power.is_none() {
                    r.min_power = Some(Decimal::ZERO);
                    r.max_power = Some(Decimal::ZERO);
                }
            }
            PeriodKind::Charging => {
                let n = math::nanos(p.end - p.start)?;
                if r.min_power.is_none() && r.max_power.is_none() && n > 0 {
                    // Average power: kW = Wh * 3600e9 / (1000 * ns).
                    let avg = math::div(
                        math::mul(p.energy_wh, Decimal::from(3_600_000_000_i64))?,
                        Decimal::from(n),
                    )?;
                    r.min_power = Some(avg);
                    r.max_power = Some(avg);
                }
            }
        }
        Ok(r)
    }
}

/// A stretch of a period with its energy, before the energy thresholds are applied.
struct Piece {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    energy_wh: Decimal,
}

impl Piece {
    /// Cuts the piece where the session energy, `before` at its start, crosses one of the
    /// sorted `thresholds`.
    fn split_at_energy(
        self,
        before: Decimal,
        thresholds: &[Decimal],
    ) -> Result<Vec<Piece>, RatingError> {
        let after = math::add(before, self.energy_wh)?;
        let crossed = |t: &&Decimal| before < **t && **t < after;
        if self.energy_wh <= Decimal::ZERO || !thresholds.iter().any(|t| crossed(&t)) {
            return Ok(vec![self]);
        }
        let total_nanos = math::nanos(self.end - self.start)?;
        let mut parts = Vec::new();
        let mut start = self.start;
        let mut at_energy = before;
        for &t in thresholds.iter().filter(crossed) {
            // Constant rate: the threshold is reached after (t - before) / energy of the time.
            let offset = math::div(
                math::mul(math::sub(t, before)?, Decimal::from(total_nanos))?,
                self.energy_wh,
            )?
            .round();
            let offset = i64::try_from(offset).map_err(|_| RatingError::Overflow)?;
            let end = self
                .start
                .checked_add_signed(math::delta(offset))
                .ok_or(RatingError::Overflow)?
                .max(start);
            parts.push(Piece {
                start,
                end,
                energy_wh: math::sub(t, at_energy)?,
            });
            start = end;
            at_energy = t;
        }
        parts.push(Piece {
            start,
            end: self.end,
            energy_wh: math::sub(after, at_energy)?,
        });
        Ok(parts)
    }
}

/// The UTC offset of `tz` at `at`, in seconds.
fn offset_seconds(tz: Tz, at: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The first instant in `(from, until]` where the UTC offset differs from `offset`, if any.
/// Offsets change at most once a day in every time zone, so checking the end of each day and
/// bisecting the day where it differs finds every change.
fn next_offset_change(
    tz: Tz,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    offset: i32,
) -> Option<DateTime<Utc>> {
    let mut cursor = from;
    while cursor < until {
        let step_end = (cursor + TimeDelta::days(1)).min(until);
        if offset_seconds(tz, step_end) != offset {
            // Bisect on whole seconds: offset changes happen at whole seconds.
            let mut lo = cursor.timestamp();
            let mut hi = step_end.timestamp() + i64::from(step_end.timestamp_subsec_nanos() > 0);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                let mid_at = DateTime::from_timestamp(mid, 0)?;
                if offset_seconds(tz, mid_at) == offset {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            return DateTime::from_timestamp(hi, 0);
        }
        cursor = step_end;
    }
    None
}

/// Pushes onto `out` every instant in `(start, end)` where the offset changes or the local time
/// of day is one of `times` (or midnight, if `midnight`).
fn local_cuts(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: Tz,
    times: &[NaiveTime],
    midnight: bool,
    out: &mut Vec<DateTime<Utc>>,
) -> Result<(), RatingError> {
    let mut chunk_start = start;
    while chunk_start < end {
        let offset = offset_seconds(tz, chunk_start);
        let chunk_end = next_offset_change(tz, chunk_start, end, offset)
            .unwrap_or(end)
            .min(end);
        if chunk_end < end {
            out.push(chunk_end);
        }
        let shift = TimeDelta::seconds(i64::from(offset));
        let local_start: NaiveDateTime = chunk_start.naive_utc() + shift;
        let local_end: NaiveDateTime = chunk_end.naive_utc() + shift;
        let mut date = local_start.date();
        while date <= local_end.date() {
            let mut push = |t: NaiveTime| {
                let at = (date.and_time(t) - shift).and_utc();
                if chunk_start < at && at < chunk_end {
                    out.push(at);
                }
            };
            if midnight {
                push(NaiveTime::MIN);
            }
            for &t in times {
                push(t);
            }
            date = date
                .checked_add_days(Days::new(1))
                .ok_or(RatingError::Overflow)?;
        }
        if chunk_end <= chunk_start {
            break;
        }
        chunk_start = chunk_end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn finds_dst_changes_in_amsterdam() {
        let tz = chrono_tz::Europe::Amsterdam;
        // 2024-03-31 02:00 CET becomes 03:00 CEST, at 01:00 UTC.
        let from = at("2024-03-30T12:34:56.5Z");
        let change = next_offset_change(tz, from, at("2024-04-02T00:00:00Z"), 3600);
        assert_eq!(change, Some(at("2024-03-31T01:00:00Z")));
        // 2024-10-27 03:00 CEST becomes 02:00 CET, at 01:00 UTC.
        let change = next_offset_change(
            tz,
            at("2024-10-26T00:00:00Z"),
            at("2024-10-28T00:00:00Z"),
            7200,
        );
        assert_eq!(change, Some(at("2024-10-27T01:00:00Z")));
        assert_eq!(
            next_offset_change(
                tz,
                at("2024-06-01T00:00:00Z"),
                at("2024-06-05T00:00:00Z"),
                7200
            ),
            None
        );
    }

    #[test]
    fn local_cuts_across_fall_back() {
        let tz = chrono_tz::Europe::Amsterdam;
        let mut out = Vec::new();
        // 00:30 UTC (02:30 CEST) to 02:00 UTC (03:00 CET): local 02:45 happens twice.
        let t = NaiveTime::from_hms_opt(2, 45, 0).unwrap();
        local_cuts(
            at("2024-10-27T00:30:00Z"),
            at("2024-10-27T02:00:00Z"),
            tz,
            &[t],
            true,
            &mut out,
        )
        .unwrap();
        out.sort();
        assert_eq!(
            out,
            vec![
                at("2024-10-27T00:45:00Z"), // 02:45 CEST
                at("2024-10-27T01:00:00Z"), // the offset change
                at("2024-10-27T01:45:00Z"), // 02:45 CET
            ]
        );
    }

    #[test]
    fn local_cuts_at_midnight_and_times() {
        let tz = chrono_tz::Europe::Amsterdam;
        let mut out = Vec::new();
        let times = [
            NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
        ];
        // 2024-06-01 16:00 CEST to 2024-06-02 18:00 CEST.
        local_cuts(
            at("2024-06-01T14:00:00Z"),
            at("2024-06-02T16:00:00Z"),
            tz,
            &times,
            true,
            &mut out,
        )
        .unwrap();
        out.sort();
        assert_eq!(
            out,
            vec![
                at("2024-06-01T15:00:00Z"),
                at("2024-06-01T18:00:00Z"),
                at("2024-06-01T22:00:00Z"),
                at("2024-06-02T15:00:00Z"),
            ]
        );
    }

    #[test]
    fn energy_thresholds_are_reached_exactly_at_the_cut() {
        let piece = Piece {
            start: at("2024-06-01T10:00:00Z"),
            end: at("2024-06-01T11:00:00Z"),
            energy_wh: Decimal::from(20_000),
        };
        let parts = piece
            .split_at_energy(
                Decimal::from(500),
                &[Decimal::from(1000), Decimal::from(50_000)],
            )
            .unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].energy_wh, Decimal::from(500));
        assert_eq!(parts[0].end, at("2024-06-01T10:01:30Z"));
        assert_eq!(parts[1].energy_wh, Decimal::from(19_500));
        assert_eq!(parts[1].end, at("2024-06-01T11:00:00Z"));
    }
}
