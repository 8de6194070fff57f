//! Domains: the registered domain from the public suffix list (the `psl` crate embeds
//! the list), and how a host relates to the protected brands.

use crate::brands::{edit_distance, leet_fold, skeleton, Brand};
use crate::ReasonCode;
use unicode_security::MixedScript;

/// The registered domain of a lowercase ASCII host (`a.b.netflix.co.uk` → `netflix.co.uk`).
pub fn registered_domain(host: &str) -> Option<&str> {
    psl::domain_str(host)
}

/// Does `host` end with a suffix on the public suffix list (not just any last label)?
pub fn has_known_suffix(host: &str) -> bool {
    psl::suffix(host.as_bytes()).is_some_and(|s| s.is_known()) && registered_domain(host).is_some()
}

/// Top-level domains much used for throwaway phishing sites (cheap or free registration).
const UNUSUAL_TLDS: &[&str] = &[
    "tk",
    "ml",
    "ga",
    "cf",
    "gq",
    "xyz",
    "top",
    "club",
    "online",
    "site",
    "icu",
    "buzz",
    "live",
    "shop",
    "click",
    "link",
    "work",
    "support",
    "rest",
    "cyou",
    "monster",
    "sbs",
    "cfd",
    "bond",
    "quest",
    "lol",
    "vip",
    "win",
    "bid",
    "loan",
    "date",
    "racing",
    "review",
    "stream",
    "download",
    "gdn",
    "men",
    "kim",
    "party",
    "science",
    "trade",
    "webcam",
    "accountant",
    "cricket",
    "country",
    "faith",
    "host",
    "press",
    "space",
    "website",
    "fun",
    "uno",
    "pw",
    "su",
    "zip",
    "mov",
    "help",
    "services",
    "digital",
    "world",
    "today",
    "tech",
    "store",
    "info",
];

/// Is `tld` (lowercase, no dot) on the unusual-TLD list?
pub fn is_unusual_tld(tld: &str) -> bool {
    UNUSUAL_TLDS.contains(&tld)
}

/// Registered domains of public URL shorteners.
const SHORTENERS: &[&str] = &[
    "bit.ly",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "cutt.ly",
    "rebrand.ly",
    "shorturl.at",
    "rb.gy",
    "t.ly",
    "tiny.cc",
    "s.id",
    "v.gd",
    "bl.ink",
    "short.io",
    "qrco.de",
    "urlz.fr",
    "u.to",
    "clck.ru",
    "shorturl.com",
    "x.co",
    "soo.gd",
    "tr.im",
    "lnkd.in",
    "bitly.com",
    "tiny.one",
    "shorter.me",
    "surl.li",
    "linktr.ee",
    "2no.co",
    "gg.gg",
    "short.gy",
    "kutt.it",
    "did.li",
    "encurtador.com.br",
    "l1nk.dev",
    "acortar.link",
    "tinu.be",
];

/// Is `registered` a URL shortener's domain?
pub fn is_shortener(registered: &str) -> bool {
    SHORTENERS.contains(&registered)
}

/// What a host says about the brands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFindings {
    /// The registered domain (or the IP address).
    pub registered: String,
    /// Index of the brand this domain officially belongs to.
    pub official_brand: Option<usize>,
    /// Brands this host impersonates.
    pub impersonates: Vec<usize>,
    /// Reasons found on this host.
    pub reasons: Vec<ReasonCode>,
}

/// Judge one host (ASCII and Unicode forms, lowercase) against `brands`.
pub fn analyse_host(host: &str, unicode_host: &str, is_ip: bool, brands: &[Brand]) -> HostFindings {
    let mut f = HostFindings::default();
    if is_ip {
        f.registered = host.to_string();
        f.reasons.push(ReasonCode::IpAddressLink);
        return f;
    }
    let registered = registered_domain(host).unwrap_or(host);
    f.registered = registered.to_string();
    f.official_brand = brands.iter().position(|b| b.is_official(registered));
    if f.official_brand.is_some() {
        return f;
    }
    if is_shortener(registered) {
        f.reasons.push(ReasonCode::UrlShortener);
    }
    let tld = host.rsplit('.').next().unwrap_or("");
    if is_unusual_tld(tld) {
        f.reasons.push(ReasonCode::UnusualTld);
    }
    if host.split('.').any(|l| l.starts_with("xn--")) {
        f.reasons.push(ReasonCode::PunycodeDomain);
    }
    // Labels left of the public suffix, in Unicode form.
    let suffix_len = psl::suffix_str(host).map_or(0, |s| s.len());
    let uni_labels: Vec<&str> = unicode_host.split('.').collect();
    let suffix_labels = host
        .get(host.len().saturating_sub(suffix_len)..)
        .unwrap_or("")
        .split('.')
        .count();
    let name_labels = &uni_labels[..uni_labels.len().saturating_sub(suffix_labels)];
    if name_labels
        .iter()
        .any(|l| !l.is_ascii() && !l.is_single_script())
    {
        f.reasons.push(ReasonCode::MixedScriptDomain);
    }
    for (bi, b) in brands.iter().enumerate() {
        let mut hit: Option<ReasonCode> = None;
        // netflix.com.account-verify.io: an official domain written as a subdomain.
        for d in &b.official_domains {
            if host.starts_with(&format!("{d}.")) || host.contains(&format!(".{d}.")) {
                hit = Some(ReasonCode::BrandSubdomain);
            }
        }
        if hit.is_none() {
            hit = brand_in_labels(name_labels, b);
        }
        if let Some(r) = hit {
            f.impersonates.push(bi);
            if !f.reasons.contains(&r) {
                f.reasons.push(r);
            }
        }
    }
    f
}

/// Does a brand word appear in the name labels: plainly, as a lookalike, or once
/// confusable characters are folded?
fn brand_in_labels(labels: &[&str], b: &Brand) -> Option<ReasonCode> {
    let mut best: Option<ReasonCode> = None;
    for label in labels {
        let joined: String = label.chars().filter(|&c| c != '-').collect();
        for w in &b.domain_words {
            if joined.contains(w.as_str()) {
                return Some(ReasonCode::BrandInDomain);
            }
        }
        if best.is_some() {
            continue;
        }
        let parts: Vec<&str> = label.split('-').filter(|p| !p.is_empty()).collect();
        for w in &b.domain_words {
            let wlen = w.chars().count();
            // Confusable skeleton (UTS #39) or digit/letter-pair substitutions.
            if !label.is_ascii() {
                let sk = skeleton(&joined);
                if sk.contains(&skeleton(w)) {
                    best = Some(ReasonCode::ConfusableDomain);
                    break;
                }
            }
            let folded = leet_fold(&joined);
            if folded != joined && folded.contains(w.as_str()) {
                best = Some(ReasonCode::LookalikeDomain);
                break;
            }
            if wlen < 6 {
                continue;
            }
            // A near miss of the brand word, alone or as a hyphen-separated part.
            let max = if wlen >= 8 { 2 } else { 1 };
            let near = std::iter::once(joined.as_str())
                .chain(parts.iter().copied())
                .filter(|p| p.len() <= 40)
                .any(|p| {
                    let d = edit_distance(p, w, max);
                    (1..=max).contains(&d) || (p.len() > wlen && near_prefix(p, w, max))
                });
            if near {
                best = Some(ReasonCode::LookalikeDomain);
                break;
            }
        }
    }
    best
}

/// `p` starts with a near miss of `w` ("netfilxbilling" style, hyphen-less).
fn near_prefix(p: &str, w: &str, max: usize) -> bool {
    let pc: Vec<char> = p.chars().collect();
    let wl = w.chars().count();
    for len in wl.saturating_sub(1)..=wl + 1 {
        if len == 0 || len > pc.len() {
            continue;
        }
        let head: String = pc[..len].iter().collect();
        let d = edit_distance(&head, w, max);
        if (1..=max).contains(&d) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brands::default_brands;

    fn reasons(host: &str) -> Vec<ReasonCode> {
        let uni = idna::domain_to_unicode(host).0;
        analyse_host(host, &uni, false, &default_brands()).reasons
    }

    #[test]
    fn registered_domains() {
        assert_eq!(
            registered_domain("a.b.netflix.co.uk"),
            Some("netflix.co.uk")
        );
        assert_eq!(registered_domain("help.netflix.com"), Some("netflix.com"));
        assert!(has_known_suffix("example.com"));
        assert!(!has_known_suffix("example.notatld"));
    }

    #[test]
    fn official_domains_are_clean() {
        for h in [
            "netflix.com",
            "help.netflix.com",
            "www.disneyplus.com",
            "open.spotify.com",
            "amazon.co.uk",
        ] {
            assert!(reasons(h).is_empty(), "{h}: {:?}", reasons(h));
        }
    }

    #[test]
    fn impersonations_are_named() {
        use ReasonCode::*;
        let cases: &[(&str, ReasonCode)] = &[
            ("netflix-billing-update.com", BrandInDomain),
            ("netflix.com.account-verify.io", BrandSubdomain),
            ("netfiix.com", LookalikeDomain),
            ("n3tflix-help.net", LookalikeDomain),
            ("disnney-plus.com", LookalikeDomain),
            ("spotifyy.xyz", BrandInDomain),
            ("xn--ntflix-3of.com", ConfusableDomain),
            ("xn--ntflix-3of.com", MixedScriptDomain),
            ("account-update.xyz", UnusualTld),
            ("bit.ly", UrlShortener),
        ];
        for (host, want) in cases {
            assert!(reasons(host).contains(want), "{host}: {:?}", reasons(host));
        }
    }

    #[test]
    fn ordinary_domains_are_not_lookalikes() {
        for h in [
            "example.com",
            "bbc.co.uk",
            "publico.pt",
            "lemonde.fr",
            "elpais.es",
            "github.com",
        ] {
            assert!(reasons(h).is_empty(), "{h}: {:?}", reasons(h));
        }
    }
}
