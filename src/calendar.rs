//! Fiscal quarters. A quarter is numbered by `index = 4 x fiscal start year +
//! (quarter - 1)`, so the one before is `index - 1` and sorting by index is
//! chronological; labels (`FY2026-Q2`) are derived from it.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::config::{Config, FiscalYearLabel};

/// The fiscal years `--period` may name: far beyond any CRM's history on
/// both sides, and small enough that no quarter index can overflow.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// A fiscal quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter(pub i32);

impl Quarter {
    /// Calendar year the fiscal year starts in.
    pub fn fiscal_start_year(self) -> i32 {
        self.0.div_euclid(4)
    }

    /// 1-4.
    pub fn number(self) -> i32 {
        self.0.rem_euclid(4) + 1
    }

    /// `FY2026-Q2`, named by the start year (default) or the end year.
    pub fn label(self, config: &Config) -> String {
        format!("FY{}-Q{}", label_year(self.fiscal_start_year(), config), self.number())
    }

    /// Parses a label written with the configured naming (`FY2026-Q2`, any
    /// case). The error completes "--period "..." ": not a label, a year
    /// outside `YEARS`, or a quarter outside 1-4.
    pub fn parse(label: &str, config: &Config) -> Result<Quarter, String> {
        let s = label.trim().to_ascii_uppercase();
        let shape = || "is not a fiscal quarter like FY2026-Q2".to_string();
        let (year, q) = s.strip_prefix("FY").and_then(|rest| rest.split_once("-Q")).ok_or_else(shape)?;
        let digits = |t: &str| {
            let n = t.strip_prefix('-').unwrap_or(t);
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(year) || !digits(q) {
            return Err(shape());
        }
        let within = |t: &str, lo: i32, hi: i32| t.parse::<i32>().ok().filter(|n| (lo..=hi).contains(n));
        let Some(year) = within(year, *YEARS.start(), *YEARS.end()) else {
            return Err(format!("names the year {year} outside {}-{}", YEARS.start(), YEARS.end()));
        };
        let Some(q) = within(q, 1, 4) else {
            return Err(format!("names quarter {q}; a fiscal year has quarters 1-4"));
        };
        let start_year = match config.fiscal_year_label {
            FiscalYearLabel::Start => year,
            FiscalYearLabel::End if config.fiscal_year_start_month == 1 => year,
            FiscalYearLabel::End => year - 1,
        };
        Ok(Quarter(start_year * 4 + q - 1))
    }

    /// First local day of the quarter.
    pub fn start_date(self, config: &Config) -> NaiveDate {
        let month0 = config.fiscal_year_start_month as i32 - 1 + (self.number() - 1) * 3;
        let year = self.fiscal_start_year() + month0 / 12;
        NaiveDate::from_ymd_opt(year, (month0 % 12 + 1) as u32, 1).unwrap_or_default()
    }

    /// First local day after the quarter.
    pub fn end_date(self, config: &Config) -> NaiveDate {
        Quarter(self.0 + 1).start_date(config)
    }

    pub fn prev(self) -> Quarter {
        Quarter(self.0 - 1)
    }
}

fn label_year(start_year: i32, config: &Config) -> i32 {
    match config.fiscal_year_label {
        FiscalYearLabel::Start => start_year,
        FiscalYearLabel::End if config.fiscal_year_start_month == 1 => start_year,
        FiscalYearLabel::End => start_year + 1,
    }
}

/// The quarter index (Int32) of a UTC timestamp expression, in the configured zone.
///
/// Converting every timestamp to local time and reading its year and month
/// costs about 150 ns a value (a time zone lookup each); the quarter starts
/// are few, so they are computed once (`QuarterStarts`) and each timestamp
/// is placed among them by a lookup in a table of 51-day buckets and one
/// comparison (`QuarterStarts::index`; 17M activities: 0.46 s). Where a
/// quarter would start at a local midnight that does not exist or happens
/// twice (a clock change at midnight on the 1st), local time is not
/// monotone there and the exact conversion is used.
pub fn quarter_index(ts: Expr, config: &Config) -> Expr {
    match QuarterStarts::of(config) {
        Some(starts) => starts.index(ts),
        None => quarter_index_by_conversion(ts, config),
    }
}

/// Whether `quarter_index` places timestamps among precomputed quarter
/// starts in `config`'s zone (else it converts each one).
pub fn quarters_by_starts(config: &Config) -> bool {
    QuarterStarts::of(config).is_some()
}

/// The UTC instants (microseconds) at which fiscal quarters start in the
/// configured zone, for the fiscal years `STARTS_YEARS`: every timestamp
/// the contract admits (1970-2099) lies inside, with ten years to spare,
/// and older zone history (a clock change at midnight before 1960) stays
/// out of it.
struct QuarterStarts {
    /// The quarter index of `starts[0]`.
    first: i32,
    starts: Vec<i64>,
}

/// The fiscal years whose quarter starts `QuarterStarts` holds.
const STARTS_YEARS: std::ops::RangeInclusive<i32> = 1959..=2110;

impl QuarterStarts {
    /// None where the zone is not one chrono-tz knows or a quarter starts
    /// at a local midnight that is skipped or repeated.
    fn of(config: &Config) -> Option<QuarterStarts> {
        use chrono::TimeZone as _;
        let tz: chrono_tz::Tz = config.time_zone.parse().ok()?;
        let start = config.fiscal_year_start_month as i32;
        let (first, last) = (STARTS_YEARS.start() * 4, (STARTS_YEARS.end() + 1) * 4);
        let mut starts = Vec::with_capacity((last - first + 1) as usize);
        for index in first..=last {
            // quarter index = 4 x fiscal start year + quarter - 1; its first month
            let months = index.div_euclid(4) * 12 + (start - 1) + index.rem_euclid(4) * 3;
            let (year, month) = (months.div_euclid(12), months.rem_euclid(12) as u32 + 1);
            let midnight = NaiveDate::from_ymd_opt(year, month, 1)?.and_hms_opt(0, 0, 0)?;
            let chrono::LocalResult::Single(at) = tz.from_local_datetime(&midnight) else { return None };
            starts.push(at.timestamp_micros());
        }
        Some(QuarterStarts { first, starts })
    }

    /// The expression placing `ts` among the starts: null outside them.
    /// Time from the first start is cut into buckets of 2^`BUCKET_BITS`
    /// microseconds (about 51 days), shorter than any quarter, so at most
    /// one quarter starts inside a bucket: each bucket's quarter (that of
    /// its first instant) and the next quarter's start are looked up once,
    /// and a timestamp at or after that start is in the next quarter. Ten
    /// operations a value, most on 4-byte values.
    fn index(&self, ts: Expr) -> Expr {
        let us = ts.dt().timestamp(TimeUnit::Microseconds);
        let (quarters, next) = self.buckets();
        let origin = self.starts[0];
        // negative (before the first start) or past the buckets: null
        let bucket = (us.clone() - lit(origin)).floor_div(lit(1i64 << BUCKET_BITS)).cast(IDX_DTYPE);
        let quarter = crate::ids::taken_at(quarters, bucket.clone());
        let next = crate::ids::taken_at(next, bucket);
        let k = quarter + us.gt_eq(next).cast(DataType::Int32);
        // the last start ends the quarters it holds
        let past = self.first + self.starts.len() as i32 - 1;
        when(k.clone().lt(lit(past))).then(k).otherwise(lit(NULL).cast(DataType::Int32))
    }

    /// Per bucket (see `index`): the quarter index its first instant lies
    /// in and the start of the quarter after it (null from the last start on).
    fn buckets(&self) -> (Series, Series) {
        let origin = self.starts[0];
        let last = self.starts[self.starts.len() - 1];
        let count = ((last - origin) >> BUCKET_BITS) + 1;
        let (mut quarters, mut next) = (Vec::with_capacity(count as usize), Vec::with_capacity(count as usize));
        let mut k = 0;
        for b in 0..count {
            let at = origin + (b << BUCKET_BITS);
            while k + 1 < self.starts.len() && self.starts[k + 1] <= at {
                k += 1;
            }
            let inside = k + 1 < self.starts.len();
            quarters.push(inside.then_some(self.first + k as i32));
            next.push(inside.then(|| self.starts[k + 1]));
        }
        (Series::new("__bucket_quarter".into(), quarters), Series::new("__bucket_next".into(), next))
    }
}

/// The width of `QuarterStarts::index`'s buckets: 2^42 microseconds, about
/// 51 days (a quarter lasts 89 days and 23 hours at the least).
const BUCKET_BITS: u32 = 42;

/// `quarter_index` by converting each timestamp to local time.
pub fn quarter_index_by_conversion(ts: Expr, config: &Config) -> Expr {
    let zone = TimeZone::opt_try_new(Some(config.time_zone.as_str())).ok().flatten().unwrap_or(TimeZone::UTC);
    let local = ts.dt().convert_time_zone(zone);
    let year = local.clone().dt().year().cast(DataType::Int32);
    let month = local.dt().month().cast(DataType::Int32);
    let start = lit(config.fiscal_year_start_month as i32);
    let fy = when(month.clone().gt_eq(start.clone())).then(year.clone()).otherwise(year - lit(1));
    let q = ((month - start + lit(12)) % lit(12)) / lit(3);
    (fy * lit(4) + q).cast(DataType::Int32)
}

/// The label expression (`FY2026-Q2`) of a quarter index expression.
pub fn quarter_label(index: Expr, config: &Config) -> Expr {
    let shift = match config.fiscal_year_label {
        FiscalYearLabel::End if config.fiscal_year_start_month != 1 => 1,
        _ => 0,
    };
    let year = index.clone().floor_div(lit(4)) + lit(shift);
    let q = index % lit(4) + lit(1);
    concat_str(
        [lit("FY"), year.cast(DataType::String), lit("-Q"), q.cast(DataType::String)],
        "",
        false,
    )
}

/// Cumulative business seconds from 1970-01-01 (local) to the UTC timestamp
/// `ts`: whole business days before its local date x 86,400, plus the time
/// into its day when that day is a business day. Business days are Monday to
/// Friday outside the configured holidays. The business time elapsed between
/// two moments is the difference of their values.
pub fn business_seconds(ts: Expr, config: &Config) -> Expr {
    let zone = TimeZone::opt_try_new(Some(config.time_zone.as_str())).ok().flatten().unwrap_or(TimeZone::UTC);
    let local = ts.dt().convert_time_zone(zone).dt().replace_time_zone(None, lit("raise"), NonExistent::Raise);
    // one chunk: business_day_count with holidays counts wrongly over several
    // (Polars' multi-threaded reader leaves several)
    let date = local.clone().dt().date().rechunk();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let mut days: Vec<i32> = config.holiday_dates().iter().map(|d| (*d - epoch).num_days() as i32).collect();
    days.sort_unstable();
    days.dedup();
    let holidays = || {
        let s = Series::new("holidays".into(), days.clone()).cast(&DataType::Date).unwrap_or_else(|_| Series::new_empty("holidays".into(), &DataType::Date));
        lit(s).implode(true)
    };
    let week = [true, true, true, true, true, false, false];
    let epoch_lit = lit(0i32).cast(DataType::Date);
    let whole_days = polars::lazy::dsl::functions::business_day_count(epoch_lit, date.clone(), week, holidays()).cast(DataType::Float64);
    let is_business = date.clone().dt().is_business_day(week, holidays());
    let midnight = date.cast(DataType::Datetime(TimeUnit::Microseconds, None));
    let into_day = (local - midnight).dt().total_microseconds(false).cast(DataType::Float64) / lit(1_000_000.0);
    whole_days * lit(86_400.0) + when(is_business).then(into_day).otherwise(lit(0.0))
}

/// The span of quarters in the data: first and last quarter holding any
/// event timestamp, and the last complete one (its last day is on or before
/// the last event's local date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub first: Quarter,
    pub last: Quarter,
    pub last_complete: Option<Quarter>,
    /// The last event's timestamp (UTC microseconds).
    pub last_event: Option<i64>,
    /// The last event's local date (configured zone).
    pub last_date: chrono::NaiveDate,
}

impl Span {
    /// Days of quarter `q` the data covers: every day of a quarter before
    /// the last; for the last, from its start to the last event's local date,
    /// inclusive (METRICS.md, Conventions).
    pub fn days_covered(&self, q: Quarter, config: &Config) -> i64 {
        let full = (q.end_date(config) - q.start_date(config)).num_days();
        if q < self.last {
            full
        } else {
            ((self.last_date - q.start_date(config)).num_days() + 1).clamp(0, full)
        }
    }

    /// Whether the data covers every day of quarter `q`.
    pub fn is_complete(&self, q: Quarter, config: &Config) -> bool {
        self.days_covered(q, config) == (q.end_date(config) - q.start_date(config)).num_days()
    }
}
