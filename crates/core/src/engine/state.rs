//! Per-account state: what the engine remembers between events.
//!
//! Bounded by construction: at most `max_devices` devices, `max_places` places,
//! `max_history` history counters, `max_streams` live streams and `applied_ids`
//! event ids, each at most 65 bytes (see [`EngineConfig`](super::EngineConfig));
//! other identifiers are stored as hashes, so a hostile client sending long names
//! does not grow it either. Times are Unix
//! seconds. Field names are short because the server persists one JSON
//! document per account and replays keep a million of them in memory.

use super::applied::AppliedIds;
use super::signals::{device_key, hash64, unpack_country};
use crate::{DeviceId, DeviceType, Timestamp};
use serde::{Deserialize, Serialize};

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
fn is_zero_u8(v: &u8) -> bool {
    *v == 0
}
fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}
fn is_false(v: &bool) -> bool {
    !*v
}

/// Everything the engine knows about one account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountState {
    #[serde(rename = "d", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) devices: Vec<DeviceRec>,
    #[serde(rename = "p", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) places: Vec<PlaceRec>,
    /// Freeman-style history: (level, value hash, count).
    #[serde(rename = "h", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) history: Vec<(u8, u32, u32)>,
    #[serde(rename = "s", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) streams: Vec<StreamRec>,
    /// Weekly-ish buckets of foreign activity: (bucket index, new foreign places, new foreign devices).
    #[serde(rename = "b", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) buckets: Vec<(i32, u16, u16)>,
    #[serde(rename = "f", default, skip_serializing_if = "is_zero_u8")]
    pub(crate) failures: u8,
    #[serde(rename = "fa", default, skip_serializing_if = "is_zero_i64")]
    pub(crate) failures_at: i64,
    /// Peak number of distinct places streaming at once, and when.
    #[serde(rename = "c", default, skip_serializing_if = "is_zero_u8")]
    pub(crate) peak: u8,
    #[serde(rename = "ca", default, skip_serializing_if = "is_zero_i64")]
    pub(crate) peak_at: i64,
    /// When the account first looked resold (for time-to-detection), 0 if never.
    #[serde(rename = "r", default, skip_serializing_if = "is_zero_i64")]
    pub(crate) resold_at: i64,
    /// A TV-class device has defined a household once: phones no longer make a provisional one.
    #[serde(rename = "t", default, skip_serializing_if = "is_false")]
    pub(crate) tv_seen: bool,
    /// The account's latest event ids with their decisions ([`AppliedIds`]).
    #[serde(rename = "a", default, skip_serializing_if = "AppliedIds::is_empty")]
    pub(crate) applied: AppliedIds,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct DeviceRec {
    #[serde(rename = "i")]
    pub id: u64,
    #[serde(rename = "t")]
    pub kind: DeviceType,
    #[serde(rename = "f")]
    pub first: i64,
    #[serde(rename = "l")]
    pub last: i64,
    /// Seen on a household connection: home (TV-class) or portable standing until then.
    #[serde(rename = "h", default, skip_serializing_if = "is_zero_i64")]
    pub home_until: i64,
    #[serde(rename = "v", default, skip_serializing_if = "is_zero_i64")]
    pub verified_until: i64,
    #[serde(rename = "r", default, skip_serializing_if = "is_zero_i64")]
    pub deferred_until: i64,
    #[serde(rename = "n", default, skip_serializing_if = "is_zero_u8")]
    pub deferrals: u8,
    #[serde(rename = "x", default, skip_serializing_if = "is_zero_i64")]
    pub travel_until: i64,
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<(f32, f32)>,
    /// The household place it was last seen at home in (to retire it on a move).
    #[serde(rename = "p", default, skip_serializing_if = "is_zero_u32")]
    pub home_place: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PlaceRec {
    #[serde(rename = "k")]
    pub key: u32,
    #[serde(rename = "a", default, skip_serializing_if = "is_zero_u32")]
    pub asn: u32,
    #[serde(rename = "c", default, skip_serializing_if = "is_zero_u16")]
    pub country: u16,
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<(f32, f32)>,
    /// City name, kept for the owner's page (capped).
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Recent /24 (or /48) prefixes where household devices were seen here.
    #[serde(rename = "x", default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<u32>,
    #[serde(rename = "f")]
    pub first: i64,
    #[serde(rename = "l")]
    pub last: i64,
    /// A household connection until then (0: not a household connection).
    #[serde(rename = "h", default, skip_serializing_if = "is_zero_i64")]
    pub home_until: i64,
    /// Household learned from TV-class devices (false: provisional, from portable ones).
    #[serde(rename = "t", default, skip_serializing_if = "is_false")]
    pub tv: bool,
    /// Confirmed by the owner with a code.
    #[serde(rename = "o", default, skip_serializing_if = "is_false")]
    pub confirmed: bool,
    /// Foreign (non-household) activity: last day index, distinct days, device bitmask, TV seen.
    #[serde(rename = "fd", default, skip_serializing_if = "is_zero_i64")]
    pub foreign_day: i64,
    #[serde(rename = "fn", default, skip_serializing_if = "is_zero_u8")]
    pub foreign_days: u8,
    #[serde(rename = "fm", default, skip_serializing_if = "is_zero_u32")]
    pub foreign_devs: u32,
    #[serde(rename = "ft", default, skip_serializing_if = "is_false")]
    pub foreign_tv: bool,
    /// Any foreign device tried here (allowed or not).
    #[serde(rename = "fa", default, skip_serializing_if = "is_false")]
    pub foreign_any: bool,
}

fn is_zero_u16(v: &u16) -> bool {
    *v == 0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct StreamRec {
    #[serde(rename = "d")]
    pub device: u64,
    #[serde(rename = "p")]
    pub place: u32,
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<(f32, f32)>,
    #[serde(rename = "t")]
    pub at: i64,
}

/// Where a device stands with the household, as shown on the owner's device page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// A TV-class (or other fixed) device seen on the household connection within the window.
    Home,
    /// A phone, tablet or computer seen at home within the window: may watch anywhere.
    Portable,
    /// On a travel pass.
    Travelling,
    /// Verified by the owner with a code, for the verified-away period.
    Verified,
    /// Chose "verify later"; inside its grace period.
    Deferred,
    /// None of the above: asked to verify when away from the household.
    Unknown,
}

/// One household connection, for the owner's page and analysts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HouseholdNetwork {
    pub asn: Option<u32>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub lat: Option<f32>,
    pub lon: Option<f32>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Until when it stays a household connection without new TV activity.
    pub expires: Timestamp,
    /// Learned from TV-class devices (false: provisional, from phones only).
    pub tv: bool,
    /// Confirmed by the owner with a code (a second home or a move).
    pub confirmed: bool,
}

impl DeviceRec {
    pub(crate) fn standing(&self, t: i64) -> Standing {
        let seen_home = self.home_until > t;
        if seen_home && self.kind.is_portable() {
            Standing::Portable
        } else if self.travel_until > t {
            Standing::Travelling
        } else if self.verified_until > t {
            Standing::Verified
        } else if self.deferred_until > t {
            Standing::Deferred
        } else if seen_home {
            Standing::Home
        } else {
            Standing::Unknown
        }
    }
}

impl AccountState {
    /// Standing of one device at `now` (`Unknown` for a device never seen or forgotten).
    pub fn device_standing(&self, device: &DeviceId, now: Timestamp) -> Standing {
        let key = device_key(device.as_str());
        let old = hash64(device.as_str());
        self.devices
            .iter()
            .find(|d| d.id == key)
            .or_else(|| self.devices.iter().find(|d| d.id == old))
            .map(|d| d.standing(super::clock(now)))
            .unwrap_or(Standing::Unknown)
    }

    /// The key of `device`'s record ([`device_key`]). A record written before
    /// devices had keys of their own, under the old 64-bit hash, is moved to the new
    /// key the first time its device is seen (with its live streams), so states
    /// written before carry on without a migration.
    pub(crate) fn device_key(&mut self, device: &str) -> u64 {
        let key = device_key(device);
        if !self.devices.iter().any(|d| d.id == key) {
            let old = hash64(device);
            if let Some(d) = self.devices.iter_mut().find(|d| d.id == old) {
                d.id = key;
                for s in self.streams.iter_mut().filter(|s| s.device == old) {
                    s.device = key;
                }
            }
        }
        key
    }

    /// The household's connections that are active at `now`, most recent first.
    pub fn households(&self, now: Timestamp) -> Vec<HouseholdNetwork> {
        let t = super::clock(now);
        let mut out: Vec<(i64, HouseholdNetwork)> = self
            .places
            .iter()
            .filter(|p| p.home_until > t)
            .map(|p| {
                (
                    p.last,
                    HouseholdNetwork {
                        asn: (p.asn != 0).then_some(p.asn),
                        country: unpack_country(p.country),
                        city: p.label.clone(),
                        lat: p.geo.map(|g| g.0),
                        lon: p.geo.map(|g| g.1),
                        first_seen: Timestamp::from_secs(p.first),
                        last_seen: Timestamp::from_secs(p.last),
                        expires: Timestamp::from_secs(p.home_until),
                        tv: p.tv,
                        confirmed: p.confirmed,
                    },
                )
            })
            .collect();
        out.sort_by_key(|h| std::cmp::Reverse(h.0));
        out.into_iter().map(|(_, h)| h).collect()
    }

    /// Number of devices remembered (bounded by the configuration's cap).
    pub fn device_count(&self) -> usize {
        self.devices.len()
    }

    /// Rough in-memory footprint in bytes (struct plus heap buffers), for benchmarks.
    pub fn approx_heap_size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.devices.capacity() * std::mem::size_of::<DeviceRec>()
            + self.places.capacity() * std::mem::size_of::<PlaceRec>()
            + self
                .places
                .iter()
                .map(|p| {
                    p.prefixes.capacity() * 4 + p.label.as_ref().map(|l| l.capacity()).unwrap_or(0)
                })
                .sum::<usize>()
            + self.history.capacity() * std::mem::size_of::<(u8, u32, u32)>()
            + self.streams.capacity() * std::mem::size_of::<StreamRec>()
            + self.buckets.capacity() * std::mem::size_of::<(i32, u16, u16)>()
    }
}
