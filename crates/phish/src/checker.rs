//! The checker: links, brands, cues, sender and model combined into one verdict.
//!
//! Score = sigmoid(calibrated model log-odds + Σ reason weights), where the reason
//! weights ([`ReasonCode::weight`]) are hand-set priors. The score maps to a label by
//! [`Thresholds`].

use crate::brands::{default_brands, leet_fold, skeleton, Brand};
use crate::cues::{has_code, CueMatcher};
use crate::domains::{analyse_host, registered_domain};
use crate::features::strip_hosts;
use crate::model::{sigmoid, Model};
use crate::text::{fold, tokenize, truncate, Token, MAX_ANALYSED_BYTES};
use crate::{urls, Label, Message, ReasonCode, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Score cut-offs: `score >= phishing` → phishing, `score >= suspicious` → suspicious.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub phishing: f64,
    pub suspicious: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            phishing: 0.7,
            suspicious: 0.35,
        }
    }
}

/// What a [`Checker`] protects and with which model.
#[derive(Debug, Clone)]
pub struct CheckerConfig {
    pub brands: Vec<Brand>,
    /// `None` = the embedded model.
    pub model: Option<Model>,
    pub thresholds: Thresholds,
}

impl Default for CheckerConfig {
    fn default() -> Self {
        CheckerConfig {
            brands: default_brands(),
            model: None,
            thresholds: Thresholds::default(),
        }
    }
}

impl CheckerConfig {
    /// Protect the platform running Hearth: replaces the default "Hearth" brand with
    /// `name` and its official domains (e.g. `("StreamCo", &["streamco.com"])`).
    pub fn with_platform(mut self, name: &str, official_domains: &[&str]) -> Self {
        self.brands.retain(|b| b.name != "Hearth");
        self.brands.push(Brand::simple(name, official_domains));
        self
    }
}

/// Checks messages. Build once, share freely (`&self` only, `Send + Sync`).
pub struct Checker {
    brands: Vec<Brand>,
    model: Model,
    thresholds: Thresholds,
    cues: CueMatcher,
    /// First word of a brand's text name → (brand, remaining words).
    names: HashMap<String, Vec<(usize, Vec<String>)>>,
    /// Names with a symbol ("disney+"), matched as substrings.
    symbol_names: Vec<(usize, String)>,
    /// Brand words of five letters or more, for disguised-name detection.
    long_words: Vec<(usize, String, String)>,
}

impl Default for Checker {
    /// The embedded model and the default brands.
    fn default() -> Self {
        Checker::new(CheckerConfig::default())
    }
}

/// Highest calibrated model log-odds for a message that offers nothing to act on (no
/// link, no number to call or text, no request for data): spammy wording alone then
/// scores below `suspicious`; a lure cue (payment failed, suspended…) lifts it there.
const NOTHING_TO_ACT_ON_CAP: f64 = 0.0;

fn is_reassuring(r: ReasonCode) -> bool {
    r.weight() < 0.0
}

impl Checker {
    pub fn new(config: CheckerConfig) -> Self {
        // The embedded model is checked by a test; a zero model is a safe fallback.
        let model = config
            .model
            .unwrap_or_else(|| Model::embedded().unwrap_or_else(|_| Model::zero(8)));
        let mut names: HashMap<String, Vec<(usize, Vec<String>)>> = HashMap::new();
        let mut symbol_names = Vec::new();
        let mut long_words = Vec::new();
        for (bi, b) in config.brands.iter().enumerate() {
            for n in &b.text_names {
                let n = fold(n);
                if n.chars().any(|c| !c.is_alphanumeric() && c != ' ') {
                    symbol_names.push((bi, n));
                    continue;
                }
                let mut words = n.split(' ').filter(|w| !w.is_empty()).map(str::to_string);
                if let Some(first) = words.next() {
                    names.entry(first).or_default().push((bi, words.collect()));
                }
            }
            for w in &b.domain_words {
                if w.chars().count() >= 5 {
                    long_words.push((bi, w.clone(), skeleton(w)));
                }
            }
        }
        Checker {
            brands: config.brands,
            model,
            thresholds: config.thresholds,
            cues: CueMatcher::new(),
            names,
            symbol_names,
            long_words,
        }
    }

    /// The brands this checker protects.
    pub fn brands(&self) -> &[Brand] {
        &self.brands
    }

    /// The text model in use.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Brands named in the text, and whether a name was disguised.
    fn brand_mentions(&self, folded: &str, tokens: &[Token<'_>]) -> (Vec<usize>, bool) {
        let mut found: Vec<usize> = Vec::new();
        let mut disguised = false;
        for (bi, n) in &self.symbol_names {
            if !found.contains(bi) && folded.contains(n.as_str()) {
                found.push(*bi);
            }
        }
        for (i, t) in tokens.iter().enumerate() {
            if let Some(cands) = self.names.get(t.word) {
                for (bi, rest) in cands {
                    let tail_ok = rest
                        .iter()
                        .enumerate()
                        .all(|(k, w)| tokens.get(i + 1 + k).is_some_and(|n| n.word == w));
                    if tail_ok && !found.contains(bi) {
                        found.push(*bi);
                    }
                }
                continue;
            }
            let len = t.word.chars().count();
            let odd = t.word.bytes().any(|b| b.is_ascii_digit() || b >= 0x80);
            if !odd || !(4..=16).contains(&len) {
                continue;
            }
            let leet = leet_fold(t.word);
            let sk = if t.word.is_ascii() {
                String::new()
            } else {
                skeleton(t.word)
            };
            for (bi, w, wsk) in &self.long_words {
                if leet == *w || (!sk.is_empty() && sk == *wsk) {
                    disguised = true;
                    if !found.contains(bi) {
                        found.push(*bi);
                    }
                }
            }
        }
        // A name spelt out letter by letter ("N e t f l i x") hides it from filters.
        let mut i = 0;
        while i < tokens.len() {
            let run = tokens[i..]
                .iter()
                .take_while(|t| t.word.chars().count() == 1)
                .count();
            if run >= 4 {
                let joined: String = tokens[i..i + run].iter().map(|t| t.word).collect();
                for (bi, w, _) in &self.long_words {
                    if joined.contains(w.as_str()) || leet_fold(&joined).contains(w.as_str()) {
                        disguised = true;
                        if !found.contains(bi) {
                            found.push(*bi);
                        }
                    }
                }
            }
            i += run.max(1);
        }
        (found, disguised)
    }

    /// Check one message.
    pub fn check(&self, m: &Message) -> Verdict {
        let text = truncate(&m.text, MAX_ANALYSED_BYTES);
        let folded = fold(text);
        let tokens = tokenize(&folded);
        let mut reasons: Vec<ReasonCode> = Vec::new();
        let add = |r: ReasonCode, reasons: &mut Vec<ReasonCode>| {
            if !reasons.contains(&r) {
                reasons.push(r);
            }
        };

        let (mut mentioned, disguised) = self.brand_mentions(&folded, &tokens);
        if disguised {
            add(ReasonCode::ObfuscatedBrand, &mut reasons);
        }

        // Sender.
        if let Some(sender) = m.sender.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let sender = truncate(sender, 512);
            let sfold = fold(sender);
            let stoks = tokenize(&sfold);
            let (named, _) = self.brand_mentions(&sfold, &stoks);
            for b in named {
                if !mentioned.contains(&b) {
                    mentioned.push(b);
                }
            }
            if let Some(domain) = sender_domain(sender) {
                let uni = idna::domain_to_unicode(&domain).0;
                let f = analyse_host(&domain, &uni, false, &self.brands);
                let lookalike = f.reasons.iter().any(|r| {
                    matches!(
                        r,
                        ReasonCode::LookalikeDomain
                            | ReasonCode::ConfusableDomain
                            | ReasonCode::BrandSubdomain
                            | ReasonCode::BrandInDomain
                    )
                });
                if lookalike {
                    add(ReasonCode::SenderLookalike, &mut reasons);
                }
                let reg = registered_domain(&domain).unwrap_or(&domain);
                if !mentioned.is_empty() {
                    if mentioned.iter().any(|&b| self.brands[b].is_official(reg)) {
                        add(ReasonCode::OfficialSender, &mut reasons);
                    } else {
                        add(ReasonCode::SenderDomainMismatch, &mut reasons);
                    }
                }
            } else if is_phone_number(sender)
                && mentioned
                    .iter()
                    .any(|&b| !self.brands[b].sms_senders.is_empty())
                && m.channel != Some(crate::Channel::Email)
            {
                add(ReasonCode::SenderPhoneNumber, &mut reasons);
            }
        }

        // Links.
        let (found, total) = urls::extract_counted(text);
        let mut foreign = 0usize;
        let mut official = 0usize;
        for u in &found {
            let f = analyse_host(&u.host, &u.unicode_host, u.is_ip, &self.brands);
            match f.official_brand {
                Some(_) if u.had_scheme || !u.obfuscated => official += 1,
                _ => foreign += 1,
            }
            for r in f.reasons {
                add(r, &mut reasons);
            }
            for b in f.impersonates {
                if !mentioned.contains(&b) {
                    mentioned.push(b);
                }
            }
            if u.obfuscated {
                add(ReasonCode::ObfuscatedLink, &mut reasons);
            }
        }
        if found.is_empty() {
            add(ReasonCode::NoLinks, &mut reasons);
        } else if foreign == 0 && official > 0 {
            add(ReasonCode::OfficialLinksOnly, &mut reasons);
        } else {
            add(ReasonCode::UnknownLink, &mut reasons);
            if !mentioned.is_empty() {
                add(ReasonCode::BrandLinkMismatch, &mut reasons);
            }
        }
        if total > 10 {
            add(ReasonCode::ManyLinks, &mut reasons);
        }

        // Content.
        for r in self.cues.find(&tokens) {
            add(r, &mut reasons);
        }
        if found.is_empty() && has_code(&tokens) {
            add(ReasonCode::CodeWithoutLink, &mut reasons);
        }

        // Model: wording only. Links are judged above by their domains; the model learnt
        // from a corpus where almost any link meant spam, so they are cut out of its input.
        let raw = if found.is_empty() {
            self.model.logit_prepared(&folded)
        } else {
            self.model
                .logit_prepared(&strip_hosts(&folded, found.iter().map(|u| u.host.as_str())))
        };
        let mut model_logit = self.model.calibrated_logit(raw).clamp(-12.0, 12.0);
        // A message with no link, no number to call or text and no request gives the
        // reader nothing to act on: spammy wording alone cannot make it phishing.
        let asks = reasons.iter().any(|r| {
            matches!(
                r,
                ReasonCode::AsksPassword
                    | ReasonCode::AsksCard
                    | ReasonCode::AsksBank
                    | ReasonCode::AsksPersonalData
            )
        });
        if found.is_empty() && !asks && !has_contact_channel(text, &tokens) {
            model_logit = model_logit.min(NOTHING_TO_ACT_ON_CAP);
        }
        if model_logit >= 0.0 {
            add(ReasonCode::SpamLanguage, &mut reasons);
        }
        let z = model_logit + reasons.iter().map(|r| r.weight()).sum::<f64>();
        let score = (sigmoid(z) * 10_000.0).round() / 10_000.0;
        let verdict = if score >= self.thresholds.phishing {
            Label::Phishing
        } else if score >= self.thresholds.suspicious {
            Label::Suspicious
        } else {
            Label::Legitimate
        };
        // Strongest evidence first; reassurances last, and only for non-phishing verdicts.
        reasons.sort_by(|a, b| b.weight().total_cmp(&a.weight()));
        if verdict == Label::Phishing {
            reasons.retain(|r| !is_reassuring(*r));
        }
        Verdict {
            verdict,
            score,
            reasons,
            urls: found.into_iter().map(|u| u.url).collect(),
        }
    }
}

/// A way to answer or pay the sender: a phone number (9+ digits, possibly grouped), a
/// short code or a number glued to a word (`69888nyt`), a premium rate (`150p`), a price
/// (`£`, `€`, `$`), or an imperative "reply/txt/call/send …". A one-time code next to a
/// code word is not a channel.
fn has_contact_channel(raw: &str, tokens: &[Token<'_>]) -> bool {
    const VERBS: &[&str] = &[
        "reply", "txt", "text", "sms", "send", "call", "ring", "dial", "appelez", "ligue", "llama",
        "responde", "responda", "repondez", "envie", "envoyez", "envia", "manda",
    ];
    const AFTER_VERB: &[&str] = &[
        "yes", "no", "stop", "end", "with", "back", "now", "to", "the", "word", "me", "us", "oui",
        "non", "sim", "nao", "si",
    ];
    if raw.contains(['£', '€', '$']) {
        return true;
    }
    let code_context = has_code(tokens);
    let digits = |w: &str| w.bytes().all(|b| b.is_ascii_digit());
    tokens.iter().enumerate().any(|(i, t)| {
        let w = t.word;
        let run = longest_digit_run(w);
        if run >= 9 {
            return true;
        }
        if digits(w) {
            // Grouped phone numbers ("0800 123 456").
            let grouped: usize = tokens[i..]
                .iter()
                .take(4)
                .take_while(|n| digits(n.word))
                .map(|n| n.word.len())
                .sum();
            if grouped >= 9 && w.starts_with('0') {
                return true;
            }
            if run >= 5 && !code_context {
                return true;
            }
        } else if run >= 5
            || (run >= 1
                && w.ends_with('p')
                && w.len() <= 5
                && w[..w.len() - 1].bytes().all(|b| b.is_ascii_digit()))
        {
            // "69888nyt", "help08714742804", "150p".
            return true;
        }
        VERBS.contains(&w)
            && tokens.get(i + 1).is_some_and(|n| {
                AFTER_VERB.contains(&n.word)
                    || (digits(n.word) && n.word.len() >= 4)
                    || n.word.len() >= 3 && n.sentence == t.sentence && i == 0
            })
    })
}

fn longest_digit_run(w: &str) -> usize {
    let (mut best, mut cur) = (0, 0);
    for b in w.bytes() {
        if b.is_ascii_digit() {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

/// The domain of an e-mail sender (`"Netflix <info@mailer.netflix.com>"` → `mailer.netflix.com`),
/// lowercase and in IDNA ASCII form.
fn sender_domain(sender: &str) -> Option<String> {
    let addr = match (sender.rfind('<'), sender.rfind('>')) {
        (Some(a), Some(b)) if a < b => &sender[a + 1..b],
        _ => sender,
    };
    let (_, domain) = addr.trim().rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.');
    if domain.is_empty() || domain.contains(char::is_whitespace) {
        return None;
    }
    idna::domain_to_ascii(domain)
        .ok()
        .filter(|d| d.contains('.'))
}

/// A phone number as an SMS sender: digits with optional `+`, spaces, dots, dashes, brackets.
fn is_phone_number(sender: &str) -> bool {
    let digits = sender.chars().filter(char::is_ascii_digit).count();
    digits >= 5
        && sender
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders() {
        assert_eq!(
            sender_domain("Netflix <info@Mailer.Netflix.com>").as_deref(),
            Some("mailer.netflix.com")
        );
        assert_eq!(
            sender_domain("x@netflix-billing.com").as_deref(),
            Some("netflix-billing.com")
        );
        assert_eq!(sender_domain("NETFLIX"), None);
        assert!(is_phone_number("+351 912 345 678"));
        assert!(!is_phone_number("Netflix"));
    }
}
