//! SIGTERM on the real binary: `/readyz` turns 503, the listener closes, a request in
//! flight still completes, the process exits 0; the courier claims nothing more, so a
//! message accepted before the signal stays pending and is delivered after the next
//! start (once). Logs are JSON, one object per line, with the request id.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_loopback::{digit_runs, start_smtp, text_parts, RcptReply};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Node {
    child: Child,
    url: String,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

fn start(data: &std::path::Path, smtp_port: u16, poll_ms: u32) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(data)
        .env("HEARTH_LOG", "info,hearth_server=debug")
        .env("HEARTH_HTTP__TRUSTED_PROXIES", "127.0.0.0/8")
        .env("HEARTH_SHUTDOWN__READY_DELAY_SECS", "1")
        .env("HEARTH_SHUTDOWN__DRAIN_TIMEOUT_SECS", "20")
        .env("HEARTH_COURIER__EMAIL__KIND", "smtp")
        .env("HEARTH_COURIER__EMAIL__HOST", "127.0.0.1")
        .env("HEARTH_COURIER__EMAIL__PORT", smtp_port.to_string())
        .env("HEARTH_COURIER__EMAIL__SECURITY", "none")
        .env("HEARTH_COURIER__EMAIL__FROM", "no-reply@hearth.test")
        .env("HEARTH_COURIER__WORKER__POLL_MS", poll_ms.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hearth starts");
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err = child.stderr.take().unwrap();
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut url = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            url = rest.split_whitespace().next().unwrap().to_owned();
            break;
        }
    }
    // Keep reading stdout: a closed pipe would fail the "stopped" line at exit.
    std::thread::spawn(move || for _ in lines {});
    assert!(url.starts_with("http://127.0.0.1:"), "no URL printed");
    let addr = url.trim_start_matches("http://").to_owned();
    Node {
        child,
        url,
        addr,
        stderr,
    }
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

async fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..600 {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    panic!("hearth did not exit within 30 s of SIGTERM");
}

#[tokio::test]
async fn sigterm_drains_requests_and_leaves_the_outbox_for_the_next_start() {
    let data = std::env::temp_dir().join(format!("hearth-drain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let smtp = start_smtp(RcptReply::Accept).await;
    // The courier's first round runs at start, then it sleeps ten minutes: what is
    // queued below is still waiting when the signal comes.
    let mut node = start(&data, smtp.port, 600_000);
    let c = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let r = c
        .post(format!("{}/v1/accounts", node.url))
        .header("x-request-id", "req-signup-1")
        .json(&json!({"email": "owner@example.com", "password": "Correct-Horse-7-Battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["x-request-id"], "req-signup-1");
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

    // A request in flight: its head and half its body are in before the signal.
    let body = br#"{"password":"Correct-Horse-7-Battery"}"#;
    let mut inflight = tokio::net::TcpStream::connect(&node.addr).await.unwrap();
    let head = format!(
        "POST /v1/passwords/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    inflight.write_all(head.as_bytes()).await.unwrap();
    inflight.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    sigterm(&node.child);
    // Readiness goes first (the listener stays open for ready_delay_secs)...
    let mut draining = false;
    for _ in 0..100 {
        if let Ok(r) = c.get(format!("{}/readyz", node.url)).send().await {
            if r.status() == 503 {
                let b: Value = r.json().await.unwrap();
                assert_eq!(b["status"], "draining");
                draining = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(draining, "/readyz never answered 503 after SIGTERM");
    // ...then no new connections are accepted...
    let mut refused = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&node.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(refused, "the listener stayed open");
    // ...while the request in flight still completes.
    inflight.write_all(&body[10..]).await.unwrap();
    let mut resp = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), inflight.read_to_end(&mut resp))
        .await
        .expect("the in-flight request was answered")
        .unwrap();
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"accepted\""), "{resp}");

    let status = wait_exit(&mut node.child).await;
    assert!(status.success(), "exit status {status:?}");
    assert!(
        smtp.mails.lock().unwrap().is_empty(),
        "nothing was claimed after the signal"
    );

    // Logs: one JSON object per line; lines written inside a request carry its id.
    let logs = node.stderr.lock().unwrap().clone();
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let mut tagged = 0;
    for l in &lines {
        if l["span"]["name"] == "request" {
            assert!(l["span"]["request_id"].is_string(), "{l}");
            if l["span"]["request_id"] == "req-signup-1" {
                assert_eq!(l["span"]["route"], "/v1/accounts");
                tagged += 1;
            }
        }
    }
    assert!(tagged >= 1, "no log line names the request id:\n{logs}");
    let said = |m: &str| {
        lines.iter().any(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|s| s.contains(m))
        })
    };
    assert!(said("shutting down"), "{logs}");
    assert!(said("requests drained"), "{logs}");
    assert!(said("courier stopped"), "{logs}");

    // Next start: the waiting messages (the new-device notice and the code) go out once.
    let mut node = start(&data, smtp.port, 50);
    for _ in 0..300 {
        if smtp.mails.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&node.child);
    let status = wait_exit(&mut node.child).await;
    assert!(status.success(), "exit status {status:?}");
    let _ = std::fs::remove_dir_all(&data);
    let delivered = smtp.mails.lock().unwrap().clone();
    assert_eq!(delivered.len(), 2, "each delivered once after the restart");
    let with_code = delivered
        .iter()
        .filter(|m| !digit_runs(&text_parts(&m.data).join("\n"), 6).is_empty())
        .count();
    assert_eq!(with_code, 1, "the code, once");
}
