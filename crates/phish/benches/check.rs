//! Throughput of `stream::check_stream` (what `hearth message check` runs), one thread.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-phish cargo bench -p hearth-phish --bench check
//! ```
//!
//! `stream/uci_5574` feeds the whole UCI collection as JSON Lines; criterion's
//! "thrpt" line is messages per second. `large/*` shows that a 1 MB message and a
//! message with 5,000 links cost a bounded amount of work.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hearth_phish::stream::check_stream;
use hearth_phish::{Checker, Message};
use std::hint::black_box;
use std::time::Duration;

const UCI: &str = include_str!("../../../data/sms/SMSSpamCollection");

fn jsonl() -> (Vec<u8>, u64) {
    let mut out = Vec::new();
    let mut n = 0;
    for line in UCI.lines() {
        if let Some((_, text)) = line.split_once('\t') {
            let m = Message::text(text);
            out.extend_from_slice(serde_json::to_string(&m).unwrap_or_default().as_bytes());
            out.push(b'\n');
            n += 1;
        }
    }
    (out, n)
}

fn bench(c: &mut Criterion) {
    let checker = Checker::default();
    let (input, n) = jsonl();
    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("uci_5574", |b| {
        let mut out = Vec::with_capacity(input.len() * 2);
        b.iter(|| {
            out.clear();
            black_box(check_stream(&checker, &input[..], &mut out).ok());
        })
    });
    g.finish();

    let mut g = c.benchmark_group("large");
    g.sample_size(10);
    let mega = "Netflix: your payment failed, update at https://netflix-billing.com/x now. "
        .repeat(14_000);
    g.bench_function("one_megabyte_message", |b| {
        b.iter(|| black_box(checker.check(&Message::text(mega.as_str()))))
    });
    let links: String = (0..5000)
        .map(|i| format!("https://host{i}.example-{i}.com/p "))
        .collect();
    g.bench_function("five_thousand_links", |b| {
        b.iter(|| black_box(checker.check(&Message::text(links.as_str()))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
