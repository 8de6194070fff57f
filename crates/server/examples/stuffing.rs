//! The full credential-stuffing measurement behind SECURITY.md: by default 20,000
//! sign-in attempts on 200 accounts from 50 source addresses (127.0.0.10–59) while
//! the 200 owners keep signing in from their own addresses (127.1.x.y). Traffic
//! stays on loopback. Arguments: `[attempts] [accounts] [addresses]`.
//!
//! `cargo run -p hearth-server --example stuffing -- 20000 200 50`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/stuffing.rs"]
mod stuffing;

use hearth_server::testkit::TestServer;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers: attempts accounts addresses"))
        .collect();
    let sc = stuffing::Scenario {
        attempts: args.first().copied().unwrap_or(20_000),
        accounts: args.get(1).copied().unwrap_or(200),
        addresses: args.get(2).copied().unwrap_or(50),
        reuse_every: 10,
        owner_rounds: 3,
        owner_spread_ms: 60_000,
        seed: 8,
    };
    println!("{sc:?}");
    let s = TestServer::start(|_| {}).await;
    let out = stuffing::run(&s, &sc).await;
    println!("{}", out.report());
    s.stop().await;
}
