//! The real `hearth serve`, logging at TRACE (`HEARTH_LOG=trace`), through sign-up,
//! failed and good sign-ins, device codes by e-mail (SMTP on loopback) and by text (an
//! SMS gateway on loopback), a password change, a reset by code and platform API
//! calls: no password, code, session token, device key, API key, gateway token or
//! server key may appear on its stdout or stderr. (The first analyst's generated
//! password is printed once on purpose, and is left out.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_loopback::{digit_runs, start_gateway, start_smtp, RcptReply};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const EMAIL: &str = "keeper@example.com";
const GATEWAY_TOKEN: &str = "gw-token-91d2c7e4aa03";

fn collect(from: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            let mut all = into.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
}

async fn next_code(texts: &dyn Fn() -> Vec<String>, seen: &[String]) -> String {
    for _ in 0..300 {
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

#[tokio::test]
async fn hearth_serve_logs_no_secret_at_trace_level() {
    let smtp = start_smtp(RcptReply::Accept).await;
    let gw = start_gateway(&[]).await;
    let data = std::env::temp_dir().join(format!("hearth-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("HEARTH_LOG", "trace")
        .env("HEARTH_COURIER__EMAIL__KIND", "smtp")
        .env("HEARTH_COURIER__EMAIL__HOST", "127.0.0.1")
        .env("HEARTH_COURIER__EMAIL__PORT", smtp.port.to_string())
        .env("HEARTH_COURIER__EMAIL__SECURITY", "none")
        .env("HEARTH_COURIER__EMAIL__FROM", "no-reply@hearth.test")
        .env("HEARTH_COURIER__SMS__KIND", "twilio")
        .env("HEARTH_COURIER__SMS__BASE_URL", &gw.base_url)
        .env("HEARTH_COURIER__SMS__ACCOUNT_SID", "AC123")
        .env("HEARTH_COURIER__SMS__AUTH_TOKEN", GATEWAY_TOKEN)
        // Quoted: the environment layer would read +15550100 as a number.
        .env("HEARTH_COURIER__SMS__FROM", "\"+15550100\"")
        .env("HEARTH_COURIER__WORKER__POLL_MS", "50")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hearth starts");
    let (out, err) = (
        Arc::new(Mutex::new(String::new())),
        Arc::new(Mutex::new(String::new())),
    );
    collect(child.stdout.take().unwrap(), out.clone());
    collect(child.stderr.take().unwrap(), err.clone());
    let mut base = String::new();
    for _ in 0..600 {
        if let Some(rest) = out.lock().unwrap().split("listening on ").nth(1) {
            base = rest.split_whitespace().next().unwrap().to_owned();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "no URL printed: {}",
        out.lock().unwrap()
    );

    let read = |name: &str| {
        std::fs::read_to_string(data.join(name))
            .unwrap()
            .trim()
            .to_owned()
    };
    let api_key = read("api.key");
    let mut secrets = vec![
        api_key.clone(),
        read("secret.key"),
        GATEWAY_TOKEN.to_owned(),
    ];
    let c = Client::new();
    let call = |path: &str, token: Option<&str>, body: Value| {
        let mut r = c.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move {
            let r = r.send().await.unwrap();
            let st = r.status();
            (st, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let mail_texts = || smtp.texts();
    let sms_texts = || gw.texts();
    let mut codes: Vec<String> = Vec::new();

    let first = "Lantern-Quiet-42-Orbit!";
    let (st, b) = call(
        "/v1/accounts",
        None,
        json!({"email": EMAIL, "password": first, "recovery_phone": "+351912345678"}),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{b}");
    secrets.push(first.into());
    for n in 0..2 {
        let wrong = format!("Wrong-Guess-{n}-Pumpkin!");
        let (st, _) = call(
            "/v1/sessions",
            None,
            json!({"email": EMAIL, "password": wrong}),
        )
        .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        secrets.push(wrong);
    }
    let (st, b) = call(
        "/v1/sessions",
        None,
        json!({"email": EMAIL, "password": first, "device_id": "phone-1", "device_type": "mobile"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let token = b["token"].as_str().unwrap().to_owned();
    secrets.push(token.clone());
    secrets.push(b["device_key"].as_str().unwrap().to_owned());

    for (channel, texts) in [
        ("email", &mail_texts as &dyn Fn() -> Vec<String>),
        ("sms", &sms_texts),
    ] {
        let (st, b) = call(
            "/v1/device/verification/code",
            Some(&token),
            json!({"channel": channel}),
        )
        .await;
        assert_eq!(st, StatusCode::ACCEPTED, "{b}");
        let code = next_code(texts, &codes).await;
        codes.push(code.clone());
        let (st, b) = call(
            "/v1/device/verification",
            Some(&token),
            json!({"code": code}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{channel}: {b}");
    }

    let second = "Harbour-Velvet-77-Comet!";
    secrets.push(second.into());
    let (st, b) = call(
        "/v1/me/password",
        Some(&token),
        json!({"current_password": first, "new_password": second}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, _) = call(
        "/v1/password-reset",
        None,
        json!({"email": EMAIL, "channel": "sms"}),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let code = next_code(&sms_texts, &codes).await;
    codes.push(code.clone());
    let third = "Meadow-Signal-19-Falcon!";
    secrets.push(third.into());
    let (st, b) = call(
        "/v1/password-reset/complete",
        None,
        json!({"email": EMAIL, "code": code, "new_password": third}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");

    let ts = hearth_server::service::now().to_string();
    let event = json!({"ts": ts, "account": "acc_unknown", "device": "tv-1", "device_type": "tv", "ip": "81.2.69.160", "kind": "playback"});
    let r = c
        .post(format!("{base}/v1/access"))
        .bearer_auth(&api_key)
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bad = "not-the-api-key-3f9b21c0".to_owned();
    let r = c
        .post(format!("{base}/v1/access"))
        .bearer_auth(&bad)
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    secrets.push(bad);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(100));
    let _ = std::fs::remove_dir_all(&data);

    let stdout = out.lock().unwrap().clone();
    // The first analyst's password is printed once on purpose; drop that line.
    let text = format!(
        "{}\n{}",
        stdout
            .lines()
            .filter(|l| !l.contains("First analyst account"))
            .collect::<Vec<_>>()
            .join("\n"),
        err.lock().unwrap()
    );
    let lines = text.lines().count();
    assert!(lines > 50, "only {lines} lines captured");
    assert_eq!(codes.len(), 3);
    let mut leaks = Vec::new();
    for s in &secrets {
        if let Some(l) = text.lines().find(|l| l.contains(s.as_str())) {
            leaks.push(format!("{s}: {l}"));
        }
    }
    for code in &codes {
        for l in text.lines() {
            if digit_runs(l, 6).contains(code) {
                leaks.push(format!("code {code}: {l}"));
            }
        }
    }
    println!(
        "{lines} lines of stdout/stderr at HEARTH_LOG=trace checked for {} secrets and {} codes",
        secrets.len(),
        codes.len()
    );
    assert!(
        leaks.is_empty(),
        "secrets in the output:\n{}",
        leaks.join("\n")
    );
}
