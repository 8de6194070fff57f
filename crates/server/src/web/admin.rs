//! The analysts' dashboard (administrators only): flagged accounts with the engine's
//! sharing verdict, and audit-log search.

use super::ctx::Ctx;
use super::owner::{audit_rows, engine_state, AuditRow};
use super::{when, Base};
use crate::service::now;
use axum::extract::Query;
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
        flagged,
        account: account.unwrap_or_default(),
        kind: kind.unwrap_or_default(),
        ip: ip.unwrap_or_default(),
        searched,
        rows,
    })
}
