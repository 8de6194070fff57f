//! The risk engine's per-account state, written many accounts at a time.
//!
//! A batch commits in as few round trips as each database allows: on SQLite one list
//! of statements inside one transaction, on PostgreSQL one statement (its own
//! transaction) per group of a few thousand accounts. Every account whose stored
//! version is still the one its new state was computed from gets the new state and, in
//! the same transaction, the ids of the events that produced it with their decisions.
//! So an event is never applied without its id being recorded, nor recorded without
//! being applied; an account another writer changed first is left untouched and
//! reported back, for the caller to reload and decide again.

use crate::VersionedState;
use async_trait::async_trait;
use hearth_core::Timestamp;

/// One account's new engine state, computed from the stored `expected` version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateWrite {
    pub account: String,
    /// The version the state was computed from; 0 when the account had none.
    pub expected: i64,
    pub state: String,
    /// The events this write applies that carry an id: (event id, decision JSON).
    pub applied: Vec<(String, String)>,
}

/// An event already applied to an account, with the decision it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedEvent {
    pub account: String,
    pub event_id: String,
    pub decision: String,
}

#[async_trait]
pub trait EngineStore: Send + Sync {
    /// The stored states of these accounts; accounts with none are left out.
    async fn engine_states(
        &self,
        accounts: &[String],
    ) -> crate::Result<Vec<(String, VersionedState)>>;
    /// Which of these (account, event id) pairs were already applied.
    async fn applied_events(&self, keys: &[(String, String)]) -> crate::Result<Vec<AppliedEvent>>;
    /// Commits every write whose account is still at its `expected` version, with its
    /// applied event ids, in one transaction. Returns the accounts another writer
    /// changed first: nothing of theirs was written.
    async fn commit_engine_states(
        &self,
        writes: &[StateWrite],
        now: Timestamp,
    ) -> crate::Result<Vec<String>>;
    /// Forgets event ids applied before `before`; returns how many.
    async fn prune_applied_events(&self, before: Timestamp) -> crate::Result<u64>;
}

macro_rules! impl_engine_store {
    ($store:ty, $db:ty, one_trip = $one_trip:expr) => {
        mod engine_store_impl {
            use crate::engine::{AppliedEvent, EngineStore, StateWrite};
            use crate::sql::db_err;
            use crate::{StoreError, VersionedState};
            use hearth_core::Timestamp;
            use sqlx::Row;

            /// Rows per statement: far below both databases' bound-parameter limits.
            const CHUNK: usize = 1000;

            fn get<'r, T>(row: &'r <$db as sqlx::Database>::Row, col: &str) -> crate::Result<T>
            where
                T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
            {
                row.try_get(col).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
            }

            /// The states, the applied ids and the accounts whose write held, as one
            /// list of statements sent at once, inside its own transaction: one
            /// hand-off to the database for the whole batch (SQLite, where every
            /// statement is a trip to the connection's thread). The applied ids go in
            /// only for accounts carrying this commit's token, so only where the
            /// version check held.
            async fn one_trip(pool: &sqlx::Pool<$db>, writes: &[StateWrite], now: Timestamp) -> crate::Result<Vec<String>> {
                let token = crate::engine::commit_token();
                let (updates, inserts): (Vec<&StateWrite>, Vec<&StateWrite>) = writes.iter().partition(|w| w.expected != 0);
                let mut b = sqlx::QueryBuilder::<$db>::new("BEGIN IMMEDIATE; ");
                for chunk in updates.chunks(CHUNK) {
                    b.push("WITH v(acc, expected, new_state) AS (");
                    b.push_values(chunk, |mut row, w| {
                        row.push_bind(&w.account).push_bind(w.expected).push_bind(&w.state);
                    });
                    b.push(") UPDATE engine_state SET version = engine_state.version + 1, state = v.new_state, updated_at = ");
                    b.push_bind(now.0).push(", written_by = ").push_bind(&token);
                    b.push(" FROM v WHERE engine_state.account = v.acc AND engine_state.version = v.expected; ");
                }
                for chunk in inserts.chunks(CHUNK) {
                    b.push("INSERT INTO engine_state (account, version, state, updated_at, written_by) ");
                    b.push_values(chunk, |mut row, w| {
                        row.push_bind(&w.account).push_bind(1_i64).push_bind(&w.state).push_bind(now.0).push_bind(&token);
                    });
                    b.push(" ON CONFLICT (account) DO NOTHING; ");
                }
                let applied = applied_rows(writes.iter());
                for chunk in applied.chunks(CHUNK) {
                    b.push("WITH a(acc, id, decision) AS (");
                    b.push_values(chunk, |mut row, (account, id, decision)| {
                        row.push_bind(*account).push_bind(*id).push_bind(*decision);
                    });
                    b.push(") INSERT INTO applied_events (account, event_id, decision, applied_at) SELECT a.acc, a.id, a.decision, ");
                    b.push_bind(now.0);
                    b.push(" FROM a JOIN engine_state e ON e.account = a.acc AND e.written_by = ").push_bind(&token).push("; ");
                }
                for chunk in writes.chunks(CHUNK) {
                    b.push("SELECT account FROM engine_state WHERE written_by = ").push_bind(&token).push(" AND account IN (");
                    let mut list = b.separated(", ");
                    for w in chunk {
                        list.push_bind(&w.account);
                    }
                    b.push("); ");
                }
                b.push("COMMIT");
                // Unless the list ran to its COMMIT, the transaction may still be open on
                // this connection (an error, or this future dropped midway): then the
                // connection is closed, which rolls back, instead of going back to the
                // pool for someone else's statements to land in that transaction.
                struct CloseUnlessCommitted(Option<sqlx::pool::PoolConnection<$db>>);
                impl Drop for CloseUnlessCommitted {
                    fn drop(&mut self) {
                        if let Some(conn) = self.0.as_mut() {
                            conn.close_on_drop();
                        }
                    }
                }
                let mut guard = CloseUnlessCommitted(Some(pool.acquire().await.map_err(db_err)?));
                let Some(conn) = guard.0.as_mut() else {
                    return Err(StoreError::Corrupt("no connection".into()));
                };
                let rows = match b.build().persistent(false).fetch_all(&mut **conn).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        // A statement failed inside the transaction (an event id applied
                        // before, say): roll it back and keep the connection, with its
                        // warm page cache. Should that fail too, the guard closes it.
                        if sqlx::query("ROLLBACK").execute(&mut **conn).await.is_ok() {
                            drop(guard.0.take());
                        }
                        return Err(db_err(e));
                    }
                };
                drop(guard.0.take());
                let mut won = std::collections::HashSet::with_capacity(rows.len());
                for r in &rows {
                    won.insert(get::<String>(r, "account")?);
                }
                Ok(writes.iter().filter(|w| !won.contains(&w.account)).map(|w| w.account.clone()).collect())
            }

            /// The same commit as one statement per group of writes (PostgreSQL, whose
            /// extended protocol takes a single statement per round trip): data-modifying
            /// CTEs update and insert the states, and the applied ids go in joined to
            /// the rows that were written, all under the statement's own transaction.
            /// A group holds each of its accounts' state and ids together, so groups
            /// need not commit together. Two nodes committing overlapping groups can
            /// meet in a deadlock; it is detected, the batch fails and is retried.
            async fn one_statement_per_group(pool: &sqlx::Pool<$db>, writes: &[StateWrite], now: Timestamp) -> crate::Result<Vec<String>> {
                let mut won: std::collections::HashSet<String> = std::collections::HashSet::with_capacity(writes.len());
                let mut start = 0;
                while start < writes.len() {
                    // Bound parameters stay far below PostgreSQL's 65,535.
                    let mut end = start;
                    let mut params = 0;
                    while end < writes.len() && (end == start || params + 3 + 3 * writes[end].applied.len() <= 30_000) {
                        params += 3 + 3 * writes[end].applied.len();
                        end += 1;
                    }
                    let group = &writes[start..end];
                    start = end;
                    let (updates, inserts): (Vec<&StateWrite>, Vec<&StateWrite>) = group.iter().partition(|w| w.expected != 0);
                    let mut b = sqlx::QueryBuilder::<$db>::new("WITH ");
                    let mut written = Vec::new();
                    if !updates.is_empty() {
                        b.push("v(acc, expected, new_state) AS (");
                        b.push_values(&updates, |mut row, w| {
                            row.push_bind(&w.account).push_bind(w.expected).push_bind(&w.state);
                        });
                        b.push("), upd AS (UPDATE engine_state SET version = engine_state.version + 1, state = v.new_state, updated_at = ");
                        b.push_bind(now.0);
                        b.push(" FROM v WHERE engine_state.account = v.acc AND engine_state.version = v.expected RETURNING engine_state.account), ");
                        written.push("SELECT account FROM upd");
                    }
                    if !inserts.is_empty() {
                        b.push("ins AS (INSERT INTO engine_state (account, version, state, updated_at) ");
                        b.push_values(&inserts, |mut row, w| {
                            row.push_bind(&w.account).push_bind(1_i64).push_bind(&w.state).push_bind(now.0);
                        });
                        b.push(" ON CONFLICT (account) DO NOTHING RETURNING account), ");
                        written.push("SELECT account FROM ins");
                    }
                    b.push("won AS (").push(written.join(" UNION ALL ")).push(")");
                    let applied = applied_rows(group.iter());
                    if !applied.is_empty() {
                        b.push(", a(acc, id, decision) AS (");
                        b.push_values(&applied, |mut row, (account, id, decision)| {
                            row.push_bind(*account).push_bind(*id).push_bind(*decision);
                        });
                        b.push("), app AS (INSERT INTO applied_events (account, event_id, decision, applied_at) SELECT a.acc, a.id, a.decision, ");
                        b.push_bind(now.0);
                        b.push(" FROM a JOIN won ON won.account = a.acc)");
                    }
                    b.push(" SELECT account FROM won");
                    for r in b.build().persistent(false).fetch_all(pool).await.map_err(db_err)? {
                        won.insert(get(&r, "account")?);
                    }
                }
                Ok(writes.iter().filter(|w| !won.contains(&w.account)).map(|w| w.account.clone()).collect())
            }

            /// (account, event id, decision) of every applied id the writes carry.
            fn applied_rows<'w>(writes: impl Iterator<Item = &'w StateWrite>) -> Vec<(&'w str, &'w str, &'w str)> {
                writes
                    .flat_map(|w| w.applied.iter().map(move |(id, d)| (w.account.as_str(), id.as_str(), d.as_str())))
                    .collect()
            }

            #[async_trait::async_trait]
            impl EngineStore for $store {
                async fn engine_states(&self, accounts: &[String]) -> crate::Result<Vec<(String, VersionedState)>> {
                    if accounts.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut b = sqlx::QueryBuilder::<$db>::new("SELECT account, version, state FROM engine_state WHERE account IN (");
                    let mut list = b.separated(", ");
                    for a in accounts {
                        list.push_bind(a.clone());
                    }
                    b.push(")");
                    let rows = b.build().fetch_all(self.engine_pool()).await.map_err(db_err)?;
                    rows.iter()
                        .map(|r| {
                            Ok((get(r, "account")?, VersionedState { version: get(r, "version")?, state: get(r, "state")? }))
                        })
                        .collect()
                }

                async fn applied_events(&self, keys: &[(String, String)]) -> crate::Result<Vec<AppliedEvent>> {
                    if keys.is_empty() {
                        return Ok(Vec::new());
                    }
                    // One primary-key probe per pair (an IN list per column would probe
                    // every account with every id).
                    let mut found = Vec::with_capacity(keys.len());
                    for chunk in keys.chunks(CHUNK) {
                        let mut b = sqlx::QueryBuilder::<$db>::new("WITH k(acc, id) AS (");
                        b.push_values(chunk, |mut row, (account, id)| {
                            row.push_bind(account).push_bind(id);
                        });
                        b.push(") SELECT e.account, e.event_id, e.decision FROM k JOIN applied_events e ON e.account = k.acc AND e.event_id = k.id");
                        for r in b.build().persistent(false).fetch_all(self.engine_pool()).await.map_err(db_err)? {
                            found.push(AppliedEvent { account: get(&r, "account")?, event_id: get(&r, "event_id")?, decision: get(&r, "decision")? });
                        }
                    }
                    Ok(found)
                }

                async fn commit_engine_states(&self, writes: &[StateWrite], now: Timestamp) -> crate::Result<Vec<String>> {
                    if writes.is_empty() {
                        return Ok(Vec::new());
                    }
                    if $one_trip {
                        one_trip(self.engine_pool(), writes, now).await
                    } else {
                        one_statement_per_group(self.engine_pool(), writes, now).await
                    }
                }

                async fn prune_applied_events(&self, before: Timestamp) -> crate::Result<u64> {
                    let r = sqlx::query("DELETE FROM applied_events WHERE applied_at < $1")
                        .bind(before.0)
                        .execute(self.engine_pool())
                        .await
                        .map_err(db_err)?;
                    Ok(r.rows_affected())
                }
            }
        }
    };
}

pub(crate) use impl_engine_store;

/// A token no other commit carries: a random per-process prefix and a counter.
pub(crate) fn commit_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the operating system's random source.
    let prefix = PREFIX.get_or_init(|| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.finish()
    });
    format!("{prefix:016x}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
