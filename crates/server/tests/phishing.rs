//! Phishing end to end on a real server: the message checker, members' reports grouped
//! into campaigns, the analysts' campaign API, and mail forwarded over real SMTP to the
//! intake listener. Runs on SQLite by default and on PostgreSQL when
//! `HEARTH_TEST_DATABASE_URL` names one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_server::testkit::TestServer;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const PASSWORD: &str = "Correct-Horse-7-Battery";
const REPORT_ADDRESS: &str = "phishing@streamco.example";

/// A fake "payment failed" SMS with a lookalike of netflix.com.
const FAKE_SMS: &str = "Netflix: your payment failed. Update your card within 24 hours at https://netfllx-account.com/billing or your account will be suspended.";
/// The same campaign: same lookalike domain, other wording.
const FAKE_SMS_2: &str = "NETFLIX - we could not process your last payment. Confirm your billing details now: netfllx-account.com/update?id=88";
/// Another campaign altogether.
const PRIZE_SMS: &str = "Congratulations! You have won a free year of Disney+. Claim your prize today at https://disney-prize-winner.top/claim";
/// How the service itself writes.
const OWN_SMS: &str = "Your Hearth code is 123456. We never ask for your password.";

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

async fn member(s: &TestServer, c: &Client, email: &str) -> String {
    let (st, body) = post(
        c,
        s.url("/v1/accounts"),
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    let (st, body) = post(
        c,
        s.url("/v1/sessions"),
        None,
        json!({"email": email, "password": PASSWORD, "device_id": "laptop", "device_type": "computer"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn analyst(s: &TestServer, c: &Client) -> String {
    let pw = s
        .app
        .ensure_admin("analyst@hearth.local")
        .await
        .unwrap()
        .unwrap();
    let (st, body) = post(
        c,
        s.url("/v1/sessions"),
        None,
        json!({"email": "analyst@hearth.local", "password": pw, "device_id": "desk", "device_type": "computer"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// A JSON array of strings.
fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_checker_says_why_and_what_to_do_and_names_bad_fields() {
    let s = TestServer::start(|c| c.phishing_report_address = REPORT_ADDRESS.into()).await;
    let c = Client::new();

    let (st, v) = post(
        &c,
        s.url("/v1/messages/check"),
        None,
        json!({"text": FAKE_SMS, "sender": "+351910000001", "channel": "sms", "lang": "pt"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["verdict"], "phishing", "{v}");
    assert!(!v["reasons"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(strs(&v["urls"]), ["https://netfllx-account.com/billing"]);
    // Exactly what `hearth message check` prints for the same line.
    let cli = hearth_phish::Checker::default().check(&hearth_phish::Message {
        text: FAKE_SMS.into(),
        sender: Some("+351910000001".into()),
        channel: Some(hearth_phish::Channel::Sms),
    });
    let cli = serde_json::to_value(&cli).unwrap();
    for key in ["verdict", "score", "reasons", "urls"] {
        assert_eq!(v[key], cli[key], "{key}");
    }
    assert_eq!(v["lang"], "pt");
    let guidance = strs(&v["guidance"]);
    assert!(
        guidance.iter().any(|g| g.contains(REPORT_ADDRESS)),
        "{guidance:?}"
    );
    assert!(
        guidance.iter().any(|g| g.contains("palavra-passe")),
        "{guidance:?}"
    );

    let (st, v) = post(
        &c,
        s.url("/v1/messages/check"),
        None,
        json!({"text": OWN_SMS, "sender": "Hearth", "channel": "sms"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["verdict"], "legitimate", "{v}");
    assert_eq!(v["lang"], "en");
    assert!(v["urls"].as_array().unwrap().is_empty());

    for (body, field) in [
        (json!({"sender": "x"}), "text"),
        (json!({"text": "   "}), "text"),
        (json!({"text": "hi", "channel": "fax"}), "channel"),
        (json!({"text": "hi", "lang": "de"}), "lang"),
        (json!({"text": "hi", "sender": "x".repeat(600)}), "sender"),
    ] {
        let (st, v) = post(&c, s.url("/v1/messages/check"), None, body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    let (st, v) = post(
        &c,
        s.url("/v1/messages/check"),
        None,
        json!({"text": "a".repeat(70 * 1024)}),
    )
    .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["error"]["code"], "payload_too_large", "{v}");
    let resp = c
        .post(s.url("/v1/messages/check"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let metrics = c.get(s.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("hearth_message_checks_total{verdict=\"phishing\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("hearth_message_checks_total{verdict=\"legitimate\"} 1"));
    s.stop().await;
}

#[tokio::test]
async fn reports_are_grouped_into_campaigns_that_analysts_see() {
    let s = TestServer::start(|c| c.phishing_report_address = REPORT_ADDRESS.into()).await;
    let c = Client::new();
    let owner = member(&s, &c, "owner@example.com").await;
    let owner_id = get(&c, s.url("/v1/me"), &owner).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // An owner's report, signed in: their account is kept with it.
    let (st, first) = post(
        &c,
        s.url("/v1/reports/phishing"),
        Some(&owner),
        json!({"text": FAKE_SMS, "sender": "+351910000001", "channel": "sms"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    assert_eq!(first["verdict"], "phishing");
    assert_eq!(first["new_campaign"], true);
    assert!(!first["guidance"].as_array().unwrap().is_empty());
    let campaign = first["campaign_id"].as_str().unwrap().to_owned();

    // Anonymous, same lookalike domain, other wording: the same campaign.
    let (st, second) = post(
        &c,
        s.url("/v1/reports/phishing"),
        None,
        json!({"text": FAKE_SMS_2, "channel": "sms", "lang": "fr"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{second}");
    assert_eq!(second["campaign_id"], campaign.as_str());
    assert_eq!(second["new_campaign"], false);
    assert_eq!(second["lang"], "fr");

    // Unrelated: another campaign.
    let (st, third) = post(
        &c,
        s.url("/v1/reports/phishing"),
        None,
        json!({"text": PRIZE_SMS, "sender": "+34600000000", "channel": "sms"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{third}");
    assert_ne!(third["campaign_id"], campaign.as_str());
    let other = third["campaign_id"].as_str().unwrap().to_owned();

    // A bad token is refused rather than taken as anonymous; bad input names its field.
    let (st, _) = post(
        &c,
        s.url("/v1/reports/phishing"),
        Some("hs_not-a-token"),
        json!({"text": FAKE_SMS}),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = post(&c, s.url("/v1/reports/phishing"), None, json!({"text": ""})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["field"], "text");
    let resp = c
        .post(s.url("/v1/reports/phishing"))
        .header("content-type", "text/plain")
        .body(FAKE_SMS)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Members are not analysts.
    let (st, v) = get(&c, s.url("/v1/admin/campaigns"), &owner).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, _) = get(
        &c,
        s.url(&format!("/v1/admin/campaigns/{campaign}")),
        &owner,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    let admin = analyst(&s, &c).await;
    let (st, list) = get(&c, s.url("/v1/admin/campaigns"), &admin).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["id"], campaign.as_str(), "ranked by reports");
    assert_eq!(list[0]["reports"], 2);
    assert_eq!(list[0]["recent_reports"], 2);
    assert_eq!(list[0]["label"], "phishing");
    assert_eq!(strs(&list[0]["domains"]), ["netfllx-account.com"]);
    assert_eq!(list[0]["languages"]["en"], 2, "{}", list[0]);
    let daily = list[0]["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 14);
    assert_eq!(
        daily
            .iter()
            .map(|d| d["reports"].as_u64().unwrap())
            .sum::<u64>(),
        2
    );
    assert_eq!(list[1]["id"], other.as_str());
    assert_eq!(list[1]["reports"], 1);

    let (st, detail) = get(
        &c,
        s.url(&format!("/v1/admin/campaigns/{campaign}")),
        &admin,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{detail}");
    assert_eq!(detail["reports"], 2);
    let samples = detail["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[0]["text"], FAKE_SMS_2, "newest first");
    assert_eq!(samples[0]["reporter_account"], Value::Null);
    assert_eq!(samples[1]["text"], FAKE_SMS);
    assert_eq!(samples[1]["reporter_account"], owner_id.as_str());
    assert_eq!(samples[1]["sender"], "+351910000001");
    assert_eq!(samples[1]["channel"], "sms");
    assert_eq!(samples[1]["source"], "api");
    assert_eq!(
        strs(&samples[1]["urls"]),
        ["https://netfllx-account.com/billing"]
    );
    let (st, _) = get(&c, s.url("/v1/admin/campaigns/cmp_nope"), &admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The owner's report is in their audit trail.
    let (_, audit) = get(&c, s.url("/v1/me/audit"), &owner).await;
    assert!(audit.to_string().contains("phishing_reported"), "{audit}");

    let metrics = c.get(s.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("hearth_phishing_reports_total{source=\"api\",verdict=\"phishing\"} 3"),
        "{metrics}"
    );
    let spec: Value = c
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in [
        "/v1/messages/check",
        "/v1/reports/phishing",
        "/v1/admin/campaigns",
        "/v1/admin/campaigns/{id}",
    ] {
        assert!(spec["paths"][p].is_object(), "{p} missing from the spec");
    }
    for schema in [
        "MessageBody",
        "CheckResponse",
        "ReportResponse",
        "CampaignSummary",
        "CampaignDetail",
        "SampleReport",
        "DayCount",
    ] {
        assert!(
            spec["components"]["schemas"][schema].is_object(),
            "{schema} missing from the spec"
        );
    }
    s.stop().await;
}

/// The reported message: an HTML "payment failed" e-mail from a lookalike domain.
fn phishing_email() -> String {
    "From: \"Netflix\" <billing@netfllx-account.com>\r\n\
     To: owner@example.com\r\n\
     Subject: Your payment failed\r\n\
     Date: Sat, 21 Nov 2026 20:15:00 +0000\r\n\
     Message-ID: <lure-1@netfllx-account.com>\r\n\
     MIME-Version: 1.0\r\n\
     Content-Type: multipart/alternative; boundary=\"alt\"\r\n\
     \r\n\
     --alt\r\n\
     Content-Type: text/plain; charset=utf-8\r\n\
     \r\n\
     We could not process your last payment. Update your payment method within 24 hours.\r\n\
     .Your account will be suspended otherwise.\r\n\
     --alt\r\n\
     Content-Type: text/html; charset=utf-8\r\n\
     \r\n\
     <html><body><p>We could not process your last payment.</p>\r\n\
     <p><a href=\"https://netfllx-account.com/login?u=42\">Update payment method</a></p>\r\n\
     <script>alert(1)</script></body></html>\r\n\
     --alt--\r\n"
        .to_owned()
}

/// A member forwarding it as an attachment, as mail clients do.
fn forward(from: &str, to: &str) -> String {
    format!(
        "From: Owner <{from}>\r\n\
         To: {to}\r\n\
         Subject: Fwd: Your payment failed\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"fwd\"\r\n\
         \r\n\
         --fwd\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         This looks fake, please check.\r\n\
         --fwd\r\n\
         Content-Type: message/rfc822\r\n\
         Content-Disposition: attachment; filename=\"payment.eml\"\r\n\
         \r\n\
         {}\r\n\
         --fwd\r\n\
         Content-Type: application/pdf; name=\"invoice.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         JVBERi0xLjQKJcOkw7zDtsOfCg==\r\n\
         --fwd--\r\n",
        phishing_email()
    )
}

fn free_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// A raw SMTP client for the refusals: sends a line, reads one (possibly multi-line) reply.
struct Smtp {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl Smtp {
    async fn connect(addr: SocketAddr) -> Smtp {
        let mut last = String::new();
        // The intake starts with the server, and a closing session frees its slot a
        // moment after its last reply: retry a bounded number of times.
        for _ in 0..100 {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    let (r, w) = s.into_split();
                    let mut smtp = Smtp {
                        r: BufReader::new(r),
                        w,
                    };
                    let mut greeting = String::new();
                    let _ = smtp.r.read_line(&mut greeting).await;
                    if greeting.starts_with("220 ") {
                        return smtp;
                    }
                    last = greeting;
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no SMTP greeting from {addr}: {last}");
    }

    async fn read(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            self.r.read_line(&mut line).await.unwrap();
            assert!(!line.is_empty(), "connection closed after {all:?}");
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    async fn cmd(&mut self, line: &str) -> String {
        self.w
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        self.read().await
    }
}

#[tokio::test]
async fn mail_forwarded_over_smtp_joins_its_campaign() {
    let intake = free_port();
    let s = TestServer::start(|c| {
        c.phishing_report_address = REPORT_ADDRESS.into();
        c.intake.listen = Some(intake);
        c.intake.max_message_bytes = 64 * 1024;
    })
    .await;
    let c = Client::new();
    let owner = member(&s, &c, "owner@example.com").await;
    let owner_id = get(&c, s.url("/v1/me"), &owner).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The campaign already has one report from the API.
    let (st, first) = post(
        &c,
        s.url("/v1/reports/phishing"),
        None,
        json!({"text": FAKE_SMS, "channel": "sms"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    let campaign = first["campaign_id"].as_str().unwrap().to_owned();
    let (st, _) = post(
        &c,
        s.url("/v1/reports/phishing"),
        None,
        json!({"text": PRIZE_SMS, "channel": "sms"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);

    // Refusals first, on a raw session: another recipient, then an oversized message.
    let mut smtp = Smtp::connect(intake).await;
    let ehlo = smtp.cmd("EHLO client.example").await;
    assert!(ehlo.contains("SIZE 65536"), "{ehlo}");
    assert!(smtp
        .cmd("MAIL FROM:<owner@example.com>")
        .await
        .starts_with("250"));
    let refused = smtp.cmd("RCPT TO:<postmaster@streamco.example>").await;
    assert!(refused.starts_with("550 "), "{refused}");
    assert!(
        smtp.cmd("DATA").await.starts_with("554"),
        "no recipient yet"
    );
    assert!(smtp
        .cmd(&format!("RCPT TO:<{}>", REPORT_ADDRESS.to_uppercase()))
        .await
        .starts_with("250"));
    assert!(smtp.cmd("DATA").await.starts_with("354"));
    let big = format!("Subject: huge\r\n\r\n{}\r\n", "x".repeat(998)).repeat(80);
    smtp.w.write_all(big.as_bytes()).await.unwrap();
    let too_big = smtp.cmd(".").await;
    assert!(too_big.starts_with("552 "), "{too_big}");
    // Declared too big up front.
    assert!(smtp
        .cmd("MAIL FROM:<owner@example.com> SIZE=9999999")
        .await
        .starts_with("552 "));
    assert!(smtp.cmd("NOOP").await.starts_with("250"));
    assert!(smtp.cmd("RSET").await.starts_with("250"));
    assert!(smtp.cmd("QUIT").await.starts_with("221"));

    // A real client (lettre) forwards the phishing mail to the reporting address.
    use lettre::address::Envelope;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(intake.ip().to_string())
        .port(intake.port())
        .timeout(Some(Duration::from_secs(20)))
        .build();
    let envelope = Envelope::new(
        Some("owner@example.com".parse().unwrap()),
        vec![REPORT_ADDRESS.parse().unwrap()],
    )
    .unwrap();
    let sent = mailer
        .send_raw(
            &envelope,
            forward("owner@example.com", REPORT_ADDRESS).as_bytes(),
        )
        .await
        .unwrap();
    let said = sent.message().collect::<Vec<_>>().join(" ");
    assert!(said.contains("phishing"), "{said}");

    let admin = analyst(&s, &c).await;
    let (st, detail) = get(
        &c,
        s.url(&format!("/v1/admin/campaigns/{campaign}")),
        &admin,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{detail}");
    assert_eq!(detail["reports"], 2, "{detail}");
    let mail = &detail["samples"][0];
    assert_eq!(mail["source"], "smtp");
    assert_eq!(mail["channel"], "email");
    assert_eq!(mail["verdict"], "phishing", "{mail}");
    assert_eq!(mail["subject"], "Your payment failed");
    assert_eq!(mail["sender"], "Netflix <billing@netfllx-account.com>");
    assert_eq!(
        mail["reporter_account"],
        owner_id.as_str(),
        "matched by From"
    );
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains("could not process your last payment"),
        "{text}"
    );
    assert!(text.contains(".Your account"), "dot-unstuffed once: {text}");
    assert!(!text.contains("..Your account"), "{text}");
    assert!(!text.contains("<script") && !text.contains("<p>"), "{text}");
    assert!(!text.contains("JVBERi0"), "attachments ignored: {text}");
    assert!(
        mail["urls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().contains("netfllx-account.com/login")),
        "{mail}"
    );
    let (_, list) = get(&c, s.url("/v1/admin/campaigns"), &admin).await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");

    // The same forward posted to the API as message/rfc822 lands there too.
    let resp = c
        .post(s.url("/v1/reports/phishing?lang=es"))
        .header("content-type", "message/rfc822")
        .body(forward("someone@example.net", REPORT_ADDRESS))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["campaign_id"], campaign.as_str(), "{v}");
    assert_eq!(v["lang"], "es");

    let metrics = c.get(s.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("hearth_phishing_reports_total{source=\"smtp\",verdict=\"phishing\"} 1"),
        "{metrics}"
    );
    s.stop().await;
}

#[tokio::test]
async fn concurrent_reports_of_one_campaign_are_all_counted() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    let (st, first) = post(
        &c,
        s.url("/v1/reports/phishing"),
        None,
        json!({"text": FAKE_SMS}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    let campaign = first["campaign_id"].as_str().unwrap().to_owned();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let c = c.clone();
            let url = s.url("/v1/reports/phishing");
            tokio::spawn(async move {
                let text = format!("Payment {i} declined, see netfllx-account.com/p{i}");
                post(&c, url, None, json!({"text": text})).await
            })
        })
        .collect();
    for t in tasks {
        let (st, v) = t.await.unwrap();
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert_eq!(v["campaign_id"], campaign.as_str(), "{v}");
    }
    let admin = analyst(&s, &c).await;
    let (_, detail) = get(
        &c,
        s.url(&format!("/v1/admin/campaigns/{campaign}")),
        &admin,
    )
    .await;
    assert_eq!(detail["reports"], 9, "no update lost: {detail}");
    assert_eq!(detail["samples"].as_array().unwrap().len(), 9);
    s.stop().await;
}

#[tokio::test]
async fn reports_are_limited_per_source() {
    let s = TestServer::start(|c| c.intake.reports_per_hour = 2).await;
    let c = Client::new();
    let owner = member(&s, &c, "owner@example.com").await;
    for _ in 0..2 {
        let (st, v) = post(
            &c,
            s.url("/v1/reports/phishing"),
            None,
            json!({"text": FAKE_SMS}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let (st, v) = post(
        &c,
        s.url("/v1/reports/phishing"),
        None,
        json!({"text": FAKE_SMS}),
    )
    .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"]["code"], "too_many_reports");
    assert_eq!(v["error"]["retry_after"], 3600);
    // A signed-in owner has a budget of their own; checking is never limited.
    let (st, v) = post(
        &c,
        s.url("/v1/reports/phishing"),
        Some(&owner),
        json!({"text": FAKE_SMS}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, _) = post(
        &c,
        s.url("/v1/messages/check"),
        None,
        json!({"text": FAKE_SMS}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn the_intake_bounds_sessions_and_idle_clients() {
    let intake = free_port();
    let s = TestServer::start(|c| {
        c.intake.listen = Some(intake);
        c.intake.max_sessions = 1;
        c.intake.command_timeout_secs = 1;
    })
    .await;
    let mut first = Smtp::connect(intake).await;
    assert!(first.cmd("HELO a.example").await.starts_with("250"));
    // The only slot is taken: the next connection is told so and closed.
    let busy = TcpStream::connect(intake).await.unwrap();
    let mut busy = BufReader::new(busy);
    let mut line = String::new();
    busy.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("421 "), "{line}");
    // Commands before the greeting's prerequisites, unknown ones, and idling.
    assert!(first.cmd("RCPT TO:<x@y.example>").await.starts_with("503"));
    assert!(first.cmd("STARTTLS").await.starts_with("502"));
    let timeout = first.read().await;
    assert!(timeout.starts_with("421 4.4.2"), "{timeout}");
    // The slot is free again.
    let mut again = Smtp::connect(intake).await;
    assert!(again.cmd("QUIT").await.starts_with("221"));
    s.stop().await;
}

#[tokio::test]
async fn the_demo_fills_the_campaign_pages() {
    let s = TestServer::start(|_| {}).await;
    let c = Client::new();
    let filed = s
        .app
        .seed_demo_phishing(hearth_server::service::now())
        .await
        .unwrap();
    let admin = analyst(&s, &c).await;
    let (_, list) = get(&c, s.url("/v1/admin/campaigns"), &admin).await;
    let list = list.as_array().unwrap();
    assert_eq!(
        list.iter()
            .map(|c| c["reports"].as_u64().unwrap())
            .sum::<u64>(),
        filed as u64
    );
    assert_eq!(list.len(), 4, "{list:?}");
    assert_eq!(list[0]["reports"], 7, "{}", list[0]);
    assert_eq!(strs(&list[0]["domains"]), ["netfllx-account.com"]);
    for lang in ["en", "fr", "pt"] {
        assert!(
            list[0]["languages"][lang].as_u64().unwrap() >= 1,
            "{}",
            list[0]
        );
    }
    let days_with_reports = list[0]["daily"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["reports"].as_u64().unwrap() > 0)
        .count();
    assert!(days_with_reports >= 5, "{}", list[0]);
    assert_eq!(list[3]["label"], "legitimate", "{list:?}");
    s.stop().await;
}
