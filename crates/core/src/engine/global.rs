//! Population statistics for the likelihood ratio of Freeman et al. (NDSS 2016,
//! "Who are you? A statistical approach to measuring user authenticity").
//!
//! For a feature value `x` (an IP prefix, an ASN, a country, a user agent, a
//! browser, an OS) the risk is `p(x | population) / p(x | this account)`. The
//! account's probability is smoothed along the hierarchy, as in the paper:
//! `p_u(prefix) = (c_u(prefix) + a * p_u(asn) * p(prefix | asn)) / (n_u + a)`,
//! and the same for ASN -> country and user agent -> browser -> OS. An account
//! with no history gets a ratio of about 1 (no evidence either way); a value
//! the account has used many times gets a ratio well below 1; a value that is
//! common in the population but new to the account gets a large ratio.
//!
//! The population counts live in a fixed-size table of hashed counters (a
//! one-row count sketch), so memory does not grow with traffic.

use serde::{Deserialize, Serialize};

/// Feature levels, coarse to fine within each hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Country = 0,
    Asn = 1,
    Prefix = 2,
    Os = 3,
    Browser = 4,
    UserAgent = 5,
}

pub(crate) const LEVELS: usize = 6;
const SLOTS_BITS: u32 = 14;
const SLOTS: usize = 1 << SLOTS_BITS;

/// Counts of feature values over the whole population of accounts.
///
/// Fixed size (6 x 16384 counters, 384 KiB). `Default` is an empty table: with
/// it every likelihood ratio falls back to the account's own history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlobalStats {
    counts: Vec<u32>,
    totals: [u64; LEVELS],
}

impl Default for GlobalStats {
    fn default() -> Self {
        Self {
            counts: vec![0; LEVELS * SLOTS],
            totals: [0; LEVELS],
        }
    }
}

impl GlobalStats {
    fn slot(level: Level, key: u32) -> usize {
        let mixed = key.wrapping_mul(0x9e37_79b1) >> (32 - SLOTS_BITS);
        (level as usize) * SLOTS + mixed as usize
    }

    fn count(&self, level: Level, key: u32) -> u64 {
        self.counts
            .get(Self::slot(level, key))
            .copied()
            .map(u64::from)
            .unwrap_or(0)
    }

    /// Smoothed population probability of a value at one level.
    pub(crate) fn p(&self, level: Level, key: u32) -> f64 {
        let total = self.totals[level as usize] as f64;
        (self.count(level, key) as f64 + 1.0) / (total + SLOTS as f64)
    }

    /// Population probability of a child value given its parent, e.g. p(prefix | asn).
    pub(crate) fn p_given(&self, level: Level, key: u32, parent: Level, parent_key: u32) -> f64 {
        let c = self.count(level, key) as f64;
        let pc = self.count(parent, parent_key) as f64;
        ((c + 1.0) / (pc + 16.0)).min(1.0)
    }

    /// Counts one observation of a value.
    pub(crate) fn observe(&mut self, level: Level, key: u32) {
        let i = Self::slot(level, key);
        if let Some(c) = self.counts.get_mut(i) {
            *c = c.saturating_add(1);
        }
        let t = &mut self.totals[level as usize];
        *t = t.saturating_add(1);
    }

    /// Number of observations counted at the network level (for reports).
    pub fn observations(&self) -> u64 {
        self.totals[Level::Country as usize]
    }
}
