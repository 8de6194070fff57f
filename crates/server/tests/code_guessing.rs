//! Code guessing: the most guesses an attacker gets at one account's one-time codes in
//! a day, measured through the API over two simulated days (the service clock moves,
//! nothing sleeps), equals SECURITY.md's bound `sends_per_day × max_attempts`.
//!
//! The attacker knows only the e-mail address, so the codes within reach are password
//! reset codes: ask for one (alternating e-mail and text, to try to get around the
//! per-destination limit), type guesses until the code is void, ask again; every ten
//! simulated minutes, for 48 hours.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::time::{HOUR, MINUTE};
use hearth_server::testkit::TestServer;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const PASSWORD: &str = "Correct-Horse-7-Battery";
const EMAIL: &str = "target@guess.test";

/// Codes sent plus sends refused for the limit, to know when the reset requested in
/// the background has been dealt with.
fn reset_outcomes(s: &TestServer) -> u64 {
    let m = &s.app.metrics;
    ["email", "sms"]
        .iter()
        .map(|ch| {
            m.counter(
                "hearth_codes_sent_total",
                &[("channel", ch), ("purpose", "password_reset")],
            )
        })
        .sum::<u64>()
        + m.counter("hearth_codes_refused_total", &[("why", "send_limit")])
}

/// Reset-code guesses compared with a live code: refused as wrong, or accepted.
fn compared(s: &TestServer) -> u64 {
    let m = &s.app.metrics;
    m.counter("hearth_codes_refused_total", &[("why", "code_mismatch")])
        + m.counter(
            "hearth_codes_verified_total",
            &[("purpose", "password_reset")],
        )
}

#[tokio::test]
async fn an_attacker_gets_at_most_sends_per_day_times_attempts_guesses_a_day() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    let r = c
        .post(s.url("/v1/accounts"))
        .json(&json!({"email": EMAIL, "password": PASSWORD, "recovery_phone": "+351912345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);

    let codes = &s.app.config.codes;
    let bound = u64::from(codes.sends_per_day) * u64::from(codes.max_attempts);
    assert_eq!(bound, 100, "SECURITY.md's figures assume the defaults");

    let step = 10 * MINUTE;
    let mut elapsed = 0;
    let mut next_guess = 0_u32;
    // When (simulated ms since the start) each guess was compared with a live code.
    let mut checked: Vec<i64> = Vec::new();
    let mut requests = 0;
    let mut got_in = false;
    while elapsed < 48 * HOUR {
        let before = reset_outcomes(&s);
        let channel = if requests % 2 == 0 { "email" } else { "sms" };
        requests += 1;
        let r = c
            .post(s.url("/v1/password-reset"))
            .json(&json!({"email": EMAIL, "channel": channel}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        for _ in 0..400 {
            if reset_outcomes(&s) > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            reset_outcomes(&s) > before,
            "the reset request was never handled"
        );
        // Every wrong code gets the same answer on this step, so the attacker cannot see
        // when a code is void: guess one more time than a code allows, and count from the
        // server's metrics how many guesses were really compared with a live code.
        for _ in 0..=codes.max_attempts {
            let compared_before = compared(&s);
            let code = format!("{:06}", next_guess % 1_000_000);
            next_guess += 1;
            let r = c
                .post(s.url("/v1/password-reset/complete"))
                .json(&json!({"email": EMAIL, "code": code, "new_password": "Stolen-Account-42-Zebra!"}))
                .send()
                .await
                .unwrap();
            let st = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            if compared(&s) > compared_before {
                checked.push(elapsed);
            }
            match (st, body["error"]["code"].as_str()) {
                (StatusCode::BAD_REQUEST, Some("code_not_found")) => {}
                (StatusCode::OK, _) => {
                    // One guess in 10^6 is right: it still counts, and ends this code.
                    got_in = true;
                    break;
                }
                other => panic!("unexpected answer {other:?}: {body}"),
            }
        }
        s.app.clock.advance(step);
        elapsed += step;
    }

    // The most guesses compared in any 24-hour window.
    let best = (0..checked.len())
        .map(|i| {
            checked[i..]
                .iter()
                .take_while(|&&t| t < checked[i] + 24 * HOUR)
                .count()
        })
        .max()
        .unwrap_or(0) as u64;
    println!(
        "{} reset requests over 48 simulated hours; {} guesses compared; most in one day: {best} (bound {bound}); P(success per day) <= {best}/10^{} = {:e}",
        requests,
        checked.len(),
        codes.digits,
        best as f64 / 10f64.powi(i32::from(codes.digits))
    );
    if got_in {
        assert!(best <= bound);
    } else {
        assert_eq!(best, bound);
    }
    s.stop().await;
}
