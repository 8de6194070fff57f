//! Message templates: the code messages of each [`Purpose`] and the security notices, as
//! e-mail (subject, text, HTML) and SMS, in English, French, Portuguese and Spanish.
//!
//! The wording lives in one data table per language (`en.rs`, `fr.rs`, `pt.rs`, `es.rs`);
//! this file only fills placeholders. Messages carry a code and nothing to type it into:
//! no link, and no request for a password, card or bank detail (`tests/templates_lint.rs`
//! checks every template in every language). Device names and places are user or GeoIP
//! input: control characters and link-like punctuation are removed, and HTML is escaped.

mod en;
mod es;
mod fr;
mod pt;

use hearth_core::codes::Purpose;
use hearth_core::outbox::{NewOutboxMessage, OutboxChannel};
use hearth_core::{DeviceType, Timestamp};
use serde::{Deserialize, Serialize};

/// The languages templates exist in. Anything else falls back to English.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Locale {
    #[default]
    En,
    Fr,
    Pt,
    Es,
}

impl Locale {
    pub const ALL: [Locale; 4] = [Locale::En, Locale::Fr, Locale::Pt, Locale::Es];

    /// Reads an account locale such as `fr`, `pt-BR` or `es_MX`; unknown or empty → English.
    pub fn from_tag(tag: &str) -> Locale {
        let lang = tag
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match lang.as_str() {
            "fr" => Locale::Fr,
            "pt" => Locale::Pt,
            "es" => Locale::Es,
            _ => Locale::En,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
            Locale::Pt => "pt",
            Locale::Es => "es",
        }
    }

    fn table(self) -> &'static Lang {
        match self {
            Locale::En => &en::LANG,
            Locale::Fr => &fr::LANG,
            Locale::Pt => &pt::LANG,
            Locale::Es => &es::LANG,
        }
    }
}

/// The security notices of issue 9. None carries a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// A device signed in for the first time from the home connection (calm wording).
    NewDeviceHome,
    /// A device signed in for the first time away from home.
    NewDeviceAway,
    /// Many devices signed in at once: one digest instead of one message each.
    NewDevicesDigest,
    PasswordChanged,
    PasswordReset,
    RecoveryContactChanged,
    AllDevicesSignedOut,
    ClassifiedShared,
    ClassifiedResold,
    /// A device outside the household was asked to verify.
    VerificationRequested,
    /// A device chose to verify later (grace period).
    VerifyLaterUsed,
    /// A device was verified with a code.
    DeviceVerified,
    /// Many wrong passwords were tried on the account in a short time (credential
    /// stuffing or guessing against it); password sign-in is paused for a while.
    SignInAttack,
}

impl Notice {
    pub const ALL: [Notice; 13] = [
        Notice::NewDeviceHome,
        Notice::NewDeviceAway,
        Notice::NewDevicesDigest,
        Notice::PasswordChanged,
        Notice::PasswordReset,
        Notice::RecoveryContactChanged,
        Notice::AllDevicesSignedOut,
        Notice::ClassifiedShared,
        Notice::ClassifiedResold,
        Notice::VerificationRequested,
        Notice::VerifyLaterUsed,
        Notice::DeviceVerified,
        Notice::SignInAttack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Notice::NewDeviceHome => "new_device_home",
            Notice::NewDeviceAway => "new_device_away",
            Notice::NewDevicesDigest => "new_devices_digest",
            Notice::PasswordChanged => "password_changed",
            Notice::PasswordReset => "password_reset",
            Notice::RecoveryContactChanged => "recovery_contact_changed",
            Notice::AllDevicesSignedOut => "all_devices_signed_out",
            Notice::ClassifiedShared => "classified_shared",
            Notice::ClassifiedResold => "classified_resold",
            Notice::VerificationRequested => "verification_requested",
            Notice::VerifyLaterUsed => "verify_later_used",
            Notice::DeviceVerified => "device_verified",
            Notice::SignInAttack => "sign_in_attack",
        }
    }

    fn index(self) -> usize {
        match self {
            Notice::NewDeviceHome => 0,
            Notice::NewDeviceAway => 1,
            Notice::NewDevicesDigest => 2,
            Notice::PasswordChanged => 3,
            Notice::PasswordReset => 4,
            Notice::RecoveryContactChanged => 5,
            Notice::AllDevicesSignedOut => 6,
            Notice::ClassifiedShared => 7,
            Notice::ClassifiedResold => 8,
            Notice::VerificationRequested => 9,
            Notice::VerifyLaterUsed => 10,
            Notice::DeviceVerified => 11,
            Notice::SignInAttack => 12,
        }
    }
}

fn purpose_index(p: Purpose) -> usize {
    match p {
        Purpose::DeviceVerification => 0,
        Purpose::SignInCode => 1,
        Purpose::PasswordReset => 2,
        Purpose::HouseholdUpdate => 3,
        Purpose::TravelPass => 4,
    }
}

/// One message's wording in one language. Placeholders: `{service}`, `{device}`,
/// `{device_type}`, `{place}` (a whole " near …" fragment, or nothing), `{minutes}`,
/// `{days}`, `{when}`, `{count}`, and `{code}`, which in `lines` stands alone on its line.
pub(crate) struct Text {
    pub subject: &'static str,
    pub lines: &'static [&'static str],
    pub sms: &'static str,
}

/// A language's table.
pub(crate) struct Lang {
    /// Tv, Mobile, Tablet, Computer, Console, Other.
    pub device_types: [&'static str; 6],
    /// Inserted for `{place}` when a place is known.
    pub near: &'static str,
    /// Added after the lines of every code message.
    pub code_not_you: &'static str,
    /// Added after every message: what to do if it was not you, without any link.
    pub not_you: &'static [&'static str],
    /// Added last to every e-mail.
    pub never: &'static str,
    /// Added last to every SMS.
    pub sms_never: &'static str,
    /// In [`Purpose`] order: device verification, sign-in code, password reset,
    /// household update, travel pass.
    pub codes: [Text; 5],
    /// In [`Notice::index`] order.
    pub notices: [Text; 13],
}

/// The service's name as shown in messages. It must not look like a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branding {
    service: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("the service name must be 1 to 40 letters, digits, spaces or - _ ' & (no dots, slashes, colons or @, so it never reads as a link): {0:?}")]
    ServiceName(String),
}

impl Default for Branding {
    fn default() -> Self {
        Self {
            service: "Hearth".to_owned(),
        }
    }
}

impl Branding {
    pub fn new(service: &str) -> Result<Self, TemplateError> {
        let s = service.trim();
        let ok = !s.is_empty()
            && s.chars().count() <= 40
            && s.chars().all(|c| {
                c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '\'' | '&' | '+' | '!')
            });
        if ok {
            Ok(Self {
                service: s.to_owned(),
            })
        } else {
            Err(TemplateError::ServiceName(service.to_owned()))
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }
}

/// Where a device was, approximately (from GeoIP or the event).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub city: Option<String>,
    pub country: Option<String>,
}

/// The device a message is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// As the member named it: untrusted.
    pub name: String,
    pub kind: DeviceType,
    pub place: Option<Place>,
}

/// What a code message needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeContext {
    pub purpose: Purpose,
    pub code: String,
    pub device: DeviceInfo,
    pub expires_minutes: i64,
    /// Length of a travel pass, for [`Purpose::TravelPass`].
    pub pass_days: u32,
}

/// What a notice needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeContext {
    pub notice: Notice,
    /// When it happened (for a digest: since when).
    pub at: Timestamp,
    /// The device concerned (for a digest: the latest one).
    pub device: DeviceInfo,
    /// For a digest: how many devices.
    pub count: u32,
}

/// A message ready to go: e-mail parts and the SMS body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sms: String,
}

impl Rendered {
    /// The outbox entry for an e-mail to `to`.
    pub fn email(&self, to: &str, purpose: &str, dedupe_key: Option<String>) -> NewOutboxMessage {
        NewOutboxMessage {
            channel: OutboxChannel::Email,
            to: to.to_owned(),
            subject: Some(self.subject.clone()),
            body_text: self.text.clone(),
            body_html: Some(self.html.clone()),
            purpose: purpose.to_owned(),
            dedupe_key,
        }
    }

    /// The outbox entry for a text message to `to` (E.164).
    pub fn sms(&self, to: &str, purpose: &str, dedupe_key: Option<String>) -> NewOutboxMessage {
        NewOutboxMessage {
            channel: OutboxChannel::Sms,
            to: to.to_owned(),
            subject: None,
            body_text: self.sms.clone(),
            body_html: None,
            purpose: purpose.to_owned(),
            dedupe_key,
        }
    }
}

/// Renders the message carrying a one-time code.
pub fn render_code(locale: Locale, brand: &Branding, ctx: &CodeContext) -> Rendered {
    let lang = locale.table();
    let text = lang.codes.get(purpose_index(ctx.purpose));
    let code: String = ctx.code.chars().filter(char::is_ascii_digit).collect();
    let vars = Vars::new(lang, brand, &ctx.device)
        .with("code", code)
        .with("minutes", ctx.expires_minutes.max(1).to_string())
        .with("days", ctx.pass_days.to_string());
    render(locale, lang, text, &vars, &[lang.code_not_you])
}

/// Renders a security notice.
pub fn render_notice(locale: Locale, brand: &Branding, ctx: &NoticeContext) -> Rendered {
    let lang = locale.table();
    let text = lang.notices.get(ctx.notice.index());
    let vars = Vars::new(lang, brand, &ctx.device)
        .with("when", human_time(ctx.at))
        .with("count", ctx.count.to_string());
    render(locale, lang, text, &vars, &[])
}

struct Vars(Vec<(&'static str, String)>);

impl Vars {
    fn new(lang: &Lang, brand: &Branding, device: &DeviceInfo) -> Self {
        let kind = lang
            .device_types
            .get(device_type_index(device.kind))
            .copied()
            .unwrap_or_default();
        let mut name = clean_user_text(&device.name, 40);
        if name.is_empty() {
            name = kind.to_owned();
        }
        let place = device
            .place
            .as_ref()
            .map(place_text)
            .filter(|p| !p.is_empty())
            .map(|p| lang.near.replace("{place}", &p))
            .unwrap_or_default();
        Vars(vec![
            ("service", brand.service.clone()),
            ("device", name),
            ("device_type", kind.to_owned()),
            ("place", place),
        ])
    }

    fn with(mut self, key: &'static str, value: String) -> Self {
        self.0.push((key, value));
        self
    }

    /// Fills `{name}` placeholders in one pass, so text inside a value (a device named
    /// "{code}") is never expanded.
    fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let value = after.find('}').and_then(|close| {
                let key = &after[..close];
                self.0
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (v, close))
            });
            match value {
                Some((v, close)) => {
                    out.push_str(v);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

fn render(
    locale: Locale,
    lang: &Lang,
    text: Option<&Text>,
    vars: &Vars,
    extra: &[&'static str],
) -> Rendered {
    let Some(text) = text else {
        return Rendered {
            subject: String::new(),
            text: String::new(),
            html: String::new(),
            sms: String::new(),
        };
    };
    let lines: Vec<(bool, String)> = text
        .lines
        .iter()
        .chain(extra)
        .chain(lang.not_you)
        .chain(std::iter::once(&lang.never))
        .map(|l| (*l == "{code}", vars.fill(l)))
        .collect();
    let subject = vars.fill(text.subject);
    let body_text = lines
        .iter()
        .map(|(_, l)| l.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"font-family:sans-serif;line-height:1.5;max-width:36em\">\n",
        locale.as_str(),
        escape_html(&subject)
    );
    for (is_code, line) in &lines {
        if *is_code {
            html.push_str("<p style=\"font-size:2em;font-weight:bold;letter-spacing:0.2em\">");
        } else {
            html.push_str("<p>");
        }
        html.push_str(&escape_html(line));
        html.push_str("</p>\n");
    }
    html.push_str("</body></html>\n");
    let sms = format!("{} {}", vars.fill(text.sms), vars.fill(lang.sms_never));
    Rendered {
        subject,
        text: body_text,
        html,
        sms,
    }
}

fn device_type_index(kind: DeviceType) -> usize {
    match kind {
        DeviceType::Tv => 0,
        DeviceType::Mobile => 1,
        DeviceType::Tablet => 2,
        DeviceType::Computer => 3,
        DeviceType::Console => 4,
        DeviceType::Other => 5,
    }
}

fn place_text(place: &Place) -> String {
    [&place.city, &place.country]
        .into_iter()
        .flatten()
        .map(|s| clean_user_text(s, 40))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Makes untrusted text safe to quote in a message: no control characters, nothing that
/// reads as a link (`.`, `/`, `:`, `@`, `\` become spaces, so "evil.example/pay" cannot
/// ride along in our mail), no placeholder braces, collapsed spaces, at most `max` chars.
pub fn clean_user_text(s: &str, max: usize) -> String {
    let replaced: String = s
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '.' | '/' | ':' | '@' | '\\' | '{' | '}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{ff0e}' | '\u{3002}' | '\u{ff61}')
            {
                ' '
            } else {
                c
            }
        })
        .collect();
    let collapsed = replaced.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .chars()
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// "2026-03-01 20:15 UTC": unambiguous in every language, and no locale data needed.
fn human_time(t: Timestamp) -> String {
    let s = t.to_string();
    match (s.get(..10), s.get(11..16)) {
        (Some(day), Some(hm)) => format!("{day} {hm} UTC"),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_fallback() {
        assert_eq!(Locale::from_tag("fr-CA"), Locale::Fr);
        assert_eq!(Locale::from_tag("pt_BR"), Locale::Pt);
        assert_eq!(Locale::from_tag("ES"), Locale::Es);
        assert_eq!(Locale::from_tag("de"), Locale::En);
        assert_eq!(Locale::from_tag(""), Locale::En);
    }

    #[test]
    fn branding_rejects_link_like_names() {
        assert!(Branding::new("StreamCo Plus").is_ok());
        for bad in ["", "flix.com", "a/b", "x:y", "me@x", &"x".repeat(41)] {
            assert!(Branding::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fill_is_single_pass() {
        let lang = Locale::En.table();
        let dev = DeviceInfo {
            name: "{code}".into(),
            kind: DeviceType::Tv,
            place: None,
        };
        let v = Vars::new(lang, &Branding::default(), &dev).with("code", "123456".into());
        assert_eq!(v.fill("{device} {code} {nope}"), "code 123456 {nope}");
    }

    #[test]
    fn user_text_is_defanged() {
        assert_eq!(clean_user_text("Bob's\u{7}TV\n", 40), "Bob's TV");
        assert_eq!(
            clean_user_text("pay at evil.example/now", 40),
            "pay at evil example now"
        );
        assert_eq!(clean_user_text("abcdef", 3), "abc");
        assert_eq!(
            human_time(Timestamp(1_772_396_100_000)),
            "2026-03-01 20:15 UTC"
        );
    }
}
