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

struct CueDef {
    reason: ReasonCode,
    /// Negated sentences turn this cue into [`ReasonCode::SafetyNotice`].
    negatable: bool,
    groups: &'static [&'static [&'static str]],
}

const PAY_OBJ: &[&str] = &[
    "payment*",
    "billing",
    "card",
    "charge",
    "transaction",
    "subscription",
    "renewal",
    "invoice",
    "direct debit",
    "paiement*",
    "prelevement*",
    "carte",
    "abonnement",
    "facturation",
    "facture",
    "transaccion",
    "pagamento*",
    "cobranca",
    "cartao",
    "assinatura",
    "fatura",
    "mensalidade",
    "debito",
    "pago",
    "pagos",
    "cobro",
    "tarjeta",
    "suscripcion",
    "factura",
    "domiciliacion",
];
const FAIL: &[&str] = &[
    "fail*",
    "declin*",
    "unsuccessful",
    "reject*",
    "problem",
    "issue",
    "unable",
    "could not",
    "couldn t",
    "not processed",
    "not be processed",
    "expired",
    "overdue",
    "unpaid",
    "outstanding",
    "echou*",
    "echec",
    "refus*",
    "rejet*",
    "impossible",
    "probleme",
    "expire*",
    "impaye*",
    "falh*",
    "recusad*",
    "rejeitad*",
    "problema",
    "nao foi possivel",
    "pendente",
    "em atraso",
    "expirad*",
    "fall*",
    "rechazad*",
    "no se pudo",
    "no ha podido",
    "caducad*",
    "pendiente",
    "vencid*",
    "impagad*",
];
const ACCOUNT_OBJ: &[&str] = &[
    "account",
    "membership",
    "subscription",
    "service",
    "access",
    "profile",
    "compte",
    "abonnement",
    "acces",
    "adhesion",
    "conta",
    "assinatura",
    "acesso",
    "servico",
    "perfil",
    "cuenta",
    "suscripcion",
    "acceso",
    "servicio",
    "membresia",
];
const SUSPEND: &[&str] = &[
    "suspen*",
    "block*",
    "locked",
    "lock",
    "disabled",
    "deactivat*",
    "terminat*",
    "closed",
    "on hold",
    "cancel*",
    "restricted",
    "limited",
    "paused",
    "bloqu*",
    "desactiv*",
    "ferme*",
    "resili*",
    "annul*",
    "interromp*",
    "encerrad*",
    "cancelad*",
    "pausad*",
    "restrint*",
    "limitad*",
    "cerrad*",
    "inhabilit*",
    "deshabilit*",
    "interrumpid*",
];
const UPDATE_VERB: &[&str] = &[
    "update*",
    "renew",
    "re enter",
    "reenter",
    "add",
    "change",
    "mettre a jour",
    "mettez a jour",
    "actualis*",
    "renouvel*",
    "atualiz*",
    "renov*",
    "altere",
    "actualiz*",
    "cambi*",
    "modifi*",
];
const PAY_METHOD: &[&str] = &[
    "payment*",
    "billing",
    "card",
    "paiement*",
    "carte",
    "bancaire*",
    "facturation",
    "pagamento*",
    "cartao",
    "cobranca",
    "faturacao",
    "pago",
    "tarjeta",
    "facturacion",
    "metodo de pago",
    "forma de pago",
];
const CONFIRM_VERB: &[&str] = &[
    "confirm*",
    "verify",
    "verif*",
    "validat*",
    "validez",
    "valider",
    "authenticat*",
    "confirmez",
    "confirmer",
    "verifiez",
    "verifier",
    "confirme",
    "confirmar",
    "verifique",
    "verificar",
    "valide",
    "validar",
    "confirma",
    "verifica",
    "reactivat*",
    "reactiv*",
];
const DETAILS_OBJ: &[&str] = &[
    "details",
    "information",
    "info",
    "identity",
    "account",
    "data",
    "informations",
    "coordonnees",
    "identite",
    "donnees",
    "compte",
    "dados",
    "informacoes",
    "identidade",
    "conta",
    "datos",
    "informacion",
    "identidad",
    "cuenta",
];
const URGENT: &[&str] = &[
    "24 hours",
    "48 hours",
    "24h",
    "48h",
    "24hrs",
    "24 hrs",
    "immediately",
    "urgent*",
    "asap",
    "last warning",
    "last notice",
    "last chance",
    "final notice",
    "final warning",
    "final reminder",
    "action required",
    "expires today",
    "before midnight",
    "right away",
    "as soon as possible",
    "within 24",
    "within 48",
    "within 12",
    "24 heures",
    "48 heures",
    "immediatement",
    "dernier avis",
    "dernier rappel",
    "derniere relance",
    "sans delai",
    "au plus vite",
    "avant minuit",
    "24 horas",
    "48 horas",
    "imediatamente",
    "ultimo aviso",
    "o mais rapido",
    "sem demora",
    "prazo",
    "inmediatamente",
    "lo antes posible",
    "cuanto antes",
    "sin demora",
    "plazo",
];
const REQ_VERB: &[&str] = &[
    "enter",
    "confirm*",
    "verify",
    "provide",
    "send",
    "reply",
    "type",
    "update*",
    "submit",
    "give",
    "ask*",
    "share",
    "input",
    "log in",
    "login",
    "sign in",
    "request*",
    "saisi*",
    "entrez",
    "entrer",
    "indiqu*",
    "communiqu*",
    "renseign*",
    "envoy*",
    "fourni*",
    "transmet*",
    "demand*",
    "partag*",
    "verifi*",
    "mettre a jour",
    "inform*",
    "digit*",
    "insir*",
    "envi*",
    "introduz*",
    "forne*",
    "pedi*",
    "pede*",
    "solicit*",
    "partilh*",
    "compartilh*",
    "atualiz*",
    "introduc*",
    "introduzca",
    "ingres*",
    "escrib*",
    "actualiz*",
    "facilit*",
    "proporcion*",
    "compart*",
    "valid*",
];
const PASSWORD_OBJ: &[&str] = &[
    "password*",
    "passcode",
    "login details",
    "credentials",
    "mot de passe",
    "mdp",
    "identifiants",
    "senha*",
    "palavra passe",
    "credenciais",
    "contrasena*",
    "clave",
    "credenciales",
];
const SEND_BACK_VERB: &[&str] = &[
    "send",
    "reply",
    "forward",
    "share",
    "give",
    "tell",
    "envoy*",
    "transmet*",
    "repond*",
    "partag*",
    "communiqu*",
    "donn*",
    "envi*",
    "respond*",
    "partilh*",
    "compartilh*",
    "repass*",
    "diga",
    "compart*",
    "reenvi*",
    "dile",
    "dig*",
];
const CODE_OBJ: &[&str] = &["code", "codes", "otp", "pin", "codigo", "codigos", "cod"];
const CARD_DETAIL: &[&str] = &[
    "cvv",
    "cvc",
    "cvv2",
    "card number",
    "security code",
    "expiry date",
    "expiration date",
    "numero de carte",
    "cryptogramme",
    "date d expiration",
    "numero do cartao",
    "codigo de seguranca",
    "data de validade",
    "numero de tarjeta",
    "codigo de seguridad",
    "fecha de caducidad",
    "fecha de vencimiento",
    "card details",
    "donnees de carte",
    "dados do cartao",
    "datos de la tarjeta",
    "datos de tu tarjeta",
    "dados de cartao",
];
const BANK_OBJ: &[&str] = &[
    "iban",
    "bank details",
    "bank account",
    "online banking",
    "bank login",
    "sort code",
    "routing number",
    "coordonnees bancaires",
    "rib",
    "compte bancaire",
    "dados bancarios",
    "conta bancaria",
    "homebanking",
    "nib",
    "datos bancarios",
    "cuenta bancaria",
    "banca online",
    "banca en linea",
];
const PERSONAL_OBJ: &[&str] = &[
    "date of birth",
    "social security",
    "ssn",
    "national insurance",
    "passport",
    "id number",
    "driving licence",
    "date de naissance",
    "securite sociale",
    "carte d identite",
    "data de nascimento",
    "nif",
    "cpf",
    "cartao de cidadao",
    "numero de contribuinte",
    "fecha de nacimiento",
    "dni",
    "nie",
    "numero de identificacion",
    "seguridad social",
    "pasaporte",
    "passaporte",
];
const PRIZE: &[&str] = &[
    "you have won",
    "you ve won",
    "you won",
    "winner",
    "congratulations",
    "prize",
    "claim your",
    "refund",
    "reward",
    "cash prize",
    "free gift",
    "felicitations",
    "vous avez gagne",
    "gagnant",
    "remboursement",
    "cadeau",
    "recompense",
    "parabens",
    "ganhou",
    "premio",
    "reembolso",
    "recompensa",
    "brinde",
    "felicidades",
    "enhorabuena",
    "has ganado",
    "ganador",
    "regalo",
];

const CUES: &[CueDef] = &[
    CueDef {
        reason: ReasonCode::PaymentProblem,
        negatable: false,
        groups: &[PAY_OBJ, FAIL],
    },
    CueDef {
        reason: ReasonCode::AccountSuspended,
        negatable: false,
        groups: &[ACCOUNT_OBJ, SUSPEND],
    },
    CueDef {
        reason: ReasonCode::UpdatePayment,
        negatable: false,
        groups: &[UPDATE_VERB, PAY_METHOD],
    },
    CueDef {
        reason: ReasonCode::ConfirmDetails,
        negatable: false,
        groups: &[CONFIRM_VERB, DETAILS_OBJ],
    },
    CueDef {
        reason: ReasonCode::Urgency,
        negatable: false,
        groups: &[URGENT],
    },
    CueDef {
        reason: ReasonCode::AsksPassword,
        negatable: true,
        groups: &[REQ_VERB, PASSWORD_OBJ],
    },
    CueDef {
        reason: ReasonCode::AsksPassword,
        negatable: true,
        groups: &[SEND_BACK_VERB, CODE_OBJ],
    },
    CueDef {
        reason: ReasonCode::AsksCard,
        negatable: true,
        groups: &[CARD_DETAIL],
    },
    CueDef {
        reason: ReasonCode::AsksBank,
        negatable: true,
        groups: &[REQ_VERB, BANK_OBJ],
    },
    CueDef {
        reason: ReasonCode::AsksPersonalData,
        negatable: true,
        groups: &[REQ_VERB, PERSONAL_OBJ],
    },
    CueDef {
        reason: ReasonCode::PrizeOrRefund,
        negatable: false,
        groups: &[PRIZE],
    },
];

/// Words that negate a request in the same sentence.
const NEGATIONS: &[&str] = &[
    "never", "not", "don", "dont", "no", "jamais", "pas", "nunca", "nao", "jamas", "nem", "ni",
];

/// Words that announce a one-time code.
pub const CODE_WORDS: &[&str] = &["code", "codigo", "cod", "otp", "pin", "passcode", "token"];

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
    /// in the order of [`CUES`].
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

/// Does the text carry a one-time code (4–8 digits next to a code word)?
pub fn has_code(tokens: &[Token<'_>]) -> bool {
    let has_word = tokens.iter().any(|t| CODE_WORDS.contains(&t.word));
    has_word
        && tokens
            .iter()
            .any(|t| (4..=8).contains(&t.word.len()) && t.word.bytes().all(|b| b.is_ascii_digit()))
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
