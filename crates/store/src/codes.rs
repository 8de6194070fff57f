//! One-time codes and their send history. Attempts are reserved atomically in the
//! database before a guess is checked, so several nodes together never allow more
//! guesses per code than its limit.

use async_trait::async_trait;
use hearth_core::codes::{RetryAfter, SendLimit};
use hearth_core::Timestamp;

/// A stored code: only its keyed hash, never the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRow {
    pub id: String,
    pub account_id: String,
    /// `device_verification`, `sign_in_code`, `password_reset`, …
    pub purpose: String,
    /// The device or account the code is bound to.
    pub subject: String,
    pub hash: Vec<u8>,
    /// `email`, `sms`, or none for codes shown to the owner.
    pub channel: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub attempts: u32,
    pub max_attempts: u32,
    pub used: bool,
}

#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Stores a new code and voids the live ones for the same account, purpose and
    /// subject, in one transaction: a resend replaces the old code.
    async fn issue_code(&self, row: &CodeRow) -> crate::Result<()>;
    /// The newest code for (account, purpose, subject) that a resend has not voided
    /// (it may be used or expired: the caller says why it is refused).
    async fn latest_code(
        &self,
        account: &str,
        purpose: &str,
        subject: &str,
    ) -> crate::Result<Option<CodeRow>>;
    /// Takes one attempt; returns the attempts made including this one, or `None`
    /// when the code is used up, voided or out of attempts.
    async fn reserve_code_attempt(&self, id: &str) -> crate::Result<Option<u32>>;
    /// Marks the code used; false when another request used it first.
    async fn consume_code(&self, id: &str) -> crate::Result<bool>;
    /// Records one send under each key unless a key has reached `limit`
    /// (`Ok(Err(wait))`, nothing recorded). The check and the record are one step
    /// under a lock, so requests racing on one key, on any node, never send past it.
    async fn reserve_send(
        &self,
        keys: &[String],
        at: Timestamp,
        limit: SendLimit,
    ) -> crate::Result<Result<(), RetryAfter>>;
    /// Send times under `key` since `since`, oldest first.
    async fn sends_since(&self, key: &str, since: Timestamp) -> crate::Result<Vec<Timestamp>>;
}

macro_rules! impl_code_store {
    ($store:ty) => {
        mod code_store_impl {
            use crate::codes::{CodeRow, CodeStore};
            use crate::sql::{db_err, flag};
            use crate::StoreError;
            use hearth_core::Timestamp;
            use sqlx::Row;

            const COLS: &str = "id, account_id, purpose, subject, hash, channel, created_at, expires_at, attempts, max_attempts, used";

            #[async_trait::async_trait]
            impl CodeStore for $store {
                async fn issue_code(&self, r: &CodeRow) -> crate::Result<()> {
                    let mut tx = self.pool.begin().await.map_err(db_err)?;
                    sqlx::query("UPDATE codes SET voided = 1 WHERE account_id = $1 AND purpose = $2 AND subject = $3 AND used = 0 AND voided = 0")
                        .bind(&r.account_id)
                        .bind(&r.purpose)
                        .bind(&r.subject)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    sqlx::query(
                        "INSERT INTO codes (id, account_id, purpose, subject, hash, channel, created_at, expires_at, attempts, max_attempts, used, voided) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 0)",
                    )
                    .bind(&r.id)
                    .bind(&r.account_id)
                    .bind(&r.purpose)
                    .bind(&r.subject)
                    .bind(&r.hash)
                    .bind(&r.channel)
                    .bind(r.created_at.0)
                    .bind(r.expires_at.0)
                    .bind(i64::from(r.attempts))
                    .bind(i64::from(r.max_attempts))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    tx.commit().await.map_err(db_err)
                }

                async fn latest_code(&self, account: &str, purpose: &str, subject: &str) -> crate::Result<Option<CodeRow>> {
                    let sql = format!(
                        "SELECT {COLS} FROM codes WHERE account_id = $1 AND purpose = $2 AND subject = $3 AND voided = 0 \
                         ORDER BY created_at DESC LIMIT 1"
                    );
                    let row = sqlx::query(&sql)
                        .bind(account)
                        .bind(purpose)
                        .bind(subject)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    let Some(row) = row else { return Ok(None) };
                    let get_i = |c: &str| -> crate::Result<i64> { row.try_get(c).map_err(|e| StoreError::Corrupt(format!("{c}: {e}"))) };
                    let get_s = |c: &str| -> crate::Result<String> { row.try_get(c).map_err(|e| StoreError::Corrupt(format!("{c}: {e}"))) };
                    Ok(Some(CodeRow {
                        id: get_s("id")?,
                        account_id: get_s("account_id")?,
                        purpose: get_s("purpose")?,
                        subject: get_s("subject")?,
                        hash: row.try_get("hash").map_err(|e| StoreError::Corrupt(format!("hash: {e}")))?,
                        channel: row.try_get("channel").map_err(|e| StoreError::Corrupt(format!("channel: {e}")))?,
                        created_at: Timestamp(get_i("created_at")?),
                        expires_at: Timestamp(get_i("expires_at")?),
                        attempts: u32::try_from(get_i("attempts")?).unwrap_or(u32::MAX),
                        max_attempts: u32::try_from(get_i("max_attempts")?).unwrap_or(0),
                        used: flag(get_i("used")?),
                    }))
                }

                async fn reserve_code_attempt(&self, id: &str) -> crate::Result<Option<u32>> {
                    let row = sqlx::query(
                        "UPDATE codes SET attempts = attempts + 1 \
                         WHERE id = $1 AND used = 0 AND voided = 0 AND attempts < max_attempts RETURNING attempts",
                    )
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    match row {
                        Some(r) => {
                            let n: i64 = r.try_get("attempts").map_err(db_err)?;
                            Ok(Some(u32::try_from(n).unwrap_or(u32::MAX)))
                        }
                        None => Ok(None),
                    }
                }

                async fn consume_code(&self, id: &str) -> crate::Result<bool> {
                    let r = sqlx::query("UPDATE codes SET used = 1 WHERE id = $1 AND used = 0 AND voided = 0")
                        .bind(id)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(r.rows_affected() == 1)
                }

                async fn reserve_send(
                    &self,
                    keys: &[String],
                    at: Timestamp,
                    limit: hearth_core::codes::SendLimit,
                ) -> crate::Result<Result<(), hearth_core::codes::RetryAfter>> {
                    let mut locks: Vec<&String> = keys.iter().collect();
                    locks.sort();
                    locks.dedup();
                    let mut tx = self.pool.begin().await.map_err(db_err)?;
                    // The lock first, so no other reservation lands between the read and
                    // the insert below. PostgreSQL: an advisory lock per key, taken in one
                    // order so two reservations never deadlock. SQLite: the first write,
                    // which takes the database's one write lock. That write drops the
                    // key's history past the longest kept, as Redis trims it.
                    for k in locks {
                        if crate::Store::backend(self) == "postgres" {
                            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                                .bind(k)
                                .execute(&mut *tx)
                                .await
                                .map_err(db_err)?;
                        }
                        sqlx::query("DELETE FROM code_sends WHERE key = $1 AND at < $2")
                            .bind(k)
                            .bind(at.0 - crate::redis_counters::SEND_HISTORY_MS)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    }
                    for k in keys {
                        let rows = sqlx::query("SELECT at FROM code_sends WHERE key = $1 AND at >= $2")
                            .bind(k)
                            .bind(at.0 - hearth_core::time::DAY)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        let history = rows
                            .iter()
                            .map(|r| r.try_get::<i64, _>("at").map(Timestamp).map_err(db_err))
                            .collect::<crate::Result<Vec<_>>>()?;
                        if let Err(wait) = hearth_core::codes::check_send(&history, at, limit) {
                            return Ok(Err(wait));
                        }
                    }
                    for k in keys {
                        sqlx::query("INSERT INTO code_sends (key, at) VALUES ($1, $2)")
                            .bind(k)
                            .bind(at.0)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(Ok(()))
                }

                async fn sends_since(&self, key: &str, since: Timestamp) -> crate::Result<Vec<Timestamp>> {
                    let rows = sqlx::query("SELECT at FROM code_sends WHERE key = $1 AND at >= $2 ORDER BY at")
                        .bind(key)
                        .bind(since.0)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(|r| r.try_get::<i64, _>("at").map(Timestamp).map_err(db_err)).collect()
                }
            }
        }
    };
}

pub(crate) use impl_code_store;
