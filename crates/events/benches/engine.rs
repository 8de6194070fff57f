//! Criterion benchmarks of the risk engine, each with a baseline measured in
//! the same run (see BENCHMARKS.md, "Risk engine"):
//! - `engine`: `Engine::decide` (what the server and replay call) and
//!   `Engine::decide_with` (also learning population statistics) over
//!   in-memory events, one thread; the baseline clones the ids a decision
//!   carries (the least any engine does).
//! - `replay`: `replay::run` end to end from a JSONL file (read, parse,
//!   decide, write decisions to a sink); the baseline only parses the lines.

#![allow(clippy::unwrap_used)] // a benchmark harness: failing loudly is the point

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hearth_core::engine::{AccountState, Engine, GlobalStats};
use hearth_core::AccessEvent;
use hearth_events::geo::Enricher;
use hearth_events::read::{Events, Item};
use hearth_events::replay;
use hearth_events::simulate::{self, SimOptions};
use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

fn options() -> SimOptions {
    SimOptions {
        accounts: 3000,
        days: 14,
        seed: 42,
        asn_table: Some(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/asn/ipasn_20140513.dat.gz"),
        ),
        ..SimOptions::default()
    }
}

fn events_file() -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("hearth-bench-events-{}.jsonl", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    simulate::run(&options(), file, std::io::sink()).unwrap();
    path
}

fn engine(c: &mut Criterion) {
    let sim = simulate::Simulator::new(&options()).unwrap();
    let mut events: Vec<AccessEvent> = Vec::new();
    for day in 0..options().days {
        sim.day(day, &mut events);
    }
    // Accounts resolved to slots up front: this measures the engine, not a map.
    let mut slots: HashMap<String, usize> = HashMap::new();
    let indexed: Vec<(usize, AccessEvent)> = events
        .into_iter()
        .map(|e| {
            let n = slots.len();
            (*slots.entry(e.account.0.clone()).or_insert(n), e)
        })
        .collect();
    let accounts = slots.len();
    let engine = Engine::default();
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(indexed.len() as u64));
    g.sample_size(10);
    g.bench_function("baseline_clone_ids", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for (_, e) in &indexed {
                let ids = (e.account.clone(), e.device.clone());
                n += ids.0.as_str().len() + ids.1.as_str().len();
            }
            n
        })
    });
    g.bench_function("decide", |b| {
        b.iter_batched(
            || vec![AccountState::default(); accounts],
            |mut states| {
                for (i, e) in &indexed {
                    let d = engine.decide(&mut states[*i], e, e.ts);
                    std::hint::black_box(d);
                }
                states
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("decide_with", |b| {
        b.iter_batched(
            || {
                (
                    vec![AccountState::default(); accounts],
                    GlobalStats::default(),
                )
            },
            |(mut states, mut global)| {
                for (i, e) in &indexed {
                    let d = engine.decide_with(&mut global, &mut states[*i], e, e.ts);
                    std::hint::black_box(d);
                }
                states
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn replay_end_to_end(c: &mut Criterion) {
    let path = events_file();
    let lines = std::fs::read(&path)
        .unwrap()
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    let engine = Engine::default();
    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(lines as u64));
    g.sample_size(10);
    g.bench_function("baseline_parse_only", |b| {
        b.iter(|| {
            let f = std::fs::File::open(&path).unwrap();
            let mut n = 0u64;
            for item in Events::new(BufReader::with_capacity(1 << 16, f)) {
                if let Item::Event(e) = item {
                    n += e.ts.millis() as u64 & 1;
                }
            }
            n
        })
    });
    g.bench_function("replay_run", |b| {
        b.iter(|| {
            let f = std::fs::File::open(&path).unwrap();
            let stats = replay::run(
                &engine,
                &Enricher::none(),
                BufReader::with_capacity(1 << 16, f),
                std::io::sink(),
                None::<std::io::Sink>,
                false,
            )
            .unwrap();
            assert_eq!(stats.events as usize, lines);
        })
    });
    g.finish();
    let _ = std::io::stderr().flush();
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, engine, replay_end_to_end);
criterion_main!(benches);
