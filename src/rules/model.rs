//! The learned fallback for loss notes no rule catches: multinomial naive
//! Bayes over character n-grams (2 to 4 characters of the normalised text,
//! with the text's edges marked), which reads Japanese without a tokenizer
//! and survives typos and inflections. Trained at run time on the built-in
//! corpus (`loss_corpus.csv`) and the input's own coded losses; the same
//! training data always gives the same model and the same answers.


use super::normalize_text;

/// The built-in labelled corpus: text, category, subcategory, language.
pub const CORPUS_CSV: &str = include_str!("loss_corpus.csv");

/// Additive smoothing of the n-gram counts.
const ALPHA: f64 = 0.3;

/// Hands each n-gram of `chars` (2 to 4 long, not all white space) to
/// `f`, the 2-grams first, each length in text order.
fn each_gram(chars: &[char], mut f: impl FnMut(&[char])) {
    for n in 2..=4 {
        for w in chars.windows(n) {
            if w.iter().all(|c| c.is_whitespace()) {
                continue;
            }
            f(w);
        }
    }
}

/// The n-grams of a text: characters 2 to 4 long of ` text `, after
/// `normalize_text`, as numbers: an n-gram's length and its characters
/// (21 bits each) packed into one u128, so two n-grams are one number
/// exactly when they are one text. As strings, each n-gram cost training
/// an allocation and a string hash.
fn grams(text: &str) -> Vec<u128> {
    let chars: Vec<char> = format!(" {} ", normalize_text(text)).chars().collect();
    let mut out = Vec::with_capacity(3 * chars.len());
    each_gram(&chars, |w| out.push(w.iter().fold(w.len() as u128, |key, c| (key << 21) | *c as u128)));
    out
}

/// A trained classifier: one class per (category, subcategory).
#[derive(Debug, Clone)]
pub struct Model {
    classes: Vec<(String, String)>,
    /// Log prior of each class.
    prior: Vec<f64>,
    /// Per n-gram (`grams`), its row in `counts` (hashbrown's map: its
    /// hasher is quicker than the standard SipHash, and nothing here
    /// iterates it).
    rows: hashbrown::HashMap<u128, usize>,
    /// The n-grams' counts, a row of one per class each.
    counts: Vec<f64>,
    /// Total n-gram count of each class.
    totals: Vec<f64>,
}

/// What the model says about one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Guess {
    pub category: String,
    pub subcategory: String,
    /// The posterior probability of the best class (0-1).
    pub confidence: f64,
}

impl Model {
    /// Trains on `(text, category, subcategory)` examples. Classes are kept
    /// in sorted order, so the training order does not matter.
    pub fn train<'a>(examples: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> Model {
        Model::train_weighted(examples.into_iter().map(|e| (e, 1.0)))
    }

    /// `train` where each example stands for `weight` identical ones (a
    /// whole number): the same counts, the same model, one pass over its
    /// n-grams (the counts are sums of whole numbers, exact in f64).
    pub fn train_weighted<'a>(examples: impl IntoIterator<Item = ((&'a str, &'a str, &'a str), f64)>) -> Model {
        let examples: Vec<((&str, &str, &str), f64)> = examples.into_iter().collect();
        let mut classes: Vec<(String, String)> = examples.iter().map(|((_, c, s), _)| (c.to_string(), s.to_string())).collect();
        classes.sort();
        classes.dedup();
        let k = classes.len();
        let mut docs = vec![0.0; k];
        let mut rows: hashbrown::HashMap<u128, usize> = hashbrown::HashMap::new();
        let mut counts: Vec<f64> = Vec::new();
        let mut totals = vec![0.0; k];
        for ((text, c, s), weight) in &examples {
            let Ok(i) = classes.binary_search(&(c.to_string(), s.to_string())) else { continue };
            docs[i] += weight;
            for g in grams(text) {
                // a new n-gram: the next row, of zeros
                let next = rows.len();
                let row = *rows.entry(g).or_insert(next);
                if row == next {
                    counts.resize(counts.len() + k, 0.0);
                }
                counts[row * k + i] += weight;
                totals[i] += weight;
            }
        }
        let n: f64 = docs.iter().sum();
        let prior = docs.iter().map(|d| (d / n.max(1.0)).max(f64::MIN_POSITIVE).ln()).collect();
        Model { classes, prior, rows, counts, totals }
    }

    /// The built-in corpus plus `extra` examples (the input's coded losses),
    /// each with the number of times it occurs.
    pub fn builtin_plus(extra: &[((String, String, String), f64)]) -> Result<Model, String> {
        let corpus = builtin_corpus()?;
        let all = corpus.iter().map(|e| (e, 1.0)).chain(extra.iter().map(|(e, w)| (e, *w)));
        Ok(Model::train_weighted(all.map(|((t, c, s), w)| ((t.as_str(), c.as_str(), s.as_str()), w))))
    }

    /// The most likely class of `text` with its posterior; None for a text
    /// with no n-grams (empty) or an untrained model.
    pub fn guess(&self, text: &str) -> Option<Guess> {
        let fs = grams(text);
        if fs.is_empty() || self.classes.is_empty() {
            return None;
        }
        let k = self.classes.len();
        let vocabulary = self.rows.len() as f64;
        let mut scores = self.prior.clone();
        for f in &fs {
            let row = self.rows.get(f).map(|&r| &self.counts[r * k..(r + 1) * k]);
            for (i, score) in scores.iter_mut().enumerate() {
                let count = row.map_or(0.0, |r| r[i]);
                *score += ((count + ALPHA) / (self.totals[i] + ALPHA * vocabulary)).ln();
            }
        }
        // n-grams overlap, so the evidence is counted about three times over:
        // temper it before turning scores into probabilities
        let scale = 1.0 / 3.0;
        let best = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = scores.iter().map(|s| ((s - best) * scale).exp()).collect();
        let total: f64 = weights.iter().sum();
        let (i, w) = weights.iter().enumerate().fold((0, f64::NEG_INFINITY), |acc, (i, w)| if *w > acc.1 { (i, *w) } else { acc });
        let (category, subcategory) = self.classes[i].clone();
        Some(Guess { category, subcategory, confidence: w / total })
    }
}

/// The built-in corpus as examples.
pub fn builtin_corpus() -> Result<Vec<(String, String, String)>, String> {
    read_corpus(CORPUS_CSV)
}

/// Reads a labelled corpus: `text,category,subcategory[,...]` with a header.
pub fn read_corpus(text: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| format!("loss corpus row {}: {e}", i + 2))?;
        let get = |k: usize| rec.get(k).map(str::trim).unwrap_or("").to_string();
        let (t, c, s) = (get(0), get(1), get(2));
        if t.is_empty() || c.is_empty() || s.is_empty() {
            return Err(format!("loss corpus row {}: text, category and subcategory are required", i + 2));
        }
        out.push((t, c, s));
    }
    Ok(out)
}

/// Accuracy (category, subcategory) of the model on `folds`-fold
/// cross-validation over `examples`, each fold predicted by a model trained
/// on `base` plus the other folds, as a run trains on the built-in corpus
/// plus the input's coded losses. Folds are taken by position (every
/// `folds`-th example), so the result is deterministic. None with fewer
/// examples than folds.
pub fn cross_validate(base: &[(String, String, String)], examples: &[(String, String, String)], folds: usize) -> Option<(f64, f64)> {
    if folds < 2 || examples.len() < folds {
        return None;
    }
    // each fold on a core of its own (they share nothing but their inputs): hits by category, subcategory
    let fold = |k: usize| {
        let others = examples.iter().enumerate().filter(|(i, _)| i % folds != k).map(|(_, e)| e);
        let train = base.iter().chain(others).map(|(t, c, s)| (t.as_str(), c.as_str(), s.as_str()));
        let model = Model::train(train);
        let (mut category, mut subcategory) = (0usize, 0usize);
        for (_, (t, c, s)) in examples.iter().enumerate().filter(|(i, _)| i % folds == k) {
            if let Some(g) = model.guess(t) {
                if &g.category == c {
                    category += 1;
                    if &g.subcategory == s {
                        subcategory += 1;
                    }
                }
            }
        }
        (category, subcategory)
    };
    let hits = crate::sync::on_cores((0..folds).map(|k| move || fold(k)));
    let (category, subcategory) = hits.iter().fold((0, 0), |(c, s), (hc, hs)| (c + hc, s + hs));
    let n = examples.len() as f64;
    Some((category as f64 / n, subcategory as f64 / n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two n-grams are one number exactly when they are one text, and
    /// `grams` gives them in `each_gram`'s order.
    #[test]
    fn an_n_gram_is_one_number_exactly_when_it_is_one_text() {
        let text = "Lost to 競合 on price; price again! ab  abc";
        let chars: Vec<char> = format!(" {} ", normalize_text(text)).chars().collect();
        let mut texts: Vec<String> = Vec::new();
        each_gram(&chars, |w| texts.push(w.iter().collect()));
        let numbers = grams(text);
        assert_eq!(numbers.len(), texts.len());
        assert!(texts.len() > 30 && texts.iter().any(|t| t.chars().count() == 4) && texts.iter().any(|t| t.contains('競')));
        for (i, (a, x)) in texts.iter().zip(&numbers).enumerate() {
            for (b, y) in texts.iter().zip(&numbers).skip(i) {
                assert_eq!(a == b, x == y, "{a:?} and {b:?}");
            }
        }
        // a repeated n-gram is counted where it repeats
        assert!(texts.iter().filter(|t| *t == "pric").count() == 2);
    }
}
