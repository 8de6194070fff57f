//! The web pages: owners (sign-up, sign-in, check-up, devices, reports, message
//! checker), the device view that plays a TV or phone app for demos and tests, the
//! dev mailbox and the analysts' dashboard. Server-rendered with askama (escaped by
//! default), one small stylesheet and no script; every form carries a CSRF token
//! checked on POST (see [`ctx`]), and every page leaves with a strict
//! Content-Security-Policy.
//!
//! Like the JSON API, the pages only translate: the domain work is `App`'s.

pub mod admin;
pub mod codes;
pub mod ctx;
pub mod device;
pub mod devices;
pub mod i18n;
pub mod notices;
pub mod owner;
pub mod settings;
pub mod tools;

use crate::http::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ctx::Ctx;
use i18n::Tr;
use std::collections::HashMap;

/// The pages' Content-Security-Policy: our own stylesheet and script only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

const CSS: &str = include_str!("../../static/hearth.css");

/// The page routes, with their own security headers; merged into [`crate::http::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(owner::index))
        .route("/sign-up", get(owner::sign_up_page).post(owner::sign_up))
        .route("/sign-in", get(owner::sign_in_page).post(owner::sign_in))
        .route("/sign-out", post(owner::sign_out))
        .route("/lang/{code}", get(owner::set_lang))
        .route("/reset", get(codes::reset_page).post(codes::reset))
        .route("/reset/complete", post(codes::reset_complete))
        .route(
            "/account/sign-in-code",
            get(codes::sign_in_code_page).post(codes::sign_in_code),
        )
        .route("/account", get(owner::home))
        .route("/account/devices", get(devices::devices))
        .route("/account/devices/sign-out-all", post(devices::sign_out_all))
        .route("/account/devices/{id}/rename", post(devices::rename))
        .route(
            "/account/devices/{id}/sign-out",
            post(devices::sign_out_one),
        )
        .route("/account/devices/{id}/not-me", post(devices::not_me))
        .route(
            "/account/compromised",
            get(settings::compromised_page).post(settings::compromised),
        )
        .route(
            "/account/phone",
            get(settings::phone_page).post(settings::phone),
        )
        .route(
            "/account/password",
            get(settings::password_page).post(settings::password),
        )
        .route("/account/activity", get(settings::activity))
        .route("/account/notifications", get(notices::page))
        .route("/account/notifications/read", post(notices::read))
        .route("/account/notifications/settings", post(notices::settings))
        .route("/check", get(tools::check_page).post(tools::check))
        .route("/check/report", post(tools::report))
        .route("/device", get(device::page))
        .route("/device/sign-in", post(device::sign_in))
        .route("/device/watch", post(device::watch))
        .route("/device/verify", post(device::verify))
        .route("/device/code", post(device::code))
        .route("/device/switch", post(device::switch))
        .route("/device/travel", post(device::travel))
        .route("/device/household", post(device::household))
        .route("/dev/mailbox", get(tools::mailbox))
        .route("/admin", get(admin::dashboard))
        .route("/admin/accounts/{id}", get(admin::account))
        .route("/admin/campaigns/{id}", get(admin::campaign))
        .route("/static/hearth.css", get(css))
        .layer(middleware::map_response(page_headers))
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// Security headers on every page, set here because the global layer only adds
/// headers that are absent and its CSP is the API's (`default-src 'none'`).
async fn page_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    resp
}

/// What the layout needs on every page.
pub struct Base {
    pub tr: Tr,
    pub csrf: String,
    pub title: String,
    /// The signed-in owner's e-mail.
    pub user: Option<String>,
    pub admin: bool,
    /// The dev mailbox is active (no real delivery channel): link to it.
    pub mailbox: bool,
    /// The demo device view is on (see [`device::enabled`]).
    pub device_view: bool,
    pub flash: Option<String>,
    pub error: Option<String>,
    pub langs: Vec<(&'static str, String)>,
    pub path: String,
    /// Which navigation entry is current.
    pub nav: &'static str,
    /// Where members forward phishing.
    pub report_address: String,
}

impl Ctx {
    pub fn base(&self, title_key: &str, nav: &'static str) -> Base {
        Base {
            tr: self.tr,
            csrf: self.csrf(),
            title: self.tr.t(title_key).to_owned(),
            user: self.owner.as_ref().map(|(_, a)| a.email.clone()),
            admin: self.is_admin(),
            mailbox: tools::may_read_mailbox(self),
            device_view: device::enabled(&self.app),
            flash: self.flash.clone(),
            error: None,
            langs: i18n::languages(),
            path: self.path.clone(),
            nav,
            report_address: self.app.config.phishing_report_address.clone(),
        }
    }

    /// Renders a page with its status and this request's cookies.
    pub fn render<T: askama::Template>(self, status: StatusCode, page: &T) -> Response {
        match page.render() {
            Ok(html) => self.finish((status, Html(html))),
            Err(e) => {
                tracing::error!(error = %e, "page template failed");
                self.finish((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Html("<!doctype html><title>Error</title><p>Internal error.</p>"),
                ))
            }
        }
    }

    pub fn page<T: askama::Template>(self, page: &T) -> Response {
        self.render(StatusCode::OK, page)
    }

    /// A page that says what went wrong and where to go next.
    pub fn error_page(self, status: StatusCode, message: String) -> Response {
        let mut base = self.base("error.title", "");
        base.error = Some(message);
        self.render(status, &ErrorPage { base })
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub base: Base,
}

/// A submitted form whose CSRF token has been checked; refused with 403 otherwise.
pub struct Posted {
    pub ctx: Ctx,
    pub form: HashMap<String, String>,
}

impl Posted {
    pub fn field(&self, name: &str) -> &str {
        self.form.get(name).map(String::as_str).unwrap_or("")
    }
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let form = match axum::Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(axum::Form(pairs)) => pairs.into_iter().collect::<HashMap<_, _>>(),
            Err(e) => {
                let msg = ctx.tr.t("error.bad_form").to_owned();
                return Err(ctx.error_page(e.status(), msg));
            }
        };
        if !ctx.csrf_ok(form.get("csrf").map(String::as_str)) {
            let msg = ctx.tr.t("error.csrf").to_owned();
            return Err(ctx.error_page(StatusCode::FORBIDDEN, msg));
        }
        Ok(Posted { ctx, form })
    }
}

/// "2026-03-01 20:15 UTC" from a timestamp.
pub fn when(t: hearth_core::Timestamp) -> String {
    let s = t.to_string();
    match (s.get(..10), s.get(11..16)) {
        (Some(d), Some(hm)) => format!("{d} {hm} UTC"),
        _ => s,
    }
}

/// "3 days ago" and the like, in the page's language.
pub fn ago(tr: &Tr, t: hearth_core::Timestamp, now: hearth_core::Timestamp) -> String {
    let secs = now.since(t).max(0) / 1000;
    let (key, n) = match secs {
        s if s < 120 => ("time.just_now", 0),
        s if s < 7200 => ("time.minutes_ago", s / 60),
        s if s < 2 * 86_400 => ("time.hours_ago", s / 3600),
        s => ("time.days_ago", s / 86_400),
    };
    tr.f(key, &[("n", &n.to_string())])
}
