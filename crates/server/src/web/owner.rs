//! The account owner's pages: sign-up and sign-in, the security check-up, devices and
//! household, "this wasn't me", "I entered my details on a fake site", the recovery
//! phone, the password and the account's activity.

use super::ctx::{Ctx, BROWSER_COOKIE, LANG_COOKIE, OWNER_COOKIE};
use super::i18n::Tr;
use super::{ago, when, Base, Posted};
use crate::service::accounts::{SignIn, SignUp};
use crate::service::{now, ServiceError};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_core::engine::AccountState;
use hearth_core::{DeviceId, DeviceType, Timestamp};
use hearth_store::{Account, Session};

/// Devices unused this long are pointed out by the check-up.
const STALE_DAYS: i64 = 30;
/// Audit kinds the check-up counts as suspicious.
const SUSPICIOUS: &[&str] = &[
    "sign_in_failed",
    "report_this_wasnt_me",
    "report_entered_details_on_fake_site",
    "sign_up_with_existing_email",
];

/// The owner's web answer for a service error, in the page's language.
pub fn explain(tr: &Tr, e: &ServiceError) -> (StatusCode, String) {
    match e {
        ServiceError::Invalid { field, message } => {
            let key = format!("error.field.{field}");
            let text = tr.t(&key);
            let text = if text == key {
                message.clone()
            } else {
                text.to_owned()
            };
            (StatusCode::UNPROCESSABLE_ENTITY, text)
        }
        ServiceError::WeakPassword(report) => {
            let why: Vec<String> = report
                .reasons
                .iter()
                .map(|r| tr.code("password", r.as_str()))
                .collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                tr.f("error.weak_password", &[("why", &why.join("; "))]),
            )
        }
        ServiceError::Code(c) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            match c {
                hearth_core::codes::CodeError::Mismatch { attempts_left } => {
                    tr.f("error.code_mismatch", &[("n", &attempts_left.to_string())])
                }
                other => tr.code("error.code", other.as_str()),
            },
        ),
        ServiceError::NoCode => (
            StatusCode::UNPROCESSABLE_ENTITY,
            tr.t("error.no_code").into(),
        ),
        ServiceError::TooManySends { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            tr.f(
                "error.too_many_sends",
                &[("secs", &retry_after_secs.to_string())],
            ),
        ),
        ServiceError::InvalidCredentials => {
            (StatusCode::UNAUTHORIZED, tr.t("error.credentials").into())
        }
        ServiceError::TooManyAttempts {
            retry_after_secs, ..
        } => (
            StatusCode::TOO_MANY_REQUESTS,
            tr.f("error.too_many", &[("secs", &retry_after_secs.to_string())]),
        ),
        ServiceError::Unauthenticated => {
            (StatusCode::UNAUTHORIZED, tr.t("error.signed_out").into())
        }
        ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, tr.t("error.not_found").into()),
        // The service's own words: they say why (e.g. no travel passes left this month).
        ServiceError::Forbidden(why) => (StatusCode::FORBIDDEN, (*why).to_owned()),
        ServiceError::PasswordChangeRequired => (
            StatusCode::FORBIDDEN,
            tr.t("error.change_password_first").into(),
        ),
        ServiceError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            tr.t("error.unavailable").into(),
        ),
        ServiceError::Internal(m) => {
            tracing::error!(error = %m, "page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                tr.t("error.internal").into(),
            )
        }
    }
}

/// The signed-in owner, or the answer that sends the visitor to sign in (or to change
/// the password first when the account requires it).
// The error is the answer itself, sent at once: boxing it would buy nothing.
#[allow(clippy::result_large_err)]
pub(crate) fn require_owner(
    ctx: Ctx,
    allow_must_change: bool,
) -> Result<(Ctx, Session, Account), Response> {
    match ctx.owner.clone() {
        None => Err(ctx.redirect("/sign-in")),
        Some((_, a)) if a.must_change_password && !allow_must_change => {
            Err(ctx.redirect("/account/password"))
        }
        Some((s, a)) => Ok((ctx, s, a)),
    }
}

pub async fn index(ctx: Ctx) -> Response {
    if ctx.owner.is_some() {
        ctx.redirect("/account")
    } else {
        ctx.redirect("/sign-in")
    }
}

#[derive(serde::Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// `GET /lang/fr?next=/account`: remembers the language for a year.
pub async fn set_lang(mut ctx: Ctx, Path(code): Path<String>, Query(q): Query<Next>) -> Response {
    if let Some(code) = super::i18n::supported(&code) {
        ctx.set_cookie(LANG_COOKIE, code, Some(365 * 86_400));
    }
    let next = q.next.unwrap_or_else(|| "/".into());
    ctx.redirect(&next)
}

#[derive(askama::Template)]
#[template(path = "sign_up.html")]
pub struct SignUpPage {
    pub base: Base,
    pub email: String,
    pub phone: String,
}

pub async fn sign_up_page(ctx: Ctx) -> Response {
    let base = ctx.base("sign_up.title", "sign_up");
    ctx.page(&SignUpPage {
        base,
        email: String::new(),
        phone: String::new(),
    })
}

pub async fn sign_up(p: Posted) -> Response {
    let (email, phone) = (p.field("email").to_owned(), p.field("phone").to_owned());
    let mut ctx = p.ctx;
    let req = SignUp {
        email: email.clone(),
        password: p.form.get("password").cloned().unwrap_or_default(),
        recovery_phone: Some(phone.clone()).filter(|s| !s.trim().is_empty()),
        locale: Some(ctx.tr.lang.to_owned()),
    };
    match ctx.app.sign_up(req, &ctx.client).await {
        Ok(()) => {
            ctx.set_flash("flash.signed_up");
            ctx.redirect("/sign-in")
        }
        Err(e) => {
            let (status, msg) = explain(&ctx.tr, &e);
            let mut base = ctx.base("sign_up.title", "sign_up");
            base.error = Some(msg);
            ctx.render(status, &SignUpPage { base, email, phone })
        }
    }
}

#[derive(askama::Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    pub base: Base,
    pub email: String,
}

pub async fn sign_in_page(ctx: Ctx) -> Response {
    if ctx.owner.is_some() {
        return ctx.redirect("/account");
    }
    let base = ctx.base("sign_in.title", "sign_in");
    ctx.page(&SignInPage {
        base,
        email: String::new(),
    })
}

/// A browser that says it is a phone is one; anything else is a computer.
pub fn browser_type(user_agent: Option<&str>) -> DeviceType {
    match user_agent {
        Some(ua) if ua.contains("iPad") || ua.contains("Tablet") => DeviceType::Tablet,
        Some(ua) if ua.contains("Mobile") || ua.contains("Android") => DeviceType::Mobile,
        _ => DeviceType::Computer,
    }
}

pub async fn sign_in(p: Posted) -> Response {
    let email = p.field("email").to_owned();
    let password = p.field("password").to_owned();
    let mut ctx = p.ctx;
    // One stable device id per browser, so a browser signing in again is a known device.
    let device_id = match ctx.cookie(BROWSER_COOKIE) {
        Some(d) if d.len() == 18 && d.starts_with("b-") => d.to_owned(),
        _ => format!("b-{}", crate::service::random_hex(8)),
    };
    let req = SignIn {
        email: email.clone(),
        password,
        device_id: Some(device_id.clone()),
        device_type: browser_type(ctx.client.user_agent.as_deref()),
        device_name: None,
    };
    match ctx.app.sign_in(req, &ctx.client).await {
        Ok(signed) => {
            let max_age = u64::from(ctx.app.config.sessions.idle_timeout_days) * 86_400;
            ctx.set_cookie(BROWSER_COOKIE, &device_id, Some(5 * 365 * 86_400));
            ctx.set_cookie(OWNER_COOKIE, &signed.token, Some(max_age));
            ctx.new_nonce();
            if signed.must_change_password {
                ctx.redirect("/account/password")
            } else {
                ctx.redirect("/account")
            }
        }
        Err(e) => {
            let (status, msg) = explain(&ctx.tr, &e);
            let mut base = ctx.base("sign_in.title", "sign_in");
            base.error = Some(msg);
            ctx.render(status, &SignInPage { base, email })
        }
    }
}

pub async fn sign_out(p: Posted) -> Response {
    let mut ctx = p.ctx;
    if let Some((session, _)) = ctx.owner.clone() {
        if let Err(e) = ctx
            .app
            .sign_out_device(&session, &session.id, &ctx.client)
            .await
        {
            tracing::warn!(error = %e, "sign-out failed");
        }
    }
    ctx.clear_cookie(OWNER_COOKIE);
    ctx.new_nonce();
    ctx.set_flash("flash.signed_out");
    ctx.redirect("/sign-in")
}

/// One line of the security check-up.
pub struct Check {
    pub ok: bool,
    pub text: String,
    pub link: &'static str,
    pub action: String,
}

#[derive(askama::Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub base: Base,
    pub email: String,
    /// The one thing to fix first, or that all is well.
    pub headline: String,
    pub all_ok: bool,
    pub checks: Vec<Check>,
    pub devices: usize,
}

pub async fn home(ctx: Ctx) -> Response {
    let (ctx, _session, account) = match require_owner(ctx, false) {
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
    let audit = ctx
        .app
        .store
        .audit_for_account(&account.id, 200)
        .await
        .unwrap_or_default();
    let month_ago = t.plus(-STALE_DAYS * hearth_core::time::DAY);
    let suspicious = audit
        .iter()
        .filter(|e| e.at > month_ago && SUSPICIOUS.contains(&e.kind.as_str()))
        .count();
    let stale = sessions
        .iter()
        .filter(|s| s.last_seen_at < month_ago)
        .count();
    let mut checks = vec![
        Check {
            ok: suspicious == 0,
            text: if suspicious == 0 {
                tr.t("checkup.no_suspicious").into()
            } else {
                tr.f("checkup.suspicious", &[("n", &suspicious.to_string())])
            },
            link: "/account/activity",
            action: tr.t("checkup.review_activity").into(),
        },
        Check {
            ok: account.recovery_phone.is_some(),
            text: if account.recovery_phone.is_some() {
                tr.t("checkup.phone_set").into()
            } else {
                tr.t("checkup.phone_missing").into()
            },
            link: "/account/phone",
            action: tr.t("checkup.set_phone").into(),
        },
        Check {
            ok: stale == 0,
            text: if stale == 0 {
                tr.f(
                    "checkup.devices_fresh",
                    &[("n", &sessions.len().to_string())],
                )
            } else {
                tr.f("checkup.devices_stale", &[("n", &stale.to_string())])
            },
            link: "/account/devices",
            action: tr.t("checkup.review_devices").into(),
        },
        Check {
            ok: true,
            text: tr.f(
                "checkup.password_age",
                &[("ago", &ago(&tr, account.password_changed_at, t))],
            ),
            link: "/account/password",
            action: tr.t("checkup.change_password").into(),
        },
    ];
    // A report stays on the account for analysts; for the owner it is settled once
    // the password has been changed since.
    let unsettled = match (account.flagged_reason.as_ref(), account.flagged_at) {
        (Some(_), Some(at)) => account.password_changed_at < at,
        (Some(_), None) => true,
        _ => false,
    };
    if unsettled {
        checks.insert(
            0,
            Check {
                ok: false,
                text: tr.t("checkup.flagged").into(),
                link: "/account/password",
                action: tr.t("checkup.change_password").into(),
            },
        );
    }
    let first_bad = checks.iter().find(|c| !c.ok);
    let all_ok = first_bad.is_none();
    let headline = match first_bad {
        None => tr.t("checkup.all_good").to_owned(),
        Some(c) => tr.f("checkup.fix_first", &[("what", &c.action)]),
    };
    let base = ctx.base("home.title", "home");
    ctx.page(&HomePage {
        base,
        email: account.email.clone(),
        headline,
        all_ok,
        checks,
        devices: sessions.len(),
    })
}

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
    let devices = sessions
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
    let base = ctx.base("devices.title", "devices");
    ctx.page(&DevicesPage {
        base,
        devices,
        households,
        history,
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

/// The signed-in owner of a posted form, or the answer that sends them to sign in.
#[allow(clippy::result_large_err)]
fn posted_owner(p: Posted) -> Result<(Posted, Session), Response> {
    match p.ctx.owner.clone() {
        Some((s, a)) if !a.must_change_password => Ok((p, s)),
        Some(_) => Err(p.ctx.redirect("/account/password")),
        None => Err(p.ctx.redirect("/sign-in")),
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
