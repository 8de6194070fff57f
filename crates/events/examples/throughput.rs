//! Throughput of the engine and of replay, in wall-clock time and per CPU
//! second of this process (the project machine is 2 shared cores: wall-clock
//! rates there mostly measure the neighbours). Baselines in the same run.
//!
//! cargo run --release -p hearth-events --example throughput -- [ACCOUNTS] [DAYS] [REPEATS]

use hearth_core::engine::{AccountState, Engine};
use hearth_core::AccessEvent;
use hearth_events::geo::Enricher;
use hearth_events::read::{Events, Item};
use hearth_events::replay;
use hearth_events::simulate::{self, SimOptions};
use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;
use std::time::Instant;

/// CPU seconds (user + system) used by this process so far, from /proc.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime, in ticks of 1/100 s) are at 11
    // and 12 after the name.
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn measure(name: &str, events: usize, repeats: usize, mut f: impl FnMut()) {
    let (w0, c0) = (Instant::now(), cpu_secs());
    for _ in 0..repeats {
        f();
    }
    let (wall, cpu) = (w0.elapsed().as_secs_f64(), cpu_secs() - c0);
    let n = (events * repeats) as f64;
    println!(
        "{name:<28} {:>12.0} events/s wall   {:>12.0} events/CPU-s   ({:.2} s wall, {:.2} s CPU)",
        n / wall,
        n / cpu.max(0.01),
        wall,
        cpu
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let opts = SimOptions {
        accounts: args.first().copied().unwrap_or(3000),
        days: args.get(1).copied().unwrap_or(14) as u32,
        seed: 42,
        asn_table: Some(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/asn/ipasn_20140513.dat.gz"),
        ),
        ..SimOptions::default()
    };
    let repeats = args.get(2).copied().unwrap_or(5);
    let path = std::env::temp_dir().join(format!("hearth-throughput-{}.jsonl", std::process::id()));
    simulate::run(&opts, std::fs::File::create(&path)?, std::io::sink())?;
    let bytes = std::fs::metadata(&path)?.len();
    let events: Vec<AccessEvent> = Events::new(BufReader::new(std::fs::File::open(&path)?))
        .filter_map(|i| match i {
            Item::Event(e) => Some(e),
            Item::Malformed(_) => None,
        })
        .collect();
    let mut slots: HashMap<String, usize> = HashMap::new();
    let indexed: Vec<usize> = events
        .iter()
        .map(|e| {
            let n = slots.len();
            *slots.entry(e.account.0.clone()).or_insert(n)
        })
        .collect();
    let n = events.len();
    println!(
        "{} accounts, {} days: {} events, {} MB of JSONL; {} repeats each",
        opts.accounts,
        opts.days,
        n,
        bytes / 1_000_000,
        repeats
    );
    let engine = Engine::default();
    measure("baseline: clone ids", n, repeats, || {
        for e in &events {
            std::hint::black_box((e.account.clone(), e.device.clone()));
        }
    });
    measure("engine: Engine::decide", n, repeats, || {
        let mut states = vec![AccountState::default(); slots.len()];
        for (e, i) in events.iter().zip(&indexed) {
            std::hint::black_box(engine.decide(&mut states[*i], e, e.ts));
        }
    });
    measure("baseline: read + parse JSONL", n, repeats, || {
        let f = std::fs::File::open(&path).map(|f| BufReader::with_capacity(1 << 16, f));
        if let Ok(f) = f {
            std::hint::black_box(Events::new(f).count());
        }
    });
    measure("replay::run (file -> sink)", n, repeats, || {
        if let Ok(f) = std::fs::File::open(&path) {
            let r = replay::run(
                &engine,
                &Enricher::none(),
                BufReader::with_capacity(1 << 16, f),
                std::io::sink(),
                None::<std::io::Sink>,
                false,
            );
            std::hint::black_box(r.ok());
        }
    });
    let _ = std::fs::remove_file(&path);
    Ok(())
}
