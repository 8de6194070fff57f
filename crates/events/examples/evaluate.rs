//! Simulates a population and prints the evaluation table (BENCHMARKS.md).
//!
//! cargo run --release -p hearth-events --example evaluate -- [ACCOUNTS] [DAYS] [SEED] [--json]

use hearth_core::engine::Engine;
use hearth_events::evaluate::simulate_and_evaluate;
use hearth_events::simulate::SimOptions;
use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: u64| -> u64 {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
    };
    let opts = SimOptions {
        accounts: num(0, 10_000) as usize,
        days: num(1, 30) as u32,
        seed: num(2, 1),
        asn_table: Some(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/asn/ipasn_20140513.dat.gz"),
        ),
        ..SimOptions::default()
    };
    let started = Instant::now();
    let eval = simulate_and_evaluate(&Engine::default(), &opts)?;
    if args.iter().any(|a| a == "--json") {
        println!("{}", serde_json::to_string_pretty(&eval)?);
    } else {
        print!("{}", eval.table());
    }
    eprintln!(
        "{} accounts, {} days, seed {}: {} events in {:.1} s",
        opts.accounts,
        opts.days,
        opts.seed,
        eval.events,
        started.elapsed().as_secs_f64()
    );
    if !eval.passes() {
        std::process::exit(1);
    }
    Ok(())
}
