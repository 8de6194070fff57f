//! Messages per second of `stream::check_stream` on one thread, by wall clock and by the
//! process's CPU time (robust when other jobs share the machine).
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-phish cargo run --release -p hearth-phish --example throughput [ROUNDS]
//! ```
//!
//! Feeds the UCI collection (5,574 messages) as JSON Lines ROUNDS times (default 20).

use hearth_phish::stream::check_stream;
use hearth_phish::{Checker, Message};
use std::time::Instant;

const UCI: &str = include_str!("../../../data/sms/SMSSpamCollection");

/// User + system CPU seconds of this process (Linux `/proc/self/stat`, 100 ticks/s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the ")" that closes the command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let mut input = Vec::new();
    let mut n = 0u64;
    for line in UCI.lines() {
        if let Some((_, text)) = line.split_once('\t') {
            input.extend_from_slice(serde_json::to_string(&Message::text(text))?.as_bytes());
            input.push(b'\n');
            n += 1;
        }
    }
    let checker = Checker::default();
    let mut out = Vec::with_capacity(input.len() * 2);
    check_stream(&checker, &input[..], &mut out)?; // warm-up
    let (wall0, cpu0) = (Instant::now(), cpu_seconds());
    for _ in 0..rounds {
        out.clear();
        check_stream(&checker, &input[..], &mut out)?;
    }
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let total = n as f64 * rounds as f64;
    println!(
        "{}",
        serde_json::json!({
            "messages": total,
            "wall_seconds": wall,
            "cpu_seconds": cpu,
            "msgs_per_wall_second": total / wall,
            "msgs_per_cpu_second": total / cpu.max(1e-9),
        })
    );
    Ok(())
}
