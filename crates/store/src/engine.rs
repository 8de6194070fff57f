//! The risk engine's per-account state, written many accounts at a time.
//!
//! A batch commits in one round trip on either database, on the write path's own
//! connections: on SQLite one list of statements inside one transaction
//! (`sqlite::commit_engine_states`), on PostgreSQL one statement of fixed text taking
//! the batch as arrays (`postgres::commit_engine_states`). Every account whose stored
//! version is still the one its new state was computed from gets the new state and, in
//! the same transaction, what must follow from it. The ids of the events applied are
//! kept inside the state (`hearth_core::engine::Engine::applied`), so an event is
//! never applied without its id being recorded, nor recorded without being applied; an
//! account another writer changed first is left untouched and reported back, for the
//! caller to reload and decide again.
//!
//! `applied_events` holds the ids applied before they were kept with the state: it is
//! read until `prune_applied_events` has aged them all out, and no longer written.

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
    /// What follows from this write and must not be lost with the process, recorded
    /// in the same transaction (`engine_effects`), due [`EFFECTS_GRACE_MS`] after.
    pub effects: Option<PendingEffects>,
}

/// A row of `engine_effects`: a committed write's side effects, not yet carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingEffects {
    /// Unique to this row ([`unique_token`]).
    pub id: String,
    pub account: String,
    /// The effects, as the service serialised them.
    pub body: String,
}

/// How long the node that committed effects has to carry them out and delete them
/// before any node may claim them; also how long a claim holds them.
pub const EFFECTS_GRACE_MS: i64 = 60_000;

/// An event applied to an account, with the decision it was given, from the time
/// applied ids were kept in `applied_events`.
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
    /// Which of these (account, event id) pairs `applied_events` holds.
    async fn applied_events(&self, keys: &[(String, String)]) -> crate::Result<Vec<AppliedEvent>>;
    /// Whether `applied_events` holds any row still.
    async fn any_applied_events(&self) -> crate::Result<bool>;
    /// Commits every write whose account is still at its `expected` version, with its
    /// effects, in one transaction. Returns the accounts another writer changed
    /// first: nothing of theirs was written.
    async fn commit_engine_states(
        &self,
        writes: &[StateWrite],
        now: Timestamp,
    ) -> crate::Result<Vec<String>>;
    /// Forgets rows of `applied_events` applied before `before`; returns how many.
    async fn prune_applied_events(&self, before: Timestamp) -> crate::Result<u64>;
    /// Claims at most `limit` effects whose due time has passed by `now`: each is
    /// due again [`EFFECTS_GRACE_MS`] later, so two nodes do not carry one out at once
    /// and a claimant that dies leaves it to the next.
    async fn claim_effects(&self, now: Timestamp, limit: u32)
        -> crate::Result<Vec<PendingEffects>>;
    /// Deletes effects that were carried out; returns how many.
    async fn forget_effects(&self, ids: &[String]) -> crate::Result<u64>;
    /// Rows of effects not deleted yet: all of them, and those already due by `now`
    /// (left behind by their node, or failing).
    async fn effects_backlog(&self, now: Timestamp) -> crate::Result<(u64, u64)>;
    /// The engine journal, where one process may own every account's state (SQLite);
    /// none where several nodes share the states (PostgreSQL).
    fn engine_journal(&self) -> Option<&dyn crate::EngineJournal>;
}

/// (account, id, body) of every write's effects.
pub(crate) fn effects_rows<'w>(
    writes: impl Iterator<Item = &'w StateWrite>,
) -> Vec<(&'w str, &'w str, &'w str)> {
    writes
        .filter_map(|w| w.effects.as_ref())
        .map(|e| (e.account.as_str(), e.id.as_str(), e.body.as_str()))
        .collect()
}

macro_rules! impl_engine_store {
    ($store:ty, $db:ty, commit = $commit:path, journal = $journal:path, claim_effects_sql = $claim:expr) => {
        mod engine_store_impl {
            use crate::engine::{AppliedEvent, EngineStore, PendingEffects, StateWrite, EFFECTS_GRACE_MS};
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
                    let mut c = self.engine().take().await?;
                    let rows = b.build().fetch_all(c.conn()?).await.map_err(db_err)?;
                    c.keep();
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
                    let mut c = self.engine().take().await?;
                    for chunk in keys.chunks(CHUNK) {
                        let mut b = sqlx::QueryBuilder::<$db>::new("WITH k(acc, id) AS (");
                        b.push_values(chunk, |mut row, (account, id)| {
                            row.push_bind(account).push_bind(id);
                        });
                        b.push(") SELECT e.account, e.event_id, e.decision FROM k JOIN applied_events e ON e.account = k.acc AND e.event_id = k.id");
                        for r in b.build().persistent(false).fetch_all(c.conn()?).await.map_err(db_err)? {
                            found.push(AppliedEvent { account: get(&r, "account")?, event_id: get(&r, "event_id")?, decision: get(&r, "decision")? });
                        }
                    }
                    c.keep();
                    Ok(found)
                }

                async fn any_applied_events(&self) -> crate::Result<bool> {
                    let mut c = self.engine().take().await?;
                    let row = sqlx::query("SELECT EXISTS (SELECT 1 FROM applied_events) AS any")
                        .fetch_one(c.conn()?)
                        .await
                        .map_err(db_err)?;
                    c.keep();
                    get(&row, "any")
                }

                async fn commit_engine_states(&self, writes: &[StateWrite], now: Timestamp) -> crate::Result<Vec<String>> {
                    if writes.is_empty() {
                        return Ok(Vec::new());
                    }
                    $commit(self, writes, now).await
                }

                async fn prune_applied_events(&self, before: Timestamp) -> crate::Result<u64> {
                    let mut c = self.engine().take().await?;
                    let r = sqlx::query("DELETE FROM applied_events WHERE applied_at < $1")
                        .bind(before.0)
                        .execute(c.conn()?)
                        .await
                        .map_err(db_err)?;
                    c.keep();
                    Ok(r.rows_affected())
                }

                async fn claim_effects(&self, now: Timestamp, limit: u32) -> crate::Result<Vec<PendingEffects>> {
                    let rows = sqlx::query($claim)
                        .bind(now.0)
                        .bind(now.0 + EFFECTS_GRACE_MS)
                        .bind(i64::from(limit))
                        .fetch_all(self.pool())
                        .await
                        .map_err(db_err)?;
                    rows.iter()
                        .map(|r| Ok(PendingEffects { id: get(r, "id")?, account: get(r, "account")?, body: get(r, "effects")? }))
                        .collect()
                }

                async fn forget_effects(&self, ids: &[String]) -> crate::Result<u64> {
                    let mut n = 0;
                    for chunk in ids.chunks(CHUNK) {
                        let mut b = sqlx::QueryBuilder::<$db>::new("DELETE FROM engine_effects WHERE id IN (");
                        let mut list = b.separated(", ");
                        for id in chunk {
                            list.push_bind(id);
                        }
                        b.push(")");
                        n += b.build().persistent(false).execute(self.pool()).await.map_err(db_err)?.rows_affected();
                    }
                    Ok(n)
                }

                fn engine_journal(&self) -> Option<&dyn crate::EngineJournal> {
                    $journal(self)
                }

                async fn effects_backlog(&self, now: Timestamp) -> crate::Result<(u64, u64)> {
                    let row = sqlx::query("SELECT COUNT(*) AS n, COUNT(CASE WHEN due_at <= $1 THEN 1 END) AS due FROM engine_effects")
                        .bind(now.0)
                        .fetch_one(self.pool())
                        .await
                        .map_err(db_err)?;
                    let count = |col: &str| -> crate::Result<u64> { Ok(u64::try_from(get::<i64>(&row, col)?).unwrap_or(0)) };
                    Ok((count("n")?, count("due")?))
                }
            }
        }
    };
}

pub(crate) use impl_engine_store;

/// A token nothing else carries (a commit, a row of effects): a random per-process
/// prefix and a counter.
pub fn unique_token() -> String {
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

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::EngineStore;
    use hearth_core::Timestamp;

    /// Rows of `applied_events` left from before ids were kept with the state, made
    /// with `ROWS`, are found by (account, id) until they age out.
    pub(crate) const ROWS: &str =
        "INSERT INTO applied_events (account, event_id, decision, applied_at) \
         VALUES ('a', 'e1', '{\"d\":1}', 5), ('b', 'e1', '{\"d\":2}', 6), ('b', 'e2', '{}', 20)";

    pub(crate) async fn legacy_ids_are_read_until_pruned(s: &dyn EngineStore) {
        assert!(s.any_applied_events().await.unwrap());
        let keys = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(a, i)| ((*a).to_owned(), (*i).to_owned()))
                .collect()
        };
        let mut found: Vec<(String, String, String)> = s
            .applied_events(&keys(&[("a", "e1"), ("b", "e1"), ("a", "e2"), ("c", "e1")]))
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.account, e.event_id, e.decision))
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                ("a".into(), "e1".into(), "{\"d\":1}".into()),
                ("b".into(), "e1".into(), "{\"d\":2}".into())
            ]
        );
        assert_eq!(s.prune_applied_events(Timestamp(10)).await.unwrap(), 2);
        assert!(s.any_applied_events().await.unwrap());
        assert_eq!(s.prune_applied_events(Timestamp(21)).await.unwrap(), 1);
        assert!(!s.any_applied_events().await.unwrap());
        assert!(s
            .applied_events(&keys(&[("b", "e2")]))
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn legacy_ids_are_read_until_pruned_on_sqlite() {
        let dir = std::env::temp_dir().join(format!("hearth-legacy-ids-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("t.db").display());
        let store = crate::SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        assert!(!store.any_applied_events().await.unwrap());
        sqlx::raw_sql(ROWS).execute(store.pool()).await.unwrap();
        legacy_ids_are_read_until_pruned(&store).await;
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
