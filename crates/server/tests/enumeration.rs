//! Enumeration: at sign-in, sign-up and password reset, a known and an unknown e-mail
//! address get the same status, body and headers (`date` and `x-request-id` aside), and their
//! response times cannot be told apart by a two-sided Mann–Whitney U test over many
//! interleaved tries in random order. A power check runs alongside: a sign-in answered
//! without any hash (what an unknown address would cost if the dummy hash were
//! skipped) must be told apart from the real thing by the same test.
//!
//! Throttling is turned off here so every try takes the full path; throttling itself
//! keys unknown addresses like known ones (see `e2e.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::seq::SliceRandom;
use rand::SeedableRng;
use reqwest::Client;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use hearth_server::testkit::TestServer;

const PER_CLASS: usize = 40;
const PASSWORD: &str = "Quiet-Lantern-42-Orbit";
/// Below this, the two classes' times would be called different. Far below the usual
/// 0.05 on purpose: several tests in a row on a loaded 2-core machine must not fail
/// by chance, and a real leak (one Argon2 hash, tens of milliseconds) gives p < 1e-9.
const ALPHA: f64 = 1e-3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Endpoint {
    SignIn,
    SignUp,
    Reset,
    /// The power check: a sign-in refused before any lookup or hash.
    NoHash,
}

/// What must not differ between known and unknown addresses.
type Answer = (u16, String, Vec<(String, String)>);

fn erfc(x: f64) -> f64 {
    // Numerical Recipes' erfcc: fractional error below 1.2e-7 everywhere.
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Two-sided p-value of the Mann–Whitney U test (normal approximation with tie and
/// continuity corrections; fine for samples of 20 and more).
fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let (mut rank_a, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        rank_a += rank * all[i..=j].iter().filter(|x| x.1).count() as f64;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let u = rank_a - n1 * (n1 + 1.0) / 2.0;
    let nn = n1 + n2;
    let sigma = (n1 * n2 / 12.0 * ((nn + 1.0) - ties / (nn * (nn - 1.0)))).sqrt();
    let z = (((u - n1 * n2 / 2.0).abs() - 0.5) / sigma).max(0.0);
    erfc(z / std::f64::consts::SQRT_2)
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn the_u_test_is_right_on_known_cases() {
    let a: Vec<f64> = (0..50).map(f64::from).collect();
    assert!(mann_whitney_p(&a, &a) > 0.99);
    let b: Vec<f64> = (0..50).map(|x| f64::from(x) + 100.0).collect();
    assert!(mann_whitney_p(&a, &b) < 1e-15);
    // By hand: U = 12.5, five tied pairs, σ = 13.20, z = (37.5 − 0.5) / σ = 2.80.
    let x: Vec<f64> = (1..=10).map(f64::from).collect();
    let y: Vec<f64> = (6..=15).map(f64::from).collect();
    let p = mann_whitney_p(&x, &y);
    assert!((p - 0.0051).abs() < 0.0002, "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_and_unknown_addresses_look_and_take_the_same() {
    let s = TestServer::start(|c| {
        c.throttle.free_failures = 1_000_000;
        c.throttle.ip_max_failures = 1_000_000;
        c.throttle.stuffing_accounts = 1_000_000;
        // Each probe from an address of its own (below), as an enumerator's would be.
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let c = Client::new();
    let known: Vec<String> = (0..5).map(|i| format!("member{i}@enum.test")).collect();
    for e in &known {
        let r = c
            .post(s.url("/v1/accounts"))
            .json(&json!({"email": e, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }

    // Every (endpoint, known?) pair PER_CLASS times, shuffled, after a short warm-up.
    let mut plan: Vec<(Endpoint, bool)> = Vec::new();
    for ep in [Endpoint::SignIn, Endpoint::SignUp, Endpoint::Reset] {
        for known in [true, false] {
            plan.extend(std::iter::repeat_n((ep, known), PER_CLASS));
        }
    }
    plan.extend(std::iter::repeat_n((Endpoint::NoHash, false), PER_CLASS));
    plan.shuffle(&mut rand::rngs::StdRng::seed_from_u64(8));
    let warm_up: Vec<(Endpoint, bool)> = [Endpoint::SignIn, Endpoint::SignUp, Endpoint::Reset]
        .iter()
        .flat_map(|&ep| [(ep, true), (ep, false)])
        .collect();

    let mut times: BTreeMap<(Endpoint, bool), Vec<f64>> = BTreeMap::new();
    let mut answers: BTreeMap<Endpoint, BTreeSet<Answer>> = BTreeMap::new();
    for (n, &(ep, is_known)) in warm_up.iter().chain(plan.iter()).enumerate() {
        let email = if is_known {
            known[n % known.len()].clone()
        } else {
            format!(
                "stranger{n}-{}@enum.test",
                hearth_server::service::random_hex(4)
            )
        };
        let (path, body) = match ep {
            Endpoint::SignIn => (
                "/v1/sessions",
                json!({"email": email, "password": format!("Wrong-Guess-{n}-Zz!")}),
            ),
            Endpoint::SignUp => (
                "/v1/accounts",
                json!({"email": email, "password": PASSWORD}),
            ),
            Endpoint::Reset => ("/v1/password-reset", json!({"email": email})),
            Endpoint::NoHash => ("/v1/sessions", json!({"email": email})),
        };
        // A fresh (address, e-mail) pair for every probe in both classes: a failure's
        // first from a pair also counts the address's distinct accounts, and the known
        // addresses repeat while the unknown ones never do, so one shared address made
        // the unknown class do that extra write every time and the known class rarely.
        let from = format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256);
        let t0 = Instant::now();
        let r = c
            .post(s.url(path))
            .header("x-forwarded-for", from)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let mut headers: Vec<(String, String)> = r
            .headers()
            .iter()
            // The date and the per-request id differ on every answer.
            .filter(|(k, _)| !matches!(k.as_str(), "date" | "x-request-id"))
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_owned()))
            .collect();
        let text = r.text().await.unwrap();
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        headers.sort();
        if n < warm_up.len() {
            continue;
        }
        times.entry((ep, is_known)).or_default().push(ms);
        if ep != Endpoint::NoHash {
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            answers
                .entry(ep)
                .or_default()
                .insert((status, body.to_string(), headers));
        }
    }

    for (ep, seen) in &answers {
        assert_eq!(
            seen.len(),
            1,
            "{ep:?}: known and unknown addresses answered differently: {seen:#?}"
        );
    }
    let mut report = Vec::new();
    for ep in [Endpoint::SignIn, Endpoint::SignUp, Endpoint::Reset] {
        let (k, u) = (&times[&(ep, true)], &times[&(ep, false)]);
        let p = mann_whitney_p(k, u);
        report.push(format!(
            "{ep:?}: median known {:.2} ms, unknown {:.2} ms, Mann-Whitney p = {p:.3}",
            median(k),
            median(u)
        ));
        assert!(p > ALPHA, "{ep:?}: response times differ (p = {p:e})");
    }
    // Power: the same test on the same run tells a sign-in that skips the hash apart.
    let unknown = &times[&(Endpoint::SignIn, false)];
    let leaky = &times[&(Endpoint::NoHash, false)];
    let p_leaky = mann_whitney_p(unknown, leaky);
    report.push(format!(
        "power: unknown-address sign-in {:.2} ms vs the same without a hash {:.2} ms, p = {p_leaky:e}",
        median(unknown),
        median(leaky)
    ));
    // And how small a difference it would notice: the known class shifted by δ.
    let known_in = &times[&(Endpoint::SignIn, true)];
    for delta in [2.0, 5.0, 10.0, 20.0, 40.0] {
        let shifted: Vec<f64> = known_in.iter().map(|t| t + delta).collect();
        report.push(format!(
            "  sign-in known + {delta} ms vs unknown: p = {:e}",
            mann_whitney_p(&shifted, unknown)
        ));
    }
    println!("{}", report.join("\n"));
    assert!(
        p_leaky < 1e-6,
        "the test would miss a skipped hash (p = {p_leaky:e})"
    );
    s.stop().await;
}
