//! `GroupAgg::group_agg` computes row-by-row sums, and the values a filter
//! under a null-skipping aggregate keeps, before grouping: it must give what
//! `group_by(..).agg(..)` gives, for every aggregate, including those it
//! must leave inside the group-by (a shift within each group, a filtered
//! distinct count, which counts a null as a value).

use polars::prelude::*;
use proptest::prelude::*;
use salesrelay::metrics::{count_if, sum_if, GroupAgg};

/// The aggregates compared: hoistable sums and the ones that must stay.
fn aggregates() -> Vec<Expr> {
    vec![
        count_if(col("kind").eq(lit("call"))).alias("calls"),
        count_if(col("kind").is_in(salesrelay::typing::str_list(&["visit", "online_meeting"]), false)).alias("meetings"),
        sum_if(col("amount"), col("won")).alias("won_amount"),
        sum_if(-col("amount"), col("amount").lt(lit(0.0))).alias("negated"),
        col("amount").sum().alias("amount"),
        len().cast(DataType::Int64).alias("rows"),
        // group-wise: the previous row of the same group, not of the frame
        col("amount").shift(lit(1)).fill_null(lit(0.0)).sum().alias("shifted"),
        col("amount").filter(col("won")).median().alias("won_median"),
        col("lead").filter(col("kind").eq(lit("call"))).n_unique().cast(DataType::Int64).alias("leads_called"),
        // filters under aggregates that skip nulls: the kept values as a column
        col("amount").filter(col("won")).mean().alias("won_mean"),
        salesrelay::metrics::median(col("amount").filter(col("won").not())).alias("lost_lower_median"),
        col("amount").filter(col("kind").eq(lit("call"))).min().alias("call_min"),
        col("amount").filter(col("kind").eq(lit("call"))).max().alias("call_max"),
        (col("amount") * lit(2.0)).filter(col("won")).sum().alias("won_doubled"),
    ]
}

fn frame(rows: &[(u8, u8, i32, bool, u8)]) -> DataFrame {
    let kinds = ["call", "visit", "online_meeting", "email"];
    df!(
        "rep" => rows.iter().map(|r| format!("R{}", r.0)).collect::<Vec<_>>(),
        "kind" => rows.iter().map(|r| kinds[r.1 as usize % 4]).collect::<Vec<_>>(),
        // some amounts and outcomes missing (none of the hand-worked rows'): a filter drops a row
        // whose condition is null
        "amount" => rows.iter().map(|r| (r.2.rem_euclid(97) != 13).then_some(r.2 as f64)).collect::<Vec<_>>(),
        "won" => rows.iter().map(|r| (r.2.rem_euclid(101) != 37).then_some(r.3)).collect::<Vec<_>>(),
        "lead" => rows.iter().map(|r| format!("L{}", r.4)).collect::<Vec<_>>(),
    )
    .unwrap()
}

fn both(df: &DataFrame) -> (DataFrame, DataFrame) {
    let sorted = |lf: LazyFrame| lf.sort(["rep"], Default::default()).collect().unwrap();
    let plain = sorted(df.clone().lazy().group_by([col("rep")]).agg(aggregates()));
    let hoisted = sorted(df.clone().lazy().group_agg([col("rep")], aggregates()));
    (plain, hoisted)
}

#[test]
fn by_hand_on_five_rows() {
    // R1: call 100 won L1, visit 50, call -20 L2; R2: email 10 won, call 5 L1
    let df = frame(&[(1, 0, 100, true, 1), (2, 3, 10, true, 9), (1, 1, 50, false, 7), (1, 0, -20, false, 2), (2, 0, 5, false, 1)]);
    let (plain, hoisted) = both(&df);
    assert!(plain.equals_missing(&hoisted), "{plain}\n{hoisted}");
    let get = |c: &str| hoisted.column(c).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().iter().collect::<Vec<_>>();
    assert_eq!(get("calls"), [Some(2.0), Some(1.0)]);
    assert_eq!(get("meetings"), [Some(1.0), Some(0.0)]);
    assert_eq!(get("won_amount"), [Some(100.0), Some(10.0)]);
    assert_eq!(get("negated"), [Some(20.0), Some(0.0)]);
    // R1's rows in order 100, 50, -20: shifted within R1 = 0 + 100 + 50; R2's 10, 5: 0 + 10
    assert_eq!(get("shifted"), [Some(150.0), Some(10.0)]);
    assert_eq!(get("won_median"), [Some(100.0), Some(10.0)]);
    assert_eq!(get("leads_called"), [Some(2.0), Some(1.0)]);
    assert_eq!(get("won_mean"), [Some(100.0), Some(10.0)]);
    // R1's lost amounts 50, -20: the lower median -20; R2's one 5
    assert_eq!(get("lost_lower_median"), [Some(-20.0), Some(5.0)]);
    assert_eq!(get("call_min"), [Some(-20.0), Some(5.0)]);
    assert_eq!(get("call_max"), [Some(100.0), Some(5.0)]);
    assert_eq!(get("won_doubled"), [Some(200.0), Some(20.0)]);
    // a count of flags is a 64-bit count, as a sum of 64-bit ones was
    assert_eq!(hoisted.column("calls").unwrap().dtype(), &DataType::Int64);
    assert_eq!(hoisted.column("meetings").unwrap().dtype(), &DataType::Int64);
    // the six filters' kept values (__filtered_0..5), then the four row-by-row sums (__sum_6..9) were
    // computed before grouping; a column's sum, the shift and the distinct count inside it
    let plan = df.lazy().group_agg([col("rep")], aggregates()).describe_plan().unwrap();
    assert!(plan.contains("__filtered_5") && !plan.contains("__filtered_6"), "{plan}");
    assert!(plan.contains("__sum_9") && !plan.contains("__sum_10"), "{plan}");
}

proptest! {
    #[test]
    fn group_agg_equals_group_by(rows in proptest::collection::vec((0u8..4, 0u8..4, -1000i32..1000, any::<bool>(), 0u8..6), 1..60)) {
        let (plain, hoisted) = both(&frame(&rows));
        prop_assert!(plain.equals_missing(&hoisted), "{}\n{}", plain, hoisted);
    }
}

/// Two keys, one a categorical (nulls too) and one renamed: the categorical
/// is grouped by its code and taken back, and the result is the plain
/// group-by's, column for column.
fn both_two_keys(df: &DataFrame) -> (DataFrame, DataFrame) {
    let cat = DataType::from_categories(Categories::global());
    let df = df
        .clone()
        .lazy()
        .with_column(when(col("rep").eq(lit("R0"))).then(lit(NULL).cast(DataType::String)).otherwise(col("rep")).cast(cat).alias("rep"))
        .collect()
        .unwrap();
    let by = [col("rep"), col("kind").alias("mode")];
    let sorted = |lf: LazyFrame| lf.sort(["rep", "mode"], SortMultipleOptions::default().with_nulls_last(false)).collect().unwrap();
    let plain = sorted(df.clone().lazy().group_by(by.clone()).agg(aggregates()));
    let coded = sorted(df.lazy().group_agg(by, aggregates()));
    (plain, coded)
}

#[test]
fn two_keys_by_hand() {
    // R0 (null rep): call 100 L1, call 50 L2; R1: call -20 L2, visit 10 L1, call 5 L1
    let df = frame(&[(0, 0, 100, true, 1), (1, 0, -20, false, 2), (0, 0, 50, false, 2), (1, 1, 10, true, 1), (1, 0, 5, true, 1)]);
    let (plain, coded) = both_two_keys(&df);
    assert!(plain.equals_missing(&coded), "{plain}\n{coded}");
    let names: Vec<String> = coded.get_column_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(names[..2], ["rep", "mode"]);
    assert!(matches!(coded.column("rep").unwrap().dtype(), DataType::Categorical(..)));
    let rows = coded.column("rows").unwrap().i64().unwrap().iter().collect::<Vec<_>>();
    assert_eq!(rows, [Some(2), Some(2), Some(1)]); // (null, call), (R1, call), (R1, visit)
    let shifted = coded.column("shifted").unwrap().f64().unwrap().iter().collect::<Vec<_>>();
    assert_eq!(shifted, [Some(100.0), Some(-20.0), Some(0.0)]); // each group's rows in their order
}

proptest! {
    #[test]
    fn two_keys_equal_group_by(rows in proptest::collection::vec((0u8..4, 0u8..4, -1000i32..1000, any::<bool>(), 0u8..6), 1..60)) {
        let (plain, coded) = both_two_keys(&frame(&rows));
        prop_assert!(plain.equals_missing(&coded), "{}\n{}", plain, coded);
    }
}

/// The keys packed into one number (`packed_key`): a categorical with a
/// 32-bit integer, or two categoricals, nulls in either. `k` picks the
/// second key: 0 an Int32 quarter (nulls, negatives and both extremes),
/// 1 a UInt32, 2 a second categorical.
fn both_packed(df: &DataFrame, k: u8) -> (DataFrame, DataFrame) {
    let cat = DataType::from_categories(Categories::global());
    let quarter = when(col("lead").eq(lit("L5")))
        .then(lit(NULL).cast(DataType::Int32))
        .when(col("lead").eq(lit("L4")))
        .then(lit(i32::MIN))
        .when(col("lead").eq(lit("L3")))
        .then(lit(i32::MAX))
        .otherwise((col("amount") / lit(300.0)).floor().cast(DataType::Int32));
    let second = match k {
        0 => quarter,
        1 => col("lead").str().slice(lit(1), lit(1)).cast(DataType::UInt32).alias("q"),
        _ => when(col("lead").eq(lit("L0"))).then(lit(NULL).cast(DataType::String)).otherwise(col("lead")).cast(cat.clone()),
    };
    let df = df
        .clone()
        .lazy()
        .with_columns([
            when(col("rep").eq(lit("R0"))).then(lit(NULL).cast(DataType::String)).otherwise(col("rep")).cast(cat).alias("rep"),
            second.alias("q"),
        ])
        .collect()
        .unwrap();
    let by = [col("rep").alias("rep_id"), col("q")];
    let sorted = |lf: LazyFrame| lf.sort(["rep_id", "q"], SortMultipleOptions::default().with_nulls_last(false)).collect().unwrap();
    let plain = sorted(df.clone().lazy().group_by(by.clone()).agg(aggregates()));
    let lf = df.lazy().group_agg(by, aggregates());
    let plan = lf.describe_plan().unwrap();
    assert!(plan.contains("__key") && !plan.contains("__key_"), "grouped by the packed key alone: {plan}");
    (plain, sorted(lf))
}

#[test]
fn packed_keys_by_hand() {
    // rep R1 and R0 (null); amounts 100, 50 in quarter 0, -20 in quarter -1, 700 in quarter 2; lead L5 has no quarter
    let df = frame(&[(1, 0, 100, true, 1), (1, 0, 50, false, 2), (1, 1, -20, true, 1), (0, 0, 700, false, 1), (0, 0, 10, false, 5), (1, 0, 20, false, 5)]);
    let (plain, packed) = both_packed(&df, 0);
    assert!(plain.equals_missing(&packed), "{plain}\n{packed}");
    // (null, null) (null, 2) (R1, null) (R1, -1) (R1, 0)
    let rows = packed.column("rows").unwrap().i64().unwrap().iter().collect::<Vec<_>>();
    assert_eq!(rows, [Some(1), Some(1), Some(1), Some(1), Some(2)]);
    let q = packed.column("q").unwrap().i32().unwrap().iter().collect::<Vec<_>>();
    assert_eq!(q, [None, Some(2), None, Some(-1), Some(0)]);
    assert!(matches!(packed.column("rep_id").unwrap().dtype(), DataType::Categorical(..)));
}

proptest! {
    #[test]
    fn packed_keys_equal_group_by(rows in proptest::collection::vec((0u8..4, 0u8..4, -1000i32..1000, any::<bool>(), 0u8..6), 1..60), k in 0u8..3) {
        let (plain, packed) = both_packed(&frame(&rows), k);
        prop_assert!(plain.equals_missing(&packed), "{}\n{}", plain, packed);
    }
}

/// `distinct_counts_by_quarter`: per (rep, quarter) of a key frame, the
/// distinct leads counted within each group (the two keys packed by
/// `group_agg`), equal to the plain distinct count, a null lead one value;
/// 0 for a key with no rows.
fn both_distinct(rows: &[(u8, u8, i32)]) -> (DataFrame, DataFrame) {
    let cat = DataType::from_categories(Categories::global());
    let df = df!(
        "rep" => rows.iter().map(|r| (r.0 > 0).then(|| format!("R{}", r.0))).collect::<Vec<_>>(),
        "lead" => rows.iter().map(|r| (r.1 > 0).then(|| format!("L{}", r.1))).collect::<Vec<_>>(),
        "__p" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
    )
    .unwrap()
    .lazy()
    .with_columns([col("rep").cast(cat.clone()), col("lead").cast(cat.clone())]);
    // the keys: every (rep, quarter) of the rows, and one no row has
    let keys = concat(
        [
            df.clone().select([col("rep"), col("__p")]).unique(None, UniqueKeepStrategy::Any),
            df!("rep" => ["R9"], "__p" => [8101i32]).unwrap().lazy().with_column(col("rep").cast(cat)),
        ],
        UnionArgs::default(),
    )
    .unwrap();
    let order = ["rep", "__p"];
    let sorted = |lf: LazyFrame| lf.select([col("rep"), col("__p"), col("n")]).sort(order, SortMultipleOptions::default().with_nulls_last(false)).collect().unwrap();
    let counts = df.clone().unique(None, UniqueKeepStrategy::Any).group_by([col("rep"), col("__p")]).agg([len().cast(DataType::Int64).alias("counted")]);
    let plain = sorted(
        keys.clone()
            .join(counts, [col("rep"), col("__p")], [col("rep"), col("__p")], JoinArgs { nulls_equal: true, ..JoinArgs::new(JoinType::Left) })
            .with_column(col("counted").fill_null(lit(0i64)).alias("n")),
    );
    let packed = sorted(salesrelay::metrics::distinct_counts_by_quarter(df, "rep", "lead", keys, "n"));
    (plain, packed)
}

#[test]
fn distinct_counts_by_quarter_by_hand() {
    // (R1, L1, 8100) twice, (R1, L1, 8101), (R2, L1, 8100), (R1, L2, 8100);
    // (R1, L1, 8099) twice, and a null lead twice
    let rows = [(1, 1, 8100), (1, 1, 8100), (1, 1, 8101), (2, 1, 8100), (1, 2, 8100), (1, 1, 8099), (1, 1, 8099), (1, 0, 8100), (1, 0, 8100)];
    let (plain, packed) = both_distinct(&rows);
    assert!(plain.equals_missing(&packed), "{plain}\n{packed}");
    let n: Vec<Option<i64>> = packed.column("n").unwrap().i64().unwrap().iter().collect();
    // sorted by rep, quarter: R1 8099 (L1), R1 8100 (L1, L2, null), R1 8101 (L1), R2 8100 (L1), R9 8101 (none)
    assert_eq!(n, [Some(1), Some(3), Some(1), Some(1), Some(0)]);
}

proptest! {
    #[test]
    fn distinct_counts_by_quarter_equal_plain_counts(rows in proptest::collection::vec((0u8..4, 0u8..5, 8098i32..8106), 1..80)) {
        let (plain, packed) = both_distinct(&rows);
        prop_assert!(plain.equals_missing(&packed), "{}\n{}", plain, packed);
    }
}

/// Four keys packed into one number (`packed_keys`): a quarter (Int32) and
/// three categoricals, nulls in each, each categorical's code in 10 bits.
/// `big`: the third categorical from a dictionary already holding 1,100
/// values, so the codes of some rows' values (`X1050`, `X1099`) are too
/// large for their bits: those rows are grouped plainly, the others packed,
/// and the union is the plain group-by's.
fn both_four_keys(df: &DataFrame, big: bool) -> (DataFrame, DataFrame, String) {
    let cat = DataType::from_categories(Categories::global());
    let third = if big {
        let dtype = DataType::from_categories(Categories::new("test.four_keys".into(), "salesrelay tests".into(), CategoricalPhysical::U32));
        // the dictionary's first 1,100 codes, X0 .. X1099
        let filled = Series::new("x".into(), (0..1100).map(|i| format!("X{i}")).collect::<Vec<_>>()).cast(&dtype).unwrap();
        let code = |i: usize| filled.to_physical_repr().cast(&DataType::UInt32).unwrap().u32().unwrap().get(i).unwrap();
        assert!(code(1050) > 1022 && code(1099) > 1022 && code(7) <= 1022, "codes past what 10 bits hold");
        dtype
    } else {
        cat.clone()
    };
    let df = df
        .clone()
        .lazy()
        .with_columns([
            when(col("rep").eq(lit("R0"))).then(lit(NULL).cast(DataType::String)).otherwise(col("rep")).cast(cat.clone()).alias("rep"),
            when(col("kind").eq(lit("email"))).then(lit(NULL).cast(DataType::String)).otherwise(col("kind")).cast(cat).alias("kind"),
            // leads L0..L5 as X3, X1050, null, X1099, X7, X3
            col("lead")
                .replace_strict(
                    lit(Series::new("from".into(), ["L0", "L1", "L2", "L3", "L4", "L5"])),
                    lit(Series::new("to".into(), [Some("X3"), Some("X1050"), None, Some("X1099"), Some("X7"), Some("X3")])),
                    None,
                    Some(DataType::String),
                )
                .cast(third)
                .alias("x"),
            when(col("won")).then(lit(NULL).cast(DataType::Int32)).otherwise((col("amount") / lit(300.0)).floor().cast(DataType::Int32)).alias("q"),
        ])
        .collect()
        .unwrap();
    let by = [col("q").alias("period"), col("rep"), col("kind").alias("mode"), col("x")];
    let order = ["period", "rep", "mode", "x"];
    let sorted = |lf: LazyFrame| lf.sort(order, SortMultipleOptions::default().with_nulls_last(false)).collect().unwrap();
    let plain = sorted(df.clone().lazy().group_by(by.clone()).agg(aggregates()));
    let lf = df.lazy().group_agg(by, aggregates());
    let plan = lf.describe_plan().unwrap();
    (plain, sorted(lf), plan)
}

#[test]
fn four_keys_by_hand() {
    // (q, rep, kind, lead): amounts 100 and 50 share quarter 0, R1, call, L1 (X1050, too large a code);
    // 10 and 20 share quarter 0, R2, email (null), L4 (X7); 700 won (null quarter), R0 (null rep), L2 (null)
    let df = frame(&[(1, 0, 100, false, 1), (1, 0, 50, false, 1), (2, 3, 10, false, 4), (2, 3, 20, false, 4), (0, 1, 700, true, 2), (1, 0, -20, false, 3)]);
    for big in [false, true] {
        let (plain, packed, plan) = both_four_keys(&df, big);
        assert!(plain.equals_missing(&packed), "{plain}\n{packed}");
        assert!(plan.contains("__key") && !plan.contains("__key_"), "grouped by the packed key: {plan}");
        // (null, null, visit, null) 1 row; (-1, R1, call, X1099) 1; (0, R1, call, X1050) 2; (0, R2, null, X7) 2
        let rows = packed.column("rows").unwrap().i64().unwrap().iter().collect::<Vec<_>>();
        assert_eq!(rows, [Some(1), Some(1), Some(2), Some(2)], "big {big}");
        let amount = packed.column("amount").unwrap().f64().unwrap().iter().collect::<Vec<_>>();
        assert_eq!(amount, [Some(700.0), Some(-20.0), Some(150.0), Some(30.0)], "big {big}");
        let x = packed.column("x").unwrap().cast(&DataType::String).unwrap();
        assert_eq!(x.str().unwrap().iter().collect::<Vec<_>>(), [None, Some("X1099"), Some("X1050"), Some("X7")]);
    }
}

proptest! {
    #[test]
    fn four_keys_equal_group_by(rows in proptest::collection::vec((0u8..4, 0u8..4, -1000i32..1000, any::<bool>(), 0u8..6), 1..60), big in any::<bool>()) {
        let (plain, packed, _) = both_four_keys(&frame(&rows), big);
        prop_assert!(plain.equals_missing(&packed), "{}\n{}", plain, packed);
    }
}

/// Two keys' values whose packed numbers would be one number if a code too
/// large for its bits were packed (it carries into the next key's bits):
/// with three categoricals and a quarter each code has 10 bits, so code c
/// (at least 1023) with next key code d packs as code c - 1024 with d + 1.
/// Such a row is grouped plainly, and the two stay two groups.
#[test]
fn four_keys_a_code_too_large_never_carries_into_the_next_key() {
    let dtype = DataType::from_categories(Categories::new("test.carry".into(), "salesrelay tests".into(), CategoricalPhysical::U32));
    let names: Vec<String> = (0..1100).map(|i| format!("Y{i}")).collect();
    let filled = Series::new("y".into(), names.clone()).cast(&dtype).unwrap();
    let codes: Vec<u32> = filled.to_physical_repr().cast(&DataType::UInt32).unwrap().u32().unwrap().into_no_null_iter().collect();
    let named = |code: u32| names[codes.iter().position(|c| *c == code).expect("a value of that code")].as_str();
    let (c, d) = (codes[1050], codes[5]);
    assert!(c > 1022, "a code past 10 bits");
    // row A: (c, d); row B: (c - 1024, d + 1), equal numbers were c packed
    let (a_x, a_y, b_x, b_y) = (named(c), named(d), named(c - 1024), named(d + 1));
    let cat = DataType::from_categories(Categories::global());
    let df = df!(
        "q" => [0i32, 0],
        "x" => [a_x, b_x],
        "y" => [a_y, b_y],
        "kind" => ["call", "call"],
        "amount" => [1.0, 2.0],
    )
    .unwrap()
    .lazy()
    .with_columns([col("x").cast(dtype.clone()), col("y").cast(dtype), col("kind").cast(cat)]);
    let grouped = df
        .group_agg([col("q"), col("x"), col("y"), col("kind")], [col("amount").sum().alias("amount")])
        .sort(["amount"], Default::default())
        .collect()
        .unwrap();
    let amounts: Vec<Option<f64>> = grouped.column("amount").unwrap().f64().unwrap().iter().collect();
    assert_eq!(amounts, [Some(1.0), Some(2.0)], "{grouped}");
    let x = grouped.column("x").unwrap().cast(&DataType::String).unwrap();
    assert_eq!(x.str().unwrap().iter().collect::<Vec<_>>(), [Some(a_x), Some(b_x)]);
}
