//! PostgreSQL, for several nodes sharing one database.

use crate::migrate::{run_migrations, POSTGRES};
use crate::sql::{db_err, impl_store};
use crate::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// The access write path's connections, one per writer task, handed out without
    /// the ping the shared pool sends first (a round trip per batch). A connection
    /// that died under it fails the batch, which the writer retries on another.
    engine: PgPool,
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
            .connect_with(opts.clone())
            .await
            .map_err(db_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // While the database is away a request waits this long for a connection and
            // is then answered 503: short, so clients are not left hanging.
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(opts)
            .await
            .map_err(db_err)?;
        Ok(Self { pool, engine })
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

    fn engine_pool(&self) -> &PgPool {
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
crate::engine::impl_engine_store!(crate::PgStore, sqlx::Postgres, one_trip = false);
crate::retention::impl_retention!(crate::PgStore);
