//! Campaign grouping primitives (pure; the store persists campaigns built with them).
//!
//! A report's [`Fingerprint`] holds the registered domains of its links (minus the
//! brands' official domains and URL shorteners, which many campaigns share) and two
//! sketches of its normalised text (lowercase, accents folded, numbers and links
//! removed, word 3-shingles): a 64-bit SimHash and a 32-value MinHash. Two reports
//! belong to the same campaign when they share a link domain or their texts are near
//! duplicates. A [`Campaign`] keeps the union of its domains and a few exemplar
//! fingerprints, and [`Campaign::matches`] decides whether a new report joins it.

use crate::brands::{default_brands, Brand};
use crate::domains::{is_shortener, registered_domain};
use crate::text::{fold, truncate, words, MAX_ANALYSED_BYTES};
use crate::urls;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Number of MinHash values.
pub const MINHASH_SIZE: usize = 32;
/// Estimated Jaccard similarity at or above which two texts are near duplicates.
pub const JACCARD_THRESHOLD: f64 = 0.5;
/// SimHash Hamming distance at or below which two texts are near duplicates.
pub const SIMHASH_MAX_DISTANCE: u32 = 6;
/// Shingles a text needs before its sketches are trusted.
pub const MIN_SHINGLES: u32 = 4;
/// Exemplars a [`Campaign`] keeps.
pub const MAX_EXEMPLARS: usize = 8;

/// What identifies one report, for grouping. Serializable so it can be stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Registered domains of the links, sorted, without official brand domains and shorteners.
    pub domains: Vec<String>,
    /// 64-bit SimHash of the text's word 3-shingles.
    pub simhash: u64,
    /// MinHash of the shingles (empty when the text has no words).
    pub minhash: Vec<u32>,
    /// Number of distinct shingles.
    pub shingles: u32,
}

fn fnv64(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fingerprint of a report's text, with the default brands.
pub fn fingerprint(text: &str) -> Fingerprint {
    fingerprint_with(text, &default_brands())
}

/// Fingerprint of a report's text; links to `brands`' official domains are ignored.
pub fn fingerprint_with(text: &str, brands: &[Brand]) -> Fingerprint {
    let text = truncate(text, MAX_ANALYSED_BYTES);
    let found = urls::extract(text);
    let mut domains = BTreeSet::new();
    let mut link_words: BTreeSet<String> = BTreeSet::new();
    for u in &found {
        let reg = if u.is_ip {
            u.host.as_str()
        } else {
            registered_domain(&u.host).unwrap_or(&u.host)
        };
        for w in words(&fold(&u.url)) {
            link_words.insert(w.to_string());
        }
        if is_shortener(reg) || brands.iter().any(|b| b.is_official(reg)) {
            continue;
        }
        domains.insert(reg.to_string());
    }
    let folded = fold(text);
    // Numbers (codes, amounts, phone numbers) change between messages of one campaign.
    let toks: Vec<&str> = words(&folded)
        .filter(|w| !w.bytes().all(|b| b.is_ascii_digit()) && !link_words.contains(*w))
        .collect();
    let mut shingles: Vec<u64> = if toks.len() >= 3 {
        toks.windows(3)
            .map(|w| fnv64(&format!("{} {} {}", w[0], w[1], w[2])))
            .collect()
    } else {
        toks.iter().map(|w| fnv64(w)).collect()
    };
    shingles.sort_unstable();
    shingles.dedup();
    let mut minhash = if shingles.is_empty() {
        Vec::new()
    } else {
        vec![u32::MAX; MINHASH_SIZE]
    };
    let mut counts = [0i32; 64];
    for &s in &shingles {
        for (i, m) in minhash.iter_mut().enumerate() {
            let h = (mix64(s ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 32) as u32;
            if h < *m {
                *m = h;
            }
        }
        let h = mix64(s);
        for (bit, c) in counts.iter_mut().enumerate() {
            *c += if h >> bit & 1 == 1 { 1 } else { -1 };
        }
    }
    let simhash = counts.iter().enumerate().fold(
        0u64,
        |acc, (bit, &c)| if c > 0 { acc | 1 << bit } else { acc },
    );
    Fingerprint {
        domains: domains.into_iter().collect(),
        simhash,
        minhash,
        shingles: shingles.len() as u32,
    }
}

/// Estimated Jaccard similarity of two texts' shingle sets (0 when either is empty).
pub fn text_similarity(a: &Fingerprint, b: &Fingerprint) -> f64 {
    if a.minhash.is_empty() || a.minhash.len() != b.minhash.len() {
        return 0.0;
    }
    let same = a
        .minhash
        .iter()
        .zip(&b.minhash)
        .filter(|(x, y)| x == y)
        .count();
    same as f64 / a.minhash.len() as f64
}

/// Are the two texts near duplicates?
pub fn near_duplicate(a: &Fingerprint, b: &Fingerprint) -> bool {
    if a.shingles < MIN_SHINGLES || b.shingles < MIN_SHINGLES {
        // Very short texts: only an exact match of the sketches counts.
        return !a.minhash.is_empty() && a.minhash == b.minhash;
    }
    text_similarity(a, b) >= JACCARD_THRESHOLD
        || (a.simhash ^ b.simhash).count_ones() <= SIMHASH_MAX_DISTANCE
}

/// Do two reports belong to the same campaign: a shared link domain, or near-duplicate text?
pub fn same_campaign(a: &Fingerprint, b: &Fingerprint) -> bool {
    a.domains.iter().any(|d| b.domains.binary_search(d).is_ok()) || near_duplicate(a, b)
}

/// What the store keeps per campaign to decide whether new reports join it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// Every link domain seen in the campaign's reports.
    pub domains: BTreeSet<String>,
    /// The first reports' fingerprints (at most [`MAX_EXEMPLARS`]).
    pub exemplars: Vec<Fingerprint>,
    /// Reports added.
    pub reports: u64,
}

impl Campaign {
    /// A campaign started by one report.
    pub fn new(first: Fingerprint) -> Self {
        let mut c = Campaign::default();
        c.add(first);
        c
    }

    /// Does this report join the campaign?
    pub fn matches(&self, f: &Fingerprint) -> bool {
        f.domains.iter().any(|d| self.domains.contains(d))
            || self.exemplars.iter().any(|e| near_duplicate(e, f))
    }

    /// Add a report (its domains always; its fingerprint while there is room).
    pub fn add(&mut self, f: Fingerprint) {
        self.domains.extend(f.domains.iter().cloned());
        self.reports += 1;
        if self.exemplars.len() < MAX_EXEMPLARS {
            self.exemplars.push(f);
        }
    }
}

/// Index of the first campaign `f` joins, if any.
pub fn find_campaign(campaigns: &[Campaign], f: &Fingerprint) -> Option<usize> {
    campaigns.iter().position(|c| c.matches(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_domain_joins() {
        let a = fingerprint("Netflix: payment failed, update at https://nflx-pay.com/a1");
        let b = fingerprint("Votre compte est suspendu : nflx-pay.com/b2");
        assert_eq!(a.domains, vec!["nflx-pay.com"]);
        assert!(same_campaign(&a, &b));
    }

    #[test]
    fn near_duplicate_text_with_other_domain_and_code_joins() {
        let a = fingerprint("Your Netflix account is on hold because your last payment failed. Update your card within 24 hours at https://one-domain.xyz/x");
        let b = fingerprint("Your Netflix account is on hold because your last payment failed. Update your card within 48 hours at https://other-domain.top/y");
        assert!(a.domains != b.domains);
        assert!(
            same_campaign(&a, &b),
            "similarity {}",
            text_similarity(&a, &b)
        );
    }

    #[test]
    fn unrelated_reports_stay_apart() {
        let a = fingerprint(
            "Your Netflix account is on hold, update your card at https://one-domain.xyz",
        );
        let b = fingerprint("Congratulations! You won a free cruise, call now to claim your prize");
        let c = fingerprint("Spotify: confirm your details at https://bit.ly/abc");
        let d = fingerprint("Disney+: verify your account at https://bit.ly/xyz");
        assert!(!same_campaign(&a, &b));
        // A shared shortener or an official domain is not a campaign.
        assert!(c.domains.is_empty());
        assert!(!same_campaign(&c, &d));
    }

    #[test]
    fn campaigns_grow_and_match() {
        let mut c = Campaign::new(fingerprint("pay at https://evil-one.com now"));
        assert!(c.matches(&fingerprint("hxxps://evil-one[.]com/login please")));
        c.add(fingerprint("the same lure at https://evil-two.com"));
        assert!(c.matches(&fingerprint("another text, link evil-two.com/x")));
        assert_eq!(c.reports, 2);
        assert_eq!(
            find_campaign(&[c], &fingerprint("hello there, nothing to see")),
            None
        );
    }

    #[test]
    fn fingerprints_serialize() {
        let f = fingerprint("Update your card at https://evil-one.com");
        let back: Fingerprint = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(f, back);
    }
}
