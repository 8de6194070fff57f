//! Credential stuffing, scaled down for CI: 2,000 attempts on 40 accounts from 10
//! source addresses while the owners keep signing in. The full run (20,000 / 200 /
//! 50) is `cargo run -p hearth-server --example stuffing`; its figures are in
//! SECURITY.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/stuffing.rs"]
mod stuffing;

use hearth_server::testkit::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stuffing_is_stopped_and_owners_keep_signing_in() {
    let s = TestServer::start(|_| {}).await;
    let sc = stuffing::Scenario {
        attempts: 2_000,
        accounts: 40,
        addresses: 10,
        reuse_every: 10,
        owner_rounds: 2,
        owner_spread_ms: 10_000,
        seed: 8,
    };
    let out = stuffing::run(&s, &sc).await;
    println!("{}", out.report());

    assert!(out.other.is_empty(), "unexpected answers: {:?}", out.other);
    assert_eq!(out.attack_attempts, sc.attempts);
    // Each address is stopped once it has failed on 20 different accounts (the
    // stuffing rule), and an account pauses after 5 failures from anywhere, so the
    // passwords actually checked are at most about 10 × 20 plus a few correct ones:
    // under 15 % of 2,000. 75 % blocked leaves room for locks that end mid-run.
    assert!(
        out.blocked_share() >= 0.75,
        "only {:.1} % blocked",
        100.0 * out.blocked_share()
    );
    assert!(out.blocked.get("credential_stuffing").copied().unwrap_or(0) > 0);
    // The owner's known device is never held back by someone else's failures.
    assert_eq!(out.known_device_ok, out.known_device_signins);
    // And nobody is locked out for good: after the longest lock, every owner signs
    // in from a device the account has never seen.
    assert_eq!(out.after_lock_ok, out.after_lock_signins);
    assert_eq!(out.after_lock_signins, sc.accounts);
    s.stop().await;
}
