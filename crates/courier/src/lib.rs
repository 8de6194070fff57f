//! The courier: renders messages from templates and delivers the durable outbox.
//!
//! - [`templates`]: code messages and security notices, e-mail and SMS, in four languages.
//! - [`Outbox`]: what the store implements (a leased claim, so delivery is at least once).
//! - [`Transport`]s: SMTP ([`SmtpTransport`]), a Twilio-shaped SMS gateway ([`TwilioSms`]),
//!   a JSON webhook ([`WebhookSms`]) and the in-memory [`DevMailbox`].
//! - [`Courier`]: routes each message to its channel's transport, retries transient
//!   failures with exponential backoff and jitter, and dead-letters the rest.
//! - [`noise`]: which security notices to send, fold into a digest, or hold back.

mod config;
mod dev;
mod memory;
pub mod noise;
mod outbox;
mod sms;
mod smtp;
pub mod templates;
mod transport;
mod worker;

pub use config::{
    ConfigError, CourierConfig, EmailTransportConfig, RetryPolicy, SmsTransportConfig,
    SmtpSecurity, WorkerConfig,
};
pub use dev::{DevMailbox, DevMessage};
pub use memory::MemoryOutbox;
pub use outbox::{Outbox, OutboxError};
pub use sms::{idempotency_key, TwilioSms, WebhookSms, IDEMPOTENCY_KEY};
pub use smtp::{message_id, SmtpTransport};
pub use transport::{SendError, Transport};
pub use worker::{wall_clock, Courier, DrainStats};
