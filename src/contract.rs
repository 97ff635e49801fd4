//! The input contract as data: the tables, their columns, types, keys,
//! references and enums. Loading, validation, `salesrelay schema` (and its
//! `--help`) and the data dictionary all read this one table, so they cannot
//! drift apart.

/// The type a column is parsed into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// Free text, kept as written (trimmed of surrounding space).
    Text,
    /// Whole number (stored as Int64).
    Int,
    /// Finite decimal number (stored as Float64).
    Float,
    /// true/false, t/f, yes/no, y/n, 1/0 (any case).
    Bool,
    /// ISO-8601 / RFC 3339 timestamp, stored as UTC microseconds.
    Timestamp,
    /// One of a fixed set of lower-case values, matched ignoring case.
    Enum(&'static [&'static str]),
}

impl ColType {
    /// The word used for this type in messages and the data dictionary.
    pub fn describe(&self) -> String {
        match self {
            ColType::Text => "text".into(),
            ColType::Int => "integer".into(),
            ColType::Float => "number".into(),
            ColType::Bool => "boolean".into(),
            ColType::Timestamp => "timestamp".into(),
            ColType::Enum(values) => format!("one of {}", values.join(", ")),
        }
    }
}

/// One column of an input table.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub ty: ColType,
    pub required: bool,
    /// `(table, column)` this column's non-null values must exist in.
    pub references: Option<(&'static str, &'static str)>,
}

/// A check across columns of one row, as data: `later` must not be before `earlier`.
#[derive(Debug, Clone, Copy)]
pub struct OrderRule {
    pub earlier: &'static str,
    pub later: &'static str,
    pub rule: &'static str,
}

/// One input table.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    pub name: &'static str,
    pub required: bool,
    pub key: &'static [&'static str],
    pub columns: &'static [ColumnSpec],
    pub order_rules: &'static [OrderRule],
}

impl TableSpec {
    /// The column spec named `name`, if the table has one.
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

const fn req(name: &'static str, ty: ColType) -> ColumnSpec {
    ColumnSpec { name, ty, required: true, references: None }
}
const fn opt(name: &'static str, ty: ColType) -> ColumnSpec {
    ColumnSpec { name, ty, required: false, references: None }
}
const fn req_ref(name: &'static str, table: &'static str, column: &'static str) -> ColumnSpec {
    ColumnSpec { name, ty: ColType::Text, required: true, references: Some((table, column)) }
}
const fn opt_ref(name: &'static str, table: &'static str, column: &'static str) -> ColumnSpec {
    ColumnSpec { name, ty: ColType::Text, required: false, references: Some((table, column)) }
}

use ColType::*;

pub const TEAMS: &[&str] = &["is", "fs", "cs"];
pub const ROLES: &[&str] = &["ai_sdr", "sdr", "bdr", "fs", "cs"];
pub const SOURCES: &[&str] = &["inbound", "outbound"];
pub const KINDS: &[&str] = &["call", "email", "online_meeting", "visit"];
pub const ACTIVITY_OUTCOMES: &[&str] =
    &["connected", "no_answer", "replied", "appointment_set", "held", "no_show"];
pub const INTEREST: &[&str] = &["high", "medium", "low"];
pub const HANDOFF_STATUS: &[&str] = &["accepted", "rejected", "sent_back"];
pub const SEND_BACK_REASONS: &[&str] =
    &["timing_slip", "budget_undetermined", "key_person_left", "other"];
pub const OPP_OUTCOMES: &[&str] = &["open", "won", "lost"];
pub const VIEWER_ROLES: &[&str] = &["contact", "decision_maker", "other"];
pub const ASSETS: &[&str] = &["pricing", "case_study", "proposal", "quote", "other"];
pub const FORECAST_CATEGORIES: &[&str] = &["pipeline", "best_case", "commit", "closed", "omitted"];
pub const SEGMENT_KINDS: &[&str] = &["total", "source", "industry", "region"];

/// The tables of the input contract (eight of CRM history, then the plan's
/// targets), parents before children, which is
/// also the order references are checked in.
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "accounts",
        required: true,
        key: &["account_id"],
        columns: &[
            req("account_id", Text),
            opt("account_name", Text),
            req("industry", Text),
            opt("employees", Int),
            opt("region", Text),
            opt("latitude", Float),
            opt("longitude", Float),
            opt("is_target", Bool),
        ],
        order_rules: &[],
    },
    TableSpec {
        name: "reps",
        required: true,
        key: &["rep_id"],
        columns: &[
            req("rep_id", Text),
            opt("rep_name", Text),
            req("team", Enum(TEAMS)),
            req("role", Enum(ROLES)),
            opt("region", Text),
            opt("manager_id", Text),
        ],
        order_rules: &[],
    },
    TableSpec {
        name: "exchange_rates",
        required: false,
        key: &["currency", "valid_from"],
        columns: &[req("currency", Text), req("valid_from", Timestamp), req("rate", Float)],
        order_rules: &[],
    },
    TableSpec {
        name: "leads",
        required: false,
        key: &["lead_id"],
        columns: &[
            req("lead_id", Text),
            req_ref("account_id", "accounts", "account_id"),
            req("created_at", Timestamp),
            req("source", Enum(SOURCES)),
            opt("channel", Text),
            req_ref("owner_rep_id", "reps", "rep_id"),
            opt("qualified_at", Timestamp),
            opt("disqualified_at", Timestamp),
        ],
        order_rules: &[
            OrderRule { earlier: "created_at", later: "qualified_at", rule: "qualified_before_created" },
            OrderRule { earlier: "created_at", later: "disqualified_at", rule: "disqualified_before_created" },
        ],
    },
    TableSpec {
        name: "opportunities",
        required: true,
        key: &["opportunity_id"],
        columns: &[
            req("opportunity_id", Text),
            req_ref("account_id", "accounts", "account_id"),
            opt_ref("lead_id", "leads", "lead_id"),
            req_ref("owner_rep_id", "reps", "rep_id"),
            req("created_at", Timestamp),
            req("amount", Float),
            opt("stage", Text),
            opt("closed_at", Timestamp),
            req("outcome", Enum(OPP_OUTCOMES)),
            opt("loss_reason_code", Text),
            opt("loss_reason_text", Text),
            opt("competitor", Text),
            opt("expected_close_at", Timestamp),
            opt("currency", Text),
            opt("forecast_category", Enum(FORECAST_CATEGORIES)),
        ],
        order_rules: &[OrderRule { earlier: "created_at", later: "closed_at", rule: "closed_before_created" }],
    },
    TableSpec {
        name: "handoffs",
        required: false,
        key: &["handoff_id"],
        columns: &[
            req("handoff_id", Text),
            req_ref("lead_id", "leads", "lead_id"),
            opt_ref("opportunity_id", "opportunities", "opportunity_id"),
            req_ref("from_rep_id", "reps", "rep_id"),
            req_ref("to_rep_id", "reps", "rep_id"),
            req("handed_off_at", Timestamp),
            opt("budget", Bool),
            opt("authority", Bool),
            opt("need", Bool),
            opt("timeline", Bool),
            opt("interest_level", Enum(INTEREST)),
            opt("sheet_fields_filled", Int),
            opt("sheet_fields_total", Int),
            req("status", Enum(HANDOFF_STATUS)),
            opt("first_fs_contact_at", Timestamp),
            opt("sent_back_at", Timestamp),
            opt("send_back_reason", Enum(SEND_BACK_REASONS)),
        ],
        order_rules: &[OrderRule { earlier: "handed_off_at", later: "sent_back_at", rule: "sent_back_before_handoff" }],
    },
    TableSpec {
        name: "activities",
        required: false,
        key: &["activity_id"],
        columns: &[
            req("activity_id", Text),
            req_ref("rep_id", "reps", "rep_id"),
            req_ref("account_id", "accounts", "account_id"),
            opt_ref("lead_id", "leads", "lead_id"),
            opt_ref("opportunity_id", "opportunities", "opportunity_id"),
            req("occurred_at", Timestamp),
            req("kind", Enum(KINDS)),
            opt("outcome", Enum(ACTIVITY_OUTCOMES)),
            opt("with_decision_maker", Bool),
            opt("duration_min", Float),
        ],
        order_rules: &[],
    },
    TableSpec {
        name: "stage_history",
        required: false,
        key: &["opportunity_id", "entered_at"],
        columns: &[
            req_ref("opportunity_id", "opportunities", "opportunity_id"),
            req("stage", Text),
            req("entered_at", Timestamp),
            opt("amount", Float),
            opt("close_date", Timestamp),
        ],
        order_rules: &[],
    },
    TableSpec {
        name: "dsr_views",
        required: false,
        key: &["view_id"],
        columns: &[
            req("view_id", Text),
            opt_ref("opportunity_id", "opportunities", "opportunity_id"),
            opt_ref("lead_id", "leads", "lead_id"),
            opt("viewer_role", Enum(VIEWER_ROLES)),
            opt("asset", Enum(ASSETS)),
            req("viewed_at", Timestamp),
            opt("seconds", Float),
        ],
        order_rules: &[],
    },
    TableSpec {
        name: "targets",
        required: false,
        key: &["period", "segment_kind", "segment", "node"],
        columns: &[
            req("period", Text),
            req("segment_kind", Enum(SEGMENT_KINDS)),
            req("segment", Text),
            req("node", Text),
            req("target", Float),
        ],
        order_rules: &[],
    },
];

/// Tables a CRM export may not carry (the plan; exchange rates kept in a
/// finance system): read from their native file in the input folder when a
/// mapping reads the rest and does not map them.
pub const PLAN_TABLES: &[&str] = &["targets", "exchange_rates"];

/// The table spec named `name`.
pub fn table(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().find(|t| t.name == name)
}

/// Column names compare case-insensitively and ignoring `_` (and surrounding
/// space), so `AccountId`, `account_id` and `ACCOUNTID` are one column.
pub fn normalize_name(name: &str) -> String {
    name.trim().chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

/// How far `candidate` is from `name` when it is a likely typo of it: the
/// edit distance of the normalised names, if at most 2 and fewer than half
/// the name (the rule every did-you-mean uses).
pub fn typo_distance(name: &str, candidate: &str) -> Option<usize> {
    let n = normalize_name(name);
    if n.is_empty() {
        return None;
    }
    let d = strsim::damerau_levenshtein(&n, &normalize_name(candidate));
    (d <= 2 && 2 * d < n.chars().count().max(2)).then_some(d)
}

/// Name of the synthetic column holding each record's row number in its file.
pub const ROW: &str = "_row";

/// What an output table, column or KPI node needs from the input beyond the
/// required tables: an optional table, an optional column, or a fact a
/// mapping can declare missing. Typed, so a misspelt need does not compile;
/// `key` is how data_coverage and a mapping's `[unavailable]` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    Leads,
    Handoffs,
    Activities,
    StageHistory,
    DsrViews,
    LeadsQualifiedAt,
    HandoffsFirstFsContactAt,
    HandoffsSentBackAt,
    ActivitiesOutcome,
    ActivitiesWithDecisionMaker,
    AccountsLatitude,
    AccountsLongitude,
    AccountsIsTarget,
    DsrViewsSeconds,
    DsrViewsAsset,
    DsrViewsViewerRole,
    Targets,
    OpportunitiesExpectedCloseAt,
    OpportunitiesLeadId,
    /// Open deals have an expected close date: the latest
    /// stage_history.close_date, else opportunities.expected_close_at.
    ExpectedCloseDates,
    /// Deals that were not won are recorded (an export of won deals only,
    /// such as Olist's, has none).
    OpportunitiesNotWon,
}

impl Need {
    /// Every need, for checks against the contract.
    pub const ALL: [Need; 21] = [
        Need::Leads,
        Need::Handoffs,
        Need::Activities,
        Need::StageHistory,
        Need::DsrViews,
        Need::LeadsQualifiedAt,
        Need::HandoffsFirstFsContactAt,
        Need::HandoffsSentBackAt,
        Need::ActivitiesOutcome,
        Need::ActivitiesWithDecisionMaker,
        Need::AccountsLatitude,
        Need::AccountsLongitude,
        Need::AccountsIsTarget,
        Need::DsrViewsSeconds,
        Need::DsrViewsAsset,
        Need::DsrViewsViewerRole,
        Need::Targets,
        Need::OpportunitiesExpectedCloseAt,
        Need::OpportunitiesLeadId,
        Need::ExpectedCloseDates,
        Need::OpportunitiesNotWon,
    ];

    /// The need as data_coverage names it: `table`, `table.column` or
    /// `table.fact`.
    pub fn key(self) -> &'static str {
        match self {
            Need::Leads => "leads",
            Need::Handoffs => "handoffs",
            Need::Activities => "activities",
            Need::StageHistory => "stage_history",
            Need::DsrViews => "dsr_views",
            Need::LeadsQualifiedAt => "leads.qualified_at",
            Need::HandoffsFirstFsContactAt => "handoffs.first_fs_contact_at",
            Need::HandoffsSentBackAt => "handoffs.sent_back_at",
            Need::ActivitiesOutcome => "activities.outcome",
            Need::ActivitiesWithDecisionMaker => "activities.with_decision_maker",
            Need::AccountsLatitude => "accounts.latitude",
            Need::AccountsLongitude => "accounts.longitude",
            Need::AccountsIsTarget => "accounts.is_target",
            Need::DsrViewsSeconds => "dsr_views.seconds",
            Need::DsrViewsAsset => "dsr_views.asset",
            Need::DsrViewsViewerRole => "dsr_views.viewer_role",
            Need::Targets => "targets",
            Need::OpportunitiesExpectedCloseAt => "opportunities.expected_close_at",
            Need::OpportunitiesLeadId => "opportunities.lead_id",
            Need::ExpectedCloseDates => "opportunities.expected_close",
            Need::OpportunitiesNotWon => "opportunities.not_won",
        }
    }
}

/// The export's own opportunity columns a mapping passes through
/// (`[passthrough] opportunities = ["Segment__c"]`): one row per
/// opportunity_id, the columns as text, each with its origin.
#[derive(Debug, Clone)]
pub struct Passthrough {
    pub frame: polars::prelude::DataFrame,
    /// (column, where it comes from) in the mapping's order.
    pub columns: Vec<(String, String)>,
}
