//! Window operations on runs of a sorted key (`salesrelay::metrics::runs`):
//! worked by hand on three deals, and equal to Polars' `over` on any
//! sorted frame.

use polars::prelude::*;
use proptest::prelude::*;
use salesrelay::metrics::runs::{by_code, fill_backward_in_run, fill_forward_in_run, max_from_here_in_run, position_in_run};

/// Deals (coded as ids are) with a nullable amount and stage order, as given.
fn frame(deals: &[&str], amounts: &[Option<f64>], stages: &[Option<u32>]) -> DataFrame {
    let df = df!(
        "opportunity_id" => deals,
        "amount" => amounts,
        "stage" => stages,
    )
    .unwrap();
    crate::util::own_coded(vec![("stage_history", df)]).0.remove(0)
}

/// `df` sorted by deal code, as the metrics sort.
fn sorted(df: DataFrame) -> DataFrame {
    df.lazy().sort_by_exprs([by_code("opportunity_id")], SortMultipleOptions::default().with_maintain_order(true)).collect().unwrap()
}

fn with_runs(df: &DataFrame) -> DataFrame {
    df.clone()
        .lazy()
        .with_columns([
            position_in_run("opportunity_id").alias("pos"),
            fill_forward_in_run("amount", "opportunity_id").alias("ffill"),
            fill_backward_in_run("amount", "opportunity_id").alias("bfill"),
            max_from_here_in_run("stage", "opportunity_id").alias("max_after"),
        ])
        .collect()
        .unwrap()
}

fn with_over(df: &DataFrame) -> DataFrame {
    let by = [col("opportunity_id")];
    df.clone()
        .lazy()
        .with_columns([
            col("opportunity_id").cum_count(false).over(by.clone()).unwrap().cast(DataType::Int64).alias("pos"),
            col("amount").fill_null_with_strategy(FillNullStrategy::Forward(None)).over(by.clone()).unwrap().alias("ffill"),
            col("amount").fill_null_with_strategy(FillNullStrategy::Backward(None)).over(by.clone()).unwrap().alias("bfill"),
            col("stage").reverse().cum_max(false).reverse().over(by).unwrap().alias("max_after"),
        ])
        .collect()
        .unwrap()
}

fn f64s(df: &DataFrame, c: &str) -> Vec<Option<f64>> {
    df.column(c).unwrap().f64().unwrap().iter().collect()
}

#[test]
fn three_deals_by_hand() {
    // D1: 10, -, 30 | D2: -, 5 | D3: -  (each deal's rows together, as a sort leaves them)
    let df = frame(
        &["D1", "D1", "D1", "D2", "D2", "D3"],
        &[Some(10.0), None, Some(30.0), None, Some(5.0), None],
        &[Some(2), Some(1), None, None, Some(4), None],
    );
    let out = with_runs(&df);
    let pos: Vec<Option<i64>> = out.column("pos").unwrap().i64().unwrap().iter().collect();
    assert_eq!(pos, [1, 2, 3, 1, 2, 1].map(Some));
    // forward: D1's gap takes 10; D2's first row has nothing before it in D2 (not D1's 30)
    assert_eq!(f64s(&out, "ffill"), [Some(10.0), Some(10.0), Some(30.0), None, Some(5.0), None]);
    // backward: D1's gap takes 30; D2's first takes 5; D3 has none
    assert_eq!(f64s(&out, "bfill"), [Some(10.0), Some(30.0), Some(30.0), Some(5.0), Some(5.0), None]);
    // the furthest stage from each row on, none where the row has none: D1 2, 1, - ; D2 -, 4; D3 -
    let max: Vec<Option<u32>> = out.column("max_after").unwrap().u32().unwrap().iter().collect();
    assert_eq!(max, [Some(2), Some(1), None, None, Some(4), None]);
}

proptest! {
    #[test]
    fn runs_match_over(rows in prop::collection::vec((0u8..6, prop::option::of(0i32..100), prop::option::of(0u32..9)), 1..60)) {
        let deals: Vec<String> = rows.iter().map(|r| format!("D{}", r.0)).collect();
        let deals: Vec<&str> = deals.iter().map(String::as_str).collect();
        let amounts: Vec<Option<f64>> = rows.iter().map(|r| r.1.map(f64::from)).collect();
        let stages: Vec<Option<u32>> = rows.iter().map(|r| r.2).collect();
        let df = sorted(frame(&deals, &amounts, &stages));
        let (a, b) = (with_runs(&df), with_over(&df));
        for c in ["pos", "ffill", "bfill", "max_after"] {
            prop_assert!(a.column(c).unwrap().as_materialized_series().equals_missing(b.column(c).unwrap().as_materialized_series()), "{c}: {:?} vs {:?}", a.column(c), b.column(c));
        }
    }
}
