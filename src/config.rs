//! `salesrelay.toml`: one struct, every key defaulted, unknown keys rejected.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Name of the configuration file looked for in the input folder.
pub const CONFIG_FILE: &str = "salesrelay.toml";

/// The whole configuration. Every key has a default; see README for each.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Encoding of the input CSVs: auto (default: UTF-8 when a file is valid
    /// UTF-8, else Shift_JIS / CP932 when it decodes cleanly), utf-8,
    /// shift_jis or cp932.
    pub encoding: String,
    /// `[csv]`: how the input CSVs are separated.
    pub csv: CsvConfig,
    /// `[lenient]`: how much `--lenient` may set aside.
    pub lenient: LenientConfig,
    /// `[maturity]`: when a cohort's numbers are final enough to rank on.
    pub maturity: MaturityConfig,
    /// `[report]`: what the report's bridge and movers compare with.
    pub report: ReportConfig,
    /// `[planning]`: the rates behind required_volumes.
    pub planning: PlanningConfig,
    /// `[advice]`: how much evidence a recommendation needs.
    pub advice: AdviceConfig,
    /// ISO 4217 code amounts are reported in (e.g. "JPY"); needed when
    /// opportunities carry several currencies.
    pub base_currency: Option<String>,
    /// What money axes and headlines say amounts are in (default: the base
    /// currency).
    pub currency_label: Option<String>,
    /// First month of the fiscal year, 1-12 (default 4, April, as in Japan).
    pub fiscal_year_start_month: u32,
    /// `start` (default): FY named by the calendar year it starts in; `end`: the year it ends in.
    pub fiscal_year_label: FiscalYearLabel,
    /// IANA time zone for timestamps written without an offset and for quarter boundaries.
    pub time_zone: String,
    /// Business days FS has for the first contact after a handoff (default 2).
    pub sla_business_days: f64,
    /// Local dates (YYYY-MM-DD) that are not business days.
    pub holidays: Vec<String>,
    /// The toss-up rule a handoff should meet.
    pub tossup: TossupRule,
    /// When FS should send a deal back to IS nurturing.
    pub send_back: SendBackRules,
    /// Where the industry mapping and the survey benchmark come from.
    pub industries: IndustryConfig,
    /// Loss-reason codes and text rules (the user's before the built-in ones).
    pub losses: crate::rules::LossConfig,
    /// Deal-room (dsr_views) engagement bands and the stalled-deal rule.
    pub engagement: EngagementConfig,
    /// The FS visit plan for the working week after the data ends.
    pub visit_plan: VisitPlanConfig,
}

/// `[csv]`: the field separator of the input CSVs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CsvConfig {
    /// One character: "," (default), ";", "\t" (tab) or "|".
    pub delimiter: String,
}

impl Default for CsvConfig {
    fn default() -> Self {
        CsvConfig { delimiter: ",".into() }
    }
}

impl CsvConfig {
    /// The separator as a byte (checked at load).
    pub fn byte(&self) -> u8 {
        self.delimiter.as_bytes().first().copied().unwrap_or(b',')
    }
}

/// `[lenient]`: the largest share of any table's rows `--lenient` may set
/// aside before the run stops (default 0.05: 5%).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LenientConfig {
    pub max_share: f64,
}

impl Default for LenientConfig {
    fn default() -> Self {
        LenientConfig { max_share: 0.05 }
    }
}

/// `[report]`: which comparison of kpi_attribution the report's revenue
/// bridge and KPI tree chart draw: `prior_quarter` (default) or `year_ago`.
/// The headline table and the movers give both.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ReportConfig {
    pub compare: Comparison,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig { compare: Comparison::PriorQuarter }
    }
}

/// `[planning]`: required_volumes works back from a revenue target at the
/// pooled rates of the last `rate_window` complete quarters (default 4).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PlanningConfig {
    pub rate_window: u32,
}

impl Default for PlanningConfig {
    fn default() -> Self {
        PlanningConfig { rate_window: 4 }
    }
}

/// `[advice]`: a recommendation that compares win rates needs at least
/// `min_deals` closed deals behind it (default 20); below that it says so.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AdviceConfig {
    pub min_deals: u32,
}

impl Default for AdviceConfig {
    fn default() -> Self {
        AdviceConfig { min_deals: 20 }
    }
}

/// One of kpi_tree's two comparisons.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    PriorQuarter,
    YearAgo,
}

impl Comparison {
    /// As kpi_tree's `comparison` column names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::PriorQuarter => "prior_quarter",
            Comparison::YearAgo => "year_ago",
        }
    }

    /// "the quarter before", "a year before": for sentences.
    pub fn words(self) -> &'static str {
        match self {
            Comparison::PriorQuarter => "the quarter before",
            Comparison::YearAgo => "a year before",
        }
    }
}

/// `[maturity]`: a cohort (leads qualified, handoffs made in a quarter) is
/// mature when at least `closed_share` of its deals are closed (default 0.9);
/// until then its win numbers can still rise and are not ranked on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MaturityConfig {
    pub closed_share: f64,
}

impl Default for MaturityConfig {
    fn default() -> Self {
        MaturityConfig { closed_share: 0.9 }
    }
}

/// `[engagement]`: a closed deal's room views (up to its close) put it in a
/// band: none (0 views), low (1 to medium_views - 1), medium (medium_views
/// to high_views - 1), high (high_views or more).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EngagementConfig {
    /// Views from which a deal's engagement is medium (default 3).
    pub medium_views: u32,
    /// Views from which a deal's engagement is high (default 8).
    pub high_views: u32,
    /// An open deal whose room has had no views for this many days is stalled (default 14).
    pub stalled_days: f64,
}

/// `[visit_plan]`: how the week's visits are chosen and routed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VisitPlanConfig {
    /// Existing customers within this great-circle distance of a priority stop are suggested (default 10 km).
    pub radius_km: f64,
    /// ... when nobody has visited them for this many days (default 60).
    pub not_visited_days: f64,
    /// Stops per day at most (default 4).
    pub max_stops_per_day: u32,
    /// Priority-deal stops per day at most; the rest of the day is nearby customers (default 2).
    pub priority_stops_per_day: u32,
    /// Road kilometres per great-circle kilometre (default 1.3).
    pub road_factor: f64,
    /// A day's route never exceeds this many road km (default 200): stops
    /// that would break it move to another day or are left unplanned, with a note.
    pub max_road_km_per_day: f64,
}

impl Default for EngagementConfig {
    fn default() -> Self {
        EngagementConfig { medium_views: 3, high_views: 8, stalled_days: 14.0 }
    }
}

impl Default for VisitPlanConfig {
    fn default() -> Self {
        VisitPlanConfig { radius_km: 10.0, not_visited_days: 60.0, max_stops_per_day: 4, priority_stops_per_day: 2, road_factor: 1.3, max_road_km_per_day: 200.0 }
    }
}

/// `fiscal_year_label`: which calendar year names a fiscal year.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FiscalYearLabel {
    Start,
    End,
}

/// `[tossup]`: at least `min_bant` of the four BANT flags and interest at least `min_interest`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TossupRule {
    pub min_bant: u32,
    pub min_interest: String,
}

/// `[send_back]`: the send-back criteria from the handoff playbook.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SendBackRules {
    /// A deal whose adoption timing slips past this many months goes back to IS.
    pub timing_slip_months: u32,
    /// A deal whose budget is undetermined goes back to IS.
    pub budget_undetermined: bool,
    /// A deal whose key person left goes back to IS.
    pub key_person_left: bool,
}

/// `[industries]`: files relative to the input folder; when absent the built-in copies are used.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IndustryConfig {
    /// CSV `industry,reference_industry` mapping free text onto the ten reference industries.
    pub mapping: PathBuf,
    /// CSV `reference_industry,in_person_share,n,source` with the survey benchmark.
    pub benchmark: PathBuf,
    /// Extra mappings written inline: `"Banking" = "Financial Services and Insurance"`.
    pub extra: std::collections::BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            encoding: "auto".into(),
            csv: Default::default(),
            lenient: Default::default(),
            maturity: Default::default(),
            report: Default::default(),
            planning: Default::default(),
            advice: Default::default(),
            base_currency: None,
            currency_label: None,
            fiscal_year_start_month: 4,
            fiscal_year_label: FiscalYearLabel::Start,
            time_zone: "Asia/Tokyo".into(),
            sla_business_days: 2.0,
            holidays: Vec::new(),
            tossup: TossupRule::default(),
            send_back: SendBackRules::default(),
            industries: IndustryConfig::default(),
            losses: Default::default(),
            engagement: Default::default(),
            visit_plan: Default::default(),
        }
    }
}

impl Default for TossupRule {
    fn default() -> Self {
        TossupRule { min_bant: 3, min_interest: "medium".into() }
    }
}

impl Default for SendBackRules {
    fn default() -> Self {
        SendBackRules { timing_slip_months: 6, budget_undetermined: true, key_person_left: true }
    }
}

impl Default for IndustryConfig {
    fn default() -> Self {
        IndustryConfig {
            mapping: PathBuf::from("reference/industry_mapping.csv"),
            benchmark: PathBuf::from("reference/industry_benchmark.csv"),
            extra: Default::default(),
        }
    }
}

/// Upper bounds of the numeric keys: generous for any sales team, and
/// they keep a typo from hanging the run (routing a day is cubic in its
/// stops, the neighbour search grows with the radius) or from meaning
/// nothing (an SLA of a year).
pub const SLA_DAYS_MAX: f64 = 60.0;
pub const SLIP_MONTHS_MAX: f64 = 60.0;
pub const VIEWS_MAX: f64 = 1000.0;
pub const DAYS_QUIET_MAX: f64 = 365.0;
pub const RADIUS_KM_MAX: f64 = 500.0;
pub const NOT_VISITED_DAYS_MAX: f64 = 3650.0;
pub const STOPS_MAX: f64 = 50.0;
pub const ROAD_FACTOR_MAX: f64 = 5.0;
/// Road km in one rep's day at most (a day of driving).
pub const ROAD_KM_PER_DAY_MAX: f64 = 2000.0;

/// `key = value` must be a finite number from `lo` to `hi`; the message
/// names the key, the bounds and the unit.
fn within(key: &str, value: f64, lo: f64, hi: f64, unit: &str) -> Result<(), String> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(format!("{key} = {value} must be a number from {lo} to {hi} ({unit})"))
    }
}

/// The encodings the loader can decode.
pub const ENCODINGS: &[&str] = &["auto", "utf-8", "shift_jis", "cp932"];

/// Sets every key of `defaults` that `table` lacks, table by table.
fn merge_defaults(table: &mut toml::Table, defaults: &toml::Table) {
    for (k, v) in defaults {
        match (table.get_mut(k), v) {
            (Some(toml::Value::Table(mine)), toml::Value::Table(theirs)) => merge_defaults(mine, theirs),
            (Some(_), _) => {}
            (None, v) => {
                table.insert(k.clone(), v.clone());
            }
        }
    }
}

impl Config {
    /// Parses TOML text; `origin` names the file in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, Error> {
        let config: Config = toml::from_str(text)
            .map_err(|e| Error::Config(format!("{origin}: {}", e.to_string().trim_end())))?;
        config.check().map_err(|msg| Error::Config(format!("{origin}: {msg}")))?;
        Ok(config)
    }

    /// Reads `explicit` if given, else `salesrelay.toml` in `input` if
    /// present, else defaults. `defaults` (a mapping's `[config]`) fills the
    /// keys the file does not set.
    pub fn resolve(explicit: Option<&Path>, input: &Path, defaults: &toml::Table) -> Result<(Config, Option<PathBuf>), Error> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => Some(input.join(CONFIG_FILE)).filter(|p| p.is_file()),
        };
        let text = match &path {
            None => String::new(),
            Some(p) => std::fs::read_to_string(p).map_err(|e| Error::Config(format!("cannot read {}: {e}", p.display())))?,
        };
        let origin = path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "built-in defaults".into());
        if defaults.is_empty() {
            return Ok((Config::from_toml(&text, &origin)?, path));
        }
        let mut table: toml::Table =
            text.parse().map_err(|e: toml::de::Error| Error::Config(format!("{origin}: {}", e.to_string().trim_end())))?;
        merge_defaults(&mut table, defaults);
        let origin = format!("{origin} with the mapping's [config]");
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config(format!("{origin}: {}", e.to_string().trim_end())))?;
        config.check().map_err(|msg| Error::Config(format!("{origin}: {msg}")))?;
        Ok((config, path))
    }

    /// Value checks serde cannot express; the message names the key.
    fn check(&self) -> Result<(), String> {
        if !(1..=12).contains(&self.fiscal_year_start_month) {
            return Err(format!(
                "fiscal_year_start_month = {} is not a month (1-12)",
                self.fiscal_year_start_month
            ));
        }
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(format!(
                "time_zone = {:?} is not an IANA time zone (e.g. \"Asia/Tokyo\", \"UTC\")",
                self.time_zone
            ));
        }
        if !ENCODINGS.contains(&self.encoding.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "encoding = {:?} is not supported (use one of {})",
                self.encoding,
                ENCODINGS.join(", ")
            ));
        }
        let d = &self.csv.delimiter;
        if d.len() != 1 || d == "\"" || d == "\n" || d == "\r" {
            return Err(format!(
                "csv.delimiter = {d:?} must be one character other than a quote or line break (\",\", \";\", \"\\t\" or \"|\")"
            ));
        }
        let share = self.lenient.max_share;
        if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
            return Err(format!("lenient.max_share = {share} must be a share between 0 and 1 (0.05 = 5%)"));
        }
        if let Some(b) = &self.base_currency {
            if !(b.len() == 3 && b.bytes().all(|c| c.is_ascii_uppercase())) {
                return Err(format!("base_currency = {b:?} is not an ISO 4217 code such as \"JPY\" or \"USD\""));
            }
        }
        if !(1..=100_000).contains(&self.advice.min_deals) {
            return Err(format!("advice.min_deals = {} must be 1-100000 closed deals", self.advice.min_deals));
        }
        if !(1..=20).contains(&self.planning.rate_window) {
            return Err(format!("planning.rate_window = {} must be 1-20 complete quarters", self.planning.rate_window));
        }
        let closed = self.maturity.closed_share;
        if !(closed.is_finite() && closed > 0.0 && closed <= 1.0) {
            return Err(format!("maturity.closed_share = {closed} must be a share above 0 and at most 1 (0.9 = 90%)"));
        }
        within("sla_business_days", self.sla_business_days, 0.0, SLA_DAYS_MAX, "business days")?;
        for h in &self.holidays {
            if chrono::NaiveDate::parse_from_str(h, "%Y-%m-%d").is_err() {
                return Err(format!("holidays: {h:?} is not a date (YYYY-MM-DD)"));
            }
        }
        within("send_back.timing_slip_months", self.send_back.timing_slip_months as f64, 0.0, SLIP_MONTHS_MAX, "months")?;
        if self.tossup.min_bant > 4 {
            return Err(format!("tossup.min_bant = {} must be 0-4", self.tossup.min_bant));
        }
        if !crate::contract::INTEREST.contains(&self.tossup.min_interest.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "tossup.min_interest = {:?} must be one of high, medium, low",
                self.tossup.min_interest
            ));
        }
        self.losses.check()?;
        let e = &self.engagement;
        if e.medium_views < 1 || e.high_views <= e.medium_views {
            return Err(format!(
                "engagement.medium_views = {} and high_views = {} must satisfy 1 <= medium_views < high_views",
                e.medium_views, e.high_views
            ));
        }
        within("engagement.high_views", e.high_views as f64, 2.0, VIEWS_MAX, "room views of one deal")?;
        within("engagement.stalled_days", e.stalled_days, 0.0, DAYS_QUIET_MAX, "days")?;
        let v = &self.visit_plan;
        if !(v.radius_km.is_finite() && v.radius_km > 0.0 && v.radius_km <= RADIUS_KM_MAX) {
            return Err(format!("visit_plan.radius_km = {} must be a number above 0 and at most {RADIUS_KM_MAX} (km)", v.radius_km));
        }
        within("visit_plan.not_visited_days", v.not_visited_days, 0.0, NOT_VISITED_DAYS_MAX, "days")?;
        within("visit_plan.max_stops_per_day", v.max_stops_per_day as f64, 1.0, STOPS_MAX, "stops in one rep's day")?;
        if v.priority_stops_per_day < 1 || v.priority_stops_per_day > v.max_stops_per_day {
            return Err(format!(
                "visit_plan.priority_stops_per_day = {} and max_stops_per_day = {} must satisfy 1 <= priority_stops_per_day <= max_stops_per_day",
                v.priority_stops_per_day, v.max_stops_per_day
            ));
        }
        within("visit_plan.road_factor", v.road_factor, 1.0, ROAD_FACTOR_MAX, "road km per great-circle km")?;
        within("visit_plan.max_road_km_per_day", v.max_road_km_per_day, 1.0, ROAD_KM_PER_DAY_MAX, "road km in one rep's day")?;
        Ok(())
    }

    /// The configured zone (checked at load).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// Holidays as dates (checked at load).
    pub fn holiday_dates(&self) -> Vec<chrono::NaiveDate> {
        self.holidays
            .iter()
            .filter_map(|h| chrono::NaiveDate::parse_from_str(h, "%Y-%m-%d").ok())
            .collect()
    }
}
