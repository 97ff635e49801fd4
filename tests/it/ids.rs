//! Ids as codes (`salesrelay::ids`): load codes while the input is read
//! and checked (each kind's ids numbered as first read, `encode_ids`), then
//! own codes (`Ids::own_codes`: the id's place among its kind's ids sorted
//! as text), so the
//! tables are joined, grouped and sorted on integers while the metrics
//! run, and every output, SQL included, gives the ids as text, sorted as
//! text sorts.

use polars::prelude::*;
use proptest::prelude::*;
use salesrelay::ids::{id_type, id_type_named, is_id, segment_type, CODE_TYPE};

use crate::kpi::tables;
use crate::util::{load, own_coded, strs, text, tiny};

#[test]
fn joined_ids_are_codes_and_unnamed_keys_stay_text() {
    let v = load(&tiny(), false);
    let acts = &v.tables["activities"];
    for c in ["rep_id", "account_id", "lead_id", "opportunity_id"] {
        assert_eq!(acts.column(c).unwrap().dtype(), &CODE_TYPE, "activities.{c}");
    }
    // nothing names an activity: its key stays text
    assert_eq!(acts.column("activity_id").unwrap().dtype(), &DataType::String);
    assert_eq!(v.tables["accounts"].column("account_id").unwrap().dtype(), &CODE_TYPE);
    assert!(is_id("handoffs", "to_rep_id") && is_id("reps", "rep_id"));
    assert!(!is_id("handoffs", "handoff_id") && !is_id("dsr_views", "view_id") && !is_id("activities", "kind"));
    // the codes give back the file's text: the first two activities (T1, T2) are R1's on A1 and L1
    let text = text(&v, "activities");
    assert_eq!(strs(&text, "rep_id")[..2], [Some("R1".to_string()), Some("R1".to_string())]);
    assert_eq!(strs(&text, "account_id")[0].as_deref(), Some("A1"));
    assert_eq!(strs(&text, "lead_id")[0].as_deref(), Some("L1"));
    assert_eq!(strs(&text, "opportunity_id")[0], None);
}

/// Each kind of id has its own dictionary, shared by every column naming
/// that key, in which an id's code is its place among the kind's ids
/// sorted as text; the segments and enums keep Polars' types.
#[test]
fn each_kind_of_id_has_one_dictionary() {
    let v = load(&tiny(), false);
    let t = |table: &str, c: &str| v.tables[table].column(c).unwrap().dtype().clone();
    // a code is the id's place in the sorted ids of its kind: the reps' ids, in file order, by their codes
    let reps = strs(&text(&v, "reps"), "rep_id");
    let codes: Vec<u32> = v.tables["reps"].column("rep_id").unwrap().u32().unwrap().iter().flatten().collect();
    let mut sorted = reps.clone();
    sorted.sort();
    for (id, code) in reps.iter().zip(&codes) {
        assert_eq!(&sorted[*code as usize], id);
    }
    // one dictionary for every column naming a rep: a code names one rep in each
    let code_of = |table: &str, c: &str, id: &str| {
        let text = strs(&text(&v, table), c);
        let i = text.iter().position(|x| x.as_deref() == Some(id)).unwrap_or_else(|| panic!("{table}.{c} has no {id}"));
        v.tables[table].column(c).unwrap().u32().unwrap().get(i)
    };
    for (table, c) in [("activities", "rep_id"), ("leads", "owner_rep_id"), ("handoffs", "to_rep_id"), ("opportunities", "owner_rep_id")] {
        let id = strs(&text(&v, table), c).into_iter().flatten().next().unwrap();
        assert_eq!(code_of(table, c, &id), code_of("reps", "rep_id", &id), "{table}.{c} {id}");
    }
    assert_eq!(code_of("activities", "lead_id", "L1"), code_of("leads", "lead_id", "L1"));
    assert_eq!(id_type_named("owner_rep_id"), id_type("reps", "rep_id"));
    assert_eq!(id_type("activities", "activity_id"), DataType::String);
    // a coded enum that is a segment (the lead's source) is a segment code
    assert_eq!(t("leads", "source"), segment_type());
    // the others are a Polars Enum of the contract's values, sorted, so that they sort as their text
    for (table, c, values) in [("activities", "kind", salesrelay::contract::KINDS), ("dsr_views", "asset", salesrelay::contract::ASSETS)] {
        let DataType::Enum(categories, _) = t(table, c) else { panic!("{table}.{c} is {:?}", t(table, c)) };
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        assert_eq!(categories.categories().values_iter().collect::<Vec<_>>(), sorted, "{table}.{c}");
    }
}

/// A lookup by code stands in for a join only between columns of one kind
/// of id: in one kind, QX1 is the table's row 1, QX2 its row 0, QX3 none; a
/// key of text against codes is refused by Polars instead of matching
/// anything.
#[test]
fn a_lookup_by_code_needs_one_kind() {
    use salesrelay::ids::{encode_ids, Coding};
    use salesrelay::metrics::events::looked_up;
    let _coding = Coding::default();
    let reps = |values: &[&str]| {
        let codes = encode_ids(&Series::new("rep_id".into(), values), ("reps", "rep_id")).unwrap();
        DataFrame::new_infer_height(vec![codes.into_series().into_column()]).unwrap().lazy()
    };
    let table = reps(&["QX2", "QX1"]).with_row_index("one", None);
    let got = looked_up(reps(&["QX1", "QX2", "QX3"]), "rep_id", table.clone(), &["one"]).collect().unwrap();
    assert_eq!(got.column("one").unwrap().idx().unwrap().iter().collect::<Vec<_>>(), [Some(1), Some(0), None]);
    let text = df!("rep_id" => ["QX1"]).unwrap().lazy();
    assert!(looked_up(text, "rep_id", table, &["one"]).collect().is_err());
}

#[test]
fn output_tables_give_ids_as_text() {
    let all = tables(&tiny());
    let mut with_ids = 0;
    for (name, df) in &all {
        for c in df.columns() {
            assert!(!matches!(c.dtype(), DataType::Categorical(..) | DataType::Enum(..)), "{name}.{} is still a code", c.name());
            if c.name().ends_with("_id") {
                with_ids += 1;
                assert_eq!(c.dtype(), &DataType::String, "{name}.{}", c.name());
            }
        }
    }
    assert!(with_ids >= 5, "tables with id columns: {with_ids}");
}

/// A frame built outside Polars (the visit plan's routes) takes the
/// input's codes by the names of its columns, joins the tables, and names
/// a value that is no id of the input instead of leaving it without one.
#[test]
fn a_frame_built_outside_polars_joins_the_tables() {
    let v = load(&tiny(), false);
    let built = v.ids.encode(df!("account_id" => ["A2", "A1"], "note" => ["x", "y"]).unwrap()).unwrap();
    assert_eq!(built.column("account_id").unwrap().dtype(), &CODE_TYPE);
    assert_eq!(built.column("note").unwrap().dtype(), &DataType::String);
    let joined = v.tables["accounts"]
        .clone()
        .lazy()
        .join(built.lazy(), [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Inner))
        .collect()
        .unwrap();
    assert_eq!(joined.height(), 2);
    let back = v.ids.decode(joined.sort(["account_id"], Default::default()).unwrap()).unwrap();
    assert_eq!(strs(&back, "account_id"), [Some("A1".to_string()), Some("A2".to_string())]);
    assert_eq!(strs(&back, "note"), [Some("y".to_string()), Some("x".to_string())]);
    let unknown = v.ids.encode(df!("account_id" => [Some("A1"), None, Some("A99")]).unwrap()).unwrap_err();
    assert!(unknown.to_string().contains("\"A99\" is no id of the input"), "{unknown}");
}

proptest! {
    /// Own codes sort as their text does, and decoding gives every value
    /// back (nulls staying null), whichever order the values came in.
    #[test]
    fn codes_sort_as_text_and_decode_to_it(values in proptest::collection::vec(proptest::option::of("[A-Z]{1,3}[0-9]{0,4}|[a-z0-9]{13,16}"), 1..60)) {
        let (frames, ids) = own_coded(vec![("leads", df!("lead_id" => values.clone()).unwrap())]);
        let coded = &frames[0];
        prop_assert_eq!(coded.column("lead_id").unwrap().dtype(), &CODE_TYPE);
        prop_assert_eq!(strs(&ids.decode(coded.clone()).unwrap(), "lead_id"), values.clone());
        let sorted = ids.decode(coded.sort(["lead_id"], SortMultipleOptions::default().with_nulls_last(true)).unwrap()).unwrap();
        let mut expected: Vec<String> = values.iter().flatten().cloned().collect();
        expected.sort();
        let got: Vec<String> = strs(&sorted, "lead_id").into_iter().flatten().collect();
        prop_assert_eq!(got, expected);
    }
}

/// `events::looked_up` (a lookup by code standing in for a left join that
/// keeps the rows in order) against the join itself: ids the table lacks,
/// null ids, table rows nobody names, a key the table repeats (which the
/// join answers with one row per match) and a table row without a key.
#[test]
fn a_lookup_by_code_gives_what_the_left_join_gives() {
    use salesrelay::metrics::events::looked_up;
    // all four frames in one dictionary, as the tables of one input are
    let (frames, ids) = own_coded(vec![
        ("activities", df!("lead_id" => [Some("LK3"), None, Some("LK1"), Some("LK9"), Some("LK3"), Some("LK2")], "n" => [1, 2, 3, 4, 5, 6]).unwrap()),
        ("leads", df!(
            "lead_id" => ["LK1", "LK2", "LK3", "LK7"],
            "source_id" => [Some("inbound"), None, Some("outbound"), Some("inbound")],
            "score" => [Some(1.5), Some(2.5), None, Some(7.0)],
        ).unwrap()),
        ("handoffs", df!("lead_id" => ["LK1", "LK1", "LK3"], "source_id" => ["a", "b", "c"], "score" => [1.0, 2.0, 3.0]).unwrap()),
        ("dsr_views", df!("lead_id" => [Some("LK1"), None], "source_id" => ["a", "b"], "score" => [1.0, 2.0]).unwrap()),
    ]);
    let [rows, table, twice, keyless] = <[DataFrame; 4]>::try_from(frames).unwrap();
    assert_eq!(rows.column("lead_id").unwrap().dtype(), &CODE_TYPE);
    let join = |rows: &DataFrame, table: &DataFrame| {
        let args = JoinArgs { maintain_order: MaintainOrderJoin::Left, ..JoinArgs::new(JoinType::Left) };
        rows.clone().lazy().join(table.clone().lazy(), [col("lead_id")], [col("lead_id")], args).collect().unwrap()
    };
    let got = looked_up(rows.clone().lazy(), "lead_id", table.clone().lazy(), &["source_id", "score"]).collect().unwrap();
    assert!(got.equals_missing(&join(&rows, &table)), "{got}");
    // by hand: LK3 -> outbound and no score, null -> nothing, LK9 -> nothing, LK2 -> no source, 2.5
    assert_eq!(strs(&ids.decode(got.clone()).unwrap(), "source_id"), [Some("outbound"), None, Some("inbound"), None, Some("outbound"), None].map(|s| s.map(String::from)).to_vec());
    assert_eq!(got.column("score").unwrap().f64().unwrap().iter().collect::<Vec<_>>(), [None, None, Some(1.5), None, None, Some(2.5)]);
    // a repeated key: the join's rows (LK1 twice)
    let got = looked_up(rows.clone().lazy(), "lead_id", twice.clone().lazy(), &["source_id", "score"]).collect().unwrap();
    assert_eq!(got.height(), 7);
    assert!(got.equals_missing(&join(&rows, &twice)), "{got}");
    // a table row without a key: named by no row (a null id matches nothing)
    let got = looked_up(rows.clone().lazy(), "lead_id", keyless.clone().lazy(), &["source_id", "score"]).collect().unwrap();
    assert!(got.equals_missing(&join(&rows, &keyless)), "{got}");
    assert_eq!(got.column("score").unwrap().f64().unwrap().iter().collect::<Vec<_>>(), [None, None, Some(1.0), None, None, None]);
}

/// `events::looked_up_found` (the lookup by code standing in for an inner
/// join) keeps the rows whose id the table holds, in their order, even
/// where the values looked up are null, and leaves out null ids and ids
/// the table lacks.
#[test]
fn a_lookup_that_keeps_the_found_rows_gives_what_the_inner_join_gives() {
    use salesrelay::metrics::events::looked_up_found;
    let (frames, ids) = own_coded(vec![
        ("activities", df!("lead_id" => [Some("LF3"), None, Some("LF1"), Some("LF9"), Some("LF3"), Some("LF2")], "n" => [1, 2, 3, 4, 5, 6]).unwrap()),
        ("leads", df!(
            "lead_id" => ["LF1", "LF2", "LF3", "LF7"],
            "source_id" => [Some("inbound"), None, Some("outbound"), Some("inbound")],
            "score" => [Some(1.5), Some(2.5), None, Some(7.0)],
        ).unwrap()),
    ]);
    let [rows, table] = <[DataFrame; 2]>::try_from(frames).unwrap();
    let got = looked_up_found(rows.clone().lazy(), "lead_id", table.clone().lazy(), &["source_id", "score"]).collect().unwrap();
    let args = JoinArgs { maintain_order: MaintainOrderJoin::Left, ..JoinArgs::new(JoinType::Inner) };
    let joined = rows.lazy().join(table.lazy(), [col("lead_id")], [col("lead_id")], args).collect().unwrap();
    assert!(got.equals_missing(&joined), "{got}");
    // by hand: rows 1 (LF3), 3 (LF1), 5 (LF3) and 6 (LF2, its source null) stay; the null id and LF9 go
    assert_eq!(got.column("n").unwrap().i32().unwrap().iter().collect::<Vec<_>>(), [Some(1), Some(3), Some(5), Some(6)]);
    assert_eq!(strs(&ids.decode(got.clone()).unwrap(), "source_id"), [Some("outbound"), Some("inbound"), Some("outbound"), None].map(|s| s.map(String::from)).to_vec());
    assert_eq!(got.column("score").unwrap().f64().unwrap().iter().collect::<Vec<_>>(), [None, Some(1.5), None, Some(2.5)]);
    assert_eq!(got.get_column_names(), joined.get_column_names(), "no flag column left behind");
}

/// `values` (in pieces, one chunk each) coded by `ids::encode_ids` as ids
/// of kind `kind`: the codes, checked to name equal values alike and
/// different values differently, and the text they decode to.
fn coded_by_the_front(kind: (&'static str, &'static str), pieces: &[Vec<Option<String>>]) -> (Vec<Option<u32>>, Vec<Option<String>>) {
    use salesrelay::ids::{decode_load_codes, encode_ids};
    let mut text = Series::new("x".into(), pieces[0].clone());
    for p in &pieces[1..] {
        text.append(&Series::new("x".into(), p.clone())).unwrap();
    }
    let coded = encode_ids(&text, kind).unwrap();
    assert_eq!((coded.len(), coded.null_count()), (text.len(), text.null_count()));
    let codes: Vec<Option<u32>> = coded.iter().collect();
    let values: Vec<Option<&str>> = text.str().unwrap().iter().collect();
    for (i, (a, x)) in codes.iter().zip(&values).enumerate() {
        for (b, y) in codes[i..].iter().zip(&values[i..]) {
            if let (Some(a), Some(b), Some(x), Some(y)) = (a, b, x, y) {
                assert_eq!(a == b, x == y, "{x:?} has code {a}, {y:?} code {b}");
            }
        }
    }
    let back = decode_load_codes(&coded, kind).unwrap().iter().map(|v| v.map(String::from)).collect();
    (codes, back)
}

/// Short ids (held inside Polars' view of them), long ones (over 12 bytes:
/// a Salesforce id), an empty value, nulls and repeats across pieces, in a
/// kind of their own: codes from 0 in the order the values come, each
/// value one code, and the text back. A second column of the kind gets the
/// codes handed out already.
#[test]
fn the_front_numbers_ids_as_first_read() {
    let _coding = salesrelay::ids::Coding::default();
    let kind = ("front tests", "hand");
    let s = |v: &[Option<&str>]| v.iter().map(|x| x.map(String::from)).collect::<Vec<_>>();
    let first = s(&[Some("L1"), Some("0065g00000AbCdEAAZ"), None, Some("L1"), Some(""), Some("L00000000012")]);
    let second = s(&[Some("0065g00000AbCdEAAZ"), Some("L2"), None, Some("L1"), Some("0065g00000AbCdEAAY"), Some("L000000000123")]);
    let (codes, back) = coded_by_the_front(kind, &[first.clone(), second.clone()]);
    assert_eq!(codes, [Some(0), Some(1), None, Some(0), Some(2), Some(3), Some(1), Some(4), None, Some(0), Some(5), Some(6)]);
    assert_eq!(back, [first, second].concat());
    let (codes, back) = coded_by_the_front(kind, &[s(&[Some("L000000000123"), Some("L1"), Some("new")])]);
    assert_eq!(codes, [Some(6), Some(0), Some(7)]);
    assert_eq!(back, s(&[Some("L000000000123"), Some("L1"), Some("new")]));
}

proptest! {
    /// Any text, in any pieces, codes equal values alike and different
    /// values differently, and decodes to itself.
    #[test]
    fn the_front_codes_each_value_once(pieces in proptest::collection::vec(proptest::collection::vec(proptest::option::of("[a-c]{0,3}|[A-Z0-9]{10,15}|é{5,8}"), 0..20), 1..4)) {
        let _coding = salesrelay::ids::Coding::default();
        let (_, back) = coded_by_the_front(("front tests", "property"), &pieces);
        prop_assert_eq!(back, pieces.concat());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// Thousands of values (short and long, many repeated, nulls between)
    /// in pieces of any size: the front looks values up a block at a time
    /// and grows its index as it goes, yet each value's code is the number
    /// of distinct values read before its first appearance.
    #[test]
    fn the_front_codes_in_first_read_order_across_blocks_and_growth(
        picks in proptest::collection::vec(proptest::option::of(0u32..3000), 1..6000),
        cuts in proptest::collection::vec(1usize..2000, 1..5),
    ) {
        let _coding = salesrelay::ids::Coding::default();
        // every seventh value over 12 bytes (held outside Polars' view)
        let value = |n: u32| if n.is_multiple_of(7) { format!("0065g0000{n:09}") } else { format!("L{n}") };
        let all: Vec<Option<String>> = picks.iter().map(|p| p.map(value)).collect();
        let mut pieces = Vec::new();
        let mut rest = all.as_slice();
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, tail) = rest.split_at((*cut).min(rest.len()));
            pieces.push(piece.to_vec());
            rest = tail;
        }
        // a kind of this case's own: fronts outlive a case while other tests hold theirs
        static CASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let kind: &'static str = Box::leak(format!("blocks {}", CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)).into_boxed_str());
        let (codes, back) = coded_by_the_front(("front tests", kind), &pieces);
        let mut first: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
        let expected: Vec<Option<u32>> = all
            .iter()
            .map(|v| v.as_deref().map(|v| { let next = first.len() as u32; *first.entry(v).or_insert(next) }))
            .collect();
        prop_assert_eq!(codes, expected);
        prop_assert_eq!(back, all);
    }
}

/// Own codes of `values` as lead ids, after `before` were read (ids no
/// column holds): the codes, and the text they give back.
fn own_codes_of(before: &[&str], values: &[Option<&str>]) -> (Vec<Option<u32>>, Vec<Option<String>>) {
    let _coding = salesrelay::ids::Coding::default();
    salesrelay::ids::encode_ids(&Series::new("x".into(), before), ("leads", "lead_id")).unwrap();
    let (frames, ids) = own_coded(vec![("leads", df!("lead_id" => values).unwrap())]);
    let codes = frames[0].column("lead_id").unwrap().u32().unwrap().iter().collect();
    (codes, strs(&ids.decode(frames[0].clone()).unwrap(), "lead_id"))
}

/// Ids read in text order, out of it, or after ids no column holds: each
/// way a code is the id's place among the ids held, sorted as text (the
/// conversion keeps load codes that are that already, closes up the gaps
/// of ids no column holds, or sorts).
#[test]
fn own_codes_of_an_export_in_key_order_and_out_of_it() {
    let text = |v: &[Option<&str>]| v.iter().map(|x| x.map(String::from)).collect::<Vec<_>>();
    let ascending = [Some("L1"), Some("L2"), None, Some("L3"), Some("L2")];
    let (codes, back) = own_codes_of(&[], &ascending);
    assert_eq!(codes, [Some(0), Some(1), None, Some(2), Some(1)]);
    assert_eq!(back, text(&ascending));
    let descending = [Some("L3"), Some("L2"), Some("L1")];
    let (codes, back) = own_codes_of(&[], &descending);
    assert_eq!(codes, [Some(2), Some(1), Some(0)]);
    assert_eq!(back, text(&descending));
    // L0 was read first and no column holds it: L1 and L2 are 0 and 1
    let (codes, back) = own_codes_of(&["L0"], &[Some("L1"), Some("L2")]);
    assert_eq!(codes, [Some(0), Some(1)]);
    assert_eq!(back, text(&[Some("L1"), Some("L2")]));
}

/// Categories of a made-up enum: short ones (held inside Polars' view of
/// a value), one of exactly 12 bytes and longer ones (held outside it).
const ENUM_VALUES: [&str; 7] = ["call", "email", "visit", "appointment_set", "abcdefghijkl", "abcdefghijklm", "é_online"];

/// A text column `kind`, a chunk a piece, each value `values[i]` of the
/// piece's `Some(i)`, null for `None`.
fn text_in_pieces(pieces: &[Vec<Option<usize>>], values: &[&str]) -> Series {
    let mut text = Series::new_empty("kind".into(), &DataType::String);
    for piece in pieces {
        let piece: Vec<Option<&str>> = piece.iter().map(|p| p.map(|i| values[i])).collect();
        text.append_owned(Series::new("kind".into(), piece)).unwrap();
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// A text column of an enum's values (nulls between, in pieces) codes
    /// as Polars' own strict cast codes it: same categories, same nulls.
    #[test]
    fn enum_values_code_as_polars_casts_them(
        pieces in proptest::collection::vec(proptest::collection::vec(proptest::option::of(0usize..ENUM_VALUES.len()), 0..40), 1..4),
    ) {
        let dtype = salesrelay::ids::contract_enum_type(&ENUM_VALUES).unwrap();
        let text = text_in_pieces(&pieces, &ENUM_VALUES);
        let ours = salesrelay::ids::encode_enum(&text, &dtype).unwrap();
        let polars = text.strict_cast(&dtype).unwrap();
        prop_assert_eq!(ours.dtype(), polars.dtype());
        prop_assert!(ours.equals_missing(&polars));
        prop_assert_eq!(ours.to_physical_repr().into_owned(), polars.to_physical_repr().into_owned());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Typing's first reading of an enum column: values of the enum and
    /// others (a prefix, a longer value, a near miss, another case) in
    /// pieces, with nulls, code as Polars' non-strict cast codes them: the
    /// enum's values their codes, every other value null, no error.
    #[test]
    fn values_outside_the_enum_read_as_null_as_polars_casts_them(
        pieces in proptest::collection::vec(proptest::collection::vec(proptest::option::of(0usize..ENUM_VALUES.len() + ODD_VALUES.len()), 0..40), 1..4),
    ) {
        let dtype = salesrelay::ids::contract_enum_type(&ENUM_VALUES).unwrap();
        let all: Vec<&str> = ENUM_VALUES.iter().chain(ODD_VALUES.iter()).copied().collect();
        let text = text_in_pieces(&pieces, &all);
        let ours = salesrelay::ids::encode_enum_or_null(&text, &dtype).unwrap();
        let polars = text.cast(&dtype).unwrap();
        prop_assert_eq!(ours.dtype(), polars.dtype());
        prop_assert_eq!(ours.len(), text.len());
        prop_assert!(ours.equals_missing(&polars));
        let outside = pieces.iter().flatten().filter(|p| p.is_some_and(|i| i >= ENUM_VALUES.len())).count();
        prop_assert_eq!(ours.null_count(), text.null_count() + outside);
    }
}

/// Near misses of `ENUM_VALUES`: a prefix, a value one byte longer, 12 and
/// 14 bytes beside the 12- and 13-byte values, a long value's near miss,
/// another case.
const ODD_VALUES: [&str; 6] = ["cal", "calls", "abcdefghijk", "abcdefghijklmn", "appointment_sex", "Call"];

#[test]
fn a_value_outside_the_enum_is_an_error_naming_it() {
    let dtype = salesrelay::ids::contract_enum_type(&ENUM_VALUES).unwrap();
    // a prefix of a value, a value one byte longer, a long value's near miss
    for odd in ["cal", "calls", "abcdefghijk", "abcdefghijklmn", "appointment_sex"] {
        let text = Series::new("kind".into(), [Some("call"), None, Some(odd)]);
        let err = salesrelay::ids::encode_enum(&text, &dtype).unwrap_err().to_string();
        assert!(err.contains(&format!("\"{odd}\"")) && err.contains("'kind'"), "{odd}: {err}");
    }
}

/// `ids::taken_at`: the value at each row's code, null for a null code
/// or one past the end (worked by hand: values a, b, c).
#[test]
fn taken_at_gives_the_value_at_each_code_null_past_the_end() {
    let values = Series::new("v".into(), ["a", "b", "c"]);
    let codes = df!("code" => [Some(2u32), Some(0), None, Some(3), Some(1), Some(99)]).unwrap();
    let out = codes.clone().lazy().select([salesrelay::ids::taken_at(values.clone(), col("code")).alias("v")]).collect().unwrap();
    assert_eq!(strs(&out, "v"), [Some("c"), Some("a"), None, None, Some("b"), None].map(|s| s.map(str::to_string)));
    // every code in range: no null added; signed codes as well
    let signed = df!("code" => [1i64, 2, 0]).unwrap();
    let out = signed.lazy().select([salesrelay::ids::taken_at(values, col("code")).alias("v")]).collect().unwrap();
    assert_eq!(strs(&out, "v"), [Some("b"), Some("c"), Some("a")].map(|s| s.map(str::to_string)));
}

proptest! {
    /// `ids::taken_at` gives what Polars' own gather with nulls past the
    /// end gives, on any codes, in range or not, and any values.
    #[test]
    fn taken_at_gives_what_a_gather_gives(values in proptest::collection::vec(proptest::option::of(-50i64..50), 1..40), codes in proptest::collection::vec(proptest::option::of(0u32..60), 0..80)) {
        let values = Series::new("v".into(), values);
        let frame = df!("code" => codes).unwrap().lazy();
        let ours = frame.clone().select([salesrelay::ids::taken_at(values.clone(), col("code")).alias("v")]).collect().unwrap();
        let polars = frame.select([lit(values).gather(col("code"), true).alias("v")]).collect().unwrap();
        prop_assert!(ours.equals_missing(&polars), "{} against {}", ours, polars);
    }
}

/// `ids::taken_at` on signed codes: a negative code names nothing (null),
/// where Polars' gather would count it from the end.
#[test]
fn taken_at_gives_null_for_a_negative_code() {
    let values = Series::new("v".into(), [10i64, 20, 30]);
    let codes = df!("code" => [Some(-1i64), Some(0), None, Some(-3)]).unwrap();
    let out = codes.lazy().select([salesrelay::ids::taken_at(values, col("code")).alias("v")]).collect().unwrap();
    let got: Vec<Option<i64>> = out.column("v").unwrap().i64().unwrap().iter().collect();
    assert_eq!(got, [None, Some(10), None, None]);
}
