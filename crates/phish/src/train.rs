//! Training and cross-validation of the text model. Deterministic: the same samples,
//! parameters and seed give the same model, bit for bit (single thread, fixed order).
//!
//! Training is logistic regression by AdaGrad SGD over hashed features, then Platt
//! scaling fitted on 5-fold out-of-fold scores.

use crate::model::{sigmoid, Model};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// true = spam/phishing, false = legitimate.
    pub spam: bool,
    pub text: String,
}

/// A training file line that cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TsvError {
    #[error("line {line}: expected `label<TAB>text`")]
    MissingTab { line: usize },
    #[error("line {line}: unknown label `{label}` (use ham|legitimate or spam|phishing)")]
    BadLabel { line: usize, label: String },
}

/// Parse `label<TAB>text` lines (the UCI SMS Spam Collection format). Labels: `ham`,
/// `legitimate` → legitimate; `spam`, `phishing`, `smishing` → spam. Blank lines and
/// lines starting with `#` are skipped.
pub fn parse_tsv(text: &str) -> Result<Vec<Sample>, TsvError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (label, body) = line
            .split_once('\t')
            .ok_or(TsvError::MissingTab { line: i + 1 })?;
        let spam = match label.trim().to_ascii_lowercase().as_str() {
            "ham" | "legitimate" | "legit" => false,
            "spam" | "phishing" | "smishing" => true,
            other => {
                return Err(TsvError::BadLabel {
                    line: i + 1,
                    label: other.to_string(),
                })
            }
        };
        out.push(Sample {
            spam,
            text: body.to_string(),
        });
    }
    Ok(out)
}

/// Training settings. The defaults are the ones the committed model was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    pub dim_log2: u32,
    pub epochs: u32,
    pub learning_rate: f64,
    pub l2: f64,
    /// Weight of a spam sample's loss relative to a legitimate one.
    pub spam_weight: f64,
    pub seed: u64,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            dim_log2: 18,
            epochs: 20,
            learning_rate: 1.0,
            l2: 1e-6,
            spam_weight: 1.0,
            seed: 20_260_301,
        }
    }
}

/// SplitMix64: small, fast, and the same on every platform.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// The fold (0..folds) of sample number `index` (0-based line order of the data file):
/// `splitmix64(seed + index) % folds`, i.e. the first output of a SplitMix64 seeded with
/// `seed + index`. `bench/phish_baseline.py` reads the same assignment from
/// `data/sms/folds.txt`, written by the `train` example.
pub fn fold_of(index: usize, folds: usize, seed: u64) -> usize {
    let mut r = SplitMix64(seed.wrapping_add(index as u64));
    (r.next_u64() % folds.max(1) as u64) as usize
}

fn featurize(samples: &[Sample], dim_log2: u32) -> Vec<Vec<u32>> {
    samples
        .iter()
        .map(|s| {
            let mut f = Vec::new();
            crate::features::extract(&crate::features::without_links(&s.text), dim_log2, &mut f);
            f
        })
        .collect()
}

fn fit(feats: &[&[u32]], labels: &[bool], params: &TrainParams) -> Model {
    let dim = 1usize << params.dim_log2.clamp(8, 24);
    let mut m = Model::zero(params.dim_log2.clamp(8, 24));
    let mut w = vec![0.0f64; dim];
    let mut g2 = vec![1e-8f64; dim];
    let mut b = 0.0f64;
    let mut bg2 = 1e-8f64;
    let mut order: Vec<usize> = (0..feats.len()).collect();
    let mut rng = SplitMix64(params.seed);
    for _ in 0..params.epochs {
        // Fisher–Yates with the seeded generator.
        for i in (1..order.len()).rev() {
            let j = rng.below(i + 1);
            order.swap(i, j);
        }
        for &k in &order {
            let f = feats[k];
            let x = if f.is_empty() {
                0.0
            } else {
                1.0 / (f.len() as f64).sqrt()
            };
            let mut z = b;
            for &i in f {
                z += w[i as usize] * x;
            }
            let y = if labels[k] { 1.0 } else { 0.0 };
            let cw = if labels[k] { params.spam_weight } else { 1.0 };
            let g = (sigmoid(z) - y) * cw;
            for &i in f {
                let i = i as usize;
                let grad = g * x + params.l2 * w[i];
                g2[i] += grad * grad;
                w[i] -= params.learning_rate * grad / g2[i].sqrt();
            }
            bg2 += g * g;
            b -= params.learning_rate * g / bg2.sqrt();
        }
    }
    m.weights = w.iter().map(|&v| v as f32).collect();
    m.bias = b as f32;
    m
}

/// Train on all `samples`, then fit Platt scaling on 5-fold out-of-fold logits.
pub fn train(samples: &[Sample], params: &TrainParams) -> Model {
    let feats = featurize(samples, params.dim_log2);
    let labels: Vec<bool> = samples.iter().map(|s| s.spam).collect();
    let all: Vec<&[u32]> = feats.iter().map(Vec::as_slice).collect();
    let mut model = fit(&all, &labels, params);
    let oof = out_of_fold(&feats, &labels, 5, params);
    let (a, b) = platt(&oof, &labels);
    model.platt_a = a as f32;
    model.platt_b = b as f32;
    model
}

fn out_of_fold(
    feats: &[Vec<u32>],
    labels: &[bool],
    folds: usize,
    params: &TrainParams,
) -> Vec<f64> {
    let mut oof = vec![0.0f64; feats.len()];
    let fold: Vec<usize> = (0..feats.len())
        .map(|i| fold_of(i, folds, params.seed))
        .collect();
    for k in 0..folds {
        let (mut tr_f, mut tr_y) = (Vec::new(), Vec::new());
        for i in 0..feats.len() {
            if fold[i] != k {
                tr_f.push(feats[i].as_slice());
                tr_y.push(labels[i]);
            }
        }
        let m = fit(&tr_f, &tr_y, params);
        for i in 0..feats.len() {
            if fold[i] == k {
                oof[i] = m.logit_features(&feats[i]);
            }
        }
    }
    oof
}

/// Fit `sigmoid(a*z + b)` to labels by Newton's method on the log-loss.
fn platt(z: &[f64], y: &[bool]) -> (f64, f64) {
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..200 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for (&zi, &yi) in z.iter().zip(y) {
            let p = sigmoid(a * zi + b);
            let d = p - if yi { 1.0 } else { 0.0 };
            let h = p * (1.0 - p);
            ga += d * zi;
            gb += d;
            haa += h * zi * zi;
            hab += h * zi;
            hbb += h;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        // Damped Newton step: separable out-of-fold scores make the raw step overshoot.
        let da = ((hbb * ga - hab * gb) / det).clamp(-0.5, 0.5);
        let db = ((haa * gb - hab * ga) / det).clamp(-0.5, 0.5);
        a -= da;
        b -= db;
        if da.abs() + db.abs() < 1e-9 {
            break;
        }
    }
    if a.is_finite() && b.is_finite() && a > 0.0 {
        (a, b)
    } else {
        (1.0, 0.0)
    }
}

/// Precision, recall and F1 of the spam class, with the confusion counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub accuracy: f64,
}

impl Metrics {
    /// Metrics from (truth, predicted) pairs, spam = positive.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (bool, bool)>) -> Self {
        let mut m = Metrics::default();
        for (truth, pred) in pairs {
            match (truth, pred) {
                (true, true) => m.tp += 1,
                (false, true) => m.fp += 1,
                (false, false) => m.tn += 1,
                (true, false) => m.fn_ += 1,
            }
        }
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        m.precision = ratio(m.tp, m.tp + m.fp);
        m.recall = ratio(m.tp, m.tp + m.fn_);
        m.f1 = if m.precision + m.recall > 0.0 {
            2.0 * m.precision * m.recall / (m.precision + m.recall)
        } else {
            0.0
        };
        m.accuracy = ratio(m.tp + m.tn, m.tp + m.tn + m.fp + m.fn_);
        m
    }
}

/// Cross-validated metrics of the text model alone: each sample is scored by the model
/// trained on the other folds ([`fold_of`] with `params.seed`) and called spam when its
/// probability is at least 0.5. Also returns the out-of-fold predictions.
pub fn cross_validate(
    samples: &[Sample],
    folds: usize,
    params: &TrainParams,
) -> (Metrics, Vec<bool>) {
    let feats = featurize(samples, params.dim_log2);
    let labels: Vec<bool> = samples.iter().map(|s| s.spam).collect();
    let oof = out_of_fold(&feats, &labels, folds, params);
    let pred: Vec<bool> = oof.iter().map(|&z| z >= 0.0).collect();
    (
        Metrics::from_pairs(labels.iter().copied().zip(pred.iter().copied())),
        pred,
    )
}

/// Train one model per fold: `models[k]` never saw the samples of fold `k`.
pub fn fold_models(samples: &[Sample], folds: usize, params: &TrainParams) -> Vec<Model> {
    let feats = featurize(samples, params.dim_log2);
    let labels: Vec<bool> = samples.iter().map(|s| s.spam).collect();
    (0..folds)
        .map(|k| {
            let (mut f, mut y) = (Vec::new(), Vec::new());
            for i in 0..samples.len() {
                if fold_of(i, folds, params.seed) != k {
                    f.push(feats[i].as_slice());
                    y.push(labels[i]);
                }
            }
            fit(&f, &y, params)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tsv() {
        let s =
            parse_tsv("ham\thello\n# comment\n\nspam\tWIN now\r\nphishing\tpay here\n").unwrap();
        assert_eq!(s.len(), 3);
        assert!(!s[0].spam && s[1].spam && s[2].spam);
        assert_eq!(s[1].text, "WIN now");
        assert_eq!(
            parse_tsv("ham hello"),
            Err(TsvError::MissingTab { line: 1 })
        );
        assert!(matches!(
            parse_tsv("eggs\tx"),
            Err(TsvError::BadLabel { line: 1, .. })
        ));
    }

    #[test]
    fn folds_are_deterministic_and_balanced() {
        let counts = (0..5000).fold([0usize; 5], |mut c, i| {
            c[fold_of(i, 5, 7)] += 1;
            c
        });
        assert!(
            counts.iter().all(|&c| (900..1100).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(fold_of(42, 5, 7), fold_of(42, 5, 7));
    }

    #[test]
    fn training_is_reproducible_and_learns() {
        let mut samples = Vec::new();
        for i in 0..40 {
            samples.push(Sample {
                spam: true,
                text: format!("WIN a free prize now call 0906{i:04}"),
            });
            samples.push(Sample {
                spam: false,
                text: format!("see you at dinner tonight {i}"),
            });
        }
        let p = TrainParams {
            dim_log2: 12,
            epochs: 5,
            ..TrainParams::default()
        };
        let a = train(&samples, &p);
        let b = train(&samples, &p);
        assert_eq!(a, b);
        assert!(a.probability("free prize call now") > 0.5);
        assert!(a.probability("dinner tonight?") < 0.5);
        let (m, _) = cross_validate(&samples, 5, &p);
        assert!(m.f1 > 0.9, "{m:?}");
    }
}
