//! The delivery peers fail: SMTP is not listening and the SMS gateway answers 500.
//! Requests that send codes still succeed (the messages wait in the outbox), the
//! courier retries each one with growing delays, and once the peers are back every
//! message reaches them exactly once. With a small attempt limit the same failures end
//! in dead letters, shown in `/metrics` and in the outbox.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use hearth_core::outbox::{OutboxChannel, OutboxStatus};
use hearth_loopback::{closed_port, start_gateway, start_smtp_on, RcptReply};
use reqwest::{Client, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use support::*;

const MEMBERS: usize = 4;

/// Signs members up (with a phone) and has a device abroad ask for a code, by e-mail
/// for even members and by text for odd ones. Returns (channel, recipient) per code.
async fn ask_for_codes(c: &Client, n: &Node, tag: &str) -> Vec<(&'static str, String)> {
    let mut asked = Vec::new();
    for i in 0..MEMBERS {
        let email = format!("{tag}{i}@faults.test");
        let phone = format!("+35192000{i:04}");
        assert_eq!(
            sign_up(c, n, &email, Some(&phone)).await,
            Some(StatusCode::ACCEPTED)
        );
        let (st, token) = sign_in(c, n, &email, "phone-1", "mobile", ABROAD)
            .await
            .unwrap();
        assert_eq!(st, StatusCode::CREATED);
        let channel = if i % 2 == 0 { "email" } else { "sms" };
        let (st, v) = send(
            c.post(n.url("/v1/device/verification/code"))
                .bearer_auth(token.unwrap())
                .header("x-forwarded-for", ABROAD)
                .json(&json!({"channel": channel})),
        )
        .await
        .unwrap();
        assert_eq!(
            st,
            StatusCode::ACCEPTED,
            "accepted into the outbox while the peer is down: {v}"
        );
        asked.push((channel, if channel == "sms" { phone } else { email }));
    }
    asked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_wait_out_a_dead_smtp_server_and_a_failing_gateway_then_arrive_once() {
    let dir = temp_dir("peers-down");
    let smtp_port = closed_port();
    let gw = start_gateway(&[]).await;
    gw.fail_with(Some(500));
    let mut setup = Setup::new(dir.join("data"), smtp_port, &gw.base_url);
    // Backoff from 200 ms doubling to 1.6 s, so a few tries fit in the test.
    setup.retry = (200, 1600, 1000);
    let node = start(&setup);
    let c = client();
    let asked = ask_for_codes(&c, &node, "down").await;
    let store = hearth_store::open(&format!(
        "sqlite://{}",
        dir.join("data/hearth.db").display()
    ))
    .await
    .unwrap();

    // Every message is tried again and again while the peers fail.
    let rows = wait_until(Duration::from_secs(20), || {
        let store = store.clone();
        async move {
            let rows = store.outbox_list(1000).await.ok()?;
            rows.iter().all(|m| m.attempts >= 4).then_some(rows)
        }
    })
    .await
    .expect("each message tried at least four times");
    for m in &rows {
        assert_ne!(m.status, OutboxStatus::Sent, "nothing sent yet");
        let error = m.last_error.clone().unwrap_or_default();
        match m.channel {
            OutboxChannel::Email => assert!(
                error.to_lowercase().contains("connect") || error.contains("refused"),
                "{error}"
            ),
            OutboxChannel::Sms => assert!(error.contains("500"), "{error}"),
        }
    }
    // The gateway saw each text's tries with growing gaps between them.
    let mut tries: BTreeMap<String, Vec<std::time::Instant>> = BTreeMap::new();
    for r in gw.requests.lock().unwrap().iter() {
        tries
            .entry(r.idempotency_key.clone().unwrap())
            .or_default()
            .push(r.at);
    }
    let mut gaps_ms = Vec::new();
    for at in tries.values() {
        let gaps: Vec<u128> = at.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect();
        gaps_ms.push(gaps);
    }
    let sent_before = gw.accepted().len();
    assert_eq!(sent_before, 0);

    // The peers come back.
    let smtp = start_smtp_on(smtp_port, RcptReply::Accept).await;
    gw.fail_with(None);
    let rows = wait_until(Duration::from_secs(20), || {
        let store = store.clone();
        async move {
            let rows = store.outbox_list(1000).await.ok()?;
            rows.iter()
                .all(|m| m.status == OutboxStatus::Sent)
                .then_some(rows)
        }
    })
    .await
    .expect("every message is delivered once the peers are back");
    let mails = smtp.mails.lock().unwrap().clone();
    let texts = gw.accepted();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for m in &mails {
        *seen.entry(m.message_id().unwrap()).or_default() += 1;
    }
    for t in &texts {
        *seen.entry(t.idempotency_key.clone().unwrap()).or_default() += 1;
    }
    for m in &rows {
        let key = match m.channel {
            OutboxChannel::Email => hearth_courier::message_id(m, "hearth.test"),
            OutboxChannel::Sms => hearth_courier::idempotency_key(m),
        };
        assert_eq!(
            seen.get(&key),
            Some(&1),
            "row {} ({}) delivered exactly once",
            m.id,
            m.purpose
        );
    }
    assert_eq!(seen.len(), rows.len());
    for (channel, to) in &asked {
        let arrived = if *channel == "sms" {
            texts.iter().any(|t| {
                form_field(&t.body, "To").as_deref() == Some(to.as_str())
                    && form_field(&t.body, "Body")
                        .and_then(|b| code_in(&b))
                        .is_some()
            })
        } else {
            let rcpt = format!("<{to}>");
            mails.iter().any(|m| {
                m.rcpt_to.contains(&rcpt)
                    && code_in(&hearth_loopback::text_parts(&m.data).join("\n")).is_some()
            })
        };
        assert!(arrived, "the {channel} code to {to} arrived");
    }
    let attempts: Vec<u32> = rows.iter().map(|m| m.attempts).collect();
    eprintln!(
        "peers down: {} messages ({} e-mail, {} text) accepted while SMTP was down and the gateway answered 500; attempts per message until delivered {:?}; gaps between a text's failed tries (ms) {:?}; after recovery {} deliveries, {} duplicates",
        rows.len(),
        rows.iter().filter(|m| m.channel == OutboxChannel::Email).count(),
        rows.iter().filter(|m| m.channel == OutboxChannel::Sms).count(),
        attempts,
        gaps_ms,
        mails.len() + texts.len(),
        mails.len() + texts.len() - seen.len(),
    );
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_configured_attempts_a_message_is_a_dead_letter_in_metrics_and_outbox() {
    let dir = temp_dir("dead-letter");
    let gw = start_gateway(&[]).await;
    gw.fail_with(Some(503));
    let mut setup = Setup::new(dir.join("data"), closed_port(), &gw.base_url);
    setup.retry = (50, 100, 3);
    let node = start(&setup);
    let c = client();
    let asked = ask_for_codes(&c, &node, "dead").await;
    let store = hearth_store::open(&format!(
        "sqlite://{}",
        dir.join("data/hearth.db").display()
    ))
    .await
    .unwrap();
    // Every message, not only the ones not yet claimed, has ended as a dead letter.
    wait_until(Duration::from_secs(20), || async {
        let rows = store.outbox_list(1000).await.ok()?;
        (!rows.is_empty() && rows.iter().all(|m| m.status == OutboxStatus::Dead)).then_some(())
    })
    .await
    .expect("the messages end as dead letters");
    let dead = metric(&c, &node, "hearth_outbox_messages{status=\"dead\"}")
        .await
        .unwrap_or(0.0);
    let rows = store.outbox_list(1000).await.unwrap();
    for m in &rows {
        assert_eq!(m.status, OutboxStatus::Dead, "{m:?}");
        assert_eq!(m.attempts, 3);
        assert!(
            m.last_error
                .as_deref()
                .unwrap_or("")
                .contains("gave up after 3 attempts"),
            "{m:?}"
        );
    }
    assert_eq!(dead as usize, rows.len());
    assert!(rows.len() >= asked.len());
    let letters = metric(&c, &node, "hearth_outbox_dead_letters_total")
        .await
        .unwrap_or(0.0);
    assert_eq!(letters as usize, rows.len(), "counted as they died");
    eprintln!(
        "dead letter: {} messages dead after 3 attempts each; /metrics hearth_outbox_messages{{status=\"dead\"}} {dead}, hearth_outbox_dead_letters_total {letters}",
        rows.len()
    );
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}
