//! Ids as dictionary codes (`salesrelay::ids`): the tables are joined on
//! codes while the metrics run, and every output, SQL included, gives the
//! ids as text, sorted as text sorts.

use polars::prelude::*;
use proptest::prelude::*;
use salesrelay::ids::{decode, encode_built, id_type, id_type_named, is_id, segment_type};

use crate::kpi::tables;
use crate::util::{load, strs, tiny};

#[test]
fn joined_ids_are_codes_and_unnamed_keys_stay_text() {
    let v = load(&tiny(), false);
    let acts = &v.tables["activities"];
    for c in ["rep_id", "account_id", "lead_id", "opportunity_id"] {
        assert!(matches!(acts.column(c).unwrap().dtype(), DataType::Categorical(..)), "activities.{c}");
    }
    // nothing names an activity: its key stays text
    assert_eq!(acts.column("activity_id").unwrap().dtype(), &DataType::String);
    assert!(matches!(v.tables["accounts"].column("account_id").unwrap().dtype(), DataType::Categorical(..)));
    assert!(is_id("handoffs", "to_rep_id") && is_id("reps", "rep_id"));
    assert!(!is_id("handoffs", "handoff_id") && !is_id("dsr_views", "view_id") && !is_id("activities", "kind"));
    // the codes give back the file's text: the first two activities (T1, T2) are R1's on A1 and L1
    let text = decode(acts.clone()).unwrap();
    assert_eq!(strs(&text, "rep_id")[..2], [Some("R1".to_string()), Some("R1".to_string())]);
    assert_eq!(strs(&text, "account_id")[0].as_deref(), Some("A1"));
    assert_eq!(strs(&text, "lead_id")[0].as_deref(), Some("L1"));
    assert_eq!(strs(&text, "opportunity_id")[0], None);
}

/// Each kind of id has its own dictionary, shared by every column naming
/// that key; the segments and enums have Polars' global one.
#[test]
fn each_kind_of_id_has_one_dictionary() {
    let v = load(&tiny(), false);
    let t = |table: &str, c: &str| v.tables[table].column(c).unwrap().dtype().clone();
    let reps = t("reps", "rep_id");
    for (table, c) in [("activities", "rep_id"), ("leads", "owner_rep_id"), ("handoffs", "to_rep_id"), ("handoffs", "from_rep_id"), ("opportunities", "owner_rep_id")] {
        assert_eq!(t(table, c), reps, "{table}.{c}");
    }
    assert_eq!(t("activities", "lead_id"), t("leads", "lead_id"));
    assert_eq!(t("dsr_views", "opportunity_id"), t("opportunities", "opportunity_id"));
    assert_eq!(t("leads", "account_id"), id_type("accounts", "account_id"));
    assert_ne!(t("leads", "lead_id"), t("accounts", "account_id"));
    assert_ne!(t("leads", "lead_id"), reps);
    assert_eq!(id_type_named("owner_rep_id"), reps);
    assert_eq!(id_type("activities", "activity_id"), DataType::String);
    // a coded enum that is a segment (the lead's source) is a segment code, in none of the ids' dictionaries
    assert_eq!(t("leads", "source"), segment_type());
    assert_ne!(segment_type(), reps);
    // the others are a Polars Enum of the contract's values, sorted, so that they sort as their text
    for (table, c, values) in [("activities", "kind", salesrelay::contract::KINDS), ("dsr_views", "asset", salesrelay::contract::ASSETS)] {
        let DataType::Enum(categories, _) = t(table, c) else { panic!("{table}.{c} is {:?}", t(table, c)) };
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        assert_eq!(categories.categories().values_iter().collect::<Vec<_>>(), sorted, "{table}.{c}");
    }
}

/// A lookup between columns of two dictionaries (where one code names
/// different values) never gathers by code: Polars refuses the join on
/// the values' types instead of giving another id's values.
#[test]
fn a_lookup_across_dictionaries_is_refused() {
    use salesrelay::metrics::events::looked_up;
    let as_kind = |values: &[&str], table: &str, c: &str| {
        df!("k" => values).unwrap().lazy().with_column(col("k").cast(id_type(table, c))).with_row_index("one", None)
    };
    // reps' dictionary and accounts' dictionary see the texts in other orders
    let table = as_kind(&["QX2", "QX1"], "reps", "rep_id");
    let rows = as_kind(&["QX1", "QX2", "QX3"], "accounts", "account_id").select([col("k")]);
    assert!(looked_up(rows.clone(), "k", table.clone(), &["one"]).collect().is_err());
    // in one dictionary: QX1 is the table's row 1, QX2 its row 0, QX3 none
    let rows = as_kind(&["QX1", "QX2", "QX3"], "reps", "rep_id").select([col("k")]);
    let got = looked_up(rows, "k", table, &["one"]).collect().unwrap();
    assert_eq!(got.column("one").unwrap().idx().unwrap().iter().collect::<Vec<_>>(), [Some(1), Some(0), None]);
}

#[test]
fn output_tables_give_ids_as_text() {
    let all = tables(&tiny());
    let mut with_ids = 0;
    for (name, df) in &all {
        for c in df.columns() {
            assert!(!matches!(c.dtype(), DataType::Categorical(..)), "{name}.{} is still a code", c.name());
            if c.name().ends_with("_id") {
                with_ids += 1;
                assert_eq!(c.dtype(), &DataType::String, "{name}.{}", c.name());
            }
        }
    }
    assert!(with_ids >= 5, "tables with id columns: {with_ids}");
}

#[test]
fn a_frame_built_outside_polars_joins_the_tables() {
    let v = load(&tiny(), false);
    let built = encode_built(df!("account_id" => ["A1", "A2"], "note" => ["x", "y"]).unwrap()).unwrap();
    assert!(matches!(built.column("account_id").unwrap().dtype(), DataType::Categorical(..)));
    assert_eq!(built.column("note").unwrap().dtype(), &DataType::String);
    let joined = v.tables["accounts"]
        .clone()
        .lazy()
        .join(built.lazy(), [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Inner))
        .collect()
        .unwrap();
    assert_eq!(joined.height(), 2);
}

proptest! {
    /// Codes are handed out in the order values are first seen, yet a
    /// sort by the coded column orders as text does, and decoding gives
    /// every value back.
    #[test]
    fn codes_sort_as_text_and_decode_to_it(values in proptest::collection::vec("[A-Z]{1,3}[0-9]{0,4}", 1..60)) {
        let df = df!("x" => values.clone()).unwrap();
        let coded = df.clone().lazy().with_column(col("x").cast(id_type("leads", "lead_id"))).collect().unwrap();
        let sorted = decode(coded.sort(["x"], Default::default()).unwrap()).unwrap();
        let mut expected = values.clone();
        expected.sort();
        let got: Vec<String> = strs(&sorted, "x").into_iter().flatten().collect();
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
    let rows = encode_built(df!(
        "lead_id" => [Some("LK3"), None, Some("LK1"), Some("LK9"), Some("LK3"), Some("LK2")],
        "n" => [1, 2, 3, 4, 5, 6],
    ).unwrap())
    .unwrap();
    let table = encode_built(df!(
        "lead_id" => ["LK1", "LK2", "LK3", "LK7"],
        "source_id" => [Some("inbound"), None, Some("outbound"), Some("inbound")],
        "score" => [Some(1.5), Some(2.5), None, Some(7.0)],
    ).unwrap())
    .unwrap();
    let join = |rows: &DataFrame, table: &DataFrame| {
        let args = JoinArgs { maintain_order: MaintainOrderJoin::Left, ..JoinArgs::new(JoinType::Left) };
        rows.clone().lazy().join(table.clone().lazy(), [col("lead_id")], [col("lead_id")], args).collect().unwrap()
    };
    let got = looked_up(rows.clone().lazy(), "lead_id", table.clone().lazy(), &["source_id", "score"]).collect().unwrap();
    assert!(got.equals_missing(&join(&rows, &table)), "{got}");
    // by hand: LK3 -> outbound and no score, null -> nothing, LK9 -> nothing, LK2 -> no source, 2.5
    assert_eq!(strs(&decode(got.clone()).unwrap(), "source_id"), [Some("outbound"), None, Some("inbound"), None, Some("outbound"), None].map(|s| s.map(String::from)).to_vec());
    assert_eq!(got.column("score").unwrap().f64().unwrap().iter().collect::<Vec<_>>(), [None, None, Some(1.5), None, None, Some(2.5)]);
    // a repeated key: the join's rows (LK1 twice)
    let twice = encode_built(df!("lead_id" => ["LK1", "LK1", "LK3"], "source_id" => ["a", "b", "c"], "score" => [1.0, 2.0, 3.0]).unwrap()).unwrap();
    let got = looked_up(rows.clone().lazy(), "lead_id", twice.clone().lazy(), &["source_id", "score"]).collect().unwrap();
    assert_eq!(got.height(), 7);
    assert!(got.equals_missing(&join(&rows, &twice)), "{got}");
    // a table row without a key: named by no row (a null id matches nothing)
    let keyless = encode_built(df!("lead_id" => [Some("LK1"), None], "source_id" => ["a", "b"], "score" => [1.0, 2.0]).unwrap()).unwrap();
    let got = looked_up(rows.clone().lazy(), "lead_id", keyless.clone().lazy(), &["source_id", "score"]).collect().unwrap();
    assert!(got.equals_missing(&join(&rows, &keyless)), "{got}");
    assert_eq!(got.column("score").unwrap().f64().unwrap().iter().collect::<Vec<_>>(), [None, None, Some(1.0), None, None, None]);
}

/// `ids::encode_text` against Polars' own cast of `values` (in pieces, one
/// chunk each) to a dictionary of their own: the same text back, equal
/// values one code, different values different codes.
fn coded_as_polars_codes(dictionary: &str, pieces: &[Vec<Option<String>>]) -> Vec<Option<String>> {
    use salesrelay::ids::encode_text;
    let dtype = DataType::from_categories(Categories::new(dictionary.into(), "salesrelay tests".into(), CategoricalPhysical::U32));
    let mut text = Series::new("x".into(), pieces[0].clone());
    for p in &pieces[1..] {
        text.append(&Series::new("x".into(), p.clone())).unwrap();
    }
    let coded = encode_text(&text.clone().into_column(), &dtype).unwrap();
    assert_eq!(coded.dtype(), &dtype);
    assert_eq!((coded.len(), coded.null_count()), (text.len(), text.null_count()));
    // Polars' own cast into the same dictionary gives the same codes
    let cast = text.cast(&dtype).unwrap();
    assert!(coded.to_physical_repr().equals_missing(&cast.to_physical_repr()), "{coded:?} against {cast:?}");
    coded.cast(&DataType::String).unwrap().str().unwrap().iter().map(|v| v.map(String::from)).collect()
}

/// Short ids (held inside Polars' view of them), long ones (over 12 bytes:
/// a Salesforce id), an empty value, nulls, repeats across pieces, and
/// values Polars' cast gave codes before (`encode_built`).
#[test]
fn ids_coded_by_the_front_are_polars_own_codes() {
    let s = |v: &[Option<&str>]| v.iter().map(|x| x.map(String::from)).collect::<Vec<_>>();
    let first = s(&[Some("L1"), Some("0065g00000AbCdEAAZ"), None, Some("L1"), Some(""), Some("L00000000012")]);
    let second = s(&[Some("0065g00000AbCdEAAZ"), Some("L2"), None, Some("L1"), Some("0065g00000AbCdEAAY"), Some("L000000000123")]);
    let back = coded_as_polars_codes("front hand", &[first.clone(), second.clone()]);
    assert_eq!(back, [first, second].concat());
    // a second column of the same dictionary gets the codes handed out already
    let again = coded_as_polars_codes("front hand", &[s(&[Some("L000000000123"), Some("L1"), Some("new")])]);
    assert_eq!(again, s(&[Some("L000000000123"), Some("L1"), Some("new")]));
    // the input's ids keep coding as the tables were coded (a frame built by hand joins them)
    let built = encode_built(df!("lead_id" => ["L9", "L1"]).unwrap()).unwrap();
    let lead = id_type("leads", "lead_id");
    let coded = salesrelay::ids::encode_text(&Column::new("lead_id".into(), ["L1", "L9", "L1"]), &lead).unwrap();
    let codes = |c: &Series| c.to_physical_repr().u32().unwrap().iter().collect::<Vec<_>>();
    let b = codes(built.column("lead_id").unwrap().as_materialized_series());
    assert_eq!(codes(&coded), [b[1], b[0], b[1]]);
}

proptest! {
    /// Any text, in any pieces, codes as Polars' cast codes it and decodes to itself.
    #[test]
    fn the_front_codes_as_polars_does(pieces in proptest::collection::vec(proptest::collection::vec(proptest::option::of("[a-c]{0,3}|[A-Z0-9]{10,15}|é{5,8}"), 0..20), 1..4)) {
        let back = coded_as_polars_codes("front property", &pieces);
        prop_assert_eq!(back, pieces.concat());
    }
}
