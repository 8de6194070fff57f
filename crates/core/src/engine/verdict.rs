//! Account verdicts (S7): one household, shared with another place, or resold.
//!
//! Counted over the sliding window: household connections, "household-like"
//! foreign clusters (a place where devices verified by the owner, not the
//! household's, watched on two days or with two devices), new foreign places and
//! devices, and the peak number of places streaming at once.

use super::state::AccountState;
use super::EngineConfig;
use crate::Sharing;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Assessment {
    pub homes: u32,
    pub clusters: u32,
    pub foreign_places: u32,
    pub foreign_devices: u32,
    pub devices: u32,
    pub peak: u8,
    pub sharing: Sharing,
}

pub(crate) fn bucket_of(t: i64, c: &EngineConfig) -> i32 {
    let width = (c.window_secs / 5).max(1);
    i32::try_from(t.div_euclid(width)).unwrap_or(i32::MAX)
}

pub(crate) fn assess(state: &AccountState, t: i64, c: &EngineConfig) -> Assessment {
    let since = t.saturating_sub(c.window_secs);
    // Household connections within a short distance of each other are one home.
    let mut sites: Vec<Option<(f32, f32)>> = Vec::new();
    for p in state.places.iter().filter(|p| p.home_until > t) {
        let same = sites.iter().any(|s| match (s, p.geo) {
            (Some(a), Some(b)) => super::signals::distance_km(*a, b) <= c.home_match_km,
            _ => false,
        });
        if !same {
            sites.push(p.geo);
        }
    }
    let homes = sites.len() as u32;
    let clusters = state
        .places
        .iter()
        .filter(|p| p.home_until <= t && p.last >= since)
        .filter(|p| p.foreign_days >= 2 || p.foreign_devs.count_ones() >= 2)
        .count() as u32;
    let current = bucket_of(t, c);
    let (foreign_places, foreign_devices) = state
        .buckets
        .iter()
        .filter(|b| b.0 > current.saturating_sub(5))
        .fold((0u32, 0u32), |acc, b| {
            (acc.0 + u32::from(b.1), acc.1 + u32::from(b.2))
        });
    let devices = state.devices.iter().filter(|d| d.last >= since).count() as u32;
    let peak = if state.peak_at >= since {
        state.peak
    } else {
        0
    };
    let households = homes + clusters;
    let sharing = if households >= c.resold_households
        || (foreign_places >= c.resold_places && foreign_devices >= c.resold_devices)
        || u32::from(peak) >= c.resold_concurrency
    {
        Sharing::Resold
    } else if households >= 2 || foreign_places >= c.shared_places {
        Sharing::Shared
    } else {
        Sharing::Household
    };
    Assessment {
        homes,
        clusters,
        foreign_places,
        foreign_devices,
        devices,
        peak,
        sharing,
    }
}
