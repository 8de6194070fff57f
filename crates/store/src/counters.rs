//! Counters that every node must share: brute-force failure counters and the send
//! history behind code send limits. By default they live in the database (so nodes
//! on one PostgreSQL already share them); with `[redis] url` set they live in Redis,
//! which takes this hot, short-lived traffic off the primary.
//!
//! Both implementations fail closed: when the backend cannot be reached the call
//! returns [`StoreError::Unavailable`] (HTTP 503), never a zero count.

use crate::{Store, StoreError};
use async_trait::async_trait;
use hearth_core::codes::{RetryAfter, SendLimit};
use hearth_core::throttle::Counter;
use hearth_core::Timestamp;
use serde::Deserialize;
use std::sync::Arc;

/// Shared counters, with the time passed in by the caller.
#[async_trait]
pub trait Counters: Send + Sync + 'static {
    /// `database` or `redis`.
    fn backend(&self) -> &'static str;
    /// A cheap round trip, for readiness.
    async fn ping(&self) -> crate::Result<()>;
    /// Counts one failure under `key`; a counter idle for `window_ms` starts again at 1.
    async fn bump_counter(
        &self,
        key: &str,
        now: Timestamp,
        window_ms: i64,
    ) -> crate::Result<Counter>;
    /// The counters as stored, in the order of `keys`, in one round trip (the caller
    /// applies its window with [`Counter::current`]).
    async fn counters(&self, keys: &[String]) -> crate::Result<Vec<Counter>>;
    /// Clears the counters in one round trip.
    async fn clear_counters(&self, keys: &[String]) -> crate::Result<()>;
    async fn counter(&self, key: &str) -> crate::Result<Counter> {
        Ok(self
            .counters(&[key.to_owned()])
            .await?
            .pop()
            .unwrap_or_default())
    }
    async fn clear_counter(&self, key: &str) -> crate::Result<()> {
        self.clear_counters(&[key.to_owned()]).await
    }
    /// Send times under `key` since `since`, oldest first.
    async fn sends_since(&self, key: &str, since: Timestamp) -> crate::Result<Vec<Timestamp>>;
    /// Records one send under each key unless a key has reached `limit`
    /// (`Ok(Err(wait))`, nothing recorded), atomically across nodes.
    async fn reserve_send(
        &self,
        keys: &[String],
        at: Timestamp,
        limit: SendLimit,
    ) -> crate::Result<Result<(), RetryAfter>>;
}

/// `[redis]`: where shared counters live when not in the database.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://HOST:PORT[/DB]`; empty keeps the counters in the database.
    pub url: String,
    /// Put before every key, so several services (or tests) can share one Redis.
    pub key_prefix: String,
    /// Connect and response timeout; past it the request answers 503.
    pub timeout_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            key_prefix: "hearth:".into(),
            timeout_ms: 2_000,
        }
    }
}

/// The counters the configuration asks for: Redis when a URL is set, else the store.
/// Nothing is contacted yet; an unreachable Redis shows on the first request.
pub fn from_config(
    config: &RedisConfig,
    store: Arc<dyn Store>,
) -> crate::Result<Arc<dyn Counters>> {
    if config.url.trim().is_empty() {
        Ok(Arc::new(StoreCounters(store)))
    } else {
        Ok(Arc::new(crate::redis_counters::RedisCounters::new(config)?))
    }
}

/// The default: the counters and send history tables of the store.
pub struct StoreCounters(pub Arc<dyn Store>);

#[async_trait]
impl Counters for StoreCounters {
    fn backend(&self) -> &'static str {
        "database"
    }
    async fn ping(&self) -> crate::Result<()> {
        self.0.ping().await
    }
    async fn bump_counter(
        &self,
        key: &str,
        now: Timestamp,
        window_ms: i64,
    ) -> crate::Result<Counter> {
        self.0.bump_counter(key, now, window_ms).await
    }
    async fn counters(&self, keys: &[String]) -> crate::Result<Vec<Counter>> {
        self.0.counters(keys).await
    }
    async fn clear_counters(&self, keys: &[String]) -> crate::Result<()> {
        self.0.clear_counters(keys).await
    }
    async fn sends_since(&self, key: &str, since: Timestamp) -> crate::Result<Vec<Timestamp>> {
        self.0.sends_since(key, since).await
    }
    async fn reserve_send(
        &self,
        keys: &[String],
        at: Timestamp,
        limit: SendLimit,
    ) -> crate::Result<Result<(), RetryAfter>> {
        self.0.reserve_send(keys, at, limit).await
    }
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        // Every Redis failure fails closed: the caller answers 503 and retries later.
        StoreError::Unavailable(format!("redis: {e}"))
    }
}
