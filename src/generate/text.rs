//! Names and free text for the synthetic history: loss reasons as a rep
//! would type them, in English or Japanese, with the usual noise (case,
//! full-width characters, stray spaces, a missing code).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

const GIVEN: &[&str] = &["Haruto", "Yui", "Sota", "Aoi", "Ren", "Mei", "Daiki", "Sakura", "Kenta", "Hina", "Takumi", "Rin", "Alex", "Sam", "Maria", "Chen"];
const FAMILY: &[&str] = &["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi", "Kato", "Yoshida", "Yamada"];
const COMPANY_WORDS: &[&str] = &["Nippon", "Sakura", "Fuji", "Asahi", "Kita", "Minami", "Tokai", "Pacific", "Global", "Daiichi", "Hikari", "Marunouchi"];
const COMPANY_KINDS: &[&str] = &["Holdings", "Industries", "Corporation", "Co., Ltd.", "Systems", "Trading", "Works", "Partners"];

/// A rep's name.
pub fn person_name(rng: &mut ChaCha8Rng) -> String {
    format!("{} {}", GIVEN[rng.gen_range(0..GIVEN.len())], FAMILY[rng.gen_range(0..FAMILY.len())])
}

/// An account's name, unique through its id's digits.
pub fn company_name(rng: &mut ChaCha8Rng, id: &str) -> String {
    let digits: String = id.chars().filter(|c| c.is_ascii_digit()).collect::<String>().trim_start_matches('0').to_string();
    format!(
        "{} {} {}",
        COMPANY_WORDS[rng.gen_range(0..COMPANY_WORDS.len())],
        COMPANY_KINDS[rng.gen_range(0..COMPANY_KINDS.len())],
        digits
    )
}

/// (picklist code, English phrasings, Japanese phrasings, weight).
const REASONS: &[(&str, &[&str], &[&str], f64)] = &[
    ("Budget", &["No budget this fiscal year", "Budget was cut", "could not secure budget", "price over their budget"], &["予算が確保できなかった", "今期の予算がない", "予算削減のため見送り"], 0.16),
    ("No Decision", &["No decision, stayed with status quo", "Customer went dark", "decision kept being deferred internally"], &["社内で検討が止まった", "現状維持となった", "意思決定されず"], 0.12),
    ("No Need", &["Project cancelled", "Need went away after reorganisation", "no longer a priority"], &["ニーズがなくなった", "プロジェクト中止", "優先度が下がった"], 0.06),
    ("Competitor - Price", &["Lost to competitor on price", "Competitor was cheaper", "competitor offered a big discount"], &["競合の方が安かった", "価格で他社に負けた", "他社が大幅値引き"], 0.12),
    ("Competitor - Features", &["Competitor had better features", "Missing integration the competitor has", "feature gap vs competitor"], &["機能面で競合に劣後", "他社製品の機能が上回った"], 0.09),
    ("Incumbent", &["Stayed with incumbent vendor", "Renewed with existing supplier"], &["既存ベンダーを継続", "現行システムを継続利用"], 0.07),
    ("", &["Our proposal missed the point", "proposal did not address their issue", "demo went badly"], &["提案内容が刺さらなかった", "提案が課題とずれていた"], 0.09),
    ("", &["Slow response to their questions", "we were too slow to follow up", "follow-up was poor"], &["レスポンスが遅かった", "対応が遅れた", "フォローが不十分"], 0.08),
    ("Timing", &["Project postponed to next year", "postponed until after the merger", "timing pushed out"], &["導入時期が延期になった", "来期に延期", "時期が後ろ倒し"], 0.10),
    ("Timing", &["Too early, still gathering information", "just researching for now"], &["時期尚早", "情報収集段階だった"], 0.05),
    ("Other", &["Champion left the company", "our contact was transferred", "key person resigned"], &["キーマンが退職した", "担当者が異動になった"], 0.06),
];

const COMPETITORS: &[&str] = &["Salesforce", "HubSpot", "Sansan", "Zoho", "kintone", "Microsoft Dynamics"];

/// Full-width forms of ASCII letters and digits, as Japanese keyboards produce.
fn to_full_width(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { char::from_u32(c as u32 + 0xFEE0).unwrap_or(c) } else { c })
        .collect()
}

/// A lost deal's (code, free text, competitor), with realistic gaps and noise.
pub fn loss_reason(rng: &mut ChaCha8Rng) -> (String, String, String) {
    let total: f64 = REASONS.iter().map(|r| r.3).sum();
    let mut x = rng.gen::<f64>() * total;
    let mut pick = &REASONS[0];
    for r in REASONS {
        if x < r.3 {
            pick = r;
            break;
        }
        x -= r.3;
    }
    let (code, en, ja, _) = pick;
    let code = if rng.gen_bool(0.6) { code.to_string() } else { String::new() };
    let text = if rng.gen_bool(0.12) {
        String::new()
    } else if rng.gen_bool(0.45) {
        ja[rng.gen_range(0..ja.len())].to_string()
    } else {
        let t = en[rng.gen_range(0..en.len())];
        match rng.gen_range(0..10) {
            0 => t.to_uppercase(),
            1 => to_full_width(t),
            2 => format!("  {t} "),
            _ => t.to_string(),
        }
    };
    let competitor = if code.starts_with("Competitor") || code == "Incumbent" {
        COMPETITORS[rng.gen_range(0..COMPETITORS.len())].to_string()
    } else {
        String::new()
    };
    (code, text, competitor)
}
