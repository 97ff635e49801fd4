//! Ids as dictionary codes. Every id column the tables are joined on
//! (account_id, lead_id, rep_id, owner_rep_id, ...; see `is_id`) is held as
//! a Polars Categorical from the moment its table is read (Polars' CSV reader
//! parses them into codes; other inputs are coded as each piece is typed),
//! so the
//! key and reference checks, the joins and the group-bys hash and compare
//! 4-byte codes, not text (activities at scale 1000: 17M rows, four such
//! columns). All id columns share Polars' one global
//! dictionary, so any two can be joined or compared; a categorical sorts by
//! its text, so every sort gives the order it gave on text. Output tables
//! and SQL see text again (`decode`): nothing a user reads changes.

use polars::prelude::*;

use crate::contract::{ColType, TABLES};
use crate::error::Result;

/// The type ids are held in from validation to the output tables.
pub fn id_type() -> DataType {
    DataType::from_categories(Categories::global())
}

/// A bound every code of the ids' dictionary is below (it only grows).
pub fn dictionary_bound() -> u64 {
    Categories::global().mapping().num_cats_upper_bound() as u64
}

/// The codes of id column `column` (no nulls) as row numbers' type; None
/// where it is not coded, holds a null or the dictionary outgrows them.
fn codes_of(column: &Column) -> Option<Vec<IdxSize>> {
    if *column.dtype() != id_type() || dictionary_bound() > IdxSize::MAX as u64 || column.null_count() > 0 {
        return None;
    }
    let codes = column.as_materialized_series().to_physical_repr().cast(&IDX_DTYPE).ok()?.rechunk();
    Some(codes.idx().ok()?.cont_slice().ok()?.to_vec())
}

/// Which row of its frame holds each code of id column `column`: a
/// column as long as the dictionary, entry i the row whose value has code
/// i (null where none), set by Polars' scatter. None where `column` is not
/// coded, holds a null or repeats a value.
fn rows_by_code(column: &Column) -> Option<IdxCa> {
    let codes = codes_of(column)?;
    let mut rows = IdxCa::full_null("__row".into(), dictionary_bound() as usize);
    let rows = rows.scatter(&codes, (0..codes.len() as IdxSize).map(Some)).ok()?;
    // a code set by two rows (a repeated value) leaves fewer codes set than rows
    (rows.len() - rows.null_count() == codes.len()).then(|| rows.idx().ok().cloned()).flatten()
}

/// Columns `values` of `df` laid out by the dictionary code of its column
/// `key`: entry i of each holds the value of the row whose key has code i
/// (null where no row has it), for a gather by code to stand in for a join
/// on `key`. None where `key` is not an id column, holds a null or repeats
/// (`rows_by_code`).
pub fn laid_out(df: &DataFrame, key: &str, values: &[&str]) -> Option<Vec<Series>> {
    let row_of = rows_by_code(df.column(key).ok()?)?;
    values.iter().map(|v| df.column(v).ok()?.as_materialized_series().take(&row_of).ok()).collect()
}

/// Which codes of the dictionary id column `column` holds: a boolean
/// column as long as the dictionary, true at each of its values' codes.
/// None where `column` is not coded or holds a null.
pub fn codes_held(column: &Column) -> Option<Series> {
    let codes = codes_of(column)?;
    let mut held = BooleanChunked::full("__held".into(), false, dictionary_bound() as usize);
    held.scatter(&codes, std::iter::repeat(Some(true))).ok()
}

/// Whether column `column` of input table `table` is an id the tables are
/// joined on: one that names a row of another table, or the key such ids
/// name. Keys nothing names (activity_id, handoff_id, view_id) stay text:
/// all distinct, they would fill the dictionary for no join.
pub fn is_id(table: &str, column: &str) -> bool {
    let Some(c) = TABLES.iter().find(|t| t.name == table).and_then(|t| t.column(column)) else { return false };
    let named = TABLES.iter().flat_map(|t| t.columns).any(|r| r.references == Some((table, column)));
    c.ty == ColType::Text && (c.references.is_some() || named)
}

/// Input table `table` with its id columns as dictionary codes (a no-op
/// on columns already encoded).
pub fn encode_table(table: &str, df: DataFrame) -> Result<DataFrame> {
    encode_where(df, |name| is_id(table, name) || is_coded_enum(table, name))
}

/// The tables of millions of rows with enum columns, held as codes
/// (stage_history, as large, has none).
const CODED_ENUM_TABLES: [&str; 3] = ["leads", "activities", "dsr_views"];

/// Whether column `column` of input table `table` is an enum of the
/// contract (kind, outcome, source, ...) held as codes from typing on: a
/// handful of values over millions of rows, 4 bytes a row instead of 16.
/// The metrics read them as text (`Model::lazy`, `text_enums`); only the
/// loaded and validated tables hold the codes.
pub fn is_coded_enum(table: &str, column: &str) -> bool {
    CODED_ENUM_TABLES.contains(&table)
        && TABLES.iter().find(|t| t.name == table).and_then(|t| t.column(column)).is_some_and(|c| matches!(c.ty, ColType::Enum(_)))
}

/// `lf` (a plan on validated table `table`) with its coded enums as text again.
pub fn text_enums(table: &str, lf: LazyFrame) -> LazyFrame {
    let Some(spec) = TABLES.iter().find(|t| t.name == table) else { return lf };
    let text: Vec<Expr> =
        spec.columns.iter().filter(|c| is_coded_enum(table, c.name)).map(|c| col(c.name).cast(DataType::String)).collect();
    if text.is_empty() { lf } else { lf.with_columns(text) }
}

/// `df`, a frame built outside Polars (the visit plan's routes), with its
/// text id columns (`*_id`) as dictionary codes, to join with the tables.
pub fn encode_built(df: DataFrame) -> Result<DataFrame> {
    encode_where(df, |name| name.ends_with("_id"))
}

/// `df` with the text columns whose name `pick` takes as codes.
fn encode_where(df: DataFrame, pick: impl Fn(&str) -> bool) -> Result<DataFrame> {
    let ids: Vec<Expr> = df
        .columns()
        .iter()
        .filter(|c| pick(c.name()) && c.dtype() == &DataType::String)
        .map(|c| col(c.name().clone()).cast(id_type()))
        .collect();
    if ids.is_empty() {
        return Ok(df);
    }
    Ok(df.lazy().with_columns(ids).collect()?)
}

/// `df` with every categorical column as text again (a no-op without one).
pub fn decode(df: DataFrame) -> Result<DataFrame> {
    if !df.columns().iter().any(is_code) {
        return Ok(df);
    }
    Ok(decode_lazy(df).collect()?)
}

/// `df` as a plan that gives every categorical column as text: decoded
/// only if the plan runs (a SQL query that reads the table).
pub fn decode_lazy(df: DataFrame) -> LazyFrame {
    let cats: Vec<Expr> = df
        .columns()
        .iter()
        .filter(|c| is_code(c))
        .map(|c| col(c.name().clone()).cast(DataType::String))
        .collect();
    if cats.is_empty() {
        return df.lazy();
    }
    df.lazy().with_columns(cats)
}

/// Whether `c` holds dictionary codes.
fn is_code(c: &Column) -> bool {
    matches!(c.dtype(), DataType::Categorical(..))
}
