//! Features derived from one access event: stable hashes, network prefixes,
//! the "place" a network belongs to, distances and user-agent families.
//!
//! Everything here is deterministic across runs and machines (fixed constants, no
//! random seeds), because hashes are persisted inside `AccountState`.

use crate::AccessEvent;
use std::net::IpAddr;

/// A small, fixed, word-at-a-time hash (multiply-rotate with a final avalanche).
/// Fixed constants and no per-process seed: hashes are persisted in state.
#[derive(Clone, Copy)]
pub(crate) struct StableHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl StableHasher {
    pub(crate) fn new() -> Self {
        Self(0x243f_6a88_85a3_08d3)
    }

    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(w));
        }
    }

    /// Ends one field: its length goes in, so ("ab","c") != ("a","bc").
    pub(crate) fn part(&mut self, bytes: &[u8]) {
        self.write(bytes);
        self.mix(0xff00 | bytes.len() as u64);
    }

    pub(crate) fn finish(self) -> u64 {
        // murmur3 fmix64
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// Hash of several byte strings as separate fields.
pub(crate) fn hash_parts(parts: &[&[u8]]) -> u64 {
    let mut h = StableHasher::new();
    for part in parts {
        h.part(part);
    }
    h.finish()
}

/// A quick 64-bit hash for the statistics' sketches (history, places, user agents,
/// the foreign-device bits), where two values colliding only blurs a count. It
/// collides far more often than 64 bits should on names that differ in a few
/// trailing characters (`device-{n}`: 44,444 collisions in a million), so nothing
/// that must tell two values apart uses it: devices are keyed by [`device_key`].
pub(crate) fn hash64(s: &str) -> u64 {
    hash_parts(&[s.as_bytes()])
}

/// The key of a device record, so that two devices of an account are told apart
/// whatever their names: every 8-byte word goes through murmur3's full avalanche
/// (`fmix64`) before the next is mixed in, so inputs that differ in a few trailing
/// characters, which [`hash64`] folds together, come out unrelated (none collide
/// among a million `device-{n}`; the test below).
pub(crate) fn device_key(device: &str) -> u64 {
    fn fmix64(mut h: u64) -> u64 {
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    let bytes = device.as_bytes();
    let mut h = 0x6a09_e667_f3bc_c908 ^ bytes.len() as u64;
    for c in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        h = fmix64(h ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    fmix64(h)
}

pub(crate) fn fold32(h: u64) -> u32 {
    // Truncation is the point: a 32-bit digest of a 64-bit hash.
    ((h >> 32) ^ (h & 0xffff_ffff)) as u32
}

/// Network features of one event.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NetInfo {
    /// Hash of the /24 (IPv4) or /48 (IPv6) the address is in: the "home connection".
    pub prefix: u32,
    /// Hash of the /16 (IPv4) or /32 (IPv6): the provider's block when no ASN is known.
    pub wide_prefix: u32,
    /// Autonomous system, 0 when unknown.
    pub asn: u32,
    /// Country as two ASCII letters packed in a u16, 0 when unknown.
    pub country: u16,
    /// Latitude/longitude when known and sane.
    pub geo: Option<(f32, f32)>,
    /// The place: provider (ASN, or /16 without one) in an area (city, grid cell or /16).
    pub place: u32,
}

impl NetInfo {
    pub(crate) fn of(ev: &AccessEvent) -> Self {
        // Fixed-size buffers: this runs for every event.
        let mut prefix_bytes = [0u8; 7];
        let mut wide_bytes = [0u8; 5];
        let (p_len, w_len) = match ev.ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                prefix_bytes[..4].copy_from_slice(&[4, o[0], o[1], o[2]]);
                wide_bytes[..3].copy_from_slice(&[4, o[0], o[1]]);
                (4, 3)
            }
            IpAddr::V6(v6) => {
                let o = v6.octets();
                prefix_bytes[0] = 6;
                prefix_bytes[1..7].copy_from_slice(&o[..6]);
                wide_bytes[0] = 6;
                wide_bytes[1..5].copy_from_slice(&o[..4]);
                (7, 5)
            }
        };
        let wide = &wide_bytes[..w_len];
        let prefix = fold32(hash_parts(&[&prefix_bytes[..p_len]]));
        let wide_prefix = fold32(hash_parts(&[wide]));
        let asn = ev.asn.unwrap_or(0);
        let country = ev.country.as_deref().map(pack_country).unwrap_or(0);
        let geo = Self::of_geo(ev);
        let mut h = StableHasher::new();
        if asn != 0 {
            h.part(&asn.to_le_bytes());
        } else {
            h.part(wide);
        }
        h.part(&country.to_le_bytes());
        match (&ev.city, geo) {
            (Some(city), _) if !city.is_empty() => {
                let mut buf = [0u8; 65];
                buf[0] = b'c';
                let n = city.len().min(64);
                buf[1..=n].copy_from_slice(&city.as_bytes()[..n]);
                buf[1..=n].make_ascii_lowercase();
                h.write(&buf[..=n]);
            }
            (_, Some((lat, lon))) => {
                // Half-degree grid cell (~50 km): an area, not a position.
                h.write(b"g");
                h.write(&((lat * 2.0).floor() as i32).to_le_bytes());
                h.write(&((lon * 2.0).floor() as i32).to_le_bytes());
            }
            _ => {
                h.write(b"p");
                h.write(wide);
            }
        }
        h.part(b"");
        NetInfo {
            prefix,
            wide_prefix,
            asn,
            country,
            geo,
            place: fold32(h.finish()),
        }
    }
}

impl NetInfo {
    /// The event's position when both coordinates are present and sane.
    pub(crate) fn of_geo(ev: &AccessEvent) -> Option<(f32, f32)> {
        match (ev.lat, ev.lon) {
            (Some(lat), Some(lon))
                if lat.is_finite()
                    && lon.is_finite()
                    && (-90.0..=90.0).contains(&lat)
                    && (-180.0..=180.0).contains(&lon) =>
            {
                Some((lat as f32, lon as f32))
            }
            _ => None,
        }
    }
}

pub(crate) fn pack_country(s: &str) -> u16 {
    let b = s.as_bytes();
    if b.len() != 2 {
        return 0;
    }
    u16::from(b[0].to_ascii_uppercase()) << 8 | u16::from(b[1].to_ascii_uppercase())
}

pub(crate) fn unpack_country(c: u16) -> Option<String> {
    if c == 0 {
        return None;
    }
    let bytes = [(c >> 8) as u8, (c & 0xff) as u8];
    if bytes.iter().all(|b| b.is_ascii_alphabetic()) {
        Some(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        None
    }
}

/// Distance in kilometres (equirectangular approximation: within a few percent
/// of the great circle at the distances the engine compares, and much cheaper).
pub(crate) fn distance_km(a: (f32, f32), b: (f32, f32)) -> f64 {
    let (lat1, lon1) = (f64::from(a.0).to_radians(), f64::from(a.1).to_radians());
    let (lat2, lon2) = (f64::from(b.0).to_radians(), f64::from(b.1).to_radians());
    let mut dlon = (lon2 - lon1).abs();
    if dlon > std::f64::consts::PI {
        dlon = 2.0 * std::f64::consts::PI - dlon;
    }
    let x = dlon * ((lat1 + lat2) / 2.0).cos();
    let y = lat2 - lat1;
    6371.0 * (x * x + y * y).sqrt()
}

/// User agent hierarchy as in Freeman et al.: full string -> browser -> OS.
/// Returns hashes (ua, browser, os); 0 for the parts that are absent.
pub(crate) fn ua_features(ua: Option<&str>) -> Option<(u32, u32, u32)> {
    let ua = ua?.trim();
    if ua.is_empty() {
        return None;
    }
    let ua = &ua[..floor_char_boundary(ua, 256)];
    let full = fold32(hash64(ua));
    // Browser: the last product token ("Chrome/120.0" -> "Chrome"), the usual
    // position of the engine that identifies the browser family.
    let browser = ua
        .split_whitespace()
        .rfind(|t| t.contains('/'))
        .and_then(|t| t.split('/').next())
        .map(|b| fold32(hash_parts(&[b"b", b.as_bytes()])))
        .unwrap_or(0);
    // OS: the first item inside the first parentheses ("(Linux; Android 14)" -> "Linux").
    let os = ua
        .split_once('(')
        .and_then(|(_, rest)| rest.split([';', ')']).next())
        .map(|o| fold32(hash_parts(&[b"o", o.trim().as_bytes()])))
        .unwrap_or(0);
    Some((full, browser, os))
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut i = max;
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_plausible() {
        let lisbon = (38.72, -9.14);
        let porto = (41.15, -8.61);
        let d = distance_km(lisbon, porto);
        assert!((270.0..290.0).contains(&d), "{d}");
        assert!(distance_km(lisbon, lisbon) < 0.001);
    }

    #[test]
    fn user_agent_families() {
        let a = ua_features(Some("Mozilla/5.0 (Linux; Android 14) Chrome/120.0")).unwrap();
        let b = ua_features(Some("Mozilla/5.0 (Linux; Android 13) Chrome/119.0")).unwrap();
        assert_ne!(a.0, b.0);
        assert_eq!(a.1, b.1);
        assert_eq!(a.2, b.2);
        assert!(ua_features(Some("  ")).is_none());
        assert!(ua_features(None).is_none());
    }

    #[test]
    fn countries_pack_and_unpack() {
        assert_eq!(unpack_country(pack_country("pt")).as_deref(), Some("PT"));
        assert_eq!(pack_country("PRT"), 0);
        assert_eq!(unpack_country(0), None);
    }
}

#[cfg(test)]
mod device_key_tests {
    #[test]
    fn a_million_sequential_device_names_have_a_million_keys() {
        for pattern in ["device-", "d-", "HEARTH_TEST_10681_468206953685_EVENTS:"] {
            let mut keys = std::collections::HashSet::new();
            for n in 0..1_000_000u32 {
                assert!(
                    keys.insert(super::device_key(&format!("{pattern}{n}"))),
                    "{pattern}{n}"
                );
            }
        }
    }
}
