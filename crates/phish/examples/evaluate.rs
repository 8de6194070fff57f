//! The checker on a labelled TSV (default: the hand-made evaluation set, never used for
//! training). Prints counts per verdict, accuracy, and the mistakes.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-phish cargo run --release -p hearth-phish --example evaluate [FILE]
//! ```

use hearth_phish::train::parse_tsv;
use hearth_phish::{Checker, Label, Message};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let default =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sms/handmade_eval.tsv");
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or(default);
    let samples = parse_tsv(&std::fs::read_to_string(&path)?)?;
    let checker = Checker::default();
    let mut counts = [[0usize; 3]; 2];
    let mut mistakes = Vec::new();
    for s in &samples {
        let v = checker.check(&Message::text(s.text.clone()));
        let col = match v.verdict {
            Label::Phishing => 0,
            Label::Suspicious => 1,
            Label::Legitimate => 2,
        };
        counts[usize::from(!s.spam)][col] += 1;
        let wrong = if s.spam {
            v.verdict == Label::Legitimate
        } else {
            v.verdict != Label::Legitimate
        };
        if wrong || (s.spam && v.verdict == Label::Suspicious) {
            mistakes.push(format!(
                "{} -> {:?} {:.3} {:?} | {}",
                if s.spam { "phishing" } else { "legitimate" },
                v.verdict,
                v.score,
                v.reasons,
                s.text
            ));
        }
    }
    println!("file: {}", path.display());
    println!("                 phishing suspicious legitimate");
    println!(
        "phishing   ({:>3})  {:>7} {:>10} {:>10}",
        counts[0].iter().sum::<usize>(),
        counts[0][0],
        counts[0][1],
        counts[0][2]
    );
    println!(
        "legitimate ({:>3})  {:>7} {:>10} {:>10}",
        counts[1].iter().sum::<usize>(),
        counts[1][0],
        counts[1][1],
        counts[1][2]
    );
    for m in mistakes {
        println!("  {m}");
    }
    Ok(())
}
