//! Average per-account state at scale (BENCHMARKS.md): simulates ACCOUNTS
//! accounts (in chunks of 50,000) for DAYS days, runs every event through the
//! engine, keeps every account's state, then reports the serialized JSON size
//! (what the server persists) and the in-memory size (struct plus heap
//! buffers, and the process's resident memory).
//!
//! cargo run --release -p hearth-events --example state_size -- [ACCOUNTS] [DAYS]

use hearth_core::engine::{AccountState, Engine, GlobalStats};
use hearth_events::simulate::{SimOptions, Simulator};
use std::path::Path;
use std::time::Instant;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let accounts = args.first().copied().unwrap_or(1_000_000) as usize;
    let days = args.get(1).copied().unwrap_or(14) as u32;
    let chunk = 50_000usize;
    let engine = Engine::default();
    let mut global = GlobalStats::default();
    let mut states: Vec<AccountState> = Vec::with_capacity(accounts);
    let started = Instant::now();
    let rss_before = rss_kib();
    let mut events = 0u64;
    let mut buf = Vec::new();
    let mut first = 0;
    while first < accounts {
        let n = chunk.min(accounts - first);
        let opts = SimOptions {
            accounts: n,
            first_account: first,
            days,
            seed: 1,
            asn_table: Some(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/asn/ipasn_20140513.dat.gz"),
            ),
            ..SimOptions::default()
        };
        let sim = Simulator::new(&opts)?;
        let base = states.len();
        states.resize_with(base + n, AccountState::default);
        for day in 0..days {
            buf.clear();
            sim.day(day, &mut buf);
            for e in &buf {
                let i: usize = e.account.as_str()[2..].parse()?;
                engine.decide_with(&mut global, &mut states[i], e, e.ts);
            }
            events += buf.len() as u64;
        }
        first += n;
    }
    let rss_after = rss_kib();
    let mut json_total = 0usize;
    let mut json_max = 0usize;
    let mut heap_total = 0usize;
    for s in &states {
        let j = serde_json::to_vec(s)?.len();
        json_total += j;
        json_max = json_max.max(j);
        heap_total += s.approx_heap_size();
    }
    let n = states.len().max(1);
    println!(
        "accounts: {}  days: {}  events: {}",
        states.len(),
        days,
        events
    );
    println!(
        "serialized JSON per account: mean {} B, max {} B",
        json_total / n,
        json_max
    );
    println!(
        "in memory per account (struct + heap buffers): mean {} B",
        heap_total / n
    );
    println!(
        "process RSS growth per account (states + allocator overhead): {} B",
        (rss_after.saturating_sub(rss_before) * 1024) as usize / n
    );
    eprintln!("{:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
