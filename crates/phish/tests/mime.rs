//! Forwarded reports through the real MIME parser: nested forwards, HTML-only bodies,
//! attachments and oversized input.

use hearth_phish::mime::{parse_report, parse_report_with_limit, MimeError, MAX_REPORT_BYTES};
use hearth_phish::{Checker, Label};

const PHISH: &str = "From: Netflix <billing@netflix-account-update.com>\r\n\
To: member@example.org\r\n\
Subject: Your payment failed\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Your Netflix payment failed. Update your card within 24 hours: https://netflix-account-update.com/pay\r\n";

fn forward(inner: &str, from: &str, note: &str) -> String {
    format!(
        "From: {from}\r\n\
To: phishing@hearth.example\r\n\
Subject: Fwd: suspicious\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer-{n}\"\r\n\
\r\n\
--outer-{n}\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
{note}\r\n\
--outer-{n}\r\n\
Content-Type: message/rfc822\r\n\
Content-Disposition: attachment; filename=\"forwarded.eml\"\r\n\
\r\n\
{inner}\r\n\
--outer-{n}--\r\n",
        n = from.len()
    )
}

#[test]
fn nested_forward_reaches_the_original_message() {
    let once = forward(
        PHISH,
        "Friend <friend@example.org>",
        "Got this, is it real?",
    );
    let twice = forward(
        &once,
        "Member <member@example.org>",
        "My friend got this one.",
    );
    let r = parse_report(twice.as_bytes()).unwrap();
    assert!(r.forwarded);
    assert_eq!(r.reporter.as_deref(), Some("Member <member@example.org>"));
    assert_eq!(
        r.sender.as_deref(),
        Some("Netflix <billing@netflix-account-update.com>")
    );
    assert_eq!(r.subject.as_deref(), Some("Your payment failed"));
    assert!(
        r.text.contains("https://netflix-account-update.com/pay"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("My friend"));
    let v = Checker::default().check(&r.message());
    assert_eq!(v.verdict, Label::Phishing, "{v:?}");
}

#[test]
fn html_only_body_becomes_text_with_link_targets() {
    let raw = "From: \"Disney+\" <no-reply@disney-plus-billing.com>\r\n\
Subject: =?utf-8?Q?Paiement_refus=C3=A9?=\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body><p>Votre paiement a &eacute;t&eacute; refus&eacute;.</p>\
<p><a href=\"https://disney-plus-billing.com/fr/carte?id=1&amp;x=2\">Mettre &agrave; jour</a></p>\
<script>alert(1)</script></body></html>\r\n";
    let r = parse_report(raw.as_bytes()).unwrap();
    assert_eq!(r.subject.as_deref(), Some("Paiement refusé"));
    assert!(r.text.contains("Votre paiement a été refusé"), "{}", r.text);
    assert!(!r.text.contains("<p>"), "{}", r.text);
    assert_eq!(
        r.links,
        vec!["https://disney-plus-billing.com/fr/carte?id=1&x=2"]
    );
    assert!(r
        .text
        .contains("https://disney-plus-billing.com/fr/carte?id=1&x=2"));
    let v = Checker::default().check(&r.message());
    assert_eq!(v.verdict, Label::Phishing, "{v:?}");
}

#[test]
fn attachments_are_ignored() {
    let raw = "From: Netflix <info@netflix-help-desk.com>\r\n\
Subject: Invoice\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain\r\n\
\r\n\
Please see the attached invoice and confirm your card details.\r\n\
--b1\r\n\
Content-Type: application/octet-stream; name=\"invoice.exe\"\r\n\
Content-Disposition: attachment; filename=\"invoice.exe\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n\
--b1--\r\n";
    let r = parse_report(raw.as_bytes()).unwrap();
    assert_eq!(r.attachments_ignored, 1);
    assert!(r.text.contains("confirm your card details"));
    assert!(!r.text.contains("TVqQ"));
}

#[test]
fn inline_forward_is_understood() {
    let raw = "From: member@example.org\r\n\
Subject: Fwd: Compte suspendu\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Regardez ça\r\n\
\r\n\
---------- Forwarded message ---------\r\n\
De : Netflix <support@netflix-compte.fr.gd>\r\n\
Date: lun. 2 mars 2026\r\n\
Subject: Compte suspendu\r\n\
\r\n\
Votre compte est suspendu. Confirmez vos informations : netflix-compte.fr.gd\r\n";
    let r = parse_report(raw.as_bytes()).unwrap();
    assert!(r.forwarded);
    assert_eq!(
        r.sender.as_deref(),
        Some("Netflix <support@netflix-compte.fr.gd>")
    );
    assert_eq!(r.subject.as_deref(), Some("Compte suspendu"));
    assert!(
        r.text.starts_with("Votre compte est suspendu"),
        "{}",
        r.text
    );
}

#[test]
fn oversized_and_empty_input_are_clear_errors() {
    let big = vec![b'a'; MAX_REPORT_BYTES + 1];
    let err = parse_report(&big).unwrap_err();
    assert_eq!(
        err,
        MimeError::TooLarge {
            size: MAX_REPORT_BYTES + 1,
            limit: MAX_REPORT_BYTES
        }
    );
    assert!(err.to_string().contains("too large"));
    assert!(matches!(
        parse_report_with_limit(PHISH.as_bytes(), 10),
        Err(MimeError::TooLarge { .. })
    ));
    assert_eq!(parse_report(b"  \r\n "), Err(MimeError::Empty));
}

#[test]
fn plain_text_report_is_its_own_message() {
    let r = parse_report(b"Netflix: your account is on hold, pay at nflx-hold.com").unwrap();
    assert!(r.text.contains("nflx-hold.com"), "{r:?}");
}
