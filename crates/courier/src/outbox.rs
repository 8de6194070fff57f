//! The outbox as the courier sees it. The store implements it over SQL.

use hearth_core::outbox::OutboxMessage;
use hearth_core::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox storage failed: {0}")]
    Storage(String),
    #[error("no outbox message with id {0}")]
    NotFound(i64),
}

/// Durable queue of messages. Delivery is at least once: a message claimed by a worker
/// that dies before `mark_*` becomes due again when its lease ends.
#[async_trait::async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Atomically claims up to `limit` pending messages due at `now` (and `sending` ones
    /// whose lease has ended), leasing them until `lease_until`.
    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, OutboxError>;
    /// Delivered: status `sent`, `attempts + 1`, sent at `now`, lease released.
    async fn mark_sent(&self, id: i64, now: Timestamp) -> Result<(), OutboxError>;
    /// Back to `pending` with `attempts` (already counting this try) and `error`, due
    /// again at `next_attempt_at`.
    async fn mark_retry(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), OutboxError>;
    /// Given up: status `dead`, never claimed again.
    async fn mark_dead(&self, id: i64, attempts: u32, error: &str) -> Result<(), OutboxError>;
}
