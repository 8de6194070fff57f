//! What every page handler starts from: the visitor's language, cookies, signed-in
//! owner (if any) and CSRF token, and the cookies and redirects it answers with.
//!
//! CSRF: every browser holds a random `hearth_nonce` cookie (HttpOnly, SameSite=Lax);
//! every form carries `csrf = HMAC(server key, "csrf", nonce)`, and every POST is
//! refused unless the two agree (a signed double-submit cookie). The nonce is replaced
//! at each sign-in and sign-out, so a token seen before cannot be replayed after.

use super::i18n::{self, Tr};
use crate::http::AppState;
use crate::service::Client;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hearth_store::{Account, Role, Session};
use subtle::ConstantTimeEq;

pub const OWNER_COOKIE: &str = "hearth_session";
pub const DEVICE_COOKIE: &str = "hearth_device";
pub const NONCE_COOKIE: &str = "hearth_nonce";
pub const LANG_COOKIE: &str = "lang";
pub const FLASH_COOKIE: &str = "hearth_flash";
pub const PLACE_COOKIE: &str = "hearth_place";
/// A stable device id for the owner's browser.
pub const BROWSER_COOKIE: &str = "hearth_browser";

/// A request to a page, as the page sees it.
pub struct Ctx {
    pub app: AppState,
    pub client: Client,
    pub tr: Tr,
    /// The request came over TLS (directly or per `X-Forwarded-Proto`): cookies get `Secure`.
    pub secure: bool,
    pub path: String,
    /// The request named an origin of its own (`Forwarded`, `X-Forwarded-For`): it
    /// came through a proxy, so a loopback peer says nothing about who sent it.
    pub proxied: bool,
    cookies: Vec<(String, String)>,
    pub owner: Option<(Session, Account)>,
    nonce: String,
    /// Set-Cookie values to send with the answer.
    set_cookies: Vec<String>,
    pub flash: Option<String>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let client = Client::from_request_parts(parts, state).await?;
        let cookies = parse_cookies(&parts.headers);
        let get = |name: &str| {
            cookies
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let lang = get(LANG_COOKIE)
            .and_then(|l| i18n::supported(&l))
            .or_else(|| {
                parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(i18n::negotiate)
            })
            .unwrap_or("en");
        let secure = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
            || parts.uri.scheme_str() == Some("https");
        let owner = match get(OWNER_COOKIE) {
            Some(token) => state.authenticate(&token, &client).await.ok(),
            None => None,
        };
        // Where the language switch comes back to: this page, or for the answer to a
        // form (which cannot be fetched again) the section it belongs to.
        let path = if parts.method != axum::http::Method::GET {
            let first = parts.uri.path().split('/').nth(1).unwrap_or("");
            format!("/{first}")
        } else {
            match parts.uri.query() {
                Some(q) => format!("{}?{q}", parts.uri.path()),
                None => parts.uri.path().to_owned(),
            }
        };
        let proxied = parts.headers.contains_key("x-forwarded-for")
            || parts.headers.contains_key(header::FORWARDED);
        let mut ctx = Ctx {
            app: state.clone(),
            proxied,
            client,
            tr: Tr::new(lang),
            secure,
            path,
            nonce: String::new(),
            cookies,
            owner,
            set_cookies: Vec::new(),
            flash: None,
        };
        let nonce = ctx.cookie(NONCE_COOKIE).map(str::to_owned);
        match nonce.filter(|n| n.len() == 32 && hex::decode(n).is_ok()) {
            Some(n) => ctx.nonce = n,
            None => ctx.new_nonce(),
        }
        if let Some(key) = ctx.cookie(FLASH_COOKIE).map(str::to_owned) {
            // Only a known message: the cookie is the visitor's to change.
            let text = ctx.tr.t(&key);
            if key.starts_with("flash.") && text != key {
                ctx.flash = Some(text.to_owned());
            }
            ctx.clear_cookie(FLASH_COOKIE);
        }
        Ok(ctx)
    }
}

impl Ctx {
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The token every form of this page carries.
    pub fn csrf(&self) -> String {
        hex::encode(self.app.key.mac("csrf", &[self.nonce.as_bytes()]))
    }

    /// Whether a submitted token matches this browser's nonce, in constant time.
    pub fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        let Some(given) = submitted.and_then(|s| hex::decode(s).ok()) else {
            return false;
        };
        let want = self.app.key.mac("csrf", &[self.nonce.as_bytes()]);
        self.cookie(NONCE_COOKIE).is_some() && bool::from(want.as_slice().ct_eq(&given))
    }

    /// A fresh nonce (at first visit, sign-in and sign-out).
    pub fn new_nonce(&mut self) {
        self.nonce = crate::service::random_hex(16);
        let value = self.nonce.clone();
        self.set_cookie(NONCE_COOKIE, &value, None);
    }

    /// `HttpOnly; SameSite=Lax; Path=/`, plus `Secure` under TLS.
    pub fn set_cookie(&mut self, name: &str, value: &str, max_age_secs: Option<u64>) {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if let Some(age) = max_age_secs {
            c.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        self.set_cookies
            .retain(|old| !old.starts_with(&format!("{name}=")));
        self.set_cookies.push(c);
    }

    pub fn clear_cookie(&mut self, name: &str) {
        self.set_cookie(name, "", Some(0));
    }

    /// A message shown once on the next page (an i18n key under `flash.`).
    pub fn set_flash(&mut self, key: &str) {
        self.set_cookie(FLASH_COOKIE, key, Some(60));
    }

    /// Someone at the server's own keyboard: a loopback peer that no proxy speaks for.
    pub fn is_local(&self) -> bool {
        self.client.ip.is_loopback() && !self.proxied
    }

    pub fn is_admin(&self) -> bool {
        self.owner
            .as_ref()
            .is_some_and(|(_, a)| a.role == Role::Admin && !a.must_change_password)
    }

    /// Attaches the cookies to an answer.
    pub fn finish(self, resp: impl IntoResponse) -> Response {
        let mut resp = resp.into_response();
        for c in &self.set_cookies {
            if let Ok(v) = HeaderValue::from_str(c) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        resp
    }

    /// 303 to a local path (so a reload does not post the form again).
    pub fn redirect(self, to: &str) -> Response {
        let to = safe_local(to);
        let mut resp = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(to) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        self.finish(resp)
    }
}

/// A path on this site, or `/` (no scheme, no `//host`, no backslash tricks).
pub fn safe_local(to: &str) -> &str {
    if to.starts_with('/')
        && !to.starts_with("//")
        && !to.contains('\\')
        && !to.chars().any(|c| c.is_control())
    {
        to
    } else {
        "/"
    }
}

fn parse_cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        for ok in ["/", "/account", "/account/devices?x=1"] {
            assert_eq!(safe_local(ok), ok);
        }
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "evil",
            "",
        ] {
            assert_eq!(safe_local(bad), "/");
        }
    }
}
