//! PostgreSQL stopped and started again under a write load, with `hearth serve` left
//! running: while the database is away every request is answered promptly with 503
//! and a JSON error carrying Retry-After (never a 500, never a hang), `/readyz` says
//! 503, and once the database is back Hearth serves again by itself, with every write
//! it acknowledged intact.
//!
//! The database is a private cluster made for this test (initdb on a temporary folder,
//! a free port, run as the `postgres` user when the test runs as root), so the shared
//! server on 5432 is never touched.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

/// A PostgreSQL cluster of our own; stopped and removed on drop.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (install the `postgresql` package; .ci/run does)")
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Cluster {
    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn create(root: &Path) -> Cluster {
        let as_postgres = is_root();
        let dir = root.join("pg");
        std::fs::create_dir_all(&dir).unwrap();
        if as_postgres {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(root)
                .status()
                .unwrap();
            assert!(st.success(), "chown to postgres");
        }
        let port = hearth_loopback::closed_port();
        let c = Cluster {
            bin: pg_bin(),
            dir,
            port,
            as_postgres,
        };
        let d = c.dir.to_str().unwrap().to_owned();
        c.run(
            "initdb",
            &[
                "-D",
                &d,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        c.start();
        c
    }

    fn start(&self) {
        let d = self.dir.to_str().unwrap();
        let opts = format!(
            "-p {} -k {d} -c listen_addresses=127.0.0.1 -c fsync=on",
            self.port
        );
        let log = format!("{d}/server.log");
        self.run("pg_ctl", &["-D", d, "-o", &opts, "-l", &log, "-w", "start"]);
    }

    fn stop(&self) {
        let d = self.dir.to_str().unwrap();
        self.run("pg_ctl", &["-D", d, "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let d = self.dir.to_str().unwrap_or_default().to_owned();
        let exe = self.bin.join("pg_ctl");
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let _ = cmd.args(["-D", &d, "-m", "immediate", "stop"]).output();
    }
}

/// What the load saw.
#[derive(Default)]
struct Seen {
    accounts: Vec<String>,
    /// Platform account → devices acknowledged by /v1/access.
    access: Vec<(String, String)>,
    ok: u32,
    unavailable: u32,
    /// Answers that are neither 2xx nor a proper 503 (status and body).
    wrong: Vec<String>,
    /// No answer at all within the client's timeout.
    hung: u32,
    /// The slowest 503 per request kind, in ms.
    slowest_503_ms: std::collections::BTreeMap<&'static str, u128>,
}

async fn record(
    seen: &Mutex<Seen>,
    what: &'static str,
    r: reqwest::Result<reqwest::Response>,
    took: Duration,
) -> bool {
    let Ok(r) = r else {
        seen.lock().unwrap().hung += 1;
        return false;
    };
    let st = r.status();
    let retry_after = r.headers().get("retry-after").is_some();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let mut s = seen.lock().unwrap();
    if st.is_success() {
        s.ok += 1;
        true
    } else if st == StatusCode::SERVICE_UNAVAILABLE
        && body["error"]["code"] == "unavailable"
        && retry_after
    {
        s.unavailable += 1;
        let slowest = s.slowest_503_ms.entry(what).or_default();
        *slowest = (*slowest).max(took.as_millis());
        false
    } else {
        s.wrong.push(format!("{st} {body}"));
        false
    }
}

async fn worker(
    c: Client,
    url: String,
    key: String,
    w: usize,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
) {
    let mut k = 0;
    while !stop.load(Ordering::Relaxed) {
        k += 1;
        let email = format!("r{w}x{k}@restart.test");
        let t = Instant::now();
        let r = c
            .post(format!("{url}/v1/accounts"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await;
        if record(&seen, "sign-up", r, t.elapsed()).await {
            seen.lock().unwrap().accounts.push(email);
        }
        let account = format!("q-{w}-{k}");
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let ts = hearth_core::Timestamp::from_millis(ms).to_string();
        let event = json!({"ts": ts, "account": account, "device": "tv-1", "device_type": "tv", "ip": HOME, "kind": "playback"});
        let t = Instant::now();
        let r = c
            .post(format!("{url}/v1/access"))
            .bearer_auth(&key)
            .json(&event)
            .send()
            .await;
        if record(&seen, "access", r, t.elapsed()).await {
            seen.lock().unwrap().access.push((account, "tv-1".into()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hearth_answers_503_while_postgres_is_down_and_recovers_by_itself() {
    let root = temp_dir("pgrestart");
    let cluster = Cluster::create(&root);
    let smtp = hearth_loopback::start_smtp(hearth_loopback::RcptReply::Accept).await;
    let gw = hearth_loopback::start_gateway(&[]).await;
    let data = root.join("data");
    let mut setup = Setup::new(data.clone(), smtp.port, &gw.base_url);
    setup.database_url = cluster.url();
    let node = start(&setup);
    let admin_password = node.admin_password.clone().unwrap();
    let key = api_key(&data);
    let c = client();

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            tokio::spawn(worker(
                c.clone(),
                node.url.clone(),
                key.clone(),
                w,
                Arc::clone(&seen),
                Arc::clone(&stop),
            ))
        })
        .collect();
    wait_until(Duration::from_secs(20), || {
        std::future::ready((seen.lock().unwrap().ok >= 12).then_some(()))
    })
    .await
    .expect("the load gets going");

    // The database goes away mid-load.
    cluster.stop();
    let down_at = Instant::now();
    let unavailable_before = seen.lock().unwrap().unavailable;
    wait_until(Duration::from_secs(30), || {
        std::future::ready(
            (seen.lock().unwrap().unavailable >= unavailable_before + 4).then_some(()),
        )
    })
    .await
    .expect("requests are answered 503 while the database is down");
    let t = Instant::now();
    let r = c.get(node.url("/readyz")).send().await.unwrap();
    let readyz_ms = t.elapsed().as_millis();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "unavailable", "{body}");
    let during = {
        let s = seen.lock().unwrap();
        (s.unavailable, s.wrong.clone(), s.hung)
    };

    // It comes back; nobody restarts Hearth.
    cluster.start();
    let up_at = Instant::now();
    let ok_before = seen.lock().unwrap().ok;
    wait_until(Duration::from_secs(30), || {
        std::future::ready((seen.lock().unwrap().ok >= ok_before + 8).then_some(()))
    })
    .await
    .expect("writes succeed again without restarting Hearth");
    let recovery_ms = up_at.elapsed().as_millis();
    let r = c.get(node.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "ready again");
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let s = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        s.wrong.is_empty(),
        "only 2xx or 503 unavailable: {:?}",
        s.wrong
    );
    assert_eq!(s.hung, 0, "no request went unanswered");

    // Every acknowledged write is there.
    let mut checks = Vec::new();
    for email in s.accounts.clone() {
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
        assert_eq!(st, Some(StatusCode::CREATED), "{email} signs in");
    }
    let admin = admin_token(&c, &node, &admin_password).await;
    for (account, _) in &s.access {
        let (st, v) = send(
            c.get(node.url(&format!("/v1/admin/accounts/{account}")))
                .bearer_auth(&admin),
        )
        .await
        .unwrap();
        assert_eq!(st, StatusCode::OK, "{account}: {v}");
        assert!(v["devices"].as_u64().unwrap() >= 1, "{account}: {v}");
    }
    eprintln!(
        "postgres restart: {} acknowledged writes ({} accounts, {} access events), all intact; {} answers 503 (+Retry-After) while down ({} by the time of the check, slowest in ms {:?}), 0 other errors, 0 unanswered; /readyz 503 in {readyz_ms} ms; down {:.1} s; writes succeed again {recovery_ms} ms after PostgreSQL is back",
        s.ok,
        s.accounts.len(),
        s.access.len(),
        s.unavailable,
        during.0,
        s.slowest_503_ms,
        (up_at - down_at).as_secs_f64(),
    );
    assert!(during.1.is_empty() && during.2 == 0);
    drop(node);
    drop(cluster);
    let _ = std::fs::remove_dir_all(&root);
}
