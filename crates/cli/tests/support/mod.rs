//! The real `hearth` binary as a child process, for the durability and fault tests:
//! started on a free port with its e-mail and text peers on loopback, killed with
//! SIGKILL or stopped, and started again on the same data.

#![allow(dead_code)]

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "Correct-Horse-7-Battery";
pub const HOME: &str = "81.2.69.160";
pub const ABROAD: &str = "89.160.20.112";

/// How a node is started.
#[derive(Clone)]
pub struct Setup {
    pub data: PathBuf,
    /// Empty: SQLite in the data folder.
    pub database_url: String,
    pub smtp_port: u16,
    pub gateway: String,
    /// Retries: base and cap of the backoff, and the attempts before dead letter.
    pub retry: (u64, u64, u32),
    pub extra_env: Vec<(String, String)>,
}

impl Setup {
    pub fn new(data: PathBuf, smtp_port: u16, gateway: &str) -> Self {
        Setup {
            data,
            database_url: String::new(),
            smtp_port,
            gateway: gateway.to_owned(),
            retry: (100, 300, 1000),
            extra_env: Vec::new(),
        }
    }
}

pub struct Node {
    pub child: Child,
    pub url: String,
    /// The analyst's password, printed at the first start only.
    pub admin_password: Option<String>,
}

/// A fresh folder under the temp dir for one test's data.
pub fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!("hearth-{name}-{}-{nanos}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn command(setup: &Setup) -> Command {
    let (base, cap, attempts) = setup.retry;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&setup.data)
        .env_remove("HEARTH_CONFIG")
        .env_remove("HEARTH_DATABASE_URL")
        .env_remove("HEARTH_TEST_DATABASE_URL")
        .env("HEARTH_LOG", "warn")
        .env("HEARTH_TRUSTED_PROXIES", "127.0.0.1")
        .env("HEARTH_COURIER__EMAIL__KIND", "smtp")
        .env("HEARTH_COURIER__EMAIL__HOST", "127.0.0.1")
        .env("HEARTH_COURIER__EMAIL__PORT", setup.smtp_port.to_string())
        .env("HEARTH_COURIER__EMAIL__SECURITY", "none")
        .env("HEARTH_COURIER__EMAIL__FROM", "no-reply@hearth.test")
        .env("HEARTH_COURIER__EMAIL__TIMEOUT_MS", "2000")
        .env("HEARTH_COURIER__SMS__KIND", "twilio")
        .env("HEARTH_COURIER__SMS__BASE_URL", &setup.gateway)
        .env("HEARTH_COURIER__SMS__ACCOUNT_SID", "AC1")
        .env("HEARTH_COURIER__SMS__AUTH_TOKEN", "tok")
        .env("HEARTH_COURIER__SMS__FROM", "+15550100")
        .env("HEARTH_COURIER__SMS__TIMEOUT_MS", "2000")
        .env("HEARTH_COURIER__WORKER__POLL_MS", "50")
        .env("HEARTH_COURIER__WORKER__SEND_TIMEOUT_MS", "2000")
        // A send cut short by a kill is claimed again once its lease ends.
        .env("HEARTH_COURIER__WORKER__LEASE_MS", "4000")
        .env("HEARTH_COURIER__RETRY__BASE_MS", base.to_string())
        .env("HEARTH_COURIER__RETRY__CAP_MS", cap.to_string())
        .env("HEARTH_COURIER__RETRY__MAX_ATTEMPTS", attempts.to_string());
    if !setup.database_url.is_empty() {
        cmd.arg("--database-url").arg(&setup.database_url);
    }
    for (k, v) in &setup.extra_env {
        cmd.env(k, v);
    }
    cmd
}

/// Starts `hearth serve` and waits for the URL it prints.
pub fn start(setup: &Setup) -> Node {
    // The node's log goes to a file beside its data, read when a test fails.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(setup.data.with_extension("log"))
        .unwrap();
    let mut child = command(setup)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("hearth starts");
    let stdout = child.stdout.take().unwrap();
    let mut url = String::new();
    let mut admin_password = None;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("admin@hearth.local / ").nth(1) {
            admin_password = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(rest) = line.split("listening on ").nth(1) {
            url = rest.split_whitespace().next().unwrap().to_owned();
            break;
        }
    }
    assert!(url.starts_with("http://127.0.0.1:"), "no URL printed");
    // Keep reading so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Node {
        child,
        url,
        admin_password,
    }
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn api_key(data: &Path) -> String {
    std::fs::read_to_string(data.join("api.key"))
        .unwrap()
        .trim()
        .to_owned()
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A request's status and JSON body; `None` when no answer came (the server is gone).
pub async fn send(req: reqwest::RequestBuilder) -> Option<(StatusCode, Value)> {
    let r = req.send().await.ok()?;
    let st = r.status();
    let text = r.text().await.ok()?;
    Some((st, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

pub async fn sign_up(c: &Client, n: &Node, email: &str, phone: Option<&str>) -> Option<StatusCode> {
    let body = json!({"email": email, "password": PASSWORD, "recovery_phone": phone});
    send(c.post(n.url("/v1/accounts")).json(&body))
        .await
        .map(|(s, _)| s)
}

/// Signs a device in from `ip`: the status and the session token.
pub async fn sign_in(
    c: &Client,
    n: &Node,
    email: &str,
    device: &str,
    kind: &str,
    ip: &str,
) -> Option<(StatusCode, Option<String>)> {
    let body =
        json!({"email": email, "password": PASSWORD, "device_id": device, "device_type": kind});
    let (st, v) = send(
        c.post(n.url("/v1/sessions"))
            .header("x-forwarded-for", ip)
            .json(&body),
    )
    .await?;
    Some((st, v["token"].as_str().map(str::to_owned)))
}

/// Signs the first analyst in (with the password `hearth serve` printed at its first
/// start) and returns the session token.
pub async fn admin_token(c: &Client, n: &Node, admin_password: &str) -> String {
    let (st, v) = send(c.post(n.url("/v1/sessions")).json(&json!({
        "email": "admin@hearth.local", "password": admin_password, "device_id": "desk", "device_type": "computer"
    })))
    .await
    .expect("sign-in answered");
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["token"].as_str().expect("a token").to_owned()
}

/// Polls `f` until it returns `Some`, for at most `limit`.
pub async fn wait_until<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A Prometheus sample from `/metrics` (`name{labels}` exactly as written there).
pub async fn metric(c: &Client, n: &Node, series: &str) -> Option<f64> {
    let text = c
        .get(n.url("/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// The six-digit code in a text, if any.
pub fn code_in(text: &str) -> Option<String> {
    hearth_loopback::digit_runs(text, 6).into_iter().next()
}

/// The value of a form field in a gateway request body.
pub fn form_field(body: &str, name: &str) -> Option<String> {
    hearth_loopback::form_decode(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}
