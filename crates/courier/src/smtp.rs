//! E-mail over SMTP with `lettre`: cleartext, STARTTLS or implicit TLS (rustls), with
//! optional authentication.

use crate::config::{ConfigError, SmtpSecurity};
use crate::transport::{short, SendError, Transport};
use hearth_core::outbox::OutboxMessage;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// Sends [`OutboxMessage`]s as e-mail: text and HTML as `multipart/alternative`.
pub struct SmtpTransport {
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpTransport {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        host: &str,
        port: Option<u16>,
        security: SmtpSecurity,
        username: Option<&str>,
        password: Option<&SecretString>,
        from: &str,
        timeout: Duration,
        helo_name: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| ConfigError::Email(format!("`from` is not an address: {e}")))?;
        let builder = match security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| ConfigError::Email(format!("STARTTLS setup for {host}: {e}")))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| ConfigError::Email(format!("TLS setup for {host}: {e}")))?,
        };
        let mut builder = builder
            .port(port.unwrap_or(security.default_port()))
            .timeout(Some(timeout));
        if let Some(name) = helo_name {
            builder = builder.hello_name(ClientId::Domain(name.to_owned()));
        }
        match (username, password) {
            (Some(user), Some(pass)) => {
                builder = builder.credentials(Credentials::new(
                    user.to_owned(),
                    pass.expose_secret().to_owned(),
                ));
            }
            (None, None) => {}
            _ => {
                return Err(ConfigError::Email(
                    "give both `username` and `password`, or neither".into(),
                ))
            }
        }
        Ok(Self {
            mailer: builder.build(),
            from,
        })
    }

    fn build(&self, msg: &OutboxMessage) -> Result<Message, SendError> {
        let to: Mailbox = msg
            .to
            .parse()
            .map_err(|e| SendError::Permanent(format!("bad recipient address: {e}")))?;
        let builder = Message::builder()
            .message_id(Some(message_id(msg, self.from.email.domain())))
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject.clone().unwrap_or_default());
        let built = match &msg.body_html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                msg.body_text.clone(),
                html.clone(),
            )),
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(msg.body_text.clone()),
            ),
        };
        built.map_err(|e| SendError::Permanent(format!("cannot build the e-mail: {e}")))
    }
}

/// The same Message-ID every time one outbox row is sent. Delivery is at least once (a
/// worker killed between the send and its record sends again), so a receiver that keeps
/// the IDs it has seen can drop the repeat.
pub fn message_id(msg: &OutboxMessage, domain: &str) -> String {
    format!("<hearth.{}.{}@{domain}>", msg.id, msg.created_at.0)
}

#[async_trait::async_trait]
impl Transport for SmtpTransport {
    async fn send(&self, msg: &OutboxMessage) -> Result<(), SendError> {
        let email = self.build(msg)?;
        match self.mailer.send(email).await {
            Ok(_) => Ok(()),
            // 5xx replies will not change by retrying; everything else (4xx, network,
            // TLS handshake, timeouts) may.
            Err(e) if e.is_permanent() => Err(SendError::Permanent(short(&e.to_string()))),
            Err(e) => Err(SendError::Transient(short(&e.to_string()))),
        }
    }
}
