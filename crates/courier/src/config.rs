//! Configuration of the courier, as it appears in the server's TOML file:
//!
//! ```toml
//! [courier.email]
//! kind = "smtp"            # or "dev" (the default)
//! host = "smtp.example.org"
//! port = 587
//! security = "starttls"    # "none", "starttls" or "tls"
//! username = "hearth"
//! password = "…"
//! from = "Hearth <no-reply@example.org>"
//!
//! [courier.sms]
//! kind = "twilio"          # or "webhook" (url, bearer) or "dev" (the default)
//! base_url = "https://api.twilio.com"
//! account_sid = "AC…"
//! auth_token = "…"
//! from = "+15550100"
//!
//! [courier.retry]
//! base_ms = 30000
//! factor = 2.0
//! cap_ms = 3600000
//! jitter = 0.25
//! max_attempts = 8
//! ```

use hearth_core::time::{HOUR, SECOND};
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CourierConfig {
    pub email: EmailTransportConfig,
    pub sms: SmsTransportConfig,
    pub retry: RetryPolicy,
    pub worker: WorkerConfig,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EmailTransportConfig {
    Smtp {
        host: String,
        #[serde(default)]
        port: Option<u16>,
        #[serde(default)]
        security: SmtpSecurity,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<SecretString>,
        /// `"Hearth <no-reply@example.org>"` or a bare address.
        from: String,
        #[serde(default = "default_smtp_timeout_ms")]
        timeout_ms: u64,
        /// Name given in EHLO; some relays refuse the default `localhost`.
        #[serde(default)]
        helo_name: Option<String>,
    },
    /// Keep messages in the [`crate::DevMailbox`].
    #[default]
    Dev,
}

fn default_smtp_timeout_ms() -> u64 {
    20_000
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Cleartext: only for a relay on the same host or a test server.
    None,
    /// Upgrade with STARTTLS (port 587 by default); refuses servers that do not offer it.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465 by default).
    Tls,
}

impl SmtpSecurity {
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::None => 25,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SmsTransportConfig {
    /// The Twilio Messages API, or any gateway speaking its shape.
    Twilio {
        #[serde(default = "default_twilio_base")]
        base_url: String,
        account_sid: String,
        auth_token: SecretString,
        /// Sender number (E.164) or sender id.
        from: String,
        #[serde(default = "default_http_timeout_ms")]
        timeout_ms: u64,
    },
    /// POST `{"id":…,"to":…,"body":…}` as JSON to `url`.
    Webhook {
        url: String,
        #[serde(default)]
        bearer: Option<SecretString>,
        #[serde(default = "default_http_timeout_ms")]
        timeout_ms: u64,
    },
    #[default]
    Dev,
}

fn default_twilio_base() -> String {
    "https://api.twilio.com".to_owned()
}

fn default_http_timeout_ms() -> u64 {
    15_000
}

/// Exponential backoff with jitter: attempt `n` (1-based) waits
/// `min(cap, base × factor^(n-1))`, shortened by up to `jitter` of itself at random so
/// that messages failing together do not retry together.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    pub base_ms: i64,
    pub factor: f64,
    pub cap_ms: i64,
    /// Fraction in [0, 1].
    pub jitter: f64,
    /// Attempts (the first included) before a message goes dead.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_ms: 30 * SECOND,
            factor: 2.0,
            cap_ms: HOUR,
            jitter: 0.25,
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// The wait before the next try after `attempts` failed tries, before jitter.
    pub fn backoff_ms(&self, attempts: u32) -> i64 {
        let exp = i32::try_from(attempts.saturating_sub(1)).unwrap_or(i32::MAX);
        let raw = (self.base_ms as f64) * self.factor.powi(exp);
        let cap = self.cap_ms as f64;
        if raw.is_finite() && raw < cap {
            raw as i64
        } else {
            self.cap_ms
        }
    }

    /// [`Self::backoff_ms`] shortened by `unit × jitter` of itself, `unit` in [0, 1).
    pub fn jittered_ms(&self, attempts: u32, unit: f64) -> i64 {
        let full = self.backoff_ms(attempts);
        let cut = (full as f64) * self.jitter * unit.clamp(0.0, 1.0);
        (full - cut as i64).max(1)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let ok = self.base_ms >= 1
            && self.cap_ms >= self.base_ms
            && self.factor >= 1.0
            && self.factor.is_finite()
            && (0.0..=1.0).contains(&self.jitter)
            && self.max_attempts >= 1;
        if ok {
            Ok(())
        } else {
            Err(ConfigError::Retry(format!(
                "need base_ms ≥ 1, cap_ms ≥ base_ms, factor ≥ 1, jitter in [0, 1] and max_attempts ≥ 1; got {self:?}"
            )))
        }
    }
}

/// How the worker polls and leases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Messages claimed (and sent concurrently) per round.
    pub batch: u32,
    /// How long a claim lasts; must exceed `send_timeout_ms` so a live worker never
    /// loses its claim mid-send.
    pub lease_ms: i64,
    /// Upper bound on one delivery; past it the attempt counts as a transient failure.
    pub send_timeout_ms: u64,
    /// Sleep between rounds when the outbox is empty.
    pub poll_ms: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            batch: 16,
            lease_ms: 120 * SECOND,
            send_timeout_ms: 30_000,
            poll_ms: 1_000,
        }
    }
}

impl WorkerConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let timeout = i64::try_from(self.send_timeout_ms).unwrap_or(i64::MAX);
        if self.batch == 0 || self.poll_ms == 0 || self.lease_ms <= timeout.saturating_add(SECOND) {
            return Err(ConfigError::Worker(format!(
                "need batch ≥ 1, poll_ms ≥ 1 and lease_ms > send_timeout_ms + 1000; got {self:?}"
            )));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("courier email: {0}")]
    Email(String),
    #[error("courier sms: {0}")]
    Sms(String),
    #[error("courier retry: {0}")]
    Retry(String),
    #[error("courier worker: {0}")]
    Worker(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn reads_toml_shapes_and_hides_secrets() {
        let cfg: CourierConfig = serde_json::from_value(serde_json::json!({
            "email": {"kind": "smtp", "host": "mx.test", "security": "tls",
                      "username": "u", "password": "hunter2hunter2", "from": "no-reply@mx.test"},
            "sms": {"kind": "twilio", "account_sid": "AC1", "auth_token": "tok-secret", "from": "+15550100"},
            "retry": {"max_attempts": 3}
        }))
        .unwrap();
        let debug = format!("{cfg:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("tok-secret"), "{debug}");
        match &cfg.sms {
            SmsTransportConfig::Twilio {
                base_url,
                auth_token,
                ..
            } => {
                assert_eq!(base_url, "https://api.twilio.com");
                assert_eq!(auth_token.expose_secret(), "tok-secret");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cfg.retry.max_attempts, 3);
        assert_eq!(cfg.retry.base_ms, 30_000);
        let dev: CourierConfig = serde_json::from_str("{}").unwrap();
        assert!(matches!(dev.email, EmailTransportConfig::Dev));
        assert!(matches!(dev.sms, SmsTransportConfig::Dev));
    }

    #[test]
    fn backoff_grows_to_the_cap() {
        let p = RetryPolicy::default();
        let waits: Vec<i64> = (1..=9).map(|n| p.backoff_ms(n)).collect();
        assert_eq!(
            waits,
            vec![
                30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000
            ]
        );
        assert_eq!(p.jittered_ms(1, 0.0), 30_000);
        assert_eq!(p.jittered_ms(1, 1.0), 22_500);
        assert_eq!(p.backoff_ms(10_000), HOUR);
        assert!(p.validate().is_ok());
        assert!(RetryPolicy { factor: 0.5, ..p }.validate().is_err());
        assert!(WorkerConfig::default().validate().is_ok());
        let tight = WorkerConfig {
            lease_ms: 30_000,
            ..WorkerConfig::default()
        };
        assert!(tight.validate().is_err());
    }
}
