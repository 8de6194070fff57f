//! The `hearth` binary's line-oriented commands, run as a user runs them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

fn run(args: &[&str], stdin: &str) -> (Vec<Value>, String, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        lines,
        String::from_utf8(out.stderr).unwrap(),
        out.status.success(),
    )
}

#[test]
fn password_check_answers_each_line() {
    let (lines, _, ok) = run(
        &["password", "check"],
        "password\nPassword1!\nabc\nCorrect-Horse-7-Battery\n",
    );
    assert!(ok);
    assert_eq!(lines.len(), 4);
    for refused in &lines[..3] {
        assert_eq!(refused["accepted"], false);
        assert!(!refused["reasons"].as_array().unwrap().is_empty());
    }
    assert_eq!(
        lines[3],
        serde_json::json!({"accepted": true, "reasons": [], "strength": 4})
    );
}

#[test]
fn message_check_answers_each_line_and_names_bad_ones() {
    let input = concat!(
        r#"{"text":"Netflix: your payment failed. Update your card at hxxp://netflix-billing[.]com/login within 24h","channel":"sms"}"#,
        "\n",
        "not json\n",
        r#"{"text":"Your Hearth code is 123456. We never ask for your password.","channel":"sms"}"#,
        "\n"
    );
    let (lines, _, ok) = run(&["message", "check"], input);
    assert!(ok);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["verdict"], "phishing");
    assert_eq!(lines[0]["urls"][0], "http://netflix-billing.com/login");
    assert_eq!(lines[1]["error"]["line"], 2);
    assert_eq!(lines[2]["verdict"], "legitimate");
}

#[test]
fn replay_reports_malformed_lines_by_number_and_carries_on() {
    let input = concat!(
        r#"{"ts":"2026-03-01T20:15:00Z","account":"a-17","device":"d-3","device_type":"tv","ip":"203.0.113.7","kind":"playback"}"#,
        "\n",
        "{broken\n",
        r#"{"ts":"2026-03-01T20:16:00Z","account":"a-17","device":"d-9","device_type":"mobile","ip":"198.51.100.4","kind":"sign_in","extra":"ignored"}"#,
        "\n"
    );
    let (lines, stderr, ok) = run(&["replay", "-"], input);
    assert!(ok, "{stderr}");
    assert_eq!(lines.len(), 2, "one decision per good event");
    assert_eq!(lines[0]["device"], "d-3");
    assert_eq!(lines[1]["device"], "d-9");
    assert!(stderr.contains("line 2:"), "{stderr}");
}

#[test]
fn replay_applies_an_event_id_once() {
    let line = |minute: u32, device: &str, kind: &str, id: &str| {
        format!(
            r#"{{"ts":"2026-03-01T20:{minute:02}:00Z","account":"a-1","device":"{device}","device_type":"computer","kind":"{kind}","ip":"90.1.2.3","country":"FR","city":"Paris","lat":48.85,"lon":2.35,"asn":3215,"id":"{id}"}}"#
        ) + "\n"
    };
    // Four failed sign-ins, the last delivered twice, then a sign-in: five failures
    // would mark it (`recent_sign_in_failures`); four do not.
    let mut input: Vec<String> = (1..=4)
        .map(|i| line(i, "evil", "sign_in_failed", &format!("f-{i}")))
        .collect();
    input.push(line(4, "evil", "sign_in_failed", "f-4"));
    input.push(line(10, "evil2", "sign_in", "s-1"));
    let (lines, stderr, ok) = run(&["replay", "-"], &input.concat());
    assert!(ok, "{stderr}");
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[4], lines[3], "the redelivery gets the first decision");
    let reasons = lines[5]["reasons"].as_array().unwrap();
    assert!(
        !reasons.iter().any(|r| r == "recent_sign_in_failures"),
        "the redelivered failure counted twice: {}",
        lines[5]
    );
}
