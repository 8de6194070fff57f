//! Finding links the way attackers write them.
//!
//! Handles `https://…`, `www.…`, bare domains (`netflix-billing.com/login`, accepted
//! only when the top-level domain is on the public suffix list), defanged forms
//! (`hxxps`, `[.]`, `(dot)`, `[:]`), domains broken by spaces (`netflix . com`) or
//! by a line break after `-`, `.` or `/` inside a link, user-info tricks
//! (`https://netflix.com@evil.io`), raw IPv4 hosts and internationalised hosts
//! (punycode both ways, full-width dots). Work is linear in the text length.

use crate::domains;

/// Most links reported for one message; further ones are counted, not analysed.
pub const MAX_URLS: usize = 64;

/// A link found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundUrl {
    /// The link, refanged, host lowercased and in IDNA ASCII form.
    pub url: String,
    /// Host in IDNA ASCII form (`xn--…`), lowercase, no trailing dot.
    pub host: String,
    /// Host in Unicode form (for confusable and mixed-script checks).
    pub unicode_host: String,
    /// The host is an IPv4 address.
    pub is_ip: bool,
    /// The link was written with a scheme (`http://`, `https://`).
    pub had_scheme: bool,
    /// The link was defanged or split by spaces in the message.
    pub obfuscated: bool,
}

/// All links of `text`, in order of appearance, without duplicates, at most [`MAX_URLS`].
pub fn extract(text: &str) -> Vec<FoundUrl> {
    extract_counted(text).0
}

/// Links as [`extract`], and how many distinct links were seen in total.
pub fn extract_counted(text: &str) -> (Vec<FoundUrl>, usize) {
    let (chars, obf) = refang(text);
    let mut out: Vec<FoundUrl> = Vec::new();
    let mut total = 0usize;
    let n = chars.len();
    let mut i = 0usize;
    while i < n {
        // Candidates start after a delimiter.
        if is_delim(chars[i]) || (i > 0 && !is_delim(chars[i - 1])) {
            i += 1;
            continue;
        }
        let end = word_end(&chars, i);
        match parse_candidate(&chars, &obf, i, end) {
            Some(found) => {
                if !out.iter().any(|f| f.url == found.url) {
                    total += 1;
                    if out.len() < MAX_URLS {
                        out.push(found);
                    }
                }
            }
            None => {
                // A scheme may hide in the middle of a word ("link:https://…").
                if let Some(pos) = find_scheme(&chars, i, end) {
                    if pos > i {
                        if let Some(found) = parse_candidate(&chars, &obf, pos, end) {
                            if !out.iter().any(|f| f.url == found.url) {
                                total += 1;
                                if out.len() < MAX_URLS {
                                    out.push(found);
                                }
                            }
                        }
                    }
                }
            }
        }
        i = end.max(i + 1);
    }
    (out, total)
}

fn is_delim(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '<' | '>'
                | '"'
                | '\''
                | '('
                | ')'
                | '['
                | ']'
                | '{'
                | '}'
                | '|'
                | '`'
                | '«'
                | '»'
                | '“'
                | '”'
                | ','
        )
}

fn word_end(chars: &[char], start: usize) -> usize {
    let mut j = start;
    while j < chars.len() && !is_delim(chars[j]) {
        j += 1;
    }
    // A link broken by a line break right after `-`, `.` or `/` carries on.
    if j < chars.len()
        && j > start
        && matches!(chars[j - 1], '-' | '/')
        && starts_url_like(chars, start, j)
    {
        let mut k = j;
        let mut newlines = 0;
        while k < chars.len() && chars[k].is_whitespace() && k - j < 3 {
            if chars[k] == '\n' {
                newlines += 1;
            }
            k += 1;
        }
        if newlines == 1 && k < chars.len() && chars[k].is_ascii_alphanumeric() {
            // Only the whitespace is skipped; the caller reads the joined span.
            return word_end_joined(chars, k);
        }
    }
    j
}

fn word_end_joined(chars: &[char], start: usize) -> usize {
    let mut j = start;
    while j < chars.len() && !is_delim(chars[j]) {
        j += 1;
    }
    j
}

fn starts_url_like(chars: &[char], start: usize, end: usize) -> bool {
    find_scheme(chars, start, end).is_some() || lower_starts_with(chars, start, "www.")
}

fn lower_starts_with(chars: &[char], at: usize, pat: &str) -> bool {
    let mut k = at;
    for p in pat.chars() {
        match chars.get(k) {
            Some(c) if c.to_ascii_lowercase() == p => k += 1,
            _ => return false,
        }
    }
    true
}

fn find_scheme(chars: &[char], start: usize, end: usize) -> Option<usize> {
    let mut k = start;
    while k + 7 <= end {
        if (chars[k] == 'h' || chars[k] == 'H')
            && (lower_starts_with(chars, k, "http://") || lower_starts_with(chars, k, "https://"))
        {
            return Some(k);
        }
        k += 1;
    }
    None
}

/// Parse `chars[start..end]` (whitespace inside is skipped) as a link.
fn parse_candidate(chars: &[char], obf: &[bool], start: usize, end: usize) -> Option<FoundUrl> {
    let span: Vec<char> = chars[start..end]
        .iter()
        .copied()
        .filter(|c| !c.is_whitespace())
        .collect();
    let obfuscated = obf[start..end].iter().any(|&b| b);
    let s: String = span.iter().collect();
    let s = s.trim_start_matches(['.', ':', ';', '*', '-', '!', '?']);
    let s = s.trim_end_matches(|c: char| {
        matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '*' | '\'' | '"')
    });
    let lower_prefix: String = s.chars().take(8).flat_map(char::to_lowercase).collect();
    let has = |p: &str| s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    let (scheme, rest) = if has("https://") {
        (Some("https"), s.get(8..).unwrap_or(""))
    } else if has("http://") {
        (Some("http"), s.get(7..).unwrap_or(""))
    } else {
        (None, s)
    };
    // Authority ends at the first '/', '?' or '#'.
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(auth_end);
    if authority.contains('@') && scheme.is_none() {
        // An e-mail address, not a link.
        return None;
    }
    // `https://netflix.com@evil.io`: the real host is after the last '@'.
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let (host_raw, port) = match hostport.rfind(':') {
        Some(c) if hostport[c + 1..].chars().all(|d| d.is_ascii_digit()) => {
            (&hostport[..c], &hostport[c..])
        }
        _ => (hostport, ""),
    };
    if host_raw.is_empty() || host_raw.len() > 253 {
        return None;
    }
    let host_mapped: String = host_raw
        .chars()
        .map(|c| match c {
            '\u{3002}' | '\u{ff0e}' | '\u{ff61}' => '.',
            other => other,
        })
        .collect();
    let host_mapped = host_mapped.trim_end_matches('.');
    if !host_mapped
        .chars()
        .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
    {
        return None;
    }
    if host_mapped.starts_with('.') || host_mapped.contains("..") || !host_mapped.contains('.') {
        return None;
    }
    let is_ip = is_ipv4(host_mapped);
    let host = if is_ip {
        host_mapped.to_string()
    } else {
        let ascii = idna::domain_to_ascii(host_mapped).ok()?;
        if ascii.is_empty() || !ascii.contains('.') {
            return None;
        }
        ascii
    };
    if !is_ip {
        let labels_ok = host
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'));
        // A bare word.word needs a real public suffix; a link written with a scheme is a
        // link whatever its TLD (a new or private one is still where the click goes).
        if !labels_ok || (scheme.is_none() && !domains::has_known_suffix(&host)) {
            return None;
        }
        let tld = host.rsplit('.').next().unwrap_or("");
        if tld.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if scheme.is_none()
            && !lower_prefix.starts_with("www.")
            && !bare_domain_plausible(&host, path)
        {
            return None;
        }
    } else if scheme.is_none() && path.is_empty() && port.is_empty() {
        // "1.2.3.4" alone is more often a version or a score than a link.
        return None;
    }
    let unicode_host = if host.contains("xn--") {
        idna::domain_to_unicode(&host).0
    } else {
        host.clone()
    };
    let mut url = String::with_capacity(s.len() + 8);
    if let Some(sc) = scheme {
        url.push_str(sc);
        url.push_str("://");
    }
    if let Some(u) = userinfo {
        url.push_str(u);
        url.push('@');
    }
    url.push_str(&host);
    url.push_str(port);
    url.push_str(path);
    Some(FoundUrl {
        url,
        host,
        unicode_host,
        is_ip,
        had_scheme: scheme.is_some(),
        obfuscated,
    })
}

/// A bare `word.tld` is a link when its registrable label looks like a name
/// (two chars or more, not only digits) — this keeps "2.50" or "U.S." out.
fn bare_domain_plausible(host: &str, path: &str) -> bool {
    let Some(reg) = domains::registered_domain(host) else {
        return false;
    };
    let label = reg.split('.').next().unwrap_or("");
    if label.chars().count() < 2 || label.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    // A bare two-label word like "home.now" is accepted only with a common TLD or a path.
    let tld = host.rsplit('.').next().unwrap_or("");
    !path.is_empty()
        || host.matches('.').count() >= 2
        || COMMON_BARE_TLDS.contains(&tld)
        || domains::is_unusual_tld(tld)
}

/// TLDs that attackers put after a bare domain in SMS and that rarely end an ordinary word.
const COMMON_BARE_TLDS: &[&str] = &[
    "com", "net", "org", "io", "co", "info", "biz", "me", "app", "pt", "fr", "es", "br", "uk",
    "de", "it", "nl", "be", "ch", "us", "ca", "mx", "ar", "cl", "eu", "ly", "gl", "ru", "cn", "tv",
    "to", "gd", "ws", "cc", "in",
];

fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.chars().all(|c| c.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|v| v <= 255)
        })
}

/// Undo defanging and rejoin domains split by spaces. Returns the characters and,
/// per character, whether it came from such a rewrite.
fn refang(text: &str) -> (Vec<char>, Vec<bool>) {
    let src: Vec<char> = text.chars().collect();
    let mut out = Vec::with_capacity(src.len());
    let mut obf = Vec::with_capacity(src.len());
    let n = src.len();
    let mut i = 0;
    while i < n {
        let c = src[i];
        // hxxp / hXXps → http / https
        if (c == 'h' || c == 'H') && i + 4 <= n && lower_starts_with(&src, i, "hxxp") {
            out.extend(['h', 't', 't', 'p']);
            obf.extend([true; 4]);
            i += 4;
            continue;
        }
        if matches!(c, '[' | '(' | '{') {
            let close = match c {
                '[' => ']',
                '(' => ')',
                _ => '}',
            };
            let mut replaced = None;
            for (pat, rep) in [
                (".", "."),
                ("dot", "."),
                (":", ":"),
                ("://", "://"),
                ("/", "/"),
                ("at", "@"),
            ] {
                let plen = pat.chars().count();
                if lower_starts_with(&src, i + 1, pat) && src.get(i + 1 + plen) == Some(&close) {
                    // "(at)" only counts between two non-space characters.
                    if pat == "at" && (i == 0 || src[i - 1].is_whitespace()) {
                        continue;
                    }
                    replaced = Some((rep, plen + 2));
                    break;
                }
            }
            if let Some((rep, len)) = replaced {
                for r in rep.chars() {
                    out.push(r);
                    obf.push(true);
                }
                i += len;
                continue;
            }
        }
        // "netflix-billing . com" / "netflix-billing .com" / "netflix-billing. com"
        if c.is_whitespace() && i > 0 && (src[i - 1].is_alphanumeric() || src[i - 1] == '.') {
            if let Some((skip, push_dot)) = spaced_dot(&src, i) {
                if push_dot {
                    out.push('.');
                    obf.push(true);
                } else if let Some(last) = obf.last_mut() {
                    *last = true;
                }
                i = skip;
                continue;
            }
        }
        out.push(c);
        obf.push(false);
        i += 1;
    }
    (out, obf)
}

/// At a whitespace run at `i`, if the text reads `label SP* . SP* tld` (with at least one
/// space) and `tld` is one attackers use, return where the tld starts and whether a
/// '.' must be written (it is already written when the text reads `label. tld`).
fn spaced_dot(src: &[char], i: usize) -> Option<(usize, bool)> {
    let prev_dot = src[i - 1] == '.';
    if prev_dot {
        // "label. tld": the dot is already written; only a second label before it counts.
        if i < 2 || !src[i - 2].is_alphanumeric() {
            return None;
        }
    }
    let mut k = i;
    while k < src.len() && (src[k] == ' ' || src[k] == '\t') && k - i < 3 {
        k += 1;
    }
    if !prev_dot {
        if src.get(k) != Some(&'.') {
            return None;
        }
        k += 1;
        while k < src.len() && (src[k] == ' ' || src[k] == '\t') && k - i < 6 {
            k += 1;
        }
    }
    let tld_start = k;
    // Lowercase only: "Hello. Net profits" is a sentence, not a domain.
    while k < src.len() && src[k].is_ascii_lowercase() {
        k += 1;
    }
    let tld: String = src[tld_start..k].iter().collect();
    let boundary = k >= src.len() || !src[k].is_alphanumeric();
    if boundary && SPACED_TLDS.contains(&tld.as_str()) {
        return Some((tld_start, !prev_dot));
    }
    None
}

/// TLDs worth rejoining across spaces: specific enough not to match ordinary words.
const SPACED_TLDS: &[&str] = &[
    "com", "net", "org", "io", "pt", "fr", "es", "br", "info", "xyz", "top", "online", "site",
    "click", "link", "shop", "live", "icu", "vip", "ru",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<String> {
        extract(text).into_iter().map(|u| u.url).collect()
    }

    #[test]
    fn finds_links_as_attackers_write_them() {
        let cases: &[(&str, &[&str])] = &[
            (
                "Pay now at https://netflix-billing.com/login.",
                &["https://netflix-billing.com/login"],
            ),
            (
                "go to netflix-billing-update.com/pay now",
                &["netflix-billing-update.com/pay"],
            ),
            ("visit www.Netflix.com!", &["www.netflix.com"]),
            (
                "hxxps://netflix[.]com-secure[.]xyz/a",
                &["https://netflix.com-secure.xyz/a"],
            ),
            ("open netflix-help . com today", &["netflix-help.com"]),
            ("link:https://bit.ly/3abc", &["https://bit.ly/3abc"]),
            (
                "http://192.168.10.4/netflix",
                &["http://192.168.10.4/netflix"],
            ),
            (
                "https://netflix.com@evil.io/x",
                &["https://netflix.com@evil.io/x"],
            ),
            (
                "https://xn--ntflix-vya.com/",
                &["https://xn--ntflix-vya.com/"],
            ),
            ("https://nеtflix.com/", &["https://xn--ntflix-3of.com/"]),
            (
                "(see https://a.example.com/path)",
                &["https://a.example.com/path"],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                urls(text),
                want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{text}"
            );
        }
    }

    #[test]
    fn ordinary_text_has_no_links() {
        for text in [
            "Ok lar... Joking wif u oni...",
            "It costs 2.50 in the U.S. today",
            "mail me at john@example.com",
            "Go home. Now please",
            "version 1.2.3.4 is out",
            "I'm at home.now call me",
        ] {
            assert!(urls(text).is_empty(), "{text}: {:?}", urls(text));
        }
    }

    #[test]
    fn marks_defanged_links() {
        let f = extract("hxxp://evil[.]com");
        assert!(f[0].obfuscated);
        let f = extract("http://evil.com");
        assert!(!f[0].obfuscated);
    }

    #[test]
    fn line_break_inside_link_is_joined() {
        assert_eq!(
            urls("https://netflix-account-\nverify.com/x"),
            vec!["https://netflix-account-verify.com/x"]
        );
    }
}
