//! Property and stress tests: arbitrary Unicode and bytes, 1 MB messages, thousands of
//! links. Nothing panics, outputs stay well-formed and bounded. (No timing assertions:
//! the per-message work is bounded by `text::MAX_ANALYSED_BYTES` and `urls::MAX_URLS`,
//! and `benches/check.rs` measures the large cases.)

use hearth_phish::campaign::fingerprint;
use hearth_phish::mime::parse_report;
use hearth_phish::stream::check_stream;
use hearth_phish::urls::{extract, MAX_URLS};
use hearth_phish::{Checker, Message, ReasonCode};
use proptest::prelude::*;
use std::sync::OnceLock;

fn checker() -> &'static Checker {
    static C: OnceLock<Checker> = OnceLock::new();
    C.get_or_init(Checker::default)
}

/// Text made of the pieces attackers (and fuzzers) combine.
fn attacker_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "http://",
        "https://",
        "hxxps://",
        "www.",
        "[.]",
        "(.)",
        "[dot]",
        ".",
        "..",
        "-",
        "/",
        "@",
        ":",
        "8080",
        " ",
        "\n",
        "\t",
        "netflix",
        "nеtflix",
        "n3tflix",
        "xn--",
        "xn--ntflix-3of",
        "com",
        "xyz",
        "co.uk",
        "bit.ly",
        "192.168.0.1",
        "999.1.1.1",
        "payment failed",
        "mot de passe",
        "senha",
        "contraseña",
        "code 123456",
        "never",
        "!",
        "?",
        "\u{3002}",
        "\u{200b}",
        "é",
        "😀",
        "\u{202e}",
        "%",
        "#",
        "&amp;",
        "<a href=\"",
        "\">",
        "'",
        "\"",
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_unicode_text_gives_a_wellformed_verdict(text in any::<String>(), sender in proptest::option::of(any::<String>())) {
        let v = checker().check(&Message { text, sender, channel: None });
        prop_assert!((0.0..=1.0).contains(&v.score));
        prop_assert!(v.urls.len() <= MAX_URLS);
        let json = serde_json::to_string(&v).unwrap();
        prop_assert!(json.starts_with(r#"{"verdict":"#), "{}", json);
    }

    #[test]
    fn attacker_shaped_text_never_panics(text in attacker_text()) {
        let v = checker().check(&Message::text(text.clone()));
        prop_assert!((0.0..=1.0).contains(&v.score));
        for u in extract(&text) {
            prop_assert!(u.host.is_ascii());
            prop_assert!(!u.host.is_empty());
        }
        let _ = fingerprint(&text);
    }

    #[test]
    fn any_bytes_on_the_stream_give_one_line_per_line(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let mut out = Vec::new();
        let stats = check_stream(checker(), &bytes[..], &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        prop_assert_eq!(out.lines().count() as u64, stats.lines);
        for line in out.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            prop_assert!(v.get("verdict").is_some() || v.get("error").is_some());
        }
    }

    #[test]
    fn any_bytes_as_a_report_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4000)) {
        let _ = parse_report(&bytes);
    }

    #[test]
    fn mime_shaped_bytes_never_panic(text in attacker_text(), boundary in "[a-z]{1,5}") {
        let raw = format!(
            "From: {text}\r\nSubject: {text}\r\nContent-Type: multipart/mixed; boundary={boundary}\r\n\r\n--{boundary}\r\nContent-Type: text/html\r\n\r\n{text}\r\n--{boundary}\r\nContent-Type: message/rfc822\r\n\r\nFrom: x\r\n\r\n{text}\r\n--{boundary}--\r\n"
        );
        if let Ok(r) = parse_report(raw.as_bytes()) {
            let _ = checker().check(&r.message());
        }
    }
}

#[test]
fn one_megabyte_messages_are_handled() {
    let unit = "Netflix: your payment failed, update at https://netflix-billing.com/x — é 😀 ";
    let text: String = unit.repeat(1024 * 1024 / unit.len() + 1);
    assert!(text.len() > 1024 * 1024);
    let v = checker().check(&Message::text(text.clone()));
    assert!((0.0..=1.0).contains(&v.score));
    let _ = fingerprint(&text);
    let no_spaces = "a".repeat(1 << 20);
    let _ = checker().check(&Message::text(no_spaces));
    let dots = ".".repeat(1 << 20);
    let _ = checker().check(&Message::text(dots));
    let line = format!("{{\"text\":{}}}\n", serde_json::to_string(&text).unwrap());
    assert!(line.len() > 1 << 20);
    let mut out = Vec::new();
    let stats = check_stream(checker(), line.as_bytes(), &mut out).unwrap();
    assert_eq!(stats.lines, 1);
    assert_eq!(stats.errors, 0);
}

#[test]
fn thousands_of_links_are_capped() {
    let text: String = (0..5000)
        .map(|i| format!("https://host{i}.example-{i}.com/p "))
        .collect();
    let v = checker().check(&Message::text(text));
    assert!(v.urls.len() <= MAX_URLS);
    assert!(
        v.reasons.contains(&ReasonCode::ManyLinks),
        "{:?}",
        v.reasons
    );
    let same: String = "netflix.com ".repeat(5000);
    let v = checker().check(&Message::text(same));
    assert_eq!(v.urls, vec!["netflix.com"]);
}
