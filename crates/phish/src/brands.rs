//! Protected brands: their names as written in messages, the words that betray them
//! inside a domain, their official domains and SMS sender names.

use serde::{Deserialize, Serialize};

/// One protected brand. Every field is lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brand {
    /// Display name ("Netflix").
    pub name: String,
    /// Names as written in text, matched on accent-folded words; a name with a space is a
    /// word sequence ("prime video"); one with a symbol is matched as a substring ("disney+").
    pub text_names: Vec<String>,
    /// ASCII words that, inside a foreign domain, betray an impersonation ("netflix").
    /// Words of six letters or more are also checked for lookalikes.
    pub domain_words: Vec<String>,
    /// Registered domains the brand really uses ("netflix.com").
    pub official_domains: Vec<String>,
    /// Alphanumeric SMS sender names the brand uses ("netflix"). When set, a phone number
    /// sending in the brand's name is a cue.
    pub sms_senders: Vec<String>,
}

impl Brand {
    /// A brand with one name used everywhere, e.g. `Brand::simple("Hearth", &["hearth.example"])`.
    pub fn simple(name: &str, official_domains: &[&str]) -> Self {
        let lower = name.to_lowercase();
        let word: String = lower
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        Brand {
            name: name.to_string(),
            text_names: vec![lower],
            domain_words: if word.is_empty() {
                Vec::new()
            } else {
                vec![word.clone()]
            },
            official_domains: official_domains.iter().map(|d| d.to_lowercase()).collect(),
            sms_senders: if word.is_empty() {
                Vec::new()
            } else {
                vec![word]
            },
        }
    }

    /// Is `registered` (a registered domain) one of this brand's?
    pub fn is_official(&self, registered: &str) -> bool {
        self.official_domains.iter().any(|d| d == registered)
    }
}

fn brand(name: &str, text: &[&str], words: &[&str], domains: &[&str], senders: &[&str]) -> Brand {
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
    Brand {
        name: name.to_string(),
        text_names: v(text),
        domain_words: v(words),
        official_domains: v(domains),
        sms_senders: v(senders),
    }
}

/// The major streaming services, plus "Hearth" itself (no official domain: configure the
/// platform's own with [`crate::CheckerConfig::with_platform`]).
pub fn default_brands() -> Vec<Brand> {
    vec![
        brand(
            "Netflix",
            &["netflix"],
            &["netflix", "nflx"],
            &[
                "netflix.com",
                "netflix.net",
                "nflxext.com",
                "nflximg.net",
                "nflxvideo.net",
                "nflxso.net",
                "netflix.ca",
            ],
            &["netflix"],
        ),
        brand(
            "Disney+",
            &["disney+", "disney plus", "disneyplus", "disney"],
            &["disneyplus", "disney"],
            &[
                "disneyplus.com",
                "disney.com",
                "disneystreaming.com",
                "bamgrid.com",
                "disney.fr",
                "disney.es",
                "disney.pt",
                "disney.co.uk",
                "go.com",
            ],
            &["disneyplus", "disney+", "disney"],
        ),
        brand(
            "Prime Video",
            &["prime video", "primevideo", "amazon prime", "amazon"],
            &["primevideo", "amazon", "amzn"],
            &[
                "primevideo.com",
                "amazon.com",
                "amazon.co.uk",
                "amazon.fr",
                "amazon.es",
                "amazon.de",
                "amazon.it",
                "amazon.com.br",
                "amazon.ca",
                "amazon.com.mx",
                "amazon.nl",
                "amzn.to",
                "amzn.eu",
                "a.co",
                "media-amazon.com",
            ],
            &["amazon", "primevideo"],
        ),
        brand(
            "Max",
            &["hbo max", "hbomax", "hbo"],
            &["hbomax", "hbo"],
            &[
                "max.com",
                "hbomax.com",
                "hbo.com",
                "hbonow.com",
                "hbogo.com",
            ],
            &["hbomax", "max", "hbo"],
        ),
        brand(
            "Hulu",
            &["hulu"],
            &["hulu"],
            &["hulu.com", "hulu.jp", "huluim.com"],
            &["hulu"],
        ),
        brand(
            "Apple TV",
            &["apple tv", "appletv", "apple", "icloud", "itunes"],
            &["appletv", "apple", "icloud", "itunes"],
            &[
                "apple.com",
                "icloud.com",
                "itunes.com",
                "me.com",
                "apple.news",
            ],
            &["apple"],
        ),
        brand(
            "Paramount+",
            &["paramount+", "paramount plus", "paramountplus", "paramount"],
            &["paramountplus", "paramount"],
            &[
                "paramountplus.com",
                "paramount.com",
                "cbs.com",
                "pplusstatic.com",
            ],
            &["paramount", "paramount+"],
        ),
        brand(
            "Spotify",
            &["spotify"],
            &["spotify"],
            &["spotify.com", "scdn.co", "spoti.fi", "spotify.link"],
            &["spotify"],
        ),
        brand(
            "DAZN",
            &["dazn"],
            &["dazn"],
            &["dazn.com", "indazn.com", "daznservices.com"],
            &["dazn"],
        ),
        brand(
            "Canal+",
            &["canal+", "canal plus", "canalplus", "mycanal"],
            &["canalplus", "mycanal"],
            &[
                "canalplus.com",
                "canal-plus.com",
                "mycanal.fr",
                "canalplus.fr",
                "canalplus.pt",
            ],
            &["canal+", "canalplus"],
        ),
        brand("Hearth", &["hearth"], &["hearth"], &[], &["hearth"]),
    ]
}

/// Fold digits and symbols attackers use for letters, and letter pairs that read as one
/// (`0`→`o`, `1`→`l`, `rn`→`m`, `vv`→`w`). Input must be lowercase.
pub fn leet_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match (c, next) {
            ('r', Some('n')) => {
                chars.next();
                out.push('m');
            }
            ('v', Some('v')) => {
                chars.next();
                out.push('w');
            }
            ('c', Some('l')) => {
                // "cl" reads as "d" in many fonts.
                chars.next();
                out.push('d');
            }
            _ => out.push(match c {
                '0' => 'o',
                '1' | '!' | '|' => 'l',
                '3' => 'e',
                '4' | '@' => 'a',
                '5' | '$' => 's',
                '7' => 't',
                '8' => 'b',
                '9' => 'g',
                other => other,
            }),
        }
    }
    out
}

/// The UTS #39 confusable skeleton of a lowercase string.
pub fn skeleton(s: &str) -> String {
    unicode_security::skeleton(s)
        .flat_map(char::to_lowercase)
        .collect()
}

/// Damerau–Levenshtein (optimal string alignment) distance, stopping early above `max`.
/// Work is bounded by `a.len() * b.len()`; callers pass short labels.
pub fn edit_distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let w = b.len() + 1;
    let mut prev2 = vec![0usize; w];
    let mut prev: Vec<usize> = (0..w).collect();
    let mut cur = vec![0usize; w];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return max + 1;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leet_and_pairs_fold() {
        assert_eq!(leet_fold("n3tf1ix"), "netflix");
        assert_eq!(leet_fold("spotlfy"), "spotlfy");
        assert_eq!(leet_fold("arnazon"), "amazon");
    }

    #[test]
    fn skeleton_folds_cyrillic() {
        assert_eq!(skeleton("nеtflix"), skeleton("netflix"));
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("netflix", "netflix", 2), 0);
        assert_eq!(edit_distance("netfilx", "netflix", 2), 1);
        assert_eq!(edit_distance("disnney", "disney", 2), 1);
        assert_eq!(edit_distance("abcdefgh", "netflix", 2), 3);
    }
}
