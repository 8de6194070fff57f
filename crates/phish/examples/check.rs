//! Check messages given as arguments and print each verdict with the model's own score.
//!
//! ```text
//! cargo run -p hearth-phish --example check -- "Your Netflix code is 123456"
//! ```

use hearth_phish::{Checker, Message};

fn main() {
    let c = Checker::default();
    for text in std::env::args().skip(1) {
        let m = c.model();
        let raw = m.logit(&text);
        println!(
            "model raw={raw:.3} calibrated={:.3}",
            m.calibrated_logit(raw)
        );
        println!(
            "{}",
            serde_json::to_string(&c.check(&Message::text(text))).unwrap_or_default()
        );
    }
}
