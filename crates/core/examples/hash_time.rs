//! One password verification at the default Argon2id parameters, timed alone on one
//! core: the single-hash time that `bench/load.sh` divides the cores by to get the
//! sign-in limit. `cargo run --release -p hearth-core --example hash_time -- 20`
//! prints the median and minimum milliseconds of that many sequential verifications.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hearth_core::password::{HashParams, PasswordHasher};
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let hasher = PasswordHasher::new(HashParams::default()).expect("default parameters");
    let mut rng = rand::rngs::OsRng;
    let stored = hasher
        .hash("Correct-Horse-7-Battery", &mut rng)
        .expect("hash");
    let mut ms: Vec<f64> = (0..n.max(1))
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(hasher.verify("Correct-Horse-7-Battery", &stored));
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "median_ms {:.2} min_ms {:.2} n {}",
        ms[ms.len() / 2],
        ms[0],
        ms.len()
    );
}
