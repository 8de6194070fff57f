//! Two nodes over one database behave as one service: a code sent through one
//! verifies on the other, send limits and sign-in lockouts hold across both, and
//! concurrent events for one account reaching both nodes lose no update. Run once
//! with the counters in the database and once with them in Redis (one key prefix
//! per test). The database is a PostgreSQL schema when `HEARTH_TEST_DATABASE_URL`
//! is set, one SQLite file otherwise. Also here: what a node does when Redis is
//! down (fails closed), and the retention pass every node runs in the background.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_loopback::{digit_runs, start_smtp, text_parts, RcptReply, SmtpServer};
use hearth_server::config::Config;
use hearth_server::testkit::TestServer;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const PASSWORD: &str = "Correct-Horse-7-Battery";
const HOME: &str = "81.2.69.160"; // London in MaxMind's test data
const ABROAD: &str = "89.160.20.112"; // Linköping
const EVENTS_PER_NODE: usize = 100;
/// Requests in flight per node during the concurrency check, as a platform's
/// connection pool would keep them.
const IN_FLIGHT: usize = 8;

fn configure(c: &mut Config, smtp_port: u16, redis_prefix: Option<&str>) {
    c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let text = format!(
        "[email]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\nfrom = \"Hearth <no-reply@hearth.test>\"\n\
         [worker]\npoll_ms = 50\nlease_ms = 10000\nsend_timeout_ms = 5000\n[retry]\nbase_ms = 100\ncap_ms = 200\n"
    );
    c.courier = toml::from_str(&text).unwrap();
    // Room for every device of the concurrency check, so the count shows each event.
    c.engine.max_devices = 4 * EVENTS_PER_NODE;
    // Two nodes on one SQLite file write every state through (each takes the
    // database's lock shared), as on PostgreSQL; an owner would refuse the other.
    c.access.write_back_ms = 0;
    if let Some(prefix) = redis_prefix {
        c.redis.url = "redis://127.0.0.1:6379".into();
        c.redis.key_prefix = prefix.into();
    }
}

async fn post(
    c: &Client,
    s: &TestServer,
    path: &str,
    token: Option<&str>,
    ip: &str,
    body: Value,
) -> reqwest::Response {
    let mut r = c
        .post(s.url(path))
        .header("x-forwarded-for", ip)
        .json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

async fn sign_in(
    c: &Client,
    s: &TestServer,
    email: &str,
    device: &str,
    kind: &str,
    ip: &str,
) -> String {
    let r = post(
        c,
        s,
        "/v1/sessions",
        None,
        ip,
        json!({"email": email, "password": PASSWORD, "device_id": device, "device_type": kind}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The newest code mailed to `rcpt` through the loopback SMTP server (bounded wait).
async fn mailed_code(smtp: &SmtpServer, rcpt: &str, seen: usize) -> String {
    for _ in 0..200 {
        let codes: Vec<String> = smtp
            .mails
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.contains(rcpt)))
            .filter_map(|m| {
                digit_runs(&text_parts(&m.data).join("\n"), 6)
                    .into_iter()
                    .next()
            })
            .collect();
        if codes.len() > seen {
            return codes[codes.len() - 1].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no code mailed to {rcpt}");
}

async fn two_nodes(redis_prefix: Option<&str>) -> (TestServer, TestServer, SmtpServer) {
    let smtp = start_smtp(RcptReply::Accept).await;
    let a = TestServer::start(|c| configure(c, smtp.port, redis_prefix)).await;
    let b = a.start_peer(|_| {}).await;
    assert_ne!(a.addr, b.addr);
    (a, b, smtp)
}

async fn behave_as_one(a: &TestServer, b: &TestServer, smtp: &SmtpServer) {
    let c = Client::new();
    let r = post(
        &c,
        a,
        "/v1/accounts",
        None,
        HOME,
        json!({"email": "owner@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    sign_in(&c, a, "owner@example.com", "tv-1", "tv", HOME).await;

    // A code sent by node A (through real SMTP) verifies the device on node B.
    let phone = sign_in(&c, b, "owner@example.com", "phone-1", "mobile", ABROAD).await;
    let r = post(
        &c,
        a,
        "/v1/device/verification/code",
        Some(&phone),
        ABROAD,
        json!({"channel": "email"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let code = mailed_code(smtp, "owner@example.com", 0).await;
    let r = post(
        &c,
        b,
        "/v1/device/verification",
        Some(&phone),
        ABROAD,
        json!({"code": code}),
    )
    .await;
    let st = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["decision"], "allow", "{body}");

    // Send limits count every node's sends: one so far, four more alternate between
    // the nodes, and the sixth waits on either node.
    let tablet = sign_in(&c, a, "owner@example.com", "tablet-2", "tablet", ABROAD).await;
    for i in 0..4 {
        let node = if i % 2 == 0 { b } else { a };
        let r = post(
            &c,
            node,
            "/v1/device/verification/code",
            Some(&tablet),
            ABROAD,
            json!({"channel": "email"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED, "send {}", i + 2);
    }
    for node in [a, b] {
        let r = post(
            &c,
            node,
            "/v1/device/verification/code",
            Some(&tablet),
            ABROAD,
            json!({"channel": "email"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait > 0 && wait <= 3600, "{wait}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"]["code"],
            "too_many_codes"
        );
    }

    // A lockout started on node A holds on node B, even for the right password.
    let r = post(
        &c,
        b,
        "/v1/accounts",
        None,
        HOME,
        json!({"email": "target@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    for i in 0..5 {
        assert_eq!(
            attempt(&c, a, "Wrong-Guess-1!").await.status(),
            StatusCode::UNAUTHORIZED,
            "failure {i}"
        );
    }
    let r = attempt(&c, b, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["reasons"][0],
        "account_locked"
    );
}

async fn attempt(c: &Client, node: &TestServer, password: &str) -> reqwest::Response {
    let body = json!({"email": "target@example.com", "password": password, "device_id": "attacker", "device_type": "tv"});
    post(c, node, "/v1/sessions", None, "198.51.100.9", body).await
}

/// Sends one event, retrying while the service says so (503, as a platform would).
async fn send_event(c: Client, url: String, key: String, event: Value) -> Value {
    for _ in 0..400 {
        let r = c
            .post(&url)
            .bearer_auth(&key)
            .json(&event)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::SERVICE_UNAVAILABLE {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        assert_eq!(r.status(), StatusCode::OK);
        return r.json().await.unwrap();
    }
    panic!("event never accepted: {event}");
}

/// Events for one account reach both nodes at once; every acknowledged event shows
/// in the stored state (each brought a new device).
async fn no_lost_update(a: &TestServer, b: &TestServer) {
    let c = Client::new();
    let account = "acct-multinode";
    let base = hearth_server::service::now();
    let mut tasks = tokio::task::JoinSet::new();
    let (slots_a, slots_b) = (
        std::sync::Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT)),
        std::sync::Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT)),
    );
    for i in 0..2 * EVENTS_PER_NODE {
        let (node, slots) = if i % 2 == 0 {
            (a, &slots_a)
        } else {
            (b, &slots_b)
        };
        let slot = slots.clone();
        let ts = base.plus(i as i64 * 1_000).to_string();
        let event = json!({"ts": ts, "account": account, "device": format!("dev-{i}"), "device_type": "mobile", "ip": HOME, "kind": "playback"});
        let send = send_event(
            c.clone(),
            node.url("/v1/access"),
            node.api_key.clone(),
            event,
        );
        tasks.spawn(async move {
            let _slot = slot.acquire_owned().await.unwrap();
            send.await
        });
    }
    let mut acknowledged = 0;
    while let Some(done) = tasks.join_next().await {
        assert!(done.unwrap()["decision"].is_string());
        acknowledged += 1;
    }
    assert_eq!(acknowledged, 2 * EVENTS_PER_NODE);

    let mut devices = 0;
    for _ in 0..100 {
        let state = a.app.store.engine_state(account).await.unwrap();
        let doc: Value = state
            .map(|s| serde_json::from_str(&s.state).unwrap())
            .unwrap_or(Value::Null);
        devices = doc["d"].as_array().map_or(0, Vec::len);
        if devices == 2 * EVENTS_PER_NODE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        devices,
        2 * EVENTS_PER_NODE,
        "every event's device is in the state"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_database_counters() {
    let (a, b, smtp) = two_nodes(None).await;
    assert_eq!(a.app.counters.backend(), "database");
    behave_as_one(&a, &b, &smtp).await;
    no_lost_update(&a, &b).await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_redis_counters() {
    let prefix = format!(
        "hearth-test:{}:{}:",
        std::process::id(),
        hearth_server::service::random_hex(4)
    );
    let (a, b, smtp) = two_nodes(Some(&prefix)).await;
    assert_eq!(b.app.counters.backend(), "redis");
    behave_as_one(&a, &b, &smtp).await;
    // The counters really are in Redis, under this test's prefix.
    let c = a.app.counters.counter("ip:198.51.100.9").await.unwrap();
    assert_eq!(c.count, 5);
    assert_eq!(
        a.app.store.counter("ip:198.51.100.9").await.unwrap().count,
        0
    );
    no_lost_update(&a, &b).await;
    b.stop().await;
    a.stop().await;
    drop_keys(&prefix).await;
}

/// Removes this test's keys from the shared Redis.
async fn drop_keys(prefix: &str) {
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "the counters were in Redis");
    let _: i64 = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut c)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unreachable_redis_fails_closed_with_503() {
    let s = TestServer::start(|c| {
        // Nothing listens on port 1: every counter call fails.
        c.redis.url = "redis://127.0.0.1:1".into();
        c.redis.timeout_ms = 500;
    })
    .await;
    let c = Client::new();
    let r = post(
        &c,
        &s,
        "/v1/accounts",
        None,
        HOME,
        json!({"email": "owner@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "sign-up needs no counter");
    // A sign-in cannot be throttled, so it is refused rather than let through unthrottled.
    for password in [PASSWORD, "Wrong-Guess-1!"] {
        let body = json!({"email": "owner@example.com", "password": password, "device_id": "tv-1", "device_type": "tv"});
        let r = post(&c, &s, "/v1/sessions", None, HOME, body).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().get("retry-after").is_some());
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
    }
    // And the node says it is not ready, so a load balancer sends sign-ins elsewhere.
    let r = c.get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "counters_unavailable", "{body}");
    s.stop().await;
}

#[tokio::test]
async fn a_serving_node_truncates_old_addresses_on_its_interval() {
    let s = TestServer::start(|c| c.retention.interval_secs = 1).await;
    let store = &s.app.store;
    let now = hearth_server::service::now();
    store
        .create_account(&hearth_store::NewAccount {
            id: "a1".into(),
            email: "owner@example.com".into(),
            password_hash: "$argon2id$stub".into(),
            recovery_phone: None,
            locale: "en".into(),
            role: hearth_store::Role::Member,
            created_at: now,
        })
        .await
        .unwrap();
    for (id, ip, days) in [("old", "203.0.113.7", 29), ("new", "198.51.100.4", 27)] {
        store
            .create_session(&hearth_store::NewSession {
                id: id.into(),
                account_id: "a1".into(),
                token_hash: id.as_bytes().to_vec(),
                device_id: id.into(),
                device_type: "tv".into(),
                name: id.into(),
                ip: ip.into(),
                user_agent: None,
                location: None,
                device_key_hash: None,
                audit: None,
                now: now.plus(-days * 86_400_000),
            })
            .await
            .unwrap();
    }
    // Two days go by: the first session's address is now 31 days old, the other's 29.
    s.app.clock.advance(2 * 86_400_000);
    let ip = |id: &'static str| async move { store.session("a1", id).await.unwrap().unwrap().ip };
    let mut old = String::new();
    for _ in 0..100 {
        old = ip("old").await;
        if old != "203.0.113.7" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(old, "203.0.113.0", "kept 30 days, then truncated to /24");
    assert_eq!(ip("new").await, "198.51.100.4");
    s.stop().await;
}
