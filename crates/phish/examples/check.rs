//! Check messages given as arguments and print each verdict with the model's own score.
//!
//! ```text
//! cargo run -p hearth-phish --example check -- "Your Netflix code is 123456"
//! cargo run -p hearth-phish --example check -- '{"text":"...","sender":"+351912345678","channel":"sms"}'
//! ```
//!
//! An argument starting with `{` is read as a message in the `hearth message check` format.

use hearth_phish::{Checker, Message};

fn main() {
    let c = Checker::default();
    for arg in std::env::args().skip(1) {
        let msg = if arg.starts_with('{') {
            serde_json::from_str(&arg).unwrap_or_else(|_| Message::text(arg.clone()))
        } else {
            Message::text(arg.clone())
        };
        let m = c.model();
        let raw = m.logit(&msg.text);
        println!(
            "model raw={raw:.3} calibrated={:.3}",
            m.calibrated_logit(raw)
        );
        println!(
            "{}",
            serde_json::to_string(&c.check(&msg)).unwrap_or_default()
        );
    }
}
