//! End-to-end: a real server on a free port, spoken to over HTTP. Runs on SQLite by
//! default and on PostgreSQL when `HEARTH_TEST_DATABASE_URL` names one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_server::testkit::TestServer;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "Correct-Horse-7-Battery";
const NEW_PASSWORD: &str = "Quiet-Lantern-42-Orbit";

async fn post(c: &Client, url: String, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut r = c.post(url).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(c: &Client, url: String, token: &str) -> (StatusCode, Value) {
    let resp = c.get(url).bearer_auth(token).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn sign_up(s: &TestServer, c: &Client, email: &str) {
    let (st, body) = post(
        c,
        s.url("/v1/accounts"),
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{body}");
}

async fn sign_in(
    s: &TestServer,
    c: &Client,
    email: &str,
    password: &str,
    device: &str,
    kind: &str,
) -> (StatusCode, Value) {
    post(
        c,
        s.url("/v1/sessions"),
        None,
        json!({"email": email, "password": password, "device_id": device, "device_type": kind}),
    )
    .await
}

async fn token(s: &TestServer, c: &Client, email: &str, device: &str, kind: &str) -> String {
    let (st, body) = sign_in(s, c, email, PASSWORD, device, kind).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn weak_passwords_are_refused_with_the_rule_named() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    for (pw, rule) in [
        ("password", "common_password"),
        ("Ab1!", "too_short"),
        ("abcdefgh1!", "missing_uppercase"),
        ("owner-Seaside-9!", "contains_email"),
    ] {
        let (st, body) = post(
            &c,
            s.url("/v1/accounts"),
            None,
            json!({"email": "owner@seaside.pt", "password": pw}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{pw}: {body}");
        assert_eq!(body["error"]["code"], "weak_password");
        assert!(
            body["error"]["reasons"]
                .as_array()
                .unwrap()
                .contains(&json!(rule)),
            "{pw}: {body}"
        );
    }
    let (st, body) = post(
        &c,
        s.url("/v1/accounts"),
        None,
        json!({"email": "not-an-email", "password": PASSWORD}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "email");
    let (st, body) = post(
        &c,
        s.url("/v1/accounts"),
        None,
        json!({"email": "o@seaside.pt", "password": PASSWORD, "recovery_phone": "0912"}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "recovery_phone");
    s.stop().await;
}

#[tokio::test]
async fn devices_are_listed_renamed_and_signed_out() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com").await;
    let tv = token(&s, &c, "owner@example.com", "tv-1", "tv").await;
    let phone = token(&s, &c, "owner@example.com", "phone-1", "mobile").await;
    let laptop = token(&s, &c, "owner@example.com", "laptop-1", "computer").await;

    let (st, list) = get(&c, s.url("/v1/me/devices"), &tv).await;
    assert_eq!(st, StatusCode::OK);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 3);
    let current: Vec<_> = list.iter().filter(|d| d["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["device_id"], "tv-1");
    let phone_session = list.iter().find(|d| d["device_id"] == "phone-1").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = c
        .patch(s.url(&format!("/v1/me/devices/{phone_session}")))
        .bearer_auth(&tv)
        .json(&json!({"name": "Ana's phone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, list) = get(&c, s.url("/v1/me/devices"), &tv).await;
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["name"] == "Ana's phone"));

    // Sign out one: that device's token stops working at once, the others do not.
    let r = c
        .delete(s.url(&format!("/v1/me/devices/{phone_session}")))
        .bearer_auth(&tv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        get(&c, s.url("/v1/me"), &phone).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&c, s.url("/v1/me"), &laptop).await.0, StatusCode::OK);
    let r = c
        .delete(s.url(&format!("/v1/me/devices/{phone_session}")))
        .bearer_auth(&tv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "already signed out");

    // Sign out all, keeping this one; then all.
    let (st, body) = post(
        &c,
        s.url("/v1/me/devices/sign-out-all"),
        Some(&tv),
        json!({"keep_current": true}),
    )
    .await;
    assert_eq!((st, body["signed_out"].clone()), (StatusCode::OK, json!(1)));
    assert_eq!(
        get(&c, s.url("/v1/me"), &laptop).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&c, s.url("/v1/me"), &tv).await.0, StatusCode::OK);
    let r = c
        .post(s.url("/v1/me/devices/sign-out-all"))
        .bearer_auth(&tv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        get(&c, s.url("/v1/me"), &tv).await.0,
        StatusCode::UNAUTHORIZED
    );

    let again = token(&s, &c, "owner@example.com", "tv-1", "tv").await;
    let (_, audit) = get(&c, s.url("/v1/me/audit"), &again).await;
    let kinds: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "account_created",
        "sign_in_succeeded",
        "device_signed_out",
        "all_devices_signed_out",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    s.stop().await;
}

#[tokio::test]
async fn changing_the_password_signs_out_the_other_devices() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com").await;
    let tv = token(&s, &c, "owner@example.com", "tv-1", "tv").await;
    let phone = token(&s, &c, "owner@example.com", "phone-1", "mobile").await;

    let (st, body) = post(
        &c,
        s.url("/v1/me/password"),
        Some(&tv),
        json!({"current_password": "wrong", "new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        (st, body["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("current_password"))
    );
    let (st, body) = post(
        &c,
        s.url("/v1/me/password"),
        Some(&tv),
        json!({"current_password": PASSWORD, "new_password": "password1"}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (st, body) = post(
        &c,
        s.url("/v1/me/password"),
        Some(&tv),
        json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["signed_out"], 1);
    assert_eq!(
        get(&c, s.url("/v1/me"), &phone).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&c, s.url("/v1/me"), &tv).await.0, StatusCode::OK);
    assert_eq!(
        sign_in(&s, &c, "owner@example.com", PASSWORD, "x", "tv")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in(&s, &c, "owner@example.com", NEW_PASSWORD, "x", "tv")
            .await
            .0,
        StatusCode::CREATED
    );
    s.stop().await;
}

#[tokio::test]
async fn recovery_phone_is_validated_added_and_removed() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com").await;
    let tv = token(&s, &c, "owner@example.com", "tv-1", "tv").await;
    let r = c
        .put(s.url("/v1/me/recovery-phone"))
        .bearer_auth(&tv)
        .json(&json!({"phone": "912345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .put(s.url("/v1/me/recovery-phone"))
        .bearer_auth(&tv)
        .json(&json!({"phone": "+351912345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        get(&c, s.url("/v1/me"), &tv).await.1["recovery_phone"],
        "+351912345678"
    );
    let r = c
        .delete(s.url("/v1/me/recovery-phone"))
        .bearer_auth(&tv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        get(&c, s.url("/v1/me"), &tv).await.1["recovery_phone"],
        Value::Null
    );
    s.stop().await;
}

#[tokio::test]
async fn the_two_reports_sign_out_and_flag_the_account() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com").await;
    let tv = token(&s, &c, "owner@example.com", "tv-1", "tv").await;
    let stranger = token(&s, &c, "owner@example.com", "strange-1", "computer").await;
    let (_, list) = get(&c, s.url("/v1/me/devices"), &tv).await;
    let strange_session = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_id"] == "strange-1")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // "This wasn't me": that device is out, the account is flagged for analysts.
    let (st, body) = post(
        &c,
        s.url(&format!("/v1/me/devices/{strange_session}/not-me")),
        Some(&tv),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["signed_out"]["device_id"], "strange-1");
    assert_eq!(
        get(&c, s.url("/v1/me"), &stranger).await.0,
        StatusCode::UNAUTHORIZED
    );
    let flagged = s.app.store.flagged_accounts(10).await.unwrap();
    assert_eq!(flagged[0].flagged_reason.as_deref(), Some("this_wasnt_me"));

    // "I entered my details on a fake site": everything out, new password forced, guidance.
    let (st, body) = post(&c, s.url("/v1/me/compromised"), Some(&tv), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["devices_signed_out"], 1);
    let codes: Vec<&str> = body["guidance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["code"].as_str().unwrap())
        .collect();
    for code in [
        "change_password_here",
        "change_reused_passwords",
        "contact_bank",
        "forward_the_message",
    ] {
        assert!(codes.contains(&code), "{code}");
    }
    assert_eq!(
        get(&c, s.url("/v1/me"), &tv).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (st, body) = sign_in(&s, &c, "owner@example.com", PASSWORD, "tv-1", "tv").await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(body["must_change_password"], true);
    let forced = body["token"].as_str().unwrap().to_owned();
    let (st, body) = get(&c, s.url("/v1/me/devices"), &forced).await;
    assert_eq!(
        (st, body["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("password_change_required"))
    );
    let (st, _) = post(
        &c,
        s.url("/v1/me/password"),
        Some(&forced),
        json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        get(&c, s.url("/v1/me/devices"), &forced).await.0,
        StatusCode::OK
    );
    assert_eq!(
        get(&c, s.url("/v1/me"), &forced).await.1["must_change_password"],
        false
    );

    let kinds: Vec<String> = s
        .app
        .store
        .audit_for_account(&flagged[0].id, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&"report_this_wasnt_me".to_owned()));
    assert!(kinds.contains(&"report_entered_details_on_fake_site".to_owned()));
    s.stop().await;
}

#[tokio::test]
async fn repeated_failures_lock_then_release_and_never_lock_the_owner_out_for_good() {
    let s = TestServer::start(|c| {
        c.throttle.base_delay_ms = 1_500;
        c.throttle.max_delay_ms = 3_000;
    })
    .await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com").await;
    // The owner's TV signs in once and keeps its device key.
    let (_, tv) = sign_in(&s, &c, "owner@example.com", PASSWORD, "tv-1", "tv").await;
    let tv_key = tv["device_key"].as_str().unwrap().to_owned();
    let attempt = |password: &str, device: &str, key: Option<&str>| {
        c.post(s.url("/v1/sessions"))
            .json(&json!({"email": "owner@example.com", "password": password, "device_id": device, "device_type": "tv", "device_key": key}))
            .send()
    };
    let fail_five = || async {
        for i in 0..5 {
            let r = attempt("Wrong-Guess-1!", "attacker", None).await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "invalid_credentials");
        }
    };
    fail_five().await;
    // The fifth failure started a delay: even the right password waits, with Retry-After.
    let resp = attempt(PASSWORD, "attacker", None).await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_some());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["reasons"][0], "account_locked");
    // Naming the TV's device id is not enough to pass; its device key is.
    assert_eq!(
        attempt(PASSWORD, "tv-1", None).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt(PASSWORD, "tv-1", Some("hk_0000"))
            .await
            .unwrap()
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt(PASSWORD, "tv-1", Some(&tv_key))
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );

    // Locked again, the lock ends by itself: nobody is locked out for good.
    fail_five().await;
    assert_eq!(
        attempt(PASSWORD, "new-laptop", None)
            .await
            .unwrap()
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    assert_eq!(
        attempt(PASSWORD, "new-laptop", None)
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let failed = s
        .app
        .metrics
        .counter("hearth_sign_ins_total", &[("result", "failed")]);
    assert_eq!(failed, 10);
    s.stop().await;
}

#[tokio::test]
async fn unknown_emails_and_wrong_passwords_look_the_same() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com").await;
    let known = sign_in(&s, &c, "owner@example.com", "Wrong-Guess-1!", "d", "tv").await;
    let unknown = sign_in(&s, &c, "nobody@example.com", "Wrong-Guess-1!", "d", "tv").await;
    assert_eq!(known, unknown);
    // Signing up with a taken address answers exactly like a fresh one.
    let first = post(
        &c,
        s.url("/v1/accounts"),
        None,
        json!({"email": "fresh@example.com", "password": PASSWORD}),
    )
    .await;
    let taken = post(
        &c,
        s.url("/v1/accounts"),
        None,
        json!({"email": "owner@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(first, taken);
    s.stop().await;
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_stopped() {
    let s = TestServer::start(|c| c.throttle.stuffing_accounts = 5).await;
    let c = Client::new();
    for i in 0..5 {
        let (st, _) = sign_in(
            &s,
            &c,
            &format!("victim{i}@example.com"),
            "Summer-2024!",
            "bot",
            "computer",
        )
        .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    let (st, body) = sign_in(
        &s,
        &c,
        "victim9@example.com",
        "Summer-2024!",
        "bot",
        "computer",
    )
    .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["reasons"][0], "credential_stuffing");
    let hits = s
        .app
        .store
        .search_audit(&hearth_store::AuditQuery {
            kind: Some("credential_stuffing_detected".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn api_answers_are_not_cached_and_unknown_paths_answer_json() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    let event = json!({"ts": "2026-03-01T20:15:00Z", "account": "a-1", "device": "d-1", "device_type": "tv", "ip": "203.0.113.7", "kind": "playback"});
    let ok = c
        .post(s.url("/v1/access"))
        .bearer_auth(&s.api_key)
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["cache-control"], "no-store");
    // An API route's own refusals are not cached either.
    let refused = c.get(s.url("/v1/me")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers()["cache-control"], "no-store");
    let wrong_method = c.get(s.url("/v1/access")).send().await.unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    for path in ["/v1/nope", "/v1", "/v1/access/extra", "/nope"] {
        let resp = c.get(s.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    s.stop().await;
}

#[tokio::test]
async fn the_platform_api_needs_its_key_and_names_bad_input() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    let event = json!({"ts": "2026-03-01T20:15:00Z", "account": "a-17", "device": "d-3", "device_type": "tv", "ip": "203.0.113.7", "kind": "playback", "extra": 1});
    let (st, body) = post(&c, s.url("/v1/access"), None, event.clone()).await;
    assert_eq!(
        (st, body["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("missing_api_key"))
    );
    let (st, _) = post(&c, s.url("/v1/access"), Some("wrong"), event.clone()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, body) = post(&c, s.url("/v1/access"), Some(&s.api_key), event).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["account"], "a-17");
    assert!(["allow", "verify", "deny"].contains(&body["decision"].as_str().unwrap()));
    assert!(body["reasons"].is_array());

    let (st, body) = post(
        &c,
        s.url("/v1/access"),
        Some(&s.api_key),
        json!({"ts": "yesterday", "account": "a"}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_request");
    // The rejection names the field that went wrong.
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("ts"), "{message}");
    let resp = c
        .post(s.url("/v1/access"))
        .bearer_auth(&s.api_key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Any JSON media type is taken, and only JSON.
    let good = r#"{"ts":"2026-01-01T00:00:00Z","account":"a-18","device":"d","device_type":"tv","ip":"198.51.100.9","kind":"playback"}"#;
    for (content_type, status) in [
        ("application/json; charset=utf-8", StatusCode::OK),
        ("Application/JSON", StatusCode::OK),
        ("application/vnd.hearth+json", StatusCode::OK),
        ("text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ] {
        let resp = c
            .post(s.url("/v1/access"))
            .bearer_auth(&s.api_key)
            .header("content-type", content_type)
            .body(good)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{content_type}");
        let body: Value = resp.json().await.unwrap();
        if status == StatusCode::OK {
            assert_eq!(body["account"], "a-18", "{content_type}");
        } else {
            assert_eq!(body["error"]["code"], "unsupported_media_type");
        }
    }

    let big = "x".repeat(200 * 1024);
    let resp = c
        .post(s.url("/v1/accounts"))
        .json(&json!({"email": big, "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    s.stop().await;
}

#[tokio::test]
async fn operations_endpoints_answer_with_security_headers() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    for path in [
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/metrics",
        "/v1/nope",
    ] {
        let r = c.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }
    assert_eq!(
        c.get(s.url("/v1/nope")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let doc: Value = c
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/accounts",
        "/v1/sessions",
        "/v1/me/devices",
        "/v1/access",
        "/v1/me/compromised",
        "/healthz",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} not documented");
    }
    sign_in(&s, &c, "nobody@example.com", "x", "d", "tv").await;
    let text = c
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("hearth_sign_ins_total{result=\"failed\"} 1"),
        "{text}"
    );
    assert!(text.contains("hearth_http_request_seconds_bucket"));
    s.stop().await;
}

#[tokio::test]
async fn analysts_see_flagged_accounts_and_search_the_audit_log() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    let admin_pw = s
        .app
        .ensure_admin("admin@hearth.local")
        .await
        .unwrap()
        .unwrap();
    assert!(
        s.app
            .ensure_admin("admin@hearth.local")
            .await
            .unwrap()
            .is_none(),
        "printed once"
    );
    sign_up(&s, &c, "owner@example.com").await;
    let owner = token(&s, &c, "owner@example.com", "tv-1", "tv").await;
    assert_eq!(
        get(&c, s.url("/v1/admin/flagged"), &owner).await.0,
        StatusCode::FORBIDDEN
    );
    post(&c, s.url("/v1/me/compromised"), Some(&owner), json!({})).await;

    let (st, body) = sign_in(&s, &c, "admin@hearth.local", &admin_pw, "desk", "computer").await;
    assert_eq!(st, StatusCode::CREATED);
    let admin = body["token"].as_str().unwrap().to_owned();
    let (st, flagged) = get(&c, s.url("/v1/admin/flagged"), &admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(flagged[0]["email"], "owner@example.com");
    let (_, hits) = get(
        &c,
        s.url("/v1/admin/audit?kind=report_entered_details_on_fake_site"),
        &admin,
    )
    .await;
    assert_eq!(hits.as_array().unwrap().len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn a_configured_breach_corpus_refuses_listed_passwords() {
    use sha1::{Digest, Sha1};
    let leaked = "Tangerine-Piano-88-Glacier";
    let mut lines = [
        format!("{}:412", hex::encode_upper(Sha1::digest(leaked.as_bytes()))),
        format!("{}:3", hex::encode_upper(Sha1::digest(b"another-one"))),
    ];
    lines.sort();
    let path = std::env::temp_dir().join(format!("hearth-e2e-hibp-{}.txt", std::process::id()));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let p = path.clone();
    let s = TestServer::start(move |c| c.passwords.breached_file = Some(p)).await;
    let c = Client::new();
    let (st, body) = post(
        &c,
        s.url("/v1/accounts"),
        None,
        json!({"email": "o@example.com", "password": leaked}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["reasons"], json!(["breached"]));
    let (st, _) = post(
        &c,
        s.url("/v1/accounts"),
        None,
        json!({"email": "o@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    s.stop().await;
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn devices_show_where_they_signed_in_from_the_geoip_database() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/geoip");
    let s = TestServer::start(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.geoip.city = Some(data.join("GeoIP2-City-Test.mmdb"));
        c.geoip.asn = Some(data.join("GeoLite2-ASN-Test.mmdb"));
    })
    .await;
    let c = Client::new();
    sign_up(&s, &c, "owner@example.com").await;
    let r = c
        .post(s.url("/v1/sessions"))
        .header("x-forwarded-for", "81.2.69.160")
        .json(&json!({"email": "owner@example.com", "password": PASSWORD, "device_id": "tv-1", "device_type": "tv"}))
        .send()
        .await
        .unwrap();
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, list) = get(&c, s.url("/v1/me/devices"), &token).await;
    assert_eq!(list[0]["location"], "London, GB", "{list}");
    assert_eq!(list[0]["ip"], "81.2.69.160");
    s.stop().await;
}
