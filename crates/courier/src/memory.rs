//! An in-memory [`Outbox`] with the same semantics as the SQL one: for tests and for
//! running without a database.

use crate::outbox::{Outbox, OutboxError};
use hearth_core::outbox::{NewOutboxMessage, OutboxMessage, OutboxStatus};
use hearth_core::Timestamp;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Clone, Default)]
pub struct MemoryOutbox {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    next_id: i64,
    rows: Vec<Row>,
}

struct Row {
    msg: OutboxMessage,
    dedupe_key: Option<String>,
    /// While `Sending`: when the claim lapses.
    lease_until: Timestamp,
}

impl MemoryOutbox {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent rows: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a message due at `now`; a repeated dedupe key returns the existing id.
    pub fn enqueue(&self, msg: NewOutboxMessage, now: Timestamp) -> i64 {
        let mut inner = self.lock();
        if let Some(key) = &msg.dedupe_key {
            if let Some(row) = inner
                .rows
                .iter()
                .find(|r| r.dedupe_key.as_ref() == Some(key))
            {
                return row.msg.id;
            }
        }
        inner.next_id += 1;
        let id = inner.next_id;
        inner.rows.push(Row {
            msg: OutboxMessage {
                id,
                channel: msg.channel,
                to: msg.to,
                subject: msg.subject,
                body_text: msg.body_text,
                body_html: msg.body_html,
                purpose: msg.purpose,
                status: OutboxStatus::Pending,
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
                last_error: None,
            },
            dedupe_key: msg.dedupe_key,
            lease_until: now,
        });
        id
    }

    pub fn get(&self, id: i64) -> Option<OutboxMessage> {
        self.lock()
            .rows
            .iter()
            .find(|r| r.msg.id == id)
            .map(|r| r.msg.clone())
    }

    pub fn all(&self) -> Vec<OutboxMessage> {
        self.lock().rows.iter().map(|r| r.msg.clone()).collect()
    }

    fn update(&self, id: i64, f: impl FnOnce(&mut OutboxMessage)) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        let row = inner
            .rows
            .iter_mut()
            .find(|r| r.msg.id == id)
            .ok_or(OutboxError::NotFound(id))?;
        f(&mut row.msg);
        Ok(())
    }
}

#[async_trait::async_trait]
impl Outbox for MemoryOutbox {
    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, OutboxError> {
        let mut inner = self.lock();
        let mut claimed = Vec::new();
        for row in inner.rows.iter_mut() {
            if claimed.len() >= limit as usize {
                break;
            }
            let due = match row.msg.status {
                OutboxStatus::Pending => row.msg.next_attempt_at <= now,
                OutboxStatus::Sending => row.lease_until <= now,
                OutboxStatus::Sent | OutboxStatus::Dead => false,
            };
            if due {
                row.msg.status = OutboxStatus::Sending;
                row.lease_until = lease_until;
                claimed.push(row.msg.clone());
            }
        }
        Ok(claimed)
    }

    async fn mark_sent(&self, id: i64, _now: Timestamp) -> Result<(), OutboxError> {
        self.update(id, |m| {
            m.status = OutboxStatus::Sent;
            m.attempts += 1;
            m.last_error = None;
        })
    }

    async fn mark_retry(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), OutboxError> {
        self.update(id, |m| {
            m.status = OutboxStatus::Pending;
            m.attempts = attempts;
            m.next_attempt_at = next_attempt_at;
            m.last_error = Some(error.to_owned());
        })
    }

    async fn mark_dead(&self, id: i64, attempts: u32, error: &str) -> Result<(), OutboxError> {
        self.update(id, |m| {
            m.status = OutboxStatus::Dead;
            m.attempts = attempts;
            m.last_error = Some(error.to_owned());
        })
    }
}
