//! The owner's devices and household: each device with where it is, when it was last
//! used and its standing with the household; rename, sign out one or all, "this wasn't
//! me"; verification requests and answers.

use super::ctx::{Ctx, OWNER_COOKIE};
use super::i18n::Tr;
use super::owner::{explain, posted_owner, require_owner};
use super::{ago, when, Base, Posted};
use crate::service::{now, ServiceError};
use axum::extract::Path;
use axum::response::Response;
use hearth_core::engine::AccountState;
use hearth_core::{DeviceId, Timestamp};

/// One row of the devices page.
pub struct DeviceRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub ip: String,
    pub location: String,
    pub last_seen: String,
    pub last_seen_at: String,
    pub standing: String,
    pub standing_code: String,
    pub current: bool,
}

/// One household connection.
pub struct HouseholdRow {
    pub place: String,
    pub since: String,
    pub until: String,
    pub tv: bool,
}

#[derive(askama::Template)]
#[template(path = "devices.html")]
pub struct DevicesPage {
    pub base: Base,
    pub devices: Vec<DeviceRow>,
    pub households: Vec<HouseholdRow>,
    pub history: Vec<HistoryRow>,
    /// Devices the engine has not let into the household yet: they must verify.
    pub pending: Vec<String>,
}

/// The engine's state for an account, if it has seen any event of it.
pub async fn engine_state(ctx: &Ctx, account: &str) -> Option<AccountState> {
    ctx.app.engine_state(account).await.ok().flatten()
}

/// Audit kinds that tell the story of verification requests and their answers.
const VERIFICATION: &[&str] = &[
    "code_sent",
    "device_verified",
    "verify_later_granted",
    "verify_later_refused",
    "travel_pass_started",
    "household_moved",
    "sign_in_code_created",
];

/// One verification request or answer.
pub struct HistoryRow {
    pub at: String,
    pub what: String,
    pub device: String,
}

fn history_rows(tr: &Tr, entries: &[hearth_store::AuditEntry]) -> Vec<HistoryRow> {
    entries
        .iter()
        .filter(|e| VERIFICATION.contains(&e.kind.as_str()))
        .take(20)
        .map(|e| {
            let detail = |k: &str| {
                e.detail
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            let mut what = tr.code("audit", &e.kind);
            if e.kind == "code_sent" {
                what = tr.f(
                    "devices.code_sent",
                    &[
                        ("purpose", &tr.code("purpose", &detail("purpose"))),
                        ("channel", &tr.code("channel", &detail("channel"))),
                        ("to", &detail("sent_to")),
                    ],
                );
            }
            HistoryRow {
                at: when(e.at),
                what,
                device: detail("device_name"),
            }
        })
        .collect()
}

pub fn standing_code(state: Option<&AccountState>, device: &str, t: Timestamp) -> String {
    let standing = state
        .map(|s| s.device_standing(&DeviceId(device.to_owned()), t))
        .unwrap_or(hearth_core::engine::Standing::Unknown);
    serde_json::to_value(standing)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

pub async fn devices(ctx: Ctx) -> Response {
    let (ctx, session, account) = match require_owner(ctx, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tr = ctx.tr;
    let t = now();
    let sessions = match ctx.app.list_devices(&account.id).await {
        Ok(s) => s,
        Err(e) => {
            let (st, m) = explain(&tr, &e);
            return ctx.error_page(st, m);
        }
    };
    let state = engine_state(&ctx, &account.id).await;
    let devices: Vec<DeviceRow> = sessions
        .iter()
        .map(|s| {
            let code = standing_code(state.as_ref(), &s.device_id, t);
            DeviceRow {
                id: s.id.clone(),
                name: s.name.clone(),
                kind: tr.code("device_type", &s.device_type),
                ip: s.ip.clone(),
                location: s
                    .location
                    .clone()
                    .or_else(|| super::device::place_of_ip(&s.ip))
                    .unwrap_or_default(),
                last_seen: ago(&tr, s.last_seen_at, t),
                last_seen_at: when(s.last_seen_at),
                standing: tr.code("standing", &code),
                standing_code: code,
                current: s.id == session.id,
            }
        })
        .collect();
    let households = state
        .as_ref()
        .map(|s| s.households(t))
        .unwrap_or_default()
        .into_iter()
        .map(|h| {
            let mut place: Vec<String> = Vec::new();
            if let Some(c) = &h.city {
                place.push(c.clone());
            }
            if let Some(c) = &h.country {
                place.push(c.clone());
            }
            if let Some(a) = h.asn {
                place.push(format!("AS{a}"));
            }
            if place.is_empty() {
                place.push(tr.t("devices.unnamed_place").into());
            }
            HouseholdRow {
                place: place.join(" · "),
                since: when(h.first_seen),
                until: when(h.expires),
                tv: h.tv,
            }
        })
        .collect();
    let audit = ctx
        .app
        .store
        .audit_for_account(&account.id, 200)
        .await
        .unwrap_or_default();
    let history = history_rows(&tr, &audit);
    let pending = devices
        .iter()
        .filter(|d: &&DeviceRow| d.standing_code == "unknown" && !d.current)
        .map(|d| d.name.clone())
        .collect();
    let base = ctx.base("devices.title", "devices");
    ctx.page(&DevicesPage {
        base,
        devices,
        households,
        history,
        pending,
    })
}

async fn after(p: Posted, flash: &str, result: Result<(), ServiceError>) -> Response {
    let mut ctx = p.ctx;
    match result {
        Ok(()) => {
            ctx.set_flash(flash);
            ctx.redirect("/account/devices")
        }
        Err(e) => {
            let (st, m) = explain(&ctx.tr, &e);
            ctx.error_page(st, m)
        }
    }
}

pub async fn rename(Path(id): Path<String>, p: Posted) -> Response {
    let (p, s) = match posted_owner(p) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let name = p.field("name").to_owned();
    let r = p.ctx.app.rename_device(&s, &id, &name).await;
    after(p, "flash.renamed", r).await
}

pub async fn sign_out_one(Path(id): Path<String>, p: Posted) -> Response {
    let (p, s) = match posted_owner(p) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let r = p.ctx.app.sign_out_device(&s, &id, &p.ctx.client).await;
    if id == s.id {
        let mut ctx = p.ctx;
        ctx.clear_cookie(OWNER_COOKIE);
        ctx.new_nonce();
        ctx.set_flash("flash.signed_out");
        return ctx.redirect("/sign-in");
    }
    after(p, "flash.device_signed_out", r).await
}

pub async fn not_me(Path(id): Path<String>, p: Posted) -> Response {
    let (p, s) = match posted_owner(p) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let r = p
        .ctx
        .app
        .report_not_me(&s, &id, &p.ctx.client)
        .await
        .map(|_| ());
    after(p, "flash.not_me", r).await
}

pub async fn sign_out_all(p: Posted) -> Response {
    let (p, s) = match posted_owner(p) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let this_too = p.field("this_too") == "on";
    let r = p
        .ctx
        .app
        .sign_out_all(&s, !this_too, &p.ctx.client)
        .await
        .map(|_| ());
    if this_too && r.is_ok() {
        let mut ctx = p.ctx;
        ctx.clear_cookie(OWNER_COOKIE);
        ctx.new_nonce();
        ctx.set_flash("flash.signed_out_everywhere");
        return ctx.redirect("/sign-in");
    }
    after(p, "flash.signed_out_all", r).await
}
