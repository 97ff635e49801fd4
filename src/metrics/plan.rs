//! The plan: each target against its actual, with the gap decomposed by LMDI
//! where a product node and all its factors have targets (the plan in the
//! place of the prior quarter), and the reverse funnel: what each step must
//! deliver for a revenue target at the trailing rates.

use polars::prelude::*;

use super::lmdi::product_contributions;
use super::tree::{factors_of, KPI_TREE, NODES};
use super::{ratio, Model, OutputTable};
use crate::calendar::Quarter;
use crate::contract::Need;
use crate::error::Result;
use crate::output::TableDoc;

/// The targets with their quarter index `__q` (the label parsed with the
/// configured fiscal year) and a canonical `period` label.
fn targets(m: &Model) -> Result<Option<LazyFrame>> {
    let Some(t) = m.lazy("targets") else { return Ok(None) };
    let labels = t.clone().select([col("period")]).unique(None, UniqueKeepStrategy::Any).collect()?;
    let labels: Vec<String> = labels.column("period")?.str()?.iter().flatten().map(str::to_string).collect();
    let index: Vec<Option<i32>> = labels.iter().map(|l| Quarter::parse(l, m.config).ok().map(|q| q.0)).collect();
    let map = df!("period" => labels, "__q" => index)?;
    let joined = t.join(map.lazy(), [col("period")], [col("period")], JoinArgs::new(JoinType::Left));
    Ok(Some(joined))
}

/// Every (segment_kind, segment) of the data with its output order.
fn segment_order(m: &Model) -> Result<LazyFrame> {
    let segments = m.segments()?;
    Ok(df!(
        "segment_kind" => segments.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
        "segment" => segments.iter().map(|s| s.1.clone()).collect::<Vec<_>>(),
        "__seg_order" => (0..segments.len() as u32).collect::<Vec<_>>(),
    )?
    .lazy())
}

/// The node order of kpi_tree.
fn node_order() -> LazyFrame {
    df!(
        "node" => NODES.iter().map(|n| n.name).collect::<Vec<_>>(),
        "__node_order" => (0..NODES.len() as u32).collect::<Vec<_>>(),
    )
    .expect("static frame")
    .lazy()
}

/// The sums a plan is decomposed over: a parent and its children, and
/// whether the parent is their product (else their sum).
const PLAN_IDENTITIES: [(&str, bool); 4] = [("revenue", false), ("revenue_is", true), ("revenue_fs", true), ("leads", false)];

fn children(parent: &str) -> Vec<&'static str> {
    match parent {
        "revenue" => vec!["revenue_is", "revenue_fs"],
        other => factors_of(other),
    }
}

/// plan_vs_actual: every target with its actual (kpi_tree's value in that
/// quarter and segment), attainment, gap and, where the parent and all its
/// factors (or summands) have targets that agree with it, the gap's LMDI
/// contribution.
pub fn plan_vs_actual(m: &Model) -> Result<Option<LazyFrame>> {
    let Some(t) = targets(m)? else { return Ok(None) };
    let Some(kpi) = m.built(&KPI_TREE)? else { return Ok(None) };
    let keys = || [col("period"), col("segment_kind"), col("segment"), col("node")];
    let actual = kpi.lazy().filter(col("comparison").eq(lit("prior_quarter"))).select([
        col("period"),
        col("segment_kind"),
        col("segment"),
        col("node"),
        col("value").alias("actual"),
        lit(true).alias("__in_tree"),
    ]);
    let (first, last) = (m.span.first.0, m.span.last.0);
    let long = t
        .select([col("__q"), col("period"), col("segment_kind"), col("segment"), col("node"), col("target")])
        .join(actual, keys(), keys(), JoinArgs::new(JoinType::Left))
        .join(segment_order(m)?, [col("segment_kind"), col("segment")], [col("segment_kind"), col("segment")], JoinArgs::new(JoinType::Left))
        .join(node_order(), [col("node")], [col("node")], JoinArgs::new(JoinType::Left))
        .with_columns([
            ratio(col("actual"), col("target")).alias("attainment"),
            (col("actual") - col("target")).alias("gap"),
            when(col("__q").gt(lit(last)))
                .then(lit("the quarter is after the data: no actual yet"))
                .when(col("__q").lt(lit(first)))
                .then(lit("the quarter is before the data"))
                .when(col("__seg_order").is_null())
                .then(lit("no such segment in the data (industries are the ten reference names, regions as accounts write them)"))
                .when(col("__in_tree").is_null())
                .then(lit("not available for this input (data_coverage says why)"))
                .when(col("actual").is_null())
                .then(lit("no value in the quarter (a ratio over 0 or a median of nothing)"))
                .otherwise(lit(NULL).cast(DataType::String))
                .alias("note"),
        ])
        // read by the identities' shares (collected below) and by the table: worked out once
        .collect()?
        .lazy();
    // per quarter and segment: each plan identity's targets and actuals side by side
    let mut nodes: Vec<&str> = Vec::new();
    for n in PLAN_IDENTITIES.iter().flat_map(|(p, _)| std::iter::once(*p).chain(children(p))) {
        if !nodes.contains(&n) {
            nodes.push(n);
        }
    }
    let by = [col("period"), col("segment_kind"), col("segment")];
    let side = |n: &str, c: &str| col(c).filter(col("node").eq(lit(n.to_string()))).first().alias(format!("{n}__{c}"));
    let v = |n: &str, c: &str| col(format!("{n}__{c}"));
    // each part's share of its whole's gap, every identity's at once (the
    // LMDI terms they share planned once), on a row per quarter and segment
    let mut shares = Vec::new();
    let mut kids_in_order = Vec::new();
    for (parent, product) in PLAN_IDENTITIES {
        let kids = children(parent);
        let complete = kids.iter().chain([&parent]).fold(lit(true), |acc, n| acc.and(v(n, "target").is_not_null()).and(v(n, "actual").is_not_null()));
        // a plan whose parts do not make its whole cannot be decomposed exactly
        let whole = if product {
            kids.iter().fold(lit(1.0), |acc, n| acc * v(n, "target"))
        } else {
            kids.iter().fold(lit(0.0), |acc, n| acc + v(n, "target"))
        };
        let agrees = (whole - v(parent, "target")).abs().lt_eq(lit(1e-6) * v(parent, "target").abs().clip_min(lit(1.0)));
        let contributions: Vec<Expr> = if product {
            let pairs: Vec<(Expr, Expr)> = kids.iter().map(|n| (v(n, "target"), v(n, "actual"))).collect();
            product_contributions(v(parent, "target"), v(parent, "actual"), &pairs)
        } else {
            kids.iter().map(|n| v(n, "actual") - v(n, "target")).collect()
        };
        for (kid, c) in kids.iter().zip(contributions) {
            shares.push(when(complete.clone().and(agrees.clone())).then(c).otherwise(lit(NULL).cast(DataType::Float64)).alias(format!("{kid}__share")));
            kids_in_order.push(*kid);
        }
    }
    let wide = long
        .clone()
        .group_by(by.clone())
        .agg(nodes.iter().flat_map(|n| [side(n, "target"), side(n, "actual")]).collect::<Vec<_>>())
        .with_columns(shares)
        .collect()?;
    let parts: Vec<LazyFrame> = kids_in_order
        .iter()
        .map(|kid| {
            wide.clone().lazy().select([
                col("period"),
                col("segment_kind"),
                col("segment"),
                lit(kid.to_string()).alias("node"),
                v(kid, "share").alias("contribution"),
            ])
        })
        .collect();
    let contributions = concat(parts, UnionArgs::default())?;
    Ok(Some(
        long.join(contributions, keys(), keys(), JoinArgs::new(JoinType::Left))
            .sort(["__q", "__seg_order", "segment_kind", "segment", "__node_order"], SortMultipleOptions::default().with_nulls_last(true))
            .select([
                col("period"),
                col("segment_kind"),
                col("segment"),
                col("node"),
                col("target"),
                col("actual"),
                col("attainment"),
                col("gap"),
                col("contribution"),
                col("note"),
            ]),
    ))
}

pub const PLAN_VS_ACTUAL_DOC: TableDoc = TableDoc {
    name: "plan_vs_actual",
    description: "Every target of the input's targets table against its actual: kpi_tree's value in that quarter and segment, attainment and gap; where a product node (revenue_is, revenue_fs) or a sum (revenue, leads) and all its parts have targets that make it up, each part's exact share of the parent's gap (LMDI with the plan in the place of the prior quarter).",
    columns: &[
        ("period", "fiscal quarter of the target, e.g. FY2026-Q3"),
        ("segment_kind", "total, source, industry or region"),
        ("segment", "all for the total; inbound/outbound/fs_sourced; a reference industry; a region"),
        ("node", "the kpi_tree node the target is for"),
        ("target", "the target, in the node's unit"),
        ("actual", "kpi_tree's value of the node in the quarter and segment; null where note says why"),
        ("attainment", "actual / target (null where the target is 0 or there is no actual)"),
        ("gap", "actual - target"),
        ("contribution", "the part's share of its parent's gap: for factors of revenue_is and revenue_fs L(actual, target of the parent) x ln(actual / target of the factor), for revenue_is, revenue_fs, leads_inbound and leads_outbound their own gap; null unless the parent and all its parts have targets and actuals and the parts' targets multiply (add) up to the parent's target within 1e-6"),
        ("note", "why actual is null: a quarter after the data, a segment not in the data, a node the input cannot support, a ratio over 0"),
    ],
};

/// plan_vs_actual in the registry.
pub const PLAN_VS_ACTUAL: OutputTable = OutputTable {
    doc: PLAN_VS_ACTUAL_DOC,
    needs: &[Need::Targets],
    column_needs: &[],
    build: plan_vs_actual,
};

/// The quarters whose rates required_volumes pools: the last
/// `planning.rate_window` complete quarters up to the reviewed one.
pub fn rate_window(m: &Model) -> Vec<i32> {
    let last = if m.span.is_complete(m.quarter, m.config) { m.quarter.0 } else { m.quarter.0 - 1 };
    let n = m.config.planning.rate_window as i32;
    ((last - n + 1).max(m.span.first.0)..=last).collect()
}

/// The steps of the reverse funnel, in order: (node, required, the rate it
/// is worked back through, that rate's numerator and denominator columns
/// and words).
struct Step {
    node: &'static str,
    required: Expr,
    basis: Option<(&'static str, &'static str, &'static str, &'static str)>,
}

/// One step back through the funnel: `required` / `rate`; nothing needed
/// where nothing is required, whatever the rate.
fn back(required: Expr, rate: Expr) -> Expr {
    when(required.clone().eq(lit(0.0))).then(lit(0.0)).otherwise(required / rate)
}

/// required_volumes: for every revenue target from the reviewed quarter on,
/// what each step of the funnel must deliver at the pooled rates of the rate
/// window (sums of numerators over sums of denominators): the FS-sourced
/// branch at its trailing share of revenue unless revenue_fs has a target of
/// its own, then IS wins, accepted handoffs, handoffs, SQLs and leads back
/// through deal size, win yield, acceptance, handoff rate and SQL rate, and
/// FS wins, opportunities and meetings likewise.
pub fn required_volumes(m: &Model) -> Result<Option<LazyFrame>> {
    let Some(t) = targets(m)? else { return Ok(None) };
    let window = rate_window(m);
    let label = |q: i32| Quarter(q).label(m.config);
    let window_label = match (window.first(), window.last()) {
        (Some(a), Some(b)) if a == b => label(*a),
        (Some(a), Some(b)) => format!("{}..{}", label(*a), label(*b)),
        _ => "no complete quarter".into(),
    };
    let sums = [
        "revenue_is", "revenue_fs", "wins_is", "accepted", "handoffs", "sqls", "leads", "wins_fs", "opps_fs", "fs_meetings_with_opp", "fs_opps_met",
    ];
    let wide = m.wide()?;
    let pooled = wide
        .clone()
        .filter(col("period").is_in(lit(Series::new("w".into(), window.clone())).implode(true), false))
        .group_by([col("segment_kind"), col("segment")])
        .agg(sums.iter().map(|c| col(*c).cast(DataType::Float64).sum().alias(format!("{c}__w"))).collect::<Vec<_>>());
    let fs_targets = t.clone().filter(col("node").eq(lit("revenue_fs"))).select([col("__q"), col("segment_kind"), col("segment"), col("target").alias("__fs_target")]);
    let seg = || [col("segment_kind"), col("segment")];
    let w = |c: &str| col(format!("{c}__w"));
    let base = t
        .filter(col("node").eq(lit("revenue")).and(col("__q").gt_eq(lit(m.quarter.0))))
        .select([col("__q"), col("period"), col("segment_kind"), col("segment"), col("target")])
        .join(fs_targets, [col("__q"), col("segment_kind"), col("segment")], [col("__q"), col("segment_kind"), col("segment")], JoinArgs::new(JoinType::Left))
        .join(pooled, seg(), seg(), JoinArgs::new(JoinType::Left))
        .with_columns([
            ratio(w("revenue_is"), w("wins_is")).alias("deal_size_is"),
            ratio(w("wins_is"), w("accepted")).alias("win_yield_is"),
            ratio(w("accepted"), w("handoffs")).alias("acceptance_rate"),
            ratio(w("handoffs"), w("sqls")).alias("handoff_rate"),
            ratio(w("sqls"), w("leads")).alias("sql_rate"),
            ratio(w("revenue_fs"), w("wins_fs")).alias("deal_size_fs"),
            ratio(w("wins_fs"), w("opps_fs")).alias("win_yield_fs"),
            ratio(w("fs_meetings_with_opp"), w("fs_opps_met")).alias("visits_per_opp"),
            ratio(w("revenue_fs"), w("revenue_is") + w("revenue_fs")).alias("fs_share"),
        ])
        .with_column(
            when(col("__fs_target").is_not_null())
                .then(col("__fs_target"))
                .otherwise(col("target") * col("fs_share"))
                .alias("r_revenue_fs"),
        )
        .with_column((col("target") - col("r_revenue_fs")).alias("r_revenue_is"))
        .with_column(back(col("r_revenue_is"), col("deal_size_is")).alias("r_wins_is"))
        .with_column(back(col("r_wins_is"), col("win_yield_is")).alias("r_accepted"))
        .with_column(back(col("r_accepted"), col("acceptance_rate")).alias("r_handoffs"))
        .with_column(back(col("r_handoffs"), col("handoff_rate")).alias("r_sqls"))
        .with_column(back(col("r_sqls"), col("sql_rate")).alias("r_leads"))
        .with_column(back(col("r_revenue_fs"), col("deal_size_fs")).alias("r_wins_fs"))
        .with_column(back(col("r_wins_fs"), col("win_yield_fs")).alias("r_opps_fs"))
        .with_column(
            when(col("r_opps_fs").eq(lit(0.0)))
                .then(lit(0.0))
                .otherwise(col("r_opps_fs") * col("visits_per_opp"))
                .alias("r_fs_meetings"),
        )
        .cache();
    let steps = [
        Step { node: "revenue", required: col("target"), basis: None },
        Step { node: "revenue_fs", required: col("r_revenue_fs"), basis: Some(("fs_share", "revenue_fs", "revenue_is", "FS-sourced share of revenue")) },
        Step { node: "revenue_is", required: col("r_revenue_is"), basis: None },
        Step { node: "wins_is", required: col("r_wins_is"), basis: Some(("deal_size_is", "revenue_is", "wins_is", "IS deal size")) },
        Step { node: "accepted", required: col("r_accepted"), basis: Some(("win_yield_is", "wins_is", "accepted", "IS win yield")) },
        Step { node: "handoffs", required: col("r_handoffs"), basis: Some(("acceptance_rate", "accepted", "handoffs", "FS acceptance rate")) },
        Step { node: "sqls", required: col("r_sqls"), basis: Some(("handoff_rate", "handoffs", "sqls", "handoff rate")) },
        Step { node: "leads", required: col("r_leads"), basis: Some(("sql_rate", "sqls", "leads", "SQL rate")) },
        Step { node: "wins_fs", required: col("r_wins_fs"), basis: Some(("deal_size_fs", "revenue_fs", "wins_fs", "FS deal size")) },
        Step { node: "opps_fs", required: col("r_opps_fs"), basis: Some(("win_yield_fs", "wins_fs", "opps_fs", "FS win yield")) },
        Step { node: "fs_meetings", required: col("r_fs_meetings"), basis: Some(("visits_per_opp", "fs_meetings_with_opp", "fs_opps_met", "FS meetings per opportunity")) },
    ];
    // what each step delivered so far in the target's quarter (a quarter in the data)
    let so_far = wide.select([
        col("period").alias("__q"),
        col("segment_kind"),
        col("segment"),
        col("revenue"),
        col("revenue_fs"),
        col("revenue_is"),
        col("wins_is"),
        col("accepted"),
        col("handoffs"),
        col("sqls"),
        col("leads"),
        col("wins_fs"),
        col("opps_fs"),
        (col("fs_visits") + col("fs_online")).alias("fs_meetings"),
    ]);
    let parts: Vec<LazyFrame> = steps
        .iter()
        .enumerate()
        .map(|(order, s)| {
            let basis = match s.basis {
                None if s.node == "revenue_is" => lit("revenue - revenue_fs"),
                None => lit("the target"),
                Some(("fs_share", _, _, words)) => when(col("__fs_target").is_not_null())
                    .then(lit("revenue_fs's own target"))
                    .when(col("fs_share").is_null())
                    .then(lit(format!("no {words}: no revenue in {window_label}")))
                    .otherwise(concat_str(
                        [lit(format!("{words} ")), col("fs_share").round(4, RoundMode::HalfToEven).cast(DataType::String), lit(format!(", {window_label}"))],
                        "",
                        false,
                    )),
                Some((rate, num, den, words)) => when(col(rate).is_null())
                    .then(lit(format!("no {words}: {den} is 0 or not available in {window_label}")))
                    .otherwise(concat_str(
                        [
                            lit(format!("{words} ")),
                            col(rate).round(4, RoundMode::HalfToEven).cast(DataType::String),
                            lit(format!(" = {num} ")),
                            w(num).round(0, RoundMode::HalfToEven).cast(DataType::Int64).cast(DataType::String),
                            lit(format!(" / {den} ")),
                            w(den).round(0, RoundMode::HalfToEven).cast(DataType::Int64).cast(DataType::String),
                            lit(format!(", {window_label}")),
                        ],
                        "",
                        false,
                    )),
            };
            base.clone().select([
                col("__q"),
                col("period"),
                col("segment_kind"),
                col("segment"),
                lit(s.node).alias("node"),
                lit(order as u32).alias("__step"),
                s.required.clone().cast(DataType::Float64).alias("required"),
                basis.alias("rate_basis"),
            ])
        })
        .collect();
    let keys = [col("__q"), col("segment_kind"), col("segment")];
    let long = concat(parts, UnionArgs::default())?.join(so_far, keys.clone(), keys, JoinArgs::new(JoinType::Left));
    let actual = steps.iter().fold(lit(NULL).cast(DataType::Float64), |acc, s| {
        when(col("node").eq(lit(s.node))).then(col(s.node).cast(DataType::Float64)).otherwise(acc)
    });
    Ok(Some(
        long.with_column(actual.alias("actual_to_date"))
            .join(segment_order(m)?, [col("segment_kind"), col("segment")], [col("segment_kind"), col("segment")], JoinArgs::new(JoinType::Left))
            .sort(["__q", "__seg_order", "segment_kind", "segment", "__step"], SortMultipleOptions::default().with_nulls_last(true))
            .select([col("period"), col("segment_kind"), col("segment"), col("node"), col("required"), col("rate_basis"), col("actual_to_date")]),
    ))
}

pub const REQUIRED_VOLUMES_DOC: TableDoc = TableDoc {
    name: "required_volumes",
    description: "The reverse funnel: for every revenue target from the reviewed quarter on, what each step must deliver to reach it at the pooled rates of the last planning.rate_window complete quarters (sums of numerators over sums of denominators). Multiplying the required leads back through the rates gives the IS-sourced target exactly.",
    columns: &[
        ("period", "fiscal quarter of the revenue target"),
        ("segment_kind", "total, source, industry or region"),
        ("segment", "the target's segment"),
        ("node", "revenue (the target), revenue_fs (its own target, else the trailing FS-sourced share), revenue_is (the rest), wins_is, accepted, handoffs, sqls, leads, wins_fs, opps_fs, fs_meetings (FS visits and online meetings on opportunities)"),
        ("required", "what the step must deliver in the quarter (currency for revenue, else a count; fractional, as the rates give it; null where a rate has no denominator in the window)"),
        ("rate_basis", "the rate the step is worked back through, with its numerator and denominator over the window"),
        ("actual_to_date", "what the step delivered in the quarter so far (null for a quarter after the data)"),
    ],
};

/// required_volumes in the registry.
pub const REQUIRED_VOLUMES: OutputTable = OutputTable {
    doc: REQUIRED_VOLUMES_DOC,
    needs: &[Need::Targets],
    column_needs: &[],
    build: required_volumes,
};

/// Each open deal's expected close: the close_date of its latest
/// stage_history row that has one (as of the end of the data), else
/// opportunities.expected_close_at.
fn expected_close(m: &Model) -> LazyFrame {
    let opps = super::events::opportunities(m).filter(col("outcome").eq(lit("open")));
    // each deal's close date from its latest history entry: the history by deal and time, each
    // deal's last row, picked for each deal by its code (sorted by time, grouped by deal and
    // joined before: pipeline_coverage took 0.83 s at scale 1000, now 0.44)
    let latest = m.lazy("stage_history").filter(|_| m.has_key("stage_history.close_date")).map(|sh| {
        sh.filter(col("close_date").is_not_null())
            .select([col("opportunity_id"), col("entered_at"), col("close_date").alias("__history_close")])
            .sort_by_exprs([super::runs::by_code("opportunity_id"), col("entered_at")], Default::default())
            .filter(super::runs::run_end("opportunity_id"))
            .select([col("opportunity_id"), col("__history_close")])
    });
    let opps = match latest {
        Some(l) => super::events::looked_up(opps, "opportunity_id", l, &["__history_close"]),
        None => opps.with_column(lit(NULL).cast(crate::typing::utc_type()).alias("__history_close")),
    };
    opps.with_column(coalesce(&[col("__history_close"), col("expected_close_at")]).alias("expected_close"))
}

/// pipeline_coverage: for the two quarters after the reviewed one, the open
/// deals expected to close in each, their amount, the amount weighted by the
/// stage win rate (as priority_deals weighs it), and coverage of what the
/// revenue target still needs; split by forecast category where the input
/// has one.
pub fn pipeline_coverage(m: &Model) -> Result<Option<LazyFrame>> {
    let (stage_rates, overall) = super::visit_plan::stage_win_rates(m);
    let next = [m.quarter.0 + 1, m.quarter.0 + 2];
    let deals = expected_close(m)
        .join(stage_rates, [col("stage")], [col("stage")], JoinArgs::new(JoinType::Left))
        .cross_join(overall, None)
        .with_columns([
            m.period("expected_close").alias("period"),
            (col("amount") * coalesce(&[col("__rate"), col("__overall"), lit(1.0)])).alias("__weighted"),
        ])
        .filter(col("period").is_in(lit(Series::new("q".into(), next.to_vec())).implode(true), false))
        .cache();
    let aggs = [
        len().cast(DataType::Int64).alias("open_deals"),
        col("amount").sum().alias("pipeline"),
        col("__weighted").sum().alias("weighted_pipeline"),
    ];
    let mut parts = vec![super::by_segment(deals.clone(), &aggs).with_column(lit("all").alias("forecast_category"))];
    if m.has_key("opportunities.forecast_category") {
        let split = deals.with_column(col("forecast_category").fill_null(lit("unknown")));
        parts.push(super::by_segment_keyed(split, &["forecast_category"], &aggs));
    }
    let found = concat(parts, UnionArgs { diagonal: true, ..Default::default() })?;
    // every quarter and segment, and each category found, with empty sums 0
    let segments = segment_order(m)?;
    let categories = found.clone().select([col("forecast_category")]).unique(None, UniqueKeepStrategy::Any);
    let grid = df!("period" => next.to_vec())?.lazy().cross_join(segments, None).cross_join(categories.clone(), None);
    let keys = || [col("period"), col("segment_kind"), col("segment"), col("forecast_category")];
    let mut lf = grid
        .join(found, keys(), keys(), JoinArgs::new(JoinType::Left))
        .with_columns([
            col("open_deals").fill_null(lit(0i64)),
            col("pipeline").fill_null(lit(0.0)),
            col("weighted_pipeline").fill_null(lit(0.0)),
        ]);
    // what the revenue target of the quarter still needs
    let seg3 = || [col("period"), col("segment_kind"), col("segment")];
    let won = m.wide()?.select([col("period"), col("segment_kind"), col("segment"), col("revenue").cast(DataType::Float64).alias("won_so_far")]);
    lf = lf.join(won, seg3(), seg3(), JoinArgs::new(JoinType::Left)).with_column(
        // a quarter after the data has won nothing yet
        when(col("period").gt(lit(m.span.last.0))).then(lit(0.0)).otherwise(col("won_so_far")).alias("won_so_far"),
    );
    lf = match targets(m)? {
        Some(t) => lf.join(
            t.filter(col("node").eq(lit("revenue"))).select([col("__q").alias("period"), col("segment_kind"), col("segment"), col("target")]),
            seg3(),
            seg3(),
            JoinArgs::new(JoinType::Left),
        ),
        None => lf.with_column(lit(NULL).cast(DataType::Float64).alias("target")),
    };
    let still = col("target") - col("won_so_far");
    let cover = |e: Expr| when(still.clone().gt(lit(0.0))).then(e / still.clone()).otherwise(lit(NULL).cast(DataType::Float64));
    Ok(Some(
        lf.with_columns([
            (still.clone()).alias("target_remaining"),
            cover(col("pipeline")).alias("coverage"),
            cover(col("weighted_pipeline")).alias("weighted_coverage"),
        ])
        .with_column(m.label(col("period")).alias("__label"))
        .sort(["period", "__seg_order", "forecast_category"], Default::default())
        .select(
            [col("__label").alias("period")]
                .into_iter()
                .chain(PIPELINE_COVERAGE_DOC.columns.iter().skip(1).map(|(c, _)| col(*c)))
                .collect::<Vec<_>>(),
        ),
    ))
}

pub const PIPELINE_COVERAGE_DOC: TableDoc = TableDoc {
    name: "pipeline_coverage",
    description: "The open pipeline for the two quarters after the reviewed one: open deals expected to close in each (the close_date of the deal's latest stage_history row that has one, else opportunities.expected_close_at; deals with neither are not counted), their amount, the amount weighted by the stage win rate, and coverage of what the quarter's revenue target still needs.",
    columns: &[
        ("period", "the quarter the deals are expected to close in"),
        ("segment_kind", "total, source, industry or region"),
        ("segment", "segment value (all for the total)"),
        ("forecast_category", "all, or one of the input's forecast categories (pipeline, best_case, commit, closed, omitted; unknown where a deal has none)"),
        ("open_deals", "open deals expected to close in the quarter"),
        ("pipeline", "their amount (currency; 0 when none)"),
        ("weighted_pipeline", "their amount x the stage win rate (won share of closed deals that entered the deal's stage, at least 5 of them; else the overall win rate; else 1), as priority_deals weighs it"),
        ("won_so_far", "revenue already won in the quarter (0 for a quarter after the data)"),
        ("target", "the quarter's revenue target for the segment (targets input; null without one)"),
        ("target_remaining", "target - won_so_far"),
        ("coverage", "pipeline / target_remaining (null without a target or with nothing remaining)"),
        ("weighted_coverage", "weighted_pipeline / target_remaining"),
    ],
};

/// pipeline_coverage in the registry.
pub const PIPELINE_COVERAGE: OutputTable = OutputTable {
    doc: PIPELINE_COVERAGE_DOC,
    needs: &[Need::OpportunitiesNotWon, Need::ExpectedCloseDates],
    column_needs: &[],
    build: pipeline_coverage,
};
