//! The access-event parser: JSON Lines as `hearth replay` and the platform API read
//! them, then every event that parses through the risk engine (one state per account,
//! growing population statistics) and back out as a decision line.
#![no_main]

use hearth_core::engine::{AccountState, Engine, GlobalStats};
use hearth_core::AccessEvent;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let engine = Engine::default();
    let mut global = GlobalStats::default();
    let mut states: HashMap<String, AccountState> = HashMap::new();
    for (i, line) in data.split(|b| *b == b'\n').enumerate().take(64) {
        // The API's reader (serde on the core type) must agree on what is an event.
        let _ = serde_json::from_slice::<AccessEvent>(line);
        let Ok(Some(ev)) = hearth_events::read::parse_line(line, i as u64 + 1) else {
            continue;
        };
        let state = states.entry(ev.account.to_string()).or_default();
        let decision = engine.decide_with(&mut global, state, &ev, ev.ts);
        let _ = engine.verdict(state, &ev.account, ev.ts);
        let mut out = Vec::new();
        let _ = hearth_events::output::write_decision(&mut out, &decision);
        let _ = ev.ts.to_string();
    }
});
