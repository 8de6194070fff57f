//! Campaigns as analysts see them: ranked lists with counts per day and language, one
//! campaign with sample reports, and the pure rule that picks a report's campaign.

use super::{to_json, ServiceError, ServiceResult};
use crate::app::App;
use hearth_core::time::DAY;
use hearth_core::Timestamp;
use hearth_phish::campaign::{Campaign, Fingerprint};
use hearth_phish::{Label, Lang};
use hearth_store::{CampaignRow, CampaignWrite, PhishReport};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Days of daily counts in campaign summaries (today included).
pub const DAILY_WINDOW_DAYS: i64 = 14;
/// Sample reports shown with a campaign.
pub const MAX_SAMPLES: u32 = 20;
/// Link domains a campaign keeps.
const MAX_CAMPAIGN_DOMAINS: usize = 500;

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

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_phish::campaign;

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
}
