//! Lints every template in every language: no link of any kind, no request for a
//! password, card or bank detail, the code present (and only in code messages), user
//! input escaped in HTML and stripped of control characters elsewhere.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::codes::Purpose;
use hearth_core::{DeviceType, Timestamp};
use hearth_courier::templates::{
    render_code, render_notice, Branding, CodeContext, DeviceInfo, Locale, Notice, NoticeContext,
    Place, Rendered,
};

const LINK_MARKERS: &[&str] = &[
    "http", "www.", "://", "<a ", "<a>", "href", "src=", "<img", "<form", "<input", "<script",
    "mailto", "tel:", "bit ly", "onclick",
];
const NEVER_WORDS: &[&str] = &["never", "jamais", "nunca"];
/// Words that mean a card or a bank, in the four languages (matched as word prefixes).
const MONEY_WORDS: &[&str] = &[
    "card",
    "bank",
    "iban",
    "cvv",
    "cvc",
    "credit",
    "debit",
    "payment",
    "billing",
    "carte",
    "bancaire",
    "banque",
    "paiement",
    "cartão",
    "bancári",
    "banco",
    "pagamento",
    "tarjeta",
    "bancari",
    "pago",
    "swift",
    "bic",
];
/// Words naming a password (matched as whole words; "mot de passe" and "palavra-passe"
/// both end in "passe").
const PASSWORD_WORDS: &[&str] = &[
    "password",
    "passwords",
    "passe",
    "senha",
    "contraseña",
    "pin",
];
/// Verbs that ask someone to hand information over (matched as word prefixes).
const REQUEST_VERBS: &[&str] = &[
    // en
    "enter",
    "type",
    "confirm",
    "send",
    "reply",
    "provide",
    "give",
    "submit",
    "fill",
    "verify",
    "update",
    "share", // fr
    "saisi",
    "entrez",
    "entrer",
    "tapez",
    "taper",
    "envoy",
    "répond",
    "indiqu",
    "communiqu",
    "donn",
    "fourni",
    "renseign",
    "partag", // pt
    "digit",
    "introduz",
    "insir",
    "inserir",
    "envi",
    "respond",
    "fornec",
    "preench",
    "informe",
    "partilh", // es
    "introduc",
    "escrib",
    "ingres",
    "proporcion",
    "facilit",
    "rellen",
    "compart",
];

fn words(s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn sentences(s: &str) -> Vec<&str> {
    s.split(['.', '!', '?', '\n', ':', ';'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect()
}

/// A token like `evil.example` or `x.co`: letters or digits, a dot, then a letter.
fn domain_like(s: &str) -> Option<String> {
    for token in s.split(|c: char| c.is_whitespace() || "“”«»\"'()<>,".contains(c)) {
        let chars: Vec<char> = token.chars().collect();
        for i in 1..chars.len().saturating_sub(1) {
            if (chars[i] == '.' || chars[i] == '\u{ff0e}')
                && chars[i - 1].is_alphanumeric()
                && chars[i + 1].is_alphabetic()
            {
                return Some(token.to_owned());
            }
        }
    }
    None
}

fn lint_part(label: &str, part: &str, problems: &mut Vec<String>) {
    let lower = part.to_lowercase();
    for m in LINK_MARKERS {
        if lower.contains(m) {
            problems.push(format!("{label}: contains {m:?}"));
        }
    }
    if let Some(t) = domain_like(part) {
        problems.push(format!("{label}: domain-like token {t:?}"));
    }
    if part.contains('{') || part.contains('}') {
        problems.push(format!("{label}: unfilled placeholder"));
    }
    if part.chars().any(|c| c.is_control() && c != '\n') {
        problems.push(format!("{label}: control character"));
    }
}

fn lint_wording(label: &str, part: &str, problems: &mut Vec<String>) {
    for sentence in sentences(part) {
        let ws = words(sentence);
        let has = |list: &[&str], prefix: bool| {
            ws.iter().any(|w| {
                list.iter()
                    .any(|x| if prefix { w.starts_with(x) } else { w == x })
            })
        };
        let never = has(NEVER_WORDS, false);
        if has(MONEY_WORDS, true) && !never {
            problems.push(format!(
                "{label}: mentions card/bank outside a 'never' sentence: {sentence:?}"
            ));
        }
        if has(PASSWORD_WORDS, false) && has(REQUEST_VERBS, true) && !never {
            problems.push(format!("{label}: asks for a password: {sentence:?}"));
        }
    }
}

fn lint(label: &str, r: &Rendered, code: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    for (part, text) in [("subject", &r.subject), ("text", &r.text), ("sms", &r.sms)] {
        let l = format!("{label} {part}");
        lint_part(&l, text, &mut problems);
        lint_wording(&l, text, &mut problems);
    }
    lint_part(&format!("{label} html"), &r.html, &mut problems);
    if !r.html.starts_with("<!DOCTYPE html>") {
        problems.push(format!("{label}: html is not a document"));
    }
    if r.subject.trim().is_empty() || r.text.trim().is_empty() || r.sms.trim().is_empty() {
        problems.push(format!("{label}: empty part"));
    }
    if r.sms.chars().count() > 320 {
        problems.push(format!(
            "{label}: SMS longer than 320 characters ({})",
            r.sms.chars().count()
        ));
    }
    let never_sentence = NEVER_WORDS
        .iter()
        .any(|w| words(&r.text).contains(&(*w).to_owned()));
    if !never_sentence {
        problems.push(format!("{label}: no 'we will never ask' sentence"));
    }
    match code {
        Some(code) => {
            for (part, text) in [("text", &r.text), ("html", &r.html), ("sms", &r.sms)] {
                if !text.contains(code) {
                    problems.push(format!("{label} {part}: code missing"));
                }
            }
            if r.subject.contains(code) {
                problems.push(format!(
                    "{label}: code in the subject (shown on lock screens)"
                ));
            }
        }
        None => {
            let digits_run = r
                .text
                .split(|c: char| !c.is_ascii_digit())
                .any(|d| d.len() >= 6);
            if digits_run {
                problems.push(format!("{label}: a notice carries a code-like number"));
            }
        }
    }
    problems
}

fn device(name: &str, kind: DeviceType, place: Option<Place>) -> DeviceInfo {
    DeviceInfo {
        name: name.into(),
        kind,
        place,
    }
}

fn places() -> Vec<Option<Place>> {
    vec![
        None,
        Some(Place {
            city: Some("Lisbon".into()),
            country: Some("PT".into()),
        }),
        Some(Place {
            city: None,
            country: Some("Brazil".into()),
        }),
    ]
}

const KINDS: [DeviceType; 6] = [
    DeviceType::Tv,
    DeviceType::Mobile,
    DeviceType::Tablet,
    DeviceType::Computer,
    DeviceType::Console,
    DeviceType::Other,
];

#[test]
fn every_template_in_every_language_passes_the_lint() {
    let brand = Branding::default();
    let mut problems = Vec::new();
    let mut checked = 0;
    for locale in Locale::ALL {
        for (i, place) in places().into_iter().enumerate() {
            let kind = KINDS[i * 2 % KINDS.len()];
            let dev = device("Living room", kind, place);
            for purpose in Purpose::ALL {
                let ctx = CodeContext {
                    purpose,
                    code: "482915".into(),
                    device: dev.clone(),
                    expires_minutes: 10,
                    pass_days: 7,
                };
                let r = render_code(locale, &brand, &ctx);
                problems.extend(lint(&format!("{locale:?}/{purpose}"), &r, Some("482915")));
                // Plain ASCII keeps an English SMS in the GSM-7 alphabet: 160 characters
                // a segment instead of 70.
                if locale == Locale::En && !r.sms.is_ascii() {
                    problems.push(format!("En/{purpose} sms: not GSM-7 friendly: {}", r.sms));
                }
                checked += 1;
            }
            for notice in Notice::ALL {
                let ctx = NoticeContext {
                    notice,
                    at: Timestamp::from_secs(1_772_396_100),
                    device: dev.clone(),
                    count: 40,
                };
                let r = render_notice(locale, &brand, &ctx);
                problems.extend(lint(&format!("{locale:?}/{}", notice.as_str()), &r, None));
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 4 * 3 * (5 + Notice::ALL.len()));
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_lint_catches_what_it_is_for() {
    let ok = Rendered {
        subject: "s".into(),
        text: "Your code 123456. We never ask for your password.".into(),
        html: "<!DOCTYPE html><p>123456</p>".into(),
        sms: "123456".into(),
    };
    assert!(
        lint("ok", &ok, Some("123456")).is_empty(),
        "{:?}",
        lint("ok", &ok, Some("123456"))
    );
    let bad_texts = [
        "Your account is locked. Visit secure-login.example to unlock.",
        "Please confirm your password to keep watching.",
        "Veuillez saisir votre mot de passe.",
        "Update your card details now.",
        "Atualize os dados do seu cartão.",
        "Introduce tu contraseña aquí.",
        "Go to http colon slash slash",
        "Open www.example.org",
    ];
    for bad in bad_texts {
        let r = Rendered {
            text: format!("{bad} Code 123456. We never ask."),
            ..ok.clone()
        };
        assert!(!lint("bad", &r, Some("123456")).is_empty(), "missed: {bad}");
    }
    let link_html = Rendered {
        html: "<!DOCTYPE html><a href=x>123456</a>".into(),
        ..ok.clone()
    };
    assert!(!lint("bad", &link_html, Some("123456")).is_empty());
}

#[test]
fn device_names_are_escaped_in_html_and_stripped_elsewhere() {
    let brand = Branding::default();
    // Within the 40 characters kept of a name.
    let hostile = "<script> Kid's \"TV\" & co\u{7}\u{1b}\u{202e}x";
    for locale in Locale::ALL {
        let ctx = CodeContext {
            purpose: Purpose::DeviceVerification,
            code: "004271".into(),
            device: device(hostile, DeviceType::Tv, places().pop().flatten()),
            expires_minutes: 10,
            pass_days: 7,
        };
        let r = render_code(locale, &brand, &ctx);
        assert!(!r.html.contains("<script"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;"), "{}", r.html);
        assert!(
            r.html.contains("Kid&#39;s &quot;TV&quot; &amp; co"),
            "{}",
            r.html
        );
        for part in [&r.text, &r.sms, &r.subject] {
            assert!(
                !part.chars().any(|c| c.is_control() && c != '\n'),
                "{part:?}"
            );
            assert!(!part.contains('\u{202e}'), "{part:?}");
        }
        assert!(r.text.contains("Kid's \"TV\" & co"), "{}", r.text);
    }
}

#[test]
fn device_names_cannot_smuggle_a_link() {
    let brand = Branding::default();
    for name in [
        "Call support at evil.example/pay",
        "https://evil.example",
        "www.evil.example",
        "evil\u{ff0e}example",
        "me@evil.example",
    ] {
        for locale in Locale::ALL {
            for notice in Notice::ALL {
                let ctx = NoticeContext {
                    notice,
                    at: Timestamp::from_secs(1_772_396_100),
                    device: device(
                        name,
                        DeviceType::Mobile,
                        Some(Place {
                            city: Some("x.co".into()),
                            country: None,
                        }),
                    ),
                    count: 3,
                };
                let r = render_notice(locale, &brand, &ctx);
                for part in [&r.text, &r.html, &r.sms] {
                    assert!(!part.contains("://"), "{name}: {part}");
                    assert!(domain_like(part).is_none(), "{name}: {part}");
                }
            }
        }
    }
}

#[test]
fn locale_choice_and_fallback() {
    let brand = Branding::new("StreamCo").unwrap();
    let ctx = CodeContext {
        purpose: Purpose::PasswordReset,
        code: "777123".into(),
        device: device("Laptop", DeviceType::Computer, None),
        expires_minutes: 10,
        pass_days: 7,
    };
    let fr = render_code(Locale::from_tag("fr-FR"), &brand, &ctx);
    assert!(fr.text.contains("récupération"), "{}", fr.text);
    assert!(fr.text.contains("StreamCo"));
    let fallback = render_code(Locale::from_tag("de-DE"), &brand, &ctx);
    assert_eq!(fallback, render_code(Locale::En, &brand, &ctx));
    assert!(fallback.html.contains("lang=\"en\""));
}
