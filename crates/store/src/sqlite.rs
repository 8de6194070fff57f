//! The embedded default: SQLite in WAL mode.

use crate::migrate::{run_migrations, SQLITE};
use crate::sql::{db_err, impl_store};
use crate::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at a `sqlite:` URL and migrates it.
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let store = Self::connect_unmigrated(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens (creating if needed) the database without migrating it (`hearth migrate`).
    pub async fn connect_unmigrated(url: &str) -> crate::Result<Self> {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::BadUrl(format!("{url}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL survives a killed process; FULL would also survive power loss.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // 32 MiB of pages per connection (SQLite's default is 2 MiB): the engine's
            // states and recent applied ids stay in memory instead of being read back
            // from the file for every batch.
            .pragma("cache_size", "-32768")
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            // Each connection to :memory: is its own database, so keep one.
            .max_connections(if memory { 1 } else { 8 })
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(db_err)?;
        Ok(Self { pool })
    }

    /// Applies pending migrations; returns the (version, name) of each that ran.
    pub async fn migrate(&self) -> crate::Result<Vec<(i64, &'static str)>> {
        run_migrations!(self.pool, SQLITE, None::<&str>)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl_store!(
    crate::SqliteStore,
    sqlx::Sqlite,
    "sqlite",
    claim_sql = "UPDATE outbox SET status = 'sending', next_attempt_at = $2 WHERE id IN (\
         SELECT id FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at, id LIMIT $3)"
);

crate::codes::impl_code_store!(crate::SqliteStore);
crate::phish::impl_phish_store!(crate::SqliteStore, sqlx::Sqlite);
crate::engine::impl_engine_store!(crate::SqliteStore, sqlx::Sqlite, one_trip = true);
crate::retention::impl_retention!(crate::SqliteStore);
