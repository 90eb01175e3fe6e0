//! [`RatingError`]: everything that can stop the rating of a session or CDR.

use chrono::{DateTime, Utc};
use hub_core::ocpi::v221::ParseError;

/// Why a session or CDR could not be rated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RatingError {
    /// The tariff JSON is malformed or not a valid OCPI 2.2.1 Tariff.
    #[error("invalid tariff: {0}")]
    InvalidTariff(ParseError),

    /// The CDR JSON is malformed or not a valid OCPI 2.2.1 CDR.
    #[error("invalid CDR: {0}")]
    InvalidCdr(ParseError),

    /// A time zone name that is not in the IANA database.
    #[error("unknown time zone `{0}` (expected an IANA name such as `Europe/Amsterdam`)")]
    UnknownTimeZone(String),

    /// The tariff has restrictions in local time but no time zone was given and none could be
    /// inferred from the country of the location.
    #[error(
        "the tariff has local-time restrictions, so the time zone of the location is needed; \
         none was given and it cannot be inferred from the CDR's country `{country}`"
    )]
    TimeZoneRequired { country: String },

    /// A restriction value that cannot be interpreted (the models validate the format of times
    /// and dates, so this is a value such as `2019-02-30`).
    #[error("tariff element {element}: invalid restriction `{field}` = `{value}`")]
    InvalidRestriction {
        element: usize,
        field: &'static str,
        value: String,
    },

    /// The tariff and the CDR are in different currencies.
    #[error("the tariff is in {tariff} but the CDR is in {cdr}")]
    CurrencyMismatch { tariff: String, cdr: String },

    /// The session started outside the tariff's `start_date_time`..`end_date_time`.
    #[error("tariff `{tariff_id}` is not valid at the start of the session ({session_start})")]
    TariffNotActive {
        tariff_id: String,
        session_start: DateTime<Utc>,
    },

    /// Nothing to rate.
    #[error("the usage has no periods")]
    NoPeriods,

    /// A period that ends before it starts (for a CDR: a charging period that starts after
    /// the next one, or after the CDR's `end_date_time`).
    #[error("period {index} ends ({end}) before it starts ({start})")]
    PeriodEndsBeforeStart {
        index: usize,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },

    /// Two periods of a usage timeline overlap, or are not in chronological order.
    #[error("period {index} starts ({start}) before the previous period ends ({previous_end})")]
    PeriodsOverlap {
        index: usize,
        start: DateTime<Utc>,
        previous_end: DateTime<Utc>,
    },

    /// A number out of the range the engine can compute with (a decimal overflow, or a
    /// duration of centuries).
    #[error("arithmetic overflow while rating")]
    Overflow,

    /// The totals could not be turned into JSON.
    #[error("cannot write the totals as JSON: {0}")]
    Output(String),
}
