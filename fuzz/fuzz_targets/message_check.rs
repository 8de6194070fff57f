//! The message checker: arbitrary text, sender and channel through the whole analysis
//! (links, domains, lookalikes, cues, model), and the `hearth message check` stream.
#![no_main]

use hearth_phish::{Channel, Checker, Message};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(Checker::default)
}

fuzz_target!(|data: &[u8]| {
    // Layout: first byte picks the channel, then `sender \0 text` (no NUL: text only).
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let channel = match first % 3 {
        0 => None,
        1 => Some(Channel::Sms),
        _ => Some(Channel::Email),
    };
    let rest = String::from_utf8_lossy(rest);
    let (sender, text) = match rest.split_once('\0') {
        Some((s, t)) => (Some(s.to_owned()), t.to_owned()),
        None => (None, rest.into_owned()),
    };
    let verdict = checker().check(&Message {
        text,
        sender,
        channel,
    });
    assert!(
        (0.0..=1.0).contains(&verdict.score),
        "score {}",
        verdict.score
    );
    let _ = hearth_phish::guidance(verdict.verdict, "pt");
    // The raw bytes as a JSON Lines stream, as `hearth message check` reads stdin.
    let mut out = Vec::new();
    let _ = hearth_phish::stream::check_stream(checker(), data, &mut out);
});
