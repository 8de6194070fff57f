//! The owner's settings and reports: "I entered my details on a fake site", the recovery
//! phone, the password, and the account's activity.

use super::ctx::{Ctx, OWNER_COOKIE};
use super::i18n::Tr;
use super::owner::{explain, posted_owner, require_owner, SUSPICIOUS};
use super::{when, Base, Posted};
use crate::service::ServiceError;
use axum::http::StatusCode;
use axum::response::Response;

#[derive(askama::Template)]
#[template(path = "compromised.html")]
pub struct CompromisedPage {
    pub base: Base,
    /// Empty until the report is made; then what to do next.
    pub guidance: Vec<String>,
    pub done: String,
}

pub async fn compromised_page(ctx: Ctx) -> Response {
    let (ctx, _, _) = match require_owner(ctx, true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let base = ctx.base("compromised.title", "compromised");
    ctx.page(&CompromisedPage {
        base,
        guidance: Vec::new(),
        done: String::new(),
    })
}

pub async fn compromised(p: Posted) -> Response {
    let mut ctx = p.ctx;
    let Some((session, _)) = ctx.owner.clone() else {
        return ctx.redirect("/sign-in");
    };
    match ctx.app.report_compromised(&session, &ctx.client).await {
        Ok((signed_out, guidance)) => {
            // Every session is gone, this browser's too: the page is shown signed out.
            ctx.owner = None;
            ctx.clear_cookie(OWNER_COOKIE);
            ctx.new_nonce();
            let tr = ctx.tr;
            let guidance = guidance
                .iter()
                .map(|g| {
                    let key = format!("guidance.{}", g.code);
                    match tr.t(&key) {
                        k if k == key => g.text.clone(),
                        text => text.replace("{address}", &ctx.app.config.phishing_report_address),
                    }
                })
                .collect();
            let done = tr.f("compromised.done", &[("n", &signed_out.to_string())]);
            let base = ctx.base("compromised.title", "compromised");
            ctx.page(&CompromisedPage {
                base,
                guidance,
                done,
            })
        }
        Err(e) => {
            let (st, m) = explain(&ctx.tr, &e);
            ctx.error_page(st, m)
        }
    }
}

#[derive(askama::Template)]
#[template(path = "phone.html")]
pub struct PhonePage {
    pub base: Base,
    pub phone: String,
    pub has_phone: bool,
}

pub async fn phone_page(ctx: Ctx) -> Response {
    let (ctx, _, account) = match require_owner(ctx, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let base = ctx.base("phone.title", "phone");
    ctx.page(&PhonePage {
        base,
        has_phone: account.recovery_phone.is_some(),
        phone: account.recovery_phone.unwrap_or_default(),
    })
}

pub async fn phone(p: Posted) -> Response {
    let (p, s) = match posted_owner(p) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let remove = p.field("action") == "remove";
    let phone = p.field("phone").to_owned();
    let mut ctx = p.ctx;
    let value = (!remove).then_some(phone.as_str());
    match ctx.app.set_recovery_phone(&s, value, &ctx.client).await {
        Ok(()) => {
            ctx.set_flash(if remove {
                "flash.phone_removed"
            } else {
                "flash.phone_set"
            });
            ctx.redirect("/account")
        }
        Err(e) => {
            let (st, m) = explain(&ctx.tr, &e);
            let mut base = ctx.base("phone.title", "phone");
            base.error = Some(m);
            let has_phone = ctx
                .owner
                .as_ref()
                .is_some_and(|(_, a)| a.recovery_phone.is_some());
            ctx.render(
                st,
                &PhonePage {
                    base,
                    phone,
                    has_phone,
                },
            )
        }
    }
}

#[derive(askama::Template)]
#[template(path = "password.html")]
pub struct PasswordPage {
    pub base: Base,
    pub required: bool,
}

pub async fn password_page(ctx: Ctx) -> Response {
    let (ctx, _, account) = match require_owner(ctx, true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let base = ctx.base("password.title", "password");
    ctx.page(&PasswordPage {
        base,
        required: account.must_change_password,
    })
}

pub async fn password(p: Posted) -> Response {
    let mut ctx = p.ctx;
    let Some((session, account)) = ctx.owner.clone() else {
        return ctx.redirect("/sign-in");
    };
    let (current, new, again) = (
        p.form.get("current").cloned().unwrap_or_default(),
        p.form.get("new").cloned().unwrap_or_default(),
        p.form.get("again").cloned().unwrap_or_default(),
    );
    let result = if new != again {
        Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr.t("password.mismatch").to_owned(),
        ))
    } else {
        ctx.app
            .change_password(&session, &current, &new, &ctx.client)
            .await
            .map_err(|e| explain(&ctx.tr, &e))
    };
    match result {
        Ok(_) => {
            ctx.set_flash("flash.password_changed");
            ctx.redirect("/account")
        }
        Err((st, m)) => {
            let mut base = ctx.base("password.title", "password");
            base.error = Some(m);
            ctx.render(
                st,
                &PasswordPage {
                    base,
                    required: account.must_change_password,
                },
            )
        }
    }
}

/// One line of the activity page.
pub struct AuditRow {
    pub at: String,
    pub account: String,
    pub what: String,
    pub ip: String,
    pub device: String,
    pub suspicious: bool,
}

#[derive(askama::Template)]
#[template(path = "activity.html")]
pub struct ActivityPage {
    pub base: Base,
    pub rows: Vec<AuditRow>,
}

pub fn audit_rows(tr: &Tr, entries: Vec<hearth_store::AuditEntry>) -> Vec<AuditRow> {
    entries
        .into_iter()
        .map(|e| AuditRow {
            at: when(e.at),
            account: e.account_id.unwrap_or_default(),
            suspicious: SUSPICIOUS.contains(&e.kind.as_str())
                || e.kind == "credential_stuffing_detected",
            what: tr.code("audit", &e.kind),
            ip: e.ip.unwrap_or_default(),
            device: e.device_id.unwrap_or_default(),
        })
        .collect()
}

pub async fn activity(ctx: Ctx) -> Response {
    let (ctx, _, account) = match require_owner(ctx, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let entries = match ctx.app.store.audit_for_account(&account.id, 200).await {
        Ok(e) => e,
        Err(e) => {
            let (st, m) = explain(&ctx.tr, &ServiceError::from(e));
            return ctx.error_page(st, m);
        }
    };
    let rows = audit_rows(&ctx.tr, entries);
    let base = ctx.base("activity.title", "activity");
    ctx.page(&ActivityPage { base, rows })
}
