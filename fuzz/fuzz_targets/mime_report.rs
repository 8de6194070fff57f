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
    if let Ok(report) = parse_report(data) {
        let _ = checker().check(&report.message());
        let _ = hearth_phish::campaign::fingerprint(&report.message().text);
    }
});
