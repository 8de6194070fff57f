//! "Check a suspicious message" (open to anyone, signed in or not), reporting it to the
//! analysts' campaigns, and the dev mailbox.

use super::ctx::Ctx;
use super::{Base, Posted};
use crate::service::now;
use crate::service::phishing::{NewReport, ReportSource};
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
    /// Set once the message was reported.
    pub reported: Option<String>,
}

pub async fn check_page(ctx: Ctx) -> Response {
    let base = ctx.base("check.title", "check");
    ctx.page(&CheckPage {
        base,
        text: String::new(),
        sender: String::new(),
        channel: "sms".into(),
        result: None,
        reported: None,
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
                reported: None,
            },
        );
    }
    let message = Message {
        text: text.clone(),
        sender: Some(sender.clone()).filter(|s| !s.is_empty()),
        channel: Some(channel),
    };
    let checked = ctx.app.check_message(&message, Some(ctx.tr.lang));
    let result = shown(&ctx, &checked);
    let base = ctx.base("check.title", "check");
    ctx.page(&CheckPage {
        base,
        text,
        sender,
        channel: channel_code(channel).into(),
        result: Some(result),
        reported: None,
    })
}

fn channel_code(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Sms => "sms",
    }
}

fn shown(ctx: &Ctx, checked: &crate::service::phishing::Checked) -> Checked {
    let tr = ctx.tr;
    let verdict = &checked.verdict;
    let headline = match verdict.verdict {
        Label::Phishing => "check.phishing",
        Label::Suspicious => "check.suspicious",
        Label::Legitimate => "check.legitimate",
    };
    Checked {
        label: verdict.verdict.as_str(),
        headline: tr.t(headline).to_owned(),
        score: format!("{:.0}", verdict.score * 100.0),
        reasons: verdict
            .reasons
            .iter()
            .map(|r| tr.code("phish", r.as_str()))
            .collect(),
        urls: verdict.urls.clone(),
        guidance: checked.guidance.clone(),
    }
}

/// "Report it": the message joins the analysts' phishing campaigns.
pub async fn report(p: Posted) -> Response {
    let text: String = p.field("text").chars().take(MAX_TEXT).collect();
    let sender = p.field("sender").trim().to_owned();
    let channel = match p.field("channel") {
        "email" => Channel::Email,
        _ => Channel::Sms,
    };
    let ctx = p.ctx;
    let report = NewReport {
        message: Message {
            text: text.clone(),
            sender: Some(sender.clone()).filter(|s| !s.is_empty()),
            channel: Some(channel),
        },
        subject: None,
        reporter_account: ctx.owner.as_ref().map(|(_, a)| a.id.clone()),
        source: ReportSource::Api,
        lang: Some(ctx.tr.lang.to_owned()),
        client: Some(ctx.client.clone()),
    };
    match ctx.app.report_phishing(report, now()).await {
        Ok(r) => {
            let result = shown(&ctx, &r.checked);
            let reported = Some(ctx.tr.t("check.reported").to_owned());
            let base = ctx.base("check.title", "check");
            ctx.page(&CheckPage {
                base,
                text,
                sender,
                channel: channel_code(channel).into(),
                result: Some(result),
                reported,
            })
        }
        Err(e) => {
            let (st, m) = super::owner::explain(&ctx.tr, &e);
            let mut base = ctx.base("check.title", "check");
            base.error = Some(m);
            ctx.render(
                st,
                &CheckPage {
                    base,
                    text,
                    sender,
                    channel: channel_code(channel).into(),
                    result: None,
                    reported: None,
                },
            )
        }
    }
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

/// Who may read the dev mailbox: it holds every code sent, so a password-reset code
/// read there takes over an account. Only while a dev channel is configured, and only
/// from the server's own machine or for an analyst.
pub fn may_read_mailbox(ctx: &Ctx) -> bool {
    dev_channel_active(&ctx.app) && (ctx.is_local() || ctx.is_admin())
}

/// `/dev/mailbox`: what the courier would have sent, newest first (see
/// [`may_read_mailbox`]); never with real SMTP and SMS delivery.
pub async fn mailbox(ctx: Ctx) -> Response {
    if !may_read_mailbox(&ctx) {
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
