//! A credential-stuffing run against a real server on loopback, shared by the CI test
//! (`tests/stuffing.rs`, scaled down) and the full measurement
//! (`cargo run -p hearth-server --example stuffing`).
//!
//! Attackers replay a leaked list of (e-mail, password) pairs from many source
//! addresses (client sockets bound to distinct 127.x.y.z addresses, so the server sees
//! distinct peers); a share of the accounts reused their real password, so the list
//! holds it. Meanwhile every owner keeps signing in from their own address: once with
//! the device key their TV got before the attack (the known-device path), once from
//! a device the account has never seen. After the attack the service clock moves past
//! the longest lock and every owner signs in from a new device.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_server::testkit::TestServer;

#[derive(Clone, Debug)]
pub struct Scenario {
    pub attempts: usize,
    pub accounts: usize,
    pub addresses: usize,
    /// Accounts whose real password is in the leaked list (one in `reuse_every`).
    pub reuse_every: usize,
    /// Sign-ins each owner makes during the attack from the known device.
    pub owner_rounds: usize,
    /// Owners' sign-ins are spread at random over this many milliseconds.
    pub owner_spread_ms: u64,
    pub seed: u64,
}

/// What happened, counted from the answers the clients got.
#[derive(Debug, Default)]
pub struct Outcome {
    pub attack_attempts: usize,
    /// Blocked before the password was checked, by reason (`account_locked`, …).
    pub blocked: BTreeMap<String, usize>,
    /// Checked and refused (`401`).
    pub refused: usize,
    /// Attempts that carried an owner's real password, and how many got a session.
    pub correct_tried: usize,
    pub correct_succeeded: usize,
    /// Of those sessions, the engine's decision (`allow`, `verify`, …).
    pub takeover_decisions: BTreeMap<String, usize>,
    /// Anything else (5xx, transport errors), which must stay at zero.
    pub other: BTreeMap<String, usize>,
    pub known_device_signins: usize,
    pub known_device_ok: usize,
    pub new_device_signins: usize,
    pub new_device_ok: usize,
    pub new_device_locked: usize,
    /// After the clock moved past the longest lock: every owner from a new device.
    pub after_lock_signins: usize,
    pub after_lock_ok: usize,
    pub attack_secs: f64,
}

impl Outcome {
    pub fn blocked_total(&self) -> usize {
        self.blocked.values().sum()
    }

    pub fn blocked_share(&self) -> f64 {
        self.blocked_total() as f64 / self.attack_attempts.max(1) as f64
    }

    pub fn known_device_share(&self) -> f64 {
        self.known_device_ok as f64 / self.known_device_signins.max(1) as f64
    }

    pub fn report(&self) -> String {
        let pct = |n: usize, d: usize| 100.0 * n as f64 / d.max(1) as f64;
        let mut out = format!(
            "attack: {} attempts in {:.1} s; blocked before any password check {} ({:.1} %)",
            self.attack_attempts,
            self.attack_secs,
            self.blocked_total(),
            100.0 * self.blocked_share()
        );
        for (why, n) in &self.blocked {
            out += &format!("\n  {why}: {n} ({:.1} %)", pct(*n, self.attack_attempts));
        }
        out += &format!(
            "\n  checked and refused (401): {} ({:.1} %)\n  real passwords in the list: {} tried, {} got a session {:?}\n  other answers: {:?}",
            self.refused,
            pct(self.refused, self.attack_attempts),
            self.correct_tried,
            self.correct_succeeded,
            self.takeover_decisions,
            self.other
        );
        out += &format!(
            "\nowners during the attack: known device {}/{} signed in ({:.1} %); new device {}/{} signed in, {} refused as account_locked\nowners after the longest lock: {}/{} signed in from a new device",
            self.known_device_ok,
            self.known_device_signins,
            100.0 * self.known_device_share(),
            self.new_device_ok,
            self.new_device_signins,
            self.new_device_locked,
            self.after_lock_ok,
            self.after_lock_signins
        );
        out
    }
}

/// The source address of attacker `i`: 127.0.0.10, 127.0.0.11, …
fn attacker_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + (i % 240) as u8))
}

/// The home address of owner `k`: 127.1.x.y, never shared with an attacker.
fn owner_ip(k: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 1, (k / 200) as u8, 1 + (k % 200) as u8))
}

fn client_from(ip: IpAddr) -> Client {
    Client::builder()
        .local_address(ip)
        .pool_max_idle_per_host(1)
        .build()
        .unwrap()
}

struct Owner {
    email: String,
    password: String,
    device_key: String,
    client: Client,
}

async fn sign_in(c: &Client, s: &TestServer, body: Value) -> Result<(StatusCode, Value), String> {
    let r = c
        .post(s.url("/v1/sessions"))
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let st = r.status();
    Ok((st, r.json().await.unwrap_or(Value::Null)))
}

fn block_reason(body: &Value) -> String {
    body["error"]["reasons"][0]
        .as_str()
        .unwrap_or("unknown")
        .to_owned()
}

/// Creates the owners, each signed in once from home (their TV keeps the device key).
async fn owners(s: &TestServer, sc: &Scenario) -> Vec<Owner> {
    let mut out = Vec::new();
    for chunk in (0..sc.accounts).collect::<Vec<_>>().chunks(8) {
        let mut tasks = Vec::new();
        for &k in chunk {
            let url_up = s.url("/v1/accounts");
            let url_in = s.url("/v1/sessions");
            tasks.push(tokio::spawn(async move {
                let client = client_from(owner_ip(k));
                let email = format!("owner{k}@stuffing.test");
                let password = format!("Hearth-{k}-{}-Owl!", hearth_server::service::random_hex(5));
                let r = client
                    .post(url_up)
                    .json(&json!({"email": email, "password": password}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::ACCEPTED, "sign-up {k}");
                let r = client
                    .post(url_in)
                    .json(&json!({"email": email, "password": password,
                                  "device_id": format!("tv-{k}"), "device_type": "tv"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED, "first sign-in {k}");
                let body: Value = r.json().await.unwrap();
                Owner {
                    email,
                    password,
                    device_key: body["device_key"].as_str().unwrap().to_owned(),
                    client,
                }
            }));
        }
        for t in tasks {
            out.push(t.await.unwrap());
        }
    }
    out
}

/// The leaked list: `attempts / accounts` guesses per account, the real password
/// among them for one account in `reuse_every`, shuffled.
fn leaked_list(owners: &[Owner], sc: &Scenario, rng: &mut impl Rng) -> Vec<(usize, String, bool)> {
    let per = (sc.attempts / sc.accounts).max(1);
    let mut list = Vec::with_capacity(sc.attempts);
    for (k, o) in owners.iter().enumerate() {
        for g in 0..per {
            if g == 0 && k % sc.reuse_every.max(1) == 0 {
                list.push((k, o.password.clone(), true));
            } else {
                list.push((k, format!("Leaked-{k}-{g}-{}!", rng.gen::<u32>()), false));
            }
        }
    }
    list.truncate(sc.attempts);
    list.shuffle(rng);
    list
}

pub async fn run(s: &TestServer, sc: &Scenario) -> Outcome {
    let mut rng = rand::rngs::StdRng::seed_from_u64(sc.seed);
    let owners = Arc::new(owners(s, sc).await);
    let list = leaked_list(&owners, sc, &mut rng);

    // Attackers: attempt j goes out from address j mod addresses, each address in order.
    let mut queues: Vec<Vec<(usize, String, bool)>> = vec![Vec::new(); sc.addresses];
    for (j, item) in list.into_iter().enumerate() {
        queues[j % sc.addresses].push(item);
    }
    let started = Instant::now();
    let mut attackers = Vec::new();
    for (i, queue) in queues.into_iter().enumerate() {
        let owners = owners.clone();
        let url = s.url("/v1/sessions");
        attackers.push(tokio::spawn(async move {
            let c = client_from(attacker_ip(i));
            let mut out = Outcome::default();
            for (n, (k, password, correct)) in queue.into_iter().enumerate() {
                out.attack_attempts += 1;
                out.correct_tried += usize::from(correct);
                let r = c
                    .post(&url)
                    .json(&json!({"email": owners[k].email, "password": password,
                                  "device_id": format!("x-{i}-{n}"), "device_type": "computer"}))
                    .send()
                    .await;
                let (st, body) = match r {
                    Ok(r) => {
                        let st = r.status();
                        (st, r.json::<Value>().await.unwrap_or(Value::Null))
                    }
                    Err(e) => {
                        *out.other.entry(format!("transport: {e}")).or_default() += 1;
                        continue;
                    }
                };
                match st {
                    StatusCode::TOO_MANY_REQUESTS => {
                        *out.blocked.entry(block_reason(&body)).or_default() += 1
                    }
                    StatusCode::UNAUTHORIZED => out.refused += 1,
                    StatusCode::CREATED => {
                        out.correct_succeeded += 1;
                        let d = body["decision"]["decision"].as_str().unwrap_or("?");
                        *out.takeover_decisions.entry(d.to_owned()).or_default() += 1;
                    }
                    other => *out.other.entry(other.to_string()).or_default() += 1,
                }
            }
            out
        }));
    }

    // Owners: during the attack, from home: the known TV, then a new phone.
    let mut owner_tasks = Vec::new();
    for k in 0..owners.len() {
        let owners = owners.clone();
        let s_url = s.url("/v1/sessions");
        let rounds = sc.owner_rounds;
        let mut at: Vec<u64> = (0..=rounds)
            .map(|_| rng.gen_range(0..sc.owner_spread_ms.max(1)))
            .collect();
        at.sort_unstable();
        owner_tasks.push(tokio::spawn(async move {
            let o = &owners[k];
            let mut out = Outcome::default();
            let t0 = Instant::now();
            let wait_until = |ms: u64| {
                let due = Duration::from_millis(ms).saturating_sub(t0.elapsed());
                tokio::time::sleep(due)
            };
            for &due in at.iter().take(rounds) {
                wait_until(due).await;
                out.known_device_signins += 1;
                let r = o
                    .client
                    .post(&s_url)
                    .json(&json!({"email": o.email, "password": o.password,
                                  "device_id": format!("tv-{k}"), "device_type": "tv",
                                  "device_key": o.device_key}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == StatusCode::CREATED => out.known_device_ok += 1,
                    Ok(r) => {
                        let st = r.status();
                        let body: Value = r.json().await.unwrap_or(Value::Null);
                        *out.other
                            .entry(format!("owner known device {st} {}", block_reason(&body)))
                            .or_default() += 1;
                    }
                    Err(e) => {
                        *out.other
                            .entry(format!("owner transport: {e}"))
                            .or_default() += 1
                    }
                }
            }
            // A device the account has never had, while the attack still runs.
            wait_until(at[rounds]).await;
            out.new_device_signins += 1;
            let r = o
                .client
                .post(&s_url)
                .json(&json!({"email": o.email, "password": o.password,
                              "device_id": format!("phone-{k}"), "device_type": "mobile"}))
                .send()
                .await;
            match r {
                Ok(r) if r.status() == StatusCode::CREATED => out.new_device_ok += 1,
                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
                    let body: Value = r.json().await.unwrap_or(Value::Null);
                    if block_reason(&body) == "account_locked" {
                        out.new_device_locked += 1;
                    } else {
                        *out.other
                            .entry(format!("owner new device 429 {}", block_reason(&body)))
                            .or_default() += 1;
                    }
                }
                Ok(r) => {
                    *out.other
                        .entry(format!("owner new device {}", r.status()))
                        .or_default() += 1
                }
                Err(e) => {
                    *out.other
                        .entry(format!("owner transport: {e}"))
                        .or_default() += 1
                }
            }
            out
        }));
    }

    let mut total = Outcome::default();
    for t in attackers.into_iter().chain(owner_tasks) {
        merge(&mut total, t.await.unwrap());
    }
    total.attack_secs = started.elapsed().as_secs_f64();

    // After the longest lock (15 min by default), nobody is still locked out.
    s.app
        .clock
        .advance(s.app.config.throttle.max_delay_ms + 1_000);
    for (k, o) in owners.iter().enumerate() {
        total.after_lock_signins += 1;
        let r = sign_in(
            &o.client,
            s,
            json!({"email": o.email, "password": o.password,
                   "device_id": format!("laptop-{k}"), "device_type": "computer"}),
        )
        .await;
        match r {
            Ok((StatusCode::CREATED, _)) => total.after_lock_ok += 1,
            Ok((st, body)) => {
                *total
                    .other
                    .entry(format!("owner after lock {st} {}", block_reason(&body)))
                    .or_default() += 1
            }
            Err(e) => *total.other.entry(e).or_default() += 1,
        }
    }
    total
}

fn merge(into: &mut Outcome, o: Outcome) {
    into.attack_attempts += o.attack_attempts;
    for (k, v) in o.blocked {
        *into.blocked.entry(k).or_default() += v;
    }
    into.refused += o.refused;
    into.correct_tried += o.correct_tried;
    into.correct_succeeded += o.correct_succeeded;
    for (k, v) in o.takeover_decisions {
        *into.takeover_decisions.entry(k).or_default() += v;
    }
    for (k, v) in o.other {
        *into.other.entry(k).or_default() += v;
    }
    into.known_device_signins += o.known_device_signins;
    into.known_device_ok += o.known_device_ok;
    into.new_device_signins += o.new_device_signins;
    into.new_device_ok += o.new_device_ok;
    into.new_device_locked += o.new_device_locked;
}
