//! The analysts' dashboard (administrators only): accounts ranked by sharing and
//! resale evidence, flagged accounts with the engine's verdict, audit-log search, and a
//! review page per account (verdict, evidence chart, map of its household connections,
//! timeline), and phishing campaigns grouped from members' reports (counts over 14 days,
//! sanitised samples). Charts are inline SVG drawn here: no script, no tiles, no CDN.

use super::ctx::Ctx;
use super::devices::engine_state;
use super::settings::{audit_rows, AuditRow};
use super::{when, Base};
use crate::service::now;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_core::AccountId;
use hearth_store::AuditQuery;

/// One flagged account.
pub struct FlaggedRow {
    pub email: String,
    pub id: String,
    pub reason: String,
    pub at: String,
    /// The engine's sharing verdict (household / shared / resold) and its evidence.
    pub sharing: String,
    pub sharing_code: String,
    pub evidence: Vec<String>,
}

/// One account of the sharing queue, worst first.
pub struct RankedRow {
    pub account: String,
    pub email: String,
    pub sharing: String,
    pub sharing_code: String,
    pub households: u32,
    pub devices: u32,
    pub evidence: Vec<String>,
    pub since: String,
}

#[derive(serde::Deserialize, Default)]
pub struct Search {
    account: Option<String>,
    kind: Option<String>,
    ip: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    pub base: Base,
    pub ranked: Vec<RankedRow>,
    pub campaigns: Vec<CampaignRow>,
    pub flagged: Vec<FlaggedRow>,
    pub account: String,
    pub kind: String,
    pub ip: String,
    pub searched: bool,
    pub rows: Vec<AuditRow>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

pub async fn dashboard(ctx: Ctx, Query(q): Query<Search>) -> Response {
    if ctx.owner.is_none() {
        return ctx.redirect("/sign-in");
    }
    if !ctx.is_admin() {
        let m = ctx.tr.t("error.analysts_only").to_owned();
        return ctx.error_page(StatusCode::FORBIDDEN, m);
    }
    let tr = ctx.tr;
    let t = now();
    let accounts = ctx
        .app
        .store
        .flagged_accounts(100)
        .await
        .unwrap_or_default();
    let mut flagged = Vec::with_capacity(accounts.len());
    for a in accounts {
        let state = engine_state(&ctx, &a.id).await;
        let verdict = state
            .as_ref()
            .map(|s| ctx.app.engine.verdict(s, &AccountId(a.id.clone()), t));
        let code = verdict
            .as_ref()
            .and_then(|v| serde_json::to_value(v.sharing).ok())
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        flagged.push(FlaggedRow {
            email: a.email,
            id: a.id,
            reason: tr.code("flag", a.flagged_reason.as_deref().unwrap_or("")),
            at: a.flagged_at.map(when).unwrap_or_default(),
            sharing: tr.code("sharing", &code),
            sharing_code: code,
            evidence: verdict.map(|v| v.evidence).unwrap_or_default(),
        });
    }
    let queue = ctx.app.store.sharing_queue(50).await.unwrap_or_default();
    let mut ranked = Vec::with_capacity(queue.len());
    for r in queue {
        let email = match ctx.app.store.account_by_id(&r.account).await {
            Ok(Some(a)) => a.email,
            _ => String::new(),
        };
        ranked.push(RankedRow {
            email,
            sharing: tr.code("sharing", &r.sharing),
            sharing_code: r.sharing,
            households: r.households,
            devices: r.devices,
            evidence: evidence_list(&r.evidence),
            since: when(r.first_flagged_at),
            account: r.account,
        });
    }
    let campaigns = ctx
        .app
        .campaigns(20, 0, t)
        .await
        .unwrap_or_default()
        .iter()
        .map(|c| campaign_row(&tr, c))
        .collect();
    let (account, kind, ip) = (non_empty(q.account), non_empty(q.kind), non_empty(q.ip));
    let searched = account.is_some() || kind.is_some() || ip.is_some();
    let entries = ctx
        .app
        .store
        .search_audit(&AuditQuery {
            account_id: account.clone(),
            kind: kind.clone(),
            ip: ip.clone(),
            since: None,
            before_id: None,
            limit: 100,
        })
        .await
        .unwrap_or_default();
    let rows = audit_rows(&tr, entries);
    let base = ctx.base("admin.title", "admin");
    ctx.page(&AdminPage {
        base,
        ranked,
        campaigns,
        flagged,
        account: account.unwrap_or_default(),
        kind: kind.unwrap_or_default(),
        ip: ip.unwrap_or_default(),
        searched,
        rows,
    })
}

fn evidence_list(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// One bar of the evidence chart.
pub struct Bar {
    pub label: String,
    pub value: String,
    /// Width in the chart's units (0..=300).
    pub width: u32,
    pub y: u32,
}

/// One household connection on the map.
pub struct Dot {
    pub x: String,
    pub y: String,
    pub label: String,
}

#[derive(askama::Template)]
#[template(path = "admin_account.html")]
pub struct AccountPage {
    pub base: Base,
    pub account: String,
    pub email: String,
    pub sharing: String,
    pub sharing_code: String,
    pub bars: Vec<Bar>,
    pub chart_height: u32,
    pub evidence: Vec<String>,
    pub dots: Vec<Dot>,
    pub places: Vec<String>,
    pub timeline: Vec<AuditRow>,
}

/// The evidence as bars: the `name=number` items, scaled to the largest.
pub fn bars(tr: &super::i18n::Tr, evidence: &[String]) -> Vec<Bar> {
    let nums: Vec<(String, f64)> = evidence
        .iter()
        .filter_map(|e| {
            let (k, v) = e.split_once('=')?;
            Some((k.to_owned(), v.parse::<f64>().ok()?))
        })
        .collect();
    let max = nums.iter().map(|(_, v)| *v).fold(1.0_f64, f64::max);
    nums.into_iter()
        .enumerate()
        .map(|(i, (k, v))| Bar {
            label: tr.code("evidence", &k),
            value: format!("{v}"),
            // Bounded by construction: v/max is in 0..=1.
            width: ((v.max(0.0) / max) * 300.0).round() as u32,
            y: 28 * i as u32,
        })
        .collect()
}

/// Equirectangular projection into a 360×180 box.
pub fn project(lat: f32, lon: f32) -> (String, String) {
    let x = (lon.clamp(-180.0, 180.0) + 180.0) as f64;
    let y = (90.0 - lat.clamp(-90.0, 90.0)) as f64;
    (format!("{x:.1}"), format!("{y:.1}"))
}

pub async fn account(ctx: Ctx, Path(id): Path<String>) -> Response {
    if ctx.owner.is_none() {
        return ctx.redirect("/sign-in");
    }
    if !ctx.is_admin() {
        let m = ctx.tr.t("error.analysts_only").to_owned();
        return ctx.error_page(StatusCode::FORBIDDEN, m);
    }
    let tr = ctx.tr;
    let t = now();
    let Some(state) = engine_state(&ctx, &id).await else {
        let m = tr.t("error.not_found").to_owned();
        return ctx.error_page(StatusCode::NOT_FOUND, m);
    };
    let verdict = ctx.app.engine.verdict(&state, &AccountId(id.clone()), t);
    let code = serde_json::to_value(verdict.sharing)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    let households = state.households(t);
    let dots = households
        .iter()
        .filter_map(|h| {
            let (x, y) = project(h.lat?, h.lon?);
            Some(Dot {
                x,
                y,
                label: h
                    .city
                    .clone()
                    .or_else(|| h.country.clone())
                    .unwrap_or_default(),
            })
        })
        .collect();
    let places = households
        .iter()
        .map(|h| {
            let mut p: Vec<String> = [h.city.clone(), h.country.clone()]
                .into_iter()
                .flatten()
                .collect();
            if let Some(a) = h.asn {
                p.push(format!("AS{a}"));
            }
            format!(
                "{} — {} {}",
                p.join(" · "),
                tr.t("devices.household_since"),
                when(h.first_seen)
            )
        })
        .collect();
    let email = match ctx.app.store.account_by_id(&id).await {
        Ok(Some(a)) => a.email,
        _ => String::new(),
    };
    let timeline = audit_rows(
        &tr,
        ctx.app
            .store
            .audit_for_account(&id, 100)
            .await
            .unwrap_or_default(),
    );
    let bars = bars(&tr, &verdict.evidence);
    let chart_height = (bars.len() as u32) * 28;
    let base = ctx.base("admin.account_title", "admin");
    ctx.page(&AccountPage {
        base,
        account: id,
        email,
        sharing: tr.code("sharing", &code),
        sharing_code: code,
        bars,
        chart_height,
        evidence: verdict.evidence,
        dots,
        places,
        timeline,
    })
}

/// One day's bar of a campaign's 14-day chart.
pub struct DayBar {
    pub x: u32,
    pub y: u32,
    pub height: u32,
    pub label: String,
}

/// A phishing campaign as listed.
pub struct CampaignRow {
    pub id: String,
    pub label: String,
    pub label_code: String,
    pub reports: u64,
    pub recent: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub domains: String,
    pub languages: String,
    pub days: Vec<DayBar>,
}

/// Daily counts as bars 8 wide in a 14×10 by 40 box, scaled to the busiest day.
pub fn day_bars(daily: &[crate::service::phishing::DayCount]) -> Vec<DayBar> {
    let max = daily.iter().map(|d| d.reports).max().unwrap_or(0).max(1);
    daily
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let scaled = u32::try_from(d.reports.saturating_mul(38) / max).unwrap_or(38);
            // A day with reports shows at least a sliver; an empty day shows nothing.
            let height = if d.reports == 0 { 0 } else { scaled.max(1) };
            DayBar {
                x: 10 * i as u32,
                y: 39 - height,
                height,
                label: format!("{}: {}", d.day, d.reports),
            }
        })
        .collect()
}

pub fn campaign_row(
    tr: &super::i18n::Tr,
    c: &crate::service::phishing::CampaignSummary,
) -> CampaignRow {
    CampaignRow {
        id: c.id.clone(),
        label: tr.code("check.label", &c.label),
        label_code: c.label.clone(),
        reports: c.reports,
        recent: c.recent_reports,
        first_seen: when(c.first_seen),
        last_seen: when(c.last_seen),
        domains: c.domains.join(", "),
        languages: c
            .languages
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect::<Vec<_>>()
            .join(" · "),
        days: day_bars(&c.daily),
    }
}

/// A reported message, sanitised: plain text (converted at intake) and escaped here;
/// links are shown as text, never as links.
pub struct SampleRow {
    pub at: String,
    pub channel: String,
    pub sender: String,
    pub subject: String,
    pub text: String,
    pub urls: Vec<String>,
    pub verdict: String,
    pub reasons: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "admin_campaign.html")]
pub struct CampaignPage {
    pub base: Base,
    pub campaign: CampaignRow,
    pub samples: Vec<SampleRow>,
}

pub async fn campaign(ctx: Ctx, Path(id): Path<String>) -> Response {
    if ctx.owner.is_none() {
        return ctx.redirect("/sign-in");
    }
    if !ctx.is_admin() {
        let m = ctx.tr.t("error.analysts_only").to_owned();
        return ctx.error_page(StatusCode::FORBIDDEN, m);
    }
    let tr = ctx.tr;
    match ctx.app.campaign(&id, now()).await {
        Ok(detail) => {
            let campaign = campaign_row(&tr, &detail.campaign);
            let samples = detail
                .samples
                .into_iter()
                .map(|s| SampleRow {
                    at: when(s.received_at),
                    channel: s.channel.unwrap_or_default(),
                    sender: s.sender.unwrap_or_default(),
                    subject: s.subject.unwrap_or_default(),
                    text: s.text,
                    urls: s.urls,
                    verdict: tr.code("check.label", &s.verdict),
                    reasons: s.reasons.iter().map(|r| tr.code("phish", r)).collect(),
                })
                .collect();
            let base = ctx.base("admin.campaign_title", "admin");
            ctx.page(&CampaignPage {
                base,
                campaign,
                samples,
            })
        }
        Err(e) => {
            let (st, m) = super::owner::explain(&tr, &e);
            ctx.error_page(st, m)
        }
    }
}
