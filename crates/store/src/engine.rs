//! The risk engine's per-account state, written many accounts at a time.
//!
//! A batch commits in one transaction: every account whose stored version is still
//! the one its new state was computed from gets the new state and, in the same
//! transaction, the ids of the events that produced it with their decisions. So an
//! event is never applied without its id being recorded, nor recorded without being
//! applied; an account another writer changed first is left untouched and reported
//! back, for the caller to reload and decide again.

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
    ($store:ty, $db:ty) => {
        mod engine_store_impl {
            use crate::engine::{AppliedEvent, EngineStore, StateWrite};
            use crate::sql::db_err;
            use crate::{StoreError, VersionedState};
            use hearth_core::Timestamp;
            use sqlx::Row;

            fn get<'r, T>(row: &'r <$db as sqlx::Database>::Row, col: &str) -> crate::Result<T>
            where
                T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
            {
                row.try_get(col).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
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
                    let rows = b.build().fetch_all(&self.pool).await.map_err(db_err)?;
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
                    // Both lists narrow the primary key; the exact pairs are picked after.
                    let mut b = sqlx::QueryBuilder::<$db>::new("SELECT account, event_id, decision FROM applied_events WHERE account IN (");
                    let mut list = b.separated(", ");
                    for (a, _) in keys {
                        list.push_bind(a.clone());
                    }
                    b.push(") AND event_id IN (");
                    let mut list = b.separated(", ");
                    for (_, id) in keys {
                        list.push_bind(id.clone());
                    }
                    b.push(")");
                    let rows = b.build().fetch_all(&self.pool).await.map_err(db_err)?;
                    let mut found = Vec::new();
                    for r in &rows {
                        let e = AppliedEvent { account: get(r, "account")?, event_id: get(r, "event_id")?, decision: get(r, "decision")? };
                        if keys.iter().any(|(a, id)| *a == e.account && *id == e.event_id) {
                            found.push(e);
                        }
                    }
                    Ok(found)
                }

                async fn commit_engine_states(&self, writes: &[StateWrite], now: Timestamp) -> crate::Result<Vec<String>> {
                    // One lock order for every writer (by account), so two nodes
                    // committing overlapping batches wait for each other, never deadlock.
                    let mut order: Vec<&StateWrite> = writes.iter().collect();
                    order.sort_by(|a, b| a.account.cmp(&b.account));
                    let mut lost = Vec::new();
                    let mut tx = self.pool.begin().await.map_err(db_err)?;
                    for w in order {
                        let r = if w.expected == 0 {
                            sqlx::query(
                                "INSERT INTO engine_state (account, version, state, updated_at) VALUES ($1, 1, $2, $3) \
                                 ON CONFLICT (account) DO NOTHING",
                            )
                            .bind(&w.account)
                            .bind(&w.state)
                            .bind(now.0)
                            .execute(&mut *tx)
                            .await
                        } else {
                            sqlx::query(
                                "UPDATE engine_state SET version = version + 1, state = $3, updated_at = $4 \
                                 WHERE account = $1 AND version = $2",
                            )
                            .bind(&w.account)
                            .bind(w.expected)
                            .bind(&w.state)
                            .bind(now.0)
                            .execute(&mut *tx)
                            .await
                        }
                        .map_err(db_err)?;
                        if r.rows_affected() != 1 {
                            lost.push(w.account.clone());
                            continue;
                        }
                        if w.applied.is_empty() {
                            continue;
                        }
                        let mut b = sqlx::QueryBuilder::<$db>::new("INSERT INTO applied_events (account, event_id, decision, applied_at) ");
                        b.push_values(&w.applied, |mut row, (id, decision)| {
                            row.push_bind(&w.account).push_bind(id).push_bind(decision).push_bind(now.0);
                        });
                        b.build().execute(&mut *tx).await.map_err(db_err)?;
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(lost)
                }

                async fn prune_applied_events(&self, before: Timestamp) -> crate::Result<u64> {
                    let r = sqlx::query("DELETE FROM applied_events WHERE applied_at < $1")
                        .bind(before.0)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(r.rows_affected())
                }
            }
        }
    };
}

pub(crate) use impl_engine_store;
