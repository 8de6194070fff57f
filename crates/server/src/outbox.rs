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
    let outbox: Arc<dyn Outbox> = Arc::new(StoreOutbox(app.store.clone()));
    Ok(tokio::spawn(courier.run(outbox, stop)))
}
