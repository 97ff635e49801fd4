//! Several currencies: each deal's amount converted into the base currency
//! at the exchange rate in force on its date (closed_at; for open deals the
//! expected close; else created_at), stage-history amounts at their deal's
//! rate. `exchange_rates` gives rates as Salesforce's DatedConversionRate
//! does: units of the currency per one unit of the base currency, in force
//! from valid_from until the next row of that currency. The rate in force is
//! found by sorting rates and deals together by currency and date and
//! carrying each rate forward (an as-of join in one pass).

use polars::prelude::*;

use crate::findings::check;

/// The currency of a deal as matched: trimmed, upper case; empty is the base.
fn code(e: Expr) -> Expr {
    crate::typing::each_distinct(e, |v| v.trim().to_uppercase())
}

/// The date a deal's amount is converted on.
fn conversion_date(opps_schema: &Schema) -> Expr {
    let mut parts = vec![col("closed_at")];
    if opps_schema.contains("expected_close_at") {
        parts.push(col("expected_close_at"));
    }
    parts.push(col("created_at"));
    coalesce(&parts)
}

/// Opportunities with `__currency` (upper case; null = base) and `__rate`
/// (1 for the base currency; null where no rate is in force).
pub fn with_rates(opps: LazyFrame, rates: Option<LazyFrame>, base: Option<&str>) -> PolarsResult<LazyFrame> {
    let schema = opps.clone().collect_schema()?;
    let base = base.map(str::to_string);
    let currency = code(col("currency"));
    let is_base = match &base {
        Some(b) => currency.clone().is_null().or(currency.clone().eq(lit(b.clone()))),
        None => currency.clone().is_null(),
    };
    let opps = opps.with_row_index("__i", None).with_columns([currency.alias("__currency"), is_base.alias("__is_base"), conversion_date(&schema).alias("__on")]);
    let Some(rates) = rates else {
        return Ok(opps.with_column(when(col("__is_base")).then(lit(1.0)).otherwise(lit(NULL).cast(DataType::Float64)).alias("__rate")));
    };
    // rates and deals in one frame, rates first on a tie, each deal taking the last rate before it
    let r = rates.select([code(col("currency")).alias("__currency"), col("valid_from").alias("__on"), col("rate").alias("__r"), lit(0u8).alias("__kind"), lit(NULL).cast(IDX_DTYPE).alias("__i")]);
    let d = opps.clone().filter(col("__is_base").not()).select([col("__currency"), col("__on"), lit(NULL).cast(DataType::Float64).alias("__r"), lit(1u8).alias("__kind"), col("__i")]);
    let found = concat([r, d], UnionArgs::default())?
        .sort(["__currency", "__on", "__kind"], Default::default())
        .with_column(col("__r").fill_null_with_strategy(FillNullStrategy::Forward(None)).over([col("__currency")])?.alias("__r"))
        .filter(col("__kind").eq(lit(1u8)))
        .select([col("__i"), col("__r")]);
    Ok(opps
        .join(found, [col("__i")], [col("__i")], crate::typing::in_order())
        .with_column(when(col("__is_base")).then(lit(1.0)).otherwise(col("__r")).alias("__rate"))
        .drop(by_name(["__r"], true, false)))
}

/// Findings about the currencies of opportunities: a code that is not three
/// letters, a currency with no rate in force on the deal's date.
pub fn currency_checks(opps: &LazyFrame, rates: Option<LazyFrame>, base: Option<&str>) -> PolarsResult<Vec<LazyFrame>> {
    let t = "opportunities";
    let rated = with_rates(opps.clone(), rates, base)?;
    let not_code = col("__currency").is_not_null().and(col("__currency").str().contains(lit("^[A-Z]{3}$"), true).not());
    let detail = match base {
        Some(b) => format!("no exchange rate in force for this currency on the deal's date (closed_at, else expected_close_at, else created_at): add a row to exchange_rates (units of the currency per one {b})"),
        None => "no exchange rate in force for this currency on the deal's date: add it to exchange_rates, and base_currency to salesrelay.toml".into(),
    };
    Ok(vec![
        check(&rated, t, Some("currency"), col("currency"), not_code.clone(), "not_a_currency", "not an ISO 4217 currency code such as JPY or USD"),
        check(&rated, t, Some("currency"), col("currency"), not_code.not().and(col("__rate").is_null()), "no_exchange_rate", &detail),
    ])
}

/// `currency` (a deal's code, upper case), the base where it is empty.
fn or_base(currency: Expr, base: Option<&str>) -> Expr {
    match base {
        Some(b) => coalesce(&[currency, lit(b.to_string())]),
        None => currency,
    }
    .alias("currency")
}

/// The kept opportunities with `amount` in the base currency,
/// `amount_original` as exported and `currency` (upper case, the base where
/// empty); and the stage history's amounts at their deal's rate.
pub fn convert(opps: DataFrame, stages: Option<DataFrame>, rates: Option<LazyFrame>, base: Option<&str>) -> PolarsResult<(DataFrame, Option<DataFrame>)> {
    let columns: Vec<String> = opps.get_column_names().iter().map(|c| c.to_string()).collect();
    let mut keep: Vec<Expr> = columns.iter().map(|c| col(c.as_str())).collect();
    keep.push(col("amount_original"));
    if rates.is_none() {
        // without rates every rate is 1 (a deal in another currency is a
        // fatal finding): the amounts stay as they are, and stage_history
        // (millions of rows) is not joined to the deals for nothing
        let out = opps.lazy().with_columns([col("amount").alias("amount_original"), or_base(code(col("currency")), base)]).select(keep).collect()?;
        return Ok((out, stages));
    }
    let rated = with_rates(opps.lazy(), rates, base)?.with_columns([
        col("amount").alias("amount_original"),
        (col("amount") / col("__rate").fill_null(lit(1.0))).alias("amount"),
        or_base(col("__currency"), base),
    ]);
    let out = rated.clone().select(keep).collect()?;
    let stages = match stages {
        Some(sh) => {
            let rate = rated.select([col("opportunity_id"), col("__rate").fill_null(lit(1.0)).alias("__rate")]);
            let names: Vec<Expr> = sh.get_column_names().iter().map(|c| col(c.as_str())).collect();
            Some(
                sh.lazy()
                    .join(rate, [col("opportunity_id")], [col("opportunity_id")], crate::typing::in_order())
                    .with_column((col("amount") / col("__rate").fill_null(lit(1.0))).alias("amount"))
                    .select(names)
                    .collect()?,
            )
        }
        None => None,
    };
    Ok((out, stages))
}

/// The distinct currencies of opportunities other than the base (upper case).
pub fn foreign_currencies(opps: &LazyFrame, base: Option<&str>) -> PolarsResult<Vec<String>> {
    let c = code(col("currency"));
    let mut lf = opps.clone().select([c.alias("c")]).filter(col("c").is_not_null());
    if let Some(b) = base {
        lf = lf.filter(col("c").neq(lit(b.to_string())));
    }
    let df = lf.unique(None, UniqueKeepStrategy::Any).sort(["c"], Default::default()).collect()?;
    Ok(df.column("c")?.str()?.iter().flatten().map(str::to_string).collect())
}
