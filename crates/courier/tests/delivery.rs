//! End-to-end delivery against real peers on loopback: a code issued by `hearth_core`,
//! rendered, queued, drained by the courier over SMTP or HTTP, read back out of what the
//! peer received, and verified.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::codes::{self, CodePolicy, Purpose};
use hearth_core::outbox::{OutboxChannel, OutboxStatus};
use hearth_core::time::SECOND;
use hearth_core::{AccountId, DeviceType, Timestamp};
use hearth_courier::templates::{
    render_code, Branding, CodeContext, DeviceInfo, Locale, Place, Rendered,
};
use hearth_courier::{
    Courier, CourierConfig, DevMailbox, EmailTransportConfig, MemoryOutbox, RetryPolicy,
    SmsTransportConfig, SmtpSecurity,
};
use hearth_loopback::*;
use rand::rngs::OsRng;
use secrecy::SecretString;

const KEY: &[u8] = b"server key for delivery tests....";
const T0: Timestamp = Timestamp(1_772_396_100_000);

fn account() -> AccountId {
    AccountId::from("a-17")
}

/// Issues a device-verification code for d-3 and renders it in `locale`.
fn issue_and_render(locale: Locale) -> (codes::CodeRecord, Rendered) {
    let policy = CodePolicy::default();
    let (code, record) = codes::issue(
        &mut OsRng,
        KEY,
        &policy,
        Purpose::DeviceVerification,
        &account(),
        "d-3",
        T0,
    );
    let ctx = CodeContext {
        purpose: Purpose::DeviceVerification,
        code,
        device: DeviceInfo {
            name: "Sala TV".into(),
            kind: DeviceType::Tv,
            place: Some(Place {
                city: Some("Porto".into()),
                country: Some("PT".into()),
            }),
        },
        expires_minutes: policy.ttl_minutes(),
        pass_days: 7,
    };
    (record, render_code(locale, &Branding::default(), &ctx))
}

fn smtp_config(port: u16) -> CourierConfig {
    CourierConfig {
        email: EmailTransportConfig::Smtp {
            host: "127.0.0.1".into(),
            port: Some(port),
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "Hearth <no-reply@hearth.test>".into(),
            timeout_ms: 10_000,
            helo_name: Some("hearth.test".into()),
        },
        ..CourierConfig::default()
    }
}

fn twilio_config(base_url: &str) -> CourierConfig {
    CourierConfig {
        sms: SmsTransportConfig::Twilio {
            base_url: base_url.into(),
            account_sid: "AC0123".into(),
            auth_token: SecretString::from("tok-en"),
            from: "+15550100".into(),
            timeout_ms: 10_000,
        },
        ..CourierConfig::default()
    }
}

#[tokio::test]
async fn a_code_mailed_through_a_real_smtp_server_verifies_the_device() {
    for locale in [Locale::En, Locale::Pt] {
        let server = start_smtp(RcptReply::Accept).await;
        let courier =
            Courier::from_config(&smtp_config(server.port), DevMailbox::default()).unwrap();
        let outbox = MemoryOutbox::new();
        let (mut record, rendered) = issue_and_render(locale);
        let id = outbox.enqueue(
            rendered.email("owner@example.org", "device_verification", None),
            T0,
        );

        let stats = courier.drain_once(&outbox, T0).await.unwrap();
        assert_eq!((stats.claimed, stats.sent), (1, 1), "{:?}", outbox.get(id));
        assert_eq!(outbox.get(id).unwrap().status, OutboxStatus::Sent);

        let mails = server.mails.lock().unwrap().clone();
        assert_eq!(mails.len(), 1);
        let mail = &mails[0];
        assert_eq!(mail.helo, "hearth.test");
        assert_eq!(mail.rcpt_to, vec!["<owner@example.org>".to_owned()]);
        assert!(
            mail.mail_from.starts_with("<no-reply@hearth.test>"),
            "{}",
            mail.mail_from
        );
        let parts = text_parts(&mail.data);
        assert_eq!(parts.len(), 2, "text and HTML: {}", mail.data);
        assert!(parts[1].contains("<!DOCTYPE html>"));
        // The owner reads the code out of the mail and types it on the device.
        let found = digit_runs(&parts[0], 6);
        assert_eq!(found.len(), 1, "{}", parts[0]);
        assert_eq!(digit_runs(&parts[1], 6), found);
        assert!(!mail.data.to_ascii_lowercase().contains("http"));
        let typed = &found[0];
        assert_eq!(
            codes::verify(
                &mut record,
                KEY,
                Purpose::DeviceVerification,
                &account(),
                "d-3",
                typed,
                T0.plus(60 * SECOND)
            ),
            Ok(())
        );
    }
}

#[tokio::test]
async fn smtp_authenticates_with_the_configured_credentials() {
    let server = start_smtp(RcptReply::Accept).await;
    let mut cfg = smtp_config(server.port);
    if let EmailTransportConfig::Smtp {
        username, password, ..
    } = &mut cfg.email
    {
        *username = Some("hearth".into());
        *password = Some(SecretString::from("s3cret-pass"));
    }
    let courier = Courier::from_config(&cfg, DevMailbox::default()).unwrap();
    let outbox = MemoryOutbox::new();
    let (_, rendered) = issue_and_render(Locale::Es);
    outbox.enqueue(
        rendered.email("owner@example.org", "device_verification", None),
        T0,
    );
    assert_eq!(courier.drain_once(&outbox, T0).await.unwrap().sent, 1);
    let mails = server.mails.lock().unwrap().clone();
    assert_eq!(mails[0].auth.as_deref(), Some("hearth:s3cret-pass"));
    let text = &text_parts(&mails[0].data)[0];
    assert!(
        text.contains("“Sala TV” (televisor) cerca de Porto, PT"),
        "{text}"
    );
}

#[tokio::test]
async fn starttls_is_required_when_configured_so_nothing_leaks_in_cleartext() {
    // The loopback server does not offer STARTTLS: the courier must not fall back.
    let server = start_smtp(RcptReply::Accept).await;
    let mut cfg = smtp_config(server.port);
    if let EmailTransportConfig::Smtp {
        security,
        username,
        password,
        ..
    } = &mut cfg.email
    {
        *security = SmtpSecurity::Starttls;
        *username = Some("hearth".into());
        *password = Some(SecretString::from("s3cret-pass"));
    }
    let courier = Courier::from_config(&cfg, DevMailbox::default()).unwrap();
    let outbox = MemoryOutbox::new();
    let (_, rendered) = issue_and_render(Locale::En);
    let id = outbox.enqueue(
        rendered.email("owner@example.org", "device_verification", None),
        T0,
    );
    let s = courier.drain_once(&outbox, T0).await.unwrap();
    assert_eq!(s.sent, 0);
    assert_ne!(outbox.get(id).unwrap().status, OutboxStatus::Sent);
    assert!(server.mails.lock().unwrap().is_empty());
}

#[tokio::test]
async fn smtp_temporary_refusal_is_retried_and_permanent_refusal_is_dead() {
    for (reply, status) in [
        (RcptReply::TempFail, OutboxStatus::Pending),
        (RcptReply::Reject, OutboxStatus::Dead),
    ] {
        let server = start_smtp(reply).await;
        let courier =
            Courier::from_config(&smtp_config(server.port), DevMailbox::default()).unwrap();
        let outbox = MemoryOutbox::new();
        let (_, rendered) = issue_and_render(Locale::En);
        let id = outbox.enqueue(
            rendered.email("owner@example.org", "device_verification", None),
            T0,
        );
        courier.drain_once(&outbox, T0).await.unwrap();
        let msg = outbox.get(id).unwrap();
        assert_eq!(msg.status, status, "{reply:?}: {:?}", msg.last_error);
        assert_eq!(msg.attempts, 1);
        assert!(server.mails.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_code_texted_through_the_twilio_shaped_gateway_verifies_the_device() {
    let gateway = start_gateway(&[]).await;
    let courier =
        Courier::from_config(&twilio_config(&gateway.base_url), DevMailbox::default()).unwrap();
    let outbox = MemoryOutbox::new();
    let (mut record, rendered) = issue_and_render(Locale::Fr);
    let id = outbox.enqueue(
        rendered.sms("+351912345678", "device_verification", None),
        T0,
    );

    let stats = courier.drain_once(&outbox, T0).await.unwrap();
    assert_eq!(stats.sent, 1, "{:?}", outbox.get(id));

    let requests = gateway.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.path, "/2010-04-01/Accounts/AC0123/Messages.json");
    assert_eq!(
        req.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let expected_auth = format!("Basic {}", base64_encode(b"AC0123:tok-en"));
    assert_eq!(req.authorization.as_deref(), Some(expected_auth.as_str()));
    let form = form_decode(&req.body);
    let field = |k: &str| {
        form.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(field("To"), "+351912345678");
    assert_eq!(field("From"), "+15550100");
    let body = field("Body");
    assert_eq!(body, rendered.sms);
    assert!(body.contains("« Sala TV »"), "{body}");
    let code = digit_runs(&body, 6);
    assert_eq!(code.len(), 1, "{body}");
    assert_eq!(
        codes::verify(
            &mut record,
            KEY,
            Purpose::DeviceVerification,
            &account(),
            "d-3",
            &code[0],
            T0.plus(SECOND)
        ),
        Ok(())
    );
}

#[tokio::test]
async fn gateway_errors_500_twice_then_201_are_retried_with_growing_backoff() {
    let gateway = start_gateway(&[500, 503]).await;
    let mut cfg = twilio_config(&gateway.base_url);
    cfg.retry = RetryPolicy {
        base_ms: 30 * SECOND,
        factor: 2.0,
        jitter: 0.25,
        ..RetryPolicy::default()
    };
    let courier = Courier::from_config(&cfg, DevMailbox::default()).unwrap();
    let outbox = MemoryOutbox::new();
    let (_, rendered) = issue_and_render(Locale::Es);
    let id = outbox.enqueue(
        rendered.sms("+34600000000", "device_verification", None),
        T0,
    );

    // 1st try: 500 → pending again, due 22.5–30 s later.
    let s = courier.drain_once(&outbox, T0).await.unwrap();
    assert_eq!((s.claimed, s.retried), (1, 1));
    let m = outbox.get(id).unwrap();
    assert_eq!((m.status, m.attempts), (OutboxStatus::Pending, 1));
    let wait1 = m.next_attempt_at.since(T0);
    assert!((22_500..=30_000).contains(&wait1), "{wait1}");
    assert!(
        m.last_error.as_deref().unwrap_or("").contains("500"),
        "{:?}",
        m.last_error
    );

    // Not due yet: nothing claimed, nothing sent.
    let s = courier
        .drain_once(&outbox, T0.plus(wait1 - 1))
        .await
        .unwrap();
    assert_eq!(s.claimed, 0);

    // 2nd try: 503 → backoff doubled (45–60 s).
    let t1 = m.next_attempt_at;
    let s = courier.drain_once(&outbox, t1).await.unwrap();
    assert_eq!(s.retried, 1);
    let m = outbox.get(id).unwrap();
    assert_eq!(m.attempts, 2);
    let wait2 = m.next_attempt_at.since(t1);
    assert!((45_000..=60_000).contains(&wait2), "{wait2}");

    // 3rd try: 201 → sent.
    let s = courier
        .drain_once(&outbox, m.next_attempt_at)
        .await
        .unwrap();
    assert_eq!(s.sent, 1);
    let m = outbox.get(id).unwrap();
    assert_eq!((m.status, m.attempts), (OutboxStatus::Sent, 3));
    assert_eq!(gateway.requests.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn gateway_400_is_permanent_and_goes_dead_at_once() {
    let gateway = start_gateway(&[400]).await;
    let courier =
        Courier::from_config(&twilio_config(&gateway.base_url), DevMailbox::default()).unwrap();
    let outbox = MemoryOutbox::new();
    let (_, rendered) = issue_and_render(Locale::En);
    let id = outbox.enqueue(
        rendered.sms("+1 not a number", "device_verification", None),
        T0,
    );
    let s = courier.drain_once(&outbox, T0).await.unwrap();
    assert_eq!((s.claimed, s.dead), (1, 1));
    let m = outbox.get(id).unwrap();
    assert_eq!((m.status, m.attempts), (OutboxStatus::Dead, 1));
    assert!(
        m.last_error.as_deref().unwrap_or("").contains("400"),
        "{:?}",
        m.last_error
    );
    // Dead stays dead.
    let s = courier
        .drain_once(&outbox, T0.plus(86_400_000))
        .await
        .unwrap();
    assert_eq!(s.claimed, 0);
    assert_eq!(gateway.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_json_webhook_gets_to_and_body_with_the_bearer_token() {
    let gateway = start_gateway(&[]).await;
    let cfg = CourierConfig {
        sms: SmsTransportConfig::Webhook {
            url: format!("{}/hook", gateway.base_url),
            bearer: Some(SecretString::from("hook-token")),
            timeout_ms: 10_000,
        },
        ..CourierConfig::default()
    };
    let courier = Courier::from_config(&cfg, DevMailbox::default()).unwrap();
    let outbox = MemoryOutbox::new();
    let (_, rendered) = issue_and_render(Locale::En);
    outbox.enqueue(rendered.sms("+15550199", "device_verification", None), T0);
    assert_eq!(courier.drain_once(&outbox, T0).await.unwrap().sent, 1);
    let req = gateway.requests.lock().unwrap()[0].clone();
    assert_eq!(req.authorization.as_deref(), Some("Bearer hook-token"));
    let json: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(json["to"], "+15550199");
    assert_eq!(json["body"], rendered.sms.as_str());
}

#[tokio::test]
async fn nothing_configured_delivers_into_the_dev_mailbox() {
    let dev = DevMailbox::default();
    let pages = dev.clone();
    let courier = Courier::from_config(&CourierConfig::default(), dev).unwrap();
    let outbox = MemoryOutbox::new();
    let (_, rendered) = issue_and_render(Locale::En);
    outbox.enqueue(
        rendered.email("owner@example.org", "device_verification", None),
        T0,
    );
    outbox.enqueue(rendered.sms("+15550199", "device_verification", None), T0);
    assert_eq!(courier.drain_once(&outbox, T0).await.unwrap().sent, 2);
    let kept = pages.list();
    assert_eq!(kept.len(), 2);
    let channels: Vec<OutboxChannel> = kept.iter().map(|m| m.channel).collect();
    assert!(channels.contains(&OutboxChannel::Email) && channels.contains(&OutboxChannel::Sms));
}

#[tokio::test]
async fn every_notice_goes_out_by_smtp_and_sms_in_two_languages() {
    use hearth_courier::templates::{render_notice, Notice, NoticeContext};
    let server = start_smtp(RcptReply::Accept).await;
    let gateway = start_gateway(&[]).await;
    let mut cfg = smtp_config(server.port);
    cfg.sms = twilio_config(&gateway.base_url).sms;
    let courier = Courier::from_config(&cfg, DevMailbox::default()).unwrap();
    let outbox = MemoryOutbox::new();
    let mut expected = Vec::new();
    for locale in [Locale::En, Locale::Fr] {
        for notice in Notice::ALL {
            let ctx = NoticeContext {
                notice,
                at: T0,
                device: DeviceInfo {
                    name: "Sala TV".into(),
                    kind: DeviceType::Tv,
                    place: None,
                },
                count: 40,
            };
            let r = render_notice(locale, &Branding::default(), &ctx);
            outbox.enqueue(r.email("owner@example.org", "notification", None), T0);
            outbox.enqueue(r.sms("+351912345678", "notification", None), T0);
            expected.push(r);
        }
    }
    let mut sent = 0;
    while sent < expected.len() * 2 {
        let s = courier.drain_once(&outbox, T0).await.unwrap();
        assert!(s.claimed > 0, "stalled: {:?}", outbox.all());
        assert_eq!(s.sent, s.claimed);
        sent += s.sent as usize;
    }
    let mails = server.mails.lock().unwrap().clone();
    let texts: Vec<String> = mails
        .iter()
        .map(|m| text_parts(&m.data)[0].clone())
        .collect();
    let bodies: Vec<String> = gateway
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            form_decode(&r.body)
                .into_iter()
                .find(|(k, _)| k == "Body")
                .unwrap()
                .1
        })
        .collect();
    for r in &expected {
        // Mail bodies come back with CRLF line ends and may be re-wrapped: compare words.
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            texts.iter().any(|t| words(t) == words(&r.text)),
            "mail missing: {}",
            r.subject
        );
        assert!(bodies.contains(&r.sms), "sms missing: {}", r.sms);
    }
}
