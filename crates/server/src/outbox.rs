//! The courier drains the store's outbox: this adapts the store to the courier's
//! `Outbox` trait and starts the worker.

use crate::app::App;
use async_trait::async_trait;
use hearth_core::outbox::OutboxMessage;
use hearth_core::Timestamp;
use hearth_courier::{Courier, Outbox, OutboxError};
use hearth_store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::watch;

pub struct StoreOutbox(pub Arc<dyn Store>);

/// The store's outbox, counting what happens to messages for `/metrics`.
struct CountedOutbox {
    app: Arc<App>,
    inner: StoreOutbox,
}

#[async_trait]
impl Outbox for CountedOutbox {
    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, OutboxError> {
        let claimed = self.inner.claim_due(now, lease_until, limit).await?;
        self.app
            .metrics
            .add("hearth_outbox_claimed_total", &[], claimed.len() as u64);
        Ok(claimed)
    }

    async fn mark_sent(&self, id: i64, now: Timestamp) -> Result<(), OutboxError> {
        self.inner.mark_sent(id, now).await?;
        self.app.metrics.inc("hearth_outbox_sent_total", &[]);
        Ok(())
    }

    async fn mark_retry(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), OutboxError> {
        self.inner
            .mark_retry(id, attempts, next_attempt_at, error)
            .await?;
        self.app.metrics.inc("hearth_outbox_retries_total", &[]);
        Ok(())
    }

    async fn mark_dead(&self, id: i64, attempts: u32, error: &str) -> Result<(), OutboxError> {
        self.inner.mark_dead(id, attempts, error).await?;
        self.app
            .metrics
            .inc("hearth_outbox_dead_letters_total", &[]);
        Ok(())
    }
}

fn err(e: StoreError) -> OutboxError {
    OutboxError::Storage(e.to_string())
}

#[async_trait]
impl Outbox for StoreOutbox {
    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, OutboxError> {
        self.0
            .claim_outbox(now, lease_until, limit)
            .await
            .map_err(err)
    }

    async fn mark_sent(&self, id: i64, now: Timestamp) -> Result<(), OutboxError> {
        self.0.outbox_sent(id, now).await.map_err(err)
    }

    async fn mark_retry(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), OutboxError> {
        self.0
            .outbox_retry(id, attempts, next_attempt_at, error)
            .await
            .map_err(err)
    }

    async fn mark_dead(&self, id: i64, attempts: u32, error: &str) -> Result<(), OutboxError> {
        self.0.outbox_dead(id, attempts, error).await.map_err(err)
    }
}

/// Starts the courier on the configured channels; it stops when `stop` says so.
pub fn start(
    app: &Arc<App>,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, hearth_courier::ConfigError> {
    let courier = Courier::from_config(&app.config.courier, app.dev_mailbox.clone())?;
    let outbox: Arc<dyn Outbox> = Arc::new(CountedOutbox {
        app: app.clone(),
        inner: StoreOutbox(app.store.clone()),
    });
    Ok(tokio::spawn(courier.run(outbox, stop)))
}
