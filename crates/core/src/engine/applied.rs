//! The account's latest event ids, each with the decision it was given, kept in its
//! state so that an event arriving again (a bus redelivering, a client retrying) is
//! answered the same and changes nothing ([`super::Engine::applied`]).
//!
//! Kept small, as it is written with the state on every event: an entry is the id
//! and an index into the account's distinct decisions (its recent events mostly
//! share one or two), without the account, device and time, which an event arriving
//! again carries again. So 16 ids of 20 bytes add about 0.6 KiB to a state rather
//! than 3 (`bench/wrk/access.lua`'s states: 0.8 KiB without ids).

use crate::{Channel, Decision, Outcome, Reason};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AppliedIds {
    /// (id as [`key`] keeps it, index into `bodies`), oldest first.
    #[serde(rename = "e")]
    entries: Vec<(String, usize)>,
    /// The distinct decisions of `entries`, but for account, device and time.
    #[serde(rename = "b")]
    bodies: Vec<Body>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Body {
    #[serde(rename = "o")]
    outcome: Outcome,
    #[serde(rename = "s")]
    score: f64,
    #[serde(rename = "r", default, skip_serializing_if = "Vec::is_empty")]
    reasons: Vec<Reason>,
    #[serde(rename = "c", default, skip_serializing_if = "Vec::is_empty")]
    channels: Vec<Channel>,
    #[serde(rename = "w", default, skip_serializing_if = "std::ops::Not::not")]
    defer_allowed: bool,
}

/// How an event id is kept: as it is up to 64 bytes, else as `#` and its SHA-256 in
/// hex (65 bytes, so never equal to a kept id), so a hostile id does not grow the
/// state. Not the engine's 64-bit `hash64`: it collides on ids such as "S:109" and
/// "S:184", and two ids that collide would answer one event with another's decision.
pub(crate) fn key(id: &str) -> Cow<'_, str> {
    use sha2::Digest;
    use std::fmt::Write;
    if id.len() <= 64 {
        return id.into();
    }
    let mut key = String::with_capacity(65);
    key.push('#');
    for b in sha2::Sha256::digest(id.as_bytes()) {
        let _ = write!(key, "{b:02x}");
    }
    key.into()
}

impl AppliedIds {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The decision `event`'s id was given, if it is kept: the same event is given
    /// the same decision again.
    pub(crate) fn find(&self, event: &crate::AccessEvent) -> Option<Decision> {
        let id = key(event.id.as_deref()?);
        let (_, body) = self.entries.iter().find(|e| e.0 == id)?;
        let b = self.bodies.get(*body)?;
        Some(Decision {
            account: event.account.clone(),
            device: event.device.clone(),
            ts: event.ts,
            decision: b.outcome,
            channels: b.channels.clone(),
            defer_allowed: b.defer_allowed,
            score: b.score,
            reasons: b.reasons.clone(),
        })
    }

    /// Keeps `id` with `decision`, forgetting the oldest beyond `keep`.
    pub(crate) fn remember(&mut self, id: &str, decision: &Decision, keep: usize) {
        if keep == 0 {
            return;
        }
        // A stored entry pointing past the bodies (a damaged row) is dropped, not
        // trusted, so every index below is in range.
        let bodies = self.bodies.len();
        self.entries.retain(|e| e.1 < bodies);
        let body = Body {
            outcome: decision.decision,
            score: decision.score,
            reasons: decision.reasons.clone(),
            channels: decision.channels.clone(),
            defer_allowed: decision.defer_allowed,
        };
        let b = match self.bodies.iter().position(|x| *x == body) {
            Some(b) => b,
            None => {
                self.bodies.push(body);
                self.bodies.len() - 1
            }
        };
        self.entries.push((key(id).into_owned(), b));
        if self.entries.len() > keep {
            let drop = self.entries.len() - keep;
            self.entries.drain(..drop);
        }
        // Bodies no entry refers to any more go, and the indices follow.
        let mut used = vec![false; self.bodies.len()];
        for e in &self.entries {
            used[e.1] = true;
        }
        if used.contains(&false) {
            let mut to = Vec::with_capacity(used.len());
            let mut n = 0;
            for &u in &used {
                to.push(n);
                n += usize::from(u);
            }
            let mut flags = used.iter();
            self.bodies
                .retain(|_| flags.next().copied().unwrap_or(false));
            for e in &mut self.entries {
                e.1 = to[e.1];
            }
        }
    }
}
