//! PostgreSQL, for several nodes sharing one database.

use crate::engine::StateWrite;
use crate::migrate::{run_migrations, POSTGRES};
use crate::sql::{db_err, impl_store, Lent};
use crate::StoreError;
use hearth_core::Timestamp;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// How long a pooled connection may sit idle before it is tested again on use.
const RETEST_IDLE_AFTER: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// The access write path's connections, one per writer task, handed out without
    /// the ping the shared pool sends first (a round trip per batch) and kept between
    /// batches ([`Lent`]). A connection that died under it fails the batch, which the
    /// writer retries on another.
    engine: Arc<Lent<sqlx::Postgres>>,
}

impl PgStore {
    pub async fn connect(url: &str) -> crate::Result<Self> {
        Self::connect_in_schema(url, None).await
    }

    /// Connects with `search_path` set to `schema` (created if missing), so that test
    /// runs and tenants can share one database without seeing each other.
    pub async fn connect_in_schema(url: &str, schema: Option<&str>) -> crate::Result<Self> {
        let store = Self::connect_unmigrated(url, schema).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating (`hearth migrate` reports what it applies).
    pub async fn connect_unmigrated(url: &str, schema: Option<&str>) -> crate::Result<Self> {
        let mut opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::BadUrl(format!("{url}: {e}")))?;
        if let Some(schema) = schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(StoreError::BadUrl(format!("schema name {schema:?}")));
            }
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts.clone())
                .await
                .map_err(db_err)?;
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .execute(&admin)
                .await
                .map_err(db_err)?;
            admin.close().await;
            opts = opts.options([("search_path", schema)]);
        }
        let engine = PgPoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(3))
            // Planned once per connection, with keyed lookups: see COMMIT_SQL.
            .connect_with(opts.clone().options([
                ("plan_cache_mode", "force_generic_plan"),
                ("enable_seqscan", "off"),
            ]))
            .await
            .map_err(db_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // While the database is away a request waits this long for a connection and
            // is then answered 503: short, so clients are not left hanging.
            .acquire_timeout(Duration::from_secs(3))
            // sqlx tests every connection with a round trip as it goes back to the
            // pool, and by default again before each use: a third trip per statement.
            // Here only a connection that sat idle for a while is tested again; one
            // that fails is closed and another taken.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= RETEST_IDLE_AFTER {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(opts)
            .await
            .map_err(db_err)?;
        Ok(Self {
            pool,
            engine: Arc::new(Lent::new(engine, true)),
        })
    }

    /// Applies pending migrations under an advisory lock, so nodes starting together
    /// migrate once.
    pub async fn migrate(&self) -> crate::Result<Vec<(i64, &'static str)>> {
        run_migrations!(
            self.pool,
            POSTGRES,
            Some("SELECT pg_advisory_xact_lock(4852717)")
        )
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn engine(&self) -> &Lent<sqlx::Postgres> {
        &self.engine
    }

    /// Closes both pools (`hearth migrate` leaves nothing open behind it).
    pub async fn close(&self) {
        self.engine.close().await;
        self.pool.close().await;
    }

    /// Drops a schema made by [`PgStore::connect_in_schema`] (tests clean up with it).
    pub async fn drop_schema(&self, schema: &str) -> crate::Result<()> {
        if !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(StoreError::BadUrl(format!("schema name {schema:?}")));
        }
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

/// The engine-state commit as one statement of fixed text, whatever the batch: the
/// states, the applied ids and the effects travel as arrays (`UNNEST`), so the
/// statement is parsed and planned once per connection, and its eleven parameters stay
/// far from any bind limit. The write path's connections keep one generic plan
/// (`plan_cache_mode = force_generic_plan`) with sequential scans priced out
/// (`enable_seqscan = off`), so it probes `engine_state` by its key whatever the table
/// held when it was planned: left to itself, a generic plan made while the table was
/// small scanned it whole and halved throughput (BENCHMARKS.md, session 4), and
/// planning each batch afresh instead was 30 % of PostgreSQL's CPU time under access
/// load (session 7). Every statement on these connections is a keyed lookup or write.
/// Data-modifying CTEs update the states still at their expected version, insert the
/// new ones, and insert the effects joined to the rows that were
/// written, all under the statement's own transaction. Two nodes committing
/// overlapping batches can meet in a deadlock; it is detected, the batch fails and is
/// retried.
const COMMIT_SQL: &str = "WITH v AS (\
     SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[]) AS v(acc, expected, new_state)), \
   upd AS (UPDATE engine_state e SET version = e.version + 1, state = v.new_state, updated_at = $4 \
     FROM v WHERE v.expected <> 0 AND e.account = v.acc AND e.version = v.expected \
     RETURNING e.account), \
   ins AS (INSERT INTO engine_state (account, version, state, updated_at) \
     SELECT acc, 1, new_state, $4 FROM v WHERE expected = 0 \
     ON CONFLICT (account) DO NOTHING RETURNING account), \
   won AS (SELECT account FROM upd UNION ALL SELECT account FROM ins), \
   f AS (SELECT * FROM UNNEST($5::text[], $6::text[], $7::text[]) AS f(acc, id, body)), \
   eff AS (INSERT INTO engine_effects (id, account, effects, due_at) \
     SELECT f.id, f.acc, f.body, $8 FROM f JOIN won ON won.account = f.acc) \
   SELECT account FROM won";

pub(crate) async fn commit_engine_states(
    store: &PgStore,
    writes: &[StateWrite],
    now: Timestamp,
) -> crate::Result<Vec<String>> {
    let effects = crate::engine::effects_rows(writes.iter());
    let mut c = store.engine().take().await?;
    let won: std::collections::HashSet<String> = sqlx::query_scalar(COMMIT_SQL)
        .bind(
            writes
                .iter()
                .map(|w| w.account.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(writes.iter().map(|w| w.expected).collect::<Vec<_>>())
        .bind(writes.iter().map(|w| w.state.as_str()).collect::<Vec<_>>())
        .bind(now.0)
        .bind(effects.iter().map(|f| f.0).collect::<Vec<_>>())
        .bind(effects.iter().map(|f| f.1).collect::<Vec<_>>())
        .bind(effects.iter().map(|f| f.2).collect::<Vec<_>>())
        .bind(now.0 + crate::engine::EFFECTS_GRACE_MS)
        .fetch_all(c.conn()?)
        .await
        .map_err(db_err)?
        .into_iter()
        .collect();
    c.keep();
    Ok(writes
        .iter()
        .filter(|w| !won.contains(&w.account))
        .map(|w| w.account.clone())
        .collect())
}

impl_store!(
    crate::PgStore,
    sqlx::Postgres,
    "postgres",
    claim_sql = "UPDATE outbox SET status = 'sending', next_attempt_at = $2 WHERE id IN (\
         SELECT id FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)"
);

crate::codes::impl_code_store!(crate::PgStore);
crate::phish::impl_phish_store!(crate::PgStore, sqlx::Postgres);
crate::engine::impl_engine_store!(
    crate::PgStore,
    sqlx::Postgres,
    commit = crate::postgres::commit_engine_states,
    journal = crate::journal::none,
    claim_effects_sql = "UPDATE engine_effects SET due_at = $2 WHERE id IN (\
         SELECT id FROM engine_effects WHERE due_at <= $1 ORDER BY due_at LIMIT $3 \
         FOR UPDATE SKIP LOCKED) RETURNING id, account, effects"
);
crate::retention::impl_retention!(crate::PgStore);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::{PgStore, COMMIT_SQL, RETEST_IDLE_AFTER};

    /// A store in a schema of its own (`hearth_test_<name>_<pid>`) on the PostgreSQL
    /// that `HEARTH_TEST_DATABASE_URL` names, with that URL; none without one.
    async fn store_in_schema(name: &str) -> Option<(String, PgStore, String)> {
        let url = crate::testkit::backend_url().filter(|u| u.starts_with("postgres"))?;
        let schema = format!("hearth_test_{name}_{}", std::process::id());
        let store = PgStore::connect_in_schema(&url, Some(&schema))
            .await
            .unwrap();
        Some((url, store, schema))
    }

    /// The write path's connections probe `engine_state` by its key with their one
    /// generic plan even when it is made on an empty table, where a plan left to
    /// itself scans the table whole (and keeps doing so once it holds millions).
    /// PostgreSQL only: runs when `HEARTH_TEST_DATABASE_URL` names one (as in CI).
    #[tokio::test]
    async fn the_commit_plan_probes_states_by_key_on_an_empty_table() {
        let Some((_, store, schema)) = store_in_schema("plan").await else {
            return;
        };
        let mut loan = store.engine().take().await.unwrap();
        let conn = loan.conn().unwrap();
        sqlx::raw_sql(&format!(
            "PREPARE plan_probe(text[], bigint[], text[], bigint, text[], text[], text[], \
             bigint) AS {COMMIT_SQL}"
        ))
        .execute(&mut *conn)
        .await
        .unwrap();
        let rows = sqlx::raw_sql(
            "EXPLAIN EXECUTE plan_probe('{a,b}', '{1,1}', '{x,y}', 5, '{a}', '{f1}', '{[]}', 6)",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let plan: Vec<String> = rows
            .iter()
            .map(|r| sqlx::Row::get::<String, _>(r, 0))
            .collect();
        let plan = plan.join("\n");
        drop(loan);
        store.drop_schema(&schema).await.unwrap();
        assert!(
            plan.contains("Index Scan using engine_state_pkey on engine_state"),
            "{plan}"
        );
        assert!(!plan.contains("Seq Scan on engine_state"), "{plan}");
    }

    /// Rewriting every state of a table filled to the brim keeps each new version on
    /// its old page (a HOT update: no index write, no bloat elsewhere), because
    /// `engine_state` leaves half of each page free. Packed full, most of these
    /// versions would move to pages of their own. PostgreSQL only, like the test above.
    #[tokio::test]
    async fn a_rewritten_state_stays_on_its_page() {
        use crate::engine::StateWrite;
        let Some((_, store, schema)) = store_in_schema("hot").await else {
            return;
        };
        // About the size of a steady state under bench/wrk/access.lua.
        let state = |v: i64| format!("{{\"v\":{v},\"pad\":\"{}\"}}", "x".repeat(1_700));
        let writes = |expected: i64| {
            (0..64)
                .map(|i| StateWrite {
                    account: format!("acc-{i}"),
                    expected,
                    state: state(expected),
                    effects: None,
                })
                .collect::<Vec<_>>()
        };
        let now = hearth_core::Timestamp(1_700_000_000_000);
        let blocks = || async {
            sqlx::query_scalar::<_, String>(
                "SELECT (ctid::text::point)[0]::bigint::text FROM engine_state ORDER BY account",
            )
            .fetch_all(store.pool())
            .await
            .unwrap()
        };
        assert!(super::commit_engine_states(&store, &writes(0), now)
            .await
            .unwrap()
            .is_empty());
        let before = blocks().await;
        assert!(super::commit_engine_states(&store, &writes(1), now)
            .await
            .unwrap()
            .is_empty());
        let after = blocks().await;
        store.drop_schema(&schema).await.unwrap();
        assert_eq!(before.len(), 64);
        let moved = before.iter().zip(&after).filter(|(b, a)| b != a).count();
        assert_eq!(moved, 0, "pages before {before:?}, after {after:?}");
    }

    /// PostgreSQL only, like the test above.
    #[tokio::test]
    async fn legacy_ids_are_read_until_pruned_on_postgres() {
        let Some((_, store, schema)) = store_in_schema("legacy").await else {
            return;
        };
        sqlx::raw_sql(crate::engine::tests::ROWS)
            .execute(store.pool())
            .await
            .unwrap();
        crate::engine::tests::legacy_ids_are_read_until_pruned(&store).await;
        store.drop_schema(&schema).await.unwrap();
    }

    /// A pooled connection the database dropped while it sat idle is tested before use
    /// and replaced, so the next statement still succeeds. PostgreSQL only.
    #[tokio::test]
    async fn a_connection_dropped_while_idle_is_replaced_before_use() {
        let Some((url, store, schema)) = store_in_schema("retest").await else {
            return;
        };
        let pid = || async {
            sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()")
                .fetch_one(store.pool())
                .await
        };
        let first = pid().await.unwrap();
        let mut outside = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(first)
            .fetch_one(&mut outside)
            .await
            .unwrap();
        assert!(killed);
        tokio::time::sleep(RETEST_IDLE_AFTER + std::time::Duration::from_millis(200)).await;
        let second = pid().await.unwrap();
        assert_ne!(first, second);
        store.drop_schema(&schema).await.unwrap();
    }
}
