//! Text (or stored Parquet values) -> the contract's types, as Polars
//! expressions. A value that does not parse becomes null here; validation
//! compares against the raw value to name it.

use polars::prelude::*;

use crate::config::Config;
use crate::contract::{ColType, ColumnSpec, TableSpec};
use crate::error::Result;
use crate::findings::{check, Effect};

/// The UTC timestamp type every timestamp column is stored as.
pub fn utc_type() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}

/// Accepted spellings of true and false (compared lower-cased).
pub const TRUE_WORDS: &[&str] = &["true", "t", "yes", "y", "1"];
pub const FALSE_WORDS: &[&str] = &["false", "f", "no", "n", "0"];

/// A left join that keeps the left frame's rows in their order (the
/// metrics, the currency conversion and the mapping's lookups all join so).
pub fn in_order() -> JoinArgs {
    JoinArgs { maintain_order: MaintainOrderJoin::Left, ..JoinArgs::new(JoinType::Left) }
}

pub fn str_list(values: &[&str]) -> Expr {
    let s = Series::new("values".into(), values);
    lit(s).implode(true)
}

/// Lower-cases and folds spaces and hyphens to `_`, so "Online Meeting",
/// "online-meeting" and "ONLINE_MEETING" are one enum value (what Polars'
/// `to_lowercase`, `strip_chars(NULL)` and `replace_all` of the same
/// pattern gave, each distinct value once: `each_distinct`).
pub fn enum_key(e: Expr) -> Expr {
    static SPACES: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| regex::Regex::new(r"[\s\-]+").expect("a valid pattern"));
    each_distinct(e, |v| SPACES.replace_all(v.to_lowercase().trim(), "_").into_owned())
}

/// The most distinct values `each_distinct` remembers in one column (the
/// columns it serves hold a handful: enum spellings, currency codes,
/// industries, true/false, a mapping's mapped values); past it, each value
/// is worked out on its own.
const DISTINCT_MEMO: usize = 1 << 16;

/// Text column `e` with `f` applied to each value, each distinct value
/// worked out once and remembered (`DISTINCT_MEMO`); null stays null.
/// Polars' own lower- and upper-casing allocate a new string for every
/// value (they were 18-21% of the CPU of `validate --mapping hubspot`):
/// these folds of a few distinct values over millions of rows each cost a
/// lookup a row instead. `f` must give what the Polars chain it stands in
/// for gives: std's `to_lowercase` and `to_uppercase` are Polars' own
/// algorithm, std's `trim` its `strip_chars(NULL)`.
pub fn each_distinct(e: Expr, f: fn(&str) -> String) -> Expr {
    each_distinct_or_null(e, move |v| Some(f(v)))
}

/// `each_distinct` for a fold that may give null (None).
pub fn each_distinct_or_null(e: Expr, f: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Expr {
    e.map(
        move |c: Column| {
            let text = c.str()?;
            let mut memo: std::collections::HashMap<&str, Option<String>> = std::collections::HashMap::new();
            let mut out = StringChunkedBuilder::new(text.name().clone(), text.len());
            for value in text.iter() {
                let Some(v) = value else {
                    out.append_null();
                    continue;
                };
                let folded = match memo.get(v) {
                    Some(done) => done.as_deref(),
                    None if memo.len() < DISTINCT_MEMO => memo.entry(v).or_insert_with(|| f(v)).as_deref(),
                    None => {
                        out.append_option(f(v));
                        continue;
                    }
                };
                out.append_option(folded);
            }
            Ok(out.finish().into_column())
        },
        |_, field| Ok(Field::new(field.name().clone(), DataType::String)),
    )
}

/// Parses a column of dtype `stored` into `ty`. `tz` is the configured zone
/// for local (offset-less) timestamps.
pub fn parse_expr(name: &str, ty: ColType, stored: &DataType, tz: &str) -> Expr {
    let c = col(name);
    match (ty, stored) {
        // a column already coded (categorical) stays codes (see `ids`)
        (ColType::Text, DataType::String | DataType::Categorical(..)) => c,
        (ColType::Text, _) => c.cast(DataType::String),
        (ColType::Float, DataType::String) => c.str().strip_chars(lit(NULL)).cast(DataType::Float64),
        (ColType::Float, _) => c.cast(DataType::Float64),
        (ColType::Int, DataType::String) => whole(c.str().strip_chars(lit(NULL)).cast(DataType::Float64)),
        (ColType::Int, _) => whole(c.cast(DataType::Float64)),
        (ColType::Bool, DataType::Boolean) => c,
        (ColType::Bool, _) => {
            let k = each_distinct(c.cast(DataType::String), |v| v.to_lowercase().trim().to_string());
            when(k.clone().is_in(str_list(TRUE_WORDS), false))
                .then(lit(true))
                .when(k.is_in(str_list(FALSE_WORDS), false))
                .then(lit(false))
                .otherwise(lit(NULL).cast(DataType::Boolean))
        }
        (ColType::Enum(values), _) => {
            // most values are already written as the contract spells them;
            // only the others go through lower-casing and the regex
            let raw = c.cast(DataType::String);
            let exact = raw.clone().is_in(str_list(values), false);
            let rest = when(exact.clone()).then(lit(NULL).cast(DataType::String)).otherwise(raw.clone());
            let k = enum_key(rest);
            let folded = when(k.clone().is_in(str_list(values), false)).then(k).otherwise(lit(NULL).cast(DataType::String));
            when(exact).then(raw).otherwise(folded)
        }
        (ColType::Timestamp, DataType::Datetime(_, Some(_))) => {
            c.cast(DataType::Datetime(TimeUnit::Microseconds, None)).dt().convert_time_zone(TimeZone::UTC)
        }
        (ColType::Timestamp, DataType::Date) => local_day_start(c, tz),
        (ColType::Timestamp, DataType::Datetime(_, None)) => {
            local_to_utc(c.cast(DataType::Datetime(TimeUnit::Microseconds, None)), tz)
        }
        (ColType::Timestamp, _) => parse_timestamp(c.cast(DataType::String), tz),
    }
}

/// The common spelling of each type, parsed in one or two cheap operations:
/// canonical timestamps, enum values as the contract spells them, `true` /
/// `false`, plain numbers. Where it gives a value it is the value
/// `parse_expr` gives; a column it leaves values of unparsed goes through
/// `parse_expr` whole. None where there is no such shortcut.
pub fn parse_common_expr(name: &str, ty: ColType, stored: &DataType) -> Option<Expr> {
    if stored != &DataType::String {
        return None;
    }
    let c = col(name);
    match ty {
        ColType::Text => None,
        // the fixed-width forms at any offset, whatever the column's usual one;
        // other values are left to the next tier (see `type_chunk`)
        ColType::Timestamp => Some(fixed_width_timestamp(c)),
        ColType::Enum(values) => Some(when(c.clone().is_in(str_list(values), false)).then(c).otherwise(lit(NULL).cast(DataType::String))),
        ColType::Bool => Some(
            when(c.clone().eq(lit("true")))
                .then(lit(true))
                .when(c.eq(lit("false")))
                .then(lit(false))
                .otherwise(lit(NULL).cast(DataType::Boolean)),
        ),
        ColType::Float => Some(c.cast(DataType::Float64)),
        ColType::Int => Some(whole(c.cast(DataType::Float64))),
    }
}

/// The second try for a timestamp column the canonical form does not read
/// whole: canonical or a bare date at local midnight (the common case of
/// `parse_timestamp`'s bare dates; a midnight a DST change skips is left to
/// the full parser).
pub fn parse_common_or_date_expr(name: &str, tz: &str) -> Expr {
    coalesce(&[canonical_timestamp(col(name)), bare_date(name, tz)])
}

/// A bare date `YYYY-MM-DD` at local midnight, in UTC; null for anything
/// else, and for a midnight a DST change skips (left to the full parser).
fn bare_date(name: &str, tz: &str) -> Expr {
    let date = col(name).str().to_date(StrptimeOptions { format: Some("%Y-%m-%d".into()), strict: false, exact: true, cache: true });
    let tz = tz.to_string();
    date.map(move |dates| local_midnights(dates, &tz), |_, field| Ok(Field::new(field.name().clone(), utc_type())))
}

/// The most days a column of dates may span for `local_midnights` to work
/// out each day of the span once (about 270 years).
const MIDNIGHTS_SPAN: i64 = 100_000;

/// Column `dates` (Date) at local midnight in zone `tz`, in UTC (null where
/// a DST change skips midnight), as `local_to_utc` gives it: worked out
/// once for each day from the column's first to its last and looked up by
/// day, rather than through the zone's rules for every row (expected close
/// dates: 4M rows at scale 1000, a few hundred days). A column spanning
/// more days (a year typo) goes through the zone's rules row by row.
fn local_midnights(dates: Column, tz: &str) -> PolarsResult<Column> {
    let name = dates.name().clone();
    let days = dates.as_materialized_series().to_physical_repr().into_owned();
    let to_utc = |days: Series| -> PolarsResult<Column> {
        let frame = DataFrame::new(days.len(), vec![days.with_name(name.clone()).cast(&DataType::Date)?.into_column()])?;
        let midnight = col(name.clone()).cast(DataType::Datetime(TimeUnit::Microseconds, None));
        Ok(frame.lazy().select([local_to_utc(midnight, tz)]).collect()?.columns()[0].clone())
    };
    let day = days.i32()?;
    // no dates, or too many days to work out each once: row by row
    let (first, last) = match (day.min(), day.max()) {
        (Some(first), Some(last)) if i64::from(last) - i64::from(first) < MIDNIGHTS_SPAN => (first, last),
        _ => return to_utc(days.clone()),
    };
    let span: Int32Chunked = (first..=last).collect_ca(name.clone());
    let midnights = to_utc(span.into_series())?;
    let place = (day - first).cast(&IDX_DTYPE)?;
    midnights.take(place.idx()?)
}

/// Whether the first value of text column `name` of `df` is a bare date
/// (10 bytes): a column of dates (expected close dates) reads them first,
/// rather than trying the canonical form on every value for nothing.
fn usually_bare_date(df: &DataFrame, name: &str) -> bool {
    first_value(df, name, |_| true).is_some_and(|v| v.len() == 10)
}

/// The first of the first 1,000 values of text column `name` of `df` that
/// `pick` takes: a peek, not a pass.
fn first_value<'a>(df: &'a DataFrame, name: &str, pick: impl Fn(&str) -> bool) -> Option<&'a str> {
    df.column(name).ok()?.str().ok()?.iter().take(1000).flatten().find(|v| pick(v))
}

/// A float that is a whole number, as Int64; anything else null.
fn whole(f: Expr) -> Expr {
    when(f.clone().is_finite().and(f.clone().eq(f.clone().floor())))
        .then(f.cast(DataType::Int64))
        .otherwise(lit(NULL).cast(DataType::Int64))
}

fn local_to_utc(naive: Expr, tz: &str) -> Expr {
    // the zone was checked when the config was read
    let zone = TimeZone::opt_try_new(Some(tz)).ok().flatten().unwrap_or(TimeZone::UTC);
    naive
        .dt()
        .replace_time_zone(Some(zone), lit("earliest"), NonExistent::Null)
        .dt()
        .convert_time_zone(TimeZone::UTC)
}

/// The first instant of a local date, in UTC: local midnight, or where a
/// daylight-saving gap swallows midnight (Brazil until 2019, Chile, ...) the
/// first local time that exists after it.
fn local_day_start(date: Expr, tz: &str) -> Expr {
    let midnight = date.cast(DataType::Datetime(TimeUnit::Microseconds, None));
    let candidates: Vec<Expr> = [0i64, 30, 60, 120]
        .iter()
        .map(|m| local_to_utc(midnight.clone() + lit(Duration::parse(&format!("{m}m"))), tz))
        .collect();
    coalesce(&candidates)
}

/// ISO-8601 / RFC 3339 text -> UTC. Accepts `T` or a space between date and
/// time, optional seconds and fraction, `Z`, `+09:00`, `+0900` or `+09`, and
/// a bare date (local midnight). Without an offset the time is local to `tz`.
pub fn parse_timestamp(text: Expr, tz: &str) -> Expr {
    // Most exports write one canonical form, 2026-04-01T09:30:00+09:00:
    // its local part goes through Polars' fast parser and the offset is
    // subtracted as minutes (a format with %z would parse every value with
    // chrono, several times slower); only the other rows go through the
    // normalising chain below.
    let canonical = canonical_timestamp(text.clone());
    let rest = when(canonical.clone().is_null()).then(text).otherwise(lit(NULL).cast(DataType::String));
    // UTC with a Z (Salesforce, HubSpot) next
    let zulu = zulu_timestamp(rest.clone());
    let rest = when(zulu.clone().is_null()).then(rest).otherwise(lit(NULL).cast(DataType::String));
    // bare dates (expected close dates, date-only exports) are the next most common
    let date = rest
        .clone()
        .str()
        .to_date(StrptimeOptions { format: Some("%Y-%m-%d".into()), strict: false, exact: true, cache: true });
    let bare_date = local_day_start(date.clone(), tz);
    let rest = when(date.is_null()).then(rest).otherwise(lit(NULL).cast(DataType::String));
    coalesce(&[canonical, zulu, bare_date, parse_any_timestamp(rest, tz)])
}

/// `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.mmmZ` (20 or 24 bytes,
/// the UTC form Salesforce and HubSpot export) -> UTC; null for any other
/// shape, which the normalising chain of `parse_timestamp` then reads.
/// Each shape goes whole through Polars' fast parser, the `Z` and the
/// milliseconds (`%3f`: three digits) in its format, so nothing is sliced
/// (slicing each value's date and milliseconds out took an eighth of a
/// HubSpot export's load); the chain's eight regex replacements on every
/// value had taken two fifths of a Salesforce export's load.
fn zulu_timestamp(text: Expr) -> Expr {
    let len = text.clone().str().len_bytes();
    let zulu = text.clone().str().ends_with(lit("Z"));
    let read = |bytes: u32, format: &str| micros_where(text.clone(), zulu.clone().and(len.clone().eq(lit(bytes))), format);
    utc_from_micros(coalesce(&[read(24, "%Y-%m-%dT%H:%M:%S.%3fZ"), read(20, "%Y-%m-%dT%H:%M:%SZ")]))
}

/// The three fixed-width ISO-8601 forms nearly every export writes, read
/// in one pass over the text -> UTC: `YYYY-MM-DDTHH:MM:SS+hh:mm` (25 bytes,
/// any offset), `YYYY-MM-DDTHH:MM:SSZ` (20) and `YYYY-MM-DDTHH:MM:SS.mmmZ`
/// (24). Null for any other value, and for a field out of its range (a
/// 30th of February, hour 24, a leap second, an offset past 23:59), which
/// the slower tiers then read as they always did: what this reads, it reads
/// as `canonical_timestamp` and `zulu_timestamp` do (a test and a proptest
/// compare them), without their eight passes and new columns (the
/// shape's length, its end, the text kept where it holds, Polars' parse,
/// the offset's minutes, the sum and two casts; 17M timestamps at scale 1000
/// in the activities alone).
fn fixed_width_timestamp(text: Expr) -> Expr {
    text.map(
        |c: Column| {
            let text = c.str()?;
            let chunks: Vec<Int64Chunked> = text
                .downcast_iter()
                .zip(text.chunks())
                .map(|(arr, chunk)| {
                    let validity = chunk.validity();
                    let micros = arr.views().iter().enumerate().map(|(i, view)| {
                        if view.length < 20 || validity.is_some_and(|m| !m.get_bit(i)) {
                            return None;
                        }
                        // SAFETY: i is below the array's length
                        fixed_width_micros(unsafe { arr.value_unchecked(i) }.as_bytes())
                    });
                    Int64Chunked::from_iter_options(text.name().clone(), micros)
                })
                .collect();
            Ok(crate::ids::one_column(text.name(), chunks).into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)).into_column())
        },
        |_, field| Ok(Field::new(field.name().clone(), utc_type())),
    )
}

/// Microseconds since 1970-01-01 UTC of `v` in one of
/// `fixed_width_timestamp`'s three forms, every field in its range; None
/// for anything else. Straight-line code over fixed places (no loop, no
/// early test a field at a time): 45M timestamps at scale 1000.
#[inline]
fn fixed_width_micros(v: &[u8]) -> Option<i64> {
    if !matches!(v.len(), 20 | 24 | 25) {
        return None;
    }
    let b: &[u8; 20] = v[..20].try_into().ok()?;
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let digit = |c: u8| c.wrapping_sub(b'0');
    // the date's and the time's fourteen digits, checked at once
    let digits = [b[0], b[1], b[2], b[3], b[5], b[6], b[8], b[9], b[11], b[12], b[14], b[15], b[17], b[18]].map(digit);
    if digits.iter().any(|&d| d > 9) {
        return None;
    }
    let two = |i: usize| i64::from(digits[i]) * 10 + i64::from(digits[i + 1]);
    let (year, month, day) = (two(0) * 100 + two(2), two(4), two(6));
    let (hour, minute, second) = (two(8), two(10), two(12));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&month) || day < 1 || day > month_days[month as usize - 1] || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // what follows the seconds: the offset east of UTC in minutes, and milliseconds
    let two_at = |i: usize| -> Option<i64> {
        let (t, u) = (digit(v[i]), digit(v[i + 1]));
        (t <= 9 && u <= 9).then(|| i64::from(t) * 10 + i64::from(u))
    };
    let (east, millis) = match v.len() {
        20 if v[19] == b'Z' => (0, 0),
        24 if v[19] == b'.' && v[23] == b'Z' => {
            let last = digit(v[22]);
            (0, two_at(20)? * 10 + i64::from((last <= 9).then_some(last)?))
        }
        25 if v[22] == b':' => {
            let (hours, minutes) = (two_at(20)?, two_at(23)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            match v[19] {
                b'+' => (hours * 60 + minutes, 0),
                b'-' => (-(hours * 60 + minutes), 0),
                _ => return None,
            }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second - east * 60;
    Some(seconds * 1_000_000 + millis * 1_000)
}

/// Days from 1970-01-01 to the proleptic Gregorian date `year`-`month`-`day`
/// (Howard Hinnant's `days_from_civil`: years counted from March, so the
/// leap day ends a year).
#[inline]
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS+hh:mm` (exactly 25 bytes) -> UTC; null for any other
/// shape. Two slices of the long text; the offset is read from its own short
/// slice (short strings are stored inline, so slicing them is cheap).
fn canonical_timestamp(text: Expr) -> Expr {
    let offset = text.clone().str().slice(lit(19), lit(6u64));
    let part = |start: i64, len: u64| offset.clone().str().slice(lit(start), lit(len));
    let shaped = text.clone().str().len_bytes().eq(lit(25u32)).and(part(3, 1).eq(lit(":")));
    let minutes = part(1, 2).cast(DataType::Int64) * lit(60i64) + part(4, 2).cast(DataType::Int64);
    let sign = part(0, 1);
    let east = when(sign.clone().eq(lit("+")))
        .then(minutes.clone())
        .when(sign.eq(lit("-")))
        .then(lit(0i64) - minutes)
        .otherwise(lit(NULL).cast(DataType::Int64));
    // the date and time, the first 19 bytes
    let local = micros_where(text.str().slice(lit(0), lit(19u64)), shaped.clone(), "%Y-%m-%dT%H:%M:%S");
    let utc = utc_from_micros(local - east * lit(60_000_000i64));
    when(shaped).then(utc).otherwise(lit(NULL).cast(utc_type()))
}

/// `text` read with `format` (a form Polars' fast parser reads whole) as
/// microseconds since 1970, where `shaped` holds, null elsewhere: only
/// values of the shape are parsed, as another value would go to chrono,
/// slowly, for nothing.
fn micros_where(text: Expr, shaped: Expr, format: &str) -> Expr {
    when(shaped)
        .then(text)
        .otherwise(lit(NULL).cast(DataType::String))
        .str()
        .to_datetime(
            Some(TimeUnit::Microseconds),
            None,
            StrptimeOptions { format: Some(format.into()), strict: false, exact: true, cache: false },
            lit("raise"),
        )
        .dt()
        .timestamp(TimeUnit::Microseconds)
}

/// Microseconds since 1970-01-01 UTC as a UTC timestamp.
fn utc_from_micros(micros: Expr) -> Expr {
    micros.cast(DataType::Datetime(TimeUnit::Microseconds, None)).dt().replace_time_zone(Some(TimeZone::UTC), lit("raise"), NonExistent::Raise)
}

/// Whether one of the first values of text column `name` of `df` has the
/// length of a timestamp with a time of day (`fixed_width_timestamp`'s
/// forms): a column of timestamps, even where its first value is a bare
/// date. A peek, not a pass.
fn peeks_timed(df: &DataFrame, name: &str) -> bool {
    first_value(df, name, |v| v.len() == 25 || is_zulu_shape(v)).is_some()
}

/// Whether `v` has the length and the last byte of a UTC timestamp with a
/// `Z`.
fn is_zulu_shape(v: &str) -> bool {
    (v.len() == 20 || v.len() == 24) && v.ends_with('Z')
}

fn parse_any_timestamp(text: Expr, tz: &str) -> Expr {
    let norm = text
        .str()
        .strip_chars(lit(NULL))
        .str()
        .replace(lit(r"^(\d{4}-\d{2}-\d{2})[ T]+"), lit("${1}T"), false)
        .str()
        .replace(lit(r"^(\d{4}-\d{2}-\d{2})$"), lit("${1}T00:00:00"), false)
        .str()
        .replace(lit(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})([^:0-9]|$)"), lit("${1}:00${2}"), false)
        .str()
        .replace(lit(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})([^.0-9]|$)"), lit("${1}.0${2}"), false)
        .str()
        .replace(lit(r"\s*(?:[Zz]|UTC)$"), lit("+00:00"), false)
        .str()
        .replace(lit(r"\s+([+-]\d)"), lit("${1}"), false)
        .str()
        .replace(lit(r"([+-]\d{2})(\d{2})$"), lit("${1}:${2}"), false)
        .str()
        .replace(lit(r"(\.\d+)([+-]\d{2})$"), lit("${1}${2}:00"), false);
    let has_offset = norm.clone().str().contains(lit(r"[+-]\d{2}:\d{2}$"), false);
    let opts = |format: &str| StrptimeOptions {
        format: Some(format.into()),
        strict: false,
        exact: true,
        cache: true,
    };
    let with_offset = norm.clone().str().to_datetime(
        Some(TimeUnit::Microseconds),
        Some(TimeZone::UTC),
        opts("%Y-%m-%dT%H:%M:%S%.f%:z"),
        lit("raise"),
    );
    let naive = norm.str().to_datetime(Some(TimeUnit::Microseconds), None, opts("%Y-%m-%dT%H:%M:%S%.f"), lit("raise"));
    when(has_offset).then(with_offset).otherwise(local_to_utc(naive, tz))
}

/// Timestamps before 1970-01-01 or from 2100-01-01 (UTC) on are out of range.
const EARLIEST_DATE_US: i64 = 0;
const LATEST_DATE_US: i64 = 4_102_444_800_000_000;


/// The column holding `c`'s text as read, while it is typed.
fn raw_name(c: &str) -> String {
    format!("{c}__raw")
}

/// The largest number a column of numbers takes (`too_large` past it):
/// 2^53, the last up to which every whole number is a float of its own.
const LARGEST_EXACT: f64 = 9_007_199_254_740_992.0;

fn type_rule(ty: ColType) -> (&'static str, String) {
    match ty {
        ColType::Timestamp => (
            "not_a_timestamp",
            "not a timestamp (ISO-8601, e.g. 2026-04-01T09:30:00+09:00 or 2026-04-01)".into(),
        ),
        ColType::Float => ("not_a_number", "not a number (use . for decimals, no thousands separators)".into()),
        ColType::Int => ("not_an_integer", "not a whole number".into()),
        ColType::Bool => ("not_a_boolean", "not a boolean (true/false, yes/no, y/n, t/f, 1/0)".into()),
        ColType::Enum(values) => ("unknown_value", format!("not one of {}", values.join(", "))),
        ColType::Text => ("not_text", "not text".into()),
    }
}

/// Types a chunk of raw rows and lists the problems each row has on its
/// own (types, required values, signs, ranges, order of timestamps). Returns
/// the typed rows (raw text dropped) and the findings.
pub fn type_chunk(df: DataFrame, spec: &TableSpec, config: &Config) -> Result<(DataFrame, DataFrame)> {
    let schema = df.schema().clone();
    let stored = |c: &str| schema.get(c).cloned().unwrap_or(DataType::String);
    // the common spelling first (cheap); a column with values it cannot
    // read then goes through the full parser
    let tz = &config.time_zone;
    let mut exprs = Vec::new();
    let mut common = Vec::new(); // the columns read by their common spelling first
    for c in spec.columns {
        exprs.push(col(c.name).alias(raw_name(c.name)));
        let dates = c.ty == ColType::Timestamp && stored(c.name) == DataType::String && !peeks_timed(&df, c.name) && usually_bare_date(&df, c.name);
        let coded = crate::ids::enum_codes_type(spec.name, c.name).filter(|_| stored(c.name) == DataType::String);
        let common_parse = if dates {
            Some(bare_date(c.name, tz))
        } else if let Some(dtype) = coded {
            // a large table's enum read straight into its codes, the contract's spelling
            // found by its view (`ids::encode_enum_or_null`), other values null for the next
            // reading: no text column made only to be coded (activities at scale 1000)
            let out = dtype.clone();
            Some(col(c.name).map(
                move |text| crate::ids::encode_enum_or_null(text.as_materialized_series(), &dtype).map(Column::from),
                move |_, field| Ok(Field::new(field.name().clone(), out.clone())),
            ))
        } else {
            parse_common_expr(c.name, c.ty, &stored(c.name))
        };
        let parse = match common_parse {
            Some(e) => {
                common.push(c);
                e
            }
            None => parse_expr(c.name, c.ty, &stored(c.name), tz),
        };
        exprs.push(parse.alias(c.name));
    }
    let mut typed = df.lazy().with_columns(exprs).collect()?;
    // a column with values its common spelling left unread: timestamps try bare
    // dates at local midnight next, then every such column the full parser
    let date_tier = |c: &ColumnSpec| (c.ty == ColType::Timestamp).then(|| crate::typing::parse_common_or_date_expr(&raw_name(c.name), tz));
    let full_tier = |c: &ColumnSpec| Some(parse_expr(&raw_name(c.name), c.ty, &stored(c.name), tz));
    for tier in [&date_tier as &dyn Fn(&ColumnSpec) -> Option<Expr>, &full_tier] {
        let mut redo = Vec::new();
        for c in &common {
            if typed.column(c.name)?.null_count() > typed.column(&raw_name(c.name))?.null_count() {
                redo.extend(tier(c).map(|e| e.alias(c.name)));
            }
        }
        if !redo.is_empty() {
            typed = typed.lazy().with_columns(redo).collect()?;
        }
    }
    let lf = typed.clone().lazy();
    // each check: (column, value shown, when it fails, rule, detail)
    let mut rules: Vec<(Option<&str>, Expr, Expr, &str, String)> = Vec::new();
    let t = spec.name;
    for c in spec.columns {
        let raw = col(raw_name(c.name));
        if c.required {
            rules.push((Some(c.name), raw.clone(), raw.clone().is_null(), "missing_value", "required value is empty".into()));
        }
        if c.ty != ColType::Text {
            let (rule, detail) = type_rule(c.ty);
            let bad = raw.clone().is_not_null().and(col(c.name).is_null());
            rules.push((Some(c.name), raw.clone(), bad, rule, detail.clone()));
        }
        if matches!(c.ty, ColType::Float) {
            let v = col(c.name);
            rules.push((Some(c.name), raw.clone(), v.clone().is_finite().not(), "non_finite", "not a finite number".into()));
            if !matches!(c.name, "latitude" | "longitude") {
                // past 2^53 a number is not held to the unit, and two near the largest a float
                // holds add up to infinity (which the charts cannot draw): no amount, duration
                // or rate is that large
                let detail = "is larger than 9,007,199,254,740,992 (2^53), beyond which numbers cannot be added up exactly";
                rules.push((Some(c.name), raw.clone(), v.clone().is_finite().and(v.clone().abs().gt(lit(LARGEST_EXACT))), "too_large", detail.into()));
            }
            let (rule, detail) = if c.name == "amount" {
                ("negative_amount", "is negative (amounts must be >= 0)")
            } else {
                ("negative_value", "is negative (must be >= 0)")
            };
            if !matches!(c.name, "latitude" | "longitude") {
                rules.push((Some(c.name), raw.clone(), v.lt(lit(0.0)), rule, detail.into()));
            }
        }
        if matches!(c.ty, ColType::Int) {
            rules.push((Some(c.name), raw.clone(), col(c.name).lt(lit(0)), "negative_value", "is negative (must be >= 0)".into()));
        }
    }
    for r in spec.order_rules {
        let bad = col(r.later).lt(col(r.earlier));
        let detail = format!("{} is before {}", r.later, r.earlier);
        rules.push((Some(r.later), col(raw_name(r.later)), bad, r.rule, detail));
    }
    match t {
        "opportunities" => {
            let closed = col("outcome").is_in(crate::typing::str_list(&["won", "lost"]), false);
            rules.push((Some("closed_at"),
                col("outcome"),
                closed.and(col("closed_at").is_null()).and(col(raw_name("closed_at")).is_null()),
                "closed_without_date",
                "outcome is won or lost but closed_at is empty".into(),
            ));
        }
        "handoffs" => {
            rules.push((Some("sheet_fields_filled"),
                col(raw_name("sheet_fields_filled")),
                col("sheet_fields_filled").gt(col("sheet_fields_total")),
                "sheet_fields_over_total",
                "sheet_fields_filled is more than sheet_fields_total".into(),
            ));
        }
        "exchange_rates" => {
            rules.push((Some("rate"), col(raw_name("rate")), col("rate").lt_eq(lit(0.0)), "out_of_range", "is not above 0 (units of the currency per one unit of the base currency)".into()));
        }
        "accounts" => {
            for (c, lim) in [("latitude", 90.0), ("longitude", 180.0)] {
                rules.push((Some(c),
                    col(raw_name(c)),
                    col(c).abs().gt(lit(lim)),
                    "out_of_range",
                    format!("{c} must be within -{lim}..{lim}"),
                ));
            }
        }
        _ => {}
    }
    // a year typo (0202, 20266) would stretch the review over centuries of empty quarters
    for c in spec.columns.iter().filter(|c| c.ty == ColType::Timestamp) {
        let micros = col(c.name).dt().timestamp(TimeUnit::Microseconds);
        rules.push((
            Some(c.name),
            col(raw_name(c.name)),
            micros.clone().lt(lit(EARLIEST_DATE_US)).or(micros.gt_eq(lit(LATEST_DATE_US))),
            "out_of_range",
            "is before 1970 or after 2099 (a typo in the year?)".into(),
        ));
    }
    // the header line again (two exports pasted into one file): one finding for the row, not one
    // a column; every text cell is its column's name (as headers match: case and _ aside)
    let text_columns: Vec<&ColumnSpec> = spec.columns.iter().filter(|c| stored(c.name) == DataType::String).collect();
    let header_again = if text_columns.len() >= 2 {
        let named = |c: &ColumnSpec| {
            let raw = col(raw_name(c.name));
            let folded = raw.clone().str().strip_chars(lit(NULL)).str().to_lowercase().str().replace_all(lit("_"), lit(""), true);
            raw.is_null().or(folded.eq(lit(crate::contract::normalize_name(c.name))))
        };
        let some_named = text_columns.iter().map(|c| col(raw_name(c.name)).is_not_null()).fold(lit(false), |a, b| a.or(b));
        text_columns.iter().map(|c| named(c)).fold(some_named, |a, b| a.and(b))
    } else {
        lit(false)
    };
    // one pass flags every row with a problem (rare); findings are built from those rows only
    let flags: Vec<Expr> = rules.iter().enumerate().map(|(i, r)| r.2.clone().fill_null(lit(false)).alias(format!("__bad{i}"))).collect();
    let any = (0..rules.len()).fold(lit(false), |acc, i| acc.or(col(format!("__bad{i}"))));
    // (a header row fails some rule of every table, whose typed columns cannot read their names:
    // it is looked for among the flagged rows alone)
    let flagged = lf.with_columns(flags).filter(any).with_column(header_again.fill_null(lit(false)).alias("__header")).collect()?.lazy();
    let first = col(raw_name(spec.columns[0].name));
    let mut checks: Vec<LazyFrame> = rules
        .into_iter()
        .enumerate()
        .map(|(i, (column, value, _, rule, detail))| check(&flagged, t, column, value, col(format!("__bad{i}")).and(col("__header").not()), rule, &detail))
        .collect();
    checks.push(check(&flagged, t, None, first, col("__header"), "repeated_header", "the header line again (two exports pasted into one file?)"));
    let mut findings = concat(checks, UnionArgs::default())?.collect()?;
    if t == "opportunities" && findings.height() > 0 {
        // a won or lost deal's bad closed_at costs the row (as an empty one does, closed_without_date),
        // never just the value: a loss kept without its date drops out of every quarter
        let closed: Vec<i64> = flagged
            .clone()
            .filter(col("outcome").is_in(crate::typing::str_list(&["won", "lost"]), false))
            .select([col(crate::contract::ROW).cast(DataType::Int64)])
            .collect()?
            .column(crate::contract::ROW)?
            .i64()?
            .into_no_null_iter()
            .collect();
        let on_closed = col("column").eq(lit("closed_at")).and(col("row").is_in(lit(Series::new("closed".into(), closed)).implode(true), false));
        findings = findings
            .lazy()
            .with_column(when(on_closed.and(col("effect").eq(lit(Effect::NullValue.as_str())))).then(lit(Effect::SetAside.as_str())).otherwise(col("effect")).alias("effect"))
            .collect()?;
    }
    let raw_cols: Vec<String> = spec.columns.iter().map(|c| raw_name(c.name)).collect();
    // ids and the large tables' enums as codes piece by piece (see `ids`), so
    // a whole table's text is never held beside its codes
    let mut typed = crate::ids::encode_table(spec.name, typed.drop_many(raw_cols))?;
    // one chunk a column (a piece read from Parquet, or record by record, may come in
    // several; one Polars' parser read is in one already, and stays as it is), so a
    // table's pieces line up and validation filters it as it is, rather than copying
    // the whole table into one chunk a column first
    typed.rechunk_mut();
    Ok((typed, findings))
}


#[cfg(test)]
mod tests {
    use super::*;

    /// The folds worked out by distinct value (`each_distinct`) give what
    /// Polars' own chains give, value for value: whitespace, a final
    /// sigma, a sharp s, a dotted capital I, empty, null, repeats, and a
    /// column of more distinct values than are remembered.
    #[test]
    fn each_distinct_gives_what_polars_gives() {
        let mut values: Vec<Option<String>> = [Some(" Online Meeting "), Some("online-meeting"), Some("ΟΔΟΣ"), Some("straße"), Some("İ"), Some("\tjpy "), Some(""), None, Some(" Online Meeting ")]
            .into_iter()
            .map(|v| v.map(str::to_string))
            .collect();
        values.extend((0..DISTINCT_MEMO + 10).map(|i| Some(format!(" Value-{i} "))));
        let df = df!("t" => values).unwrap();
        let read = |e: Expr| df.clone().lazy().select([e.alias("t")]).collect().unwrap();
        let t = || col("t");
        let polars_enum_key = t().str().to_lowercase().str().strip_chars(lit(NULL)).str().replace_all(lit(r"[\s\-]+"), lit("_"), false);
        assert_eq!(read(enum_key(t())), read(polars_enum_key));
        assert_eq!(read(each_distinct(t(), |v| v.trim().to_uppercase())), read(t().str().strip_chars(lit(NULL)).str().to_uppercase()));
        assert_eq!(read(each_distinct(t(), |v| v.trim().to_lowercase())), read(t().str().strip_chars(lit(NULL)).str().to_lowercase()));
        // by hand: the enum key of " Online Meeting " and of "online-meeting"
        let keys = read(enum_key(t()));
        let keys = keys.column("t").unwrap().str().unwrap();
        assert_eq!((keys.get(0), keys.get(1), keys.get(7)), (Some("online_meeting"), Some("online_meeting"), None));
    }

    /// The UTC `Z` forms read by `zulu_timestamp` give what the
    /// normalising chain alone gives, value for value, and the instant
    /// RFC 3339 names; other shapes are left to the chain unchanged.
    #[test]
    fn zulu_timestamps_read_as_the_full_parser_reads_them() {
        let values = [
            "2026-04-03T01:00:00.000Z",
            "2026-04-03T01:00:00.123Z",
            "2026-04-03T01:00:00Z",
            "1999-12-31T23:59:59.999Z",
            "2026-04-03T01:00:00z",
            "2026-04-03T01:00:00.12Z",
            "2026-04-03T01:00:00.1234Z",
            "2026-04-03 01:00:00Z",
            "2026-04-03T24:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-04-03T01:00:00.+12Z",
            "2026-04-03T01:00:00.1a3Z",
            "2026-04-03X01:00:00Z",
            // shapes of the right length that only a lenient reading of the fields would take
            "2026-04-03t01:00:00.000Z",
            "12026-4-03T01:00:00.000Z",
            "2026-04-03T01:00:0.0000Z",
            "2026-04-03T01:00:00.000ZZ",
        ];
        let df = df!("t" => values.to_vec()).unwrap();
        let read = |e: Expr| -> Vec<Option<i64>> {
            let out = df.clone().lazy().select([e.dt().timestamp(TimeUnit::Microseconds).alias("t")]).collect().unwrap();
            out.column("t").unwrap().i64().unwrap().iter().collect()
        };
        let (fast, chain) = (read(parse_timestamp(col("t"), "Asia/Tokyo")), read(parse_any_timestamp(col("t"), "Asia/Tokyo")));
        assert_eq!(fast, chain);
        for (i, v) in values[..4].iter().enumerate() {
            let expected = chrono::DateTime::parse_from_rfc3339(v).unwrap().timestamp_micros();
            assert_eq!(fast[i], Some(expected), "{v}");
        }
        // 2026-04-03T01:00:00.123Z: 20,546 days after 1970-01-01, then 1 h and 123 ms
        assert_eq!(fast[1], Some((20_546 * 86_400 + 3_600) * 1_000_000 + 123_000));
        // the fast form alone reads only its two shapes, with digits for milliseconds
        let zulu = read(zulu_timestamp(col("t")));
        let read_by_zulu: Vec<bool> = zulu.iter().map(Option::is_some).collect();
        assert_eq!(read_by_zulu[..13], [true, true, true, true, false, false, false, false, false, false, false, false, false]);
        // what it reads it reads as the full parser does
        for (z, f) in zulu.iter().zip(&fast) {
            assert!(z.is_none() || z == f, "{zulu:?}\n{fast:?}");
        }
        // the first tier (`fixed_width_timestamp`) reads these Z forms as they do, and no more
        assert_eq!(read(parse_common_expr("t", ColType::Timestamp, &DataType::String).unwrap()), zulu);
    }

    /// `fixed_width_timestamp` on its own column.
    fn fixed_width(values: &[&str]) -> Vec<Option<i64>> {
        let df = df!("t" => values.to_vec()).unwrap();
        let out = df.lazy().select([fixed_width_timestamp(col("t")).dt().timestamp(TimeUnit::Microseconds)]).collect().unwrap();
        out.column("t").unwrap().i64().unwrap().iter().collect()
    }

    /// The instants worked by hand: days since 1970-01-01 from the
    /// calendar, then the time of day less the offset east of UTC.
    #[test]
    fn fixed_width_timestamps_by_hand() {
        let at = |days: i64, seconds: i64| Some((days * 86_400 + seconds) * 1_000_000);
        let read = fixed_width(&[
            "1970-01-01T00:00:00Z",
            "1970-01-01T09:00:00+09:00",
            // 2026-04-03: 56 years of 365 days and 14 leap days (1972..2024), then 90 days
            // (January to March) and 2: 20,440 + 14 + 92 = 20,546
            "2026-04-03T10:00:00+09:00",
            "2026-04-03T01:00:00.123Z",
            // 2024-01-01 is day 19,723 (54 years of 365 days and 13 leap days); 29 February
            // 23:59:59 at -05:00 is 1 March 04:59:59 in UTC, 31 + 29 days later
            "2024-02-29T23:59:59-05:00",
            // 2000 was a leap year (divisible by 400): 2000-01-01 is day 10,957 (30 years,
            // 7 leap days), its 29 February 59 days later
            "2000-02-29T00:00:00+00:00",
            "2026-04-03T00:30:00+05:30",
            "1969-12-31T23:59:59Z",
            // left to the slower tiers: fields out of range and other shapes
            "2026-02-30T00:00:00+09:00",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-04-03T24:00:00+09:00",
            "2026-04-03T01:00:60Z",
            "2026-13-03T01:00:00Z",
            "2026-04-03T01:00:00+24:00",
            "2026-04-03T01:00:00+09:60",
            "2026-04-03T01:00:00 09:00",
            "2026-04-03 01:00:00+09:00",
            "2026-04-03T01:00:00+0900",
            "2026-04-03T01:00:00.12Z",
            "2026-04-03T01:00:00.1a3Z",
            "2026-04-03T01:00:00z",
            "2026-04-03",
            "",
        ]);
        assert_eq!(read[0], at(0, 0));
        assert_eq!(read[1], at(0, 0));
        assert_eq!(read[2], at(20_546, 3_600));
        assert_eq!(read[3], at(20_546, 3_600).map(|m| m + 123_000));
        assert_eq!(read[4], at(19_723 + 31 + 29, 4 * 3_600 + 59 * 60 + 59));
        assert_eq!(read[5], at(10_957 + 59, 0));
        assert_eq!(read[6], at(20_546 - 1, 19 * 3_600));
        assert_eq!(read[7], Some(-1_000_000));
        assert!(read[8..].iter().all(Option::is_none), "{read:?}");
    }

    proptest::proptest! {
        #![proptest_config(crate::unit_proptest_config("tests/proptest-regressions/typing.txt"))]
        /// Whatever `fixed_width_timestamp` reads, the tiers it stands in
        /// for (`canonical_timestamp`, `zulu_timestamp`: Polars' own
        /// parser) read as the same instant; what it leaves has a field
        /// out of range, or they leave it too.
        #[test]
        fn fixed_width_timestamps_read_as_polars_reads_them(
            year in 1890i64..2210,
            month in 0i64..14,
            day in 0i64..33,
            hour in 0i64..26,
            minute in 0i64..62,
            second in 0i64..62,
            millis in 0i64..1000,
            east in -1500i64..1500,
            form in 0usize..3,
        ) {
            let v = match form {
                0 => format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{}{:02}:{:02}", if east < 0 { '-' } else { '+' }, east.abs() / 60, east.abs() % 60),
                1 => format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"),
                _ => format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z"),
            };
            let df = df!("t" => [v.as_str()]).unwrap();
            let read = |e: Expr| df.clone().lazy().select([e.dt().timestamp(TimeUnit::Microseconds)]).collect().unwrap().column("t").unwrap().i64().unwrap().get(0);
            let fast = read(fixed_width_timestamp(col("t")));
            let polars = read(coalesce(&[canonical_timestamp(col("t")), zulu_timestamp(col("t"))]));
            let in_range = chrono::NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32).is_some()
                && hour < 24 && minute < 60 && second < 60 && (form > 0 || east.abs() < 24 * 60);
            if in_range {
                proptest::prop_assert_eq!(fast, polars, "{}", v);
                proptest::prop_assert!(fast.is_some(), "{}", v);
            } else {
                proptest::prop_assert!(fast.is_none(), "{}", v);
            }
        }
    }
}
