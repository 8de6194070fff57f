//! The worker that drains the outbox: claim due messages under a lease, send each on its
//! channel, then mark it sent, due again later, or dead.

use crate::config::{
    ConfigError, CourierConfig, EmailTransportConfig, RetryPolicy, SmsTransportConfig, WorkerConfig,
};
use crate::dev::DevMailbox;
use crate::outbox::{Outbox, OutboxError};
use crate::sms::{TwilioSms, WebhookSms};
use crate::smtp::SmtpTransport;
use crate::transport::{SendError, Transport};
use hearth_core::outbox::{OutboxChannel, OutboxMessage};
use hearth_core::Timestamp;
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrainStats {
    pub claimed: u32,
    pub sent: u32,
    pub retried: u32,
    pub dead: u32,
}

pub struct Courier {
    email: Arc<dyn Transport>,
    sms: Arc<dyn Transport>,
    retry: RetryPolicy,
    worker: WorkerConfig,
}

/// Milliseconds since the epoch from the system clock (the worker's only clock read).
pub fn wall_clock() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_millis(ms)
}

enum Outcome {
    Sent,
    Retry {
        attempts: u32,
        at: Timestamp,
        error: String,
    },
    Dead {
        attempts: u32,
        error: String,
    },
}

impl Courier {
    pub fn new(
        email: Arc<dyn Transport>,
        sms: Arc<dyn Transport>,
        retry: RetryPolicy,
        worker: WorkerConfig,
    ) -> Result<Self, ConfigError> {
        retry.validate()?;
        worker.validate()?;
        Ok(Self {
            email,
            sms,
            retry,
            worker,
        })
    }

    /// Builds the transports named in `cfg`; anything left at `Dev` delivers into `dev`.
    pub fn from_config(cfg: &CourierConfig, dev: DevMailbox) -> Result<Self, ConfigError> {
        let email: Arc<dyn Transport> = match &cfg.email {
            EmailTransportConfig::Smtp {
                host,
                port,
                security,
                username,
                password,
                from,
                timeout_ms,
                helo_name,
            } => Arc::new(SmtpTransport::new(
                host,
                *port,
                *security,
                username.as_deref(),
                password.as_ref(),
                from,
                Duration::from_millis(*timeout_ms),
                helo_name.as_deref(),
            )?),
            EmailTransportConfig::Dev => Arc::new(dev.clone()),
        };
        let sms: Arc<dyn Transport> = match &cfg.sms {
            SmsTransportConfig::Twilio {
                base_url,
                account_sid,
                auth_token,
                from,
                timeout_ms,
            } => Arc::new(TwilioSms::new(
                base_url,
                account_sid,
                auth_token.clone(),
                from,
                Duration::from_millis(*timeout_ms),
            )?),
            SmsTransportConfig::Webhook {
                url,
                bearer,
                timeout_ms,
            } => Arc::new(WebhookSms::new(
                url,
                bearer.clone(),
                Duration::from_millis(*timeout_ms),
            )?),
            SmsTransportConfig::Dev => Arc::new(dev),
        };
        Self::new(email, sms, cfg.retry, cfg.worker)
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// One round: claims due messages, sends them concurrently (each bounded by the send
    /// timeout, which is shorter than the lease), and records each outcome.
    pub async fn drain_once(
        &self,
        outbox: &dyn Outbox,
        now: Timestamp,
    ) -> Result<DrainStats, OutboxError> {
        let lease_until = now.plus(self.worker.lease_ms);
        let batch = outbox
            .claim_due(now, lease_until, self.worker.batch)
            .await?;
        let mut stats = DrainStats {
            claimed: u32::try_from(batch.len()).unwrap_or(u32::MAX),
            ..DrainStats::default()
        };
        let timeout = Duration::from_millis(self.worker.send_timeout_ms);
        let mut tasks = JoinSet::new();
        for msg in batch {
            let transport = match msg.channel {
                OutboxChannel::Email => Arc::clone(&self.email),
                OutboxChannel::Sms => Arc::clone(&self.sms),
            };
            tasks.spawn(async move {
                let result = match tokio::time::timeout(timeout, transport.send(&msg)).await {
                    Ok(r) => r,
                    Err(_) => Err(SendError::Transient(format!(
                        "no answer within {} ms",
                        timeout.as_millis()
                    ))),
                };
                (msg, result)
            });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            // A transport that panicked leaves its message claimed; the lease hands it
            // back later, so there is nothing to record here.
            let Ok((msg, result)) = joined else {
                continue;
            };
            let outcome = self.outcome(&msg, result, now);
            let recorded = match &outcome {
                Outcome::Sent => outbox.mark_sent(msg.id, now).await,
                Outcome::Retry {
                    attempts,
                    at,
                    error,
                } => outbox.mark_retry(msg.id, *attempts, *at, error).await,
                Outcome::Dead { attempts, error } => {
                    outbox.mark_dead(msg.id, *attempts, error).await
                }
            };
            match (recorded, outcome) {
                (Err(e), _) => {
                    // The lease runs out and the message is sent again: at least once.
                    tracing::warn!(id = msg.id, error = %e, "could not record a delivery outcome");
                    first_error.get_or_insert(e);
                }
                (Ok(()), Outcome::Sent) => stats.sent += 1,
                (
                    Ok(()),
                    Outcome::Retry {
                        attempts,
                        at,
                        error,
                    },
                ) => {
                    tracing::info!(id = msg.id, attempts, next = %at, %error, "delivery will be retried");
                    stats.retried += 1;
                }
                (Ok(()), Outcome::Dead { attempts, error }) => {
                    tracing::warn!(id = msg.id, attempts, %error, "message dead-lettered");
                    stats.dead += 1;
                }
            }
        }
        match first_error {
            Some(e) if stats.sent + stats.retried + stats.dead == 0 => Err(e),
            _ => Ok(stats),
        }
    }

    fn outcome(
        &self,
        msg: &OutboxMessage,
        result: Result<(), SendError>,
        now: Timestamp,
    ) -> Outcome {
        let attempts = msg.attempts.saturating_add(1);
        match result {
            Ok(()) => Outcome::Sent,
            Err(SendError::Permanent(error)) => Outcome::Dead { attempts, error },
            Err(SendError::Transient(error)) if attempts >= self.retry.max_attempts => {
                Outcome::Dead {
                    attempts,
                    error: format!("gave up after {attempts} attempts: {error}"),
                }
            }
            Err(SendError::Transient(error)) => {
                let unit: f64 = rand::thread_rng().gen();
                let wait = self.retry.jittered_ms(attempts, unit);
                Outcome::Retry {
                    attempts,
                    at: now.plus(wait),
                    error,
                }
            }
        }
    }

    /// Drains until `shutdown` turns true (or its sender goes away), sleeping `poll_ms`
    /// between rounds that found less than a full batch.
    pub async fn run(self, outbox: Arc<dyn Outbox>, mut shutdown: watch::Receiver<bool>) {
        let poll = Duration::from_millis(self.worker.poll_ms);
        loop {
            if *shutdown.borrow() {
                break;
            }
            let full = match self.drain_once(outbox.as_ref(), wall_clock()).await {
                Ok(stats) => stats.claimed >= self.worker.batch,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox round failed");
                    false
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }
}
