//! What the write path's commit costs per event, without HTTP, the engine or wrk:
//! batches of state writes over many accounts, each state with its latest event ids,
//! as the access writer sends them. Prints wall and process CPU time per event.
//!
//!   cargo run --release -p hearth-store --example commit_cost -- [batches] [batch size] [url]
//!
//! The default URL is a new SQLite file in a temporary directory. Reading CPU time
//! from /proc makes it Linux-only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::Timestamp;
use hearth_store::StateWrite;
use std::time::Instant;

const ACCOUNTS: usize = 10_000;

/// Process CPU time in seconds (utime + stime, clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// A state of about the size the access benchmark's accounts reach (~500 bytes),
/// with the id of the event that made it and its decision.
fn state(account: usize, version: i64) -> String {
    let devices: Vec<String> = (0..4)
        .map(|d| {
            format!(
                r#"{{"i":{},"t":"tv","f":1700000000000,"l":{},"h":true}}"#,
                account * 7 + d,
                1_700_000_000_000 + version
            )
        })
        .collect();
    format!(
        r#"{{"d":[{}],"h":[[0,{account},{version}]],"a":[{{"i":{},"o":"allow","s":0.12,"r":["at_home","home_device"]}}]}}"#,
        devices.join(","),
        (account as u64) << 32 | version as u64
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let batches: usize = args.get(1).map_or(2000, |a| a.parse().expect("batches"));
    let size: usize = args.get(2).map_or(13, |a| a.parse().expect("batch size"));
    let dir = std::env::temp_dir().join(format!("hearth-commit-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("bench.db").display()));
    let store = hearth_store::open(&url).await.expect("open the store");
    let mut versions = vec![0_i64; ACCOUNTS];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let batch = |versions: &mut Vec<i64>, accounts: Vec<usize>| {
        accounts
            .into_iter()
            .map(|a| {
                let w = StateWrite {
                    account: format!("bench-{a}"),
                    expected: versions[a],
                    state: state(a, versions[a] + 1),
                    effects: None,
                };
                versions[a] += 1;
                w
            })
            .collect::<Vec<_>>()
    };
    // Every account gets its first state, as after the benchmark's warm-up.
    for chunk in (0..ACCOUNTS).collect::<Vec<_>>().chunks(500) {
        let writes = batch(&mut versions, chunk.to_vec());
        let lost = store
            .commit_engine_states(&writes, Timestamp(1))
            .await
            .expect("commit");
        assert!(lost.is_empty());
    }
    let (t, c) = (Instant::now(), cpu_seconds());
    for _ in 0..batches {
        let mut accounts: Vec<usize> = (0..size).map(|_| next() as usize % ACCOUNTS).collect();
        accounts.sort_unstable();
        accounts.dedup();
        let writes = batch(&mut versions, accounts);
        let lost = store
            .commit_engine_states(&writes, Timestamp(2))
            .await
            .expect("commit");
        assert!(lost.is_empty());
    }
    let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    let events = (batches * size) as f64;
    println!(
        "{} batches of {size}: {:.1} us wall and {:.1} us CPU per event",
        batches,
        wall * 1e6 / events,
        cpu * 1e6 / events
    );
    let _ = std::fs::remove_dir_all(&dir);
}
