//! Operations end to end on a real server: every `/metrics` family moves after the
//! action it counts, request ids, whose `X-Forwarded-For` is believed, and the limits
//! on bodies, headers and slow clients (over raw TCP on loopback).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_loopback::{start_smtp, RcptReply};
use hearth_server::config::Config;
use hearth_server::testkit::TestServer;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "Correct-Horse-7-Battery";
const HOME: &str = "81.2.69.160";
const ABROAD: &str = "89.160.20.112";

async fn post(
    c: &Client,
    url: String,
    token: Option<&str>,
    xff: &str,
    body: Value,
) -> (StatusCode, Value) {
    let mut r = c.post(url).header("x-forwarded-for", xff).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

async fn metrics(s: &TestServer) -> String {
    reqwest::get(s.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of one sample (`name{labels}`), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
        .unwrap_or(0.0)
}

async fn sign_in(s: &TestServer, c: &Client, id: &str, kind: &str, ip: &str) -> String {
    let (st, body) = post(
        c,
        s.url("/v1/sessions"),
        None,
        ip,
        json!({"email": "owner@example.com", "password": PASSWORD, "device_id": id, "device_type": kind}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_metric_family_is_described_and_moves_after_its_action() {
    // The SMTP server says "try later" to everything: messages are retried, then dead.
    let smtp = start_smtp(RcptReply::TempFail).await;
    let courier = format!(
        "[email]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"no-reply@hearth.test\"\n[worker]\npoll_ms = 50\nlease_ms = 10000\nsend_timeout_ms = 5000\n[retry]\nbase_ms = 1500\ncap_ms = 1500\nmax_attempts = 2\n",
        smtp.port
    );
    let s = TestServer::start(|c| {
        c.http.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        c.courier = toml::from_str(&courier).unwrap();
    })
    .await;
    let c = Client::new();
    let before = metrics(&s).await;

    let (st, _) = post(
        &c,
        s.url("/v1/accounts"),
        None,
        HOME,
        json!({"email": "owner@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    for (email, want) in [
        ("owner@example.com", "wrong_password"),
        ("nobody@example.com", "unknown_account"),
    ] {
        let (st, _) = post(&c, s.url("/v1/sessions"), None, HOME, json!({"email": email, "password": "Wrong-Horse-7-Battery", "device_id": "x", "device_type": "tv"})).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{want}");
    }
    sign_in(&s, &c, "tv-1", "tv", HOME).await;
    let phone = sign_in(&s, &c, "phone-9", "mobile", ABROAD).await;
    let (st, body) = post(
        &c,
        s.url("/v1/device/verification/code"),
        Some(&phone),
        ABROAD,
        json!({"channel": "email"}),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    let queued = metrics(&s).await;
    let r = c
        .post(s.url("/v1/access"))
        .bearer_auth(&s.api_key)
        .json(&json!({"ts": "2026-03-01T20:15:00Z", "account": "a-17", "device": "d-3", "device_type": "tv", "ip": "203.0.113.7", "kind": "playback"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A path with an id in it is counted under its route template only.
    let r = c
        .patch(s.url("/v1/me/devices/secret-device-id-123"))
        .bearer_auth(&phone)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error() || r.status().is_success());
    let mut after = String::new();
    for _ in 0..200 {
        after = metrics(&s).await;
        if sample(&after, "hearth_outbox_dead_letters_total") >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    for family in [
        "hearth_decisions_total",
        "hearth_decision_reasons_total",
        "hearth_codes_sent_total",
        "hearth_outbox_backlog",
        "hearth_engine_effects_pending",
        "hearth_engine_effects_overdue",
        "hearth_outbox_claimed_total",
        "hearth_outbox_retries_total",
        "hearth_outbox_dead_letters_total",
        "hearth_sign_in_failures_total",
        "hearth_sign_ins_total",
        "hearth_http_request_seconds",
        "hearth_access_batch_seconds",
        "hearth_access_batch_events_total",
        "hearth_access_queue_events",
        "hearth_password_hash_wait_seconds",
        "hearth_password_hash_seconds",
    ] {
        assert!(
            after.contains(&format!("# HELP {family} ")),
            "no HELP for {family}"
        );
        assert!(
            after.contains(&format!("# TYPE {family} ")),
            "no TYPE for {family}"
        );
    }
    let moved = |series: &str| {
        let (b, a) = (sample(&before, series), sample(&after, series));
        assert!(a > b, "{series}: {b} → {a}\n{after}");
    };
    moved("hearth_decisions_total{decision=\"allow\"}");
    assert!(
        after.contains("hearth_decision_reasons_total{reason="),
        "{after}"
    );
    moved("hearth_codes_sent_total{channel=\"email\",purpose=\"device_verification\"}");
    moved("hearth_sign_in_failures_total{reason=\"wrong_password\"}");
    moved("hearth_sign_in_failures_total{reason=\"unknown_account\"}");
    // Sign-up, two failed and two good sign-ins: a hash each, each after its turn.
    moved("hearth_password_hash_seconds_count");
    moved("hearth_password_hash_wait_seconds_count");
    assert!(
        sample(&after, "hearth_password_hash_seconds_count") >= 5.0,
        "{after}"
    );
    moved("hearth_outbox_retries_total");
    moved("hearth_outbox_dead_letters_total");
    moved(
        "hearth_http_request_seconds_count{method=\"POST\",route=\"/v1/accounts\",status=\"2xx\"}",
    );
    moved(
        "hearth_http_request_seconds_count{method=\"POST\",route=\"/v1/sessions\",status=\"4xx\"}",
    );
    moved("hearth_http_request_seconds_bucket{method=\"POST\",route=\"/v1/access\",status=\"2xx\",le=\"+Inf\"}");
    // The write path's own figures: the event went through a batch, and nothing waits.
    moved("hearth_access_batch_events_total");
    moved("hearth_access_batch_seconds_count");
    assert!(
        sample(&after, "hearth_access_batch_events_total")
            >= sample(&after, "hearth_access_batch_seconds_count"),
        "every batch holds at least one event\n{after}"
    );
    assert_eq!(sample(&after, "hearth_access_queue_events"), 0.0, "{after}");
    assert!(
        after.contains("route=\"/v1/me/devices/{id}\""),
        "route template for a path with an id"
    );
    assert!(
        !after.contains("secret-device-id-123"),
        "never the raw path"
    );
    // Right after the code was queued it waited in the outbox (the first retry is
    // 1.5 s away); by now both messages are dead and nothing waits.
    assert!(sample(&queued, "hearth_outbox_backlog") >= 1.0, "{queued}");
    assert_eq!(sample(&before, "hearth_outbox_backlog"), 0.0);
    // Effects are carried out by their requests: none is left past its grace.
    assert_eq!(sample(&after, "hearth_engine_effects_overdue"), 0.0);
    s.stop().await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    let r = c
        .get(s.url("/healthz"))
        .header("x-request-id", "lb-7f3a:42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "lb-7f3a:42");
    for bad in [None, Some("has spaces"), Some("<script>")] {
        let mut req = c.get(s.url("/v1/nothing-here"));
        if let Some(b) = bad {
            req = req.header("x-request-id", b);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let id = r.headers()["x-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 16, "a fresh id for {bad:?}: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    s.stop().await;
}

async fn seen_ip(trusted: &'static str, xff: &str) -> String {
    let s = TestServer::start(|c| c.http.trusted_proxies = vec![trusted.parse().unwrap()]).await;
    let c = Client::new();
    let (st, _) = post(
        &c,
        s.url("/v1/accounts"),
        None,
        xff,
        json!({"email": "owner@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let token = sign_in(&s, &c, "tv-1", "tv", xff).await;
    let list: Value = c
        .get(s.url("/v1/me/devices"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    s.stop().await;
    list[0]["ip"]
        .as_str()
        .unwrap_or_else(|| panic!("{list}"))
        .to_owned()
}

#[tokio::test]
async fn forwarded_for_counts_only_from_a_trusted_proxy() {
    // The test client is 127.0.0.1; it plays a stranger, then a trusted proxy.
    let spoof = "203.0.113.9";
    assert_eq!(
        seen_ip("10.0.0.0/8", spoof).await,
        "127.0.0.1",
        "spoofed header from an untrusted peer is ignored"
    );
    assert_eq!(
        seen_ip("127.0.0.0/8", spoof).await,
        spoof,
        "a trusted proxy's header is used"
    );
    // The client wrote the left part; the right-most untrusted hop is what the proxy saw.
    assert_eq!(
        seen_ip("127.0.0.0/8", "198.51.100.1, 203.0.113.9, 127.0.0.5").await,
        spoof
    );
}

/// Writes `request`, then reads until the server closes (bounded).
async fn exchange(addr: SocketAddr, parts: &[&[u8]], pause: Duration) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        // The server may close early (that is what some tests check).
        let _ = s.write_all(p).await;
    }
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&out).into_owned()
}

fn json_body(resp: &str) -> Value {
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {resp}"))
}

fn tight(c: &mut Config) {
    c.limits.header_timeout_secs = 1;
    c.limits.request_timeout_secs = 1;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_json() {
    let s = TestServer::start(tight).await;
    // Announced too large: refused before reading.
    let head = b"POST /v1/passwords/check HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n";
    let resp = exchange(s.addr, &[head], Duration::ZERO).await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    assert_eq!(
        json_body(&resp)["error"]["code"],
        "payload_too_large",
        "{resp}"
    );
    // Chunked, with no length announced: refused once the limit is crossed.
    let mut req = b"POST /v1/passwords/check HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let chunk = vec![b' '; 70_000];
    req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
    req.extend_from_slice(&chunk);
    req.extend_from_slice(b"\r\n0\r\n\r\n");
    let resp = exchange(s.addr, &[&req], Duration::ZERO).await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    assert!(json_body(&resp)["error"]["message"].is_string(), "{resp}");
    s.stop().await;
}

#[tokio::test]
async fn oversized_heads_are_refused_431() {
    let s = TestServer::start(tight).await;
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let resp = exchange(s.addr, &[big.as_bytes()], Duration::ZERO).await;
    assert!(resp.starts_with("HTTP/1.1 431"), "{resp}");
    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: t\r\n");
    for i in 0..120 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let resp = exchange(s.addr, &[many.as_bytes()], Duration::ZERO).await;
    assert!(resp.starts_with("HTTP/1.1 431"), "{resp}");
    // Within the limits the same server answers.
    let ok = exchange(
        s.addr,
        &[b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"],
        Duration::ZERO,
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    s.stop().await;
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let s = TestServer::start(tight).await;
    // Slow-loris: a head that never ends. The connection is closed, unanswered.
    let resp = exchange(
        s.addr,
        &[b"GET /healthz HTTP/1.1\r\nHost: t\r\n", b"X-A: 1\r\n"],
        Duration::from_millis(300),
    )
    .await;
    assert!(resp.is_empty(), "closed without an answer: {resp}");
    // A connection that never sends anything, and one kept alive after its answer,
    // are closed by the same timer.
    assert!(exchange(s.addr, &[], Duration::ZERO).await.is_empty());
    let resp = exchange(
        s.addr,
        &[b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"],
        Duration::ZERO,
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    // A body that stops coming: 408 in JSON, and the connection is closed.
    let head = b"POST /v1/passwords/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"password\":";
    let resp = exchange(s.addr, &[head], Duration::ZERO).await;
    assert!(resp.starts_with("HTTP/1.1 408"), "{resp}");
    assert!(
        resp.to_ascii_lowercase().contains("connection: close"),
        "{resp}"
    );
    assert!(json_body(&resp)["error"]["code"].is_string(), "{resp}");
    s.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let s = TestServer::start(|c| {
        c.limits.max_connections = 2;
        c.limits.header_timeout_secs = 60;
    })
    .await;
    let idle1 = TcpStream::connect(s.addr).await.unwrap();
    let _idle2 = TcpStream::connect(s.addr).await.unwrap();
    // The kernel completes the handshake, but Hearth does not take the connection...
    let mut third = TcpStream::connect(s.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "answered while two connections held both slots"
    );
    // ...until a slot frees up.
    drop(idle1);
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), third.read_to_end(&mut out))
        .await
        .expect("served once a slot was free")
        .unwrap();
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
    s.stop().await;
}
