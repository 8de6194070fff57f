//! Shared counters in Redis. Each operation is one atomic step on the server (a Lua
//! script or a MULTI pipeline), so nodes racing on one key never lose a count:
//! failure counters are hashes `{prefix}c:{key}` (count, first, last) that expire a
//! window after the last failure; send histories are sorted sets `{prefix}s:{key}`
//! scored by send time and trimmed to [`SEND_HISTORY_MS`].

use crate::counters::{Counters, RedisConfig};
use crate::StoreError;
use async_trait::async_trait;
use hearth_core::codes::{RetryAfter, SendLimit};
use hearth_core::throttle::Counter;
use hearth_core::Timestamp;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError, Script};
use std::time::Duration;
use tokio::sync::Mutex;

/// How long send times are kept: longer than any send-limit window (a day).
pub const SEND_HISTORY_MS: i64 = 7 * 24 * 3_600_000;

/// Same arithmetic as the SQL upsert: a counter idle for the window starts again.
const BUMP: &str = r"
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local now = tonumber(ARGV[1])
local count
local first
if last == 0 or last <= now - tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'count', 1, 'first', ARGV[1], 'last', ARGV[1])
  count = 1
  first = now
else
  count = redis.call('HINCRBY', KEYS[1], 'count', 1)
  redis.call('HSET', KEYS[1], 'last', ARGV[1])
  first = tonumber(redis.call('HGET', KEYS[1], 'first'))
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {count, first, now}
";

/// Records one send under every key (a member per send: time plus a sequence number,
/// so equal times stay distinct), unless a key already holds its limit of sends in the
/// last hour or day: then nothing is recorded and the answer is the milliseconds until
/// one more fits, as `hearth_core::codes::check_send` reckons them. ARGV: time,
/// history kept, per hour, per day.
const RESERVE: &str = r"
local at = tonumber(ARGV[1])
local limits = {{3600000, tonumber(ARGV[3])}, {86400000, tonumber(ARGV[4])}}
for i = 2, #KEYS do
  local wait = 0
  for _, l in ipairs(limits) do
    local window, max = l[1], l[2]
    local inside = redis.call('ZRANGEBYSCORE', KEYS[i], '(' .. (at - window), '+inf', 'WITHSCORES')
    local n = #inside / 2
    if max > 0 and n >= max then
      local w = tonumber(inside[2 * (n - max) + 2]) + window - at
      if w > wait then wait = w end
    end
  end
  if wait > 0 then return wait end
end
for i = 2, #KEYS do
  local n = redis.call('INCR', KEYS[1])
  redis.call('ZADD', KEYS[i], at, ARGV[1] .. ':' .. n)
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. (at - tonumber(ARGV[2])))
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
return 0
";

pub struct RedisCounters {
    client: redis::Client,
    conn: Mutex<Option<MultiplexedConnection>>,
    prefix: String,
    timeout: Duration,
    bump: Script,
    reserve: Script,
}

impl RedisCounters {
    /// Checks the URL; connects on first use (and again after a failure).
    pub fn new(config: &RedisConfig) -> crate::Result<Self> {
        let client = redis::Client::open(config.url.trim())
            .map_err(|e| StoreError::BadUrl(format!("[redis] url: {e}")))?;
        Ok(Self {
            client,
            conn: Mutex::new(None),
            prefix: config.key_prefix.clone(),
            timeout: Duration::from_millis(config.timeout_ms.max(1)),
            bump: Script::new(BUMP),
            reserve: Script::new(RESERVE),
        })
    }

    async fn conn(&self) -> crate::Result<MultiplexedConnection> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let cfg = AsyncConnectionConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout);
        let c = self
            .client
            .get_multiplexed_async_connection_with_config(&cfg)
            .await?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Maps a failure to 503 and drops a broken connection so the next call reconnects.
    async fn failed(&self, e: RedisError) -> StoreError {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
        {
            *self.conn.lock().await = None;
        }
        e.into()
    }

    fn counter_key(&self, key: &str) -> String {
        format!("{}c:{key}", self.prefix)
    }

    fn sends_key(&self, key: &str) -> String {
        format!("{}s:{key}", self.prefix)
    }
}

fn counter_from(values: (Option<i64>, Option<i64>, Option<i64>)) -> Counter {
    match values {
        (Some(count), Some(first), Some(last)) if count > 0 => Counter {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            first_at: Timestamp(first),
            last_at: Timestamp(last),
        },
        _ => Counter::default(),
    }
}

#[async_trait]
impl Counters for RedisCounters {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> crate::Result<()> {
        let mut c = self.conn().await?;
        match redis::cmd("PING").query_async::<String>(&mut c).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.failed(e).await),
        }
    }

    async fn bump_counter(
        &self,
        key: &str,
        now: Timestamp,
        window_ms: i64,
    ) -> crate::Result<Counter> {
        let mut c = self.conn().await?;
        let r = self
            .bump
            .key(self.counter_key(key))
            .arg(now.0)
            .arg(window_ms.max(1))
            .invoke_async::<(i64, i64, i64)>(&mut c)
            .await;
        match r {
            Ok((count, first, last)) => Ok(counter_from((Some(count), Some(first), Some(last)))),
            Err(e) => Err(self.failed(e).await),
        }
    }

    async fn counters(&self, keys: &[String]) -> crate::Result<Vec<Counter>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.conn().await?;
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("HMGET")
                .arg(self.counter_key(key))
                .arg("count")
                .arg("first")
                .arg("last");
        }
        match pipe
            .query_async::<Vec<(Option<i64>, Option<i64>, Option<i64>)>>(&mut c)
            .await
        {
            Ok(v) => Ok(v.into_iter().map(counter_from).collect()),
            Err(e) => Err(self.failed(e).await),
        }
    }

    async fn clear_counters(&self, keys: &[String]) -> crate::Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut c = self.conn().await?;
        let mut del = redis::cmd("DEL");
        for key in keys {
            del.arg(self.counter_key(key));
        }
        match del.query_async::<i64>(&mut c).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.failed(e).await),
        }
    }

    async fn reserve_send(
        &self,
        keys: &[String],
        at: Timestamp,
        limit: SendLimit,
    ) -> crate::Result<Result<(), RetryAfter>> {
        if keys.is_empty() {
            return Ok(Ok(()));
        }
        let mut c = self.conn().await?;
        let mut inv = self.reserve.key(format!("{}seq", self.prefix));
        for k in keys {
            inv.key(self.sends_key(k));
        }
        match inv
            .arg(at.0)
            .arg(SEND_HISTORY_MS)
            .arg(limit.per_hour)
            .arg(limit.per_day)
            .invoke_async::<i64>(&mut c)
            .await
        {
            Ok(0) => Ok(Ok(())),
            Ok(wait) => Ok(Err(RetryAfter { ms: wait.max(1) })),
            Err(e) => Err(self.failed(e).await),
        }
    }

    async fn sends_since(&self, key: &str, since: Timestamp) -> crate::Result<Vec<Timestamp>> {
        let mut c = self.conn().await?;
        let r = redis::cmd("ZRANGEBYSCORE")
            .arg(self.sends_key(key))
            .arg(since.0)
            .arg("+inf")
            .arg("WITHSCORES")
            .query_async::<Vec<(String, f64)>>(&mut c)
            .await;
        match r {
            // Millisecond times are far below 2^53, so the float scores are exact.
            Ok(v) => Ok(v.into_iter().map(|(_, s)| Timestamp(s as i64)).collect()),
            Err(e) => Err(self.failed(e).await),
        }
    }
}
