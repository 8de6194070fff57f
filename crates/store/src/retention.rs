//! Data retention: raw IP addresses are kept `ip_days`, then truncated to their
//! network (IPv4 /24, IPv6 /48), enough for the analysts' patterns and no longer
//! one subscriber's address. The store keeps addresses in three places: device
//! sessions (`sessions.ip`), the audit log (`audit.ip` and an `"ip"` inside its
//! detail JSON) and failure-counter keys (`ip:…`, `pair:…`, `distinct:…`), which are
//! removed once idle that long. Engine state and phishing reports hold no raw
//! addresses (hashes and keyed hashes only); code send histories are keyed by
//! account and destination.
//!
//! Each run works through the rows that crossed the cutoff since the last run (a
//! mark per job in `retention_marks`), in pages, so it stays cheap on a big table.
//! Rows are written at the current time, so they reach the cutoff after the mark;
//! data imported with older times is not revisited unless the mark is deleted
//! (`DELETE FROM retention_marks WHERE name = 'ip'`: the next pass covers everything).

use async_trait::async_trait;
use hearth_core::Timestamp;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// `[retention]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days a raw IP address is kept before it is truncated.
    pub ip_days: u32,
    /// How often `hearth serve` runs the job.
    pub interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            ip_days: 30,
            interval_secs: 3_600,
        }
    }
}

impl RetentionConfig {
    /// Rows last written before this time have their addresses truncated.
    pub fn cutoff(&self, now: Timestamp) -> Timestamp {
        now.plus(-i64::from(self.ip_days) * 86_400_000)
    }
}

/// How many rows one run changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub sessions: u64,
    pub audit: u64,
    pub counters: u64,
}

/// The network an address belongs to: IPv4 /24, IPv6 /48. `None` for text that is
/// not an address (left as it is).
pub fn truncate_ip(text: &str) -> Option<String> {
    match text.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(std::net::Ipv4Addr::new(a, b, c, 0).to_string())
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string())
        }
    }
}

/// Truncates every string under an `"ip"` key, at any depth; true when one changed.
pub fn truncate_ips_in_json(value: &mut serde_json::Value) -> bool {
    let mut changed = false;
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "ip" {
                    if let serde_json::Value::String(s) = v {
                        if let Some(t) = truncate_ip(s) {
                            if t != *s {
                                *s = t;
                                changed = true;
                            }
                        }
                    }
                } else {
                    changed |= truncate_ips_in_json(v);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                changed |= truncate_ips_in_json(v);
            }
        }
        _ => {}
    }
    changed
}

#[async_trait]
pub trait Retention: Send + Sync {
    /// Truncates the addresses of rows last written before `before`.
    async fn truncate_ips(&self, before: Timestamp) -> crate::Result<RetentionReport>;
}

pub(crate) const PAGE: i64 = 500;

macro_rules! impl_retention {
    ($store:ty) => {
        mod retention_impl {
            use crate::retention::{truncate_ip, truncate_ips_in_json, Retention, RetentionReport, PAGE};
            use crate::sql::db_err;
            use hearth_core::Timestamp;
            use sqlx::Row;

            const MARK: &str = "ip";

            #[async_trait::async_trait]
            impl Retention for $store {
                async fn truncate_ips(&self, before: Timestamp) -> crate::Result<RetentionReport> {
                    let from: i64 = sqlx::query_scalar("SELECT done_before FROM retention_marks WHERE name = $1")
                        .bind(MARK)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?
                        .unwrap_or(i64::MIN);
                    let mut report = RetentionReport::default();
                    if from >= before.0 {
                        return Ok(report);
                    }

                    // Sessions: the address is rewritten on every use, with last_seen_at.
                    let mut after = String::new();
                    loop {
                        let rows = sqlx::query(
                            "SELECT id, ip FROM sessions WHERE last_seen_at >= $1 AND last_seen_at < $2 AND id > $3 ORDER BY id LIMIT $4",
                        )
                        .bind(from)
                        .bind(before.0)
                        .bind(&after)
                        .bind(PAGE)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                        for r in &rows {
                            let id: String = r.try_get("id").map_err(db_err)?;
                            let ip: String = r.try_get("ip").map_err(db_err)?;
                            if let Some(t) = truncate_ip(&ip).filter(|t| *t != ip) {
                                // Only if the device has not been back since (with a new address).
                                let done = sqlx::query("UPDATE sessions SET ip = $1 WHERE id = $2 AND ip = $3 AND last_seen_at < $4")
                                    .bind(&t)
                                    .bind(&id)
                                    .bind(&ip)
                                    .bind(before.0)
                                    .execute(&self.pool)
                                    .await
                                    .map_err(db_err)?;
                                report.sessions += done.rows_affected();
                            }
                            after = id;
                        }
                        if (rows.len() as i64) < PAGE {
                            break;
                        }
                    }

                    // The audit log: the address column and any "ip" in the detail.
                    let mut after = 0i64;
                    loop {
                        let rows = sqlx::query(
                            "SELECT id, ip, detail FROM audit WHERE at >= $1 AND at < $2 AND id > $3 ORDER BY id LIMIT $4",
                        )
                        .bind(from)
                        .bind(before.0)
                        .bind(after)
                        .bind(PAGE)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                        for r in &rows {
                            let id: i64 = r.try_get("id").map_err(db_err)?;
                            let ip: Option<String> = r.try_get("ip").map_err(db_err)?;
                            let detail: String = r.try_get("detail").map_err(db_err)?;
                            let new_ip = ip.as_deref().and_then(truncate_ip).filter(|t| Some(t) != ip.as_ref());
                            let mut doc: serde_json::Value = serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null);
                            let new_detail = truncate_ips_in_json(&mut doc).then(|| doc.to_string());
                            if new_ip.is_some() || new_detail.is_some() {
                                sqlx::query("UPDATE audit SET ip = $1, detail = $2 WHERE id = $3")
                                    .bind(new_ip.or(ip))
                                    .bind(new_detail.unwrap_or(detail))
                                    .bind(id)
                                    .execute(&self.pool)
                                    .await
                                    .map_err(db_err)?;
                                report.audit += 1;
                            }
                            after = id;
                        }
                        if (rows.len() as i64) < PAGE {
                            break;
                        }
                    }

                    // Failure counters idle this long have expired anyway; their keys name addresses.
                    let gone = sqlx::query("DELETE FROM counters WHERE last_at < $1")
                        .bind(before.0)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    report.counters = gone.rows_affected();

                    sqlx::query(
                        "INSERT INTO retention_marks (name, done_before) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET \
                         done_before = CASE WHEN retention_marks.done_before < excluded.done_before \
                         THEN excluded.done_before ELSE retention_marks.done_before END",
                    )
                    .bind(MARK)
                    .bind(before.0)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(report)
                }
            }
        }
    };
}

pub(crate) use impl_retention;
