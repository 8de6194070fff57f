//! Security notices to the owner: delivered through a real SMTP server and the SMS
//! gateway in the owner's language, folded into one digest for a resale burst,
//! switchable except the security ones, and listed in the app.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_loopback::{form_decode, start_gateway, start_smtp, text_parts, RcptReply};
use hearth_server::config::Config;
use hearth_server::testkit::TestServer;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const PASSWORD: &str = "Correct-Horse-7-Battery";

fn courier(c: &mut Config, email: &str, sms: &str) {
    c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let text = format!(
        "{email}\n{sms}\n[worker]\npoll_ms = 50\nlease_ms = 10000\nsend_timeout_ms = 5000\n"
    );
    c.courier = toml::from_str(&text).unwrap();
}

async fn sign_up(s: &TestServer, c: &Client, email: &str, locale: &str, phone: Option<&str>) {
    let body =
        json!({"email": email, "password": PASSWORD, "locale": locale, "recovery_phone": phone});
    assert_eq!(
        c.post(s.url("/v1/accounts"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
}

async fn sign_in(
    s: &TestServer,
    c: &Client,
    email: &str,
    device: &str,
    kind: &str,
    ip: &str,
) -> String {
    let r = c
        .post(s.url("/v1/sessions"))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": email, "password": PASSWORD, "device_id": device, "device_type": kind, "device_name": device}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits (bounded) until the outbox is empty.
async fn drained(s: &TestServer) {
    for _ in 0..200 {
        if s.app.store.outbox_backlog().await.unwrap() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox did not drain");
}

#[tokio::test]
async fn a_new_device_away_is_told_by_email_in_french_and_a_password_change_by_text() {
    let smtp = start_smtp(RcptReply::Accept).await;
    let gw = start_gateway(&[]).await;
    let email = format!("[email]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"Hearth <no-reply@hearth.test>\"", smtp.port);
    let sms = format!("[sms]\nkind = \"twilio\"\nbase_url = \"{}\"\naccount_sid = \"AC1\"\nauth_token = \"t\"\nfrom = \"+15550100\"", gw.base_url);
    let s = TestServer::start(|c| courier(c, &email, &sms)).await;
    let c = Client::new();
    sign_up(&s, &c, "marie@example.fr", "fr", Some("+33612345678")).await;
    let tv = sign_in(&s, &c, "marie@example.fr", "tv-salon", "tv", "81.2.69.160").await;
    sign_in(
        &s,
        &c,
        "marie@example.fr",
        "tablette",
        "tablet",
        "89.160.20.112",
    )
    .await;
    drained(&s).await;
    let mails = smtp.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 2, "one notice per new device");
    // The courier sends a batch at once, so the two may arrive in either order.
    let texts: Vec<String> = mails
        .iter()
        .map(|m| text_parts(&m.data).join("\n"))
        .collect();
    let away = texts
        .iter()
        .find(|t| t.contains("tablette"))
        .expect("a notice naming the tablet");
    assert!(away.contains("appareil"), "in French: {away}");
    assert!(!away.contains("http") && !away.contains("www."), "no link");

    // Texts chosen: a password change reaches the recovery phone, in French too.
    let r = c
        .put(s.url("/v1/me/notification-settings"))
        .bearer_auth(&tv)
        .json(&json!({"email": true, "sms": true, "off": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .post(s.url("/v1/me/password"))
        .bearer_auth(&tv)
        .json(&json!({"current_password": PASSWORD, "new_password": "Quiet-Lantern-42-Orbit"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    drained(&s).await;
    let texts = gw.requests.lock().unwrap().clone();
    assert_eq!(texts.len(), 1);
    let form = form_decode(&texts[0].body);
    assert_eq!(
        form.iter().find(|(k, _)| k == "To").unwrap().1,
        "+33612345678"
    );
    let body = &form.iter().find(|(k, _)| k == "Body").unwrap().1;
    assert!(body.contains("mot de passe"), "{body}");
    assert_eq!(smtp.mails.lock().unwrap().len(), 3, "and by e-mail");

    let list: Vec<Value> = c
        .get(s.url("/v1/me/notifications"))
        .bearer_auth(&tv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = list.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["password_changed", "new_device_away", "new_device_home"],
        "newest first"
    );
    assert!(list.iter().all(|n| n["read"] == false));
    let r: Value = c
        .post(s.url("/v1/me/notifications/read"))
        .bearer_auth(&tv)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["marked"], 3);
    s.stop().await;
}

#[tokio::test]
async fn a_resale_burst_of_40_devices_sends_one_digest_not_40_messages() {
    let s = TestServer::start(|c| courier(c, "", "")).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com", "en", None).await;
    let tv = sign_in(&s, &c, "owner@example.com", "tv-1", "tv", "81.2.69.160").await;
    for i in 0..40 {
        sign_in(
            &s,
            &c,
            "owner@example.com",
            &format!("buyer-{i}"),
            "tv",
            "89.160.20.112",
        )
        .await;
    }
    drained(&s).await;
    let sent: Vec<_> = s
        .app
        .dev_mailbox
        .list()
        .into_iter()
        .filter(|m| m.purpose == "notification")
        .collect();
    assert!(sent.len() <= 4, "{} messages for 41 devices", sent.len());
    let list: Vec<Value> = c
        .get(s.url("/v1/me/notifications"))
        .bearer_auth(&tv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let digests: Vec<&Value> = list
        .iter()
        .filter(|n| n["kind"] == "new_devices_digest")
        .collect();
    assert_eq!(digests.len(), 1, "{list:?}");
    assert!(digests[0]["count"].as_u64().unwrap() >= 4);
    assert_eq!(
        list.len(),
        sent.len(),
        "the in-app list shows what was sent"
    );
    s.stop().await;
}

#[tokio::test]
async fn notices_can_be_switched_off_but_security_ones_cannot() {
    let s = TestServer::start(|c| courier(c, "", "")).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com", "en", None).await;
    let tv = sign_in(&s, &c, "owner@example.com", "tv-1", "tv", "81.2.69.160").await;
    let view: Value = c
        .get(s.url("/v1/me/notification-settings"))
        .bearer_auth(&tv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (view["email"].clone(), view["sms"].clone()),
        (json!(true), json!(false))
    );
    assert!(!view["switchable"]
        .as_array()
        .unwrap()
        .contains(&json!("password_changed")));

    let put = |body: Value| {
        c.put(s.url("/v1/me/notification-settings"))
            .bearer_auth(&tv)
            .json(&body)
            .send()
    };
    let r = put(json!({"email": true, "sms": false, "off": ["password_changed"]}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "off");
    assert_eq!(
        put(json!({"email": true, "sms": true, "off": []}))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST,
        "no phone for texts"
    );
    assert_eq!(
        put(json!({"email": true, "sms": false, "off": ["new_device_home", "new_device_away"]}))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    drained(&s).await;
    let before = s.app.dev_mailbox.list().len();
    sign_in(
        &s,
        &c,
        "owner@example.com",
        "phone-2",
        "mobile",
        "89.160.20.112",
    )
    .await;
    let r = c
        .post(s.url("/v1/me/devices/sign-out-all"))
        .bearer_auth(&tv)
        .json(&json!({"keep_current": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    drained(&s).await;
    let new: Vec<_> = s
        .app
        .dev_mailbox
        .list()
        .into_iter()
        .take(s.app.dev_mailbox.len() - before)
        .collect();
    let subjects: Vec<String> = new
        .iter()
        .map(|m| m.subject.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        new.len(),
        1,
        "no new-device notice, but the sign-out-everywhere one: {subjects:?}"
    );
    s.stop().await;
}

/// An account id the events named with no owner is looked up once: no account can get
/// that id later (each is created with a fresh random one), so the answer is kept. An
/// owner's account is never kept as ownerless.
#[tokio::test]
async fn an_account_id_without_an_owner_is_looked_up_once() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    let ghost = "platform-only-7";
    assert!(s.app.owner_of(ghost).await.unwrap().is_none());
    assert!(s.app.ownerless.contains(ghost));
    // Sign-up never gives an account that id; the store can, and is not asked again.
    s.app
        .store
        .create_account(&hearth_store::NewAccount {
            id: ghost.into(),
            email: "ghost@example.com".into(),
            password_hash: "$argon2id$stub".into(),
            recovery_phone: None,
            locale: "en".into(),
            role: hearth_store::Role::Member,
            created_at: wall_clock(),
        })
        .await
        .unwrap();
    assert!(s.app.owner_of(ghost).await.unwrap().is_none());

    sign_up(&s, &c, "owner-once@example.com", "en", None).await;
    let id = s
        .app
        .store
        .account_by_email("owner-once@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(id.starts_with("acc_") && id.len() == 28, "{id}");
    for _ in 0..2 {
        let owner = s.app.owner_of(&id).await.unwrap();
        assert_eq!(owner.map(|a| a.id).as_deref(), Some(id.as_str()));
    }
    assert!(!s.app.ownerless.contains(&id));
    s.stop().await;
}

fn wall_clock() -> hearth_core::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    hearth_core::Timestamp::from_millis(i64::try_from(ms).unwrap())
}

/// `a` and `b` are equal but for one stretch of at most `span` characters (the time
/// a notice names may be a little earlier than the moment it is recorded).
fn same_but_one_span(a: &str, b: &str, span: usize) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.trim().chars().collect(), b.trim().chars().collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let rest = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(rest)
        .take_while(|(x, y)| x == y)
        .count();
    a.len() - prefix - suffix <= span && b.len() - prefix - suffix <= span
}

/// What the owner was sent since the last look: new notices in the in-app list, and the
/// mail and texts that reached the loopback SMTP server and SMS gateway.
struct Owner<'a> {
    s: &'a TestServer,
    smtp: &'a hearth_loopback::SmtpServer,
    gw: &'a hearth_loopback::Gateway,
    locale: hearth_courier::templates::Locale,
    account: String,
    seen: (usize, usize, usize),
}

impl Owner<'_> {
    /// Checks that exactly the notices `kinds` (oldest first) were recorded since the
    /// last call, and that each reached the owner by e-mail and, if `texts`, by SMS, in
    /// the owner's language, word for word as the templates render it.
    async fn told(&mut self, kinds: &[&str], texts: bool) {
        use hearth_courier::templates::{
            render_notice, Branding, DeviceInfo, NoticeContext, Place,
        };
        drained(self.s).await;
        let all = self
            .s
            .app
            .store
            .notifications(
                &self.account,
                hearth_core::Timestamp::from_secs(0),
                true,
                1000,
            )
            .await
            .unwrap();
        let mut new: Vec<_> = all[..all.len() - self.seen.0].to_vec();
        new.reverse();
        let got: Vec<&str> = new.iter().map(|n| n.kind.as_str()).collect();
        assert_eq!(got, kinds, "notices recorded");
        let mails: Vec<String> = self.smtp.mails.lock().unwrap()[self.seen.1..]
            .iter()
            .map(|m| text_parts(&m.data)[0].replace("\r\n", "\n"))
            .filter(|t| hearth_loopback::digit_runs(t, 6).is_empty()) // not a code
            .collect();
        let sms: Vec<String> = self.gw.requests.lock().unwrap()[self.seen.2..]
            .iter()
            .map(|r| {
                form_decode(&r.body)
                    .into_iter()
                    .find(|(k, _)| k == "Body")
                    .unwrap()
                    .1
            })
            .collect();
        assert_eq!(
            mails.len(),
            kinds.len(),
            "one e-mail per notice: {mails:#?}"
        );
        assert_eq!(sms.len(), if texts { kinds.len() } else { 0 }, "{sms:#?}");
        for n in &new {
            let notice = hearth_courier::templates::Notice::ALL
                .into_iter()
                .find(|k| k.as_str() == n.kind)
                .unwrap();
            let place = n.place.as_deref().map(|p| match p.rsplit_once(", ") {
                Some((city, cc)) => Place {
                    city: Some(city.into()),
                    country: Some(cc.into()),
                },
                None => Place {
                    city: None,
                    country: Some(p.into()),
                },
            });
            let device = DeviceInfo {
                name: n.device_name.clone().unwrap_or_default(),
                kind: serde_json::from_value(json!(n.device_type.as_deref().unwrap_or("other")))
                    .unwrap(),
                place,
            };
            let want = render_notice(
                self.locale,
                &Branding::default(),
                &NoticeContext {
                    notice,
                    at: n.at,
                    device,
                    count: n.count,
                },
            );
            assert!(
                mails.iter().any(|m| same_but_one_span(m, &want.text, 40)),
                "{}: no e-mail reads\n{}\namong {mails:#?}",
                n.kind,
                want.text
            );
            assert!(
                !texts || sms.iter().any(|m| same_but_one_span(m, &want.sms, 40)),
                "{}: no text reads\n{}\namong {sms:#?}",
                n.kind,
                want.sms
            );
        }
        self.seen = (
            all.len(),
            self.smtp.mails.lock().unwrap().len(),
            self.gw.requests.lock().unwrap().len(),
        );
    }
}

async fn post(c: &Client, url: String, token: &str, body: Value) -> (StatusCode, Value) {
    let r = c
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// The six-digit code of the first mail after the first `after` that carries one
/// (waits, bounded: a reset code is sent after the answer).
async fn code_after(smtp: &hearth_loopback::SmtpServer, after: usize) -> String {
    for _ in 0..200 {
        let found = smtp.mails.lock().unwrap()[after..].iter().find_map(|m| {
            hearth_loopback::digit_runs(&text_parts(&m.data).join("\n"), 6)
                .into_iter()
                .next()
        });
        if let Some(code) = found {
            return code;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no code arrived");
}

/// Every trigger of issue 9, through the real SMTP server and the SMS gateway.
async fn every_trigger_reaches_the_owner(tag: &str, phone: &str, other_phone: &str) {
    const HOME: &str = "81.2.69.160";
    const AWAY: &str = "89.160.20.112";
    let smtp = start_smtp(RcptReply::Accept).await;
    let gw = start_gateway(&[]).await;
    let email_cfg = format!("[email]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"Hearth <no-reply@hearth.test>\"", smtp.port);
    let sms_cfg = format!("[sms]\nkind = \"twilio\"\nbase_url = \"{}\"\naccount_sid = \"AC1\"\nauth_token = \"t\"\nfrom = \"+15550100\"", gw.base_url);
    let s = TestServer::start(|c| courier(c, &email_cfg, &sms_cfg)).await;
    let c = Client::new();
    let email = format!("owner-{tag}@example.com");
    sign_up(&s, &c, &email, tag, Some(phone)).await;
    let account = s
        .app
        .store
        .account_by_email(&email)
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut owner = Owner {
        s: &s,
        smtp: &smtp,
        gw: &gw,
        locale: hearth_courier::templates::Locale::from_tag(tag),
        account: account.clone(),
        seen: (0, 0, 0),
    };

    // A first device at home; e-mail only until the owner also asks for texts.
    let tv = sign_in(&s, &c, &email, "tv-salon", "tv", HOME).await;
    owner.told(&["new_device_home"], false).await;
    let r = c
        .put(s.url("/v1/me/notification-settings"))
        .bearer_auth(&tv)
        .json(&json!({"email": true, "sms": true, "off": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // A phone away from home: told, then it verifies later, then with a code.
    let phone_token = sign_in(&s, &c, &email, "phone-2", "mobile", AWAY).await;
    owner.told(&["new_device_away"], true).await;
    // Two more at once: the third new device is told, the fourth starts a digest.
    sign_in(&s, &c, &email, "laptop-3", "computer", AWAY).await;
    owner.told(&["new_device_away"], true).await;
    sign_in(&s, &c, &email, "tablet-4", "tablet", AWAY).await;
    owner.told(&["new_devices_digest"], true).await;
    let device = |path: &str| {
        c.post(s.url(path))
            .bearer_auth(&phone_token)
            .header("x-forwarded-for", AWAY)
    };
    let r = device("/v1/device/verification/later")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    owner.told(&["verify_later_used"], true).await;
    let before = smtp.mails.lock().unwrap().len();
    let r = device("/v1/device/verification/code")
        .json(&json!({"channel": "email"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let code = code_after(&smtp, before).await;
    let r = device("/v1/device/verification")
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    owner.told(&["device_verified"], true).await;

    // The platform reports a stranger's stick starting to play: asked to verify.
    let event = json!({"ts": wall_clock().to_string(), "account": account,
        "device": "stick-9", "device_type": "tv", "ip": "175.16.199.1", "kind": "playback"});
    let (st, d) = post(&c, s.url("/v1/access"), &s.api_key, event).await;
    assert_eq!(
        (st, d["decision"].as_str()),
        (StatusCode::OK, Some("verify")),
        "{d}"
    );
    owner.told(&["verification_requested"], true).await;

    // The security notices.
    let r = c
        .put(s.url("/v1/me/recovery-phone"))
        .bearer_auth(&tv)
        .json(&json!({"phone": other_phone}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    owner.told(&["recovery_contact_changed"], true).await;
    let (st, _) = post(
        &c,
        s.url("/v1/me/password"),
        &tv,
        json!({"current_password": PASSWORD, "new_password": "Quiet-Lantern-42-Orbit"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    owner.told(&["password_changed"], true).await;
    let before = smtp.mails.lock().unwrap().len();
    let r = c
        .post(s.url("/v1/password-reset"))
        .json(&json!({"email": email}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let code = code_after(&smtp, before).await;
    let r = c
        .post(s.url("/v1/password-reset/complete"))
        .json(&json!({"email": email, "code": code, "new_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    owner.told(&["password_reset"], true).await;
    let tv = sign_in(&s, &c, &email, "tv-salon", "tv", HOME).await;
    let (st, _) = post(
        &c,
        s.url("/v1/me/devices/sign-out-all"),
        &tv,
        json!({"keep_current": true}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    owner.told(&["all_devices_signed_out"], true).await;

    // Wrong passwords from several addresses: told once, when sign-in pauses.
    for i in 0..8 {
        let r = c
            .post(s.url("/v1/sessions"))
            .header("x-forwarded-for", format!("198.51.100.{}", 10 + i))
            .json(&json!({"email": email, "password": format!("Guess-{i}-nope-1234"), "device_id": format!("bot-{i}"), "device_type": "computer"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    owner.told(&["sign_in_attack"], true).await;

    // The account resold: the platform's events show it shared, then resold.
    let days = 10;
    let today = wall_clock().millis() / hearth_core::time::DAY;
    let opts = hearth_events::simulate::SimOptions {
        accounts: 1,
        days,
        seed: 5,
        start: hearth_core::Timestamp::from_millis(
            (today - i64::from(days)) * hearth_core::time::DAY,
        ),
        mix: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        ..Default::default()
    };
    let (mut events, mut truth) = (Vec::new(), Vec::new());
    hearth_events::simulate::run(&opts, &mut events, &mut truth).unwrap();
    let events = String::from_utf8(events).unwrap();
    for line in events.lines() {
        let mut e: Value = serde_json::from_str(line).unwrap();
        e["account"] = json!(account);
        let (st, d) = post(&c, s.url("/v1/access"), &s.api_key, e).await;
        assert_eq!(st, StatusCode::OK, "{d}");
    }
    owner
        .told(&["classified_shared", "classified_resold"], true)
        .await;
    s.stop().await;
}

#[tokio::test]
async fn every_trigger_reaches_the_owner_by_mail_and_text_in_english() {
    every_trigger_reaches_the_owner("en", "+447700900123", "+447700900456").await;
}

#[tokio::test]
async fn every_trigger_reaches_the_owner_by_mail_and_text_in_spanish() {
    every_trigger_reaches_the_owner("es", "+34612345678", "+34612345679").await;
}
