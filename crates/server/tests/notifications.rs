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
