//! Phishing (S14, S15): checking a suspicious message, taking members' reports (from
//! the API and from mail forwarded to the reporting address) and grouping them into
//! campaigns for the analysts. The judging and fingerprinting are `hearth_phish`'s; this
//! module decides which campaign a report joins and writes both through the store.
//! Campaign views are in [`campaigns`], the plain-text rules for stored reports in [`text`].

mod campaigns;
mod demo;
mod text;

pub use campaigns::{
    plan_campaign, CampaignDetail, CampaignSummary, DayCount, SampleReport, DAILY_WINDOW_DAYS,
    MAX_SAMPLES,
};
pub use text::plain_text;

use super::{normalize_email, random_hex, Client, ServiceError, ServiceResult};
use crate::app::App;
use hearth_core::time::{DAY, HOUR};
use hearth_core::Timestamp;
use hearth_phish::campaign;
use hearth_phish::{detect_lang, guidance_with_address, Lang, Message, Verdict};
use hearth_store::{CampaignWrite, NewPhishReport};
use serde::Serialize;
use serde_json::json;
use text::one_line;

/// Longest message text checked or reported.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Longest text kept with a stored report (analysts read samples, not archives).
pub const MAX_STORED_TEXT_BYTES: usize = 16 * 1024;
/// A report is compared with the campaigns seen in this many days…
const MATCH_WINDOW_DAYS: i64 = 30;
/// …at most this many, most recent first.
const MATCH_CANDIDATES: u32 = 500;
/// Link domains taken from one report.
const MAX_REPORT_DOMAINS: usize = 50;
/// Tries when other reports keep changing the campaign this one joins.
const WRITE_ATTEMPTS: usize = 16;

/// Where a report came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportSource {
    Api,
    Smtp,
}

impl ReportSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportSource::Api => "api",
            ReportSource::Smtp => "smtp",
        }
    }
}

/// The checker's verdict with what to do, in the reader's language.
#[derive(Clone, Debug)]
pub struct Checked {
    pub verdict: Verdict,
    pub lang: Lang,
    pub guidance: Vec<String>,
}

/// A report to take.
#[derive(Clone, Debug)]
pub struct NewReport {
    pub message: Message,
    pub subject: Option<String>,
    pub reporter_account: Option<String>,
    pub source: ReportSource,
    /// The guidance language; the message's own language when absent.
    pub lang: Option<String>,
    pub client: Option<Client>,
}

/// A stored report, with the campaign it joined.
#[derive(Clone, Debug)]
pub struct Reported {
    pub report_id: String,
    pub campaign_id: String,
    pub new_campaign: bool,
    pub checked: Checked,
}

impl App {
    /// Judges a message and says what to do, counting it under `hearth_message_checks_total`.
    pub fn check_message(&self, message: &Message, lang: Option<&str>) -> Checked {
        let checked = self.judge(message, lang);
        self.metrics.inc(
            "hearth_message_checks_total",
            &[("verdict", checked.verdict.verdict.as_str())],
        );
        checked
    }

    fn judge(&self, message: &Message, lang: Option<&str>) -> Checked {
        let verdict = self.checker.check(message);
        let lang = lang.map_or_else(|| detect_lang(&message.text), Lang::parse);
        let guidance = guidance_with_address(
            verdict.verdict,
            lang.as_str(),
            Some(&self.config.phishing_report_address),
        );
        Checked {
            verdict,
            lang,
            guidance,
        }
    }

    /// Checks, fingerprints and stores a report in the campaign it belongs to (a new
    /// one when it matches none of the campaigns seen in the last 30 days).
    pub async fn report_phishing(&self, r: NewReport, at: Timestamp) -> ServiceResult<Reported> {
        if r.message.text.trim().is_empty() && r.subject.as_deref().unwrap_or("").trim().is_empty()
        {
            return Err(ServiceError::Invalid {
                field: "text",
                message: "the reported message is empty".into(),
            });
        }
        if r.message.text.len() > MAX_TEXT_BYTES {
            return Err(ServiceError::Invalid {
                field: "text",
                message: format!("the message is longer than {MAX_TEXT_BYTES} bytes"),
            });
        }
        let checked = self.judge(&r.message, r.lang.as_deref());
        let mut fp = campaign::fingerprint_with(&r.message.text, self.checker.brands());
        fp.domains.truncate(MAX_REPORT_DOMAINS);
        let language = detect_lang(&r.message.text);
        let report_id = format!("rep_{}", random_hex(10));
        let stored = NewPhishReport {
            id: report_id.clone(),
            received_at: at,
            reporter_account: r.reporter_account.clone(),
            source: r.source.as_str().to_owned(),
            channel: r.message.channel.map(|c| {
                match c {
                    hearth_phish::Channel::Sms => "sms",
                    hearth_phish::Channel::Email => "email",
                }
                .to_owned()
            }),
            sender: r.message.sender.as_deref().map(|s| one_line(s, 320)),
            subject: r.subject.as_deref().map(|s| one_line(s, 998)),
            text: plain_text(&r.message.text, MAX_STORED_TEXT_BYTES),
            urls: checked.verdict.urls.clone(),
            verdict: checked.verdict.verdict.as_str().to_owned(),
            score: checked.verdict.score,
            reasons: checked
                .verdict
                .reasons
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            language: language.as_str().to_owned(),
            fingerprint: to_json(&fp)?,
        };
        let since = at.plus(-MATCH_WINDOW_DAYS * DAY);
        for _ in 0..WRITE_ATTEMPTS {
            let candidates = self.store.recent_campaigns(since, MATCH_CANDIDATES).await?;
            let write = plan_campaign(&candidates, &fp, checked.verdict.verdict, language, || {
                format!("cmp_{}", random_hex(10))
            })?;
            if self.store.record_phish_report(&stored, &write).await? {
                let campaign_id = write.id().to_owned();
                let new_campaign = matches!(write, CampaignWrite::New { .. });
                self.metrics.inc(
                    "hearth_phishing_reports_total",
                    &[
                        ("source", r.source.as_str()),
                        ("verdict", checked.verdict.verdict.as_str()),
                    ],
                );
                if let Some(account) = &r.reporter_account {
                    self.audit(
                        Some(account),
                        "phishing_reported",
                        r.client.as_ref(),
                        None,
                        json!({"report": report_id, "campaign": campaign_id,
                               "verdict": checked.verdict.verdict.as_str(), "source": r.source.as_str()}),
                    )
                    .await?;
                }
                return Ok(Reported {
                    report_id,
                    campaign_id,
                    new_campaign,
                    checked,
                });
            }
        }
        Err(ServiceError::Unavailable(
            "the campaign kept changing while the report was filed".into(),
        ))
    }

    /// Counts one report from `source` (a client address, an account, an SMTP sender);
    /// `Some(retry_after_secs)` once it is over `intake.reports_per_hour`. The counter key
    /// is keyed-hashed, so the store holds no addresses.
    pub async fn report_budget(&self, source: &str, now: Timestamp) -> ServiceResult<Option<u64>> {
        let limit = self.config.intake.reports_per_hour;
        if limit == 0 {
            return Ok(None);
        }
        let key = format!(
            "phish:{}",
            &hex::encode(self.key.mac("phishing-reports", &[source.as_bytes()]))[..32]
        );
        let c = self.counters.bump_counter(&key, now, HOUR).await?;
        Ok((c.count > limit).then_some(u64::try_from(HOUR / 1000).unwrap_or(3600)))
    }

    /// The account whose e-mail is the first of `addresses` that has one
    /// (`Name <addr>` and bare addresses both work).
    pub async fn account_for_addresses(&self, addresses: &[&str]) -> ServiceResult<Option<String>> {
        for a in addresses {
            let bare = match (a.rfind('<'), a.rfind('>')) {
                (Some(l), Some(r)) if l < r => &a[l + 1..r],
                _ => a,
            };
            if let Some(email) = normalize_email(bare) {
                if let Some(acc) = self.store.account_by_email(&email).await? {
                    return Ok(Some(acc.id));
                }
            }
        }
        Ok(None)
    }
}

/// A forwarded e-mail (raw RFC 822) as a report to take: the innermost forwarded
/// message, HTML as text, attachments ignored.
pub fn parse_forwarded(raw: &[u8], limit: usize) -> ServiceResult<hearth_phish::mime::Report> {
    hearth_phish::mime::parse_report_with_limit(raw, limit).map_err(|e| ServiceError::Invalid {
        field: "message",
        message: e.to_string(),
    })
}

impl NewReport {
    /// A report made of a parsed forwarded e-mail.
    pub fn from_email(report: &hearth_phish::mime::Report, source: ReportSource) -> NewReport {
        let mut message = report.message();
        // A long e-mail is judged on its beginning and its links rather than refused.
        if message.text.len() > MAX_TEXT_BYTES {
            let links: String = report.links.iter().map(|l| format!("\n{l}")).collect();
            cut(
                &mut message.text,
                MAX_TEXT_BYTES.saturating_sub(links.len().min(MAX_TEXT_BYTES / 4)),
            );
            message.text.push_str(&links);
            cut(&mut message.text, MAX_TEXT_BYTES);
        }
        NewReport {
            message,
            subject: report.subject.clone(),
            reporter_account: None,
            source,
            lang: None,
            client: None,
        }
    }
}

/// Cuts `s` to at most `max` bytes, at a character boundary.
fn cut(s: &mut String, max: usize) {
    if s.len() > max {
        let end = (0..=max)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(end);
    }
}

fn to_json<T: Serialize>(v: &T) -> ServiceResult<String> {
    serde_json::to_string(v).map_err(|e| ServiceError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_email_keeps_its_links() {
        let report = hearth_phish::mime::Report {
            text: format!("{}\nhttps://evil.example/login", "é".repeat(MAX_TEXT_BYTES)),
            links: vec!["https://evil.example/login".into()],
            ..Default::default()
        };
        let r = NewReport::from_email(&report, ReportSource::Smtp);
        assert!(r.message.text.len() <= MAX_TEXT_BYTES);
        assert!(r.message.text.ends_with("\nhttps://evil.example/login"));
    }
}
