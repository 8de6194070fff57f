//! Evaluation against the simulator's ground truth: runs the events through
//! the engine (exactly as replay does) and measures, per class of account,
//! how often legitimate devices were asked to verify, how many strangers were
//! asked on their first session, how many accounts got the right verdict, and
//! how long resale took to detect.

use crate::geo::Enricher;
use crate::read::{Events, Item};
use crate::simulate::{read_truth, Class, Role, Truth};
use hearth_core::engine::{AccountState, Engine};
use hearth_core::time::HOUR;
use hearth_core::{EventKind, Outcome, Sharing, Timestamp};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::BufRead;

/// Figures for one class of account.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClassReport {
    pub class: String,
    pub accounts: u64,
    /// Access events (sign-in, playback, heartbeat) of household and portable devices.
    pub legit_events: u64,
    /// ... of which were answered `verify` or `deny`.
    pub legit_asked: u64,
    /// Access events of student devices (family living away) and how many were asked.
    pub student_events: u64,
    pub student_asked: u64,
    /// Strangers and attackers seen, and how many were asked on their first session.
    pub strangers: u64,
    pub strangers_asked_first: u64,
    /// Accounts whose final verdict matches the truth.
    pub correct_verdicts: u64,
    pub verdicts: HashMap<String, u64>,
    /// Resold accounts detected within 72 simulated hours of the sale.
    pub resold_within_72h: u64,
    /// Mean hours from the sale to the first `resold` verdict (detected ones).
    pub mean_detection_hours: Option<f64>,
}

/// The whole evaluation, with the four targets.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Evaluation {
    pub events: u64,
    pub malformed: u64,
    pub accounts: u64,
    pub classes: Vec<ClassReport>,
    /// Share of legitimate household and portable device events asked to verify (target <= 0.005).
    pub legit_verify_rate: f64,
    /// Share of strangers' first sessions asked to verify (target >= 0.95).
    pub stranger_first_verify_rate: f64,
    /// Share of resold accounts classified `resold` within 72 hours (target >= 0.95).
    pub resold_detected_72h_rate: f64,
    /// Share of household accounts classified `household` (target >= 0.99).
    pub household_correct_rate: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error("cannot read the events: {0}")]
    Events(#[source] std::io::Error),
    #[error("cannot read the ground truth: {0}")]
    Truth(#[source] std::io::Error),
}

struct Acc {
    truth: Truth,
    state: AccountState,
    detected: Option<i64>,
    seen: HashSet<String>,
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// Runs `events` through `engine` and scores the decisions against `truth`.
pub fn run<E: BufRead, T: BufRead>(
    engine: &Engine,
    enricher: &Enricher,
    events: E,
    truth: T,
) -> Result<Evaluation, EvaluateError> {
    let (truths, _) = read_truth(truth).map_err(EvaluateError::Truth)?;
    let mut accounts: HashMap<String, Acc> = truths
        .into_iter()
        .map(|t| {
            (
                t.account.clone(),
                Acc {
                    truth: t,
                    state: AccountState::default(),
                    detected: None,
                    seen: HashSet::new(),
                },
            )
        })
        .collect();
    let mut reports: HashMap<Class, ClassReport> = HashMap::new();
    let mut eval = Evaluation::default();
    let mut last = Timestamp::default();
    let mut reader = Events::new(events);
    for item in reader.by_ref() {
        let mut ev = match item {
            Item::Event(ev) => ev,
            Item::Malformed(_) => {
                eval.malformed += 1;
                continue;
            }
        };
        enricher.enrich(&mut ev);
        eval.events += 1;
        last = last.max(ev.ts);
        let Some(acc) = accounts.get_mut(ev.account.as_str()) else {
            // Not in the truth: run it anyway so state matches a replay.
            continue;
        };
        // As replay and the server: the engine's frozen population statistics.
        let d = engine.decide(&mut acc.state, &ev, ev.ts);
        let access = matches!(
            ev.kind,
            EventKind::SignIn | EventKind::Playback | EventKind::Heartbeat
        );
        let asked = d.decision != Outcome::Allow;
        let r = reports.entry(acc.truth.class).or_default();
        match acc.truth.devices.get(ev.device.as_str()) {
            Some(Role::Household | Role::Portable) if access => {
                r.legit_events += 1;
                r.legit_asked += u64::from(asked);
            }
            Some(Role::Student) if access => {
                r.student_events += 1;
                r.student_asked += u64::from(asked);
            }
            Some(Role::Stranger | Role::Attacker)
                if access && acc.seen.insert(ev.device.0.clone()) =>
            {
                r.strangers += 1;
                r.strangers_asked_first += u64::from(asked);
            }
            _ => {}
        }
        if let (Some(start), None) = (acc.truth.resale_start, acc.detected) {
            if ev.ts >= start {
                let v = engine.verdict(&acc.state, &ev.account, ev.ts);
                if v.sharing == Sharing::Resold {
                    acc.detected = Some(ev.ts.since(start));
                }
            }
        }
    }
    if let Some(e) = reader.take_io_error() {
        return Err(EvaluateError::Events(e));
    }

    let mut detect_sum: HashMap<Class, (f64, u64)> = HashMap::new();
    let (mut hh, mut hh_ok, mut resold, mut resold_ok) = (0u64, 0u64, 0u64, 0u64);
    let mut names: Vec<&String> = accounts.keys().collect();
    names.sort();
    for name in names {
        let Some(acc) = accounts.get(name) else {
            continue;
        };
        let class = acc.truth.class;
        let v = engine.verdict(&acc.state, &name.as_str().into(), last);
        let r = reports.entry(class).or_default();
        r.accounts += 1;
        let label = serde_json::to_value(v.sharing)
            .ok()
            .and_then(|x| x.as_str().map(str::to_owned))
            .unwrap_or_default();
        *r.verdicts.entry(label).or_default() += 1;
        let ok = v.sharing == acc.truth.sharing;
        r.correct_verdicts += u64::from(ok);
        if class.is_household() {
            hh += 1;
            hh_ok += u64::from(ok);
        }
        if class == Class::Resold {
            resold += 1;
            if let Some(ms) = acc.detected {
                if ms <= 72 * HOUR {
                    r.resold_within_72h += 1;
                    resold_ok += 1;
                }
                let e = detect_sum.entry(class).or_default();
                e.0 += ms as f64 / HOUR as f64;
                e.1 += 1;
            }
        }
    }
    let (mut le, mut la, mut st, mut sa) = (0, 0, 0, 0);
    for class in Class::ALL {
        let Some(mut r) = reports.remove(&class) else {
            continue;
        };
        r.class = class.as_str().to_owned();
        if let Some((sum, n)) = detect_sum.get(&class) {
            r.mean_detection_hours = Some(sum / *n as f64);
        }
        le += r.legit_events;
        la += r.legit_asked;
        st += r.strangers;
        sa += r.strangers_asked_first;
        eval.classes.push(r);
    }
    eval.accounts = accounts.len() as u64;
    eval.legit_verify_rate = ratio(la, le);
    eval.stranger_first_verify_rate = ratio(sa, st);
    eval.resold_detected_72h_rate = ratio(resold_ok, resold);
    eval.household_correct_rate = ratio(hh_ok, hh);
    Ok(eval)
}

impl Evaluation {
    /// The targets: (name, measured, target, met).
    pub fn targets(&self) -> Vec<(&'static str, f64, &'static str, bool)> {
        vec![
            (
                "legit household/portable events asked to verify",
                self.legit_verify_rate,
                "<= 0.5%",
                self.legit_verify_rate <= 0.005,
            ),
            (
                "strangers' first sessions asked to verify",
                self.stranger_first_verify_rate,
                ">= 95%",
                self.stranger_first_verify_rate >= 0.95,
            ),
            (
                "resold accounts detected within 72 h",
                self.resold_detected_72h_rate,
                ">= 95%",
                self.resold_detected_72h_rate >= 0.95,
            ),
            (
                "household accounts classified household",
                self.household_correct_rate,
                ">= 99%",
                self.household_correct_rate >= 0.99,
            ),
        ]
    }

    /// True when every target is met.
    pub fn passes(&self) -> bool {
        self.targets().iter().all(|t| t.3)
    }

    /// A plain-text table for terminals and BENCHMARKS.md.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} events, {} accounts, {} malformed lines",
            self.events, self.accounts, self.malformed
        );
        let _ = writeln!(
            s,
            "{:<11} {:>8} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>8}",
            "class",
            "accounts",
            "legit ev",
            "asked %",
            "student %",
            "strangers",
            "1st ask %",
            "verdict%",
            "resale h"
        );
        for r in &self.classes {
            let pct = |n: u64, d: u64| {
                if d == 0 {
                    "-".to_owned()
                } else {
                    format!("{:.2}", 100.0 * ratio(n, d))
                }
            };
            let _ = writeln!(
                s,
                "{:<11} {:>8} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>8}",
                r.class,
                r.accounts,
                r.legit_events,
                pct(r.legit_asked, r.legit_events),
                pct(r.student_asked, r.student_events),
                r.strangers,
                pct(r.strangers_asked_first, r.strangers),
                pct(r.correct_verdicts, r.accounts),
                r.mean_detection_hours
                    .map(|h| format!("{h:.1}"))
                    .unwrap_or_else(|| "-".into()),
            );
        }
        for (name, value, target, ok) in self.targets() {
            let _ = writeln!(
                s,
                "{:<50} {:>7.3}%  target {:<7} {}",
                name,
                100.0 * value,
                target,
                if ok { "ok" } else { "MISSED" }
            );
        }
        s
    }
}

/// Simulates `opts` and evaluates `engine` on it without writing files: the
/// simulator runs on a second thread and streams through OS pipes.
pub fn simulate_and_evaluate(
    engine: &Engine,
    opts: &crate::simulate::SimOptions,
) -> Result<Evaluation, SimulateEvaluateError> {
    let (truth_r, truth_w) = std::io::pipe().map_err(SimulateEvaluateError::Pipe)?;
    let (events_r, events_w) = std::io::pipe().map_err(SimulateEvaluateError::Pipe)?;
    let opts = opts.clone();
    let producer = std::thread::spawn(move || crate::simulate::run(&opts, events_w, truth_w));
    let eval = run(
        engine,
        &Enricher::none(),
        std::io::BufReader::with_capacity(1 << 16, events_r),
        std::io::BufReader::new(truth_r),
    );
    let sim = producer
        .join()
        .map_err(|_| SimulateEvaluateError::SimulatorPanicked)?;
    sim.map_err(SimulateEvaluateError::Simulate)?;
    Ok(eval?)
}

#[derive(Debug, thiserror::Error)]
pub enum SimulateEvaluateError {
    #[error("cannot create a pipe: {0}")]
    Pipe(#[source] std::io::Error),
    #[error(transparent)]
    Simulate(#[from] crate::simulate::SimError),
    #[error(transparent)]
    Evaluate(#[from] EvaluateError),
    #[error("the simulator thread panicked")]
    SimulatorPanicked,
}
