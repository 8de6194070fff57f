//! Nothing secret reaches the logs: the whole service (and every library under it)
//! logs at TRACE level into a buffer while an owner signs up, signs in (also with
//! wrong passwords and with the device key), gets codes by e-mail over real SMTP and
//! by text through an SMS gateway, uses them, makes a sign-in code, changes and resets
//! the password, and the platform calls the API with its key. Then no password, code,
//! session token, device key, API key, gateway token or server key may appear in
//! anything logged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_loopback::{digit_runs, start_gateway, start_smtp, RcptReply};
use hearth_server::config::Config;
use hearth_server::testkit::TestServer;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const EMAIL: &str = "secret.keeper@example.com";
const PHONE: &str = "+351912345678";
const GATEWAY_TOKEN: &str = "gw-token-5f1c9d0e7a2b";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn courier(c: &mut Config, smtp_port: u16, gateway: &str) {
    let text = format!(
        "[email]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\nfrom = \"Hearth <no-reply@hearth.test>\"\n\
         [sms]\nkind = \"twilio\"\nbase_url = \"{gateway}\"\naccount_sid = \"AC123\"\nauth_token = \"{GATEWAY_TOKEN}\"\nfrom = \"+15550100\"\n\
         [worker]\npoll_ms = 50\nlease_ms = 10000\nsend_timeout_ms = 5000\n[retry]\nbase_ms = 100\ncap_ms = 200\n"
    );
    c.courier = toml::from_str(&text).unwrap();
}

struct Owner<'a> {
    s: &'a TestServer,
    c: Client,
    secrets: Vec<String>,
}

impl Owner<'_> {
    async fn call(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut r = self.c.post(self.s.url(path)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        let st = r.status();
        (st, r.json().await.unwrap_or(Value::Null))
    }

    /// Signs in; keeps the token and the device key as secrets.
    async fn sign_in(
        &mut self,
        password: &str,
        device: &str,
        key: Option<&str>,
    ) -> (String, String) {
        let (st, b) = self
            .call(
                "/v1/sessions",
                None,
                json!({"email": EMAIL, "password": password, "device_id": device, "device_type": "mobile", "device_key": key}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
        let (token, key) = (
            b["token"].as_str().unwrap().to_owned(),
            b["device_key"].as_str().unwrap().to_owned(),
        );
        self.secrets.push(token.clone());
        self.secrets.push(key.clone());
        (token, key)
    }
}

/// Waits (bounded) for a delivery with a 6-digit code that is not in `seen`.
async fn next_code(texts: impl Fn() -> Vec<String>, seen: &[String]) -> String {
    for _ in 0..200 {
        for t in texts() {
            for code in digit_runs(&t, 6) {
                if !seen.contains(&code) {
                    return code;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no new code delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs() {
    let logs = Capture::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        // Timestamps carry no secrets, and their microseconds could match a code.
        .without_time()
        .with_writer(move || writer.clone())
        .init();

    let smtp = start_smtp(RcptReply::Accept).await;
    let gw = start_gateway(&[]).await;
    let s = TestServer::start(|c| courier(c, smtp.port, &gw.base_url)).await;
    let mut o = Owner {
        s: &s,
        c: Client::new(),
        secrets: vec![
            s.api_key.clone(),
            GATEWAY_TOKEN.into(),
            hex::encode(s.app.key.expose()),
        ],
    };
    let mail_texts = || smtp.texts();
    let sms_texts = || gw.texts();
    let mut codes: Vec<String> = Vec::new();

    let first = "Lantern-Quiet-42-Orbit!".to_owned();
    o.secrets.push(first.clone());
    let (st, b) = o
        .call(
            "/v1/accounts",
            None,
            json!({"email": EMAIL, "password": first, "recovery_phone": PHONE}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{b}");
    for n in 0..3 {
        let wrong = format!("Wrong-Guess-{n}-Pumpkin!");
        o.secrets.push(wrong.clone());
        let (st, _) = o
            .call(
                "/v1/sessions",
                None,
                json!({"email": EMAIL, "password": wrong}),
            )
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    let (_tv_token, tv_key) = o.sign_in(&first, "tv-1", None).await;
    let (tv_token, _) = o.sign_in(&first, "tv-1", Some(&tv_key)).await;
    let (phone, _) = o.sign_in(&first, "phone-1", None).await;

    // A device code by e-mail, then one by text; both typed back.
    for (channel, texts) in [
        ("email", &mail_texts as &dyn Fn() -> Vec<String>),
        ("sms", &sms_texts),
    ] {
        let (st, b) = o
            .call(
                "/v1/device/verification/code",
                Some(&phone),
                json!({"channel": channel}),
            )
            .await;
        assert_eq!(st, StatusCode::ACCEPTED, "{b}");
        let code = next_code(texts, &codes).await;
        codes.push(code.clone());
        let (st, b) = o
            .call(
                "/v1/device/verification",
                Some(&phone),
                json!({"code": code}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{channel}: {b}");
    }
    // A wrong code is logged as refused, not echoed.
    let (st, _) = o
        .call(
            "/v1/device/verification",
            Some(&phone),
            json!({"code": "000000"}),
        )
        .await;
    assert!(st.is_client_error());

    // A sign-in code for a family member, used once.
    let (st, b) = o
        .call("/v1/me/sign-in-codes", Some(&tv_token), json!({}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let code = b["code"].as_str().unwrap().to_owned();
    codes.push(code.clone());
    let (st, b) = o
        .call(
            "/v1/sessions/code",
            None,
            json!({"email": EMAIL, "code": code, "device_id": "tablet-1", "device_type": "tablet"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    o.secrets.push(b["token"].as_str().unwrap().to_owned());
    o.secrets.push(b["device_key"].as_str().unwrap().to_owned());

    // Password change, then a reset by a code sent by text.
    let second = "Harbour-Velvet-77-Comet!".to_owned();
    o.secrets.push(second.clone());
    let (st, b) = o
        .call(
            "/v1/me/password",
            Some(&tv_token),
            json!({"current_password": first, "new_password": second}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, _) = o
        .call(
            "/v1/password-reset",
            None,
            json!({"email": EMAIL, "channel": "sms"}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let code = next_code(&sms_texts, &codes).await;
    codes.push(code.clone());
    let third = "Meadow-Signal-19-Falcon!".to_owned();
    o.secrets.push(third.clone());
    let (st, b) = o
        .call(
            "/v1/password-reset/complete",
            None,
            json!({"email": EMAIL, "code": code, "new_password": third}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    o.sign_in(&third, "tv-1", None).await;

    // The platform's API key, right and wrong.
    let account = s
        .app
        .store
        .account_by_email(EMAIL)
        .await
        .unwrap()
        .unwrap()
        .id;
    let event = json!({"ts": hearth_server::service::now().to_string(), "account": account, "device": "tv-1", "device_type": "tv", "ip": "81.2.69.160", "kind": "playback"});
    let r =
        o.c.post(s.url("/v1/access"))
            .bearer_auth(&s.api_key)
            .json(&event)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bad_key = "not-the-key-8c1e44a9b7".to_owned();
    o.secrets.push(bad_key.clone());
    let r =
        o.c.post(s.url("/v1/access"))
            .bearer_auth(&bad_key)
            .json(&event)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Let the courier finish the notices, then stop and read everything logged.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let secrets = std::mem::take(&mut o.secrets);
    s.stop().await;
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    if let Ok(path) = std::env::var("HEARTH_LOG_DUMP") {
        std::fs::write(path, &text).unwrap();
    }
    let lines = text.lines().count();
    assert!(lines > 100, "the capture saw only {lines} lines");
    assert_eq!(codes.len(), 4);
    let mut leaks = Vec::new();
    for secret in &secrets {
        if let Some(line) = text.lines().find(|l| l.contains(secret.as_str())) {
            leaks.push(format!("{secret}: {line}"));
        }
    }
    for code in &codes {
        // A code counts as leaked when it stands alone, not inside a longer
        // number or as the fraction of one (a duration such as `1.198495ms`).
        let found = text.match_indices(code.as_str()).find(|(i, _)| {
            let before = text[..*i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_digit() || c == '.');
            let after = text[i + code.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit());
            !before && !after
        });
        if let Some((i, _)) = found {
            let start = text[..i].rfind('\n').map_or(0, |n| n + 1);
            let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
            leaks.push(format!("code {code}: {}", &text[start..end]));
        }
    }
    println!(
        "{lines} log lines at TRACE checked for {} secrets and {} codes",
        secrets.len(),
        codes.len()
    );
    assert!(
        leaks.is_empty(),
        "secrets in the logs:\n{}",
        leaks.join("\n")
    );
}
