//! The owner's security notices on the web: the in-app list (newest first, unread
//! ones marked) and the switches: which channels, and which notices to receive. The
//! security notices are listed as always on; the JSON API offers the same
//! (`/v1/me/notifications`, `/v1/me/notification-settings`).

use super::ctx::Ctx;
use super::owner::{explain, posted_owner, require_owner};
use super::{when, Base, Posted};
use crate::service::notify::switchable;
use crate::service::ServiceError;
use hearth_core::time::DAY;
use hearth_courier::templates::Notice;
use hearth_store::{NotificationPrefs, NotificationRow};

/// One notice in the list.
pub struct NoticeRow {
    pub at: String,
    pub title: String,
    pub detail: String,
    pub unread: bool,
}

/// A notice the owner may turn off.
pub struct Switch {
    pub kind: String,
    pub label: String,
    pub on: bool,
}

#[derive(askama::Template)]
#[template(path = "notices.html")]
pub struct NoticesPage {
    pub base: Base,
    pub rows: Vec<NoticeRow>,
    pub unread: usize,
    pub email: bool,
    pub sms: bool,
    pub has_phone: bool,
    pub switches: Vec<Switch>,
    /// The security notices, which are always sent.
    pub always: Vec<String>,
}

fn row(tr: &super::i18n::Tr, n: NotificationRow) -> NoticeRow {
    let device = n.device_name.as_deref().filter(|d| !d.is_empty());
    let kind = n
        .device_type
        .as_deref()
        .filter(|k| *k != "other" || device.is_some());
    let mut detail: Vec<String> = Vec::new();
    match (device, kind) {
        (Some(d), Some(k)) => detail.push(format!("“{d}” ({})", tr.code("device_type", k))),
        (Some(d), None) => detail.push(format!("“{d}”")),
        (None, Some(k)) => detail.push(tr.code("device_type", k)),
        (None, None) => {}
    }
    if let Some(p) = n.place.filter(|p| !p.is_empty()) {
        detail.push(p);
    }
    NoticeRow {
        at: when(n.at),
        title: tr.f(
            &format!("notice.{}", n.kind),
            &[("n", &n.count.to_string())],
        ),
        detail: detail.join(" · "),
        unread: n.read_at.is_none(),
    }
}

pub async fn page(ctx: Ctx) -> axum::response::Response {
    let (ctx, _, account) = match require_owner(ctx, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let since = crate::service::now().plus(-90 * DAY);
    let (rows, prefs) = match (
        ctx.app
            .store
            .notifications(&account.id, since, true, 200)
            .await,
        ctx.app.notification_prefs(&account.id).await,
    ) {
        (Ok(rows), Ok(prefs)) => (rows, prefs),
        (Err(e), _) => {
            let (st, m) = explain(&ctx.tr, &ServiceError::from(e));
            return ctx.error_page(st, m);
        }
        (_, Err(e)) => {
            let (st, m) = explain(&ctx.tr, &e);
            return ctx.error_page(st, m);
        }
    };
    let tr = ctx.tr;
    let rows: Vec<NoticeRow> = rows.into_iter().map(|n| row(&tr, n)).collect();
    let switches = switchable()
        .into_iter()
        .map(|kind| Switch {
            kind: kind.to_owned(),
            label: tr.t(&format!("notices.kind.{kind}")).to_owned(),
            on: !prefs.off.iter().any(|k| k == kind),
        })
        .collect();
    let always = Notice::ALL
        .iter()
        .filter(|n| n.is_security_critical())
        .map(|n| tr.t(&format!("notices.kind.{}", n.as_str())).to_owned())
        .collect();
    let base = ctx.base("notices.title", "notices");
    ctx.page(&NoticesPage {
        base,
        unread: rows.iter().filter(|r| r.unread).count(),
        rows,
        email: prefs.email,
        sms: prefs.sms,
        has_phone: account.recovery_phone.is_some(),
        switches,
        always,
    })
}

/// Marks every notice read.
pub async fn read(p: Posted) -> axum::response::Response {
    let (p, s) = match posted_owner(p) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut ctx = p.ctx;
    let now = crate::service::now();
    match ctx
        .app
        .store
        .mark_notifications_read(&s.account_id, None, now)
        .await
    {
        Ok(_) => {
            ctx.set_flash("flash.notices_read");
            ctx.redirect("/account/notifications")
        }
        Err(e) => {
            let (st, m) = explain(&ctx.tr, &ServiceError::from(e));
            ctx.error_page(st, m)
        }
    }
}

/// Saves the channels and the switches: a notice is on when its box is ticked.
pub async fn settings(p: Posted) -> axum::response::Response {
    let (p, s) = match posted_owner(p) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ticked = |name: &str| !p.field(name).is_empty();
    let prefs = NotificationPrefs {
        account_id: s.account_id.clone(),
        email: ticked("email"),
        sms: ticked("sms"),
        off: switchable()
            .into_iter()
            .filter(|k| !ticked(&format!("on_{k}")))
            .map(str::to_owned)
            .collect(),
    };
    let mut ctx = p.ctx;
    let has_phone = ctx
        .owner
        .as_ref()
        .is_some_and(|(_, a)| a.recovery_phone.is_some());
    if prefs.sms && !has_phone {
        let m = ctx.tr.t("notices.need_phone").to_owned();
        return ctx.error_page(axum::http::StatusCode::UNPROCESSABLE_ENTITY, m);
    }
    match ctx.app.set_notification_prefs(prefs).await {
        Ok(()) => {
            ctx.set_flash("flash.notices_saved");
            ctx.redirect("/account/notifications")
        }
        Err(e) => {
            let (st, m) = explain(&ctx.tr, &e);
            ctx.error_page(st, m)
        }
    }
}
