//! LMDI-I additive decomposition (Ang 2005) as Polars expressions.
//!
//! For V = x1 x ... xn between a base period 0 and a current period T:
//! contribution_k = L(V_T, V_0) ln(x_kT / x_k0), L(a, b) = (a - b) / ln(a / b),
//! L(a, a) = a. The contributions sum to V_T - V_0 exactly.
//!
//! Zeros (Ang & Liu's small-value limits, as METRICS.md reads them):
//! - V zero in both periods: every factor contributes 0;
//! - V zero in one period: the whole change goes to the first factor, in
//!   tree order, that is zero or undefined in that period;
//! - V non-zero in both but some factor zero or undefined (flow ratios can
//!   break the product): the whole change goes to the first such factor.

use std::f64::consts::E;

use polars::prelude::*;

/// The logarithmic mean L(a, b) = (a - b) / ln(a / b), with L(a, a) = a.
pub fn log_mean(a: Expr, b: Expr) -> Expr {
    when(a.clone().eq(b.clone()))
        .then(a.clone())
        .otherwise((a.clone() - b.clone()) / (a / b).log(lit(E)))
}

fn zero_or_undefined(x: Expr) -> Expr {
    x.clone().is_null().or(x.clone().eq(lit(0.0))).or(x.is_nan())
}

/// Contributions of each factor to the change of a product node `v` from
/// `v0` (base) to `v1` (current). `factors` are `(x_k0, x_k1)` in tree order.
/// Null where `v0` is null (no base period).
pub fn product_contributions(v0: Expr, v1: Expr, factors: &[(Expr, Expr)]) -> Vec<Expr> {
    let change = v1.clone() - v0.clone();
    let l = log_mean(v1.clone(), v0.clone());
    let zero0 = v0.clone().eq(lit(0.0));
    let zero1 = v1.clone().eq(lit(0.0));
    // the factor that takes the whole change when the product breaks: first
    // zero/undefined in the quarter where V is zero, else in either quarter
    let mut chain: Option<Then> = None;
    let mut first_bad: Option<ChainedThen> = None;
    for (k, (x0, x1)) in factors.iter().enumerate() {
        let bad = when(zero1.clone())
            .then(zero_or_undefined(x1.clone()))
            .when(zero0.clone())
            .then(zero_or_undefined(x0.clone()))
            .otherwise(zero_or_undefined(x0.clone()).or(zero_or_undefined(x1.clone())));
        let k = lit(k as i32);
        match (chain.take(), first_bad.take()) {
            (None, None) => chain = Some(when(bad).then(k)),
            (Some(c), None) => first_bad = Some(c.when(bad).then(k)),
            (_, Some(c)) => first_bad = Some(c.when(bad).then(k)),
        }
    }
    let broken_at: Expr = match (chain, first_bad) {
        (_, Some(c)) => c.otherwise(lit(NULL).cast(DataType::Int32)),
        (Some(c), None) => c.otherwise(lit(NULL).cast(DataType::Int32)),
        (None, None) => lit(NULL).cast(DataType::Int32),
    };
    // a zero value with no zero factor cannot come from the identity; keep the
    // sum exact by giving the change to the last factor
    let last = lit(factors.len().saturating_sub(1) as i32);
    let broken_at = when(broken_at.clone().is_null().and(zero0.clone().or(zero1.clone())))
        .then(last)
        .otherwise(broken_at);
    factors
        .iter()
        .enumerate()
        .map(|(k, (x0, x1))| {
            when(v0.clone().is_null().or(v1.clone().is_null()))
                .then(lit(NULL).cast(DataType::Float64))
                .when(zero0.clone().and(zero1.clone()))
                .then(lit(0.0))
                .when(broken_at.clone().is_not_null())
                .then(when(broken_at.clone().eq(lit(k as i32))).then(change.clone()).otherwise(lit(0.0)))
                .otherwise(l.clone() * (x1.clone() / x0.clone()).log(lit(E)))
        })
        .collect()
}
