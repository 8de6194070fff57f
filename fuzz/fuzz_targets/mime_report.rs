//! The MIME intake: a raw forwarded e-mail as it reaches the reporting address, parsed
//! into the reported message, which is then checked.
#![no_main]

use hearth_phish::mime::parse_report;
use hearth_phish::Checker;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(Checker::default)
}

fuzz_target!(|data: &[u8]| {
    // libFuzzer's hook aborts on any panic, even one `parse_report` catches from
    // mail-parser; the default hook lets that one through. A panic that escapes still
    // aborts (libfuzzer-sys checks the result of the whole input).
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let _ = std::panic::take_hook();
    });
    if let Ok(report) = parse_report(data) {
        let _ = checker().check(&report.message());
        let _ = hearth_phish::campaign::fingerprint(&report.message().text);
    }
});
