//! Password verifications at the default Argon2id parameters, timed: the single-hash
//! time that `bench/load.sh` divides the cores by to get the sign-in limit, and how
//! fast hashes go when several run at once.
//!
//! `cargo run --release -p hearth-core --example hash_time -- 20` times 20 sequential
//! verifications on one core; `-- 20 2` runs two threads of 20 at once. It prints the
//! median and minimum milliseconds per verification, and the verifications per second
//! of all threads together (wall clock).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hearth_core::password::{HashParams, PasswordHasher};
use std::time::Instant;

const PASSWORD: &str = "Correct-Horse-7-Battery";

fn main() {
    let arg = |i: usize, default: usize| -> usize {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
            .max(1)
    };
    let (n, threads) = (arg(1, 20), arg(2, 1));
    let hasher = PasswordHasher::new(HashParams::default()).expect("default parameters");
    let mut rng = rand::rngs::OsRng;
    let stored = hasher.hash(PASSWORD, &mut rng).expect("hash");
    // One verification first, untimed: the first working buffer is allocated then (a
    // second thread allocates its own inside its first timed verification).
    std::hint::black_box(hasher.verify(PASSWORD, &stored));
    let began = Instant::now();
    let mut ms: Vec<f64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    (0..n)
                        .map(|_| {
                            let t = Instant::now();
                            std::hint::black_box(hasher.verify(PASSWORD, &stored));
                            t.elapsed().as_secs_f64() * 1000.0
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("hashing thread"))
            .collect()
    });
    let wall = began.elapsed().as_secs_f64();
    ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "median_ms {:.2} min_ms {:.2} n {} threads {} per_s {:.1}",
        ms[ms.len() / 2],
        ms[0],
        ms.len(),
        threads,
        ms.len() as f64 / wall
    );
}
