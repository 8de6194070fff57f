//! The web pages over plain HTTP: every form refuses a missing or wrong CSRF token,
//! every page carries the security headers, cookies have the right flags, and each
//! sign-in gets a new session. Fast; the browser suite (`browser.rs`) drives the rest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_server::testkit::TestServer;
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{redirect, StatusCode};
use std::collections::{BTreeMap, BTreeSet};

const PASSWORD: &str = "Correct-Horse-7-Battery";

/// A cookie-keeping client that does not follow redirects.
struct Visitor {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    set_cookies: Vec<String>,
}

impl Visitor {
    fn new() -> Self {
        Visitor {
            http: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            set_cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            let v = v.to_str().unwrap().to_owned();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            if v.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
            self.set_cookies.push(v);
        }
    }

    async fn get(&mut self, url: String) -> (StatusCode, HeaderMap, String) {
        let resp = self
            .http
            .get(url)
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        self.keep(&headers);
        (status, headers, resp.text().await.unwrap())
    }

    async fn post(
        &mut self,
        url: String,
        form: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let resp = self
            .http
            .post(url)
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        self.keep(&headers);
        (status, headers, resp.text().await.unwrap())
    }
}

/// The value of `name="csrf"` in a page.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF field");
    let rest = &html[at + 19..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Every `<form method="post" action="...">` of a page, with the names of its fields.
fn post_forms(html: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for chunk in html.split("<form").skip(1) {
        let head = &chunk[..chunk.find('>').unwrap()];
        if !head.contains("method=\"post\"") {
            continue;
        }
        let action = head.split("action=\"").nth(1).unwrap();
        let action = action[..action.find('"').unwrap()].to_owned();
        let body = &chunk[..chunk.find("</form>").unwrap()];
        assert!(
            body.contains("name=\"csrf\""),
            "the form posting to {action} has no CSRF field"
        );
        let names = body
            .split("name=\"")
            .skip(1)
            .map(|n| n[..n.find('"').unwrap()].to_owned())
            .collect();
        out.push((action, names));
    }
    out
}

fn assert_page_headers(path: &str, headers: &HeaderMap) {
    let get = |n: &str| {
        headers
            .get(n)
            .unwrap_or_else(|| panic!("{path}: no {n}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let csp = get("content-security-policy");
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{path}: CSP {csp} lacks {part}");
    }
    assert!(!csp.contains("unsafe"), "{path}: CSP allows unsafe: {csp}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{path}");
    assert_eq!(get("x-frame-options"), "DENY", "{path}");
}

async fn signed_in(s: &TestServer, email: &str) -> Visitor {
    let mut v = Visitor::new();
    let (_, _, html) = v.get(s.url("/sign-up")).await;
    let csrf = csrf_of(&html);
    let (st, _, body) = v
        .post(
            s.url("/sign-up"),
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", PASSWORD),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{body}");
    let (_, _, html) = v.get(s.url("/sign-in")).await;
    let csrf = csrf_of(&html);
    let (st, h, body) = v
        .post(
            s.url("/sign-in"),
            &[("csrf", &csrf), ("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(h.get(LOCATION).unwrap(), "/account");
    v
}

const PAGES: &[&str] = &[
    "/sign-in",
    "/sign-up",
    "/check",
    "/device",
    "/dev/mailbox",
    "/account",
    "/account/devices",
    "/account/phone",
    "/account/password",
    "/account/activity",
    "/account/notifications",
    "/account/compromised",
    "/account/sign-in-code",
    "/reset",
];

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let s = TestServer::start(|_| {}).await;
    let mut anon = Visitor::new();
    for path in PAGES.iter().chain(&[
        "/",
        "/admin",
        "/admin/accounts/a-1",
        "/admin/campaigns/c-1",
        "/static/hearth.css",
        "/lang/fr?next=/check",
    ]) {
        let (_, h, _) = anon.get(s.url(path)).await;
        assert_page_headers(path, &h);
    }
    let mut owner = signed_in(&s, "headers@example.com").await;
    for path in PAGES.iter().chain(&["/admin"]) {
        let (st, h, body) = owner.get(s.url(path)).await;
        assert_page_headers(path, &h);
        if *path == "/sign-in" {
            assert_eq!(st, StatusCode::SEE_OTHER, "signed in already");
        } else if *path == "/admin" {
            assert_eq!(st, StatusCode::FORBIDDEN, "a member is no analyst");
            assert!(h
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/html"));
        } else {
            assert_eq!(st, StatusCode::OK, "{path}: {body}");
            assert_eq!(h.get("cache-control").unwrap(), "no-store", "{path}");
        }
        assert!(!body.contains("<script>"), "{path} has an inline script");
        assert!(!body.contains(" style=\""), "{path} has an inline style");
    }
    // The error page of a refused form carries them too.
    let (st, h, _) = anon.post(s.url("/check"), &[("text", "hi")]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_page_headers("refused form", &h);
    // The JSON API keeps its own stricter policy.
    let (_, h, _) = anon.get(s.url("/healthz")).await;
    assert!(h
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    s.stop().await;
}

#[tokio::test]
async fn every_form_refuses_a_missing_or_wrong_csrf_token() {
    let s = TestServer::start(|_| {}).await;
    let mut owner = signed_in(&s, "csrf@example.com").await;
    let (_, _, devices) = owner.get(s.url("/account/devices")).await;
    let device_id = devices
        .split("id=\"device-")
        .nth(1)
        .map(|r| r[..r.find('"').unwrap()].to_owned())
        .unwrap();

    // Gather every POST form the pages show, signed in and signed out.
    let mut forms: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in PAGES {
        let (_, _, html) = owner.get(s.url(path)).await;
        forms.extend(post_forms(&html));
    }
    let mut anon = Visitor::new();
    for path in ["/sign-in", "/sign-up", "/device", "/check"] {
        let (_, _, html) = anon.get(s.url(path)).await;
        forms.extend(post_forms(&html));
    }
    let expected: BTreeSet<String> = [
        "/sign-in".to_owned(),
        "/sign-up".into(),
        "/sign-out".into(),
        "/check".into(),
        "/device/sign-in".into(),
        "/account/devices/sign-out-all".into(),
        format!("/account/devices/{device_id}/rename"),
        format!("/account/devices/{device_id}/sign-out"),
        "/account/phone".into(),
        "/account/password".into(),
        "/account/compromised".into(),
        "/account/sign-in-code".into(),
        "/reset".into(),
    ]
    .into_iter()
    .collect();
    let found: BTreeSet<String> = forms.keys().cloned().collect();
    assert!(
        expected.is_subset(&found),
        "missing forms: {:?}",
        expected.difference(&found).collect::<Vec<_>>()
    );
    // Forms only shown later in a flow (device view, "this wasn't me") are posted too.
    let mut targets: Vec<String> = found.into_iter().collect();
    targets.extend(
        [
            "/device/watch",
            "/device/verify",
            "/device/code",
            "/device/switch",
            "/device/travel",
            "/device/household",
            "/reset/complete",
            "/check/report",
        ]
        .map(String::from),
    );
    targets.push(format!("/account/devices/{device_id}/not-me"));

    for action in &targets {
        let fields = forms.get(action).cloned().unwrap_or_default();
        let mut body: Vec<(&str, &str)> = fields
            .iter()
            .filter(|n| *n != "csrf")
            .map(|n| (n.as_str(), "x"))
            .collect();
        for who in [&mut owner, &mut anon] {
            let (st, _, page) = who.post(s.url(action), &body).await;
            assert_eq!(
                st,
                StatusCode::FORBIDDEN,
                "{action} without a token: {page}"
            );
            assert!(page.contains("<!doctype html>"), "{action}: an HTML page");
            body.push(("csrf", "00"));
            let (st, _, _) = who.post(s.url(action), &body).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{action} with a wrong token");
            body.pop();
        }
        // A token from another browser is wrong here too.
        let (_, _, html) = anon.get(s.url("/check")).await;
        let foreign = csrf_of(&html);
        body.push(("csrf", &foreign));
        let (st, _, _) = owner.post(s.url(action), &body).await;
        assert_eq!(
            st,
            StatusCode::FORBIDDEN,
            "{action} with another browser's token"
        );
    }

    // Nothing happened: the owner is still signed in with one device.
    let (st, _, html) = owner.get(s.url("/account/devices")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(html.matches("class=\"card device\"").count(), 1);
    // And the right token works.
    let csrf = csrf_of(&html);
    let (st, h, _) = owner
        .post(
            s.url(&format!("/account/devices/{device_id}/rename")),
            &[("csrf", &csrf), ("name", "Work laptop")],
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h.get(LOCATION).unwrap(), "/account/devices");
    let (_, _, html) = owner.get(s.url("/account/devices")).await;
    assert!(html.contains("Work laptop"));
    s.stop().await;
}

#[tokio::test]
async fn cookies_are_http_only_lax_and_secure_under_tls_and_sign_in_makes_a_new_session() {
    let s = TestServer::start(|_| {}).await;
    let mut v = signed_in(&s, "cookies@example.com").await;
    for c in &v.set_cookies {
        assert!(c.contains("; Path=/"), "{c}");
        assert!(c.contains("; HttpOnly"), "{c}");
        assert!(c.contains("; SameSite=Lax"), "{c}");
        assert!(!c.contains("Secure"), "plain HTTP: {c}");
    }
    let first = v.cookies["hearth_session"].clone();
    let first_nonce = v.cookies["hearth_nonce"].clone();

    // Behind a TLS proxy the cookies are Secure.
    let resp = reqwest::Client::new()
        .get(s.url("/sign-in"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let set: Vec<String> = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .collect();
    assert!(!set.is_empty());
    assert!(set.iter().all(|c| c.ends_with("; Secure")), "{set:?}");

    // Signing in again, from the same browser, gives a new session and a new nonce.
    let (_, _, html) = v.get(s.url("/account")).await;
    let csrf = csrf_of(&html);
    let (st, _, _) = v.post(s.url("/sign-out"), &[("csrf", &csrf)]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert!(!v.cookies.contains_key("hearth_session"));
    let (_, _, html) = v.get(s.url("/sign-in")).await;
    let csrf = csrf_of(&html);
    v.cookies.insert("hearth_session".into(), first.clone());
    let (st, _, _) = v
        .post(
            s.url("/sign-in"),
            &[
                ("csrf", &csrf),
                ("email", "cookies@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_ne!(v.cookies["hearth_session"], first);
    assert_ne!(v.cookies["hearth_nonce"], first_nonce);
    // The signed-out session stays dead.
    let mut old = Visitor::new();
    old.cookies.insert("hearth_session".into(), first);
    let (st, h, _) = old.get(s.url("/account")).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h.get(LOCATION).unwrap(), "/sign-in");
    s.stop().await;
}

#[tokio::test]
async fn pages_speak_the_visitors_language_and_escape_what_they_show() {
    let s = TestServer::start(|_| {}).await;
    let http = reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    let fr = http
        .get(s.url("/sign-in"))
        .header("accept-language", "fr-FR,fr;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fr.contains("<html lang=\"fr\">") && fr.contains("Se connecter"));
    let en = http
        .get(s.url("/sign-in"))
        .header("accept-language", "fr")
        .header(COOKIE, "lang=en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("<html lang=\"en\">"), "the lang cookie wins");
    // The switch only redirects within the site.
    let resp = http
        .get(s.url("/lang/fr?next=//evil.example/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers().get(LOCATION).unwrap(), "/");
    assert!(resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("lang=fr;")));

    // A pasted message is shown back escaped.
    let mut v = Visitor::new();
    let (_, _, html) = v.get(s.url("/check")).await;
    let csrf = csrf_of(&html);
    let (st, _, html) = v
        .post(
            s.url("/check"),
            &[
                ("csrf", &csrf),
                ("text", "<script>alert(1)</script> Your payment failed: http://netflix-billing.example.top/update"),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("&lt;script&gt;alert(1)") || html.contains("&#60;script&#62;alert(1)"));
    s.stop().await;
}

#[tokio::test]
async fn the_dev_mailbox_and_device_view_are_there_only_in_dev_or_demo() {
    use hearth_courier::{EmailTransportConfig, SmsTransportConfig};
    let s = TestServer::start(|c| {
        // Real channels pointed at a closed loopback port: nothing is ever sent here.
        c.courier.email = EmailTransportConfig::Smtp {
            host: "127.0.0.1".into(),
            port: Some(9),
            security: Default::default(),
            username: None,
            password: None,
            from: "Hearth <no-reply@example.org>".into(),
            timeout_ms: 1000,
            helo_name: None,
        };
        c.courier.sms = SmsTransportConfig::Webhook {
            url: "http://127.0.0.1:9/sms".into(),
            bearer: None,
            timeout_ms: 1000,
        };
    })
    .await;
    let mut v = Visitor::new();
    let (st, _, page) = v.get(s.url("/dev/mailbox")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(!page.contains("id=\"mails\""));
    let (_, _, page) = v.get(s.url("/sign-in")).await;
    assert!(!page.contains("/dev/mailbox"), "no link to it either");
    // Nor the demo device view, which lets its visitor choose the address the engine sees.
    let (st, _, page) = v.get(s.url("/device")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(!page.contains("device-sign-in"));
    let csrf = csrf_of(&v.get(s.url("/sign-in")).await.2);
    let (st, _, _) = v
        .post(
            s.url("/device/sign-in"),
            &[
                ("csrf", &csrf),
                ("email", "a@example.com"),
                ("password", "x"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    s.stop().await;

    let s = TestServer::start(|_| {}).await;
    let (st, _, page) = v.get(s.url("/dev/mailbox")).await;
    assert_eq!(st, StatusCode::OK, "from the server's own machine");
    assert!(page.contains("id=\"mails\""));
    // Through a proxy the peer's loopback address proves nothing: the codes in there
    // would let anyone reset anyone's password.
    let resp = reqwest::Client::new()
        .get(s.url("/dev/mailbox"))
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(!resp.text().await.unwrap().contains("href=\"/dev/mailbox\""));
    s.stop().await;
}

#[tokio::test]
async fn the_notices_page_lists_marks_read_and_switches_in_the_owners_language() {
    let s = TestServer::start(|_| {}).await;
    let mut owner = signed_in(&s, "notices@example.com").await;
    let account = s
        .app
        .store
        .account_by_email("notices@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (st, _, html) = owner.get(s.url("/account/notifications")).await;
    assert_eq!(st, StatusCode::OK);
    // The browser's first sign-in is the account's first device.
    assert!(html.contains("A new device signed in"), "{html}");
    assert!(html.contains("id=\"unread-count\">1<"), "{html}");
    assert!(
        html.contains("name=\"sms\" value=\"1\" disabled"),
        "no phone, no texts"
    );

    // Only "resold" kept among the switchable notices, texts off.
    let csrf = csrf_of(&html);
    let (st, h, _) = owner
        .post(
            s.url("/account/notifications/settings"),
            &[
                ("csrf", &csrf),
                ("email", "1"),
                ("on_classified_resold", "1"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h.get(LOCATION).unwrap(), "/account/notifications");
    let prefs = s.app.notification_prefs(&account).await.unwrap();
    assert!(prefs.email && !prefs.sms);
    assert!(!prefs.off.contains(&"classified_resold".to_owned()));
    assert!(prefs.off.contains(&"new_device_away".to_owned()));
    assert!(
        !prefs.off.iter().any(|k| k == "password_changed"),
        "security notices cannot be switched off"
    );
    // Texts without a recovery phone are refused, and nothing is changed.
    let (st, _, _) = owner
        .post(
            s.url("/account/notifications/settings"),
            &[("csrf", &csrf), ("email", "1"), ("sms", "1")],
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s.app.notification_prefs(&account).await.unwrap(), prefs);

    let (st, _, _) = owner
        .post(s.url("/account/notifications/read"), &[("csrf", &csrf)])
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, _, html) = owner.get(s.url("/account/notifications")).await;
    assert!(!html.contains("unread-count"), "all read");
    assert!(html.contains("All notices marked read."));

    // In French, with the page's own words.
    let (_, _, _) = owner
        .get(s.url("/lang/fr?next=/account/notifications"))
        .await;
    let (_, _, html) = owner.get(s.url("/account/notifications")).await;
    assert!(html.contains("Alertes de sécurité"), "{html}");
    assert!(html.contains("Un nouvel appareil s"), "{html}");
    s.stop().await;
}
