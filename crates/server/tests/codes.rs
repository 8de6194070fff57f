//! One-time codes end to end: delivered through a real SMTP server and an SMS
//! gateway on loopback, typed back on the device, and every refusal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::codes::{self, Purpose};
use hearth_core::time::MINUTE;
use hearth_core::{AccountId, Timestamp};
use hearth_loopback::{digit_runs, start_gateway, start_smtp, text_parts, RcptReply};
use hearth_server::config::Config;
use hearth_server::testkit::TestServer;
use hearth_store::CodeRow;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const PASSWORD: &str = "Correct-Horse-7-Battery";
const HOME: &str = "81.2.69.160"; // London in MaxMind's test data
const ABROAD: &str = "89.160.20.112"; // Linköping

struct Dev<'a> {
    s: &'a TestServer,
    c: Client,
    token: String,
    ip: &'static str,
}

impl Dev<'_> {
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .c
            .post(self.s.url(path))
            .bearer_auth(&self.token)
            .header("x-forwarded-for", self.ip)
            .json(&body)
            .send()
            .await
            .unwrap();
        let st = r.status();
        (st, r.json().await.unwrap_or(Value::Null))
    }
}

fn fast_courier(c: &mut Config, email: &str, sms: &str) {
    c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let text = format!("{email}\n{sms}\n[worker]\npoll_ms = 50\nlease_ms = 10000\nsend_timeout_ms = 5000\n[retry]\nbase_ms = 100\ncap_ms = 200\n");
    c.courier = toml::from_str(&text).unwrap();
}

async fn sign_up(s: &TestServer, c: &Client, email: &str, phone: Option<&str>) {
    let r = c
        .post(s.url("/v1/accounts"))
        .json(&json!({"email": email, "password": PASSWORD, "recovery_phone": phone}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
}

async fn device<'a>(
    s: &'a TestServer,
    email: &str,
    id: &str,
    kind: &str,
    ip: &'static str,
) -> Dev<'a> {
    let c = Client::new();
    let r = c
        .post(s.url("/v1/sessions"))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": email, "password": PASSWORD, "device_id": id, "device_type": kind}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    Dev {
        s,
        c,
        token: body["token"].as_str().unwrap().to_owned(),
        ip,
    }
}

/// Waits (bounded) for `n` items to arrive.
async fn wait_for<T: Clone>(items: &std::sync::Mutex<Vec<T>>, n: usize) -> Vec<T> {
    for _ in 0..200 {
        let got = items.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expected {n} deliveries, got {}",
        items.lock().unwrap().len()
    );
}

/// The codes in the dev mailbox, newest first (security notices left out).
fn codes_in(s: &TestServer) -> Vec<hearth_core::outbox::OutboxMessage> {
    s.app
        .dev_mailbox
        .list()
        .into_iter()
        .filter(|m| m.purpose != "notification")
        .collect()
}

fn six_digits(text: &str) -> String {
    digit_runs(text, 6)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no 6-digit code in {text:?}"))
}

#[tokio::test]
async fn an_email_code_through_real_smtp_verifies_the_device() {
    let smtp = start_smtp(RcptReply::Accept).await;
    let email = format!("[email]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"Hearth <no-reply@hearth.test>\"", smtp.port);
    let s = TestServer::start(|c| fast_courier(c, &email, "")).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com", None).await;
    device(&s, "owner@example.com", "tv-1", "tv", HOME).await;
    let phone = device(&s, "owner@example.com", "phone-9", "mobile", ABROAD).await;

    let (st, sent) = phone
        .post("/v1/device/verification/code", json!({"channel": "email"}))
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent["sent_to"], "o•••@example.com");
    // The owner's address also gets new-device notices: find the mail with the code.
    let mails = wait_for(&smtp.mails, 3).await;
    let mail = mails
        .iter()
        .find(|m| !digit_runs(&text_parts(&m.data).join("\n"), 6).is_empty())
        .expect("a mail with a code");
    assert_eq!(mail.rcpt_to, vec!["<owner@example.com>".to_owned()]);
    let body = text_parts(&mail.data).join("\n");
    assert!(!body.contains("http"), "codes carry no links");
    let code = six_digits(&body);

    let (st, decision) = phone
        .post("/v1/device/verification", json!({"code": code}))
        .await;
    assert_eq!(st, StatusCode::OK, "{decision}");
    assert_eq!(decision["decision"], "allow", "{decision}");
    // Still abroad, later: the verified phone watches without being asked again.
    let account = s
        .app
        .store
        .account_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let ts = hearth_server::service::now().plus(MINUTE).to_string();
    let event = json!({"ts": ts, "account": account, "device": "phone-9", "device_type": "mobile", "ip": ABROAD, "kind": "playback"});
    let d: Value = c
        .post(s.url("/v1/access"))
        .bearer_auth(&s.api_key)
        .json(&event)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["decision"], "allow", "{d}");
    let audit = s
        .app
        .store
        .search_audit(&hearth_store::AuditQuery {
            kind: Some("device_verified".into()),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].detail["method"], "email");
    s.stop().await;
}

#[tokio::test]
async fn a_text_code_through_the_sms_gateway_verifies_the_device() {
    let gw = start_gateway(&[]).await;
    let sms = format!("[sms]\nkind = \"twilio\"\nbase_url = \"{}\"\naccount_sid = \"AC123\"\nauth_token = \"tok\"\nfrom = \"+15550100\"", gw.base_url);
    let s = TestServer::start(|c| fast_courier(c, "", &sms)).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com", Some("+351912345678")).await;
    device(&s, "owner@example.com", "tv-1", "tv", HOME).await;
    let laptop = device(&s, "owner@example.com", "laptop-2", "computer", ABROAD).await;
    let (st, sent) = laptop
        .post("/v1/device/verification/code", json!({"channel": "sms"}))
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{sent}");
    assert_eq!(sent["sent_to"], "+351•••••5678");
    let reqs = wait_for(&gw.requests, 1).await;
    assert!(
        reqs[0].path.ends_with("/Accounts/AC123/Messages.json"),
        "{}",
        reqs[0].path
    );
    let form = hearth_loopback::form_decode(&reqs[0].body);
    let to = form.iter().find(|(k, _)| k == "To").unwrap().1.clone();
    assert_eq!(to, "+351912345678");
    let text = form.iter().find(|(k, _)| k == "Body").unwrap().1.clone();
    let (st, decision) = laptop
        .post(
            "/v1/device/verification",
            json!({"code": six_digits(&text)}),
        )
        .await;
    assert_eq!(
        (st, decision["decision"].clone()),
        (StatusCode::OK, json!("allow")),
        "{decision}"
    );
    s.stop().await;
}

#[tokio::test]
async fn wrong_expired_reused_misdirected_and_excess_codes_are_refused() {
    let s = TestServer::start(|c| fast_courier(c, "", "")).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com", None).await;
    device(&s, "owner@example.com", "tv-1", "tv", HOME).await;
    let phone = device(&s, "owner@example.com", "phone-9", "mobile", ABROAD).await;
    let other = device(&s, "owner@example.com", "tablet-3", "tablet", ABROAD).await;

    let dev_code = |s: &TestServer| {
        let mail = codes_in(s)
            .into_iter()
            .next()
            .expect("a code in the dev mailbox");
        six_digits(&mail.body_text)
    };
    phone
        .post("/v1/device/verification/code", json!({"channel": "email"}))
        .await;
    for _ in 0..100 {
        if !codes_in(&s).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let right = dev_code(&s);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };

    // Another device, another purpose: the code does not work there.
    let (st, body) = other
        .post("/v1/device/verification", json!({"code": right}))
        .await;
    assert_eq!(
        (st, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("code_not_found"))
    );
    let (st, _) = phone
        .post("/v1/device/travel-pass", json!({"code": right}))
        .await;
    assert!(st.is_client_error());

    // Five wrong tries, then even the right code is refused.
    for left in (0..5).rev() {
        let (st, body) = phone
            .post("/v1/device/verification", json!({"code": wrong}))
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        if left > 0 {
            assert_eq!(body["error"]["code"], "code_mismatch", "{body}");
        }
    }
    let (st, body) = phone
        .post("/v1/device/verification", json!({"code": right}))
        .await;
    assert_eq!(
        (st, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("code_too_many_attempts"))
    );

    // A used code cannot be used again.
    let (st, _) = phone
        .post("/v1/device/verification/code", json!({"channel": "email"}))
        .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let mut fresh = right.clone();
    for _ in 0..100 {
        fresh = dev_code(&s);
        if codes_in(&s).len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        phone
            .post("/v1/device/verification", json!({"code": fresh}))
            .await
            .0,
        StatusCode::OK
    );
    let (st, body) = phone
        .post("/v1/device/verification", json!({"code": fresh}))
        .await;
    assert_eq!(
        (st, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("code_already_used"))
    );

    // An expired code: issued (by the same function) eleven minutes ago.
    let account = s
        .app
        .store
        .account_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap();
    let then = Timestamp(hearth_server::service::now().0 - 11 * MINUTE);
    let (plain, rec) = codes::issue(
        &mut rand::rngs::OsRng,
        s.app.key.expose(),
        &Default::default(),
        Purpose::DeviceVerification,
        &AccountId(account.id.clone()),
        "tablet-3",
        then,
    );
    s.app
        .store
        .issue_code(&CodeRow {
            id: "old".into(),
            account_id: account.id.clone(),
            purpose: "device_verification".into(),
            subject: "tablet-3".into(),
            hash: rec.hash.to_vec(),
            channel: Some("email".into()),
            created_at: rec.created_at,
            expires_at: rec.expires_at,
            attempts: 0,
            max_attempts: 5,
            used: false,
        })
        .await
        .unwrap();
    let (st, body) = other
        .post("/v1/device/verification", json!({"code": plain}))
        .await;
    assert_eq!(
        (st, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("code_expired"))
    );

    // Two sends so far for this account; three more fit in the hour, the sixth waits.
    for _ in 0..3 {
        assert_eq!(
            other
                .post("/v1/device/verification/code", json!({"channel": "email"}))
                .await
                .0,
            StatusCode::ACCEPTED
        );
    }
    let r = other
        .c
        .post(s.url("/v1/device/verification/code"))
        .bearer_auth(&other.token)
        .json(&json!({"channel": "email"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 3600, "{wait}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_codes");
    // SMS without a recovery phone is refused with the field named.
    let (st, body) = other
        .post("/v1/device/verification/code", json!({"channel": "sms"}))
        .await;
    assert_eq!(
        (st, body["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("channel"))
    );
    s.stop().await;
}

#[tokio::test]
async fn verify_later_is_bounded_then_verification_is_required() {
    let s = TestServer::start(|c| fast_courier(c, "", "")).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com", None).await;
    device(&s, "owner@example.com", "tv-1", "tv", HOME).await;
    let stranger = device(&s, "owner@example.com", "stick-7", "tv", ABROAD).await;
    let key = s.api_key.clone();
    let account = s
        .app
        .store
        .account_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    // The platform reports events with their own times, so the test can move through days.
    let access = |ts: Timestamp, kind: &'static str| {
        let c = c.clone();
        let url = s.url("/v1/access");
        let key = key.clone();
        let account = account.clone();
        async move {
            let r = c
                .post(url)
                .bearer_auth(key)
                .json(&json!({"ts": ts.to_string(), "account": account, "device": "stick-7", "device_type": "tv", "ip": ABROAD, "kind": kind}))
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    let day = 24 * 60 * MINUTE;
    let t0 = hearth_server::service::now();
    let first = access(t0, "playback").await;
    assert_eq!(
        (first["decision"].clone(), first["defer_allowed"].clone()),
        (json!("verify"), json!(true)),
        "{first}"
    );

    // A TV cannot take a travel pass: refused with a stable code and a reason to read.
    let (st, body) = stranger
        .post("/v1/device/travel-pass/code", json!({"channel": "email"}))
        .await;
    assert_eq!(
        (st, body["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("forbidden")),
        "{body}"
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("phones"));

    // The device's own "verify later" button: watching continues for the grace period.
    let (st, d) = stranger
        .post("/v1/device/verification/later", json!({}))
        .await;
    assert_eq!(
        (st, d["decision"].clone()),
        (StatusCode::OK, json!("allow")),
        "{d}"
    );
    assert_eq!(
        access(t0.plus(MINUTE), "playback").await["decision"],
        "allow",
        "within the grace period"
    );
    assert_eq!(
        access(t0.plus(6 * day), "playback").await["decision"],
        "allow",
        "still within 7 days"
    );

    // Past the 7-day grace the device must verify again; one deferral is left.
    let t1 = t0.plus(8 * day);
    let later = access(t1, "playback").await;
    assert_eq!(
        (later["decision"].clone(), later["defer_allowed"].clone()),
        (json!("verify"), json!(true)),
        "{later}"
    );
    assert_eq!(
        access(t1.plus(MINUTE), "verify_later").await["decision"],
        "allow",
        "second deferral"
    );
    assert_eq!(
        access(t1.plus(2 * MINUTE), "playback").await["decision"],
        "allow"
    );
    // Asking again does not stretch the grace.
    access(t1.plus(3 * MINUTE), "verify_later").await;

    // Both deferrals used: verification is required and no more deferring is offered.
    let t2 = t1.plus(7 * day + 5 * MINUTE);
    let after = access(t2, "playback").await;
    assert_eq!(
        (after["decision"].clone(), after["defer_allowed"].clone()),
        (json!("verify"), json!(false)),
        "{after}"
    );
    let refused = access(t2.plus(MINUTE), "verify_later").await;
    assert_ne!(refused["decision"], "allow", "{refused}");
    s.stop().await;
}

#[tokio::test]
async fn a_sign_in_code_replaces_the_password_once() {
    let s = TestServer::start(|c| fast_courier(c, "", "")).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com", None).await;
    let owner = device(&s, "owner@example.com", "tv-1", "tv", HOME).await;
    let (st, made) = owner.post("/v1/me/sign-in-codes", json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{made}");
    let code = made["code"].as_str().unwrap().to_owned();
    assert!(
        codes_in(&s).is_empty(),
        "a sign-in code is shown, never sent"
    );

    let signin = |code: String| {
        c.post(s.url("/v1/sessions/code"))
            .header("x-forwarded-for", ABROAD)
            .json(&json!({"email": "owner@example.com", "code": code, "device_id": "grandma-tv", "device_type": "tv"}))
            .send()
    };
    let r = signin(code.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert!(body["token"].as_str().unwrap().starts_with("hs_"));
    assert_eq!(body["decision"]["decision"], "allow", "{body}");
    let r = signin(code).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "single use");
    s.stop().await;
}

#[tokio::test]
async fn a_password_reset_by_code_signs_out_every_device() {
    let s = TestServer::start(|c| fast_courier(c, "", "")).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com", None).await;
    let tv = device(&s, "owner@example.com", "tv-1", "tv", HOME).await;
    for email in ["owner@example.com", "nobody@example.com"] {
        let r = c
            .post(s.url("/v1/password-reset"))
            .json(&json!({"email": email}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"status": "accepted"})
        );
    }
    let mut mails = Vec::new();
    for _ in 0..100 {
        mails = codes_in(&s);
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(mails.len(), 1, "only the real account gets a code");
    let code = six_digits(&mails[0].body_text);
    let complete = |code: &str, pw: &str| {
        c.post(s.url("/v1/password-reset/complete"))
            .json(&json!({"email": "owner@example.com", "code": code, "new_password": pw}))
            .send()
    };
    assert_eq!(
        complete(&code, "password").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A wrong code reads the same for an address with a live code and one without.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut answers = Vec::new();
    for email in ["owner@example.com", "nobody@example.com"] {
        let r = c
            .post(s.url("/v1/password-reset/complete"))
            .json(&json!({"email": email, "code": wrong, "new_password": "Quiet-Lantern-42-Orbit"}))
            .send()
            .await
            .unwrap();
        answers.push((r.status(), r.json::<Value>().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, StatusCode::BAD_REQUEST);
    let r = complete(&code, "Quiet-Lantern-42-Orbit").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["devices_signed_out"], 1);
    assert_eq!(
        tv.c.get(s.url("/v1/me"))
            .bearer_auth(&tv.token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // The owner is told, without a code and without a link.
    let mut notices = Vec::new();
    for _ in 0..100 {
        notices = s
            .app
            .dev_mailbox
            .list()
            .into_iter()
            .filter(|m| m.purpose == "notification" && m.body_text.to_lowercase().contains("reset"))
            .collect::<Vec<_>>();
        if !notices.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(notices.len(), 1, "one password-reset notice");
    assert!(
        digit_runs(&notices[0].body_text, 6).is_empty() && !notices[0].body_text.contains("http")
    );
    s.stop().await;
}
