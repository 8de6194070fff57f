//! Prints every template in every language, for review and translation:
//! `cargo run -p hearth-courier --example preview [en|fr|pt|es] [--html]`.

use hearth_core::codes::Purpose;
use hearth_core::{DeviceType, Timestamp};
use hearth_courier::templates::{
    render_code, render_notice, Branding, CodeContext, DeviceInfo, Locale, Notice, NoticeContext,
    Place, Rendered,
};

fn show(title: &str, r: &Rendered, html: bool) {
    println!("===== {title}\nSubject: {}\n\n{}\n", r.subject, r.text);
    if html {
        println!("{}", r.html);
    }
    println!("SMS ({} chars): {}\n", r.sms.chars().count(), r.sms);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let html = args.iter().any(|a| a == "--html");
    let locales: Vec<Locale> = match args.iter().find(|a| !a.starts_with("--")) {
        Some(tag) => vec![Locale::from_tag(tag)],
        None => Locale::ALL.to_vec(),
    };
    let brand = Branding::default();
    let device = DeviceInfo {
        name: "Living room".into(),
        kind: DeviceType::Tv,
        place: Some(Place {
            city: Some("Porto".into()),
            country: Some("PT".into()),
        }),
    };
    for locale in locales {
        for purpose in Purpose::ALL {
            let ctx = CodeContext {
                purpose,
                code: "482915".into(),
                device: device.clone(),
                expires_minutes: 10,
                pass_days: 7,
            };
            show(
                &format!("{} {purpose}", locale.as_str()),
                &render_code(locale, &brand, &ctx),
                html,
            );
        }
        for notice in Notice::ALL {
            let ctx = NoticeContext {
                notice,
                at: Timestamp::from_secs(1_772_396_100),
                device: device.clone(),
                count: 40,
            };
            show(
                &format!("{} {}", locale.as_str(), notice.as_str()),
                &render_notice(locale, &brand, &ctx),
                html,
            );
        }
    }
}
