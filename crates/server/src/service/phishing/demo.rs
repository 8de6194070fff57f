//! Demo reports for `hearth serve --demo`: three campaigns in four languages spread over
//! the last two weeks, and one forwarded message that was the service's own, so the
//! analysts' campaign pages have something to show.

use super::{NewReport, ReportSource};
use crate::app::App;
use crate::service::ServiceResult;
use hearth_core::time::{DAY, HOUR};
use hearth_core::Timestamp;
use hearth_phish::{Channel, Message};

/// (days ago, hours ago, channel, sender, text)
const REPORTS: &[(i64, i64, Channel, &str, &str)] = &[
    (12, 3, Channel::Sms, "+351912000001", "Netflix: your payment failed. Update your card within 24 hours at https://netfllx-account.com/billing or your account will be suspended."),
    (9, 5, Channel::Sms, "+351912000002", "Netflix: o seu pagamento falhou. Atualize o seu cartão em 24 horas em netfllx-account.com/pt ou a sua conta será suspensa."),
    (6, 2, Channel::Email, "Netflix <billing@netfllx-account.com>", "Votre paiement a été refusé. Mettez à jour vos informations de paiement sur https://netfllx-account.com/fr sous 48 heures."),
    (4, 7, Channel::Sms, "+351912000003", "NETFLIX - we could not process your last payment. Confirm your billing details now: netfllx-account.com/update?id=88"),
    (2, 1, Channel::Sms, "+351912000004", "Netflix: o seu pagamento foi recusado. Confirme os seus dados em https://netfllx-account.com/conta"),
    (1, 4, Channel::Sms, "+351912000005", "Netflix: your payment failed. Update your card at https://netfllx-account.com/billing today."),
    (0, 2, Channel::Sms, "+351912000006", "Netflix: your account is on hold. Update your payment at netfllx-account.com/hold"),
    (11, 6, Channel::Sms, "+34600000001", "¡Enhorabuena! Ha ganado un año gratis de Disney+. Reclame su premio hoy en https://disney-prize-winner.top/es"),
    (5, 3, Channel::Sms, "+34600000002", "Congratulations! You have won a free year of Disney+. Claim your prize today at https://disney-prize-winner.top/claim"),
    (3, 8, Channel::Sms, "+34600000003", "¡Enhorabuena! Ha ganado un año de Disney+ gratis. Reclame su premio en disney-prize-winner.top/premio"),
    (8, 1, Channel::Email, "Service Client <support@secure-mail.example>", "Votre compte Netflix est suspendu. Vérifiez votre identité ici : hxxps://netflix-billing-update[.]com/verifier"),
    (7, 9, Channel::Email, "Netflix <no-reply@secure-mail.example>", "Votre compte Netflix sera fermé. Confirmez vos données de carte : hxxps://netflix-billing-update[.]com/carte"),
    (1, 1, Channel::Sms, "Hearth", "Your Hearth code is 482913. We never ask for your password."),
];

impl App {
    /// Files the demo reports as of `now`; returns how many.
    pub async fn seed_demo_phishing(&self, now: Timestamp) -> ServiceResult<usize> {
        for (days, hours, channel, sender, text) in REPORTS {
            let report = NewReport {
                message: Message {
                    text: (*text).to_owned(),
                    sender: Some((*sender).to_owned()),
                    channel: Some(*channel),
                },
                subject: None,
                reporter_account: None,
                source: if *channel == Channel::Email {
                    ReportSource::Smtp
                } else {
                    ReportSource::Api
                },
                lang: None,
                client: None,
            };
            self.report_phishing(report, now.plus(-(days * DAY + hours * HOUR)))
                .await?;
        }
        Ok(REPORTS.len())
    }
}
