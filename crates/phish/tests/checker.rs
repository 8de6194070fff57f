//! The checker on hand-made messages that are NOT in the training data: a streaming
//! service's own code messages must be legitimate; their impersonations with a foreign
//! link must be phishing.

use hearth_phish::{Channel, Checker, CheckerConfig, Label, Message, ReasonCode};

fn check(text: &str) -> hearth_phish::Verdict {
    Checker::default().check(&Message::text(text))
}

fn check_from(text: &str, sender: &str, channel: Channel) -> hearth_phish::Verdict {
    Checker::default().check(&Message {
        text: text.to_string(),
        sender: Some(sender.to_string()),
        channel: Some(channel),
    })
}

#[test]
fn services_own_code_messages_are_legitimate() {
    for text in [
        "Your Netflix verification code is 917204. It expires in 15 minutes. We will never ask for your password.",
        "Netflix: use 220931 to sign in on your TV. We never ask for your password in a message.",
        "Your Disney+ one-time code is 661273. It expires in 15 minutes.",
        "Hearth: your verification code is 381920. Valid for 10 minutes. We never ask for your password, card or bank details.",
        "Hearth : votre code de vérification est 381920. Il expire dans 10 minutes. Nous ne demandons jamais votre mot de passe.",
        "Hearth: o seu código de verificação é 381920. Expira em 10 minutos. Nunca pedimos a sua palavra-passe.",
        "Hearth: tu código de verificación es 381920. Caduca en 10 minutos. Nunca te pediremos tu contraseña.",
        "Your Spotify login code: 5521. Never share it.",
        "Netflix: your travel code 402817 gives you 7 days of watching away from home. Enter it in the app.",
    ] {
        let v = check(text);
        assert_eq!(v.verdict, Label::Legitimate, "{text}: {v:?}");
        assert!(v.urls.is_empty());
    }
}

#[test]
fn code_message_impersonations_with_a_foreign_link_are_phishing() {
    for text in [
        "Your Netflix verification code is 917204. Didn't request it? Cancel here: https://netflix-account-help.com/cancel",
        "Netflix: use 220931 to sign in. If this wasn't you, secure your account at netflix.com.secure-login.io",
        "Your Disney+ one-time code is 661273. Not you? Visit disneyplus-verify.net immediately.",
        "Hearth: your verification code is 381920. Confirm it at hxxps://hearth-verify[.]top to keep watching.",
        "Hearth : votre code de vérification est 381920. Confirmez-le sur https://hearth-compte.online/verif",
        "Hearth: o seu código de verificação é 381920. Confirme em http://hearth-conta.site/codigo",
        "Hearth: tu código de verificación es 381920. Confírmalo en https://bit.ly/3hEaRtH",
        "Your Netflix code is 917204. Enter it with your password at http://203.0.113.50/login",
        "Netflix: your sign-in code is 220931. Verify at https://nеtflix.com/verify",
        "Your Netflx code: 917204. Validate at netflx-login.com",
    ] {
        let v = check(text);
        assert_eq!(v.verdict, Label::Phishing, "{text}: {v:?}");
        assert!(!v.urls.is_empty(), "{text}");
    }
}

#[test]
fn payment_failed_lures_in_four_languages_are_phishing() {
    for text in [
        "Netflix: we couldn't process your payment. Update your card within 48 hours: https://nflx-payments.com",
        "Netflix : votre paiement a été refusé. Actualisez votre carte : netflix-paiements.com",
        "Netflix: o pagamento foi recusado. Atualize o cartão: netflix-pagamento.online",
        "Netflix: tu pago fue rechazado. Actualiza tu tarjeta: netflix-pago.xyz",
        "Your subscription is on hold. Update your billing details: https://streaming-renewal.support/pay",
    ] {
        let v = check(text);
        assert_eq!(v.verdict, Label::Phishing, "{text}: {v:?}");
    }
}

#[test]
fn reasons_explain_the_verdict() {
    let v = check("Netflix: your payment failed. Update your card at https://netflix-billing-update.com/login within 24 hours");
    assert_eq!(v.verdict, Label::Phishing);
    for r in [
        ReasonCode::BrandLinkMismatch,
        ReasonCode::BrandInDomain,
        ReasonCode::PaymentProblem,
        ReasonCode::Urgency,
    ] {
        assert!(v.reasons.contains(&r), "{r}: {:?}", v.reasons);
    }
    assert_eq!(v.urls, vec!["https://netflix-billing-update.com/login"]);
    let json = serde_json::to_string(&v).unwrap();
    assert!(
        json.starts_with("{\"verdict\":\"phishing\",\"score\":"),
        "{json}"
    );
    assert!(json.contains("\"brand_link_mismatch\""));
}

#[test]
fn disguised_brand_names_are_noticed() {
    for text in [
        "Your N e t f l i x account is paused, pay at https://pay-stream.site",
        "Your N3tflix account is paused",
        "Your Nеtflix account is paused",
    ] {
        let v = check(text);
        assert!(
            v.reasons.contains(&ReasonCode::ObfuscatedBrand),
            "{text}: {v:?}"
        );
    }
}

#[test]
fn official_links_are_trusted() {
    let v = check("Netflix: a new sign-in from Chrome on Windows. Review your devices at https://www.netflix.com/account");
    assert_ne!(v.verdict, Label::Phishing, "{v:?}");
    assert!(v.reasons.contains(&ReasonCode::OfficialLinksOnly));
}

#[test]
fn sender_cues() {
    let v = check_from(
        "Netflix: your account is on hold, update your payment.",
        "+44 7700 900123",
        Channel::Sms,
    );
    assert!(v.reasons.contains(&ReasonCode::SenderPhoneNumber), "{v:?}");
    let v = check_from(
        "Your Netflix payment failed, update your card.",
        "Netflix <billing@netflix-support-team.com>",
        Channel::Email,
    );
    assert!(
        v.reasons.contains(&ReasonCode::SenderDomainMismatch),
        "{v:?}"
    );
    assert!(v.reasons.contains(&ReasonCode::SenderLookalike), "{v:?}");
    let v = check_from(
        "Your Netflix code is 123456.",
        "Netflix <info@account.netflix.com>",
        Channel::Email,
    );
    assert!(
        !v.reasons.contains(&ReasonCode::SenderDomainMismatch),
        "{v:?}"
    );
    assert_eq!(v.verdict, Label::Legitimate);
}

#[test]
fn real_account_notices_with_official_links_are_not_phishing() {
    let v = check_from(
        "Spotify: tu pago no se pudo procesar. Actualiza tu método de pago en https://www.spotify.com/account",
        "Spotify <no-reply@spotify.com>",
        Channel::Email,
    );
    assert_eq!(v.verdict, Label::Legitimate, "{v:?}");
}

#[test]
fn parcel_fee_lures_are_flagged() {
    for text in [
        "Votre colis est en attente, payez 1,99 EUR de frais : https://colis-livraison.info",
        "CTT: a sua encomenda aguarda o pagamento da taxa alfandegária de 2,99 EUR: https://ctt-encomenda.top",
        "Correos: su paquete está retenido. Pague las tasas de aduana: https://correos-envio.site",
        "Royal Mail: pay the shipping fee of 1.45 GBP to release your parcel: https://royalmail-fee.com",
    ] {
        let v = check(text);
        assert_eq!(v.verdict, Label::Phishing, "{text}: {v:?}");
    }
}

#[test]
fn ordinary_messages_are_legitimate() {
    for text in [
        "Are we still on for dinner tonight?",
        "On regarde Netflix ce soir ? J'apporte le dessert.",
        "Chego às 8, vemos a série na Disney+?",
        "Te veo mañana en el partido, lo echan en DAZN.",
        "The meeting moved to 3pm, room 2.",
    ] {
        let v = check(text);
        assert_eq!(v.verdict, Label::Legitimate, "{text}: {v:?}");
    }
}

#[test]
fn uci_style_spam_is_flagged() {
    let v = check("URGENT! You have won a 1 week FREE membership in our £100,000 Prize Jackpot! Txt the word: CLAIM to No: 81010");
    assert_ne!(v.verdict, Label::Legitimate, "{v:?}");
}

#[test]
fn checker_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Checker>();
}

/// The hand-made evaluation set (`data/sms/handmade_eval.tsv`, never used for training):
/// every phishing message is flagged, every legitimate one is `legitimate`.
#[test]
fn handmade_evaluation_set() {
    let samples =
        hearth_phish::train::parse_tsv(include_str!("../../../data/sms/handmade_eval.tsv"))
            .unwrap();
    assert!(samples.len() >= 50);
    let checker = Checker::default();
    for s in samples {
        let v = checker.check(&Message::text(s.text.clone()));
        if s.spam {
            assert_ne!(v.verdict, Label::Legitimate, "{}: {v:?}", s.text);
        } else {
            assert_eq!(v.verdict, Label::Legitimate, "{}: {v:?}", s.text);
        }
    }
}

#[test]
fn the_platform_running_hearth_is_protected_by_configuration() {
    let checker =
        Checker::new(CheckerConfig::default().with_platform("StreamCo", &["streamco.tv"]));
    let own = checker.check(&Message::text(
        "StreamCo: your sign-in code is 481920. Manage your devices at https://account.streamco.tv/devices",
    ));
    assert_eq!(own.verdict, Label::Legitimate, "{own:?}");
    assert!(
        own.reasons.contains(&ReasonCode::OfficialLinksOnly),
        "{own:?}"
    );
    let fake = checker.check(&Message::text(
        "StreamCo: your sign-in code is 481920. Confirm it at https://streamco-verify.example.com/login",
    ));
    assert_eq!(fake.verdict, Label::Phishing, "{fake:?}");
    assert!(
        fake.reasons.contains(&ReasonCode::BrandInDomain),
        "{fake:?}"
    );
    let look = checker.check(&Message::text(
        "Your account is on hold: https://strearnco.com/pay",
    ));
    assert!(
        look.reasons.contains(&ReasonCode::LookalikeDomain),
        "{look:?}"
    );
}
