//! Regenerate the committed model and print 5-fold cross-validated metrics.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-phish cargo run --release -p hearth-phish --example train
//! ```
//!
//! Reads `data/sms/SMSSpamCollection` (UCI) and `data/sms/handmade.tsv`, writes
//! `data/sms/folds.txt` (the fold of each UCI line, read by `bench/phish_baseline.py`),
//! `crates/phish/model/model.bin`, and prints the metrics as JSON on stdout.
//! Cross-validation is on the UCI collection only (so it compares with the baseline);
//! the shipped model is trained on UCI + hand-made samples.

use hearth_phish::train::{
    cross_validate, fold_models, fold_of, parse_tsv, train, Metrics, Sample, TrainParams,
};
use hearth_phish::{Checker, CheckerConfig, Label, Message};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let uci = parse_tsv(&std::fs::read_to_string(
        root.join("data/sms/SMSSpamCollection"),
    )?)?;
    let handmade = parse_tsv(&std::fs::read_to_string(
        root.join("data/sms/handmade.tsv"),
    )?)?;
    let params = TrainParams::default();
    let folds = 5;
    if std::env::var_os("HEARTH_TUNE").is_some() {
        // Small grid search, printed only; the defaults in TrainParams are the pick.
        for spam_weight in [1.0, 1.5, 2.0, 3.0] {
            for epochs in [8, 12, 20] {
                for learning_rate in [0.2, 0.5, 1.0] {
                    let p = TrainParams {
                        spam_weight,
                        epochs,
                        learning_rate,
                        ..params.clone()
                    };
                    let (m, _) = cross_validate(&uci, folds, &p);
                    println!(
                        "w={spam_weight} e={epochs} lr={learning_rate} p={:.4} r={:.4} f1={:.4}",
                        m.precision, m.recall, m.f1
                    );
                }
            }
        }
        return Ok(());
    }

    let fold_file: String = (0..uci.len())
        .map(|i| format!("{}\n", fold_of(i, folds, params.seed)))
        .collect();
    std::fs::write(root.join("data/sms/folds.txt"), fold_file)?;

    let t = Instant::now();
    let (model_cv, _) = cross_validate(&uci, folds, &params);
    let cv_secs = t.elapsed().as_secs_f64();

    let mut all: Vec<Sample> = uci.clone();
    all.extend(handmade.iter().cloned());
    let t = Instant::now();
    let model = train(&all, &params);
    let train_secs = t.elapsed().as_secs_f64();
    std::fs::write(root.join("crates/phish/model/model.bin"), model.to_bytes())?;

    // The whole checker (model + cues + links) per fold, each with the model that never
    // saw the fold, calibrated like the shipped one (Platt parameters are 2 numbers
    // fitted on out-of-fold scores).
    let checkers: Vec<Checker> = fold_models(&uci, folds, &params)
        .into_iter()
        .map(|mut m| {
            m.platt_a = model.platt_a;
            m.platt_b = model.platt_b;
            Checker::new(CheckerConfig {
                model: Some(m),
                ..CheckerConfig::default()
            })
        })
        .collect();
    let verdicts: Vec<Label> = uci
        .iter()
        .enumerate()
        .map(|(i, s)| {
            checkers[fold_of(i, folds, params.seed)]
                .check(&Message::text(s.text.clone()))
                .verdict
        })
        .collect();
    if std::env::var_os("HEARTH_ERRORS").is_some() {
        // The checker's cross-validated mistakes, for error analysis (stderr).
        for ((i, s), v) in uci.iter().enumerate().zip(&verdicts) {
            if s.spam != (*v != Label::Legitimate) {
                let r =
                    checkers[fold_of(i, folds, params.seed)].check(&Message::text(s.text.clone()));
                eprintln!(
                    "{} {:?} {:.3} {:?} | {}",
                    if s.spam { "FN" } else { "FP" },
                    r.verdict,
                    r.score,
                    r.reasons,
                    s.text
                );
            }
        }
    }
    let flagged = Metrics::from_pairs(
        uci.iter()
            .zip(&verdicts)
            .map(|(s, v)| (s.spam, *v != Label::Legitimate)),
    );
    let phishing_only = Metrics::from_pairs(
        uci.iter()
            .zip(&verdicts)
            .map(|(s, v)| (s.spam, *v == Label::Phishing)),
    );

    let report = serde_json::json!({
        "params": params,
        "uci_samples": uci.len(),
        "handmade_samples": handmade.len(),
        "cv_model": model_cv,
        "cv_checker_flagged": flagged,
        "cv_checker_phishing_only": phishing_only,
        "cv_seconds": cv_secs,
        "train_seconds": train_secs,
        "platt": [model.platt_a, model.platt_b],
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
