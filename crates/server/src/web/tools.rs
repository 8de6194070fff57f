//! "Check a suspicious message" (open to anyone, signed in or not) and the dev mailbox.

use super::ctx::Ctx;
use super::{Base, Posted};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_phish::{Channel, Label, Message};

/// Longest message analysed from the form (the checker truncates further itself).
const MAX_TEXT: usize = 16 * 1024;

/// The checker's answer as shown.
pub struct Checked {
    pub label: &'static str,
    pub headline: String,
    pub score: String,
    pub reasons: Vec<String>,
    pub urls: Vec<String>,
    pub guidance: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "check.html")]
pub struct CheckPage {
    pub base: Base,
    pub text: String,
    pub sender: String,
    pub channel: String,
    pub result: Option<Checked>,
}

pub async fn check_page(ctx: Ctx) -> Response {
    let base = ctx.base("check.title", "check");
    ctx.page(&CheckPage {
        base,
        text: String::new(),
        sender: String::new(),
        channel: "sms".into(),
        result: None,
    })
}

pub async fn check(p: Posted) -> Response {
    let text: String = p.field("text").chars().take(MAX_TEXT).collect();
    let sender = p.field("sender").trim().to_owned();
    let channel = match p.field("channel") {
        "email" => Channel::Email,
        _ => Channel::Sms,
    };
    let ctx = p.ctx;
    if text.trim().is_empty() {
        let mut base = ctx.base("check.title", "check");
        base.error = Some(ctx.tr.t("check.empty").to_owned());
        return ctx.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &CheckPage {
                base,
                text,
                sender,
                channel: "sms".into(),
                result: None,
            },
        );
    }
    let verdict = ctx.app.checker.check(&Message {
        text: text.clone(),
        sender: Some(sender.clone()).filter(|s| !s.is_empty()),
        channel: Some(channel),
    });
    let tr = ctx.tr;
    let headline = match verdict.verdict {
        Label::Phishing => "check.phishing",
        Label::Suspicious => "check.suspicious",
        Label::Legitimate => "check.legitimate",
    };
    let result = Checked {
        label: verdict.verdict.as_str(),
        headline: tr.t(headline).to_owned(),
        score: format!("{:.0}", verdict.score * 100.0),
        reasons: verdict
            .reasons
            .iter()
            .map(|r| {
                let code = serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                tr.code("phish", &code)
            })
            .collect(),
        urls: verdict.urls.clone(),
        guidance: hearth_phish::guidance_with_address(
            verdict.verdict,
            tr.lang,
            Some(&ctx.app.config.phishing_report_address),
        ),
    };
    let base = ctx.base("check.title", "check");
    ctx.page(&CheckPage {
        base,
        text,
        sender,
        channel: if channel == Channel::Email {
            "email"
        } else {
            "sms"
        }
        .into(),
        result: Some(result),
    })
}

/// One message the courier delivered to the dev mailbox.
pub struct MailRow {
    pub at: String,
    pub channel: &'static str,
    pub to: String,
    pub subject: String,
    pub purpose: String,
    pub body: String,
}

#[derive(askama::Template)]
#[template(path = "mailbox.html")]
pub struct MailboxPage {
    pub base: Base,
    pub mails: Vec<MailRow>,
}

/// Whether a delivery channel is the in-memory dev mailbox (so the page may show it).
pub fn dev_channel_active(app: &crate::app::App) -> bool {
    use hearth_courier::{EmailTransportConfig, SmsTransportConfig};
    matches!(app.config.courier.email, EmailTransportConfig::Dev)
        || matches!(app.config.courier.sms, SmsTransportConfig::Dev)
}

/// `/dev/mailbox`: what the courier would have sent, newest first; only while a dev
/// channel is configured (never with real SMTP and SMS delivery).
pub async fn mailbox(ctx: Ctx) -> Response {
    if !dev_channel_active(&ctx.app) {
        let m = ctx.tr.t("error.not_found").to_owned();
        return ctx.error_page(StatusCode::NOT_FOUND, m);
    }
    let mails = ctx
        .app
        .dev_mailbox
        .list()
        .into_iter()
        .map(|m| MailRow {
            at: super::when(m.created_at),
            channel: match m.channel {
                hearth_core::outbox::OutboxChannel::Email => "email",
                hearth_core::outbox::OutboxChannel::Sms => "sms",
            },
            to: m.to,
            subject: m.subject.unwrap_or_default(),
            purpose: m.purpose,
            body: m.body_text,
        })
        .collect();
    let base = ctx.base("mailbox.title", "mailbox");
    ctx.page(&MailboxPage { base, mails })
}
