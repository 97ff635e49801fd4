//! Why deals were lost: each lost opportunity classified (code first, then
//! ordered text rules), summarised by quarter and segment with the
//! recommended action, and fed back to inside sales by the BANT element
//! that was missing at handoff.

use polars::prelude::*;
use super::GroupAgg;
use super::OutputTable;
use crate::contract::Need;

use super::{events, ratio, u64_lit, Model};
use crate::output::TableDoc;
use crate::rules::{code_key, normalize_text, recommended_action, LossRules, CATEGORIES};

/// Applies a text function to every value of a string expression.
fn map_text(e: Expr, f: fn(&str) -> String) -> Expr {
    e.map(
        move |c: Column| {
            let out: StringChunked = c.str()?.iter().map(|v| v.map(f)).collect();
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, field| Ok(Field::new(field.name().clone(), DataType::String)),
    )
}

fn categories_frame(rules: &LossRules) -> LazyFrame {
    let mut keys = Vec::new();
    let mut cats = Vec::new();
    let mut subs = Vec::new();
    let mut labels = Vec::new();
    for c in &rules.codes {
        for code in &c.codes {
            keys.push(code_key(code));
            cats.push(c.category.clone());
            subs.push(c.subcategory.clone());
            labels.push(format!("code:{}", code_key(code)));
        }
    }
    df!("__code_key" => keys, "__code_category" => cats, "__code_subcategory" => subs, "__code_rule" => labels)
        .expect("same lengths")
        .lazy()
        .unique_stable(Some(cols(["__code_key"])), UniqueKeepStrategy::First)
}

/// Adds `category`, `subcategory`, `rule` and `matched_text` to a frame with
/// `loss_reason_code` and `loss_reason_text`: the code decides first (after
/// `code_key`), then the first text rule whose pattern matches the
/// normalised text; otherwise `unclassified`. The rules run once per
/// distinct text (notes repeat: 500k losses at scale 1000 hold a few
/// thousand texts), joined back to every loss that carries it.
pub fn classify(lf: LazyFrame, rules: &LossRules) -> LazyFrame {
    // index of the first text rule that matches
    let mut rule_ix = lit(NULL).cast(DataType::Int32);
    for (i, r) in rules.rules.iter().enumerate().rev() {
        let hit = col("__text").str().contains(lit(r.pattern.clone()), false).fill_null(lit(false));
        rule_ix = when(hit).then(lit(i as i32)).otherwise(rule_ix);
    }
    let pick = |f: &dyn Fn(&crate::rules::TextRule) -> Expr| -> Expr {
        let mut e = lit(NULL).cast(DataType::String);
        for (i, r) in rules.rules.iter().enumerate().rev() {
            e = when(col("__rule_ix").eq(lit(i as i32))).then(f(r)).otherwise(e);
        }
        e
    };
    // a null text matches no rule: the join leaves its rule columns null, as the rules would
    let by_text = lf
        .clone()
        .select([col("loss_reason_text")])
        .filter(col("loss_reason_text").is_not_null())
        .unique(None, UniqueKeepStrategy::Any)
        .with_column(map_text(col("loss_reason_text"), normalize_text).alias("__text"))
        .with_column(rule_ix.alias("__rule_ix"))
        .select([
            col("loss_reason_text"),
            pick(&|r| lit(r.category.clone())).alias("__text_category"),
            pick(&|r| lit(r.subcategory.clone())).alias("__text_subcategory"),
            pick(&|r| lit(format!("rule:{}", r.id))).alias("__text_rule"),
            pick(&|r| col("__text").str().extract(lit(r.pattern.clone()), 0)).alias("__text_matched"),
        ]);
    let by_code = col("__code_category").is_not_null();
    lf.with_column(map_text(col("loss_reason_code"), code_key).alias("__code_key"))
        .join(categories_frame(rules), [col("__code_key")], [col("__code_key")], events::in_order())
        .join(by_text, [col("loss_reason_text")], [col("loss_reason_text")], events::in_order())
        .with_columns([
            when(by_code.clone()).then(col("__code_category")).otherwise(col("__text_category")).fill_null(lit("unclassified")).alias("category"),
            when(by_code.clone()).then(col("__code_subcategory")).otherwise(col("__text_subcategory")).alias("subcategory"),
            when(by_code.clone()).then(col("__code_rule")).otherwise(col("__text_rule")).alias("rule"),
            when(by_code).then(col("loss_reason_code")).otherwise(col("__text_matched")).alias("matched_text"),
        ])
        .drop(by_name(
            [
                "__code_key", "__code_category", "__code_subcategory", "__code_rule",
                "__text_category", "__text_subcategory", "__text_rule", "__text_matched",
            ],
            true,
            false,
        ))
}

/// losses: one row per lost opportunity (outcome lost, closed_at set) with
/// the raw code and text, category, subcategory, how it was classified
/// (code, rule, model or none) and what decided it. What no code or rule
/// catches goes to the learned model (`rules::model`), trained on the
/// built-in corpus plus this input's losses that carry both a code and a
/// text; below `losses.model_threshold` the loss stays unclassified with the
/// model's best guess beside it.
pub fn losses(m: &Model, rules: &LossRules) -> crate::error::Result<LazyFrame> {
    let opps = events::opportunities(m).filter(col("outcome").eq(lit("lost")).and(col("closed_at").is_not_null()));
    Ok(classify_all(opps, rules, &m.config.losses)?
        .lazy()
        .with_columns([
            m.label(m.period("closed_at")).alias("period"),
            action_expr(col("category"), col("source").eq(lit(events::FS_SOURCED))).alias("recommended_action"),
        ])
        .select(LOSSES_DOC.columns.iter().map(|(c, _)| col(*c)).collect::<Vec<_>>())
        .sort(["closed_at", "opportunity_id"], Default::default()))
}

/// Every step of the classification on a frame with `loss_reason_code` and
/// `loss_reason_text`: code, text rules, then (unless `[losses] model =
/// false`) the model, adding category, subcategory, rule, matched_text,
/// method, confidence and best_guess.
pub fn classify_all(lf: LazyFrame, rules: &LossRules, config: &crate::rules::LossConfig) -> crate::error::Result<DataFrame> {
    let classified = classify(lf, rules).with_column(
        when(col("rule").str().starts_with(lit("code:")))
            .then(lit("code"))
            .when(col("rule").is_not_null())
            .then(lit("rule"))
            .otherwise(lit("none"))
            .alias("method"),
    );
    if config.model {
        with_model(classified.collect()?, config.model_threshold)
    } else {
        Ok(classified.with_columns(no_model()).collect()?)
    }
}

/// How the losses were classified, for the run summary and the report:
/// "558 of 594 classified: 480 by code, 40 by rule, 38 by the model", then
/// the model's 5-fold accuracy on the input's coded losses with text when
/// there are at least 50 of them.
pub fn classification_lines(losses: &DataFrame) -> crate::error::Result<Vec<String>> {
    let methods = crate::output::text_column(losses, "method")?;
    let n = |m: &str| methods.iter().filter(|x| x.as_str() == m).count() as u64;
    let thousands = crate::progress::thousands;
    let classified = losses.height() as u64 - n("none");
    let mut out = vec![format!(
        "losses: {} of {} classified: {} by code, {} by rule, {} by the model",
        thousands(classified),
        thousands(losses.height() as u64),
        thousands(n("code")),
        thousands(n("rule")),
        thousands(n("model"))
    )];
    let coded = losses.clone().lazy().filter(col("method").eq(lit("code")).and(col("loss_reason_text").is_not_null())).collect()?;
    let (texts, cats, subs) =
        (crate::output::text_column(&coded, "loss_reason_text")?, crate::output::text_column(&coded, "category")?, crate::output::text_column(&coded, "subcategory")?);
    // at most 5,000 of them, every k-th, so a large history costs seconds, not minutes
    let step = coded.height().div_ceil(5_000).max(1);
    let examples: Vec<(String, String, String)> =
        (0..coded.height()).step_by(step).map(|i| (texts[i].clone(), cats[i].clone(), subs[i].clone())).collect();
    if examples.len() >= 50 {
        let base = crate::rules::model::builtin_corpus().map_err(crate::error::Error::Config)?;
        if let Some((c, s)) = crate::rules::model::cross_validate(&base, &examples, 5) {
            let sample = if examples.len() < coded.height() { format!("{} of ", thousands(examples.len() as u64)) } else { String::new() };
            out.push(format!(
                "the model reads this input's wording: 5-fold accuracy on {sample}its {} coded losses with text {:.0}% (category), {:.0}% (subcategory)",
                thousands(coded.height() as u64),
                100.0 * c,
                100.0 * s
            ));
        }
    }
    Ok(out)
}

/// The model columns of a loss nothing but a code or rule classified.
fn no_model() -> [Expr; 2] {
    [lit(NULL).cast(DataType::Float64).alias("confidence"), lit(NULL).cast(DataType::String).alias("best_guess")]
}

/// Classifies the losses no code or rule caught with the model trained on
/// the built-in corpus and the coded losses of `df`.
fn with_model(df: DataFrame, threshold: f64) -> crate::error::Result<DataFrame> {
    use crate::rules::model;
    let texts = |filter: Expr| -> crate::error::Result<DataFrame> { Ok(df.clone().lazy().filter(filter).collect()?) };
    // each distinct coded example once, with the number of losses that carry it
    let coded = df
        .clone()
        .lazy()
        .filter(col("method").eq(lit("code")).and(col("loss_reason_text").is_not_null()).and(col("category").is_not_null()).and(col("subcategory").is_not_null()))
        .group_agg([col("loss_reason_text"), col("category"), col("subcategory")], [len().cast(DataType::Float64).alias("n")])
        .collect()?;
    let text = |c: &str| crate::output::text_column(&coded, c);
    let (notes, cats, subs) = (text("loss_reason_text")?, text("category")?, text("subcategory")?);
    let weights = coded.column("n")?.f64()?;
    let extra: Vec<((String, String, String), f64)> =
        notes.into_iter().zip(cats).zip(subs).map(|((t, c), s)| (t, c, s)).zip(weights.into_no_null_iter()).collect();
    let trained = model::Model::builtin_plus(&extra).map_err(crate::error::Error::Config)?;
    let open = texts(col("method").eq(lit("none")).and(col("loss_reason_text").is_not_null()))?
        .lazy()
        .select([col("loss_reason_text")])
        .unique_stable(None, UniqueKeepStrategy::First)
        .collect()?;
    // one guess per distinct text
    let guesses: Vec<(String, Option<model::Guess>)> =
        open.column("loss_reason_text")?.str()?.iter().flatten().map(|t| (t.to_string(), trained.guess(t))).collect();
    let guessed = df!(
        "loss_reason_text" => guesses.iter().map(|g| g.0.clone()).collect::<Vec<_>>(),
        "__g_category" => guesses.iter().map(|g| g.1.as_ref().map(|x| x.category.clone())).collect::<Vec<_>>(),
        "__g_subcategory" => guesses.iter().map(|g| g.1.as_ref().map(|x| x.subcategory.clone())).collect::<Vec<_>>(),
        "__g_confidence" => guesses.iter().map(|g| g.1.as_ref().map(|x| x.confidence)).collect::<Vec<_>>(),
    )?;
    let open_row = col("method").eq(lit("none")).and(col("__g_category").is_not_null());
    let taken = open_row.clone().and(col("__g_confidence").gt_eq(lit(threshold)));
    let out = df
        .lazy()
        .join(guessed.lazy(), [col("loss_reason_text")], [col("loss_reason_text")], events::in_order())
        .with_columns([
            when(taken.clone()).then(col("__g_category")).otherwise(col("category")).alias("category"),
            when(taken.clone()).then(col("__g_subcategory")).otherwise(col("subcategory")).alias("subcategory"),
            when(taken.clone()).then(lit("model")).otherwise(col("rule")).alias("rule"),
            when(taken.clone()).then(lit("model")).otherwise(col("method")).alias("method"),
            when(open_row.clone()).then(col("__g_confidence")).otherwise(lit(NULL).cast(DataType::Float64)).alias("confidence"),
            when(open_row.clone().and(taken.not()))
                .then(concat_str([col("__g_category"), lit("/"), col("__g_subcategory")], "", false))
                .otherwise(lit(NULL).cast(DataType::String))
                .alias("best_guess"),
        ])
        .drop(by_name(["__g_category", "__g_subcategory", "__g_confidence"], true, false))
        .collect()?;
    Ok(out)
}

/// Text rules that never fired, and the most frequent unclassified texts
/// with their counts (`rule_report`).
pub type RuleReport = (Vec<String>, Vec<(String, u32)>);

/// What the rule set can learn from the losses: text rules that never
/// fired, and the most frequent unclassified texts (with counts).
pub fn rule_report(losses: &DataFrame, rules: &LossRules, top: usize) -> crate::error::Result<RuleReport> {
    let fired: std::collections::BTreeSet<String> =
        losses.column("rule")?.str()?.iter().flatten().map(str::to_string).collect();
    let never = rules.rules.iter().map(|r| format!("rule:{}", r.id)).filter(|id| !fired.contains(id)).map(|id| id[5..].to_string()).collect();
    let unclassified = losses
        .clone()
        .lazy()
        .filter(col("category").eq(lit("unclassified")).and(col("loss_reason_text").is_not_null()))
        .group_agg([col("loss_reason_text")], [len().alias("n")])
        .sort_by_exprs([col("n"), col("loss_reason_text")], SortMultipleOptions::default().with_order_descending_multi([true, false]))
        .limit(top as IdxSize)
        .collect()?;
    let texts = unclassified.column("loss_reason_text")?.str()?.clone();
    let counts = unclassified.column("n")?.u32()?.clone();
    let top_texts = (0..unclassified.height()).filter_map(|i| Some((texts.get(i)?.to_string(), counts.get(i)?))).collect();
    Ok((never, top_texts))
}

/// The recommended action for a loss category; `fs_sourced` is true where
/// the deals were FS's own (no handoff), which changes the customer action.
fn action_expr(category: Expr, fs_sourced: Expr) -> Expr {
    // one lookup a row (loss_summary: 1.3M rows at scale 1000), not a comparison per category
    let categories = Series::new("__category".into(), CATEGORIES.to_vec());
    let actions = Series::new("__action".into(), CATEGORIES.iter().map(|c| recommended_action(c)).collect::<Vec<_>>());
    let e = category.clone().replace_strict(lit(categories), lit(actions), Some(lit(recommended_action("unclassified"))), Some(DataType::String))
        // a null category stays null through the lookup: it is unclassified too
        .fill_null(lit(recommended_action("unclassified")));
    when(category.eq(lit("customer")).and(fs_sourced)).then(lit(crate::rules::FS_SOURCED_CUSTOMER_ACTION)).otherwise(e)
}

/// Where each segment stands in the table's order (`__seg_order`): the
/// tree's segments by kind and text, FS reps by their stored id (code).
struct SegmentOrder {
    /// segment_kind, segment, __seg_order: every segment (the reps' too,
    /// though they are looked up in `reps`).
    named: LazyFrame,
    /// segment (the rep's stored id), __seg_order.
    reps: LazyFrame,
}

/// Loss aggregates per quarter (`__p`), segment and `keys`: `__seg_order`,
/// `segment_kind`, `segment` (text) and `aggs`. The segment's text is
/// carried along; the joins after run on `__seg_order`, an integer.
fn loss_segments(ids: &crate::ids::Ids, losses: LazyFrame, keys: &[&str], aggs: &[Expr], order: &SegmentOrder) -> LazyFrame {
    let mut parts = Vec::new();
    for (kind, column) in [("total", None), ("source", Some("source")), ("industry", Some("industry")), ("region", Some("region")), ("fs_rep", Some("owner_rep_id"))] {
        let mut by = vec![col("__p")];
        let seg = match column {
            Some(c) => col(c),
            None => lit("all"),
        };
        by.push(seg.alias("segment"));
        by.extend(keys.iter().map(|k| col(*k)));
        let grouped = losses.clone().group_by(by).agg(aggs).with_column(lit(kind).alias("segment_kind"));
        let part = match column {
            // a rep's segment is its id as text, as the other kinds' segments are
            Some(c) if kind == "fs_rep" => grouped
                .join(order.reps.clone(), [col("segment")], [col("segment")], JoinArgs::new(JoinType::Left))
                .with_column(ids.text_as("segment", c)),
            _ => grouped.with_column(col("segment").cast(DataType::String)).join(
                order.named.clone(),
                [col("segment_kind"), col("segment")],
                [col("segment_kind"), col("segment")],
                JoinArgs::new(JoinType::Left),
            ),
        };
        parts.push(part);
    }
    concat(parts, UnionArgs::default()).expect("same columns")
}

/// loss_summary: per quarter, segment and category (and, where a quarter or
/// the one before has losses, per subcategory): count, amount, shares,
/// change vs the prior quarter, the recommended action.
pub fn loss_summary(m: &Model, losses: LazyFrame) -> crate::error::Result<LazyFrame> {
    // the quarter index again from closed_at, for the prior-quarter join
    let l = losses.with_column(m.period("closed_at").alias("__p"));
    let aggs = [len().cast(DataType::Int64).alias("losses"), col("amount").sum().alias("amount")];
    // segments: the tree's, plus every FS rep who owns an opportunity
    let mut segs: Vec<(String, String)> = m.segments()?;
    let reps = m
        .lazy("opportunities")
        .expect("required")
        .select([col("owner_rep_id")])
        .unique(None, UniqueKeepStrategy::Any)
        .sort(["owner_rep_id"], Default::default())
        .with_columns([m.ids.text("owner_rep_id").alias("__text"), (int_range(lit(0), len(), 1, DataType::UInt32) + lit(segs.len() as u32)).alias("__seg_order")])
        .collect()?;
    // owner_rep_id is required: every value is a rep's id
    segs.extend(crate::output::text_column(&reps, "__text")?.into_iter().map(|r| ("fs_rep".to_string(), r)));
    let seg_frame = df!(
        "segment_kind" => segs.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
        "segment" => segs.iter().map(|s| s.1.clone()).collect::<Vec<_>>(),
        "__seg_order" => (0..segs.len() as u32).collect::<Vec<_>>(),
    )?;
    let segments = seg_frame.height() as u64;
    let order = SegmentOrder {
        named: seg_frame.clone().lazy(),
        reps: reps.lazy().select([col("owner_rep_id").alias("segment"), col("__seg_order")]),
    };
    // each segment's losses of the quarter, by its place among the quarters and segments (`__j`)
    let totals = loss_segments(m.ids, l.clone(), &[], &aggs, &order).select([
        (quarter_place(m, col("__p")) * u64_lit(segments) + col("__seg_order").cast(DataType::UInt64)).alias("__j"),
        col("losses").alias("__seg_losses"),
        col("amount").alias("__seg_amount"),
    ]);
    let segment_text = |c: &str| -> crate::error::Result<Expr> { Ok(crate::ids::taken_at(seg_frame.column(c)?.as_materialized_series().clone(), col("__seg_order")).alias(c)) };
    let categories = CATEGORIES.len() as u64;
    let category_names = Series::new("__category".into(), CATEGORIES.to_vec());
    let category_order = col("category").replace_strict(
        lit(category_names.clone()),
        lit(Series::new("".into(), (0..categories as u32).collect::<Vec<_>>())),
        Some(lit(NULL).cast(DataType::UInt32)),
        Some(DataType::UInt32),
    );
    // subcategory rows where the quarter or the one before has losses, each (category,
    // subcategory) numbered (`__k`) among those the losses hold
    let with_sub = l.clone().filter(col("subcategory").is_not_null());
    let pairs = with_sub
        .clone()
        .select([col("category"), col("subcategory")])
        .unique(None, UniqueKeepStrategy::Any)
        .sort(["category", "subcategory"], SortMultipleOptions::default().with_nulls_last(true))
        .with_row_index("__k", None)
        .with_column(category_order.clone().alias("__cat_order"))
        .collect()?;
    let pair_count = pairs.height() as u64;
    // a row for every quarter, segment and category, 0 where there were no losses
    let counted = loss_segments(m.ids, l.clone().with_column(category_order.alias("__k")), &["__k"], &aggs, &order);
    // (a range is selected from a frame: one of a single row)
    let every_cell = int_range(lit(0u64), u64_lit(m.periods().len() as u64 * segments * categories), 1, DataType::UInt64).alias("__i");
    // the table's order (below): each category's row at its place, then its subcategories'
    let category_place = || cell_place(m, segments, categories, col("__cat_order")) * u64_lit(pair_count + 1);
    let by_cat = level_rows(m, df!("__i" => [0u64])?.lazy().select([every_cell]), counted, totals.clone(), segments, categories)
        .with_columns([col("__k").alias("__cat_order"), lit(NULL).cast(DataType::UInt32).alias("__pair")])
        .with_column(category_place().alias("__order"));
    let pair_column = |c: &str| -> crate::error::Result<Series> { Ok(pairs.column(c)?.as_materialized_series().clone()) };
    // the losses numbered by pair once, for the five kinds of segment to group
    let numbered = super::settled(with_sub.join(pairs.clone().lazy(), [col("category"), col("subcategory")], [col("category"), col("subcategory")], JoinArgs { nulls_equal: true, ..JoinArgs::new(JoinType::Inner) }));
    let counted = loss_segments(m.ids, numbered, &["__k"], &aggs, &order);
    let quarter_cells = segments * pair_count;
    let present = counted.clone().select([cell_place(m, segments, pair_count, col("__k")).alias("__i")]);
    let next = present.clone().select([col("__i") + u64_lit(quarter_cells)]).filter(col("__i").lt(u64_lit(m.periods().len() as u64 * quarter_cells)));
    let sub_cells = concat([present, next], UnionArgs::default())?.unique(None, UniqueKeepStrategy::Any);
    let by_sub = level_rows(m, sub_cells, counted, totals, segments, pair_count)
        .with_columns([crate::ids::taken_at(pair_column("__cat_order")?, col("__k")).alias("__cat_order"), col("__k").alias("__pair")])
        .with_column((category_place() + col("__k").cast(DataType::UInt64) + u64_lit(1)).alias("__order"));
    // numbers only through the sort (a sort moves every column's values); the text once sorted
    let columns = [
        "__order", "__p", "__seg_order", "__cat_order", "__pair", "losses", "amount", "share", "amount_share", "prior_losses", "losses_change", "share_change",
    ];
    let sorted = concat([by_cat.select(columns.map(col)), by_sub.select(columns.map(col))], UnionArgs::default())?
        // by quarter, segment and category, a category's row before its subcategories', which
        // follow in the order of their text (the pairs are numbered in that order): one number
        .sort(["__order"], SortMultipleOptions::default())
        .with_columns([
            m.label(col("__p")).alias("period"),
            segment_text("segment_kind")?,
            segment_text("segment")?,
            when(col("__pair").is_null()).then(lit("category")).otherwise(lit("subcategory")).alias("level"),
            // a subcategory row's category is its pair's
            coalesce(&[
                crate::ids::taken_at(pair_column("category")?, col("__pair")),
                crate::ids::taken_at(category_names, col("__cat_order")),
            ])
            .alias("category"),
            crate::ids::taken_at(pair_column("subcategory")?, col("__pair")).fill_null(lit("all")).alias("subcategory"),
        ]);
    Ok(sorted
        .with_column(
            action_expr(col("category"), col("segment_kind").eq(lit("source")).and(col("segment").eq(lit(events::FS_SOURCED))))
                .alias("recommended_action"),
        )
        .select([
            col("period"),
            col("segment_kind"),
            col("segment"),
            col("level"),
            col("category"),
            col("subcategory"),
            col("losses"),
            col("amount"),
            col("share"),
            col("amount_share"),
            col("prior_losses"),
            col("losses_change"),
            col("share_change"),
            col("recommended_action"),
        ]))
}

/// A quarter's place among the model's quarters, from `p`, a quarter index.
fn quarter_place(m: &Model, p: Expr) -> Expr {
    (p - lit(m.span.first.0)).cast(DataType::UInt64)
}

/// The place of a row of loss aggregates (`__p`, `__seg_order` and `k`,
/// one of `inner` values) among every quarter, `segments` segments and
/// the `inner` values: quarter, then segment, then `k`.
fn cell_place(m: &Model, segments: u64, inner: u64, k: Expr) -> Expr {
    quarter_place(m, col("__p")) * u64_lit(segments * inner) + col("__seg_order").cast(DataType::UInt64) * u64_lit(inner) + k.cast(DataType::UInt64)
}

/// loss_summary's rows at one level (category or subcategory): one for
/// each place in `cells` (`__i`, see `cell_place`), with its quarter
/// (`__p`), segment (`__seg_order`) and `__k` (the category's or the pair's
/// number) worked out from the place; the losses and amount `counted`
/// gives for it (0 where none); the shares of its segment's `totals`
/// (by `__j`, the quarter and segment's place); and the same place a
/// quarter before (prior_losses null in the first quarter, 0 where that
/// place has no row; its share null then). Every join runs on one
/// integer, not on the segment's or category's text (scale 1000: 1.3M rows,
/// 12k segments).
fn level_rows(m: &Model, cells: LazyFrame, counted: LazyFrame, totals: LazyFrame, segments: u64, inner: u64) -> LazyFrame {
    let quarter_cells = segments * inner;
    let counted = counted
        .filter(col("__k").is_not_null().and(col("__seg_order").is_not_null()))
        .select([cell_place(m, segments, inner, col("__k")).alias("__i"), col("losses"), col("amount")]);
    let rows = cells
        .join(counted, [col("__i")], [col("__i")], JoinArgs::new(JoinType::Left))
        .with_columns([
            (col("__i").floor_div(u64_lit(quarter_cells)).cast(DataType::Int32) + lit(m.span.first.0)).alias("__p"),
            (col("__i").floor_div(u64_lit(inner)) % u64_lit(segments)).cast(DataType::UInt32).alias("__seg_order"),
            (col("__i") % u64_lit(inner)).cast(DataType::UInt32).alias("__k"),
            col("__i").floor_div(u64_lit(inner)).alias("__j"),
            col("losses").fill_null(lit(0i64)),
            col("amount").fill_null(lit(0.0)),
        ])
        .join(totals, [col("__j")], [col("__j")], JoinArgs::new(JoinType::Left))
        .with_columns([
            ratio(col("losses"), col("__seg_losses")).alias("share"),
            ratio(col("amount"), col("__seg_amount")).alias("amount_share"),
        ]);
    let prior = rows.clone().select([(col("__i") + u64_lit(quarter_cells)).alias("__i"), col("losses").alias("prior_losses"), col("share").alias("__prior_share")]);
    rows.join(prior, [col("__i")], [col("__i")], JoinArgs::new(JoinType::Left))
        .with_columns([when(col("__p").eq(lit(m.span.first.0)))
            .then(lit(NULL).cast(DataType::Int64))
            .otherwise(col("prior_losses").fill_null(lit(0i64)))
            .alias("prior_losses")])
        .with_columns([
            (col("losses") - col("prior_losses")).alias("losses_change"),
            (col("share") - col("__prior_share")).alias("share_change"),
        ])
}

/// loss_feedback: IS-sourced losses whose handoff is known, by the BANT
/// element missing at that handoff (and by interest level): each category's
/// share within the group, its share among all such losses (the base rate),
/// and the lift (share / base rate). Per quarter of closing and over all
/// quarters ("all").
pub fn loss_feedback(losses: LazyFrame, handoffs: LazyFrame) -> LazyFrame {
    // the last handoff that led to each opportunity
    let last_handoff = handoffs
        .filter(col("opportunity_id").is_not_null())
        .sort(["handed_off_at"], Default::default())
        .group_agg([col("opportunity_id")], [
            col("budget").last(),
            col("authority").last(),
            col("need").last(),
            col("timeline").last(),
            col("interest_level").last(),
        ]);
    let joined = losses
        .filter(col("lead_id").is_not_null())
        .select([col("opportunity_id"), col("period"), col("category"), col("amount")])
        .join(last_handoff, [col("opportunity_id")], [col("opportunity_id")], JoinArgs::new(JoinType::Inner));
    let both_periods = concat(
        [joined.clone(), joined.with_column(lit("all").alias("period"))],
        UnionArgs::default(),
    )
    .expect("same columns")
    .cache();
    // each dimension grouped on its own, its name added to the groups: one
    // frame of every loss once per dimension would hold five times the rows
    let bant = |element: &str| when(col(element).fill_null(lit(false))).then(lit("confirmed")).otherwise(lit("missing"));
    let dimensions = [
        ("budget", bant("budget")),
        ("authority", bant("authority")),
        ("need", bant("need")),
        ("timeline", bant("timeline")),
        ("interest_level", col("interest_level").fill_null(lit("unknown"))),
    ];
    let grouped: Vec<LazyFrame> = dimensions
        .into_iter()
        .map(|(dimension, value)| {
            both_periods
                .clone()
                .group_agg([col("period"), value.alias("value"), col("category")], [len().cast(DataType::Int64).alias("losses"), col("amount").sum().alias("amount")])
                .with_column(lit(dimension).alias("dimension"))
        })
        .collect();
    let base = both_periods
        .clone()
        .group_agg([col("period")], [len().cast(DataType::Int64).alias("__base_total")]);
    let base_cat = both_periods
        .group_agg([col("period"), col("category")], [len().cast(DataType::Int64).alias("__base_cat")]);
    concat(grouped, UnionArgs::default())
        .expect("same columns")
        .with_column(col("losses").sum().over([col("period"), col("dimension"), col("value")]).expect("static window").alias("group_losses"))
        .join(base, [col("period")], [col("period")], JoinArgs::new(JoinType::Left))
        .join(base_cat, [col("period"), col("category")], [col("period"), col("category")], JoinArgs::new(JoinType::Left))
        .with_columns([
            ratio(col("losses"), col("group_losses")).alias("share"),
            ratio(col("__base_cat"), col("__base_total")).alias("base_share"),
        ])
        .with_column(ratio(col("share"), col("base_share")).alias("lift"))
        .sort(["period", "dimension", "value", "category"], Default::default())
        .select([
            col("period"),
            col("dimension"),
            col("value"),
            col("category"),
            col("losses"),
            col("amount"),
            col("group_losses"),
            col("share"),
            col("base_share"),
            col("lift"),
        ])
}

pub const LOSSES_DOC: TableDoc = TableDoc {
    name: "losses",
    description: "One row per lost opportunity with its loss reason classified: picklist code first, then the first matching text rule, then the learned model (naive Bayes over character n-grams, trained on the built-in corpus and this input's coded losses).",
    columns: &[
        ("opportunity_id", "the lost opportunity"),
        ("period", "fiscal quarter of closed_at"),
        ("closed_at", "when it was lost (UTC)"),
        ("account_id", "its account"),
        ("industry", "the account's reference industry"),
        ("region", "the account's region"),
        ("source", "inbound, outbound (the lead's source) or fs_sourced"),
        ("owner_rep_id", "the FS rep who owned it"),
        ("lead_id", "its lead (null: FS-sourced)"),
        ("amount", "its amount in the base currency (converted at the rate in force on closed_at when the deal is in another currency)"),
        ("amount_original", "its amount as exported, in its own currency"),
        ("currency", "the deal's currency (ISO 4217; the base currency where the export has none)"),
        ("competitor", "competitor as exported"),
        ("loss_reason_code", "the picklist code as exported"),
        ("loss_reason_text", "the free text as exported"),
        ("category", "customer, competitor, self, timing or unclassified"),
        ("subcategory", "budget, no_decision, need_gone, price, features, incumbent, other, proposal, handling, response, postponed, too_early, key_person_left (or a configured one); null when unclassified"),
        ("method", "how it was classified: code (the picklist code), rule (a text rule), model (the learned classifier, at or above losses.model_threshold) or none (unclassified)"),
        ("rule", "what decided it: code:<normalised code>, rule:<rule id> or model; null when unclassified"),
        ("matched_text", "the code, or the span of the normalised text the rule matched (null for the model)"),
        ("confidence", "the model's posterior probability for its best class, for losses no code or rule caught (null otherwise)"),
        ("best_guess", "for a loss the model was not sure enough of: its best category/subcategory (confidence says how sure)"),
        ("recommended_action", "what the organisation should do about this category"),
    ],
};

pub const LOSS_SUMMARY_DOC: TableDoc = TableDoc {
    name: "loss_summary",
    description: "Losses per fiscal quarter, segment and category (every category on every row of the grid) and subcategory (where the quarter or the one before has losses), with change vs the prior quarter and the recommended action.",
    columns: &[
        ("period", "fiscal quarter of closed_at"),
        ("segment_kind", "total, source, industry, region or fs_rep"),
        ("segment", "segment value (all for the total; the rep_id for fs_rep)"),
        ("level", "category (subcategory = all) or subcategory"),
        ("category", "customer, competitor, self, timing or unclassified"),
        ("subcategory", "the subcategory, or all"),
        ("losses", "lost opportunities"),
        ("amount", "their amount (currency)"),
        ("share", "losses / all losses of the segment in the quarter"),
        ("amount_share", "amount / all lost amount of the segment in the quarter"),
        ("prior_losses", "losses in the quarter before (null for the first quarter)"),
        ("losses_change", "losses - prior_losses"),
        ("share_change", "share - the share in the quarter before"),
        ("recommended_action", "what to do about the category"),
    ],
};

pub const LOSS_FEEDBACK_DOC: TableDoc = TableDoc {
    name: "loss_feedback",
    description: "IS-sourced losses by what the handoff lacked: for each BANT element missing or confirmed (and each interest level), the loss categories' shares against the base rate, so IS sees which part of the toss-up rule fails.",
    columns: &[
        ("period", "fiscal quarter of closed_at, or all"),
        ("dimension", "budget, authority, need, timeline or interest_level"),
        ("value", "missing or confirmed (for BANT elements); high, medium, low or unknown (for interest_level)"),
        ("category", "loss category"),
        ("losses", "IS-sourced losses in the group and category"),
        ("amount", "their amount (currency)"),
        ("group_losses", "all losses in the group (dimension = value)"),
        ("share", "losses / group_losses"),
        ("base_share", "the category's share of all IS-sourced losses with a known handoff in the period"),
        ("lift", "share / base_share: above 1, the category is over-represented when the element was missing"),
    ],
};

/// losses in the registry: read by loss_summary and loss_feedback, so
/// collected once.
pub const LOSSES: OutputTable = OutputTable {
    doc: LOSSES_DOC,
    needs: &[Need::OpportunitiesNotWon],
    column_needs: &[],
    build: |m| {
        let rules = m.config.losses.effective().map_err(crate::error::Error::Config)?;
        Ok(Some(losses(m, &rules)?))
    },
};

/// loss_summary in the registry.
pub const LOSS_SUMMARY: OutputTable = OutputTable {
    doc: LOSS_SUMMARY_DOC,
    needs: &[Need::OpportunitiesNotWon],
    column_needs: &[],
    build: |m| m.built(&LOSSES)?.map(|l| loss_summary(m, l.lazy())).transpose(),
};

/// loss_feedback in the registry.
pub const LOSS_FEEDBACK: OutputTable = OutputTable {
    doc: LOSS_FEEDBACK_DOC,
    needs: &[Need::OpportunitiesNotWon, Need::Handoffs],
    column_needs: &[],
    build: |m| {
        let handoffs = m.built(&super::handoffs::HANDOFFS)?;
        Ok(m.built(&LOSSES)?.zip(handoffs).map(|(l, h)| loss_feedback(l.lazy(), h.lazy())))
    },
};
