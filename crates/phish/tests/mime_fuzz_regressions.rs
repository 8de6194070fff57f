//! Inputs the fuzzer found (`scripts/fuzz.sh mime_report`), kept so they stay harmless.

use hearth_phish::mime::{parse_report, MimeError};

#[test]
fn a_multipart_that_panics_mail_parser_is_an_unreadable_report() {
    // mail-parser 0.11.9 panics with "Invalid part ID, could not find multipart".
    let raw = include_bytes!("data/mail_parser_panic.eml");
    assert!(matches!(parse_report(raw), Err(MimeError::NotMime)));
}
