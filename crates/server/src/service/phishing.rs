//! Phishing (S14, S15): checking a suspicious message, taking members' reports (from
//! the API and from mail forwarded to the reporting address) and grouping them into
//! campaigns for the analysts. The judging and fingerprinting are `hearth_phish`'s; this
//! module decides which campaign a report joins and writes both through the store.

use super::{normalize_email, random_hex, Client, ServiceError, ServiceResult};
use crate::app::App;
use hearth_core::time::{DAY, HOUR};
use hearth_core::Timestamp;
use hearth_phish::campaign::{self, Campaign, Fingerprint};
use hearth_phish::{detect_lang, guidance_with_address, Label, Lang, Message, Verdict};
use hearth_store::{CampaignRow, CampaignWrite, NewPhishReport, PhishReport};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Longest message text checked or reported.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Longest text kept with a stored report (analysts read samples, not archives).
pub const MAX_STORED_TEXT_BYTES: usize = 16 * 1024;
/// Days of daily counts in campaign summaries (today included).
pub const DAILY_WINDOW_DAYS: i64 = 14;
/// Sample reports shown with a campaign.
pub const MAX_SAMPLES: u32 = 20;
/// A report is compared with the campaigns seen in this many days…
const MATCH_WINDOW_DAYS: i64 = 30;
/// …at most this many, most recent first.
const MATCH_CANDIDATES: u32 = 500;
/// Link domains a campaign keeps, and takes from one report.
const MAX_CAMPAIGN_DOMAINS: usize = 500;
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

/// Reports of one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct DayCount {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub reports: u64,
}

/// A campaign as the analysts' dashboard lists it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CampaignSummary {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: Timestamp,
    /// All reports.
    pub reports: u64,
    /// Reports in the last 14 days (the ranking key).
    pub recent_reports: u64,
    /// The most severe verdict among its reports: `phishing`, `suspicious` or `legitimate`.
    pub label: String,
    /// Registered domains its links point to (official brand domains and shorteners left out).
    pub domains: Vec<String>,
    /// Reports per message language (`en`, `fr`, `pt`, `es`).
    pub languages: BTreeMap<String, u64>,
    /// Reports per day over the last 14 days, oldest first.
    pub daily: Vec<DayCount>,
}

/// One reported message, as analysts see it. `text` is plain text (HTML was converted
/// at intake); pages must still escape it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SampleReport {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
    /// `api` or `smtp`.
    pub source: String,
    pub reporter_account: Option<String>,
    pub channel: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub text: String,
    pub urls: Vec<String>,
    pub verdict: String,
    pub score: f64,
    pub reasons: Vec<String>,
    pub language: String,
}

/// A campaign with its newest reports.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CampaignDetail {
    #[serde(flatten)]
    pub campaign: CampaignSummary,
    /// Up to 20, newest first.
    pub samples: Vec<SampleReport>,
}

impl From<PhishReport> for SampleReport {
    fn from(r: PhishReport) -> Self {
        SampleReport {
            id: r.id,
            received_at: r.received_at,
            source: r.source,
            reporter_account: r.reporter_account,
            channel: r.channel,
            sender: r.sender,
            subject: r.subject,
            text: r.text,
            urls: r.urls,
            verdict: r.verdict,
            score: r.score,
            reasons: r.reasons,
            language: r.language,
        }
    }
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
        let c = self.store.bump_counter(&key, now, HOUR).await?;
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

    /// Campaigns ranked by reports in the last 14 days, then by all reports, then by recency.
    pub async fn campaigns(
        &self,
        limit: u32,
        offset: u32,
        now: Timestamp,
    ) -> ServiceResult<Vec<CampaignSummary>> {
        let (first_day, since) = window(now);
        let rows = self.store.list_campaigns(since, limit, offset).await?;
        let ids: Vec<String> = rows.iter().map(|c| c.id.clone()).collect();
        let counts = self.store.campaign_daily_counts(&ids, since).await?;
        Ok(rows
            .into_iter()
            .map(|c| summary(c, &counts, first_day))
            .collect())
    }

    /// One campaign with its newest reports.
    pub async fn campaign(&self, id: &str, now: Timestamp) -> ServiceResult<CampaignDetail> {
        let (first_day, since) = window(now);
        let row = self
            .store
            .campaign(id)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))?;
        let counts = self
            .store
            .campaign_daily_counts(std::slice::from_ref(&row.id), since)
            .await?;
        let mut campaign = summary(row, &counts, first_day);
        campaign.recent_reports = campaign.daily.iter().map(|d| d.reports).sum();
        let samples = self
            .store
            .campaign_reports(id, MAX_SAMPLES)
            .await?
            .into_iter()
            .map(SampleReport::from)
            .collect();
        Ok(CampaignDetail { campaign, samples })
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

/// The first day of the daily window (days since the epoch) and its start.
fn window(now: Timestamp) -> (i64, Timestamp) {
    let first = now.0.div_euclid(DAY) - (DAILY_WINDOW_DAYS - 1);
    (first, Timestamp(first * DAY))
}

fn summary(c: CampaignRow, counts: &[(String, i64, u64)], first_day: i64) -> CampaignSummary {
    let daily = (first_day..first_day + DAILY_WINDOW_DAYS)
        .map(|d| DayCount {
            day: Timestamp(d * DAY).to_string().chars().take(10).collect(),
            reports: counts
                .iter()
                .filter(|(id, day, _)| *id == c.id && *day == d)
                .map(|(_, _, n)| n)
                .sum(),
        })
        .collect();
    CampaignSummary {
        id: c.id,
        first_seen: c.first_seen,
        last_seen: c.last_seen,
        reports: c.reports,
        recent_reports: c.recent_reports,
        label: c.label,
        domains: c.domains,
        languages: c.languages,
        daily,
    }
}

fn severity(label: &str) -> u8 {
    match label {
        "phishing" => 2,
        "suspicious" => 1,
        _ => 0,
    }
}

/// Which campaign a report joins (the most recently seen one that matches), or the new
/// one it starts. Pure, so the grouping can be tested without a store.
pub fn plan_campaign(
    candidates: &[CampaignRow],
    fp: &Fingerprint,
    label: Label,
    language: Lang,
    new_id: impl FnOnce() -> String,
) -> ServiceResult<CampaignWrite> {
    for row in candidates {
        let mut state: Campaign = match serde_json::from_str(&row.fingerprint) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(campaign = %row.id, error = %e, "unreadable campaign fingerprint; skipped");
                continue;
            }
        };
        if !state.matches(fp) {
            continue;
        }
        // Keep the campaign's domain list bounded: known domains always, new ones while there is room.
        let mut fp = fp.clone();
        let room = MAX_CAMPAIGN_DOMAINS.saturating_sub(state.domains.len());
        let (known, fresh): (Vec<String>, Vec<String>) = std::mem::take(&mut fp.domains)
            .into_iter()
            .partition(|d| state.domains.contains(d));
        fp.domains = known
            .into_iter()
            .chain(fresh.into_iter().take(room))
            .collect();
        fp.domains.sort();
        state.add(fp);
        let mut languages = row.languages.clone();
        *languages.entry(language.as_str().to_owned()).or_insert(0) += 1;
        let label = if severity(label.as_str()) > severity(&row.label) {
            label.as_str().to_owned()
        } else {
            row.label.clone()
        };
        return Ok(CampaignWrite::Join {
            id: row.id.clone(),
            expected_version: row.version,
            fingerprint: to_json(&state)?,
            domains: state.domains.iter().cloned().collect(),
            label,
            languages,
        });
    }
    let state = Campaign::new(fp.clone());
    let mut languages = BTreeMap::new();
    languages.insert(language.as_str().to_owned(), 1);
    Ok(CampaignWrite::New {
        id: new_id(),
        fingerprint: to_json(&state)?,
        domains: state.domains.iter().cloned().collect(),
        label: label.as_str().to_owned(),
        languages,
    })
}

/// Bounded plain text for storage: HTML tags, scripts and styles removed, common
/// entities decoded, control characters dropped, cut at a character boundary.
pub fn plain_text(s: &str, max_bytes: usize) -> String {
    // Only documents that use HTML markup lose their tags: `Name <addr@x>` is text.
    const MARKERS: [&str; 14] = [
        "<html",
        "<body",
        "<head",
        "<p>",
        "<p ",
        "<div",
        "<a ",
        "<br",
        "<table",
        "<span",
        "<img",
        "<font",
        "<script",
        "<!doctype",
    ];
    let lower = s.to_ascii_lowercase();
    let looks_html = MARKERS.iter().any(|m| lower.contains(m));
    let text = if looks_html {
        strip_tags(s)
    } else {
        s.to_owned()
    };
    let mut out = String::with_capacity(text.len().min(max_bytes));
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            continue;
        }
        if out.len() + c.len_utf8() > max_bytes {
            break;
        }
        out.push(c);
    }
    out.trim().to_owned()
}

/// A header-like value: control characters dropped, bounded.
fn one_line(s: &str, max_bytes: usize) -> String {
    let mut out = String::new();
    for c in s.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > max_bytes {
            break;
        }
        out.push(c);
    }
    out.trim().to_owned()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let lower = s.to_ascii_lowercase();
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let rest = &lower[i..];
            let skip_to = if rest.starts_with("<script") {
                rest.find("</script").map(|e| i + e)
            } else if rest.starts_with("<style") {
                rest.find("</style").map(|e| i + e)
            } else if rest.starts_with("<!--") {
                rest.find("-->").map(|e| i + e + 2)
            } else {
                Some(i)
            };
            let Some(from) = skip_to else { break }; // an unclosed script or style: drop the rest
            match lower[from..].find('>') {
                Some(e) => {
                    let tag = &lower[i..(from + e).min(lower.len())];
                    if tag.starts_with("<br")
                        || tag.starts_with("<p")
                        || tag.starts_with("</p")
                        || tag.starts_with("<div")
                        || tag.starts_with("</div")
                    {
                        out.push('\n');
                    }
                    i = from + e + 1;
                }
                None => {
                    out.push_str(&s[i..]);
                    break;
                }
            }
            continue;
        }
        let next = lower[i..].find('<').map_or(bytes.len(), |e| i + e);
        out.push_str(&s[i..next]);
        i = next;
    }
    // `&lt;` and `&gt;` stay encoded, so no markup comes back out of the text.
    out.replace("&nbsp;", " ")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, state: &Campaign, label: &str, version: i64) -> CampaignRow {
        CampaignRow {
            id: id.into(),
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
            reports: state.reports,
            recent_reports: 0,
            fingerprint: serde_json::to_string(state).unwrap(),
            domains: state.domains.iter().cloned().collect(),
            label: label.into(),
            languages: [("en".to_owned(), 1)].into_iter().collect(),
            version,
        }
    }

    #[test]
    fn a_report_joins_the_matching_campaign_or_starts_one() {
        let lure = campaign::fingerprint("Your payment failed, update at https://nflx-pay.com/a");
        let prize = campaign::fingerprint("You won a cruise! Claim at https://cruise-win.top");
        let rows = vec![
            row("c-prize", &Campaign::new(prize), "suspicious", 3),
            row("c-lure", &Campaign::new(lure), "suspicious", 7),
            CampaignRow {
                fingerprint: "not json".into(),
                ..row("c-broken", &Campaign::default(), "phishing", 1)
            },
        ];
        let fp = campaign::fingerprint("Paiement refusé : nflx-pay.com/b et nflx-pay.net");
        match plan_campaign(&rows, &fp, Label::Phishing, Lang::Fr, || "new".into()).unwrap() {
            CampaignWrite::Join {
                id,
                expected_version,
                domains,
                label,
                languages,
                fingerprint,
            } => {
                assert_eq!((id.as_str(), expected_version), ("c-lure", 7));
                assert_eq!(domains, ["nflx-pay.com", "nflx-pay.net"]);
                assert_eq!(label, "phishing", "the most severe verdict wins");
                assert_eq!(languages.get("fr"), Some(&1));
                let state: Campaign = serde_json::from_str(&fingerprint).unwrap();
                assert_eq!(state.reports, 2);
            }
            other => panic!("{other:?}"),
        }
        let lone = campaign::fingerprint("Hello, the meeting moved to Tuesday afternoon");
        let w = plan_campaign(&rows, &lone, Label::Legitimate, Lang::En, || "new".into()).unwrap();
        assert!(
            matches!(w, CampaignWrite::New { ref id, .. } if id == "new"),
            "{w:?}"
        );
    }

    #[test]
    fn stored_text_is_plain_and_bounded() {
        let html = "<html><head><style>p{}</style></head><body><p>Pay now</p><script>x()</script>\
                    <a href=\"https://evil.example\">here</a> &amp; &lt;b&gt;</body></html>";
        let t = plain_text(html, 1000);
        assert!(t.contains("Pay now") && t.contains("here"), "{t}");
        assert!(
            !t.contains('<') && !t.contains("x()") && !t.contains("p{}"),
            "{t}"
        );
        assert!(t.contains("& &lt;b&gt;"), "{t}");
        assert_eq!(
            plain_text("From Netflix <billing@x.example>: pay\u{0}", 1000),
            "From Netflix <billing@x.example>: pay"
        );
        assert_eq!(plain_text("ééé", 5), "éé");
        assert_eq!(one_line("Subject\r\nBcc: x", 100), "SubjectBcc: x");
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
