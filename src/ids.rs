//! Ids as codes. Every id column the tables are joined on (account_id,
//! lead_id, rep_id, owner_rep_id, ...; see `is_id`) is held as a UInt32
//! code from the moment each piece of its table is typed (`encode_table`,
//! by `encode_ids`), so the key and reference checks hash and compare
//! 4-byte codes, not text (activities at scale 1000: 17M rows, four such
//! columns). While the input is read and checked these are load codes:
//! each kind of id (named by the key every id of the kind names:
//! `reps.rep_id` for rep_id, owner_rep_id, manager_id, from_rep_id,
//! to_rep_id) has a front, a hash index numbering its ids as first read
//! and keeping their text (32-48 bytes an id; Polars' own dictionary
//! took about 120, 0.6 GiB at scale 1000). Two columns of one
//! kind can be compared by code (`same_kind`); a finding shows an id's
//! text (`load_text`). The fronts live while an input is being coded
//! (`Coding`).
//!
//! Once validated, the ids become own codes (`Ids::own_codes`): a UInt32,
//! the id's place among its kind's ids sorted as text, so the joins,
//! group-bys and sorts of the metrics run on integers and every sort gives
//! the order it gave on text; each kind keeps its sorted ids (16 bytes an
//! id) and the fronts go. The metrics know an own
//! code column by its name (`rep_id`, `owner_rep_id`: the input's names).
//!
//! The segments share Polars' global dictionary (`segment_type`), a few
//! hundred values; the other coded enums are a Polars Enum of the
//! contract's values, sorted (`contract_enum_type`), which sorts by its
//! text too.
//! Output tables and SQL see text again (`Ids::decode`, `decode_table`):
//! nothing a user reads changes.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::contract::{ColType, TABLES};
use crate::error::Result;
use crate::sync::{locked, on_cores};

/// The type id column `column` of input table `table` is held in from
/// validation to the output tables: codes in the dictionary of the key its
/// ids name (the column itself where it is a key). Text for a column that
/// is not an id (`is_id`).
pub fn id_type(table: &str, column: &str) -> DataType {
    match id_kind(table, column) {
        Some(_) => CODE_TYPE,
        None => DataType::String,
    }
}

/// The key (table, column) every value of id column `column` of `table`
/// names, following references to their end; None where it is not an id.
pub fn id_kind(table: &str, column: &str) -> Option<(&'static str, &'static str)> {
    let spec = TABLES.iter().find(|t| t.name == table)?;
    let c = spec.column(column)?;
    if !is_id(table, column) {
        return None;
    }
    match c.references {
        Some((t, c)) => id_kind(t, c),
        None => Some((spec.name, c.name)),
    }
}

/// The type of an id column named `name` in a frame built by the metrics
/// (`rep_id`, `account_id`, ...): the type of the input column of that name
/// that is an id (the first table that has one), else text.
pub fn id_type_named(name: &str) -> DataType {
    TABLES
        .iter()
        .find(|t| t.column(name).is_some() && is_id(t.name, name))
        .map_or(DataType::String, |t| id_type(t.name, name))
}

/// The type the segments (source, industry, region, team, role) and the
/// coded enums (`is_coded_enum`) are held in: codes in Polars' global
/// dictionary, which holds only such values (a few hundred).
pub fn segment_type() -> DataType {
    DataType::from_categories(Categories::global())
}

/// Whether columns of types `a` and `b` hold codes of one dictionary, so a
/// code of one names the same id in the other (a gather by code may stand
/// in for a join between them).
pub fn same_dictionary(a: &DataType, b: &DataType) -> bool {
    matches!(a, DataType::Categorical(..)) && a == b
}

/// Whether columns named `name` of types `a` and `b` hold codes of one
/// dictionary: one categorical dictionary (`same_dictionary`), or own
/// codes (`Ids`) of the kind the name says.
pub fn same_codes(name: &str, a: &DataType, b: &DataType) -> bool {
    same_dictionary(a, b) || (a == &CODE_TYPE && b == &CODE_TYPE && own_bound(name, a).is_some())
}

/// A bound every code of the dictionary of `dtype` is below (a dictionary
/// only grows); None where `dtype` is not a categorical.
pub fn code_bound(dtype: &DataType) -> Option<u64> {
    match dtype {
        DataType::Categorical(_, mapping) => Some(mapping.num_cats_upper_bound() as u64),
        _ => None,
    }
}

/// The codes of categorical column `column` (no nulls) as row numbers'
/// type, with a bound every code is below; None where it is not coded,
/// holds a null or the dictionary outgrows them.
fn codes_of(column: &Column) -> Option<(Vec<IdxSize>, usize)> {
    let bound = code_bound(column.dtype()).or_else(|| own_bound(column.name(), column.dtype()))?;
    if bound > IdxSize::MAX as u64 || column.null_count() > 0 {
        return None;
    }
    let codes = column.as_materialized_series().to_physical_repr().cast(&IDX_DTYPE).ok()?.rechunk();
    Some((codes.idx().ok()?.cont_slice().ok()?.to_vec(), bound as usize))
}

/// Which row of its frame holds each code of id column `column`: a
/// column as long as its dictionary, entry i the row whose value has code
/// i (null where none), set by Polars' scatter. None where `column` is not
/// coded, holds a null or repeats a value.
fn rows_by_code(column: &Column) -> Option<IdxCa> {
    let (codes, bound) = codes_of(column)?;
    let mut rows = IdxCa::full_null("__row".into(), bound);
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

/// `values` at each row's code in `code` (an integer column: an id's
/// code, a row number), null where the code is null, negative or past the
/// end of `values`: what `lit(values).gather(code, true)` gives for codes
/// that are not negative (a gather counts those from the end), without the
/// copy of the index a gather makes (each gather converts its index into
/// a new array first, and checks it: at scale 1000, 68 MB for each of the
/// activities' seven lookups by rep, lead, deal and account). The codes
/// are taken as they are where they are Polars' index type already.
pub fn taken_at(values: Series, code: Expr) -> Expr {
    let dtype = values.dtype().clone();
    code.map(
        move |c: Column| {
            let name = c.name().clone();
            let index = c.as_materialized_series().cast(&IDX_DTYPE)?;
            let index = index.idx()?;
            let index = match index.max() {
                // a code past the end names nothing: null, as a gather gives
                Some(most) if most as usize >= values.len() => index.zip_with(&index.lt(values.len() as IdxSize), &IdxCa::full_null(name.clone(), index.len()))?,
                _ => index.clone(),
            };
            Ok(values.take(&index)?.with_name(name).into_column())
        },
        move |_, field| Ok(Field::new(field.name().clone(), dtype.clone())),
    )
}

/// The least value of column `value` (integers or timestamps, compared as
/// their integers) for each id in own-code column `key` of `df`, over the
/// rows where both hold one: a frame of `key` (each code that has one,
/// ascending) and `value`, the rows `group_by(key).agg(value.min())`
/// gives, in code order. The codes being dense (0 up to their kind's
/// bound), each least value is kept at its code's place in one pass over
/// the rows, where a group-by hashes each code (the first IS touch of each
/// lead at scale 1000, 14.6M activities into 3.2M leads: the fact, its filter
/// included, took 0.75 s grouped by Polars' streaming engine, 0.47 s so).
/// An elementwise pass like `taken_at`'s, not a row loop over a frame.
/// None where `key` is not own codes or `value` is not integers
/// underneath, or a code is past its kind's bound.
pub fn least_by_code(df: &DataFrame, key: &str, value: &str) -> Option<DataFrame> {
    let (keys, values) = (df.column(key).ok()?, df.column(value).ok()?);
    let bound = own_bound(key, keys.dtype())? as usize;
    let codes = keys.as_materialized_series().u32().ok()?.clone();
    let physical = values.as_materialized_series().to_physical_repr();
    let numbers = physical.i64().ok()?;
    let (mut least, mut held) = (vec![i64::MAX; bound], vec![false; bound]);
    for (code, number) in codes.iter().zip(numbers.iter()) {
        if let (Some(code), Some(number)) = (code, number) {
            // a code past the bound names no id of the kind: Polars' group-by instead
            let place = least.get_mut(code as usize)?;
            *place = (*place).min(number);
            held[code as usize] = true;
        }
    }
    let (codes, least): (Vec<u32>, Vec<i64>) = (0..bound).filter(|&c| held[c]).map(|c| (c as u32, least[c])).unzip();
    let least = Int64Chunked::from_vec(value.into(), least).into_series().cast(values.dtype()).ok()?;
    DataFrame::new(codes.len(), vec![UInt32Chunked::from_vec(key.into(), codes).into_column(), least.into_column()]).ok()
}

/// Which codes of the dictionary id column `column` holds: a boolean
/// column as long as the dictionary, true at each of its values' codes.
/// None where `column` is not coded or holds a null.
pub fn codes_held(column: &Column) -> Option<Series> {
    let (codes, bound) = codes_of(column)?;
    let mut held = BooleanChunked::full("__held".into(), false, bound);
    held.scatter(&codes, std::iter::repeat(Some(true))).ok()
}

/// The ids of one validated input as codes of dictionaries of its own
/// (`own_codes`): each id column a UInt32, its code the id's place among
/// its kind's ids sorted as text, so a sort by the code orders as the
/// text does and joins, group-bys and sorts work on integers. Each kind
/// (the key its ids name, `reps.rep_id`) keeps its values, sorted, 16
/// bytes an id; Polars' dictionary of the same ids took about 120 (at
/// scale 1000, 5M ids: 0.6 GiB, held through every table). `decode` gives
/// the text back.
#[derive(Debug)]
pub struct Ids {
    values: BTreeMap<(&'static str, &'static str), Series>,
}

/// The largest dictionary of each kind any input of this process was
/// coded with (`Ids::own_codes`): a bound every own code of the kind is
/// below, for plans that pack codes (`own_bound`).
static OWN_BOUNDS: std::sync::LazyLock<std::sync::Mutex<BTreeMap<(&'static str, &'static str), u64>>> =
    std::sync::LazyLock::new(Default::default);

/// The type an id is held in: load codes while the input is read and
/// checked (`encode_ids`), own codes once it is validated (`Ids::own_codes`).
pub const CODE_TYPE: DataType = DataType::UInt32;

impl Ids {
    /// `tables` (validated, ids as load codes since typing: `encode_ids`)
    /// with every id column as its own code, and the dictionaries that
    /// give them back as text. The fronts the load codes came from must
    /// still be there (a `Coding` held).
    pub fn own_codes(tables: &mut BTreeMap<&'static str, DataFrame>) -> Result<Ids> {
        let mut by_kind: BTreeMap<(&'static str, &'static str), Vec<(&'static str, PlSmallStr)>> = BTreeMap::new();
        for (table, df) in tables.iter() {
            for c in df.columns().iter().filter(|c| c.dtype() == &CODE_TYPE) {
                if let Some(kind) = id_kind(table, c.name()) {
                    by_kind.entry(kind).or_default().push((table, c.name().clone()));
                }
            }
        }
        // each kind on a core of its own (they share nothing): sorted ids and recoded columns
        let shared: &BTreeMap<&'static str, DataFrame> = tables;
        let done: Vec<Result<OwnKind>> = on_cores(by_kind.into_iter().map(|(kind, columns)| move || own_kind(shared, kind, columns)));
        let mut values = BTreeMap::new();
        for kind in done {
            let OwnKind { kind, sorted, columns } = kind?;
            for (t, own) in columns {
                let df = tables.get_mut(t).expect("a table listed above");
                df.replace(&own.name().clone(), own.into_column())?;
            }
            let mut bounds = locked(&OWN_BOUNDS);
            let b = bounds.entry(kind).or_insert(0);
            *b = (*b).max(sorted.len() as u64);
            values.insert(kind, sorted);
        }
        Ok(Ids { values })
    }

    /// The kind of own codes column `name` of a frame holds (of input table
    /// `table`, else of any frame, by the name: `kind_named`); None where
    /// it holds none.
    fn kind_of(&self, table: Option<&str>, name: &str, dtype: &DataType) -> Option<(&'static str, &'static str)> {
        if dtype != &CODE_TYPE {
            return None;
        }
        let kind = match table {
            Some(t) => id_kind(t, name),
            None => kind_named(name),
        }?;
        self.values.contains_key(&kind).then_some(kind)
    }

    /// Column `name`, own codes of `kind`, as text.
    fn text_of(&self, kind: (&'static str, &'static str), name: &str) -> Expr {
        taken_at(self.values[&kind].clone(), col(name)).alias(name)
    }

    /// Column `name` of a frame the metrics built as text: own codes of
    /// the kind its name says (`kind_named`) looked up, anything else cast.
    /// For a projection (`with_column`, `select`), never inside an
    /// aggregate, where the lookup runs group by group.
    pub fn text(&self, name: &str) -> Expr {
        self.text_as(name, name)
    }

    /// Column `name`, holding own codes of the kind column `like` holds
    /// (`kind_named`: near_account_id as account_id), as text.
    pub fn text_as(&self, name: &str, like: &str) -> Expr {
        match kind_named(like).filter(|k| self.values.contains_key(k)) {
            Some(kind) => self.text_of(kind, name),
            None => col(name).cast(DataType::String),
        }
    }

    /// `df` (an output table) with its ids and coded enums as text again
    /// (a no-op without one).
    pub fn decode(&self, df: DataFrame) -> Result<DataFrame> {
        let text = self.text_columns(None, &df);
        if text.is_empty() {
            return Ok(df);
        }
        Ok(df.lazy().with_columns(text).collect()?)
    }

    /// Input table `table` as a plan that gives its ids and coded enums as
    /// text: decoded only if the plan runs (a SQL query that reads it).
    pub fn decode_table(&self, table: &str, df: DataFrame) -> LazyFrame {
        let text = self.text_columns(Some(table), &df);
        if text.is_empty() { df.lazy() } else { df.lazy().with_columns(text) }
    }

    /// The expressions that give `df`'s coded columns (of input table
    /// `table`, else by their names) as text.
    fn text_columns(&self, table: Option<&str>, df: &DataFrame) -> Vec<Expr> {
        df.columns()
            .iter()
            .filter_map(|c| match self.kind_of(table, c.name(), c.dtype()) {
                Some(kind) => Some(self.text_of(kind, c.name())),
                None => is_code(c).then(|| col(c.name().clone()).cast(DataType::String)),
            })
            .collect()
    }

    /// `df`, a frame built outside Polars (the visit plan's routes), with
    /// its text id columns (`rep_id`, `account_id`, ...: `kind_named`) as
    /// own codes, to join with the tables. An error names a value that is
    /// no id of the input (it would have no code).
    pub fn encode(&self, df: DataFrame) -> Result<DataFrame> {
        let mut lf = df.clone().lazy();
        let mut coded = Vec::new();
        for c in df.columns().iter().filter(|c| c.dtype() == &DataType::String) {
            let Some(kind) = kind_named(c.name()).filter(|k| self.values.contains_key(k)) else { continue };
            let values = &self.values[&kind];
            let dictionary = DataFrame::new_infer_height(vec![
                values.clone().with_name("__value".into()).into_column(),
                IdxCa::from_vec("__code".into(), (0..values.len() as IdxSize).collect()).into_column(),
            ])?;
            lf = lf
                .join(dictionary.lazy(), [col(c.name().clone())], [col("__value")], JoinArgs { maintain_order: MaintainOrderJoin::Left, ..JoinArgs::new(JoinType::Left) })
                .with_column(col("__code").alias(c.name().clone()))
                .drop(cols(["__code"]));
            coded.push(c);
        }
        let out = lf.collect()?;
        for c in coded {
            let codes = out.column(c.name())?;
            if codes.null_count() != c.null_count() {
                let unknown = c.filter(&(codes.is_null() & c.is_not_null()))?;
                let value = unknown.str()?.get(0).unwrap_or_default().to_string();
                return Err(crate::error::Error::Input(format!("{} {value:?} is no id of the input", c.name())));
            }
        }
        Ok(out)
    }
}

/// One kind of id as own codes (`Ids::own_codes`): its ids sorted as
/// text, and each of its columns (by table) recoded.
struct OwnKind {
    kind: (&'static str, &'static str),
    sorted: Series,
    columns: Vec<(&'static str, Series)>,
}

/// Kind `kind`'s `columns` (table, name; categoricals of one dictionary)
/// of `tables` as own codes.
fn own_kind(tables: &BTreeMap<&'static str, DataFrame>, kind: (&'static str, &'static str), columns: Vec<(&'static str, PlSmallStr)>) -> Result<OwnKind> {
    let column = |(t, c): &(&'static str, PlSmallStr)| tables[t].column(c).map(|c| c.as_materialized_series().clone());
    // the codes any column holds, as a mask over the kind's load codes
    let bound = locked(&front_of(kind)).values.len();
    let mut held = BooleanChunked::full("__held".into(), false, bound).into_series();
    for c in &columns {
        let codes = column(c)?.drop_nulls().cast(&IDX_DTYPE)?.rechunk();
        held = held.bool()?.clone().scatter(codes.idx()?.cont_slice()?, std::iter::repeat(Some(true)))?;
    }
    let old = IdxCa::from_vec("__old".into(), (0..bound as IdxSize).collect()).filter(held.bool()?)?;
    let text = decode_load_codes(&old.cast(&CODE_TYPE)?.u32()?.clone(), kind)?.into_series();
    // an export listing its keys in text order, read first, handed the codes out in that order
    let text = text.rechunk();
    let ascending = !text.str()?.lt(text.shift(1).str()?).any();
    let (sorted, old_in_order) = if ascending {
        (text, old.rechunk().into_owned())
    } else {
        let order = text.arg_sort(SortOptions::default().with_multithreaded(true));
        (text.take(&order)?.rechunk(), old.take(&order)?.rechunk().into_owned())
    };
    let mut recoded = Vec::with_capacity(columns.len());
    if ascending && sorted.len() == bound {
        // every code held, in text order: each code is already its place
        for c in &columns {
            recoded.push((c.0, column(c)?.cast(&IDX_DTYPE)?.with_name(c.1.clone())));
        }
        return Ok(OwnKind { kind, sorted, columns: recoded });
    }
    // the new code of each old code: its place in the sorted text
    let new_of_old = IdxCa::full_null("__new".into(), bound).scatter(old_in_order.cont_slice()?, (0..sorted.len() as IdxSize).map(Some))?;
    let new_of_old = new_of_old.idx()?;
    for c in &columns {
        let codes = column(c)?.cast(&IDX_DTYPE)?;
        recoded.push((c.0, new_of_old.take(codes.idx()?)?.with_name(c.1.clone()).into_series()));
    }
    Ok(OwnKind { kind, sorted, columns: recoded })
}

/// The kind of id a column named `name` in a frame built by the metrics
/// holds (`rep_id`, `owner_rep_id`, ...): that of the first input table's
/// id column of that name; None where no input table has one.
fn kind_named(name: &str) -> Option<(&'static str, &'static str)> {
    TABLES.iter().find(|t| t.column(name).is_some() && is_id(t.name, name)).and_then(|t| id_kind(t.name, name))
}

/// A bound every own code (`Ids::own_codes`) a UInt32 column named `name`
/// holds is below, by the kind its name says; None for any other column.
pub fn own_bound(name: &str, dtype: &DataType) -> Option<u64> {
    if dtype != &CODE_TYPE {
        return None;
    }
    locked(&OWN_BOUNDS).get(&kind_named(name)?).copied()
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

/// Input table `table` with its id columns as load codes (`Front`: each
/// id's code its place in the order its kind's ids were first read) and
/// its coded enums (`is_coded_enum`) as codes; a no-op on columns already
/// coded.
pub fn encode_table(table: &str, df: DataFrame) -> Result<DataFrame> {
    encode_where(df, |name| {
        if is_id(table, name) {
            id_kind(table, name).map(Coded::Id)
        } else if is_coded_enum(table, name) {
            let values = coded_enum_type(table, name)?;
            Some(if SEGMENT_ENUMS.contains(&(table, name)) { Coded::Segment(values) } else { Coded::Enum(values) })
        } else {
            None
        }
    })
}

/// How a column is coded (`encode_table`).
enum Coded {
    /// an id of a kind: load codes (`Front`)
    Id((&'static str, &'static str)),
    /// a contract enum: an Enum of its values
    Enum(DataType),
    /// a contract enum that is a segment: through an Enum of its values
    /// into the segments' dictionary (`segment_type`)
    Segment(DataType),
}

/// The coded enums that are also segments, grouped and compared with the
/// other tables' segments: codes of the segments' dictionary.
const SEGMENT_ENUMS: [(&str, &str); 1] = [("leads", "source")];

/// A Polars Enum of a contract enum's `values`, one byte a row; sorted, so
/// it sorts as the text does. None where Polars refuses the values (a
/// repeated one: the contract has none).
pub fn contract_enum_type(values: &[&str]) -> Option<DataType> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    FrozenCategories::new(sorted).ok().map(DataType::from_frozen_categories)
}

/// The tables of millions of rows with enum columns, held as codes
/// (stage_history, as large, has none).
const CODED_ENUM_TABLES: [&str; 3] = ["leads", "activities", "dsr_views"];

/// Whether column `column` of input table `table` is an enum of the
/// contract (kind, outcome, source, ...) held as codes from typing on: a
/// handful of values over millions of rows, one byte a row (an Enum) or
/// four (a segment: `SEGMENT_ENUMS`) instead of 16.
/// The metrics read them as text (`Model::lazy`, `text_enums`); only the
/// loaded and validated tables hold the codes.
pub fn is_coded_enum(table: &str, column: &str) -> bool {
    CODED_ENUM_TABLES.contains(&table)
        && TABLES.iter().find(|t| t.name == table).and_then(|t| t.column(column)).is_some_and(|c| matches!(c.ty, ColType::Enum(_)))
}

/// The Enum coded enum `column` of input table `table` is held in, where it
/// is one and not a segment (`is_coded_enum`, `SEGMENT_ENUMS`): typing
/// reads such a column straight into its codes (`encode_enum_or_null`).
pub fn enum_codes_type(table: &str, column: &str) -> Option<DataType> {
    if !is_coded_enum(table, column) || SEGMENT_ENUMS.contains(&(table, column)) {
        return None;
    }
    coded_enum_type(table, column)
}

/// The Enum of the contract's values of enum column `column` of input
/// table `table` (`contract_enum_type`); None where it is no enum.
fn coded_enum_type(table: &str, column: &str) -> Option<DataType> {
    match TABLES.iter().find(|t| t.name == table)?.column(column)?.ty {
        ColType::Enum(values) => contract_enum_type(values),
        _ => None,
    }
}

/// `lf` (a plan on validated table `table`) with its coded enums as text again.
pub fn text_enums(table: &str, lf: LazyFrame) -> LazyFrame {
    let Some(spec) = TABLES.iter().find(|t| t.name == table) else { return lf };
    let text: Vec<Expr> =
        spec.columns.iter().filter(|c| is_coded_enum(table, c.name)).map(|c| col(c.name).cast(DataType::String)).collect();
    if text.is_empty() { lf } else { lf.with_columns(text) }
}

/// `df` with the text columns to which `pick` gives a coding coded
/// (`encode_column`), each column on a thread of its own where there are several.
fn encode_where(mut df: DataFrame, pick: impl Fn(&str) -> Option<Coded>) -> Result<DataFrame> {
    let picked: Vec<(usize, Coded)> = df
        .columns()
        .iter()
        .enumerate()
        // a Parquet file's dictionary column arrives as a categorical
        .filter(|(_, c)| matches!(c.dtype(), DataType::String | DataType::Categorical(..)))
        .filter_map(|(i, c)| Some((i, pick(c.name())?)))
        .collect();
    if picked.is_empty() {
        return Ok(df);
    }
    let columns = df.columns();
    let coded: Vec<PolarsResult<Series>> = if let [(i, coding)] = picked.as_slice() {
        vec![encode_column(&columns[*i], coding)] // one column: nothing to share out
    } else {
        on_cores(picked.iter().map(|(i, coding)| move || encode_column(&columns[*i], coding)))
    };
    for ((i, _), series) in picked.iter().zip(coded) {
        df.replace_column(*i, series?.into_column())?;
    }
    Ok(df)
}

/// Text column `column` coded as `coding` says. An enum's value outside its
/// values is an error, never a silent null (typing has left only the
/// contract's values).
fn encode_column(column: &Column, coding: &Coded) -> PolarsResult<Series> {
    let text = column.as_materialized_series().cast(&DataType::String)?;
    match coding {
        Coded::Id(kind) => encode_ids(&text, *kind).map(IntoSeries::into_series),
        Coded::Enum(values) => encode_enum(&text, values),
        Coded::Segment(values) => encode_enum(&text, values)?.cast(&segment_type()),
    }
}

/// Text column `text` as Enum `dtype` (a contract enum's few values): each
/// value's code is its category's place, found by comparing Polars' 16-byte
/// view of a short value (its length and bytes: `INLINE`) with the
/// categories' views, and a longer value's bytes with theirs, rather than
/// hashing every value as Polars' cast does (at scale 1000, 47M values:
/// 1.2% of validate's CPU samples against 2.0%). A value outside the
/// categories is an error naming it, as Polars' strict cast gives.
pub fn encode_enum(text: &Series, dtype: &DataType) -> PolarsResult<Series> {
    enum_codes(text, dtype, true)
}

/// `encode_enum` with a value outside the categories null (as Polars'
/// non-strict cast gives): the first reading of an enum column in typing
/// (`typing::type_chunk`), whose nulls where the text has a value are the
/// values the next reading and the type check take up.
pub fn encode_enum_or_null(text: &Series, dtype: &DataType) -> PolarsResult<Series> {
    enum_codes(text, dtype, false)
}

/// Text column `text` as Enum `dtype`; a value outside it an error where
/// `strict`, else null.
fn enum_codes(text: &Series, dtype: &DataType, strict: bool) -> PolarsResult<Series> {
    // (not an Enum, or one of more than 255 values: Polars' own cast)
    let cast = || if strict { text.strict_cast(dtype) } else { text.cast(dtype) };
    let DataType::Enum(categories, _) = dtype else { return cast() };
    let names: Vec<&str> = categories.categories().values_iter().collect();
    if names.len() > u8::MAX as usize {
        return cast();
    }
    // the categories' views (short ones) and bytes (long ones), each with its code
    let short: Vec<(u128, u8)> = names.iter().enumerate().filter(|(_, n)| n.len() <= INLINE).map(|(i, n)| (inline_view(n), i as u8)).collect();
    let long: Vec<(&[u8], u8)> = names.iter().enumerate().filter(|(_, n)| n.len() > INLINE).map(|(i, n)| (n.as_bytes(), i as u8)).collect();
    let text = text.str()?;
    let mut chunks: Vec<UInt8Chunked> = Vec::with_capacity(text.chunks().len());
    for (arr, chunk) in text.downcast_iter().zip(text.chunks()) {
        let validity = chunk.validity();
        let mut codes = Vec::with_capacity(arr.len());
        // the rows whose value is outside the categories (none, as a rule)
        let mut unknown: Vec<usize> = Vec::new();
        for (i, view) in arr.views().iter().enumerate() {
            let code = if view.length as usize <= INLINE {
                let v = view.as_u128();
                short.iter().find(|(s, _)| *s == v).map(|(_, c)| *c)
            } else {
                // SAFETY: i is below the array's length
                let bytes = unsafe { arr.value_unchecked(i) }.as_bytes();
                long.iter().find(|(l, _)| *l == bytes).map(|(_, c)| *c)
            };
            // a null (whatever its view holds) is coded 0, masked by the validity
            codes.push(code.unwrap_or_else(|| {
                if validity.is_none_or(|m| m.get_bit(i)) {
                    unknown.push(i);
                }
                0
            }));
        }
        if let Some(&i) = unknown.first() {
            if strict {
                polars_bail!(InvalidOperation: "conversion from `str` to `enum` failed in column '{}' for value \"{}\"", text.name(), arr.value(i));
            }
            // a value outside the categories is null, as a null is (rare: built row by row)
            let mut outside = vec![false; arr.len()];
            unknown.iter().for_each(|&i| outside[i] = true);
            let valid = |i: usize| validity.is_none_or(|m| m.get_bit(i)) && !outside[i];
            let coded = codes.iter().enumerate().map(|(i, c)| valid(i).then_some(*c));
            chunks.push(UInt8Chunked::from_iter_options(text.name().clone(), coded));
            continue;
        }
        chunks.push(UInt8Chunked::from_vec_validity(text.name().clone(), codes, validity.cloned()));
    }
    // the codes as the Enum (Polars deprecates casting integers to an Enum,
    // with a warning on stderr)
    let codes = one_column(text.name(), chunks);
    if categories.physical() == CategoricalPhysical::U8 {
        // SAFETY: each code is the place of a category it equals (found above), so
        // below their count; an Enum of at most 255 categories is one byte a row
        return Ok(unsafe { CategoricalChunked::<Categorical8Type>::from_cats_and_dtype_unchecked(codes, dtype.clone()) }.into_series());
    }
    // (a wider Enum: each code checked against the categories again)
    Series::from_cats_and_dtype(&codes.into_series().cast(&categories.physical().dtype())?, dtype, true)
}

/// Polars' view of a short value (`INLINE` bytes at most), as a u128: its
/// length in the low 4 bytes, then its bytes (little-endian, zero-padded).
fn inline_view(value: &str) -> u128 {
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&(value.len() as u32).to_le_bytes());
    bytes[4..4 + value.len()].copy_from_slice(value.as_bytes());
    u128::from_le_bytes(bytes)
}

/// Text column `text`, ids of kind `kind`, as load codes: each value looked
/// up in its kind's `Front` (a hash index looked up a block of values at a
/// time), a new one handed the next code. Polars' own dictionary took about 120
/// bytes an id and a quarter of a microsecond to hand a code out (leads at
/// scale 1000: 3.2M new ids, most of their typing). The codes are in the
/// order the ids were first read; `Ids::own_codes` makes them the ids'
/// places in text order once the input is validated.
pub fn encode_ids<'a>(text: &'a Series, kind: (&'static str, &'static str)) -> PolarsResult<UInt32Chunked> {
    let front = front_of(kind);
    let mut front = locked(&front);
    let text = text.str()?;
    let mut chunks: Vec<UInt32Chunked> = Vec::with_capacity(text.chunks().len());
    let mut keys: Vec<Option<Key>> = Vec::new();
    for (arr, chunk) in text.downcast_iter().zip(text.chunks()) {
        // Polars' view of a value: its length and, up to 12 bytes, the value itself
        let key = |((len, v), s): ((usize, u128), &'a str)| if len <= INLINE { Key::short(v) } else { Key::Long(s.as_bytes()) };
        let values = arr.views().iter().map(|v| (v.length as usize, v.as_u128())).zip(arr.values_iter());
        keys.clear();
        match chunk.validity() {
            Some(valid) => keys.extend(values.zip(valid.iter()).map(|(v, ok)| ok.then(|| key(v)))),
            None => keys.extend(values.map(|v| Some(key(v)))),
        }
        let mut codes = Vec::with_capacity(arr.len());
        front.codes(&keys, &mut codes)?;
        chunks.push(UInt32Chunked::from_vec_validity(text.name().clone(), codes, chunk.validity().cloned()));
    }
    let bound = front.values.len() as u64;
    drop(front);
    let mut bounds = locked(&OWN_BOUNDS);
    let b = bounds.entry(kind).or_insert(0);
    *b = (*b).max(bound);
    Ok(one_column(text.name(), chunks))
}

/// `chunks`, coded a chunk of their text column at a time, as one column
/// named `name` (its chunks kept as they are; no rows: an empty column).
pub(crate) fn one_column<T: PolarsNumericType>(name: &PlSmallStr, chunks: Vec<ChunkedArray<T>>) -> ChunkedArray<T> {
    chunks
        .into_iter()
        .reduce(|mut all, c| {
            all.append_owned(c).expect("chunks of one type");
            all
        })
        .unwrap_or_else(|| ChunkedArray::full_null(name.clone(), 0))
}

/// Load codes `codes` of kind `kind` (`encode_ids`) as their text.
pub fn decode_load_codes(codes: &UInt32Chunked, kind: (&'static str, &'static str)) -> PolarsResult<StringChunked> {
    let front = front_of(kind);
    let front = locked(&front);
    let mut out = StringChunkedBuilder::new(codes.name().clone(), codes.len());
    for code in codes.iter() {
        match code {
            Some(code) => out.append_value(front.text(code)?),
            None => out.append_null(),
        }
    }
    Ok(out.finish())
}

/// Column `column` of input table `table` as text while the input is being
/// validated: load codes decoded (`decode_load_codes`) where it is an id,
/// anything else cast. For the values a finding shows: it decodes only the
/// rows it is given.
pub fn load_text(table: &str, column: &str) -> Expr {
    match id_kind(table, column) {
        Some(kind) => col(column).map(
            move |c| {
                let codes = c.as_materialized_series().cast(&CODE_TYPE)?;
                Ok(decode_load_codes(codes.u32()?, kind)?.into_column())
            },
            |_, field| Ok(Field::new(field.name().clone(), DataType::String)),
        ),
        None => col(column).cast(DataType::String),
    }
}

/// Whether columns `a` and `b` (input table, column, type) are ids of one
/// kind held as codes (`CODE_TYPE`): a code of one names the same id in
/// the other.
pub fn same_kind(a: (&str, &str, &DataType), b: (&str, &str, &DataType)) -> bool {
    a.2 == &CODE_TYPE && b.2 == &CODE_TYPE && id_kind(a.0, a.1).is_some() && id_kind(a.0, a.1) == id_kind(b.0, b.1)
}

/// The longest value Polars holds inside its view of it (`View`).
const INLINE: usize = 12;

/// Values looked up together (`Front::codes`): their slots are fetched
/// from memory side by side rather than one cache miss after another.
const BLOCK: usize = 32;

/// The ids of one kind read so far, each with its load code (its place in
/// the order they were first read). A value of up to 12 bytes is known by
/// Polars' 16-byte view of it (its length and bytes), compared and hashed
/// as two words without reading the text; a longer one by its bytes, kept
/// in one buffer. Equal values always have equal views (a view of a short
/// value holds nothing else), so each id has one code.
///
/// The index is an open-addressed table of 8-byte slots (linear probing,
/// at most half full): a slot holds the upper half of its value's hash and
/// the code + 1 (0: empty), the value itself is `values[code]`. Values are
/// looked up a block at a time (`codes`): the block's slots, then the
/// values they point at, are prefetched before any is compared, so the
/// cache misses of a large front (3.2M lead ids at scale 1000: a 64 MiB
/// index) overlap instead of following one another. Against hashbrown's
/// table of (view, code) entries, looking 17M ids up in 3.2M took 1.0 s
/// against 1.4-1.9 s in random order and 0.33 s against 1.1 s in the order
/// they were first read, in 16-32 bytes an id (hashbrown's: about 30-60).
#[derive(Default)]
struct Front {
    /// Hash tag (upper 32 bits) and code + 1; 0 where empty. A power of two long.
    slots: Vec<u64>,
    bytes: Vec<u8>,
    /// Each code's value: a short value's view, or a long one's length
    /// (above 12, so never a short view's) and start in `bytes` in the
    /// first word.
    values: Vec<[u64; 2]>,
    hasher: hashbrown::DefaultHashBuilder,
}

/// A value being coded (`Front::codes`): a short one's view, or a long
/// one's bytes.
#[derive(Clone, Copy)]
enum Key<'a> {
    Short([u64; 2]),
    Long(&'a [u8]),
}

/// The slots a front starts with (a power of two).
const FIRST_SLOTS: usize = 1024;

impl Key<'_> {
    /// A short value's key: Polars' 16-byte view of it, as two words.
    fn short(view: u128) -> Self {
        Key::Short([view as u64, (view >> 64) as u64])
    }
}

impl Front {
    /// The next code, for a value not seen before.
    fn next_code(&self) -> PolarsResult<u32> {
        // a slot holds code + 1 in 32 bits
        match u32::try_from(self.values.len()) {
            Ok(code) if code < u32::MAX => Ok(code),
            _ => Err(polars_err!(ComputeError: "more than 4 billion distinct ids of one kind")),
        }
    }

    fn hash(&self, key: Key) -> u64 {
        use std::hash::BuildHasher;
        match key {
            Key::Short(view) => self.hasher.hash_one(view),
            Key::Long(bytes) => self.hasher.hash_one(bytes),
        }
    }

    /// Whether code `code` is the code of `key`.
    fn holds(&self, code: u32, key: Key) -> bool {
        let value = self.values[code as usize];
        match key {
            Key::Short(view) => value == view,
            Key::Long(bytes) => {
                let (len, start) = ((value[0] & 0xFFFF_FFFF) as usize, (value[0] >> 32) as usize);
                len == bytes.len() && &self.bytes[start..start + len] == bytes
            }
        }
    }

    /// Fetches `*p` into the cache ahead of its use.
    #[inline]
    fn prefetch<T>(p: *const T) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint; it reads nothing and never faults
        unsafe {
            std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = p;
    }

    /// Appends the code of each of `keys` (None: a null, coded 0) to
    /// `out`, handing new values the next codes in the order they come.
    fn codes(&mut self, keys: &[Option<Key>], out: &mut Vec<u32>) -> PolarsResult<()> {
        if self.slots.is_empty() {
            self.slots = vec![0; FIRST_SLOTS];
        }
        let mut hashes = [0u64; BLOCK];
        let mut seen = [u32::MAX; BLOCK];
        for block in keys.chunks(BLOCK) {
            // the slots each value hashes to, then the values those slots name
            for (hash, key) in hashes.iter_mut().zip(block) {
                if let Some(key) = key {
                    *hash = self.hash(*key);
                    Self::prefetch(&self.slots[*hash as usize & (self.slots.len() - 1)]);
                }
            }
            for ((seen, hash), key) in seen.iter_mut().zip(&hashes).zip(block) {
                let slot = self.slots[*hash as usize & (self.slots.len() - 1)];
                *seen = u32::MAX;
                if key.is_some() && slot != 0 && slot >> 32 == hash >> 32 {
                    *seen = slot as u32 - 1;
                    Self::prefetch(&self.values[*seen as usize]);
                }
            }
            for ((key, hash), seen) in block.iter().zip(&hashes).zip(&seen) {
                let Some(key) = *key else {
                    out.push(0);
                    continue;
                };
                // the first slot's code, if its value is the key (a later insert in the block cannot move it)
                if *seen != u32::MAX && self.holds(*seen, key) {
                    out.push(*seen);
                    continue;
                }
                out.push(self.code_at(key, *hash)?);
            }
        }
        Ok(())
    }

    /// The code of `key` (hashing to `hash`), probing from its slot;
    /// handed out the first time.
    fn code_at(&mut self, key: Key, hash: u64) -> PolarsResult<u32> {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                break;
            }
            if slot >> 32 == hash >> 32 && self.holds(slot as u32 - 1, key) {
                return Ok(slot as u32 - 1);
            }
            i = (i + 1) & mask;
        }
        let code = self.next_code()?;
        let value = match key {
            Key::Short(view) => view,
            Key::Long(bytes) => {
                // the buffer is addressed by u32
                let start = u32::try_from(self.bytes.len())
                    .ok()
                    .filter(|start| (*start as usize) + bytes.len() <= u32::MAX as usize)
                    .ok_or_else(|| polars_err!(ComputeError: "more than 4 GiB of distinct ids of one kind"))?;
                self.bytes.extend_from_slice(bytes);
                [bytes.len() as u64 | (start as u64) << 32, 0]
            }
        };
        self.values.push(value);
        self.slots[i] = (hash >> 32) << 32 | (code as u64 + 1);
        if self.values.len() * 2 > self.slots.len() {
            self.grow();
        }
        Ok(code)
    }

    /// Twice the slots, every code placed again (`place_again`).
    fn grow(&mut self) {
        self.place_again(self.slots.len() * 2);
    }

    /// Room for `more` new values without growing: the slots for them
    /// laid out at once, rather than doubled and placed again step by step
    /// as they come (leads at scale 1000: 3.2M new ids, grown 13 times).
    fn reserve(&mut self, more: usize) {
        let wanted = ((self.values.len() + more) * 2 + 1).next_power_of_two().max(FIRST_SLOTS);
        if wanted > self.slots.len() {
            self.place_again(wanted);
        }
        self.values.reserve(more);
    }

    /// `len` slots (a power of two), every code placed again (in code
    /// order, hashing its value).
    fn place_again(&mut self, len: usize) {
        let mut slots = vec![0u64; len];
        let mask = slots.len() - 1;
        for code in 0..self.values.len() {
            let hash = self.hash(self.key_of(code as u32));
            let mut i = hash as usize & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = (hash >> 32) << 32 | (code as u64 + 1);
        }
        self.slots = slots;
    }

    /// The value of `code` as a key.
    fn key_of(&self, code: u32) -> Key<'_> {
        let value = self.values[code as usize];
        let len = (value[0] & 0xFFFF_FFFF) as usize;
        if len > INLINE {
            let start = (value[0] >> 32) as usize;
            Key::Long(&self.bytes[start..start + len])
        } else {
            Key::Short(value)
        }
    }

    /// The value of `code`.
    fn text(&self, code: u32) -> PolarsResult<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        let [first, second] = *self.values.get(code as usize).ok_or_else(|| polars_err!(ComputeError: "id code {code} was never handed out"))?;
        let len = (first & 0xFFFF_FFFF) as usize;
        let text = if len > INLINE {
            let start = (first >> 32) as usize;
            std::str::from_utf8(&self.bytes[start..start + len]).map(Cow::Borrowed)
        } else {
            // a view: the length, then the value's bytes (little-endian, as Polars lays it out)
            let view = (first as u128 | (second as u128) << 64).to_le_bytes();
            std::str::from_utf8(&view[4..4 + len]).map(|s| Cow::Owned(s.to_string()))
        };
        text.map_err(|e| polars_err!(ComputeError: "id code {code}: {e}"))
    }
}

/// The fronts of the kinds coded so far, kept while an input is being
/// coded (`Coding`).
static FRONTS: std::sync::LazyLock<std::sync::Mutex<Fronts>> = std::sync::LazyLock::new(Default::default);

/// Each kind's front, by kind.
type Fronts = BTreeMap<(&'static str, &'static str), Arc<std::sync::Mutex<Front>>>;

/// The front of kind `kind`, new where there is none. Never waits for a
/// front another column is being coded with.
fn front_of(kind: (&'static str, &'static str)) -> Arc<std::sync::Mutex<Front>> {
    locked(&FRONTS).entry(kind).or_default().clone()
}

/// Makes room in the fronts of the kinds `table` is the key of (its
/// `lead_id` for lead ids, ...) for `records` new ids, before its rows are
/// coded (`Front::reserve`).
pub fn reserve_keys(table: &str, records: usize) {
    let Some(spec) = TABLES.iter().find(|t| t.name == table) else { return };
    for c in spec.columns {
        if let Some(kind) = id_kind(table, c.name).filter(|k| *k == (spec.name, c.name)) {
            locked(&front_of(kind)).reserve(records);
        }
    }
}

/// The inputs being read and validated now (`Coding`).
static CODING: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

/// An input being coded, from its reading (`load::RawInput` holds one) to
/// its ids' own codes (`validate` drops it then): the load codes' fronts
/// are kept while any input holds one (inputs read side by side, as the
/// tests do, share them: a code names one id in each), and dropped with
/// the last.
#[derive(Debug)]
pub struct Coding(());

impl Default for Coding {
    fn default() -> Coding {
        *locked(&CODING) += 1;
        Coding(())
    }
}

impl Drop for Coding {
    fn drop(&mut self) {
        let mut coding = locked(&CODING);
        *coding -= 1;
        if *coding == 0 {
            locked(&FRONTS).clear();
        }
    }
}

/// Whether `c` holds dictionary codes (a coded enum may be an Enum).
fn is_code(c: &Column) -> bool {
    matches!(c.dtype(), DataType::Categorical(..) | DataType::Enum(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lead ids as own codes below `bound` at least (`own_bound`: the
    /// largest any input of this process was coded with).
    fn lead_codes_below(bound: u64) {
        let mut bounds = locked(&OWN_BOUNDS);
        let b = bounds.entry(("leads", "lead_id")).or_insert(0);
        *b = (*b).max(bound);
    }

    /// UTC timestamps, as the input's are held.
    const UTC: DataType = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));

    /// A frame of lead codes and timestamps (microseconds).
    fn touches(leads: Vec<Option<u32>>, at: Vec<Option<i64>>) -> DataFrame {
        let at = Int64Chunked::from_iter_options("at".into(), at.into_iter()).into_series().cast(&UTC).unwrap();
        df!("lead_id" => leads, "at" => at).unwrap()
    }

    /// The first touch of each lead, worked by hand: lead 0 at 5 and 3
    /// (3), lead 2 at 7 (a null time beside it counts for nothing), lead
    /// 4 at -1 and 9 (-1, before 1970); lead 1 has none, nor has lead 3
    /// (only a null time), and a row without a lead counts for none.
    #[test]
    fn least_by_code_by_hand() {
        lead_codes_below(5);
        let df = touches(
            vec![Some(0), Some(2), Some(0), Some(3), Some(4), Some(4), None, Some(2)],
            vec![Some(5), Some(7), Some(3), None, Some(9), Some(-1), Some(1), None],
        );
        let least = least_by_code(&df, "lead_id", "at").unwrap();
        assert_eq!(least.column("at").unwrap().dtype(), &UTC);
        let codes: Vec<Option<u32>> = least.column("lead_id").unwrap().u32().unwrap().iter().collect();
        let at: Vec<Option<i64>> = least.column("at").unwrap().as_materialized_series().to_physical_repr().i64().unwrap().iter().collect();
        assert_eq!(codes, [Some(0), Some(2), Some(4)]);
        assert_eq!(at, [Some(3), Some(7), Some(-1)]);
        // not own codes (text, or a column no id kind is named by): none
        let text = df!("lead_id" => ["L1"], "at" => [1i64]).unwrap();
        assert!(least_by_code(&text, "lead_id", "at").is_none());
        let unnamed = df!("no_id" => [1u32], "at" => [1i64]).unwrap();
        assert!(least_by_code(&unnamed, "no_id", "at").is_none());
    }

    proptest::proptest! {
        #![proptest_config(crate::unit_proptest_config("tests/proptest-regressions/ids.txt"))]
        /// Whatever the rows, the frame is Polars' group-by minimum, in code order.
        #[test]
        fn least_by_code_is_the_group_by_minimum(
            rows in proptest::collection::vec((proptest::option::weighted(0.9, 0u32..40), proptest::option::weighted(0.9, -1_000i64..1_000)), 0..200),
        ) {
            lead_codes_below(40);
            let (leads, at): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
            let df = touches(leads, at);
            let least = least_by_code(&df, "lead_id", "at").unwrap();
            let grouped = df
                .lazy()
                .filter(col("lead_id").is_not_null().and(col("at").is_not_null()))
                .group_by([col("lead_id")])
                .agg([col("at").min()])
                .sort(["lead_id"], Default::default())
                .collect()
                .unwrap();
            proptest::prop_assert!(least.equals(&grouped), "{least}\n{grouped}");
        }
    }

    /// A front with room reserved takes that many new ids without growing,
    /// and hands each its code in the order first read, a repeat its first
    /// code, as a front that grows does.
    #[test]
    fn a_front_with_room_reserved_codes_as_one_that_grows() {
        let ids: Vec<String> = (0..5000).map(|i| format!("L{:08}", i % 3000)).chain((0..40).map(|i| format!("a long id of more than twelve bytes {i}"))).collect();
        let keys: Vec<Option<Key>> = ids.iter().map(|id| Some(if id.len() <= INLINE { Key::short(inline_view(id)) } else { Key::Long(id.as_bytes()) })).chain([None]).collect();
        let (mut grown, mut reserved) = (Front::default(), Front::default());
        reserved.reserve(3040);
        let slots = reserved.slots.len();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        grown.codes(&keys, &mut a).unwrap();
        reserved.codes(&keys, &mut b).unwrap();
        assert_eq!(reserved.slots.len(), slots, "grew although room was reserved");
        assert_eq!(slots, 8192); // the next power of two above twice 3,040
        assert_eq!(a, b);
        assert_eq!((a[0], a[2999], a[3000], a[5039], a[5040]), (0, 2999, 0, 3039, 0));
        assert_eq!(reserved.text(3001).unwrap(), "a long id of more than twelve bytes 1");
        assert_eq!(reserved.text(7).unwrap(), "L00000007");
    }
}
