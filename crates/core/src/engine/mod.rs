//! The household and sharing risk engine: a pure function of
//! (account state, event, now) -> (decision, new state).
//!
//! Placeholder until the engine lands: every event is allowed.

use crate::{AccessEvent, Decision, Outcome, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountState {}

#[derive(Clone, Debug, Default)]
pub struct EngineConfig {}

#[derive(Clone, Debug, Default)]
pub struct Engine {
    pub config: EngineConfig,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Self { config }
    }

    pub fn decide(&self, _state: &mut AccountState, event: &AccessEvent, _now: Timestamp) -> Decision {
        Decision {
            account: event.account.clone(),
            device: event.device.clone(),
            ts: event.ts,
            decision: Outcome::Allow,
            channels: Vec::new(),
            defer_allowed: false,
            score: 0.0,
            reasons: Vec::new(),
        }
    }
}
