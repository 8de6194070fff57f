//! The account owner's way in and first page: sign-up, sign-in, sign-out, the language
//! switch and the security check-up; and how every owner page answers a service error.

use super::ctx::{Ctx, BROWSER_COOKIE, LANG_COOKIE, OWNER_COOKIE};
use super::i18n::Tr;
use super::{ago, Base, Posted};
use crate::service::accounts::{SignIn, SignUp};
use crate::service::{now, ServiceError};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_core::DeviceType;
use hearth_store::{Account, Session};

/// Devices unused this long are pointed out by the check-up.
const STALE_DAYS: i64 = 30;
/// Audit kinds the check-up counts as suspicious.
pub(crate) const SUSPICIOUS: &[&str] = &[
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

/// The signed-in owner of a posted form, or the answer that sends them to sign in.
#[allow(clippy::result_large_err)]
pub(crate) fn posted_owner(p: Posted) -> Result<(Posted, Session), Response> {
    match p.ctx.owner.clone() {
        Some((s, a)) if !a.must_change_password => Ok((p, s)),
        Some(_) => Err(p.ctx.redirect("/account/password")),
        None => Err(p.ctx.redirect("/sign-in")),
    }
}
