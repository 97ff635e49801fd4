//! Loss-reason rules: picklist codes first, then ordered text rules (regex);
//! the first match wins. Built-in rules ship in src/rules/loss_rules.toml;
//! a user's rules in salesrelay.toml `[losses]` come before them.

use serde::{Deserialize, Serialize};

pub mod model;

/// The loss categories, in report order.
pub const CATEGORIES: &[&str] = &["customer", "competitor", "self", "timing", "unclassified"];

/// The built-in rules, compiled in.
pub const DEFAULT_RULES: &str = include_str!("rules/loss_rules.toml");

/// Picklist codes that decide a category on their own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CodeRule {
    /// Codes as exported; matched after normalising (see `code_key`).
    pub codes: Vec<String>,
    pub category: String,
    pub subcategory: String,
}

/// A text rule: a regex over the normalised free text.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TextRule {
    pub id: String,
    pub category: String,
    pub subcategory: String,
    pub pattern: String,
}

/// `[losses]` in salesrelay.toml.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LossConfig {
    /// Keep the built-in codes and rules after the user's (default true).
    pub use_default_rules: bool,
    /// The user's code mappings (checked before the built-in ones).
    pub codes: Vec<CodeRule>,
    /// The user's text rules (tried before the built-in ones, in order).
    pub rules: Vec<TextRule>,
    /// Classify what no code or rule catches with the learned model
    /// (default true).
    pub model: bool,
    /// The model's answer is taken at this posterior or above (default
    /// 0.5); below it the loss stays unclassified with the best guess shown.
    pub model_threshold: f64,
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig { use_default_rules: true, codes: Vec::new(), rules: Vec::new(), model: true, model_threshold: 0.5 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    codes: Vec<CodeRule>,
    rules: Vec<TextRule>,
}

/// The rules in force: codes and text rules in the order they are tried.
#[derive(Debug, Clone)]
pub struct LossRules {
    pub codes: Vec<CodeRule>,
    pub rules: Vec<TextRule>,
}

/// A code as matched: NFKC, lower case, runs of space, `-`, `_`, `/`, `:` as one space.
pub fn code_key(code: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let lower: String = code.nfkc().collect::<String>().to_lowercase();
    lower
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | '_' | '/' | ':'))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Free text as matched: NFKC (full-width ASCII to half-width, half-width
/// katakana to full-width), lower case, runs of white space as one space.
pub fn normalize_text(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let lower: String = text.nfkc().collect::<String>().to_lowercase();
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_target(category: &str, subcategory: &str, what: &str) -> Result<(), String> {
    if !CATEGORIES[..4].contains(&category) {
        return Err(format!("{what}: category {category:?} is not one of customer, competitor, self, timing"));
    }
    let ok = !subcategory.is_empty() && subcategory.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(format!("{what}: subcategory {subcategory:?} must be a snake_case word"));
    }
    Ok(())
}

impl LossConfig {
    /// Checks the user's rules: known categories, regexes that compile, unique ids.
    pub fn check(&self) -> Result<(), String> {
        self.effective().map(|_| ())
    }

    /// The user's rules followed by the built-in ones (unless switched off).
    pub fn effective(&self) -> Result<LossRules, String> {
        let t = self.model_threshold;
        if !(t.is_finite() && (0.0..=1.0).contains(&t)) {
            return Err(format!("losses.model_threshold = {t} must be a probability between 0 and 1"));
        }
        let mut codes = self.codes.clone();
        let mut rules = self.rules.clone();
        if self.use_default_rules {
            let builtin = builtin_rules()?;
            codes.extend(builtin.codes.iter().cloned());
            rules.extend(builtin.rules.iter().cloned());
        }
        for (i, c) in codes.iter().enumerate() {
            check_target(&c.category, &c.subcategory, &format!("losses.codes[{i}]"))?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for r in &rules {
            let what = format!("losses.rules {:?}", r.id);
            if r.id.trim().is_empty() {
                return Err("losses.rules: a rule has an empty id".into());
            }
            if !seen.insert(r.id.clone()) {
                return Err(format!("{what}: the id is used twice (give your rule its own id)"));
            }
            check_target(&r.category, &r.subcategory, &what)?;
            check_pattern(&r.pattern).map_err(|e| format!("{what}: pattern is not a valid regex: {e}"))?;
        }
        Ok(LossRules { codes, rules })
    }
}

/// The built-in rules (`DEFAULT_RULES`), read once a process: a run asks
/// for the rules in force three times (the config's check, the losses
/// table, the summary).
fn builtin_rules() -> Result<&'static RuleFile, String> {
    static BUILTIN: std::sync::OnceLock<Result<RuleFile, String>> = std::sync::OnceLock::new();
    BUILTIN.get_or_init(|| toml::from_str(DEFAULT_RULES).map_err(|e| format!("built-in loss rules: {e}"))).as_ref().map_err(Clone::clone)
}

/// Whether `pattern` compiles as a regex (the regex crate's error if not),
/// each pattern compiled once a process rather than at each of a run's
/// three asks (the regex crate's share of a run's CPU samples on
/// sample_data 1.1% -> 0.8%). The classification runs the patterns in Polars.
fn check_pattern(pattern: &str) -> Result<(), String> {
    static CHECKED: std::sync::Mutex<std::collections::BTreeMap<String, Result<(), String>>> = std::sync::Mutex::new(std::collections::BTreeMap::new());
    crate::sync::locked(&CHECKED).entry(pattern.to_string()).or_insert_with(|| regex::Regex::new(pattern).map(|_| ()).map_err(|e| e.to_string())).clone()
}

/// The recommended action for a loss category (the feedback loop of the playbook).
/// What to do about customer-driven losses of deals FS sourced itself: no
/// handoff was made, so the toss-up rule cannot be the lever.
pub const FS_SOURCED_CUSTOMER_ACTION: &str = "qualify before proposing: confirm budget and need (BANT) before investing FS time in a self-sourced deal";

pub fn recommended_action(category: &str) -> &'static str {
    match category {
        "self" => "proposal coaching: review lost proposals and deal handling with FS managers",
        "timing" => "send back to IS nurturing: keep in touch and re-open when the timing returns",
        "competitor" => "positioning and pricing: sharpen differentiation and price guidance against the competitors named",
        "customer" => "tighten the toss-up rule: confirm budget and need (BANT) before handing off",
        _ => "improve the data: add a loss-reason code or a rule for the text reps write",
    }
}
