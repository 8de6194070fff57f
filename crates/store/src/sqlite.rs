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
    /// The access write path's own connection (the same pool for `:memory:`). Its
    /// page cache stays valid from one batch to the next because nothing else
    /// writes between them as a rule; through the shared pool each batch landed on
    /// another connection, whose cache SQLite drops on seeing the database changed,
    /// and read every page it touched back from the file.
    engine: SqlitePool,
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
            .busy_timeout(Duration::from_secs(5));
        // 32 MiB of pages (SQLite's default is 2 MiB) for the write path's connection:
        // the engine's states and recent applied ids stay in memory instead of being
        // read back from the file for every batch.
        let engine_opts = opts
            .clone()
            .pragma("cache_size", "-32768")
            // Its commits leave the checkpoints to a task on another connection (below),
            // off the path every access event waits on; this is only the backstop
            // should that task fall behind (40 MiB of WAL).
            .pragma("wal_autocheckpoint", "10000");
        if memory {
            // Each connection to :memory: is its own database, so keep one.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(engine_opts)
                .await
                .map_err(db_err)?;
            return Ok(Self {
                engine: pool.clone(),
                pool,
            });
        }
        let engine = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // One task uses it, one statement list at a time; a failed list closes it.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(engine_opts)
            .await
            .map_err(db_err)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(db_err)?;
        tokio::spawn(checkpoints(pool.clone()));
        Ok(Self { pool, engine })
    }

    /// Applies pending migrations; returns the (version, name) of each that ran.
    pub async fn migrate(&self) -> crate::Result<Vec<(i64, &'static str)>> {
        run_migrations!(self.pool, SQLITE, None::<&str>)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn engine_pool(&self) -> &SqlitePool {
        &self.engine
    }

    /// Closes both pools (`hearth migrate` leaves nothing open behind it).
    pub async fn close(&self) {
        self.engine.close().await;
        self.pool.close().await;
    }
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies the WAL back into the database file every [`CHECKPOINT_EVERY`], without
/// waiting on readers or writers (`PASSIVE`), until the pool is closed. On the
/// write path's own connection a checkpoint used to run inside every thousandth
/// commit, and every access event of that batch waited for it.
async fn checkpoints(pool: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::debug!(error = %e, "WAL checkpoint failed; the next one retries");
        }
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
