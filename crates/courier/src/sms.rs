//! Text messages through an HTTP gateway: the Twilio Messages API shape, or a generic
//! JSON webhook. 2xx is delivered; 5xx, 408, 429 and network errors are transient; any
//! other status is permanent.

use crate::config::ConfigError;
use crate::transport::{short, SendError, Transport};
use hearth_core::outbox::OutboxMessage;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // A gateway never needs to redirect us; not following keeps credentials home.
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

async fn classify(result: Result<reqwest::Response, reqwest::Error>) -> Result<(), SendError> {
    let resp = result.map_err(|e| SendError::Transient(short(&e.without_url().to_string())))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let body = resp.text().await.unwrap_or_default();
    let why = format!("gateway answered {status}: {}", short(&body));
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        Err(SendError::Transient(why))
    } else {
        Err(SendError::Permanent(why))
    }
}

/// Sent with every text: the same value each time one outbox row is sent, so a gateway
/// (or the webhook behind it) can drop the repeat of an at-least-once delivery.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// `hearth-<outbox id>-<created at, ms>`: stable per outbox row.
pub fn idempotency_key(msg: &OutboxMessage) -> String {
    format!("hearth-{}-{}", msg.id, msg.created_at.0)
}

/// POST `{base}/2010-04-01/Accounts/{sid}/Messages.json`, form `To`, `From`, `Body`,
/// HTTP basic auth `sid:token`.
pub struct TwilioSms {
    client: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: SecretString,
    from: String,
}

impl TwilioSms {
    pub fn new(
        base_url: &str,
        account_sid: &str,
        auth_token: SecretString,
        from: &str,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        if account_sid.is_empty() || !account_sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::Sms(
                "`account_sid` must be letters and digits".into(),
            ));
        }
        let base = base_url.trim_end_matches('/');
        let url = format!("{base}/2010-04-01/Accounts/{account_sid}/Messages.json");
        reqwest::Url::parse(&url)
            .map_err(|e| ConfigError::Sms(format!("`base_url` is not a URL: {e}")))?;
        let client = client(timeout).map_err(|e| ConfigError::Sms(e.to_string()))?;
        Ok(Self {
            client,
            url,
            account_sid: account_sid.to_owned(),
            auth_token,
            from: from.to_owned(),
        })
    }
}

#[async_trait::async_trait]
impl Transport for TwilioSms {
    async fn send(&self, msg: &OutboxMessage) -> Result<(), SendError> {
        let form = [
            ("To", msg.to.as_str()),
            ("From", self.from.as_str()),
            ("Body", msg.body_text.as_str()),
        ];
        let result = self
            .client
            .post(&self.url)
            .header(IDEMPOTENCY_KEY, idempotency_key(msg))
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&form)
            .send()
            .await;
        classify(result).await
    }
}

/// POST `{"id": …, "to": …, "body": …}` to a URL, with an optional bearer token.
pub struct WebhookSms {
    client: reqwest::Client,
    url: String,
    bearer: Option<SecretString>,
}

impl WebhookSms {
    pub fn new(
        url: &str,
        bearer: Option<SecretString>,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        reqwest::Url::parse(url)
            .map_err(|e| ConfigError::Sms(format!("webhook `url` is not a URL: {e}")))?;
        let client = client(timeout).map_err(|e| ConfigError::Sms(e.to_string()))?;
        Ok(Self {
            client,
            url: url.to_owned(),
            bearer,
        })
    }
}

#[async_trait::async_trait]
impl Transport for WebhookSms {
    async fn send(&self, msg: &OutboxMessage) -> Result<(), SendError> {
        let body = serde_json::json!({ "id": msg.id, "to": msg.to, "body": msg.body_text });
        let mut req = self
            .client
            .post(&self.url)
            .header(IDEMPOTENCY_KEY, idempotency_key(msg))
            .json(&body);
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token.expose_secret());
        }
        classify(req.send().await).await
    }
}
