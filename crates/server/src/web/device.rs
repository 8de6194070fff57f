//! The device view: a page that plays a TV or phone app, for demos and tests. It signs
//! in with the owner's password as a chosen device type from a chosen demo place, then
//! "start watching" runs the same engine the platform's `POST /v1/access` does and
//! shows the decision with its reasons; when told to verify, it offers the seed's
//! three choices (e-mail code, text code, verify later).

use super::ctx::{Ctx, DEVICE_COOKIE, PLACE_COOKIE};
use super::owner::explain;
use super::{Base, Posted};
use crate::service::accounts::SignIn;
use crate::service::codes::CodeChannel;
use crate::service::{now, Client};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_core::{
    AccessEvent, AccountId, Channel, Decision, DeviceId, DeviceType, EventKind, Outcome,
};
use hearth_store::{Account, Session};
use std::net::IpAddr;

/// A demo place: a fixed address (documentation ranges, so nothing real is named) and
/// the network it stands for, shown to the person running the demo.
pub struct Place {
    pub code: &'static str,
    pub city: &'static str,
    pub country: &'static str,
    pub ip: &'static str,
    pub asn: u32,
    /// A VPN or proxy exit.
    pub anonymous: bool,
}

pub const PLACES: &[Place] = &[
    Place {
        code: "lisbon",
        city: "Lisbon",
        country: "PT",
        ip: "203.0.113.7",
        asn: 3243,
        anonymous: false,
    },
    Place {
        code: "lisbon-mobile",
        city: "Lisbon",
        country: "PT",
        ip: "198.51.100.23",
        asn: 12353,
        anonymous: false,
    },
    Place {
        code: "porto",
        city: "Porto",
        country: "PT",
        ip: "192.0.2.80",
        asn: 3243,
        anonymous: false,
    },
    Place {
        code: "paris",
        city: "Paris",
        country: "FR",
        ip: "2001:db8:3215::10",
        asn: 3215,
        anonymous: false,
    },
    Place {
        code: "madrid",
        city: "Madrid",
        country: "ES",
        ip: "2001:db8:3352::10",
        asn: 3352,
        anonymous: false,
    },
    Place {
        code: "london",
        city: "London",
        country: "GB",
        ip: "2001:db8:2856::10",
        asn: 2856,
        anonymous: false,
    },
    Place {
        code: "sao-paulo",
        city: "São Paulo",
        country: "BR",
        ip: "2001:db8:bb57::10",
        asn: 28573,
        anonymous: false,
    },
    Place {
        code: "vpn",
        city: "Amsterdam",
        country: "NL",
        ip: "2001:db8:ea68::10",
        asn: 60068,
        anonymous: true,
    },
    Place {
        code: "here",
        city: "",
        country: "",
        ip: "",
        asn: 0,
        anonymous: false,
    },
];

pub fn place(code: &str) -> &'static Place {
    PLACES.iter().find(|p| p.code == code).unwrap_or(&PLACES[0])
}

/// "Lisbon, PT" for an address that is one of the demo places.
pub fn place_of_ip(ip: &str) -> Option<String> {
    let ip: IpAddr = ip.parse().ok()?;
    PLACES
        .iter()
        .find(|p| p.ip.parse::<IpAddr>().ok() == Some(ip))
        .map(|p| format!("{}, {}", p.city, p.country))
}

impl Place {
    /// Its address; "here" is the address the browser itself comes from.
    fn ip(&self, browser: IpAddr) -> IpAddr {
        self.ip.parse().unwrap_or(browser)
    }
}

pub const DEVICE_TYPES: &[&str] = &["tv", "mobile", "tablet", "computer", "console"];

fn device_type(s: &str) -> DeviceType {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(DeviceType::Other)
}

/// A choice in a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The decision as shown on the device.
pub struct Shown {
    pub outcome: &'static str,
    pub headline: String,
    pub reasons: Vec<String>,
    pub score: String,
    pub email: bool,
    pub sms: bool,
    pub later: bool,
}

#[derive(askama::Template)]
#[template(path = "device.html")]
pub struct DevicePage {
    pub base: Base,
    /// Signed in as this device (name, type).
    pub device: Option<(String, String)>,
    pub places: Vec<Choice>,
    pub types: Vec<Choice>,
    pub decision: Option<Shown>,
    /// A code was sent (what to say, and where the code entry posts).
    pub code_sent: Option<(String, &'static str)>,
    /// Phones, tablets and computers may take a travel pass.
    pub portable: bool,
    /// Offer a travel pass or a household move (not while a verification or a code
    /// is on screen).
    pub changes: bool,
    pub notice: Option<String>,
}

fn choices(ctx: &Ctx, selected_place: &str) -> (Vec<Choice>, Vec<Choice>) {
    let places = PLACES
        .iter()
        .map(|p| Choice {
            value: p.code.to_owned(),
            label: if p.ip.is_empty() {
                ctx.tr
                    .f("device.here", &[("ip", &ctx.client.ip.to_string())])
            } else {
                format!(
                    "{}, {} — {} (AS{})",
                    p.city,
                    p.country,
                    ctx.tr.code("place", p.code),
                    p.asn
                )
            },
            selected: p.code == selected_place,
        })
        .collect();
    let types = DEVICE_TYPES
        .iter()
        .map(|t| Choice {
            value: (*t).to_owned(),
            label: ctx.tr.code("device_type", t),
            selected: *t == "tv",
        })
        .collect();
    (places, types)
}

/// The device session held by this browser's device view, if still signed in.
/// Seen from the demo place's address, so the owner's device list shows where the
/// device is rather than the demo browser's own address.
async fn device_session(ctx: &Ctx) -> Option<(Session, Account)> {
    let token = ctx.cookie(DEVICE_COOKIE)?;
    let (_, client) = device_client(ctx);
    ctx.app.authenticate(token, &client).await.ok()
}

fn render(
    ctx: Ctx,
    status: StatusCode,
    device: Option<&Session>,
    decision: Option<Shown>,
    code_sent: Option<(String, &'static str)>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let portable = device.is_some_and(|s| device_type(&s.device_type).is_portable());
    let changes = code_sent.is_none() && !matches!(&decision, Some(d) if d.outcome != "allow");
    let selected = ctx.cookie(PLACE_COOKIE).unwrap_or("lisbon").to_owned();
    let (places, types) = choices(&ctx, &selected);
    let mut base = ctx.base("device.title", "device");
    base.error = error;
    let device = device.map(|s| (s.name.clone(), ctx.tr.code("device_type", &s.device_type)));
    ctx.render(
        status,
        &DevicePage {
            base,
            device,
            places,
            types,
            decision,
            code_sent,
            portable,
            changes,
            notice,
        },
    )
}

/// The device view lets its visitor pick the address the engine sees, which is right
/// for demos and tests and wrong for a service with real members: it is there only
/// with `--demo` or while codes go to the dev mailbox.
pub fn enabled(app: &crate::app::App) -> bool {
    app.config.demo || super::tools::dev_channel_active(app)
}

#[allow(clippy::result_large_err)] // the error is the answer itself
fn open(ctx: Ctx) -> Result<Ctx, Response> {
    if enabled(&ctx.app) {
        Ok(ctx)
    } else {
        let m = ctx.tr.t("error.not_found").to_owned();
        Err(ctx.error_page(StatusCode::NOT_FOUND, m))
    }
}

#[allow(clippy::result_large_err)]
fn open_posted(p: Posted) -> Result<Posted, Response> {
    if enabled(&p.ctx.app) {
        Ok(p)
    } else {
        let m = p.ctx.tr.t("error.not_found").to_owned();
        Err(p.ctx.error_page(StatusCode::NOT_FOUND, m))
    }
}

pub async fn page(ctx: Ctx) -> Response {
    let ctx = match open(ctx) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let device = device_session(&ctx).await;
    render(
        ctx,
        StatusCode::OK,
        device.as_ref().map(|d| &d.0),
        None,
        None,
        None,
        None,
    )
}

pub async fn sign_in(p: Posted) -> Response {
    let p = match open_posted(p) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let place = place(p.field("place"));
    let kind = device_type(p.field("device_type"));
    let req = SignIn {
        email: p.field("email").to_owned(),
        password: p.field("password").to_owned(),
        device_id: None,
        device_type: kind,
        device_name: Some(p.field("device_name").to_owned()).filter(|n| !n.trim().is_empty()),
    };
    // A password always has letters and a symbol: digits alone are a one-time sign-in code.
    let is_code =
        (6..=8).contains(&req.password.len()) && req.password.chars().all(|c| c.is_ascii_digit());
    let mut ctx = p.ctx;
    // The device signs in from the demo place's address, as the platform would report it.
    let client = Client {
        ip: place.ip(ctx.client.ip),
        user_agent: ctx.client.user_agent.clone(),
    };
    let result = if is_code {
        ctx.app.sign_in_with_code(req, &client).await
    } else {
        ctx.app.sign_in(req, &client).await
    };
    match result {
        Ok(signed) => {
            ctx.set_cookie(DEVICE_COOKIE, &signed.token, Some(30 * 86_400));
            ctx.set_cookie(PLACE_COOKIE, place.code, Some(30 * 86_400));
            ctx.set_flash("flash.device_signed_in");
            ctx.redirect("/device")
        }
        Err(e) => {
            let (st, m) = explain(&ctx.tr, &e);
            render(ctx, st, None, None, None, None, Some(m))
        }
    }
}

/// Forgets this browser's device (it stays signed in on the owner's device list), so
/// another device can be played.
pub async fn switch(p: Posted) -> Response {
    let p = match open_posted(p) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut ctx = p.ctx;
    ctx.clear_cookie(DEVICE_COOKIE);
    ctx.redirect("/device")
}

/// The event the platform would send for this device at `place`. Only the address is
/// given, as in the sign-in and verification events the service makes itself, so all of
/// a device's events land on the same network in the engine; geolocation, when
/// configured, comes from the GeoIP lookup for every event alike.
fn event(session: &Session, place: &Place, kind: EventKind, client: &Client) -> AccessEvent {
    AccessEvent {
        ts: now(),
        account: AccountId(session.account_id.clone()),
        device: DeviceId(session.device_id.clone()),
        device_type: device_type(&session.device_type),
        ip: place.ip(client.ip),
        kind,
        method: None,
        user_agent: client.user_agent.clone(),
        country: None,
        city: None,
        lat: None,
        lon: None,
        asn: None,
        anonymous: place.anonymous.then_some(true),
        id: None,
    }
}

fn show(ctx: &Ctx, d: &Decision, has_phone: bool) -> Shown {
    let (outcome, key) = match d.decision {
        Outcome::Allow => ("allow", "device.allowed"),
        Outcome::Verify => ("verify", "device.verify"),
        Outcome::Deny => ("deny", "device.denied"),
    };
    Shown {
        outcome,
        headline: ctx.tr.t(key).to_owned(),
        reasons: d
            .reasons
            .iter()
            .map(|r| {
                let code = serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                ctx.tr.code("reason", &code)
            })
            .collect(),
        score: format!("{:.2}", d.score),
        email: d.channels.contains(&Channel::Email) || d.channels.is_empty(),
        sms: d.channels.contains(&Channel::Sms) && has_phone,
        later: d.defer_allowed,
    }
}

pub async fn watch(p: Posted) -> Response {
    let p = match open_posted(p) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let place = place(p.field("place"));
    let mut ctx = p.ctx;
    let Some((session, account)) = device_session(&ctx).await else {
        return signed_out(ctx);
    };
    ctx.set_cookie(PLACE_COOKIE, place.code, Some(30 * 86_400));
    let ev = event(&session, place, EventKind::Playback, &ctx.client);
    match ctx.app.access(ev).await {
        Ok(d) => {
            let shown = show(&ctx, &d, account.recovery_phone.is_some());
            render(
                ctx,
                StatusCode::OK,
                Some(&session),
                Some(shown),
                None,
                None,
                None,
            )
        }
        Err(e) => {
            let (st, m) = explain(&ctx.tr, &e);
            render(ctx, st, Some(&session), None, None, None, Some(m))
        }
    }
}

/// The demo place this browser's device is at, as the client the service sees.
fn device_client(ctx: &Ctx) -> (&'static Place, Client) {
    let place = place(ctx.cookie(PLACE_COOKIE).unwrap_or("lisbon"));
    let client = Client {
        ip: place.ip(ctx.client.ip),
        user_agent: ctx.client.user_agent.clone(),
    };
    (place, client)
}

/// The three answers to "verify this device": a code by e-mail, a code by text, or later.
pub async fn verify(p: Posted) -> Response {
    let p = match open_posted(p) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let choice = p.field("choice").to_owned();
    let ctx = p.ctx;
    let Some((session, account)) = device_session(&ctx).await else {
        return signed_out(ctx);
    };
    let (_, client) = device_client(&ctx);
    let channel = match choice.as_str() {
        "email" => CodeChannel::Email,
        "sms" => CodeChannel::Sms,
        "later" => {
            let result = ctx.app.verify_later(&session, &client).await;
            let has_phone = account.recovery_phone.is_some();
            return answered(ctx, &session, has_phone, result, "device.deferred", None);
        }
        _ => {
            let m = ctx.tr.t("error.bad_form").to_owned();
            return render(
                ctx,
                StatusCode::BAD_REQUEST,
                Some(&session),
                None,
                None,
                None,
                Some(m),
            );
        }
    };
    match ctx
        .app
        .request_device_code(&session, channel, &client)
        .await
    {
        Ok(sent) => {
            let minutes = (sent.expires_in_secs / 60).max(1).to_string();
            let key = match sent.channel {
                CodeChannel::Email => "device.code_sent_email",
                CodeChannel::Sms => "device.code_sent_sms",
            };
            let m = ctx
                .tr
                .f(key, &[("to", &sent.sent_to), ("minutes", &minutes)]);
            render(
                ctx,
                StatusCode::OK,
                Some(&session),
                None,
                Some((m, "/device/code")),
                None,
                None,
            )
        }
        Err(e) => {
            let (st, m) = explain(&ctx.tr, &e);
            render(ctx, st, Some(&session), None, None, None, Some(m))
        }
    }
}

fn signed_out(ctx: Ctx) -> Response {
    let m = ctx.tr.t("device.signed_out").to_owned();
    render(
        ctx,
        StatusCode::UNAUTHORIZED,
        None,
        None,
        None,
        None,
        Some(m),
    )
}

/// What follows an answer on the device (a code, or "verify later"): the `ok_key`
/// notice when the engine now allows it, the decision and its choices when it still
/// asks, or the error (with a way back to `retry`).
fn answered(
    ctx: Ctx,
    session: &Session,
    has_phone: bool,
    result: crate::service::ServiceResult<Decision>,
    ok_key: &str,
    retry: Option<&'static str>,
) -> Response {
    match result {
        Ok(d) if d.decision == Outcome::Allow => {
            let m = ctx.tr.t(ok_key).to_owned();
            render(
                ctx,
                StatusCode::OK,
                Some(session),
                None,
                None,
                Some(m),
                None,
            )
        }
        Ok(d) => {
            let shown = show(&ctx, &d, has_phone);
            render(
                ctx,
                StatusCode::OK,
                Some(session),
                Some(shown),
                None,
                None,
                None,
            )
        }
        Err(e) => {
            let (st, m) = explain(&ctx.tr, &e);
            let again = retry.map(|to| (ctx.tr.t("device.code_again").to_owned(), to));
            render(ctx, st, Some(session), None, again, None, Some(m))
        }
    }
}

/// The code the owner received, typed on the device.
pub async fn code(p: Posted) -> Response {
    let p = match open_posted(p) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let code: String = p
        .field("code")
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let ctx = p.ctx;
    let Some((session, account)) = device_session(&ctx).await else {
        return signed_out(ctx);
    };
    let (_, client) = device_client(&ctx);
    let result = ctx.app.verify_device_code(&session, &code, &client).await;
    let has_phone = account.recovery_phone.is_some();
    answered(
        ctx,
        &session,
        has_phone,
        result,
        "device.verified",
        Some("/device/code"),
    )
}

/// The two owner-approved changes a device can ask for with a code.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    /// A household phone, tablet or computer going away for a few days.
    Travel,
    /// A TV at the household's new home.
    Household,
}

impl Change {
    fn action(self) -> &'static str {
        match self {
            Change::Travel => "/device/travel",
            Change::Household => "/device/household",
        }
    }
}

/// A travel pass for a household phone, tablet or computer going away: a code to the
/// owner first (`step=request`), then the code typed here (`step=code`).
pub async fn travel(p: Posted) -> Response {
    let p = match open_posted(p) {
        Ok(p) => p,
        Err(r) => return r,
    };
    change(p, Change::Travel).await
}

/// A household move, from a TV at the new home: the same two steps.
pub async fn household(p: Posted) -> Response {
    let p = match open_posted(p) {
        Ok(p) => p,
        Err(r) => return r,
    };
    change(p, Change::Household).await
}

async fn change(p: Posted, what: Change) -> Response {
    let step = p.field("step").to_owned();
    let channel = if p.field("channel") == "sms" {
        CodeChannel::Sms
    } else {
        CodeChannel::Email
    };
    let code: String = p
        .field("code")
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let ctx = p.ctx;
    let Some((session, _)) = device_session(&ctx).await else {
        return signed_out(ctx);
    };
    let (_, client) = device_client(&ctx);
    if step == "code" {
        let done = match what {
            Change::Travel => ctx.app.start_travel(&session, &code, &client).await,
            Change::Household => ctx.app.confirm_household(&session, &code, &client).await,
        };
        return match done {
            Ok(_) => {
                let key = match what {
                    Change::Travel => "device.travelling",
                    Change::Household => "device.moved",
                };
                let m = ctx.tr.t(key).to_owned();
                render(
                    ctx,
                    StatusCode::OK,
                    Some(&session),
                    None,
                    None,
                    Some(m),
                    None,
                )
            }
            Err(e) => {
                let (st, m) = explain(&ctx.tr, &e);
                let again = (ctx.tr.t("device.code_again").to_owned(), what.action());
                render(ctx, st, Some(&session), None, Some(again), None, Some(m))
            }
        };
    }
    let sent = match what {
        Change::Travel => {
            ctx.app
                .request_travel_code(&session, channel, &client)
                .await
        }
        Change::Household => {
            ctx.app
                .request_household_code(&session, channel, &client)
                .await
        }
    };
    match sent {
        Ok(sent) => {
            let minutes = (sent.expires_in_secs / 60).max(1).to_string();
            let m = ctx.tr.f(
                "device.change_code_sent",
                &[("to", &sent.sent_to), ("minutes", &minutes)],
            );
            render(
                ctx,
                StatusCode::OK,
                Some(&session),
                None,
                Some((m, what.action())),
                None,
                None,
            )
        }
        Err(e) => {
            let (st, m) = explain(&ctx.tr, &e);
            render(ctx, st, Some(&session), None, None, None, Some(m))
        }
    }
}
