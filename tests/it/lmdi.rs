//! LMDI properties on random inputs (with zeros and undefined factors):
//! the contributions of a product node always sum to its change, and on a
//! product that holds they are the textbook log-mean terms.

use polars::prelude::*;
use proptest::prelude::*;
use salesrelay::metrics::lmdi::{log_mean, product_contributions};

/// A factor value: undefined (null), zero, or a positive number over many magnitudes.
fn factor() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(0.0)),
        6 => (-3.0f64..7.0).prop_map(|e| Some(10f64.powf(e))),
    ]
}

/// One case: three factors in each period, how V relates to them in each
/// (0 = V is the product, the identity; 1 = V is independent, a flow break;
/// 2 = V is 0), and V's independent value in each.
type Case = ([Option<f64>; 3], [Option<f64>; 3], u8, u8, f64, f64);

/// One case (`Case`).
fn case() -> impl Strategy<Value = Case> {
    (
        [factor(), factor(), factor()],
        [factor(), factor(), factor()],
        0u8..3,
        0u8..3,
        (0.0f64..1e7),
        (0.0f64..1e7),
    )
}

/// V for one period. An independent V (a flow break) only arises where a
/// factor is zero or undefined: with every factor defined and non-zero the
/// flow ratios telescope to V exactly.
fn v_of(f: &[Option<f64>; 3], how: u8, free: f64) -> f64 {
    let product: f64 = f.iter().map(|x| x.unwrap_or(0.0)).product();
    let broken = f.iter().any(|x| x.is_none_or(|v| v == 0.0));
    match how {
        1 if broken => free,
        2 => 0.0,
        _ => product,
    }
}

fn evaluate(cases: &[Case]) -> (Vec<f64>, Vec<f64>, Vec<[f64; 3]>) {
    let v0: Vec<f64> = cases.iter().map(|c| v_of(&c.0, c.2, c.4)).collect();
    let v1: Vec<f64> = cases.iter().map(|c| v_of(&c.1, c.3, c.5)).collect();
    let mut columns = vec![Column::new("v0".into(), v0.clone()), Column::new("v1".into(), v1.clone())];
    for k in 0..3 {
        columns.push(Column::new(format!("x{k}_0").into(), cases.iter().map(|c| c.0[k]).collect::<Vec<_>>()));
        columns.push(Column::new(format!("x{k}_1").into(), cases.iter().map(|c| c.1[k]).collect::<Vec<_>>()));
    }
    let df = DataFrame::new(cases.len(), columns).unwrap();
    let factors: Vec<(Expr, Expr)> = (0..3).map(|k| (col(format!("x{k}_0")), col(format!("x{k}_1")))).collect();
    let exprs: Vec<Expr> = product_contributions(col("v0"), col("v1"), &factors)
        .into_iter()
        .enumerate()
        .map(|(k, e)| e.alias(format!("c{k}")))
        .collect();
    let out = df.lazy().select(exprs).collect().unwrap();
    let c: Vec<Vec<f64>> = (0..3).map(|k| out.column(&format!("c{k}")).unwrap().f64().unwrap().iter().map(|x| x.unwrap()).collect()).collect();
    let rows = (0..cases.len()).map(|i| [c[0][i], c[1][i], c[2][i]]).collect();
    (v0, v1, rows)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn contributions_sum_to_the_change(cases in prop::collection::vec(case(), 1..40)) {
        let (v0, v1, rows) = evaluate(&cases);
        for i in 0..cases.len() {
            let change = v1[i] - v0[i];
            let sum: f64 = rows[i].iter().sum();
            prop_assert!(sum.is_finite(), "row {i}: {:?} gives {:?}", cases[i], rows[i]);
            prop_assert!((sum - change).abs() <= 1e-9 * change.abs().max(v0[i].abs()).max(1.0),
                "row {i}: sum {sum} vs change {change} for {:?}", cases[i]);
        }
    }

    #[test]
    fn on_a_holding_product_each_term_is_the_log_mean_term(
        f0 in [1e-3f64..1e6, 1e-3f64..1e6, 1e-3f64..1e6],
        f1 in [1e-3f64..1e6, 1e-3f64..1e6, 1e-3f64..1e6],
    ) {
        let case = (f0.map(Some), f1.map(Some), 0u8, 0u8, 0.0, 0.0);
        let (v0, v1, rows) = evaluate(&[case]);
        let l = if v1[0] == v0[0] { v0[0] } else { (v1[0] - v0[0]) / (v1[0] / v0[0]).ln() };
        for k in 0..3 {
            let want = l * (f1[k] / f0[k]).ln();
            prop_assert!((rows[0][k] - want).abs() <= 1e-9 * want.abs().max(l.abs() * 1e-6).max(1e-9));
        }
    }
}

#[test]
fn zero_in_both_periods_gives_every_factor_zero() {
    let (_, _, rows) = evaluate(&[([Some(0.0), None, Some(5.0)], [None, Some(0.0), Some(3.0)], 2, 2, 0.0, 0.0)]);
    assert_eq!(rows[0], [0.0, 0.0, 0.0]);
}

#[test]
fn zero_in_one_period_goes_to_the_first_zero_or_undefined_factor_there() {
    // V 0 -> 10: in the base period x1 = 0 and x2 undefined; x0 is fine there. x1 takes it all.
    let (_, _, rows) = evaluate(&[([Some(2.0), Some(0.0), None], [Some(2.0), Some(1.0), Some(5.0)], 0, 0, 0.0, 0.0)]);
    assert_eq!(rows[0], [0.0, 10.0, 0.0]);
    // V 10 -> 0: zero in the current period, where x0 = 0 comes first
    let (_, _, rows) = evaluate(&[([Some(2.0), Some(1.0), Some(5.0)], [Some(0.0), None, Some(5.0)], 0, 0, 0.0, 0.0)]);
    assert_eq!(rows[0], [-10.0, 0.0, 0.0]);
}

#[test]
fn a_broken_product_gives_the_change_to_the_first_broken_factor() {
    // revenue 4 -> 9 from earlier cohorts while this quarter's x1 is undefined
    let (_, _, rows) = evaluate(&[([Some(2.0), Some(1.0), Some(2.0)], [Some(3.0), None, Some(3.0)], 1, 1, 4.0, 9.0)]);
    assert_eq!(rows[0], [0.0, 5.0, 0.0]);
}

#[test]
fn log_mean_is_exact_for_equal_arguments_and_precise_for_near_ones() {
    let df = df!("a" => [5.0, 1e6 + 1e-3, 2.0], "b" => [5.0, 1e6, 1.0]).unwrap();
    let out = df.lazy().select([log_mean(col("a"), col("b")).alias("l")]).collect().unwrap();
    let l: Vec<f64> = out.column("l").unwrap().f64().unwrap().iter().map(|x| x.unwrap()).collect();
    assert_eq!(l[0], 5.0);
    assert!((l[1] - (1e6 + 5e-4)).abs() / 1e6 < 1e-6, "{}", l[1]);
    assert!((l[2] - 1.0 / 2f64.ln()).abs() < 1e-15);
}
