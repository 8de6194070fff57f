//! Messages waiting in the durable outbox. The store keeps them; the courier
//! drains them. Only delivery data lives here: codes are already rendered in.

use crate::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxChannel {
    Email,
    Sms,
}

impl OutboxChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxChannel::Email => "email",
            OutboxChannel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(OutboxChannel::Email),
            "sms" => Some(OutboxChannel::Sms),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a worker until its lease ends.
    Sending,
    Sent,
    /// Gave up after the configured number of attempts.
    Dead,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(OutboxStatus::Pending),
            "sending" => Some(OutboxStatus::Sending),
            "sent" => Some(OutboxStatus::Sent),
            "dead" => Some(OutboxStatus::Dead),
            _ => None,
        }
    }
}

/// A message to enqueue: what the courier needs to deliver it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewOutboxMessage {
    pub channel: OutboxChannel,
    /// E-mail address or E.164 phone number.
    pub to: String,
    pub subject: Option<String>,
    pub body_text: String,
    pub body_html: Option<String>,
    /// Groups messages for limits and audit (`device_verification`, `notification`, ...).
    pub purpose: String,
    /// Idempotency key: enqueuing the same key twice keeps one message.
    pub dedupe_key: Option<String>,
}

/// A message as stored in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: i64,
    pub channel: OutboxChannel,
    pub to: String,
    pub subject: Option<String>,
    pub body_text: String,
    pub body_html: Option<String>,
    pub purpose: String,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
    pub last_error: Option<String>,
}
