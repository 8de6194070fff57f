//! Hearth's own messages must not look like the phishing it teaches owners to spot: the
//! phishing checker rates every template, in every language, `legitimate`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::codes::Purpose;
use hearth_core::{DeviceType, Timestamp};
use hearth_courier::templates::{
    render_code, render_notice, Branding, CodeContext, DeviceInfo, Locale, Notice, NoticeContext,
    Place, Rendered,
};
use hearth_phish::{Channel, Checker, Label, Message};

fn all_rendered() -> Vec<(String, Rendered)> {
    let brand = Branding::default();
    let device = DeviceInfo {
        name: "Living room".into(),
        kind: DeviceType::Tv,
        place: Some(Place {
            city: Some("Lisbon".into()),
            country: Some("PT".into()),
        }),
    };
    let mut out = Vec::new();
    for locale in Locale::ALL {
        for purpose in Purpose::ALL {
            let ctx = CodeContext {
                purpose,
                code: "482915".into(),
                device: device.clone(),
                expires_minutes: 10,
                pass_days: 7,
            };
            out.push((
                format!("{}/{purpose}", locale.as_str()),
                render_code(locale, &brand, &ctx),
            ));
        }
        for notice in Notice::ALL {
            let ctx = NoticeContext {
                notice,
                at: Timestamp::from_secs(1_772_396_100),
                device: device.clone(),
                count: 40,
            };
            out.push((
                format!("{}/{}", locale.as_str(), notice.as_str()),
                render_notice(locale, &brand, &ctx),
            ));
        }
    }
    out
}

#[test]
fn the_phishing_checker_rates_every_template_legitimate() {
    let checker = Checker::default();
    let mut wrong = Vec::new();
    for (label, r) in all_rendered() {
        for (channel, text) in [
            (Channel::Email, format!("{}\n\n{}", r.subject, r.text)),
            (Channel::Sms, r.sms.clone()),
        ] {
            let v = checker.check(&Message {
                text: text.clone(),
                sender: None,
                channel: Some(channel),
            });
            if v.verdict != Label::Legitimate {
                wrong.push(format!(
                    "{label} {channel:?}: {:?} {:.2} {:?}\n  {text}",
                    v.verdict, v.score, v.reasons
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} rated not legitimate:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
