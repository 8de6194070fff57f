//! The targets on a small simulated population (fast in debug builds);
//! the 10,000-account figures are in BENCHMARKS.md (`examples/evaluate.rs`).

use hearth_core::engine::Engine;
use hearth_events::evaluate;
use hearth_events::geo::Enricher;
use hearth_events::simulate::{self, SimOptions};
use std::path::Path;

#[allow(clippy::unwrap_used)]
fn simulate(accounts: usize, days: u32, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let opts = SimOptions {
        accounts,
        days,
        seed,
        asn_table: Some(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/asn/ipasn_20140513.dat.gz"),
        ),
        ..SimOptions::default()
    };
    let (mut events, mut truth) = (Vec::new(), Vec::new());
    let stats = simulate::run(&opts, &mut events, &mut truth).unwrap();
    assert_eq!(stats.accounts, accounts as u64);
    (events, truth)
}

#[test]
fn a_simulated_population_meets_the_targets() {
    let (events, truth) = simulate(500, 21, 7);
    let eval = evaluate::run(
        &Engine::default(),
        &Enricher::none(),
        &events[..],
        &truth[..],
    )
    .unwrap();
    println!("{}", eval.table());
    assert_eq!(eval.malformed, 0);
    assert_eq!(eval.accounts, 500);
    assert!(eval.events > 50_000, "{}", eval.events);
    assert!(eval.legit_verify_rate <= 0.005, "{}", eval.table());
    assert!(eval.stranger_first_verify_rate >= 0.95, "{}", eval.table());
    assert!(eval.resold_detected_72h_rate >= 0.95, "{}", eval.table());
    assert!(eval.household_correct_rate >= 0.99, "{}", eval.table());
    assert!(eval.passes());
}

#[test]
fn simulation_is_deterministic_and_seeded() {
    let a = simulate(40, 5, 3);
    let b = simulate(40, 5, 3);
    let c = simulate(40, 5, 4);
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
    // Every line is a valid access event, in time order.
    let mut last = None;
    for line in a.0.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let ev = hearth_events::read::parse_line(line, 1).unwrap().unwrap();
        assert!(last.is_none_or(|l| l <= ev.ts));
        last = Some(ev.ts);
    }
}
