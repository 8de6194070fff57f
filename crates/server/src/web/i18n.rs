//! Page text in several languages: one TOML file per language under `i18n/`,
//! embedded at build time. Adding a language is adding its file and one line to
//! [`CATALOGS`]; a missing key falls back to English, so a partial file still works.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Language code and its file, English first (the fallback).
const CATALOGS: &[(&str, &str)] = &[
    ("en", include_str!("../../i18n/en.toml")),
    ("fr", include_str!("../../i18n/fr.toml")),
    ("pt", include_str!("../../i18n/pt.toml")),
    ("es", include_str!("../../i18n/es.toml")),
];

type Catalog = HashMap<String, String>;

/// `[nav] home = "Home"` becomes `nav.home`.
fn parse(text: &str) -> Catalog {
    fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalog) {
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::String(s) => {
                    out.insert(key, s.clone());
                }
                toml::Value::Table(t) => flatten(&key, t, out),
                other => tracing::warn!(key, value = %other, "i18n values are strings"),
            }
        }
    }
    let mut out = HashMap::new();
    match toml::from_str::<toml::Table>(text) {
        Ok(t) => flatten("", &t, &mut out),
        Err(e) => tracing::error!(error = %e, "an i18n catalogue does not parse"),
    }
    out
}

fn catalogs() -> &'static Vec<(&'static str, Catalog)> {
    static ALL: OnceLock<Vec<(&'static str, Catalog)>> = OnceLock::new();
    ALL.get_or_init(|| {
        CATALOGS
            .iter()
            .map(|(code, text)| (*code, parse(text)))
            .collect()
    })
}

/// The languages offered, as (code, name in that language).
pub fn languages() -> Vec<(&'static str, String)> {
    catalogs()
        .iter()
        .map(|(code, c)| (*code, c.get("lang_name").cloned().unwrap_or_default()))
        .collect()
}

pub fn supported(code: &str) -> Option<&'static str> {
    catalogs().iter().map(|(c, _)| *c).find(|c| *c == code)
}

/// The best supported language from an `Accept-Language` header, by q-value.
pub fn negotiate(accept_language: &str) -> Option<&'static str> {
    let mut tags: Vec<(f32, usize, &str)> = accept_language
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut bits = part.split(';');
            let tag = bits.next()?.trim();
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then_some((q, i, tag))
        })
        .collect();
    tags.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    tags.iter().find_map(|(_, _, tag)| {
        let primary = tag.split('-').next()?.to_ascii_lowercase();
        supported(&primary)
    })
}

/// A translator for one language.
#[derive(Clone, Copy, Debug)]
pub struct Tr {
    pub lang: &'static str,
}

impl Tr {
    pub fn new(lang: &str) -> Tr {
        Tr {
            lang: supported(lang).unwrap_or("en"),
        }
    }

    /// The text for `key`, in English when this language lacks it, else the key.
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        let all = catalogs();
        let find = |code: &str| {
            all.iter()
                .find(|(c, _)| *c == code)
                .and_then(|(_, cat)| cat.get(key))
                .map(String::as_str)
        };
        find(self.lang).or_else(|| find("en")).unwrap_or(key)
    }

    /// [`Tr::t`] with `{name}` placeholders filled in.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key).to_owned();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    /// A stable code (reason, standing, audit kind) as words, or the code itself.
    pub fn code(&self, prefix: &str, code: &str) -> String {
        let key = format!("{prefix}.{code}");
        let text = self.t(&key);
        if text == key {
            code.replace('_', " ")
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_english_key_and_the_same_placeholders() {
        let all = catalogs();
        let en = &all[0].1;
        assert!(en.len() > 50, "the English catalogue did not parse");
        for (code, cat) in all.iter().skip(1) {
            for (key, text) in en {
                let other = cat
                    .get(key)
                    .unwrap_or_else(|| panic!("{code}.toml lacks {key}"));
                for word in text.split('{').skip(1) {
                    let name = word.split('}').next().unwrap_or("");
                    assert!(
                        other.contains(&format!("{{{name}}}")),
                        "{code}.toml {key} lacks {{{name}}}"
                    );
                }
            }
            for key in cat.keys() {
                assert!(en.contains_key(key), "{code}.toml has unknown key {key}");
            }
        }
    }

    #[test]
    fn accept_language_picks_the_best_supported() {
        assert_eq!(negotiate("fr-FR,fr;q=0.9,en;q=0.8"), Some("fr"));
        assert_eq!(negotiate("de-DE, en;q=0.5"), Some("en"));
        assert_eq!(negotiate("de, it"), None);
        assert_eq!(negotiate("en;q=0.2, fr-CA;q=0.9"), Some("fr"));
        assert_eq!(negotiate("pt-PT, en;q=0.8"), Some("pt"));
        assert_eq!(negotiate("es-ES,es;q=0.9"), Some("es"));
        assert_eq!(Tr::new("xx").lang, "en");
        assert_eq!(Tr::new("fr").t("no.such.key"), "no.such.key");
    }
}
