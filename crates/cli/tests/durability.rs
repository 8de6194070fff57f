//! kill -9 under a write load: every write the service acknowledged (a 2xx answer) is
//! there after a restart on the same data, and every message in the outbox is delivered
//! to the loopback SMTP server or SMS gateway, at least once.
//!
//! Delivery is at least once, not exactly once: a kill that falls between a send and
//! its `sent` record sends the message again once its lease ends. Each outbox row
//! carries the same `Message-ID` (e-mail) and `Idempotency-Key` (text) on every send,
//! so a receiver can drop the repeat; the test counts repeats and asserts that none was
//! lost. The backend is SQLite in the data folder, or a fresh PostgreSQL schema when
//! `HEARTH_TEST_DATABASE_URL` is set (CI's PostgreSQL pass).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use hearth_core::outbox::{OutboxChannel, OutboxStatus};
use hearth_loopback::{start_gateway, start_smtp, text_parts, Gateway, RcptReply, SmtpServer};
use reqwest::{Client, StatusCode};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

const WORKERS: usize = 6;

/// What the service acknowledged before the kill.
#[derive(Default)]
struct Acked {
    accounts: Vec<String>,
    /// Signed in and never signed out: must still work.
    live: Vec<String>,
    /// Signed out (204): must stay signed out.
    revoked: Vec<String>,
    /// Code requests answered 202: (channel, recipient).
    codes: Vec<(&'static str, String)>,
    /// Devices whose code was accepted (200): (session token, device id).
    verified: Vec<(String, String)>,
    /// Access events answered 200: platform account → its devices.
    access: BTreeMap<String, BTreeSet<String>>,
    /// Requests sent, and those that got no answer (in flight at the kill).
    requests: u32,
    unanswered: u32,
}

struct Load {
    c: Client,
    url: String,
    api_key: String,
    smtp: Arc<SmtpServer>,
    gw: Arc<Gateway>,
    acked: Arc<Mutex<Acked>>,
    /// Set at the kill: nobody waits for a code any more.
    killed: std::sync::atomic::AtomicBool,
}

impl Load {
    fn node(&self) -> Node2 {
        Node2(self.url.clone())
    }

    async fn go(&self, req: reqwest::RequestBuilder) -> Option<(StatusCode, serde_json::Value)> {
        self.acked.lock().unwrap().requests += 1;
        let r = send(req).await;
        if r.is_none() {
            self.acked.lock().unwrap().unanswered += 1;
        }
        r
    }

    /// One member's story, until the server stops answering.
    async fn member(&self, w: usize, k: usize) -> Option<()> {
        let n = self.node();
        let email = format!("m{w}x{k}@load.test");
        let phone = format!("+3519100{w}{k:04}");
        let sms = k % 2 == 1;
        let (st, _) = self
            .go(self
                .c
                .post(n.url("/v1/accounts"))
                .json(&json!({"email": email, "password": PASSWORD, "recovery_phone": phone})))
            .await?;
        assert_eq!(st, StatusCode::ACCEPTED);
        self.acked.lock().unwrap().accounts.push(email.clone());

        let tv = self.sign_in(&email, "tv-1", "tv", HOME).await?;
        let phone_token = self.sign_in(&email, "phone-1", "mobile", ABROAD).await?;

        let channel = if sms { "sms" } else { "email" };
        let (st, v) = self
            .go(self
                .c
                .post(n.url("/v1/device/verification/code"))
                .bearer_auth(&phone_token)
                .header("x-forwarded-for", ABROAD)
                .json(&json!({"channel": channel})))
            .await?;
        assert_eq!(st, StatusCode::ACCEPTED, "{v}");
        let to = if sms { phone.clone() } else { email.clone() };
        self.acked.lock().unwrap().codes.push((channel, to.clone()));
        let code = self.code_for(sms, &to).await?;
        let (st, v) = self
            .go(self
                .c
                .post(n.url("/v1/device/verification"))
                .bearer_auth(&phone_token)
                .header("x-forwarded-for", ABROAD)
                .json(&json!({"code": code})))
            .await?;
        assert_eq!(st, StatusCode::OK, "{v}");
        self.acked
            .lock()
            .unwrap()
            .verified
            .push((phone_token.clone(), "phone-1".into()));

        // From the moment its sign-out is sent the TV is neither surely live nor surely
        // signed out: a kill may fall after the commit and before the answer.
        self.acked.lock().unwrap().live.retain(|t| t != &tv);
        let (st, _) = self
            .go(self
                .c
                .delete(n.url("/v1/sessions/current"))
                .bearer_auth(&tv))
            .await?;
        assert_eq!(st, StatusCode::NO_CONTENT);
        self.acked.lock().unwrap().revoked.push(tv);

        let account = format!("p-{w}-{k}");
        for device in ["d-1", "d-2", "d-3"] {
            let ts = chrono_now();
            let event = json!({"ts": ts, "account": account, "device": device, "device_type": "tv", "ip": HOME, "kind": "playback"});
            let (st, v) = self
                .go(self
                    .c
                    .post(n.url("/v1/access"))
                    .bearer_auth(&self.api_key)
                    .json(&event))
                .await?;
            assert_eq!(st, StatusCode::OK, "{v}");
            self.acked
                .lock()
                .unwrap()
                .access
                .entry(account.clone())
                .or_default()
                .insert(device.to_owned());
        }
        Some(())
    }

    async fn sign_in(&self, email: &str, device: &str, kind: &str, ip: &str) -> Option<String> {
        let n = self.node();
        let (st, v) = self
            .go(
                self.c
                    .post(n.url("/v1/sessions"))
                    .header("x-forwarded-for", ip)
                    .json(&json!({"email": email, "password": PASSWORD, "device_id": device, "device_type": kind})),
            )
            .await?;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let token = v["token"].as_str().unwrap().to_owned();
        self.acked.lock().unwrap().live.push(token.clone());
        Some(token)
    }

    /// The code sent to `to`, read where the owner would read it.
    async fn code_for(&self, sms: bool, to: &str) -> Option<String> {
        let to = to.to_owned();
        wait_until(Duration::from_secs(8), || {
            if self.killed.load(std::sync::atomic::Ordering::Relaxed) {
                return std::future::ready(Some(None));
            }
            let found = if sms {
                self.gw.accepted().iter().find_map(|r| {
                    (form_field(&r.body, "To").as_deref() == Some(&to))
                        .then(|| form_field(&r.body, "Body").and_then(|b| code_in(&b)))
                        .flatten()
                })
            } else {
                let rcpt = format!("<{to}>");
                self.smtp.mails.lock().unwrap().iter().find_map(|m| {
                    (m.rcpt_to.contains(&rcpt))
                        .then(|| code_in(&text_parts(&m.data).join("\n")))
                        .flatten()
                })
            };
            std::future::ready(found.map(Some))
        })
        .await
        .flatten()
    }
}

/// Only the URL, so the workers do not hold the child process.
struct Node2(String);

impl Node2 {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

fn chrono_now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    hearth_core::Timestamp::from_millis(ms).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_and_accepted_messages_survive_kill_9() {
    let smtp = Arc::new(start_smtp(RcptReply::Accept).await);
    let gw = Arc::new(start_gateway(&[]).await);
    let dir = temp_dir("kill9");
    let data = dir.join("data");
    let mut setup = Setup::new(data.clone(), smtp.port, &gw.base_url);
    let pg = match hearth_store::testkit::backend_url() {
        Some(_) => Some(hearth_store::testkit::test_db().await.unwrap()),
        None => None,
    };
    let store_url = match &pg {
        Some(db) => {
            setup.database_url = db.url.clone();
            db.url.clone()
        }
        None => format!("sqlite://{}", data.join("hearth.db").display()),
    };

    let node = start(&setup);
    let admin_password = node.admin_password.clone().expect("first start prints it");
    let load = Arc::new(Load {
        c: client(),
        url: node.url.clone(),
        api_key: api_key(&data),
        smtp: Arc::clone(&smtp),
        gw: Arc::clone(&gw),
        acked: Arc::new(Mutex::new(Acked::default())),
        killed: std::sync::atomic::AtomicBool::new(false),
    });
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let load = Arc::clone(&load);
        workers.push(tokio::spawn(async move {
            for k in 0..40 {
                if load.member(w, k).await.is_none() {
                    break;
                }
            }
        }));
    }
    // Kill in the middle of the load: at least a few members through, then a bit more.
    let started = Instant::now();
    wait_until(Duration::from_secs(20), || {
        let a = load.acked.lock().unwrap();
        std::future::ready((a.revoked.len() >= WORKERS * 2).then_some(()))
    })
    .await
    .unwrap_or_else(|| {
        let a = load.acked.lock().unwrap();
        panic!(
            "the load did not get going: {} accounts, {} codes, {} verified, {} revoked, {} requests",
            a.accounts.len(),
            a.codes.len(),
            a.verified.len(),
            a.revoked.len(),
            a.requests
        )
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let load_secs = started.elapsed().as_secs_f64();
    node.kill();
    load.killed
        .store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let delivered_before_restart = smtp.mails.lock().unwrap().len() + gw.accepted().len();

    let node = start(&setup);
    let restarted = Instant::now();
    let c = client();
    let a = std::mem::take(&mut *load.acked.lock().unwrap());

    // Every acknowledged account signs in (a new device, from home).
    let mut checks = Vec::new();
    for email in a.accounts.clone() {
        let c = c.clone();
        let url = node.url.clone();
        checks.push(tokio::spawn(async move {
            let r = send(c.post(format!("{url}/v1/sessions")).header("x-forwarded-for", HOME).json(
                &json!({"email": email, "password": PASSWORD, "device_id": "after", "device_type": "computer"}),
            ))
            .await;
            (email, r.map(|(s, _)| s))
        }));
    }
    for check in checks {
        let (email, st) = check.await.unwrap();
        assert_eq!(
            st,
            Some(StatusCode::CREATED),
            "{email} signs in after the restart"
        );
    }
    for token in &a.revoked {
        let (st, _) = send(c.get(node.url("/v1/me")).bearer_auth(token))
            .await
            .unwrap();
        assert_eq!(
            st,
            StatusCode::UNAUTHORIZED,
            "a signed-out device stays signed out"
        );
    }
    for token in &a.live {
        let (st, _) = send(c.get(node.url("/v1/me")).bearer_auth(token))
            .await
            .unwrap();
        assert_eq!(st, StatusCode::OK, "a signed-in device stays signed in");
    }
    for (token, device) in &a.verified {
        let (st, v) = send(c.get(node.url("/v1/me/devices")).bearer_auth(token))
            .await
            .unwrap();
        assert_eq!(st, StatusCode::OK);
        let d = v
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["device_id"] == device.as_str());
        assert_eq!(d.unwrap()["standing"], "verified", "{v}");
    }
    // Access events: the engine's state holds every acknowledged device.
    let admin = admin_token(&c, &node, &admin_password).await;
    for (account, devices) in &a.access {
        let (st, v) = send(
            c.get(node.url(&format!("/v1/admin/accounts/{account}")))
                .bearer_auth(&admin),
        )
        .await
        .unwrap();
        assert_eq!(st, StatusCode::OK, "{account}: {v}");
        assert!(
            v["devices"].as_u64().unwrap() >= devices.len() as u64,
            "{account} has its {} acknowledged devices: {v}",
            devices.len()
        );
    }

    // The outbox drains after the restart: nothing left pending, nothing dead.
    let store = hearth_store::open(&store_url).await.unwrap();
    let rows = wait_until(Duration::from_secs(15), || {
        let store = store.clone();
        async move {
            let rows = store.outbox_list(100_000).await.ok()?;
            rows.iter()
                .all(|m| m.status == OutboxStatus::Sent)
                .then_some(rows)
        }
    })
    .await
    .expect("every outbox message is sent after the restart");
    let drained_secs = restarted.elapsed().as_secs_f64();

    // Each row reached its peer at least once, recognisable by its stable ID.
    let mut deliveries: BTreeMap<String, usize> = BTreeMap::new();
    for m in smtp.mails.lock().unwrap().iter() {
        *deliveries
            .entry(m.message_id().expect("a Message-ID"))
            .or_default() += 1;
    }
    for r in gw.accepted() {
        *deliveries
            .entry(r.idempotency_key.expect("an Idempotency-Key"))
            .or_default() += 1;
    }
    for m in &rows {
        let key = match m.channel {
            OutboxChannel::Email => hearth_courier::message_id(m, "hearth.test"),
            OutboxChannel::Sms => hearth_courier::idempotency_key(m),
        };
        assert!(
            deliveries.contains_key(&key),
            "outbox row {} ({}) was delivered",
            m.id,
            m.purpose
        );
    }
    let total: usize = deliveries.values().sum();
    assert_eq!(
        deliveries.len(),
        rows.len(),
        "no delivery without an outbox row"
    );
    // Each acknowledged code request has its code delivered to the right recipient.
    for (channel, to) in &a.codes {
        let found = rows
            .iter()
            .any(|m| m.purpose != "notification" && m.to == *to && m.channel.as_str() == *channel);
        assert!(
            found,
            "the {channel} code to {to} is in the outbox and was delivered"
        );
    }
    eprintln!(
        "kill -9 ({}): load {load_secs:.1} s, {} requests ({} unanswered at the kill); acknowledged: {} accounts, {} live and {} signed-out sessions, {} verified devices, {} code requests, {} access events; all found after restart. Outbox: {} messages ({} delivered before the kill), {} deliveries after drain, {} duplicates; drained {drained_secs:.1} s after restart",
        if pg.is_some() { "postgres" } else { "sqlite" },
        a.requests,
        a.unanswered,
        a.accounts.len(),
        a.live.len(),
        a.revoked.len(),
        a.verified.len(),
        a.codes.len(),
        a.access.values().map(BTreeSet::len).sum::<usize>(),
        rows.len(),
        delivered_before_restart,
        total,
        total - deliveries.len(),
    );
    drop(node);
    if let Some(db) = pg {
        db.cleanup().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
