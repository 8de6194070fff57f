//! The dev mailbox: delivery into memory, for development and the owner's pages when no
//! real channel is configured.

use crate::transport::{SendError, Transport};
use hearth_core::outbox::OutboxMessage;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// A bounded ring of delivered messages, newest first. Clones share the same ring.
#[derive(Clone, Debug)]
pub struct DevMailbox {
    inner: Arc<Mutex<VecDeque<DevMessage>>>,
    capacity: usize,
}

pub type DevMessage = OutboxMessage;

impl Default for DevMailbox {
    fn default() -> Self {
        Self::new(200)
    }
}

impl DevMailbox {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(VecDeque::new())),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<DevMessage>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, msg: DevMessage) {
        let mut ring = self.lock();
        ring.push_front(msg);
        ring.truncate(self.capacity);
    }

    /// Every kept message, newest first.
    pub fn list(&self) -> Vec<DevMessage> {
        self.lock().iter().cloned().collect()
    }

    /// Messages to one address or number, newest first.
    pub fn to(&self, to: &str) -> Vec<DevMessage> {
        self.lock().iter().filter(|m| m.to == to).cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }
}

#[async_trait::async_trait]
impl Transport for DevMailbox {
    async fn send(&self, msg: &OutboxMessage) -> Result<(), SendError> {
        self.push(msg.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_core::outbox::{OutboxChannel, OutboxStatus};
    use hearth_core::Timestamp;

    fn msg(id: i64) -> OutboxMessage {
        OutboxMessage {
            id,
            channel: OutboxChannel::Email,
            to: format!("u{}@example.org", id % 2),
            subject: None,
            body_text: String::new(),
            body_html: None,
            purpose: "test".into(),
            status: OutboxStatus::Sending,
            attempts: 0,
            next_attempt_at: Timestamp(0),
            created_at: Timestamp(0),
            last_error: None,
        }
    }

    #[tokio::test]
    async fn bounded_newest_first_and_shared() {
        let mailbox = DevMailbox::new(3);
        let handle = mailbox.clone();
        for id in 1..=5 {
            mailbox.send(&msg(id)).await.unwrap();
        }
        let ids: Vec<i64> = handle.list().iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![5, 4, 3]);
        assert_eq!(handle.to("u0@example.org").len(), 1);
    }
}
