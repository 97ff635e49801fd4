//! `salesrelay schema` and `salesrelay metrics`: the contract and the node
//! definitions as the binary prints them.

use crate::util::{root, salesrelay};

/// stdout of a successful run of the binary.
fn ok(args: &[&str]) -> String {
    let o = salesrelay(&root(), args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8")
}

/// The printed line whose first word is `first`, split into words.
fn words_of<'a>(text: &'a str, first: &str) -> Vec<&'a str> {
    let hits: Vec<&str> = text.lines().filter(|l| l.split_whitespace().next() == Some(first)).collect();
    assert_eq!(hits.len(), 1, "one line starting with {first:?} in:\n{text}");
    hits[0].split_whitespace().collect()
}

#[test]
fn schema_lists_every_table_of_the_contract_in_order_with_its_key() {
    let out = ok(&["schema"]);
    let headers: Vec<&str> = out.lines().filter(|l| l.contains("  key: ")).collect();
    assert_eq!(
        headers,
        vec![
            "accounts (required)  key: account_id",
            "reps (required)  key: rep_id",
            "exchange_rates (optional)  key: currency + valid_from",
            "leads (optional)  key: lead_id",
            "opportunities (required)  key: opportunity_id",
            "handoffs (optional)  key: handoff_id",
            "activities (optional)  key: activity_id",
            "stage_history (optional)  key: opportunity_id + entered_at",
            "dsr_views (optional)  key: view_id",
            "targets (optional)  key: period + segment_kind + segment + node",
        ],
        "{out}"
    );
    assert!(out.starts_with(
        "Input contract: 10 tables.\n\
         Required: accounts, reps, opportunities.\n\
         Optional: exchange_rates, leads, handoffs, activities, stage_history, dsr_views, targets\n"
    ), "{out}");
    // a table without references has no empty references column
    let accounts = out.split("\n\n").find(|b| b.starts_with("accounts ")).expect("accounts block");
    assert!(accounts.contains("\n  account_id    required  text\n"), "{accounts}");
    assert!(accounts.ends_with("\n  is_target     optional  boolean"), "{accounts}");
    // the reading rules
    for rule in [
        "  - column names match ignoring case and `_` (AccountId = account_id); other columns are ignored",
        "  - one file per table in the input folder: NAME.csv or NAME.parquet (not both)",
        "    without an offset they are local time in the configured time_zone",
        "  - booleans: true/false, t/f, yes/no, y/n, 1/0 (any case)",
        "  - an empty field is null; a required column needs a value in every row",
    ] {
        assert!(out.lines().any(|l| l == rule), "{rule:?} in:\n{out}");
    }
}

#[test]
fn schema_shows_types_requiredness_enums_and_references_of_each_column() {
    let out = ok(&["schema"]);
    // columns are aligned per table: name, required/optional, reference, type
    let leads = out.split("\n\n").find(|b| b.starts_with("leads ")).expect("leads block");
    assert_eq!(
        leads,
        "leads (optional)  key: lead_id\n\
         \x20 lead_id          required                          text\n\
         \x20 account_id       required  -> accounts.account_id  text\n\
         \x20 created_at       required                          timestamp\n\
         \x20 source           required                          one of inbound, outbound\n\
         \x20 channel          optional                          text\n\
         \x20 owner_rep_id     required  -> reps.rep_id          text\n\
         \x20 qualified_at     optional                          timestamp\n\
         \x20 disqualified_at  optional                          timestamp\n\
         \x20 check: qualified_at not before created_at\n\
         \x20 check: disqualified_at not before created_at"
    );
    assert_eq!(words_of(&out, "status"), ["status", "required", "one", "of", "accepted,", "rejected,", "sent_back"]);
    assert!(out.contains("  status               required                                   one of accepted, rejected, sent_back\n"), "{out}");
    assert_eq!(words_of(&out, "with_decision_maker"), ["with_decision_maker", "optional", "boolean"]);
    assert_eq!(words_of(&out, "employees"), ["employees", "optional", "integer"]);
    assert_eq!(words_of(&out, "to_rep_id"), ["to_rep_id", "required", "->", "reps.rep_id", "text"]);
}

#[test]
fn schema_table_prints_one_table() {
    let out = ok(&["schema", "--table", "stage_history"]);
    assert_eq!(
        out,
        "stage_history (optional)  key: opportunity_id + entered_at\n\
         \x20 opportunity_id  required  -> opportunities.opportunity_id  text\n\
         \x20 stage           required                                   text\n\
         \x20 entered_at      required                                   timestamp\n\
         \x20 amount          optional                                   number\n\
         \x20 close_date      optional                                   timestamp\n"
    );
}

#[test]
fn an_unknown_table_or_node_is_a_usage_error() {
    let o = salesrelay(&root(), &["schema", "--table", "lead"]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("invalid value 'lead' for '--table <NAME>'"), "{stderr}");
    assert!(stderr.contains("accounts, reps, exchange_rates, leads, opportunities, handoffs, activities, stage_history, dsr_views, targets"), "{stderr}");
    assert!(o.stdout.is_empty());
    let o = salesrelay(&root(), &["metrics", "--node", "win_yield"]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("invalid value 'win_yield' for '--node <NAME>'"), "{stderr}");
    assert!(stderr.contains("win_yield_is"), "{stderr}");
    // the library says the same for callers that skip the command line
    let e = salesrelay::describe::schema(Some("lead")).unwrap_err().to_string();
    assert_eq!(
        e,
        "configuration: --table \"lead\" is not an input table; the tables: accounts, reps, exchange_rates, leads, opportunities, handoffs, activities, stage_history, dsr_views, targets"
    );
    let e = salesrelay::describe::metrics(Some("win_yield")).unwrap_err().to_string();
    assert_eq!(e, "configuration: --node \"win_yield\" is not a kpi_tree node; `salesrelay metrics` lists the 40");
}

#[test]
fn metrics_lists_the_40_nodes_in_tree_order_with_their_definitions() {
    let out = ok(&["metrics"]);
    let nodes = out.split("\nNodes:\n").nth(1).expect("Nodes section");
    assert_eq!(nodes.lines().next().unwrap().split_whitespace().collect::<Vec<_>>(), ["node", "parent", "node_kind", "unit"]);
    let rows: Vec<Vec<&str>> = nodes.lines().skip(1).step_by(2).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 40, "{nodes}");
    assert!(rows.iter().all(|r| r.len() == 4), "{nodes}");
    let names: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(&names[..4], ["revenue", "revenue_is", "revenue_fs", "leads"]);
    assert_eq!(names[39], "sales_cycle_days_median");
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 40);
    assert_eq!(rows[0], ["revenue", "-", "identity", "currency"]);
    assert_eq!(words_of(nodes, "win_yield_is"), ["win_yield_is", "revenue_is", "factor", "ratio"]);
    assert_eq!(words_of(nodes, "sla_met_rate"), ["sla_met_rate", "win_yield_is", "indicator", "ratio"]);
    assert_eq!(words_of(nodes, "response_time_median_h"), ["response_time_median_h", "sql_rate", "indicator", "hours"]);
    // each definition is the line under its node
    assert!(nodes.contains(
        "  win_yield_is                  revenue_is    factor     ratio\n      wins_is / accepted, a flow ratio of one quarter's events that can exceed 1.\n"
    ), "{nodes}");
    assert!(nodes.contains(
        "\n      Leads qualified in the quarter that have an opportunity won at any time in the data / leads qualified in the quarter (a cohort number: it grows as the cohort's deals close; kpi_tree's open_deals and mature say whether it still can).\n"
    ), "{nodes}");
    assert!(nodes.contains("\n      Handoffs with handed_off_at in the quarter whose status is accepted or sent_back.\n"), "{nodes}");
}

#[test]
fn metrics_states_the_identities_and_the_attribution_rule() {
    let out = ok(&["metrics"]);
    assert!(out.contains(
        "Identities:\n\
         \x20 revenue     = revenue_is + revenue_fs\n\
         \x20 revenue_is  = leads x sql_rate x handoff_rate x acceptance_rate x win_yield_is x deal_size_is\n\
         \x20 revenue_fs  = opps_fs x win_yield_fs x deal_size_fs\n\
         \x20 leads       = leads_inbound + leads_outbound\n"
    ), "{out}");
    assert!(out.contains("gets its LMDI-I share of the product's change"), "{out}");
    assert!(out.contains("L(V1, V0) x ln(x1 / x0) with L(a, b) = (a - b) / ln(a / b)"), "{out}");
    assert!(out.contains("Rules: a ratio with denominator 0 is null; medians are lower medians"), "{out}");
}

#[test]
fn metrics_node_prints_one_node() {
    let out = ok(&["metrics", "--node", "win_yield_is"]);
    assert_eq!(
        out,
        "  node          parent      node_kind  unit\n\
         \x20 win_yield_is  revenue_is  factor     ratio\n\
         \x20     wins_is / accepted, a flow ratio of one quarter's events that can exceed 1.\n"
    );
    let out = ok(&["metrics", "--node", "revenue"]);
    assert_eq!(
        out,
        "  node     parent  node_kind  unit\n\
         \x20 revenue  -       identity   currency\n\
         \x20     Revenue won in the quarter: revenue_is + revenue_fs.\n"
    );
}
