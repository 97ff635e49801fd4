//! `salesrelay generate`: a deterministic synthetic pipeline history.
//!
//! One ChaCha RNG seeded by `--seed`, walked in a fixed order, so the same
//! seed and scale give the same bytes. Leads are generated day by day and
//! each lead's whole story (IS touches, qualification, handoffs, the
//! opportunity, FS visits, stage history, room views) is written as soon as
//! it is drawn, so memory stays flat at any scale.
//!
//! The shapes are the ones the review looks for: fiscal seasonality (busy
//! autumn and March, quiet August and New Year), a growing trend, ten
//! reference industries visited close to their survey shares, AI_SDR / SDR /
//! BDR / FS reps with a spread of skill, BANT and sheet completeness that
//! drive acceptance and winning, send-backs and re-handoffs, first-contact
//! delays, loss reasons as picklist codes and as English or Japanese text.

mod plan;
mod text;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Timelike, Weekday};
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

use crate::industries::{survey_share, BENCHMARK_CSV, MAPPING_CSV};

/// First day of the history (local) and the export moment: events after it are not in the data.
const START: (i32, u32, u32) = (2024, 4, 1);
const EXPORT: (i32, u32, u32, u32) = (2026, 10, 20, 18);
const JST_SECS: i32 = 9 * 3600;

/// The ten reference industries: (name, raw labels accounts use, account
/// weight, typical deal size in yen). Their survey in-person shares come
/// from the built-in benchmark (`survey_share`), the one copy of them.
const INDUSTRIES: &[(&str, &[&str], f64, f64)] = &[
    ("Financial Services and Insurance", &["Banking", "Insurance", "Financial Services", "金融・保険業"], 0.09, 4_800_000.0),
    ("Construction", &["Construction", "建設業", "Engineering"], 0.08, 3_200_000.0),
    ("Wholesale and Trading", &["Wholesale", "Trading Company", "卸売業"], 0.10, 2_600_000.0),
    ("Manufacturing (Other)", &["Manufacturing", "Chemicals", "製造業"], 0.12, 3_600_000.0),
    ("Manufacturing (Food, Beverages, Consumer Goods)", &["Food & Beverage", "Consumer Goods", "食品"], 0.08, 2_900_000.0),
    ("Manufacturing (Machinery, Electrical, Automotive, Parts)", &["Machinery", "Automotive", "Electronics", "自動車部品"], 0.11, 4_100_000.0),
    ("Transportation and Logistics", &["Logistics", "Transportation", "運輸・物流"], 0.07, 2_400_000.0),
    ("Real Estate", &["Real Estate", "不動産業"], 0.07, 2_700_000.0),
    ("Information and Communications", &["Software", "Information Technology", "Telecommunications", "情報通信業"], 0.16, 2_200_000.0),
    ("Other services", &["Professional Services", "Healthcare", "Education", "Retail", "サービス業"], 0.12, 1_600_000.0),
];

/// Regions with their main city (latitude, longitude) and weight.
const REGIONS: &[(&str, f64, f64, f64)] = &[
    ("Kanto", 35.681, 139.767, 0.45),
    ("Kansai", 34.702, 135.496, 0.20),
    ("Chubu", 35.171, 136.882, 0.14),
    ("Kyushu", 33.590, 130.421, 0.09),
    ("Tohoku", 38.260, 140.882, 0.07),
    ("Hokkaido", 43.069, 141.351, 0.05),
];

/// Business cities per region (index into REGIONS, latitude, longitude of
/// the main station, weight within the region): accounts cluster around them.
const CITIES: &[(usize, f64, f64, f64)] = &[
    (0, 35.681, 139.767, 0.55), // Tokyo
    (0, 35.466, 139.622, 0.20), // Yokohama
    (0, 35.906, 139.624, 0.12), // Omiya (Saitama)
    (0, 35.613, 140.113, 0.13), // Chiba
    (1, 34.702, 135.496, 0.55), // Osaka (Umeda)
    (1, 34.985, 135.758, 0.25), // Kyoto
    (1, 34.679, 135.178, 0.20), // Kobe (Sannomiya)
    (2, 35.171, 136.882, 0.65), // Nagoya
    (2, 34.972, 138.389, 0.20), // Shizuoka
    (2, 37.912, 139.062, 0.15), // Niigata
    (3, 33.590, 130.421, 0.60), // Fukuoka (Hakata)
    (3, 33.887, 130.883, 0.20), // Kitakyushu (Kokura)
    (3, 32.790, 130.689, 0.20), // Kumamoto
    (4, 38.260, 140.882, 0.70), // Sendai
    (4, 39.701, 141.137, 0.30), // Morioka
    (5, 43.069, 141.351, 0.80), // Sapporo
    (5, 43.763, 142.358, 0.20), // Asahikawa
];

/// Share of accounts exported without coordinates (never geocoded).
const NO_LOCATION_SHARE: f64 = 0.02;

/// Stages a deal moves through, in order.
const STAGES: &[&str] = &["Qualification", "Discovery", "Proposal", "Negotiation"];

/// Japanese public holidays in the generated span, written into salesrelay.toml.
const HOLIDAYS: &[&str] = &[
    "2024-04-29", "2024-05-03", "2024-05-06", "2024-07-15", "2024-08-12", "2024-09-16", "2024-09-23",
    "2024-10-14", "2024-11-04", "2024-12-30", "2024-12-31", "2025-01-01", "2025-01-02", "2025-01-03",
    "2025-01-13", "2025-02-11", "2025-02-24", "2025-03-20", "2025-04-29", "2025-05-05", "2025-05-06",
    "2025-07-21", "2025-08-11", "2025-09-15", "2025-09-23", "2025-10-13", "2025-11-03", "2025-11-24",
    "2025-12-31", "2026-01-01", "2026-01-02", "2026-01-12", "2026-02-11", "2026-02-23", "2026-03-20",
    "2026-04-29", "2026-05-04", "2026-05-05", "2026-05-06", "2026-07-20", "2026-08-11", "2026-09-21",
    "2026-09-22", "2026-09-23", "2026-10-12",
];

struct Rep {
    id: String,
    role: &'static str,
    region: usize,
    skill: f64,
    /// FS reps: how much more or less than their industry's norm they visit in person.
    visit_bias: f64,
}

struct Account {
    id: String,
    industry: usize,
    region: usize,
    employees: u32,
    is_target: bool,
}

/// Row counts written, printed at the end.
#[derive(Debug, Default)]
pub struct Stats {
    pub rows: Vec<(&'static str, u64)>,
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (t, n) in &self.rows {
            writeln!(f, "  {:<14} {:>12} rows", t, crate::progress::thousands(*n))?;
        }
        Ok(())
    }
}

struct Table {
    name: &'static str,
    out: BufWriter<File>,
    rows: u64,
    line: String,
}

impl Table {
    fn create(dir: &Path, name: &'static str, header: &str) -> Result<Table> {
        let path = dir.join(format!("{name}.csv"));
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        writeln!(out, "{header}").map_err(|e| Error::io(&path, e))?;
        Ok(Table { name, out, rows: 0, line: String::with_capacity(256) })
    }

    /// Writes one row; fields are quoted when they need it.
    fn row(&mut self, fields: &[&str]) -> Result<()> {
        self.line.clear();
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            if f.contains([',', '"', '\n', '\r']) {
                self.line.push('"');
                self.line.push_str(&f.replace('"', "\"\""));
                self.line.push('"');
            } else {
                self.line.push_str(f);
            }
        }
        self.line.push('\n');
        self.rows += 1;
        self.out.write_all(self.line.as_bytes()).map_err(|e| Error::io(self.name, e))
    }

    fn finish(mut self) -> Result<(&'static str, u64)> {
        self.out.flush().map_err(|e| Error::io(self.name, e))?;
        Ok((self.name, self.rows))
    }
}

/// Seconds since the epoch for a local (JST) date and hour.
fn local_secs(y: i32, m: u32, d: u32, h: u32) -> i64 {
    let tz = FixedOffset::east_opt(JST_SECS).expect("valid offset");
    tz.with_ymd_and_hms(y, m, d, h, 0, 0).single().map(|t| t.timestamp()).unwrap_or(0)
}

fn fmt_ts(secs: i64) -> String {
    let tz = FixedOffset::east_opt(JST_SECS).expect("valid offset");
    DateTime::from_timestamp(secs, 0)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .unwrap_or_default()
}

fn fmt_date(secs: i64) -> String {
    fmt_ts(secs)[..10].to_string()
}

fn local(secs: i64) -> DateTime<FixedOffset> {
    let tz = FixedOffset::east_opt(JST_SECS).expect("valid offset");
    DateTime::from_timestamp(secs, 0).unwrap_or_default().with_timezone(&tz)
}

/// Moves a moment into working hours (weekdays 9:00-19:00 local).
fn to_working_time(secs: i64, rng: &mut ChaCha8Rng) -> i64 {
    let mut t = local(secs);
    if t.hour() >= 19 {
        t += Duration::days(1);
        t = t.with_hour(9).and_then(|x| x.with_minute(rng.gen_range(0..60))).unwrap_or(t);
    } else if t.hour() < 9 {
        t = t.with_hour(9).and_then(|x| x.with_minute(rng.gen_range(0..60))).unwrap_or(t);
    }
    match t.weekday() {
        Weekday::Sat => t += Duration::days(2),
        Weekday::Sun => t += Duration::days(1),
        _ => {}
    }
    t.timestamp()
}

fn exp(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.gen::<f64>()).ln()
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box-Muller
    let u1: f64 = rng.gen::<f64>().max(1e-12);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn pick_weighted(rng: &mut ChaCha8Rng, weights: impl Iterator<Item = f64> + Clone) -> usize {
    let total: f64 = weights.clone().sum();
    let mut x = rng.gen::<f64>() * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        last = i;
        if x < w {
            return i;
        }
        x -= w;
    }
    last
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Relative lead volume by calendar month (Japanese fiscal year: busy before
/// the March year end and in autumn, quiet in August and at New Year).
fn season(month: u32) -> f64 {
    [0.80, 1.00, 1.25, 1.05, 0.95, 1.00, 1.00, 0.70, 1.05, 1.15, 1.10, 0.85][(month - 1) as usize]
}

struct World {
    reps: Vec<Rep>,
    accounts: Vec<Account>,
    sdr: Vec<usize>,
    ai_sdr: Vec<usize>,
    bdr: Vec<usize>,
    fs_by_region: Vec<Vec<usize>>,
    targets: Vec<usize>,
}

struct Ids {
    opportunity: u64,
    handoff: u64,
    activity: u64,
    view: u64,
}

struct Writers {
    leads: Table,
    activities: Table,
    handoffs: Table,
    opportunities: Table,
    stage_history: Table,
    dsr_views: Table,
}

/// Writes the synthetic history for `scale` into `out` (created if needed).
pub fn generate(out: &Path, scale: u32, seed: u64) -> Result<Stats> {
    std::fs::create_dir_all(out.join("reference")).map_err(|e| Error::io(out, e))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let world = build_world(&mut rng, scale);
    let mut stats = Stats::default();

    let mut reps = Table::create(out, "reps", "rep_id,rep_name,team,role,region,manager_id")?;
    for r in &world.reps {
        let team = match r.role {
            "AI_SDR" | "SDR" | "BDR" => "IS",
            "FS" => "FS",
            _ => "CS",
        };
        let name = if r.role == "AI_SDR" { format!("AI Agent {}", &r.id[1..]) } else { text::person_name(&mut rng) };
        let manager = format!("M-{team}-{}", REGIONS[r.region].0);
        reps.row(&[&r.id, &name, team, r.role, REGIONS[r.region].0, &manager])?;
    }
    stats.rows.push(reps.finish()?);

    let mut accounts =
        Table::create(out, "accounts", "account_id,account_name,industry,employees,region,latitude,longitude,is_target")?;
    for a in &world.accounts {
        let (labels, region) = (INDUSTRIES[a.industry].1, &REGIONS[a.region]);
        let label = labels[rng.gen_range(0..labels.len())];
        // a city of the region, then a spread of a few km around its centre
        let cities: Vec<&(usize, f64, f64, f64)> = CITIES.iter().filter(|c| c.0 == a.region).collect();
        let city = cities[pick_weighted(&mut rng, cities.iter().map(|c| c.3))];
        let spread = 0.03 + 0.05 * rng.gen::<f64>();
        let lat = city.1 + normal(&mut rng) * spread;
        let lon = city.2 + normal(&mut rng) * spread * 1.2;
        let (lat, lon) = if rng.gen_bool(NO_LOCATION_SHARE) { (String::new(), String::new()) } else { (format!("{lat:.5}"), format!("{lon:.5}")) };
        accounts.row(&[
            &a.id,
            &text::company_name(&mut rng, &a.id),
            label,
            &a.employees.to_string(),
            region.0,
            &lat,
            &lon,
            if a.is_target { "true" } else { "false" },
        ])?;
    }
    stats.rows.push(accounts.finish()?);

    let mut w = Writers {
        leads: Table::create(out, "leads", "lead_id,account_id,created_at,source,channel,owner_rep_id,qualified_at,disqualified_at")?,
        activities: Table::create(
            out,
            "activities",
            "activity_id,rep_id,account_id,lead_id,opportunity_id,occurred_at,kind,outcome,with_decision_maker,duration_min",
        )?,
        handoffs: Table::create(
            out,
            "handoffs",
            "handoff_id,lead_id,opportunity_id,from_rep_id,to_rep_id,handed_off_at,budget,authority,need,timeline,interest_level,sheet_fields_filled,sheet_fields_total,status,first_fs_contact_at,sent_back_at,send_back_reason",
        )?,
        opportunities: Table::create(
            out,
            "opportunities",
            "opportunity_id,account_id,lead_id,owner_rep_id,created_at,amount,stage,closed_at,outcome,loss_reason_code,loss_reason_text,competitor",
        )?,
        stage_history: Table::create(out, "stage_history", "opportunity_id,stage,entered_at,amount,close_date")?,
        dsr_views: Table::create(out, "dsr_views", "view_id,opportunity_id,lead_id,viewer_role,asset,viewed_at,seconds")?,
    };
    let mut ids = Ids { opportunity: 0, handoff: 0, activity: 0, view: 0 };
    let export = local_secs(EXPORT.0, EXPORT.1, EXPORT.2, EXPORT.3);
    let start = NaiveDate::from_ymd_opt(START.0, START.1, START.2).expect("valid start");
    let days = (NaiveDate::from_ymd_opt(EXPORT.0, EXPORT.1, EXPORT.2).expect("valid end") - start).num_days();
    let mut lead_no = 0u64;
    for day in 0..days {
        let date = start + chrono::Days::new(day as u64);
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        let trend = 1.0 + 0.18 * day as f64 / 365.0;
        let base = 3.6 * scale as f64 * season(date.month()) * trend * if weekend { 0.25 } else { 1.0 };
        let n = (base + normal(&mut rng) * base.sqrt()).round().max(0.0) as u64;
        for _ in 0..n {
            lead_no += 1;
            let day_start = local_secs(date.year(), date.month(), date.day(), 0);
            one_lead(&mut rng, &world, &mut w, &mut ids, lead_no, day_start, export)?;
        }
        // FS-sourced deals: FS reps' own prospecting and existing customers.
        let m = (0.35 * scale as f64 * trend * if weekend { 0.0 } else { 1.0 } + rng.gen::<f64>()).floor() as u64;
        for _ in 0..m {
            let day_start = local_secs(date.year(), date.month(), date.day(), 0);
            fs_sourced(&mut rng, &world, &mut w, &mut ids, day_start, export)?;
        }
    }
    for t in [w.leads, w.opportunities, w.handoffs, w.activities, w.stage_history, w.dsr_views] {
        stats.rows.push(t.finish()?);
    }
    write_file(out, "reference/industry_benchmark.csv", BENCHMARK_CSV)?;
    write_file(out, "reference/industry_mapping.csv", MAPPING_CSV)?;
    write_file(out, "salesrelay.toml", &config_text())?;
    // the plan is worked out from the history, so it comes last
    stats.rows.push(("targets", plan::write_targets(out)?));
    Ok(stats)
}

fn write_file(dir: &Path, name: &str, text: &str) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
}

fn config_text() -> String {
    let mut s = String::from(
        "# salesrelay configuration for the synthetic history (see README for every key)\n\
         fiscal_year_start_month = 4\nfiscal_year_label = \"start\"\ntime_zone = \"Asia/Tokyo\"\nbase_currency = \"JPY\"\n\
         sla_business_days = 2\nholidays = [\n",
    );
    for h in HOLIDAYS {
        let _ = writeln!(s, "  \"{h}\",");
    }
    s.push_str("]\n\n[tossup]\nmin_bant = 3\nmin_interest = \"medium\"\n\n[industries]\nmapping = \"reference/industry_mapping.csv\"\nbenchmark = \"reference/industry_benchmark.csv\"\n");
    s
}

fn build_world(rng: &mut ChaCha8Rng, scale: u32) -> World {
    let s = scale as usize;
    let mut reps = Vec::new();
    let counts = [("AI_SDR", 1), ("SDR", 5), ("BDR", 3), ("FS", 12), ("CS", 2)];
    for (role, n) in counts {
        for _ in 0..n * s {
            let region = if role == "FS" || role == "CS" {
                pick_weighted(rng, REGIONS.iter().map(|r| r.3))
            } else {
                0
            };
            let skill = if role == "AI_SDR" { 0.0 } else { normal(rng) * 0.6 };
            reps.push(Rep {
                id: format!("R{:05}", reps.len() + 1),
                role,
                region,
                skill,
                visit_bias: normal(rng) * 0.08,
            });
        }
    }
    // every region needs an FS rep
    for region in 0..REGIONS.len() {
        if !reps.iter().any(|r| r.role == "FS" && r.region == region) {
            reps.push(Rep { id: format!("R{:05}", reps.len() + 1), role: "FS", region, skill: 0.0, visit_bias: 0.0 });
        }
    }
    let mut accounts = Vec::new();
    for i in 0..800 * s {
        let industry = pick_weighted(rng, INDUSTRIES.iter().map(|x| x.2));
        let region = pick_weighted(rng, REGIONS.iter().map(|r| r.3));
        let employees = (exp(rng, 400.0) + 10.0) as u32;
        accounts.push(Account { id: format!("A{:07}", i + 1), industry, region, employees, is_target: rng.gen_bool(0.22) });
    }
    let by_role = |role: &str| reps.iter().enumerate().filter(|(_, r)| r.role == role).map(|(i, _)| i).collect::<Vec<_>>();
    let fs_by_region = (0..REGIONS.len())
        .map(|g| reps.iter().enumerate().filter(|(_, r)| r.role == "FS" && r.region == g).map(|(i, _)| i).collect())
        .collect();
    let targets = accounts.iter().enumerate().filter(|(_, a)| a.is_target).map(|(i, _)| i).collect();
    World { sdr: by_role("SDR"), ai_sdr: by_role("AI_SDR"), bdr: by_role("BDR"), fs_by_region, targets, reps, accounts }
}

/// A lead's whole story.
fn one_lead(
    rng: &mut ChaCha8Rng,
    world: &World,
    w: &mut Writers,
    ids: &mut Ids,
    lead_no: u64,
    day_start: i64,
    export: i64,
) -> Result<()> {
    let inbound = rng.gen_bool(0.62);
    let account_ix = if inbound || world.targets.is_empty() {
        rng.gen_range(0..world.accounts.len())
    } else {
        world.targets[rng.gen_range(0..world.targets.len())]
    };
    let account = &world.accounts[account_ix];
    let owner_ix = if inbound {
        if rng.gen_bool(0.3) && !world.ai_sdr.is_empty() {
            world.ai_sdr[rng.gen_range(0..world.ai_sdr.len())]
        } else {
            world.sdr[rng.gen_range(0..world.sdr.len())]
        }
    } else {
        world.bdr[rng.gen_range(0..world.bdr.len())]
    };
    let owner = &world.reps[owner_ix];
    let created = if inbound {
        day_start + rng.gen_range(7 * 3600..23 * 3600)
    } else {
        day_start + rng.gen_range(9 * 3600..18 * 3600)
    };
    if created > export {
        return Ok(());
    }
    let lead_id = format!("L{lead_no:08}");
    let channel = if inbound {
        ["web_form", "webinar", "whitepaper", "event", "referral"][pick_weighted(rng, [0.4, 0.2, 0.2, 0.1, 0.1].into_iter())]
    } else {
        ["cold_call", "email_sequence", "linkedin", "event_followup"][rng.gen_range(0..4)]
    };
    // latent quality: inbound leads are warmer; target accounts are bigger
    let quality = normal(rng) + if inbound { 0.3 } else { -0.1 };

    // IS touches
    let first_delay_h = match owner.role {
        "AI_SDR" => exp(rng, 0.08),
        "SDR" => exp(rng, 2.5 * (1.0 - 0.3 * owner.skill).max(0.3)),
        _ => exp(rng, 6.0),
    };
    let mut t = created + (first_delay_h * 3600.0) as i64;
    if owner.role != "AI_SDR" {
        t = to_working_time(t, rng);
    }
    let touches = 1 + (exp(rng, 4.2) as usize).min(16);
    let mut connected_any = false;
    let mut appointment = false;
    for k in 0..touches {
        if t > export {
            break;
        }
        let kind = if k == 0 && owner.role == "AI_SDR" { "email" } else if rng.gen_bool(0.65) { "call" } else { "email" };
        let (outcome, dm, dur) = if kind == "call" {
            let p_connect = sigmoid(-0.6 + 0.5 * owner.skill + 0.3 * quality);
            if rng.gen_bool(p_connect) {
                connected_any = true;
                let dm = owner.role == "BDR" && rng.gen_bool(0.35 + 0.1 * owner.skill.clamp(-1.0, 1.0));
                if rng.gen_bool(sigmoid(-1.0 + 0.6 * quality + 0.4 * owner.skill)) {
                    appointment = true;
                    ("appointment_set", dm, rng.gen_range(8.0..25.0))
                } else {
                    ("connected", dm, rng.gen_range(2.0..12.0))
                }
            } else {
                ("no_answer", false, 0.5)
            }
        } else if rng.gen_bool(0.25) {
            ("replied", false, 0.0)
        } else {
            ("", false, 0.0)
        };
        ids.activity += 1;
        w.activities.row(&[
            &format!("T{:09}", ids.activity),
            &owner.id,
            &account.id,
            &lead_id,
            "",
            &fmt_ts(t),
            kind,
            outcome,
            if dm { "true" } else { "false" },
            &if dur > 0.0 { format!("{dur:.1}") } else { String::new() },
        ])?;
        t = to_working_time(t + (exp(rng, 2.5) * 86400.0) as i64 + 3600, rng);
    }

    // qualification
    let p_sql = sigmoid(-1.3 + 0.9 * quality + 0.35 * owner.skill + if appointment { 1.2 } else { 0.0 } + if connected_any { 0.3 } else { -0.6 });
    let qualified = rng.gen_bool(p_sql.clamp(0.01, 0.95));
    let mut qualified_at = None;
    let mut disqualified_at = None;
    if qualified {
        let q = to_working_time(created + (exp(rng, 6.0) * 86400.0) as i64 + 4 * 3600, rng);
        if q <= export {
            qualified_at = Some(q);
        }
    } else if rng.gen_bool(0.7) {
        let d = to_working_time(created + (exp(rng, 20.0) * 86400.0) as i64 + 86400, rng);
        if d <= export {
            disqualified_at = Some(d);
        }
    }
    w.leads.row(&[
        &lead_id,
        &account.id,
        &fmt_ts(created),
        if inbound { "inbound" } else { "outbound" },
        channel,
        &owner.id,
        &qualified_at.map(fmt_ts).unwrap_or_default(),
        &disqualified_at.map(fmt_ts).unwrap_or_default(),
    ])?;
    // room views before the handoff (the lead's room)
    if rng.gen_bool(sigmoid(-0.9 + 0.7 * quality).clamp(0.02, 0.95)) {
        let n = 1 + (exp(rng, 2.0) as usize).min(8);
        for _ in 0..n {
            let at = created + (rng.gen::<f64>() * 10.0 * 86400.0) as i64;
            if at <= export {
                dsr_view(rng, w, ids, "", &lead_id, at, quality)?;
            }
        }
    }
    let Some(qualified_at) = qualified_at else { return Ok(()) };

    // handoffs: the first, and after a send-back possibly a second
    let mut handoff_at = to_working_time(qualified_at + (exp(rng, 1.0) * 86400.0) as i64, rng);
    for attempt in 0..2 {
        if handoff_at > export {
            break;
        }
        let fs_list = &world.fs_by_region[account.region];
        let fs_ix = fs_list[rng.gen_range(0..fs_list.len())];
        let fs = &world.reps[fs_ix];
        let bant: Vec<bool> = (0..4)
            .map(|k| rng.gen_bool(sigmoid(0.5 + 0.9 * quality + 0.3 * owner.skill - 0.2 * k as f64).clamp(0.02, 0.98)))
            .collect();
        let score = bant.iter().filter(|b| **b).count();
        let interest = if quality + normal(rng) * 0.7 > 0.6 {
            "high"
        } else if quality + normal(rng) * 0.7 > -0.5 {
            "medium"
        } else {
            "low"
        };
        let total = 12;
        let filled = ((total as f64) * sigmoid(1.2 + 0.8 * owner.skill + 0.3 * normal(rng))).round() as i64;
        let completeness = filled as f64 / total as f64;
        let p_accept = sigmoid(-1.6 + 0.9 * score as f64 + if interest == "low" { -0.8 } else { 0.3 } + 1.0 * completeness);
        let accepted = rng.gen_bool(p_accept.clamp(0.02, 0.98));
        let first_contact = if accepted || rng.gen_bool(0.5) {
            let delay_days = exp(rng, 1.4 * (1.0 - 0.25 * fs.skill).max(0.3));
            let fc = to_working_time(handoff_at + (delay_days * 86400.0) as i64 + 1800, rng);
            (fc <= export && rng.gen_bool(0.95)).then_some(fc)
        } else {
            None
        };
        // send-back: timing slips and undetermined budgets go back to IS nurturing
        let send_back = accepted && rng.gen_bool((0.06_f64 + if bant[3] { 0.0 } else { 0.10 } + if bant[0] { 0.0 } else { 0.05 }).min(0.5));
        let sent_back_at = if send_back {
            Some(handoff_at + ((10.0 + exp(rng, 20.0)) * 86400.0) as i64).filter(|t| *t <= export)
        } else {
            None
        };
        let status = match (accepted, sent_back_at.is_some()) {
            (false, _) => "rejected",
            (true, true) => "sent_back",
            (true, false) => "accepted",
        };
        let reason = if sent_back_at.is_some() {
            if !bant[3] {
                "timing_slip"
            } else if !bant[0] {
                "budget_undetermined"
            } else if rng.gen_bool(0.5) {
                "key_person_left"
            } else {
                "other"
            }
        } else {
            ""
        };
        // an accepted handoff that is not sent back becomes an opportunity
        let mut opp_id = String::new();
        if status == "accepted" {
            let created_opp = first_contact.unwrap_or(handoff_at + 86400).max(handoff_at);
            if created_opp <= export {
                ids.opportunity += 1;
                opp_id = format!("O{:08}", ids.opportunity);
                let win_logit = -1.2 + 0.45 * (score as f64 - 2.0) + 1.2 * (completeness - 0.7) + 0.5 * fs.skill
                    + match interest {
                        "high" => 0.4,
                        "low" => -0.6,
                        _ => 0.0,
                    }
                    + 0.25 * quality;
                deal(rng, world, w, ids, &opp_id, account, fs_ix, Some(&lead_id), created_opp, win_logit, export)?;
            }
        }
        ids.handoff += 1;
        let b = |x: bool| if x { "true" } else { "false" };
        w.handoffs.row(&[
            &format!("H{:08}", ids.handoff),
            &lead_id,
            &opp_id,
            &owner.id,
            &fs.id,
            &fmt_ts(handoff_at),
            b(bant[0]),
            b(bant[1]),
            b(bant[2]),
            b(bant[3]),
            interest,
            &filled.to_string(),
            &total.to_string(),
            status,
            &first_contact.map(fmt_ts).unwrap_or_default(),
            &sent_back_at.map(fmt_ts).unwrap_or_default(),
            reason,
        ])?;
        match sent_back_at {
            Some(sb) if attempt == 0 && rng.gen_bool(0.45) => {
                handoff_at = to_working_time(sb + ((45.0 + exp(rng, 60.0)) * 86400.0) as i64, rng);
            }
            _ => break,
        }
    }
    Ok(())
}

/// An FS-sourced deal: no lead, owned by an FS rep of the account's region.
fn fs_sourced(rng: &mut ChaCha8Rng, world: &World, w: &mut Writers, ids: &mut Ids, day_start: i64, export: i64) -> Result<()> {
    let account = &world.accounts[rng.gen_range(0..world.accounts.len())];
    let fs_list = &world.fs_by_region[account.region];
    let fs_ix = fs_list[rng.gen_range(0..fs_list.len())];
    let created = day_start + rng.gen_range(9 * 3600..19 * 3600);
    if created > export {
        return Ok(());
    }
    ids.opportunity += 1;
    let opp_id = format!("O{:08}", ids.opportunity);
    let win_logit = -0.9 + 0.5 * world.reps[fs_ix].skill + 0.3 * normal(rng);
    deal(rng, world, w, ids, &opp_id, account, fs_ix, None, created, win_logit, export)
}

/// An opportunity with its FS meetings, stage history, room views and outcome.
#[allow(clippy::too_many_arguments)]
fn deal(
    rng: &mut ChaCha8Rng,
    world: &World,
    w: &mut Writers,
    ids: &mut Ids,
    opp_id: &str,
    account: &Account,
    fs_ix: usize,
    lead_id: Option<&str>,
    created: i64,
    win_logit: f64,
    export: i64,
) -> Result<()> {
    let fs = &world.reps[fs_ix];
    let industry = &INDUSTRIES[account.industry];
    let size = (account.employees as f64 / 400.0).powf(0.3);
    let mut amount = (industry.3 * size * (0.45 * normal(rng)).exp() / 10_000.0).round() * 10_000.0;
    amount = amount.max(100_000.0);
    // meetings: in person about as often as the industry's survey share
    let share = survey_share(industry.0);
    let p_visit = (share + fs.visit_bias).clamp(0.05, 0.95);
    let meetings = 1 + (exp(rng, 2.2) as usize).min(9);
    let cycle_days = 25.0 + exp(rng, 55.0) + 10.0 * meetings as f64;
    let planned_close = created + (cycle_days * 86400.0) as i64;
    let mut visits = 0;
    let mut mt = created;
    for _ in 0..meetings {
        mt = to_working_time(mt + ((cycle_days / (meetings as f64 + 1.0)) * 86400.0 * (0.5 + rng.gen::<f64>())) as i64, rng);
        if mt > export || mt > planned_close {
            break;
        }
        let visit = rng.gen_bool(p_visit);
        visits += visit as usize;
        let outcome = if rng.gen_bool(0.93) { "held" } else { "no_show" };
        ids.activity += 1;
        w.activities.row(&[
            &format!("T{:09}", ids.activity),
            &fs.id,
            &account.id,
            lead_id.unwrap_or(""),
            opp_id,
            &fmt_ts(mt),
            if visit { "visit" } else { "online_meeting" },
            outcome,
            if rng.gen_bool(0.45) { "true" } else { "false" },
            &format!("{}", if visit { rng.gen_range(45..120) } else { rng.gen_range(25..65) }),
        ])?;
    }
    // visits help most where customers expect them
    let visit_effect = if visits > 0 { 0.6 * (share - 0.4) } else { 0.0 };
    // the customer's side: a stronger deal gets its room used
    let engaged = rng.gen_bool(sigmoid(0.3 + 0.6 * win_logit).clamp(0.05, 0.95));
    let win = rng.gen_bool(sigmoid(win_logit + visit_effect + if engaged { 0.3 } else { -0.2 }).clamp(0.02, 0.95));
    let slip = rng.gen_bool(0.3);
    let closed_at = to_working_time(planned_close + if slip { (exp(rng, 40.0) * 86400.0) as i64 } else { 0 }, rng);
    let closed = closed_at <= export;
    // stage history: stages spread over the cycle, close date pushed when it slips
    let reached = if closed && win { STAGES.len() } else { 1 + rng.gen_range(0..STAGES.len()) };
    let mut close_date = planned_close;
    let mut stage_amount = amount * if rng.gen_bool(0.3) { 0.8 } else { 1.0 };
    let span = (closed_at.min(export) - created).max(3600);
    let mut last_stage = STAGES[0];
    for (k, stage) in STAGES.iter().enumerate().take(reached) {
        let entered = created + span * k as i64 / (reached as i64 + 1);
        if entered > export {
            break;
        }
        if k == 2 {
            stage_amount = amount;
        }
        if slip && k == reached - 1 && k > 0 {
            close_date = closed_at;
        }
        w.stage_history.row(&[opp_id, stage, &fmt_ts(entered), &format!("{stage_amount:.0}"), &fmt_date(close_date)])?;
        last_stage = stage;
    }
    let (outcome, stage, closed_txt) = if closed {
        let stage = if win { "Closed Won" } else { "Closed Lost" };
        w.stage_history.row(&[opp_id, stage, &fmt_ts(closed_at), &format!("{amount:.0}"), &fmt_date(closed_at)])?;
        (if win { "won" } else { "lost" }, stage, fmt_ts(closed_at))
    } else {
        ("open", last_stage, String::new())
    };
    let (code, reason_text, competitor) = if outcome == "lost" { text::loss_reason(rng) } else { (String::new(), String::new(), String::new()) };
    w.opportunities.row(&[
        opp_id,
        &account.id,
        lead_id.unwrap_or(""),
        &fs.id,
        &fmt_ts(created),
        &format!("{amount:.0}"),
        stage,
        &closed_txt,
        outcome,
        &code,
        &reason_text,
        &competitor,
    ])?;
    if engaged {
        let n = 1 + (exp(rng, if win { 6.0 } else { 2.5 }) as usize).min(30);
        // rooms of deals that will be lost go quiet early
        let skew = if win { 0.8 } else { 2.2 };
        for _ in 0..n {
            let at = created + (rng.gen::<f64>().powf(skew) * (closed_at.min(export) - created).max(3600) as f64) as i64;
            dsr_view(rng, w, ids, opp_id, lead_id.unwrap_or(""), at, if win { 0.8 } else { -0.3 })?;
        }
    }
    Ok(())
}

fn dsr_view(rng: &mut ChaCha8Rng, w: &mut Writers, ids: &mut Ids, opp_id: &str, lead_id: &str, at: i64, warmth: f64) -> Result<()> {
    ids.view += 1;
    let role = if rng.gen_bool(sigmoid(-1.2 + warmth).clamp(0.05, 0.9)) { "decision_maker" } else if rng.gen_bool(0.8) { "contact" } else { "other" };
    let asset = ["pricing", "case_study", "proposal", "quote", "other"][pick_weighted(rng, [0.25, 0.25, 0.25, 0.1, 0.15].into_iter())];
    let seconds = (exp(rng, 90.0) + 5.0).round();
    w.dsr_views.row(&[&format!("V{:09}", ids.view), opp_id, lead_id, role, asset, &fmt_ts(at), &format!("{seconds:.0}")])
}
