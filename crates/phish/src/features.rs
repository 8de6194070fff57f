//! Hashed features for the text model: word unigrams and bigrams (numbers reduced to
//! their shape, `#d11` for an 11-digit number) and character 3-, 4- and 5-grams of the
//! folded text with digits mapped to `0`. Each feature is hashed (FNV-1a) into a
//! table of `2^dim_log2` weights; every feature of a message gets the value `1/sqrt(n)`.

use crate::text::{fold, truncate, MAX_ANALYSED_BYTES};

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

#[inline]
fn mix(h: u32, v: u32) -> u32 {
    // FNV-1a on the four bytes of `v`, unrolled.
    let mut h = h;
    h = (h ^ (v & 0xff)).wrapping_mul(FNV_PRIME);
    h = (h ^ ((v >> 8) & 0xff)).wrapping_mul(FNV_PRIME);
    h = (h ^ ((v >> 16) & 0xff)).wrapping_mul(FNV_PRIME);
    (h ^ (v >> 24)).wrapping_mul(FNV_PRIME)
}

#[inline]
fn finish(h: u32) -> u32 {
    // A final avalanche so low bits (the table index) depend on every input byte.
    let mut h = h;
    h ^= h >> 16;
    h = h.wrapping_mul(0x7feb_352d);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846c_a68b);
    h ^ (h >> 16)
}

fn hash_str(seed: u32, s: &str) -> u32 {
    let mut h = mix(FNV_OFFSET, seed);
    for b in s.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(FNV_PRIME);
    }
    h
}

/// `text` folded, without the whitespace-separated chunks that hold a link: the model
/// judges wording; links are judged by their domains (see [`crate::domains`]).
pub fn without_links(text: &str) -> String {
    let text = truncate(text, MAX_ANALYSED_BYTES);
    let folded = fold(text);
    let found = crate::urls::extract(text);
    if found.is_empty() {
        return folded;
    }
    strip_hosts(&folded, found.iter().map(|u| u.host.as_str()))
}

/// `folded` without the whitespace-separated chunks that contain one of `hosts` (ASCII
/// lowercase; a chunk is compared after IDNA-free lowercasing, so punycode hosts written
/// in Unicode are matched through their first ASCII label only when present).
pub fn strip_hosts<'a>(folded: &str, hosts: impl Iterator<Item = &'a str>) -> String {
    let hosts: Vec<&str> = hosts.collect();
    let mut out = String::with_capacity(folded.len());
    for chunk in folded.split_whitespace() {
        let linky = hosts.iter().any(|h| chunk.contains(h))
            || chunk.contains("http")
            || chunk.contains("www.")
            || chunk.contains("[.]");
        if !linky {
            out.push_str(chunk);
            out.push(' ');
        }
    }
    out
}

/// Append the feature indices of `text` (masked to `2^dim_log2`) to `out`.
pub fn extract(text: &str, dim_log2: u32, out: &mut Vec<u32>) {
    let mask = (1u32 << dim_log2.min(31)) - 1;
    let folded = fold(truncate(text, MAX_ANALYSED_BYTES));
    // Word unigrams and bigrams.
    let mut prev: Option<u32> = None;
    for w in crate::text::words(&folded) {
        let h = if w.bytes().all(|b| b.is_ascii_digit()) {
            mix(FNV_OFFSET ^ 0x5151, w.len().min(12) as u32)
        } else if w.chars().count() > 30 {
            mix(FNV_OFFSET ^ 0x7777, 30)
        } else {
            hash_str(1, w)
        };
        out.push(finish(h) & mask);
        if let Some(p) = prev {
            out.push(finish(mix(mix(p, 0xb16a), h)) & mask);
        }
        prev = Some(h);
    }
    // Character n-grams over the folded text, whitespace runs as one space.
    let mut ring = [u32::from(b' '); 5];
    let mut len = 0usize;
    let mut last_space = true;
    for c in folded.chars() {
        let c = if c.is_whitespace() {
            if last_space {
                continue;
            }
            last_space = true;
            ' '
        } else {
            last_space = false;
            if c.is_ascii_digit() {
                '0'
            } else {
                c
            }
        };
        ring.rotate_left(1);
        ring[4] = c as u32;
        len += 1;
        for n in 3..=5usize {
            if len < n {
                break;
            }
            let mut h = mix(FNV_OFFSET, 0xc0 + n as u32);
            for &v in &ring[5 - n..] {
                h = mix(h, v);
            }
            out.push(finish(h) & mask);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        extract("Your Netflix payment failed: 07700900123", 18, &mut a);
        extract("Your Netflix payment failed: 07700900123", 18, &mut b);
        assert_eq!(a, b);
        assert!(a.iter().all(|&i| i < (1 << 18)));
        assert!(a.len() > 50);
    }

    #[test]
    fn numbers_are_shapes() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        extract("call 0906", 18, &mut a);
        extract("call 1234", 18, &mut b);
        assert_eq!(a, b);
    }
}
