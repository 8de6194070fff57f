//! A code accepted by the service before the process is killed (SIGKILL) is still
//! delivered once the service comes back: the outbox is in the database, not in memory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_loopback::{digit_runs, start_smtp, text_parts, RcptReply};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Node {
    child: Child,
    url: String,
}

/// Starts `hearth serve` on a free port with e-mail going to `smtp_port`.
fn start(data: &std::path::Path, smtp_port: u16) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("HEARTH_TRUSTED_PROXIES", "127.0.0.1")
        .env("HEARTH_COURIER__EMAIL__KIND", "smtp")
        .env("HEARTH_COURIER__EMAIL__HOST", "127.0.0.1")
        .env("HEARTH_COURIER__EMAIL__PORT", smtp_port.to_string())
        .env("HEARTH_COURIER__EMAIL__SECURITY", "none")
        .env("HEARTH_COURIER__EMAIL__FROM", "no-reply@hearth.test")
        .env("HEARTH_COURIER__EMAIL__TIMEOUT_MS", "2000")
        .env("HEARTH_COURIER__WORKER__POLL_MS", "50")
        .env("HEARTH_COURIER__WORKER__SEND_TIMEOUT_MS", "3000")
        // A send cut short by the kill is claimed again once its lease ends.
        .env("HEARTH_COURIER__WORKER__LEASE_MS", "5000")
        .env("HEARTH_COURIER__RETRY__BASE_MS", "100")
        .env("HEARTH_COURIER__RETRY__CAP_MS", "300")
        .env("HEARTH_COURIER__RETRY__MAX_ATTEMPTS", "1000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("hearth starts");
    let stdout = child.stdout.take().unwrap();
    let mut url = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            url = rest.split_whitespace().next().unwrap().to_owned();
            break;
        }
    }
    assert!(url.starts_with("http://127.0.0.1:"), "no URL printed");
    Node { child, url }
}

#[tokio::test]
async fn a_message_accepted_before_a_kill_is_delivered_after_restart() {
    let data = std::env::temp_dir().join(format!("hearth-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    // Nothing listens on this port yet: the first delivery attempts fail.
    let parked = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = parked.local_addr().unwrap().port();
    drop(parked);

    let mut node = start(&data, dead_port);
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{}/v1/accounts", node.url))
        .json(&json!({"email": "owner@example.com", "password": "Correct-Horse-7-Battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r: Value = c
        .post(format!("{}/v1/sessions", node.url))
        .header("x-forwarded-for", "89.160.20.112")
        .json(&json!({"email": "owner@example.com", "password": "Correct-Horse-7-Battery", "device_id": "phone", "device_type": "mobile"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = r["token"].as_str().unwrap().to_owned();
    let r = c
        .post(format!("{}/v1/device/verification/code", node.url))
        .bearer_auth(&token)
        .json(&json!({"channel": "email"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "the code was accepted for delivery");
    tokio::time::sleep(Duration::from_millis(300)).await;
    node.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    node.child.wait().unwrap();

    let smtp = start_smtp(RcptReply::Accept).await;
    let mut node = start(&data, smtp.port);
    let mut delivered = Vec::new();
    for _ in 0..300 {
        delivered = smtp.mails.lock().unwrap().clone();
        // Two were waiting: the new-device notice and the code.
        if delivered.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&data);
    assert_eq!(delivered.len(), 2, "each delivered once after the restart");
    let with_code: Vec<_> = delivered
        .iter()
        .filter(|m| !digit_runs(&text_parts(&m.data).join("\n"), 6).is_empty())
        .collect();
    assert_eq!(with_code.len(), 1, "the code, once");
    assert_eq!(with_code[0].rcpt_to, vec!["<owner@example.com>".to_owned()]);
}
