//! The SQL both backends share. `$N` placeholders work on SQLite and PostgreSQL
//! alike, so each query is written once; the macro stamps out the `Store`
//! implementation for each pool type. Backend differences are passed in as
//! arguments (the outbox claim, which PostgreSQL does with `SKIP LOCKED`).

use crate::StoreError;

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict("row"),
        sqlx::Error::Database(d) if d.code().is_some_and(|c| unavailable_code(&c)) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Database(e.to_string()),
    }
}

/// Error codes that say the database is away for now (so the caller should answer 503
/// and retry), not that the query was wrong: PostgreSQL's connection exceptions (class
/// 08), too many connections, the server shutting down, restarting or starting up,
/// and SQLite's busy and locked after the busy timeout.
fn unavailable_code(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "53300" | "57P01" | "57P02" | "57P03" | "5" | "6" | "261" | "262" | "517" | "773"
        )
}

pub(crate) fn flag(v: i64) -> bool {
    v != 0
}

pub(crate) const ACCOUNT_COLS: &str = "id, email, password_hash, recovery_phone, locale, role, \
     must_change_password, flagged_reason, flagged_at, created_at, password_changed_at";
pub(crate) const SESSION_COLS: &str =
    "id, account_id, device_id, device_type, name, ip, user_agent, \
     location, created_at, last_seen_at, revoked_at, revoked_reason";
pub(crate) const OUTBOX_COLS: &str =
    "id, channel, recipient, subject, body_text, body_html, purpose, \
     status, attempts, next_attempt_at, created_at, last_error";
pub(crate) const SHARING_COLS: &str =
    "account, sharing, households, devices, evidence, rank, first_flagged_at, updated_at";
pub(crate) const AUDIT_COLS: &str = "id, account_id, at, kind, ip, device_id, detail";

macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:literal, claim_sql = $claim:expr) => {
        mod store_impl {
        use crate::sql::{db_err, ACCOUNT_COLS, AUDIT_COLS, OUTBOX_COLS, SESSION_COLS, SHARING_COLS};
        use crate::*;
        use hearth_core::outbox::{NewOutboxMessage, OutboxMessage};
        use hearth_core::Timestamp;

        mod rows {
            use crate::sql::flag;
            use crate::*;
            use hearth_core::outbox::{OutboxChannel, OutboxMessage, OutboxStatus};
            use hearth_core::Timestamp;
            use sqlx::Row;

            type DbRow = <$db as sqlx::Database>::Row;

            fn get<'r, T>(row: &'r DbRow, col: &str) -> Result<T>
            where
                T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
            {
                row.try_get(col).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
            }

            pub fn account(row: &DbRow) -> Result<Account> {
                Ok(Account {
                    id: get(row, "id")?,
                    email: get(row, "email")?,
                    password_hash: get(row, "password_hash")?,
                    recovery_phone: get(row, "recovery_phone")?,
                    locale: get(row, "locale")?,
                    role: Role::parse(&get::<String>(row, "role")?),
                    must_change_password: flag(get(row, "must_change_password")?),
                    flagged_reason: get(row, "flagged_reason")?,
                    flagged_at: get::<Option<i64>>(row, "flagged_at")?.map(Timestamp),
                    created_at: Timestamp(get(row, "created_at")?),
                    password_changed_at: Timestamp(get(row, "password_changed_at")?),
                })
            }

            pub fn session(row: &DbRow) -> Result<Session> {
                Ok(Session {
                    id: get(row, "id")?,
                    account_id: get(row, "account_id")?,
                    device_id: get(row, "device_id")?,
                    device_type: get(row, "device_type")?,
                    name: get(row, "name")?,
                    ip: get(row, "ip")?,
                    user_agent: get(row, "user_agent")?,
                    location: get(row, "location")?,
                    created_at: Timestamp(get(row, "created_at")?),
                    last_seen_at: Timestamp(get(row, "last_seen_at")?),
                    revoked_at: get::<Option<i64>>(row, "revoked_at")?.map(Timestamp),
                    revoked_reason: get(row, "revoked_reason")?,
                })
            }

            pub fn audit(row: &DbRow) -> Result<AuditEntry> {
                let detail: String = get(row, "detail")?;
                Ok(AuditEntry {
                    id: get(row, "id")?,
                    account_id: get(row, "account_id")?,
                    at: Timestamp(get(row, "at")?),
                    kind: get(row, "kind")?,
                    ip: get(row, "ip")?,
                    device_id: get(row, "device_id")?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
                })
            }

            pub fn outbox(row: &DbRow) -> Result<OutboxMessage> {
                let channel: String = get(row, "channel")?;
                let status: String = get(row, "status")?;
                Ok(OutboxMessage {
                    id: get(row, "id")?,
                    channel: OutboxChannel::parse(&channel)
                        .ok_or_else(|| StoreError::Corrupt(format!("outbox channel {channel:?}")))?,
                    to: get(row, "recipient")?,
                    subject: get(row, "subject")?,
                    body_text: get(row, "body_text")?,
                    body_html: get(row, "body_html")?,
                    purpose: get(row, "purpose")?,
                    status: OutboxStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("outbox status {status:?}")))?,
                    attempts: u32::try_from(get::<i64>(row, "attempts")?).unwrap_or(u32::MAX),
                    next_attempt_at: Timestamp(get(row, "next_attempt_at")?),
                    created_at: Timestamp(get(row, "created_at")?),
                    last_error: get(row, "last_error")?,
                })
            }

            pub fn sharing(row: &DbRow) -> Result<SharingRow> {
                let evidence: String = get(row, "evidence")?;
                Ok(SharingRow {
                    account: get(row, "account")?,
                    sharing: get(row, "sharing")?,
                    households: u32::try_from(get::<i64>(row, "households")?).unwrap_or(0),
                    devices: u32::try_from(get::<i64>(row, "devices")?).unwrap_or(0),
                    evidence: serde_json::from_str(&evidence).unwrap_or(serde_json::Value::Null),
                    rank: get(row, "rank")?,
                    first_flagged_at: Timestamp(get(row, "first_flagged_at")?),
                    updated_at: Timestamp(get(row, "updated_at")?),
                })
            }

            pub fn notification(row: &DbRow) -> Result<NotificationRow> {
                Ok(NotificationRow {
                    id: get(row, "id")?,
                    account_id: get(row, "account_id")?,
                    kind: get(row, "kind")?,
                    at: Timestamp(get(row, "at")?),
                    device_name: get(row, "device_name")?,
                    device_type: get(row, "device_type")?,
                    place: get(row, "place")?,
                    count: u32::try_from(get::<i64>(row, "count")?).unwrap_or(1),
                    delivered: flag(get(row, "delivered")?),
                    read_at: get::<Option<i64>>(row, "read_at")?.map(Timestamp),
                })
            }

            pub fn counter(row: &DbRow) -> Result<hearth_core::throttle::Counter> {
                Ok(hearth_core::throttle::Counter {
                    count: u32::try_from(get::<i64>(row, "count")?).unwrap_or(u32::MAX),
                    first_at: Timestamp(get(row, "first_at")?),
                    last_at: Timestamp(get(row, "last_at")?),
                })
            }

            /// A counter with its key.
            pub fn keyed_counter(row: &DbRow) -> Result<(String, hearth_core::throttle::Counter)> {
                Ok((get(row, "key")?, counter(row)?))
            }
        }

        /// The insert of one audit record, returning its id.
        fn insert_audit(e: &NewAudit) -> sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments<'_>> {
            sqlx::query(
                "INSERT INTO audit (account_id, at, kind, ip, device_id, detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&e.account_id)
            .bind(e.at.0)
            .bind(&e.kind)
            .bind(&e.ip)
            .bind(&e.device_id)
            .bind(&e.detail)
        }

        #[async_trait::async_trait]
        impl crate::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn ping(&self) -> crate::Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
                Ok(())
            }

            async fn create_account(&self, new: &NewAccount) -> crate::Result<Account> {
                let sql = format!(
                    "INSERT INTO accounts ({ACCOUNT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, 0, NULL, NULL, $7, $7) RETURNING {ACCOUNT_COLS}"
                );
                let row = sqlx::query(&sql)
                    .bind(&new.id)
                    .bind(&new.email)
                    .bind(&new.password_hash)
                    .bind(&new.recovery_phone)
                    .bind(&new.locale)
                    .bind(new.role.as_str())
                    .bind(new.created_at.0)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| match db_err(e) {
                        StoreError::Conflict(_) => StoreError::Conflict("account"),
                        other => other,
                    })?;
                rows::account(&row)
            }

            async fn account_by_id(&self, id: &str) -> crate::Result<Option<Account>> {
                let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1");
                let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                row.as_ref().map(rows::account).transpose()
            }

            async fn account_by_email(&self, email: &str) -> crate::Result<Option<Account>> {
                let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE email = $1");
                let row = sqlx::query(&sql).bind(email).fetch_optional(&self.pool).await.map_err(db_err)?;
                row.as_ref().map(rows::account).transpose()
            }

            async fn set_password(&self, id: &str, hash: &str, now: Timestamp, must_change: bool) -> crate::Result<()> {
                let r = sqlx::query(
                    "UPDATE accounts SET password_hash = $2, password_changed_at = $3, must_change_password = $4 WHERE id = $1",
                )
                .bind(id)
                .bind(hash)
                .bind(now.0)
                .bind(i64::from(must_change))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                found(r.rows_affected(), "account")
            }

            async fn rehash_password(&self, id: &str, hash: &str) -> crate::Result<()> {
                let r = sqlx::query("UPDATE accounts SET password_hash = $2 WHERE id = $1")
                    .bind(id)
                    .bind(hash)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                found(r.rows_affected(), "account")
            }

            async fn set_must_change_password(&self, id: &str, must_change: bool) -> crate::Result<()> {
                let r = sqlx::query("UPDATE accounts SET must_change_password = $2 WHERE id = $1")
                    .bind(id)
                    .bind(i64::from(must_change))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                found(r.rows_affected(), "account")
            }

            async fn set_recovery_phone(&self, id: &str, phone: Option<&str>) -> crate::Result<()> {
                let r = sqlx::query("UPDATE accounts SET recovery_phone = $2 WHERE id = $1")
                    .bind(id)
                    .bind(phone)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                found(r.rows_affected(), "account")
            }

            async fn flag_account(&self, id: &str, reason: &str, now: Timestamp) -> crate::Result<()> {
                let r = sqlx::query("UPDATE accounts SET flagged_reason = $2, flagged_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(reason)
                    .bind(now.0)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                found(r.rows_affected(), "account")
            }

            async fn flagged_accounts(&self, limit: u32) -> crate::Result<Vec<Account>> {
                let sql = format!(
                    "SELECT {ACCOUNT_COLS} FROM accounts WHERE flagged_at IS NOT NULL ORDER BY flagged_at DESC LIMIT $1"
                );
                let rows = sqlx::query(&sql).bind(i64::from(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(rows::account).collect()
            }

            async fn count_accounts(&self) -> crate::Result<u64> {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts").fetch_one(&self.pool).await.map_err(db_err)?;
                let n: i64 = sqlx::Row::try_get(&row, "n").map_err(db_err)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn create_session(&self, new: &NewSession) -> crate::Result<Session> {
                let sql = format!(
                    "INSERT INTO sessions (id, account_id, token_hash, device_id, device_type, name, ip, user_agent, location, created_at, last_seen_at, device_key_hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) RETURNING {SESSION_COLS}"
                );
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let row = sqlx::query(&sql)
                    .bind(&new.id)
                    .bind(&new.account_id)
                    .bind(&new.token_hash)
                    .bind(&new.device_id)
                    .bind(&new.device_type)
                    .bind(&new.name)
                    .bind(&new.ip)
                    .bind(&new.user_agent)
                    .bind(&new.location)
                    .bind(new.now.0)
                    .bind(&new.device_key_hash)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if let Some(a) = &new.audit {
                    insert_audit(a).execute(&mut *tx).await.map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)?;
                rows::session(&row)
            }

            async fn session_by_token(&self, token_hash: &[u8]) -> crate::Result<Option<Session>> {
                let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL");
                let row = sqlx::query(&sql).bind(token_hash).fetch_optional(&self.pool).await.map_err(db_err)?;
                row.as_ref().map(rows::session).transpose()
            }

            async fn session(&self, account: &str, id: &str) -> crate::Result<Option<Session>> {
                let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE account_id = $1 AND id = $2");
                let row = sqlx::query(&sql).bind(account).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                row.as_ref().map(rows::session).transpose()
            }

            async fn touch_session(&self, id: &str, ip: &str, now: Timestamp) -> crate::Result<()> {
                sqlx::query("UPDATE sessions SET last_seen_at = $3, ip = $2 WHERE id = $1 AND last_seen_at < $3")
                    .bind(id)
                    .bind(ip)
                    .bind(now.0)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn list_sessions(&self, account: &str) -> crate::Result<Vec<Session>> {
                let sql = format!(
                    "SELECT {SESSION_COLS} FROM sessions WHERE account_id = $1 AND revoked_at IS NULL ORDER BY last_seen_at DESC, id"
                );
                let rows = sqlx::query(&sql).bind(account).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(rows::session).collect()
            }

            async fn rename_session(&self, account: &str, id: &str, name: &str) -> crate::Result<bool> {
                let r = sqlx::query("UPDATE sessions SET name = $3 WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL")
                    .bind(account)
                    .bind(id)
                    .bind(name)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() > 0)
            }

            async fn revoke_session(&self, account: &str, id: &str, reason: &str, now: Timestamp) -> crate::Result<bool> {
                let r = sqlx::query(
                    "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL",
                )
                .bind(account)
                .bind(id)
                .bind(now.0)
                .bind(reason)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(r.rows_affected() > 0)
            }

            async fn revoke_all_sessions(
                &self,
                account: &str,
                except: Option<&str>,
                reason: &str,
                now: Timestamp,
            ) -> crate::Result<u64> {
                let r = sqlx::query(
                    "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 \
                     WHERE account_id = $1 AND revoked_at IS NULL AND ($4 IS NULL OR id <> $4)",
                )
                .bind(account)
                .bind(now.0)
                .bind(reason)
                .bind(except)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(r.rows_affected())
            }

            async fn revoke_idle_sessions(&self, idle_before: Timestamp, now: Timestamp) -> crate::Result<Vec<(String, String)>> {
                let rows = sqlx::query(
                    "UPDATE sessions SET revoked_at = $2, revoked_reason = 'inactive' \
                     WHERE revoked_at IS NULL AND last_seen_at < $1 RETURNING account_id, id",
                )
                .bind(idle_before.0)
                .bind(now.0)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            sqlx::Row::try_get::<String, _>(r, "account_id").map_err(db_err)?,
                            sqlx::Row::try_get::<String, _>(r, "id").map_err(db_err)?,
                        ))
                    })
                    .collect()
            }

            async fn device_known(&self, account: &str, device_id: &str) -> crate::Result<bool> {
                let row = sqlx::query("SELECT 1 AS one FROM sessions WHERE account_id = $1 AND device_id = $2 LIMIT 1")
                    .bind(account)
                    .bind(device_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(row.is_some())
            }

            async fn device_key_known(&self, account: &str, key_hash: &[u8]) -> crate::Result<bool> {
                let row = sqlx::query("SELECT 1 AS one FROM sessions WHERE account_id = $1 AND device_key_hash = $2 LIMIT 1")
                    .bind(account)
                    .bind(key_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(row.is_some())
            }

            async fn bump_counter(&self, key: &str, now: Timestamp, window_ms: i64) -> crate::Result<hearth_core::throttle::Counter> {
                let row = sqlx::query(
                    "INSERT INTO counters (key, count, first_at, last_at) VALUES ($1, 1, $2, $2) \
                     ON CONFLICT (key) DO UPDATE SET \
                       count = CASE WHEN counters.last_at <= $3 THEN 1 ELSE counters.count + 1 END, \
                       first_at = CASE WHEN counters.last_at <= $3 THEN $2 ELSE counters.first_at END, \
                       last_at = $2 \
                     RETURNING count, first_at, last_at",
                )
                .bind(key)
                .bind(now.0)
                .bind(now.0.saturating_sub(window_ms))
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                rows::counter(&row)
            }

            async fn counters(&self, keys: &[String]) -> crate::Result<Vec<hearth_core::throttle::Counter>> {
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                let mut b = sqlx::QueryBuilder::<$db>::new("SELECT key, count, first_at, last_at FROM counters WHERE key IN (");
                let mut list = b.separated(", ");
                for k in keys {
                    list.push_bind(k);
                }
                b.push(")");
                let mut found = std::collections::HashMap::new();
                for r in b.build().fetch_all(&self.pool).await.map_err(db_err)? {
                    let (key, counter) = rows::keyed_counter(&r)?;
                    found.insert(key, counter);
                }
                Ok(keys.iter().map(|k| found.get(k).copied().unwrap_or_default()).collect())
            }

            async fn clear_counters(&self, keys: &[String]) -> crate::Result<()> {
                if keys.is_empty() {
                    return Ok(());
                }
                let mut b = sqlx::QueryBuilder::<$db>::new("DELETE FROM counters WHERE key IN (");
                let mut list = b.separated(", ");
                for k in keys {
                    list.push_bind(k);
                }
                b.push(")");
                b.build().execute(&self.pool).await.map_err(db_err)?;
                Ok(())
            }

            async fn append_audit(&self, e: &NewAudit) -> crate::Result<i64> {
                let row = insert_audit(e).fetch_one(&self.pool).await.map_err(db_err)?;
                sqlx::Row::try_get(&row, "id").map_err(db_err)
            }

            async fn audit_for_account(&self, account: &str, limit: u32) -> crate::Result<Vec<AuditEntry>> {
                self.search_audit(&AuditQuery { account_id: Some(account.to_owned()), limit, ..Default::default() }).await
            }

            async fn search_audit(&self, q: &AuditQuery) -> crate::Result<Vec<AuditEntry>> {
                let mut b = sqlx::QueryBuilder::<$db>::new(format!("SELECT {AUDIT_COLS} FROM audit WHERE 1 = 1"));
                if let Some(a) = &q.account_id {
                    b.push(" AND account_id = ").push_bind(a.clone());
                }
                if let Some(k) = &q.kind {
                    b.push(" AND kind = ").push_bind(k.clone());
                }
                if let Some(ip) = &q.ip {
                    b.push(" AND ip = ").push_bind(ip.clone());
                }
                if let Some(s) = q.since {
                    b.push(" AND at >= ").push_bind(s.0);
                }
                if let Some(id) = q.before_id {
                    b.push(" AND id < ").push_bind(id);
                }
                b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(q.limit.clamp(1, 1000)));
                let rows = b.build().fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(rows::audit).collect()
            }

            async fn engine_state(&self, account: &str) -> crate::Result<Option<VersionedState>> {
                let row = sqlx::query("SELECT version, state FROM engine_state WHERE account = $1")
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|r| {
                    Ok(VersionedState {
                        version: sqlx::Row::try_get(&r, "version").map_err(db_err)?,
                        state: sqlx::Row::try_get(&r, "state").map_err(db_err)?,
                    })
                })
                .transpose()
            }

            async fn put_engine_state(&self, account: &str, expected: i64, state: &str, now: Timestamp) -> crate::Result<bool> {
                let r = if expected == 0 {
                    sqlx::query(
                        "INSERT INTO engine_state (account, version, state, updated_at) VALUES ($1, 1, $2, $3) \
                         ON CONFLICT (account) DO NOTHING",
                    )
                    .bind(account)
                    .bind(state)
                    .bind(now.0)
                    .execute(&self.pool)
                    .await
                } else {
                    sqlx::query(
                        "UPDATE engine_state SET version = version + 1, state = $3, updated_at = $4 \
                         WHERE account = $1 AND version = $2",
                    )
                    .bind(account)
                    .bind(expected)
                    .bind(state)
                    .bind(now.0)
                    .execute(&self.pool)
                    .await
                }
                .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn put_sharing(&self, r: &SharingRow) -> crate::Result<()> {
                sqlx::query(
                    "INSERT INTO sharing_verdicts (account, sharing, households, devices, evidence, rank, first_flagged_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (account) DO UPDATE SET sharing = $2, households = $3, devices = $4, evidence = $5, rank = $6, updated_at = $8",
                )
                .bind(&r.account)
                .bind(&r.sharing)
                .bind(i64::from(r.households))
                .bind(i64::from(r.devices))
                .bind(r.evidence.to_string())
                .bind(r.rank)
                .bind(r.first_flagged_at.0)
                .bind(r.updated_at.0)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn clear_sharing(&self, account: &str) -> crate::Result<()> {
                sqlx::query("DELETE FROM sharing_verdicts WHERE account = $1").bind(account).execute(&self.pool).await.map_err(db_err)?;
                Ok(())
            }

            async fn sharing_queue(&self, limit: u32) -> crate::Result<Vec<SharingRow>> {
                let rows = sqlx::query(&format!("SELECT {SHARING_COLS} FROM sharing_verdicts ORDER BY rank DESC, account LIMIT $1"))
                    .bind(i64::from(limit.clamp(1, 1000)))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(rows::sharing).collect()
            }

            async fn sharing_of(&self, account: &str) -> crate::Result<Option<SharingRow>> {
                let row = sqlx::query(&format!("SELECT {SHARING_COLS} FROM sharing_verdicts WHERE account = $1"))
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(rows::sharing).transpose()
            }

            async fn add_notification(&self, n: &NewNotification) -> crate::Result<i64> {
                let row = sqlx::query(
                    "INSERT INTO notifications (account_id, kind, at, device_name, device_type, place, count, delivered) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(&n.account_id)
                .bind(&n.kind)
                .bind(n.at.0)
                .bind(&n.device_name)
                .bind(&n.device_type)
                .bind(&n.place)
                .bind(i64::from(n.count))
                .bind(i64::from(n.delivered))
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                sqlx::Row::try_get(&row, "id").map_err(db_err)
            }

            async fn notifications(&self, account: &str, since: Timestamp, delivered_only: bool, limit: u32) -> crate::Result<Vec<NotificationRow>> {
                let rows = sqlx::query(
                    "SELECT id, account_id, kind, at, device_name, device_type, place, count, delivered, read_at FROM notifications \
                     WHERE account_id = $1 AND at >= $2 AND (delivered = 1 OR $3 = 0) ORDER BY id DESC LIMIT $4",
                )
                .bind(account)
                .bind(since.0)
                .bind(i64::from(delivered_only))
                .bind(i64::from(limit.clamp(1, 1000)))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(rows::notification).collect()
            }

            async fn mark_notifications_read(&self, account: &str, id: Option<i64>, now: Timestamp) -> crate::Result<u64> {
                let r = sqlx::query(
                    "UPDATE notifications SET read_at = $3 WHERE account_id = $1 AND read_at IS NULL AND delivered = 1 AND ($2 IS NULL OR id = $2)",
                )
                .bind(account)
                .bind(id)
                .bind(now.0)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(r.rows_affected())
            }

            async fn notification_prefs(&self, account: &str) -> crate::Result<Option<NotificationPrefs>> {
                let row = sqlx::query("SELECT account_id, email, sms, off FROM notification_prefs WHERE account_id = $1")
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|r| {
                    let off: String = sqlx::Row::try_get(&r, "off").map_err(db_err)?;
                    Ok(NotificationPrefs {
                        account_id: sqlx::Row::try_get(&r, "account_id").map_err(db_err)?,
                        email: crate::sql::flag(sqlx::Row::try_get(&r, "email").map_err(db_err)?),
                        sms: crate::sql::flag(sqlx::Row::try_get(&r, "sms").map_err(db_err)?),
                        off: off.split(',').filter(|k| !k.is_empty()).map(str::to_owned).collect(),
                    })
                })
                .transpose()
            }

            async fn set_notification_prefs(&self, p: &NotificationPrefs) -> crate::Result<()> {
                sqlx::query(
                    "INSERT INTO notification_prefs (account_id, email, sms, off) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (account_id) DO UPDATE SET email = $2, sms = $3, off = $4",
                )
                .bind(&p.account_id)
                .bind(i64::from(p.email))
                .bind(i64::from(p.sms))
                .bind(p.off.join(","))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn enqueue(&self, m: &NewOutboxMessage, now: Timestamp) -> crate::Result<i64> {
                let row = sqlx::query(
                    "INSERT INTO outbox (channel, recipient, subject, body_text, body_html, purpose, dedupe_key, status, attempts, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8) \
                     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                )
                .bind(m.channel.as_str())
                .bind(&m.to)
                .bind(&m.subject)
                .bind(&m.body_text)
                .bind(&m.body_html)
                .bind(&m.purpose)
                .bind(&m.dedupe_key)
                .bind(now.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                match row {
                    Some(r) => sqlx::Row::try_get(&r, "id").map_err(db_err),
                    None => {
                        // Already enqueued under this key: return the first one.
                        let r = sqlx::query("SELECT id FROM outbox WHERE dedupe_key = $1")
                            .bind(&m.dedupe_key)
                            .fetch_one(&self.pool)
                            .await
                            .map_err(db_err)?;
                        sqlx::Row::try_get(&r, "id").map_err(db_err)
                    }
                }
            }

            async fn claim_outbox(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> crate::Result<Vec<OutboxMessage>> {
                let sql = format!("{} RETURNING {OUTBOX_COLS}", $claim);
                let rows = sqlx::query(&sql)
                    .bind(now.0)
                    .bind(lease_until.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let mut out: Vec<OutboxMessage> = rows.iter().map(rows::outbox).collect::<crate::Result<_>>()?;
                out.sort_by_key(|m| m.id);
                Ok(out)
            }

            async fn outbox_sent(&self, id: i64, now: Timestamp) -> crate::Result<()> {
                // Once sent, the text goes: it may hold a one-time code, which must not
                // sit readable in the database (only its keyed hash is kept).
                sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1, body_text = '', body_html = NULL WHERE id = $1")
                    .bind(id)
                    .bind(now.0)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn outbox_retry(&self, id: i64, attempts: u32, next_attempt_at: Timestamp, error: &str) -> crate::Result<()> {
                sqlx::query("UPDATE outbox SET status = 'pending', attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1")
                    .bind(id)
                    .bind(i64::from(attempts))
                    .bind(next_attempt_at.0)
                    .bind(error)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn outbox_dead(&self, id: i64, attempts: u32, error: &str) -> crate::Result<()> {
                sqlx::query("UPDATE outbox SET status = 'dead', attempts = $2, last_error = $3 WHERE id = $1")
                    .bind(id)
                    .bind(i64::from(attempts))
                    .bind(error)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn outbox_list(&self, limit: u32) -> crate::Result<Vec<OutboxMessage>> {
                let sql = format!("SELECT {OUTBOX_COLS} FROM outbox ORDER BY id DESC LIMIT $1");
                let rows = sqlx::query(&sql).bind(i64::from(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(rows::outbox).collect()
            }

            async fn outbox_backlog(&self) -> crate::Result<u64> {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE status IN ('pending', 'sending')")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                let n: i64 = sqlx::Row::try_get(&row, "n").map_err(db_err)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn outbox_counts(&self) -> crate::Result<Vec<(String, u64)>> {
                let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status ORDER BY status")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        let status: String = sqlx::Row::try_get(r, "status").map_err(db_err)?;
                        let n: i64 = sqlx::Row::try_get(r, "n").map_err(db_err)?;
                        Ok((status, u64::try_from(n).unwrap_or(0)))
                    })
                    .collect()
            }
        }

        fn found(affected: u64, what: &'static str) -> crate::Result<()> {
            if affected == 0 {
                Err(StoreError::NotFound(what))
            } else {
                Ok(())
            }
        }
        }
    };
}

pub(crate) use impl_store;

/// The access write path's connections, kept out of their pool between uses. sqlx
/// tests a connection with a round trip each time it goes back to its pool (to the
/// connection's thread on SQLite, to the server on PostgreSQL): once per batch, and on
/// SQLite, whose write path has one connection, the next batch waited for that trip
/// (BENCHMARKS.md, session 16). A kept connection is detached from the pool, so that
/// dropping it needs no runtime (a test drops a store after its runtime, as a crash
/// would).
pub(crate) struct Lent<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    idle: std::sync::Mutex<Vec<DB::Connection>>,
    /// One permit per connection the pool may open.
    loans: tokio::sync::Semaphore,
    /// False where the pool is shared with everything else (SQLite's `:memory:`, one
    /// connection): connections go back to it after each use.
    keeps: bool,
}

impl<DB: sqlx::Database> std::fmt::Debug for Lent<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lent").field("keeps", &self.keeps).finish()
    }
}

impl<DB: sqlx::Database> Lent<DB> {
    pub(crate) fn new(pool: sqlx::Pool<DB>, keeps: bool) -> Self {
        let max = pool.options().get_max_connections() as usize;
        Self {
            pool,
            idle: std::sync::Mutex::default(),
            loans: tokio::sync::Semaphore::new(max.max(1)),
            keeps,
        }
    }

    /// A connection kept from an earlier use, or one from the pool.
    pub(crate) async fn take(&self) -> crate::Result<Loan<'_, DB>> {
        let permit = self
            .loans
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("the database is closed".into()))?;
        let kept = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match kept {
            Some(conn) => Conn::Own(conn),
            None => {
                let conn = self.pool.acquire().await.map_err(db_err)?;
                if self.keeps {
                    Conn::Own(conn.detach())
                } else {
                    Conn::Pooled(conn)
                }
            }
        };
        Ok(Loan {
            lent: self,
            conn: Some(conn),
            keep: false,
            _permit: permit,
        })
    }

    /// Closes the kept connections and the pool.
    pub(crate) async fn close(&self) {
        self.loans.close();
        let kept = self
            .idle
            .lock()
            .map(|mut idle| std::mem::take(&mut *idle))
            .unwrap_or_default();
        for conn in kept {
            let _ = sqlx::Connection::close(conn).await;
        }
        self.pool.close().await;
    }
}

enum Conn<DB: sqlx::Database> {
    Pooled(sqlx::pool::PoolConnection<DB>),
    Own(DB::Connection),
}

/// A connection taken from [`Lent`]. Kept for the next use only when [`Loan::keep`]
/// says its statements ran to the end; dropped otherwise (an error, or the future
/// holding it dropped midway, maybe inside a transaction), it is closed, which rolls
/// back whatever it left open.
pub(crate) struct Loan<'a, DB: sqlx::Database> {
    lent: &'a Lent<DB>,
    conn: Option<Conn<DB>>,
    keep: bool,
    /// Released after the connection is back in `idle` (fields drop after `drop`).
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl<DB: sqlx::Database> Loan<'_, DB> {
    pub(crate) fn conn(&mut self) -> crate::Result<&mut DB::Connection> {
        match self.conn.as_mut() {
            Some(Conn::Pooled(c)) => Ok(&mut **c),
            Some(Conn::Own(c)) => Ok(c),
            None => Err(StoreError::Corrupt("the connection was given back".into())),
        }
    }

    /// Gives the connection back for the next use.
    pub(crate) fn keep(mut self) {
        self.keep = true;
    }
}

impl<DB: sqlx::Database> Drop for Loan<'_, DB> {
    fn drop(&mut self) {
        match self.conn.take() {
            Some(Conn::Own(conn)) if self.keep => {
                if let Ok(mut idle) = self.lent.idle.lock() {
                    idle.push(conn);
                }
            }
            Some(Conn::Pooled(mut conn)) if !self.keep => conn.close_on_drop(),
            // Back to the pool; or closed as it drops.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::{unavailable_code, Lent};

    /// A SQLite file's pool of one connection, as the write path has.
    async fn one_connection(name: &str) -> (std::path::PathBuf, sqlx::SqlitePool) {
        let dir = std::env::temp_dir().join(format!("hearth-lent-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join("t.db"))
            .create_if_missing(true);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(2))
            .connect_with(opts)
            .await
            .unwrap();
        (dir, pool)
    }

    /// A kept connection is the one the next loan gets (its temporary table is still
    /// there); one dropped without `keep`, inside a transaction, is closed, so the next
    /// loan starts on a new connection with nothing left open.
    #[tokio::test]
    async fn a_kept_connection_is_reused_and_an_unkept_one_closed() {
        let (dir, pool) = one_connection("reuse").await;
        let lent = Lent::new(pool, true);
        let mut c = lent.take().await.unwrap();
        sqlx::query("CREATE TEMP TABLE mine (x)")
            .execute(c.conn().unwrap())
            .await
            .unwrap();
        c.keep();
        let mut c = lent.take().await.unwrap();
        sqlx::query("BEGIN")
            .execute(c.conn().unwrap())
            .await
            .unwrap();
        sqlx::query("INSERT INTO mine VALUES (1)")
            .execute(c.conn().unwrap())
            .await
            .unwrap();
        drop(c);
        let mut c = lent.take().await.unwrap();
        let gone = sqlx::query("SELECT x FROM mine")
            .fetch_all(c.conn().unwrap())
            .await;
        assert!(gone.is_err(), "the unkept connection was reused");
        // And nothing of its transaction holds the database.
        sqlx::query("CREATE TABLE t (x)")
            .execute(c.conn().unwrap())
            .await
            .unwrap();
        c.keep();
        lent.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// No more loans than the pool has connections (a kept connection is detached
    /// from the pool, which would otherwise open another): a second taker waits
    /// until the first loan ends, then gets the connection it kept.
    #[tokio::test]
    async fn a_taker_waits_while_every_connection_is_lent() {
        let (dir, pool) = one_connection("wait").await;
        let lent = Lent::new(pool, true);
        let mut first = lent.take().await.unwrap();
        sqlx::query("CREATE TEMP TABLE mine (x)")
            .execute(first.conn().unwrap())
            .await
            .unwrap();
        let waited = tokio::time::timeout(std::time::Duration::from_millis(300), lent.take()).await;
        assert!(
            waited.is_err(),
            "a second loan while the only connection is lent"
        );
        let second = lent.take();
        first.keep();
        let mut second = second.await.unwrap();
        sqlx::query("SELECT x FROM mine")
            .fetch_all(second.conn().unwrap())
            .await
            .unwrap();
        second.keep();
        lent.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn connection_loss_and_busy_are_unavailable_not_errors() {
        for code in ["08006", "08001", "57P01", "57P03", "53300", "5", "517"] {
            assert!(unavailable_code(code), "{code}");
        }
        for code in ["23505", "42P01", "22001", "19", "2067"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }
}
