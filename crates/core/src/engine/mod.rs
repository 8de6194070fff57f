//! The household and sharing risk engine: a pure function of
//! (account state, event, now) -> (decision, new state). No I/O, no clock.
//!
//! # Model
//! - **Household**: the connections ("places": a provider, i.e. ASN or /16, in
//!   an area, i.e. city or ~50 km cell) where the account's TV-class devices
//!   watched within the sliding window (31 days). The first TV-class device of
//!   an account without a household defines it (`household_learning`); until a
//!   TV shows up, the first place of a phone is a provisional household. A
//!   household survives dynamic IPs (a known home device on a new /24 of the
//!   same place, or of the same ASN within 50 km, teaches the new prefix), a
//!   second network or a move confirmed by the owner (a `verified` TV-class
//!   device makes its place a household; a TV that moves retires its old home).
//!   A device that is new to the account is only "at home" on a prefix where
//!   household devices were seen, so a neighbour on the same ISP is not.
//! - **Standing** ([`Standing`]): home, portable (seen at home within the
//!   window: may watch anywhere, as a traveller's phone must), travelling,
//!   verified away, deferred (verify later), unknown.
//! - **Decision**: at home or trusted standing -> `allow`; otherwise `verify`
//!   (email or SMS code, `defer_allowed` while the device has deferrals left),
//!   or `deny` when the score passes `deny_score` on attack evidence
//!   (anonymising network, impossible travel, failed sign-ins). Geolocation is
//!   one signal among several (S8): it only adds `far_from_home` and
//!   `impossible_travel` to the score; standing comes from device history and
//!   the household's connections.
//! - **Signals in the score**: new vs known device; the Freeman et al. (NDSS
//!   2016) likelihood ratio of the account's history against the population,
//!   smoothed along prefix -> ASN -> country and user agent -> browser -> OS
//!   ([`GlobalStats`]); impossible travel of one device; distinct places
//!   streaming at once; a burst of new devices; anonymising networks (from the
//!   event's `anonymous` field, set by the MaxMind Anonymous-IP database);
//!   recent failed sign-ins (`sign_in_failed` events).
//! - **Verdict** (S7): [`Engine::verdict`] counts households, foreign clusters,
//!   foreign places/devices over the window and the peak concurrency.
//!
//! # Population statistics and purity
//! [`Engine::decide`] reads the engine's own frozen [`GlobalStats`] (empty by
//! default, set with [`Engine::with_global`]); it never mutates the engine.
//! The server and `hearth replay` both call it, so for the same engine
//! (configuration and frozen statistics) and the same stream they give the
//! same decisions. [`Engine::decide_with`] takes the statistics as `&mut` and
//! adds the event to them after deciding: use it offline to learn a table from
//! a log (deterministic: one table per run), then serialize it and load it
//! into the engines with [`Engine::with_global`]. The statistics only move the
//! score and the `familiar_network` / `unfamiliar_network` reasons; with an
//! empty table the ratio still compares the event with the account's own
//! history (population probabilities are then uniform).

mod applied;
mod global;
mod signals;
mod state;
mod verdict;

#[cfg(test)]
mod tests;

pub use global::GlobalStats;
pub use state::{AccountState, HouseholdNetwork, Standing};

use global::Level;
use signals::{distance_km, hash64, ua_features, NetInfo};
use state::{DeviceRec, PlaceRec, StreamRec};

use crate::time::DAY;
use crate::{
    AccessEvent, AccountId, AccountVerdict, Channel, Decision, EventKind, Outcome, Reason, Sharing,
    Timestamp,
};
use serde::{Deserialize, Serialize};

const DAY_SECS: i64 = DAY / 1000;

/// Tunables. `Default` gives the production defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    /// Sliding window of the household and of home/portable standing (31 days).
    pub window_secs: i64,
    /// Grace period of one "verify later" (7 days).
    pub defer_secs: i64,
    /// "Verify later" answers allowed per device (2).
    pub max_deferrals: u8,
    /// How long a device verified by code may watch away (31 days).
    pub verified_away_secs: i64,
    /// Length of a travel pass (7 days).
    pub travel_secs: i64,
    /// Caps that bound the per-account state.
    pub max_devices: usize,
    pub max_places: usize,
    pub max_history: usize,
    pub max_streams: usize,
    /// Streams whose last event is this recent are "at once".
    pub concurrency_secs: i64,
    /// Faster than this between two places of one device is impossible travel.
    pub impossible_speed_kmh: f64,
    /// Distances under this never count as travel (geolocation is coarse).
    pub min_travel_km: f64,
    /// Further than this from every household connection is `far_from_home`.
    pub far_km: f64,
    /// Same ASN within this distance of a household place is the same place (dynamic IPs).
    pub home_match_km: f64,
    /// New devices within a day that make a burst.
    pub new_device_burst: u32,
    /// Failed sign-ins within `failure_secs` that count as an attack signal.
    pub failure_threshold: u8,
    pub failure_secs: i64,
    /// Score from which an untrusted device with attack evidence is denied.
    pub deny_score: f64,
    /// Verdict thresholds: households for `resold`; foreign places and devices in
    /// the window for `resold`; peak concurrent places for `resold`; foreign
    /// places for `shared`.
    pub resold_households: u32,
    pub resold_places: u32,
    pub resold_devices: u32,
    pub resold_concurrency: u32,
    pub shared_places: u32,
    /// Event ids remembered per account with their decisions, so an event that
    /// arrives again is answered the same and counts nothing twice
    /// ([`Engine::applied`]); the oldest is forgotten first.
    pub applied_ids: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            window_secs: 31 * DAY_SECS,
            defer_secs: 7 * DAY_SECS,
            max_deferrals: 2,
            verified_away_secs: 31 * DAY_SECS,
            travel_secs: 7 * DAY_SECS,
            max_devices: 24,
            max_places: 12,
            max_history: 20,
            max_streams: 8,
            concurrency_secs: 15 * 60,
            impossible_speed_kmh: 1000.0,
            min_travel_km: 300.0,
            far_km: 100.0,
            home_match_km: 50.0,
            new_device_burst: 4,
            failure_threshold: 5,
            failure_secs: 3600,
            deny_score: 0.95,
            resold_households: 4,
            resold_places: 6,
            resold_devices: 6,
            resold_concurrency: 5,
            shared_places: 4,
            applied_ids: 16,
        }
    }
}

/// The engine: configuration plus a frozen copy of the population statistics.
#[derive(Clone, Debug)]
pub struct Engine {
    pub config: EngineConfig,
    global: GlobalStats,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(EngineConfig::default())
    }
}

/// What `decide_with` adds to the population statistics after deciding.
struct Observation {
    net: [(Level, u32); 3],
    ua: Option<[(Level, u32); 3]>,
}

/// An account's verdict before its evidence is spelt out ([`Engine::verdict_basis`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VerdictBasis {
    a: verdict::Assessment,
    resold_at: i64,
}

impl VerdictBasis {
    pub fn sharing(&self) -> Sharing {
        self.a.sharing
    }

    pub fn households(&self) -> u32 {
        self.a.homes + self.a.clusters
    }

    pub fn devices(&self) -> u32 {
        self.a.devices.max(self.a.foreign_devices)
    }

    /// Whether the verdicts differ in what they say (sharing, households, devices).
    pub fn differs_from(&self, other: &VerdictBasis) -> bool {
        self.sharing() != other.sharing()
            || self.households() != other.households()
            || self.devices() != other.devices()
    }
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Self {
            config,
            global: GlobalStats::default(),
        }
    }

    /// Replaces the frozen population statistics read by [`Engine::decide`].
    pub fn with_global(mut self, global: GlobalStats) -> Self {
        self.global = global;
        self
    }

    pub fn global(&self) -> &GlobalStats {
        &self.global
    }

    /// The decision an event with this id was given when it was applied to this
    /// account, if it is among the account's last [`EngineConfig::applied_ids`];
    /// `None` for an event without an id. [`Engine::decide`] answers such an event
    /// with it and changes nothing.
    pub fn applied(&self, state: &AccountState, event: &AccessEvent) -> Option<Decision> {
        state.applied.find(event)
    }

    /// Decides one event against the engine's frozen population statistics.
    /// Updates `state`; never touches anything else. The same function runs in
    /// the server, in replay and in the benchmarks. An event whose id the account
    /// has applied before gets its first decision again ([`Engine::applied`]).
    pub fn decide(
        &self,
        state: &mut AccountState,
        event: &AccessEvent,
        now: Timestamp,
    ) -> Decision {
        self.decide_core(&self.global, state, event, now).0
    }

    /// Like [`Engine::decide`], reading `global` instead of the frozen copy and
    /// adding this event to it afterwards (replay keeps one per run).
    pub fn decide_with(
        &self,
        global: &mut GlobalStats,
        state: &mut AccountState,
        event: &AccessEvent,
        now: Timestamp,
    ) -> Decision {
        let (decision, obs) = self.decide_core(global, state, event, now);
        if let Some(obs) = obs {
            for (level, key) in obs.net.into_iter().chain(obs.ua.into_iter().flatten()) {
                global.observe(level, key);
            }
        }
        decision
    }

    /// The account's sharing verdict at `now` (S7).
    pub fn verdict(
        &self,
        state: &AccountState,
        account: &AccountId,
        now: Timestamp,
    ) -> AccountVerdict {
        self.verdict_from(self.verdict_basis(state, now), account)
    }

    /// What the verdict at `now` is made of: cheap to take and to compare (no
    /// evidence spelt out), for callers that want the verdict only when it changes.
    pub fn verdict_basis(&self, state: &AccountState, now: Timestamp) -> VerdictBasis {
        VerdictBasis {
            a: verdict::assess(state, now.secs(), &self.config),
            resold_at: state.resold_at,
        }
    }

    /// The verdict, with its evidence, from a [`VerdictBasis`].
    pub fn verdict_from(&self, basis: VerdictBasis, account: &AccountId) -> AccountVerdict {
        let a = basis.a;
        let mut evidence = vec![
            format!("households={}", a.homes + a.clusters),
            format!("household_connections={}", a.homes),
            format!("foreign_clusters={}", a.clusters),
            format!("devices_30d={}", a.devices),
            format!("foreign_places_30d={}", a.foreign_places),
            format!("foreign_devices_30d={}", a.foreign_devices),
            format!("peak_concurrent_places={}", a.peak),
        ];
        if basis.resold_at != 0 {
            evidence.push(format!(
                "resold_since={}",
                Timestamp::from_secs(basis.resold_at)
            ));
        }
        AccountVerdict {
            account: account.clone(),
            sharing: basis.sharing(),
            households: basis.households(),
            devices: basis.devices(),
            evidence,
        }
    }

    fn decide_core(
        &self,
        global: &GlobalStats,
        state: &mut AccountState,
        ev: &AccessEvent,
        now: Timestamp,
    ) -> (Decision, Option<Observation>) {
        if let Some(first) = self.applied(state, ev) {
            return (first, None);
        }
        let (decision, observation) = self.decide_fresh(global, state, ev, now);
        if let Some(id) = &ev.id {
            state
                .applied
                .remember(id, &decision, self.config.applied_ids);
        }
        (decision, observation)
    }

    fn decide_fresh(
        &self,
        global: &GlobalStats,
        state: &mut AccountState,
        ev: &AccessEvent,
        now: Timestamp,
    ) -> (Decision, Option<Observation>) {
        let c = &self.config;
        // Times before 1970 or absurdly far ahead are clamped: 0 means "never" in the state.
        let t = clock(now);
        let net = NetInfo::of(ev);
        let dev_id = state.device_key(ev.device.as_str());
        // The foreign-device sketch keeps its bits from before devices had keys of
        // their own, so that a device migrated to its key is not counted twice.
        let dev_bit = hash64(ev.device.as_str());
        let portable = ev.device_type.is_portable();
        let is_access = matches!(
            ev.kind,
            EventKind::SignIn | EventKind::Playback | EventKind::Heartbeat
        );
        expire(state, t, c);

        // Device: remember its previous position before touching it.
        let prev = state.devices.iter().find(|d| d.id == dev_id).cloned();
        let is_new = prev.is_none();
        let di = touch_device(state, dev_id, ev, t, c.max_devices);
        let pi = touch_place(state, &net, ev, t, c);

        let household_exists = state.places.iter().any(|p| p.home_until > t);
        let tv_household = state.places.iter().any(|p| p.home_until > t && p.tv);
        let prior_home = prev.as_ref().map(|d| d.home_until > t).unwrap_or(false);

        let mut at_home = {
            let p = &state.places[pi];
            p.home_until > t && (p.prefixes.contains(&net.prefix) || prior_home)
        };
        if is_access && !at_home && !portable && prior_home {
            // A second connection at the same address (another provider within a
            // short distance), used by a household TV: part of the household.
            let near = net.geo.is_some_and(|g| {
                state.places.iter().any(|p| {
                    p.home_until > t
                        && p.geo
                            .is_some_and(|pg| distance_km(pg, g) <= c.home_match_km)
                })
            });
            if near {
                make_home(&mut state.places[pi], net.prefix, t + c.window_secs, true);
                at_home = true;
            }
        }
        let mut learning = false;
        if is_access && !at_home {
            if !portable && !tv_household {
                // The first TV-class device of an account without a TV household
                // defines it, and replaces a provisional household (with the
                // standing it gave to devices).
                let mut dropped = Vec::new();
                for p in state.places.iter_mut() {
                    if !p.tv && !p.confirmed && p.home_until > 0 {
                        p.home_until = 0;
                        dropped.push(p.key);
                    }
                }
                for d in state.devices.iter_mut() {
                    if dropped.contains(&d.home_place) {
                        d.home_until = 0;
                    }
                }
                make_home(&mut state.places[pi], net.prefix, t + c.window_secs, true);
                state.tv_seen = true;
                at_home = true;
                learning = true;
            } else if portable && !household_exists && !state.tv_seen {
                make_home(&mut state.places[pi], net.prefix, t + c.window_secs, false);
                at_home = true;
                learning = true;
            }
        }

        let mut reasons: Vec<Reason> = Vec::with_capacity(6);
        let mut outcome = Outcome::Allow;
        let mut defer_allowed = false;
        let mut score: f64;

        // Signals that do not depend on the kind of event.
        let impossible = match (&prev, net.geo) {
            (Some(p), Some(g)) => match p.geo {
                Some(pg) => {
                    let km = distance_km(pg, g);
                    let hours = (t.saturating_sub(p.last).max(60) as f64) / 3600.0;
                    km > c.min_travel_km && km / hours > c.impossible_speed_kmh
                }
                None => false,
            },
            _ => false,
        };
        // User-agent families feed the likelihood ratio (away from home) and
        // the histories (sessions): heartbeats at home skip the parsing.
        let ua = if (is_access && !at_home)
            || matches!(ev.kind, EventKind::SignIn | EventKind::Playback)
        {
            ua_features(ev.user_agent.as_deref())
        } else {
            None
        };
        // The likelihood ratio only matters away from the household connection.
        let (lr, lr_part) = if is_access && !at_home {
            let lr = likelihood_ratio(global, state, &net, ua);
            (lr, (lr.log10() / 6.0).clamp(0.0, 1.0))
        } else {
            (1.0, 0.0)
        };
        let anonymous = ev.anonymous.unwrap_or(false);
        let failures = state.failures >= c.failure_threshold;

        match ev.kind {
            EventKind::Verified => {
                let d = &mut state.devices[di];
                d.verified_until = t + c.verified_away_secs;
                d.deferrals = 0;
                d.deferred_until = 0;
                // A household TV confirmed by code somewhere else: the household moved.
                let moved = !portable
                    && !at_home
                    && prev
                        .as_ref()
                        .is_some_and(|p| p.home_until > t && p.home_place != state.places[pi].key);
                if moved {
                    if let Some(p) = &prev {
                        if let Some(old) = state.places.iter_mut().find(|x| x.key == p.home_place) {
                            old.home_until = 0;
                        }
                    }
                    let pl = &mut state.places[pi];
                    make_home(pl, net.prefix, t + c.window_secs, true);
                    pl.confirmed = true;
                    state.tv_seen = true;
                    at_home = true;
                }
                if at_home {
                    let key = state.places[pi].key;
                    let d = &mut state.devices[di];
                    d.home_until = t + c.window_secs;
                    d.home_place = key;
                }
                reasons.push(Reason::OwnerVerified);
                score = 0.0;
            }
            EventKind::VerifyLater => {
                let d = &mut state.devices[di];
                match d.standing(t) {
                    _ if at_home => reasons.push(Reason::AtHome),
                    s @ (Standing::Portable | Standing::Travelling | Standing::Verified) => {
                        reasons.push(standing_reason(s))
                    }
                    Standing::Deferred => reasons.push(Reason::Deferred),
                    _ if d.deferrals < c.max_deferrals => {
                        d.deferrals += 1;
                        d.deferred_until = t + c.defer_secs;
                        reasons.push(Reason::Deferred);
                    }
                    _ => {
                        outcome = Outcome::Verify;
                        reasons.push(Reason::DeferralsExhausted);
                        reasons.push(Reason::OutsideHousehold);
                    }
                }
                score = if outcome == Outcome::Verify { 0.6 } else { 0.3 };
            }
            EventKind::TravelStarted => {
                state.devices[di].travel_until = t + c.travel_secs;
                reasons.push(Reason::Travelling);
                score = 0.1;
            }
            EventKind::SignInFailed => {
                state.failures = state.failures.saturating_add(1);
                state.failures_at = t;
                outcome = Outcome::Deny;
                reasons.push(Reason::SignInFailure);
                if state.failures >= c.failure_threshold {
                    reasons.push(Reason::RecentSignInFailures);
                }
                score = 1.0;
            }
            EventKind::SignIn | EventKind::Playback | EventKind::Heartbeat => {
                let (concurrency, far_concurrent) = if ev.kind == EventKind::SignIn {
                    (0, false)
                } else {
                    track_stream(state, dev_id, &net, t, c)
                };
                let new_burst = state
                    .devices
                    .iter()
                    .filter(|d| d.first > t - DAY_SECS)
                    .count() as u32
                    >= c.new_device_burst;
                if at_home {
                    let key = state.places[pi].key;
                    let d = &mut state.devices[di];
                    d.home_until = t + c.window_secs;
                    d.home_place = key;
                    let pl = &mut state.places[pi];
                    if !pl.prefixes.contains(&net.prefix) {
                        push_prefix(pl, net.prefix);
                    }
                    if !portable || !pl.tv {
                        // TV activity keeps the household alive; phones keep a provisional one.
                        pl.home_until = pl.home_until.max(t + c.window_secs);
                        pl.tv |= !portable;
                    }
                    if learning {
                        reasons.push(Reason::HouseholdLearning);
                    }
                    reasons.push(if portable {
                        Reason::PortableDevice
                    } else {
                        Reason::HomeDevice
                    });
                    reasons.push(Reason::AtHome);
                    if is_new {
                        reasons.push(Reason::NewDevice);
                    }
                    score = 0.0;
                    if anonymous {
                        reasons.push(Reason::AnonymousNetwork);
                    }
                } else {
                    let standing = state.devices[di].standing(t);
                    let far = far_from_home(state, &net, c);
                    let trusted = matches!(
                        standing,
                        Standing::Portable
                            | Standing::Travelling
                            | Standing::Verified
                            | Standing::Deferred
                    );
                    if trusted {
                        reasons.push(standing_reason(standing));
                        score = 0.1 + 0.2 * lr_part;
                    } else {
                        reasons.push(if is_new {
                            Reason::NewDevice
                        } else {
                            Reason::KnownDevice
                        });
                        reasons.push(Reason::OutsideHousehold);
                        score = if is_new { 0.35 } else { 0.25 } + 0.25 + 0.2 * lr_part;
                    }
                    if far {
                        reasons.push(Reason::FarFromHome);
                        score += 0.1;
                    }
                    if lr_part >= 1.0 / 3.0 {
                        reasons.push(Reason::UnfamiliarNetwork);
                    } else if lr < 1.0 && !state.history.is_empty() {
                        reasons.push(Reason::FamiliarNetwork);
                    }
                    let mut attack = false;
                    if impossible {
                        reasons.push(Reason::ImpossibleTravel);
                        score += 0.3;
                        attack = true;
                    }
                    if concurrency >= 3 || far_concurrent {
                        // Not an attack signal: a family streams from several places.
                        reasons.push(Reason::ConcurrentPlaces);
                        score += 0.1;
                    }
                    if new_burst {
                        reasons.push(Reason::ManyNewDevices);
                        score += 0.1;
                    }
                    if anonymous {
                        reasons.push(Reason::AnonymousNetwork);
                        score += 0.25;
                        attack = true;
                    }
                    if failures {
                        reasons.push(Reason::RecentSignInFailures);
                        score += 0.15;
                        attack = true;
                    }
                    if !trusted {
                        note_foreign(state, pi, dev_bit, portable, is_new, false, t, c);
                        let a = verdict::assess(state, t, c);
                        if a.homes + a.clusters >= 2 {
                            reasons.push(Reason::ManyHouseholds);
                        }
                        if a.sharing == Sharing::Resold {
                            if state.resold_at == 0 {
                                state.resold_at = t;
                            }
                            reasons.push(Reason::ResoldAccount);
                        }
                        let d = &state.devices[di];
                        defer_allowed = d.deferrals < c.max_deferrals;
                        outcome = if attack && score >= c.deny_score {
                            Outcome::Deny
                        } else {
                            Outcome::Verify
                        };
                        if !defer_allowed {
                            reasons.push(Reason::DeferralsExhausted);
                        }
                    } else if standing == Standing::Verified {
                        // Devices verified by the owner watching away make another household.
                        note_foreign(state, pi, dev_bit, portable, is_new, true, t, c);
                    }
                }
                let standing = state.devices[di].standing(t);
                let owned = at_home
                    || matches!(
                        standing,
                        Standing::Portable | Standing::Travelling | Standing::Verified
                    );
                if outcome == Outcome::Allow && owned && ev.kind != EventKind::Heartbeat {
                    learn_history(state, &net, ua, c.max_history);
                }
            }
        }

        // Sessions, not their heartbeats, are what the population statistics count.
        let session = matches!(ev.kind, EventKind::SignIn | EventKind::Playback);
        let observation = session.then(|| Observation {
            net: [
                (Level::Country, u32::from(net.country)),
                (Level::Asn, net.asn),
                (Level::Prefix, net.prefix),
            ],
            ua: ua.map(|(u, b, o)| [(Level::UserAgent, u), (Level::Browser, b), (Level::Os, o)]),
        });

        let channels = if outcome == Outcome::Verify {
            vec![Channel::Email, Channel::Sms]
        } else {
            Vec::new()
        };
        if outcome != Outcome::Verify {
            defer_allowed = false;
        }
        let decision = Decision {
            account: ev.account.clone(),
            device: ev.device.clone(),
            ts: ev.ts,
            decision: outcome,
            channels,
            defer_allowed,
            score: (score.clamp(0.0, 1.0) * 1000.0).round() / 1000.0,
            reasons,
        };
        (decision, observation)
    }
}

/// The engine's clock in seconds. Times before 1970 or absurdly far ahead are
/// clamped, because 0 means "never" in the state.
pub(crate) fn clock(now: Timestamp) -> i64 {
    now.secs().clamp(1, 1 << 40)
}

fn standing_reason(s: Standing) -> Reason {
    match s {
        Standing::Home => Reason::HomeDevice,
        Standing::Portable => Reason::PortableDevice,
        Standing::Travelling => Reason::Travelling,
        Standing::Verified => Reason::VerifiedAway,
        Standing::Deferred => Reason::Deferred,
        Standing::Unknown => Reason::OutsideHousehold,
    }
}

/// Drops what the window has forgotten, so state shrinks back on its own.
fn expire(state: &mut AccountState, t: i64, c: &EngineConfig) {
    let stale = t.saturating_sub(2 * c.window_secs);
    state.devices.retain(|d| {
        d.last >= stale
            || d.home_until > t
            || d.verified_until > t
            || d.deferred_until > t
            || d.travel_until > t
    });
    state
        .places
        .retain(|p| p.last >= t.saturating_sub(c.window_secs) || p.home_until > t);
    state
        .streams
        .retain(|s| s.at >= t.saturating_sub(c.concurrency_secs) && s.at <= t);
    if state.failures_at < t.saturating_sub(c.failure_secs) {
        state.failures = 0;
        state.failures_at = 0;
    }
    let current = verdict::bucket_of(t, c);
    state
        .buckets
        .retain(|b| b.0 > current.saturating_sub(5) && b.0 <= current);
    if state.resold_at != 0 && state.resold_at < t.saturating_sub(c.window_secs) {
        let still = verdict::assess(state, t, c).sharing == Sharing::Resold;
        if !still {
            state.resold_at = 0;
        }
    }
}

fn touch_device(state: &mut AccountState, id: u64, ev: &AccessEvent, t: i64, cap: usize) -> usize {
    let geo = NetInfo::of_geo(ev);
    if let Some(i) = state.devices.iter().position(|d| d.id == id) {
        let d = &mut state.devices[i];
        d.last = d.last.max(t);
        d.kind = ev.device_type;
        if geo.is_some() {
            d.geo = geo;
        }
        return i;
    }
    if state.devices.len() >= cap.max(1) {
        // Forget the device seen longest ago, the household's own devices last,
        // so a crowd of strangers cannot push the household out.
        if let Some((i, _)) = state
            .devices
            .iter()
            .enumerate()
            .min_by_key(|(_, d)| (d.home_until > t, d.last))
        {
            state.devices.swap_remove(i);
        }
    }
    state.devices.push(DeviceRec {
        id,
        kind: ev.device_type,
        first: t,
        last: t,
        home_until: 0,
        verified_until: 0,
        deferred_until: 0,
        deferrals: 0,
        travel_until: 0,
        geo,
        home_place: 0,
    });
    state.devices.len() - 1
}

fn touch_place(
    state: &mut AccountState,
    net: &NetInfo,
    ev: &AccessEvent,
    t: i64,
    c: &EngineConfig,
) -> usize {
    let mut found = state.places.iter().position(|p| p.key == net.place);
    if found.is_none() && net.asn != 0 {
        // Dynamic IPs: the same provider within a short distance of a household place.
        if let Some(g) = net.geo {
            found = state.places.iter().position(|p| {
                p.home_until > t
                    && p.asn == net.asn
                    && p.geo
                        .map(|pg| distance_km(pg, g) <= c.home_match_km)
                        .unwrap_or(false)
            });
        }
    }
    let i = match found {
        Some(i) => {
            let p = &mut state.places[i];
            p.last = p.last.max(t);
            i
        }
        None => {
            if state.places.len() >= c.max_places.max(1) {
                // Forget the least recent place, household connections last.
                if let Some((i, _)) = state
                    .places
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, p)| (p.home_until > t, p.last))
                {
                    state.places.swap_remove(i);
                }
            }
            state.places.push(PlaceRec {
                key: net.place,
                asn: net.asn,
                country: net.country,
                geo: net.geo,
                label: ev.city.as_ref().map(|c| c.chars().take(40).collect()),
                prefixes: Vec::new(),
                first: t,
                last: t,
                home_until: 0,
                tv: false,
                confirmed: false,
                foreign_day: 0,
                foreign_days: 0,
                foreign_devs: 0,
                foreign_tv: false,
                foreign_any: false,
            });
            state.places.len() - 1
        }
    };
    i
}

fn make_home(p: &mut PlaceRec, prefix: u32, until: i64, tv: bool) {
    p.home_until = p.home_until.max(until);
    p.tv |= tv;
    if !p.prefixes.contains(&prefix) {
        push_prefix(p, prefix);
    }
}

fn push_prefix(p: &mut PlaceRec, prefix: u32) {
    if p.prefixes.len() >= 3 {
        p.prefixes.remove(0);
    }
    p.prefixes.push(prefix);
}

fn far_from_home(state: &AccountState, net: &NetInfo, c: &EngineConfig) -> bool {
    let homes = || state.places.iter().filter(|p| p.home_until > 0);
    if let Some(g) = net.geo {
        let mut any = false;
        for p in homes() {
            if let Some(pg) = p.geo {
                any = true;
                if distance_km(pg, g) <= c.far_km {
                    return false;
                }
            }
        }
        if any {
            return true;
        }
    }
    if net.country != 0 {
        let mut any = false;
        for p in homes() {
            if p.country != 0 {
                any = true;
                if p.country == net.country {
                    return false;
                }
            }
        }
        return any;
    }
    false
}

/// Records a stream; returns the number of distinct places streaming now and
/// whether another stream of the account is too far away for one person to
/// be at both (impossible travel between concurrent streams).
fn track_stream(
    state: &mut AccountState,
    dev: u64,
    net: &NetInfo,
    t: i64,
    c: &EngineConfig,
) -> (u32, bool) {
    if let Some(s) = state.streams.iter_mut().find(|s| s.device == dev) {
        s.place = net.place;
        s.geo = net.geo;
        s.at = t;
    } else {
        if state.streams.len() >= c.max_streams.max(1) {
            if let Some((i, _)) = state.streams.iter().enumerate().min_by_key(|(_, s)| s.at) {
                state.streams.swap_remove(i);
            }
        }
        state.streams.push(StreamRec {
            device: dev,
            place: net.place,
            geo: net.geo,
            at: t,
        });
    }
    let far = net.geo.is_some_and(|g| {
        state.streams.iter().any(|s| {
            s.device != dev && s.geo.is_some_and(|sg| distance_km(sg, g) > c.min_travel_km)
        })
    });
    let mut n: u8 = 0;
    for (i, s) in state.streams.iter().enumerate() {
        if !state.streams[..i].iter().any(|o| o.place == s.place) {
            n = n.saturating_add(1);
        }
    }
    if n >= state.peak || state.peak_at < t.saturating_sub(c.window_secs) {
        state.peak = n;
        state.peak_at = t;
    }
    (u32::from(n), far)
}

/// Counts activity of a device that is not the household's at a place: every
/// attempt feeds the window's counts of foreign places and devices; only
/// watching by a device the owner verified makes the place household-like.
#[allow(clippy::too_many_arguments)]
fn note_foreign(
    state: &mut AccountState,
    pi: usize,
    dev: u64,
    portable: bool,
    is_new: bool,
    watched: bool,
    t: i64,
    c: &EngineConfig,
) {
    let day = t.div_euclid(DAY_SECS);
    let p = &mut state.places[pi];
    let newly = !p.foreign_any;
    p.foreign_any = true;
    if watched {
        if p.foreign_day != day || p.foreign_days == 0 {
            p.foreign_day = day;
            p.foreign_days = p.foreign_days.saturating_add(1);
        }
        p.foreign_devs |= 1u32 << (dev % 32);
        p.foreign_tv |= !portable;
    }
    if newly || is_new {
        let b = verdict::bucket_of(t, c);
        let entry = match state.buckets.iter().position(|x| x.0 == b) {
            Some(i) => &mut state.buckets[i],
            None => {
                if state.buckets.len() >= 6 {
                    state.buckets.remove(0);
                }
                state.buckets.push((b, 0, 0));
                let last = state.buckets.len() - 1;
                &mut state.buckets[last]
            }
        };
        entry.1 = entry.1.saturating_add(u16::from(newly));
        entry.2 = entry.2.saturating_add(u16::from(is_new));
    }
}

fn history_count(state: &AccountState, level: Level, key: u32) -> f64 {
    state
        .history
        .iter()
        .find(|h| h.0 == level as u8 && h.1 == key)
        .map(|h| f64::from(h.2))
        .unwrap_or(0.0)
}

/// Freeman et al.: p(x | population) / p(x | account), smoothed along the hierarchy.
fn likelihood_ratio(
    g: &GlobalStats,
    state: &AccountState,
    net: &NetInfo,
    ua: Option<(u32, u32, u32)>,
) -> f64 {
    const A: f64 = 1.0;
    let mut totals = [0.0f64; global::LEVELS];
    for h in &state.history {
        if let Some(t) = totals.get_mut(usize::from(h.0)) {
            *t += f64::from(h.2);
        }
    }
    let total = |l: Level| totals[l as usize];
    let chain = |levels: [(Level, u32); 3]| -> f64 {
        let [(l0, k0), (l1, k1), (l2, k2)] = levels;
        let g0 = g.p(l0, k0);
        let g1 = g.p_given(l1, k1, l0, k0);
        let g2 = g.p_given(l2, k2, l1, k1);
        let u0 = (history_count(state, l0, k0) + A * g0) / (total(l0) + A);
        let u1 = (history_count(state, l1, k1) + A * u0 * g1) / (total(l1) + A);
        let u2 = (history_count(state, l2, k2) + A * u1 * g2) / (total(l2) + A);
        let population = g0 * g1 * g2;
        if u2 > 0.0 {
            population / u2
        } else {
            1.0
        }
    };
    let mut lr = chain([
        (Level::Country, u32::from(net.country)),
        (Level::Asn, net.asn),
        (Level::Prefix, net.prefix),
    ]);
    if let Some((u, b, o)) = ua {
        lr *= chain([(Level::Os, o), (Level::Browser, b), (Level::UserAgent, u)]);
    }
    if lr.is_finite() && lr > 0.0 {
        lr
    } else {
        1.0
    }
}

/// Adds an allowed event to the account's history (the "user" side of the ratio).
fn learn_history(state: &mut AccountState, net: &NetInfo, ua: Option<(u32, u32, u32)>, cap: usize) {
    let mut add = |level: Level, key: u32| {
        if let Some(h) = state
            .history
            .iter_mut()
            .find(|h| h.0 == level as u8 && h.1 == key)
        {
            h.2 = h.2.saturating_add(1);
            return;
        }
        if state.history.len() >= cap.max(1) {
            if let Some((i, _)) = state.history.iter().enumerate().min_by_key(|(_, h)| h.2) {
                state.history.swap_remove(i);
            }
        }
        state.history.push((level as u8, key, 1));
    };
    add(Level::Country, u32::from(net.country));
    add(Level::Asn, net.asn);
    add(Level::Prefix, net.prefix);
    if let Some((u, b, o)) = ua {
        add(Level::Os, o);
        add(Level::Browser, b);
        add(Level::UserAgent, u);
    }
}
