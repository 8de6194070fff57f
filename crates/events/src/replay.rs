//! Batch replay: events in, one decision per event out (same order), and
//! optionally one verdict per account at the end.
//!
//! Streams: one line in memory at a time, one [`AccountState`] per account
//! (and a fixed-size [`GlobalStats`] when learning); memory grows with the number of accounts,
//! not with the length of the input. The engine's clock is each event's own
//! `ts`, so a replay is deterministic: the same input gives byte-identical
//! output. Malformed lines are reported ("line N: ...") and skipped.

use crate::geo::Enricher;
use crate::read::{Events, Item, LineError};
use hearth_core::engine::{AccountState, Engine, GlobalStats};
use hearth_core::{Outcome, Timestamp};
use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};

/// How a replay reports on itself.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// Show a progress bar on stderr (the CLI passes `stderr().is_terminal()`).
    pub progress: bool,
    /// Input size in bytes, when known, for the bar's length.
    pub total_bytes: Option<u64>,
    /// Print "line N: ..." on stderr for each malformed line.
    pub report_malformed: bool,
    /// How many malformed lines to keep in [`ReplayStats::malformed_lines`].
    pub keep_malformed: usize,
    /// Learn population statistics from this input as it goes
    /// ([`Engine::decide_with`]). Off by default: replay then calls
    /// [`Engine::decide`] with the engine's frozen statistics, exactly as the
    /// server does, so both give the same decisions for the same stream.
    pub learn_population: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            progress: false,
            total_bytes: None,
            report_malformed: true,
            keep_malformed: 100,
            learn_population: false,
        }
    }
}

/// What a replay did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayStats {
    pub lines: u64,
    pub events: u64,
    pub allowed: u64,
    pub verify: u64,
    pub denied: u64,
    pub malformed: u64,
    /// The first malformed lines (up to `keep_malformed`).
    pub malformed_lines: Vec<LineError>,
    pub accounts: u64,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read the events: {0}")]
    Read(#[source] std::io::Error),
    #[error("cannot write the decisions: {0}")]
    WriteDecisions(#[source] std::io::Error),
    #[error("cannot write the account verdicts: {0}")]
    WriteAccounts(#[source] std::io::Error),
}

/// Replays `input` through `engine`, writing decisions as JSON Lines to
/// `decisions` and, when given, one verdict per account (sorted by account)
/// to `accounts`. `progress` shows a bar on stderr. Malformed lines are
/// reported on stderr and counted in the stats.
pub fn run<R: BufRead, D: Write, A: Write>(
    engine: &Engine,
    enricher: &Enricher,
    input: R,
    decisions: D,
    accounts: Option<A>,
    progress: bool,
) -> Result<ReplayStats, ReplayError> {
    let options = ReplayOptions {
        progress,
        ..ReplayOptions::default()
    };
    run_with(engine, enricher, input, decisions, accounts, &options)
}

/// [`run`] with every option.
pub fn run_with<R: BufRead, D: Write, A: Write>(
    engine: &Engine,
    enricher: &Enricher,
    input: R,
    decisions: D,
    accounts: Option<A>,
    options: &ReplayOptions,
) -> Result<ReplayStats, ReplayError> {
    let mut out = BufWriter::with_capacity(1 << 16, decisions);
    let mut states: HashMap<String, AccountState> = HashMap::new();
    let mut global = GlobalStats::default();
    let mut stats = ReplayStats::default();
    let mut last_ts = Timestamp::default();
    let bar = progress_bar(options);
    let mut events = Events::new(input);
    #[allow(clippy::while_let_on_iterator)] // the loop reads `events` for the bar
    while let Some(item) = events.next() {
        match item {
            Item::Event(mut ev) => {
                enricher.enrich(&mut ev);
                let state = match states.get_mut(ev.account.as_str()) {
                    Some(s) => s,
                    None => states.entry(ev.account.0.clone()).or_default(),
                };
                let d = if options.learn_population {
                    engine.decide_with(&mut global, state, &ev, ev.ts)
                } else {
                    engine.decide(state, &ev, ev.ts)
                };
                last_ts = last_ts.max(ev.ts);
                stats.events += 1;
                match d.decision {
                    Outcome::Allow => stats.allowed += 1,
                    Outcome::Verify => stats.verify += 1,
                    Outcome::Deny => stats.denied += 1,
                }
                crate::output::write_decision(&mut out, &d).map_err(ReplayError::WriteDecisions)?;
            }
            Item::Malformed(e) => {
                stats.malformed += 1;
                if options.report_malformed {
                    eprintln!("{e}");
                }
                if stats.malformed_lines.len() < options.keep_malformed {
                    stats.malformed_lines.push(e);
                }
            }
        }
        if let Some(bar) = &bar {
            if events.lines_read().is_multiple_of(4096) {
                bar.set_position(events.bytes_read());
            }
        }
    }
    if let Some(e) = events.take_io_error() {
        return Err(ReplayError::Read(e));
    }
    out.flush().map_err(ReplayError::WriteDecisions)?;
    stats.lines = events.lines_read();
    stats.bytes = events.bytes_read();
    stats.accounts = states.len() as u64;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(accounts) = accounts {
        let mut out = BufWriter::new(accounts);
        let mut names: Vec<&String> = states.keys().collect();
        names.sort();
        for name in names {
            if let Some(state) = states.get(name) {
                let v = engine.verdict(state, &name.as_str().into(), last_ts);
                serde_json::to_writer(&mut out, &v)
                    .map_err(|e| ReplayError::WriteAccounts(e.into()))?;
                out.write_all(b"\n").map_err(ReplayError::WriteAccounts)?;
            }
        }
        out.flush().map_err(ReplayError::WriteAccounts)?;
    }
    Ok(stats)
}

fn progress_bar(options: &ReplayOptions) -> Option<indicatif::ProgressBar> {
    if !options.progress {
        return None;
    }
    let bar = match options.total_bytes {
        Some(total) => indicatif::ProgressBar::new(total),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} replay {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    );
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENTS: &str = concat!(
        r#"{"ts":"2026-03-01T20:15:00Z","account":"a-17","device":"d-1","device_type":"tv","ip":"203.0.113.7","kind":"playback","country":"PT","city":"Lisbon","lat":38.72,"lon":-9.14,"asn":3243}"#,
        "\n",
        r#"{"ts":"2026-03-01T20:16:00Z","account":"a-17","device":"d-3","device_type":"mobile","ip":"203.0.113.7","kind":"sign_in","country":"PT","city":"Lisbon","lat":38.72,"lon":-9.14,"asn":3243}"#,
        "\n",
        "{oops\n",
        r#"{"ts":"2026-03-01T20:17:00Z","account":"a-17","device":"d-9","device_type":"tv","ip":"85.240.3.4","kind":"playback","country":"PT","city":"Porto","lat":41.15,"lon":-8.61,"asn":2860}"#,
        "\n",
        r#"{"ts":"2026-03-01T20:18:00Z","account":"b-2","device":"d-1","device_type":"tv","ip":"198.51.100.1","kind":"playback"}"#,
        "\n",
    );

    fn replay(input: &str) -> (ReplayStats, String, String) {
        let mut decisions = Vec::new();
        let mut accounts = Vec::new();
        let options = ReplayOptions {
            report_malformed: false,
            ..ReplayOptions::default()
        };
        let stats = run_with(
            &Engine::default(),
            &Enricher::none(),
            input.as_bytes(),
            &mut decisions,
            Some(&mut accounts),
            &options,
        )
        .unwrap();
        (
            stats,
            String::from_utf8(decisions).unwrap(),
            String::from_utf8(accounts).unwrap(),
        )
    }

    #[test]
    fn one_decision_per_event_in_order_and_bad_lines_are_skipped() {
        let (stats, decisions, accounts) = replay(EVENTS);
        assert_eq!((stats.events, stats.malformed, stats.lines), (4, 1, 5));
        assert_eq!(stats.malformed_lines[0].line, 3);
        let lines: Vec<serde_json::Value> = decisions
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0]["decision"], "allow");
        assert_eq!(lines[1]["device"], "d-3");
        assert_eq!(lines[2]["decision"], "verify");
        assert_eq!(lines[2]["reasons"][1], "outside_household");
        assert_eq!(lines[2]["defer_allowed"], true);
        assert_eq!(lines[3]["account"], "b-2");
        let verdicts: Vec<serde_json::Value> = accounts
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(verdicts.len(), 2);
        assert_eq!(verdicts[0]["account"], "a-17");
        assert_eq!(verdicts[0]["sharing"], "household");
        assert_eq!(verdicts[0]["households"], 1);
    }

    #[test]
    fn replay_is_byte_for_byte_deterministic() {
        let big: String = (0..50).map(|_| EVENTS).collect();
        assert_eq!(replay(&big).1, replay(&big).1);
        assert_eq!(replay(&big).2, replay(&big).2);
    }
}
