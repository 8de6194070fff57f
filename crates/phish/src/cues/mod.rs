//! Content cues in English, French, Portuguese and Spanish.
//!
//! A cue fires when, inside one sentence, each of its word groups matches (e.g. a
//! payment word *and* a failure word). Phrases are written on accent-folded lowercase
//! words: `|` separates alternatives, a trailing `*` matches a prefix, and a space means
//! "next word, at most two words later". Requests for a password, card or bank detail
//! in a negated sentence ("we will never ask for your password") count as a safety
//! notice instead. Matching is one pass over the words.

use crate::text::Token;
use crate::ReasonCode;
use std::collections::HashMap;

mod lexicon;

pub use lexicon::{CODE_VERBS, CODE_WORDS};
use lexicon::{CUES, NEGATIONS};

struct Phrase {
    slots: u8,
    cue: u8,
    group: u8,
}

/// The compiled phrase tables. Build once (it is part of a [`crate::Checker`]).
pub struct CueMatcher {
    phrases: Vec<Phrase>,
    exact: HashMap<String, Vec<(u16, u8)>>,
    /// Keyed by the pattern's first three characters.
    prefix: HashMap<String, Vec<(String, u16, u8)>>,
    negations: Vec<&'static str>,
}

impl Default for CueMatcher {
    fn default() -> Self {
        Self::new()
    }
}

impl CueMatcher {
    pub fn new() -> Self {
        let mut m = CueMatcher {
            phrases: Vec::new(),
            exact: HashMap::new(),
            prefix: HashMap::new(),
            negations: NEGATIONS.to_vec(),
        };
        for (ci, cue) in CUES.iter().enumerate() {
            for (gi, group) in cue.groups.iter().enumerate() {
                for spec in group.iter() {
                    let pid = m.phrases.len() as u16;
                    let slots: Vec<&str> = spec.split(' ').filter(|s| !s.is_empty()).collect();
                    for (si, slot) in slots.iter().enumerate() {
                        for alt in slot.split('|') {
                            if let Some(p) = alt.strip_suffix('*') {
                                let key: String = p.chars().take(3).collect();
                                m.prefix.entry(key).or_default().push((
                                    p.to_string(),
                                    pid,
                                    si as u8,
                                ));
                            } else {
                                m.exact
                                    .entry(alt.to_string())
                                    .or_default()
                                    .push((pid, si as u8));
                            }
                        }
                    }
                    m.phrases.push(Phrase {
                        slots: slots.len() as u8,
                        cue: ci as u8,
                        group: gi as u8,
                    });
                }
            }
        }
        m
    }

    /// The cues found in `tokens` (from [`crate::text::tokenize`]), without duplicates,
    /// in the order of the cue table.
    pub fn find(&self, tokens: &[Token<'_>]) -> Vec<ReasonCode> {
        // Per phrase: next slot expected, position and sentence of the last slot matched.
        let mut state: Vec<(u8, u32, u32)> = vec![(0, 0, 0); self.phrases.len()];
        // Matched (cue, group, sentence).
        let mut matched: Vec<(u8, u8, u32)> = Vec::new();
        let mut negated: Vec<u32> = Vec::new();
        let mut hits: Vec<(u16, u8)> = Vec::new();
        for (i, tok) in tokens.iter().enumerate() {
            let i = i as u32;
            if self.negations.contains(&tok.word) && negated.last() != Some(&tok.sentence) {
                negated.push(tok.sentence);
            }
            hits.clear();
            if let Some(h) = self.exact.get(tok.word) {
                hits.extend_from_slice(h);
            }
            let key: String = tok.word.chars().take(3).collect();
            if key.chars().count() == 3 {
                if let Some(ps) = self.prefix.get(&key) {
                    for (p, pid, si) in ps {
                        if tok.word.starts_with(p.as_str()) {
                            hits.push((*pid, *si));
                        }
                    }
                }
            }
            // Later slots first, so a word that is both slot 0 and slot 1 of one phrase
            // advances a pending match before restarting it.
            hits.sort_unstable_by_key(|h| std::cmp::Reverse(h.1));
            for &(pid, si) in &hits {
                let ph = &self.phrases[pid as usize];
                let st = &mut state[pid as usize];
                let advance = si > 0 && st.0 == si && st.2 == tok.sentence && i - st.1 <= 3;
                if advance || si == 0 {
                    let next = si + 1;
                    if next == ph.slots {
                        matched.push((ph.cue, ph.group, tok.sentence));
                        *st = (0, 0, 0);
                    } else {
                        *st = (next, i, tok.sentence);
                    }
                }
            }
        }
        let mut out: Vec<ReasonCode> = Vec::new();
        matched.sort_unstable_by_key(|&(c, g, s)| (c, s, g));
        matched.dedup();
        let mut k = 0;
        while k < matched.len() {
            let (cue, _, sentence) = matched[k];
            let mut groups = 0u32;
            while k < matched.len() && matched[k].0 == cue && matched[k].2 == sentence {
                groups |= 1 << matched[k].1;
                k += 1;
            }
            let def = &CUES[cue as usize];
            if groups.count_ones() as usize == def.groups.len() {
                let reason = if def.negatable && negated.binary_search(&sentence).is_ok() {
                    ReasonCode::SafetyNotice
                } else {
                    def.reason
                };
                if !out.contains(&reason) {
                    out.push(reason);
                }
            }
        }
        out
    }
}

/// Does the text carry a one-time code: 4–8 digits with a code word anywhere, or right
/// after a verb like "use" / "enter"?
pub fn has_code(tokens: &[Token<'_>]) -> bool {
    let is_code = |w: &str| (4..=8).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_digit());
    let has_word = tokens.iter().any(|t| CODE_WORDS.contains(&t.word));
    tokens.iter().enumerate().any(|(i, t)| {
        is_code(t.word) && (has_word || (i > 0 && CODE_VERBS.contains(&tokens[i - 1].word)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{fold, tokenize};
    use ReasonCode::*;

    fn cues(text: &str) -> Vec<ReasonCode> {
        let f = fold(text);
        CueMatcher::new().find(&tokenize(&f))
    }

    #[test]
    fn cues_in_four_languages() {
        let cases: &[(&str, ReasonCode)] = &[
            ("Your payment has failed.", PaymentProblem),
            ("Votre paiement a été refusé.", PaymentProblem),
            ("O seu pagamento falhou.", PaymentProblem),
            ("Tu pago ha sido rechazado.", PaymentProblem),
            ("Your account has been suspended", AccountSuspended),
            ("Votre compte sera suspendu", AccountSuspended),
            ("A sua conta foi bloqueada", AccountSuspended),
            ("Su cuenta ha sido suspendida", AccountSuspended),
            ("Please update your payment method", UpdatePayment),
            ("Mettez à jour vos informations de paiement", UpdatePayment),
            ("Atualize o seu método de pagamento", UpdatePayment),
            ("Actualiza tu método de pago", UpdatePayment),
            ("Confirm your details here", ConfirmDetails),
            ("Confirmez vos informations", ConfirmDetails),
            ("Confirme os seus dados", ConfirmDetails),
            ("Verifica tus datos", ConfirmDetails),
            ("Act within 24 hours", Urgency),
            ("sous 24 heures", Urgency),
            ("imediatamente", Urgency),
            ("en un plazo de 24 horas", Urgency),
            ("Enter your password to continue", AsksPassword),
            ("Saisissez votre mot de passe", AsksPassword),
            ("Informe a sua senha", AsksPassword),
            ("Introduce tu contraseña", AsksPassword),
            ("Reply with the code we sent you", AsksPassword),
            ("Enter your card number and CVV", AsksCard),
            ("Please provide your IBAN", AsksBank),
            ("Indique os seus dados bancários", AsksBank),
            ("Confirm your date of birth", AsksPersonalData),
            ("Congratulations you have won a prize", PrizeOrRefund),
        ];
        for (text, want) in cases {
            assert!(cues(text).contains(want), "{text}: {:?}", cues(text));
        }
    }

    #[test]
    fn negated_requests_are_safety_notices() {
        for text in [
            "We will never ask for your password.",
            "Nous ne vous demanderons jamais votre mot de passe.",
            "Nunca pediremos a sua senha.",
            "Nunca te pediremos tu contraseña.",
            "Never share this code with anyone.",
        ] {
            let c = cues(text);
            assert!(
                c.contains(&SafetyNotice) && !c.contains(&AsksPassword),
                "{text}: {c:?}"
            );
        }
    }

    #[test]
    fn ordinary_text_has_no_cues() {
        for text in [
            "See you at 8, love",
            "Your code is 123456",
            "Le film commence à 20h",
            "Vamos ao cinema amanhã?",
        ] {
            assert!(cues(text).is_empty(), "{text}: {:?}", cues(text));
        }
    }

    #[test]
    fn finds_codes() {
        let f = fold("Your Netflix code is 482913");
        assert!(has_code(&tokenize(&f)));
        let f = fold("call 0800 now");
        assert!(!has_code(&tokenize(&f)));
    }
}
