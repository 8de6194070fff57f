//! The embedded default: SQLite in WAL mode.

use crate::engine::StateWrite;
use crate::journal::{EngineJournal, JournalCommit, JournaledState};
use crate::migrate::{run_migrations, SQLITE};
use crate::sql::{db_err, impl_store, Lent};
use crate::StoreError;
use hearth_core::Timestamp;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The access write path's own connection (the same pool for `:memory:`). Its
    /// page cache stays valid from one batch to the next because nothing else
    /// writes between them as a rule; through the shared pool each batch landed on
    /// another connection, whose cache SQLite drops on seeing the database changed,
    /// and read every page it touched back from the file.
    engine: Arc<Lent<sqlx::Sqlite>>,
    /// Wakes the checkpoint task after each commit of the write path.
    checkpoint: Arc<Notify>,
    /// The file whose exclusive lock owns the engine state (`<database>.lock`; none
    /// for `:memory:`), and the lock once taken ([`EngineJournal::own_engine_state`]).
    lock_path: Option<std::path::PathBuf>,
    owner: Arc<std::sync::Mutex<Option<std::fs::File>>>,
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
            .pragma("wal_autocheckpoint", "10000")
            // The commit's statement lists, one per combination of padded sizes.
            .statement_cache_capacity(256);
        if memory {
            // Each connection to :memory: is its own database, so keep one.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(engine_opts)
                .await
                .map_err(db_err)?;
            return Ok(Self {
                engine: Arc::new(Lent::new(pool.clone(), false)),
                pool,
                checkpoint: Arc::new(Notify::new()),
                lock_path: None,
                owner: Arc::default(),
            });
        }
        let mut lock_path = engine_opts.get_filename().as_os_str().to_owned();
        lock_path.push(".lock");
        let engine = SqlitePoolOptions::new()
            .max_connections(1)
            // One task uses it, one statement list at a time, and keeps it between
            // them ([`Lent`]); a list that fails is rolled back, or the connection
            // closed (see `run_list`).
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(engine_opts)
            .await
            .map_err(db_err)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            // sqlx pings a pooled connection before every use by default: on SQLite a
            // second trip to the connection's thread for each statement, and nothing
            // to find, as a connection to a local file does not drop.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(db_err)?;
        let checkpoint = Arc::new(Notify::new());
        tokio::spawn(checkpoints(pool.clone(), checkpoint.clone()));
        Ok(Self {
            pool,
            engine: Arc::new(Lent::new(engine, true)),
            checkpoint,
            lock_path: Some(lock_path.into()),
            owner: Arc::default(),
        })
    }

    /// Applies pending migrations; returns the (version, name) of each that ran.
    pub async fn migrate(&self) -> crate::Result<Vec<(i64, &'static str)>> {
        run_migrations!(self.pool, SQLITE, None::<&str>)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn engine(&self) -> &Lent<sqlx::Sqlite> {
        &self.engine
    }

    /// Closes both pools (`hearth migrate` leaves nothing open behind it).
    pub async fn close(&self) {
        self.engine.close().await;
        self.pool.close().await;
    }
}

/// The longest the WAL goes unchecked when the write path is idle (other writes).
const CHECKPOINT_IDLE: Duration = Duration::from_secs(1);

/// Least time between two checkpoints: under load one copies the pages of the batches
/// committed meanwhile, with one pair of `fsync`s instead of a pair per batch (the
/// `fsync`s were most of a checkpoint's cost: BENCHMARKS.md, session 5). Behind the
/// engine journal most of those pages are the journal's last few, appended to by
/// every commit, so a longer spacing copies each of them once for many commits
/// (100 ms against 10 ms: BENCHMARKS.md, session 15).
const CHECKPOINT_SPACING: Duration = Duration::from_millis(100);

/// Copies the WAL back into the database file soon after each commit of the write
/// path (at most every [`CHECKPOINT_SPACING`], at least every [`CHECKPOINT_IDLE`]), on
/// a connection of its own and without waiting on readers or writers (`PASSIVE`),
/// until the pool is closed.
///
/// On the write path's connection a checkpoint used to run inside every thousandth
/// commit, and every access event of that batch waited for it. Here each checkpoint
/// has a few batches' pages to copy while the writer goes on; run every 250 ms
/// instead, each had thousands and access p99 was twice as long (BENCHMARKS.md,
/// session 4). Under sustained load a passive checkpoint seldom finds a moment with
/// no commit landing, so the WAL seldom starts over: it grows to the backstop
/// (`wal_autocheckpoint` on the write path's connection, 40 MiB) and stays there.
async fn checkpoints(pool: SqlitePool, wake: Arc<Notify>) {
    loop {
        let _ = tokio::time::timeout(CHECKPOINT_IDLE, wake.notified()).await;
        let began = tokio::time::Instant::now();
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
        tokio::time::sleep_until(began + CHECKPOINT_SPACING).await;
    }
}

/// Whether a failed list's transaction is over: rolled back now, or already by the
/// `OR ROLLBACK` statement that failed.
fn rolled_back(rollback: Result<sqlx::sqlite::SqliteQueryResult, sqlx::Error>) -> bool {
    match rollback {
        Ok(_) => true,
        Err(e) => e.to_string().contains("no transaction is active"),
    }
}

/// Rows per statement, far below SQLite's bound-parameter limit.
const CHUNK: usize = 1024;

/// A chunk's rows, then `None` up to the next power of two: the statement's text then
/// depends only on that size, so a few texts serve every batch and stay prepared in
/// the connection's cache. Each statement below ignores the padding rows (their
/// account is NULL, which matches no row and is filtered out where rows are inserted).
fn padded<T>(chunk: &[T]) -> impl Iterator<Item = Option<&T>> {
    (0..chunk.len().next_power_of_two()).map(|i| chunk.get(i))
}

/// Inserts (account, two values, `last`) rows into `table` for the accounts this
/// commit's `token` wrote, so only where the version check held.
fn push_for_winners<'a>(
    b: &mut sqlx::QueryBuilder<'a, sqlx::Sqlite>,
    table: &str,
    rows: &[(&'a str, &'a str, &'a str)],
    last: i64,
    token: &'a str,
) {
    for chunk in rows.chunks(CHUNK) {
        b.push("WITH r(acc, x, y) AS (");
        b.push_values(padded(chunk), |mut row, r| {
            row.push_bind(r.map(|r| r.0))
                .push_bind(r.map(|r| r.1))
                .push_bind(r.map(|r| r.2));
        });
        b.push(") INSERT OR ROLLBACK INTO ")
            .push(table)
            .push(" SELECT r.acc, r.x, r.y, ");
        b.push_bind(last);
        b.push(" FROM r JOIN engine_state e ON e.account = r.acc AND e.written_by = ")
            .push_bind(token)
            .push("; ");
    }
}

/// The states, the effects and the accounts whose write did not hold, as one list of
/// statements sent at once, inside its own transaction: one hand-off to the database
/// for the whole batch (SQLite, where every statement is a trip to the connection's
/// thread). The effects go in only for accounts carrying this commit's token, so only
/// where the version check held.
///
/// Every statement is `OR ROLLBACK`: any failure ends the whole transaction, which
/// is what the caller wants anyway, and spares SQLite the statement journal it
/// otherwise keeps to undo one statement alone, a copy of every page each statement
/// touches (14 % of the commit's CPU time, measured with `examples/commit_cost.rs`:
/// BENCHMARKS.md, session 5).
///
/// The list is prepared once per combination of padded sizes ([`padded`]) and kept:
/// prepared afresh for every batch, its parsing was 7 % of the server's CPU time under
/// access load (BENCHMARKS.md, session 6).
pub(crate) async fn commit_engine_states(
    store: &SqliteStore,
    writes: &[StateWrite],
    now: Timestamp,
) -> crate::Result<Vec<String>> {
    let token = crate::engine::unique_token();
    let (updates, inserts): (Vec<&StateWrite>, Vec<&StateWrite>) =
        writes.iter().partition(|w| w.expected != 0);
    let mut b = sqlx::QueryBuilder::<sqlx::Sqlite>::new("BEGIN IMMEDIATE; ");
    for chunk in updates.chunks(CHUNK) {
        b.push("WITH v(acc, expected, new_state) AS (");
        b.push_values(padded(chunk), |mut row, w| {
            row.push_bind(w.map(|w| w.account.as_str()))
                .push_bind(w.map(|w| w.expected))
                .push_bind(w.map(|w| w.state.as_str()));
        });
        b.push(") UPDATE OR ROLLBACK engine_state SET version = engine_state.version + 1, state = v.new_state, updated_at = ");
        b.push_bind(now.0).push(", written_by = ").push_bind(&token);
        b.push(
            " FROM v WHERE engine_state.account = v.acc AND engine_state.version = v.expected; ",
        );
    }
    for chunk in inserts.chunks(CHUNK) {
        b.push("WITH n(acc, new_state) AS (");
        b.push_values(padded(chunk), |mut row, w| {
            row.push_bind(w.map(|w| w.account.as_str()))
                .push_bind(w.map(|w| w.state.as_str()));
        });
        b.push(") INSERT OR ROLLBACK INTO engine_state (account, version, state, updated_at, written_by) SELECT acc, 1, new_state, ");
        b.push_bind(now.0).push(", ").push_bind(&token);
        b.push(" FROM n WHERE acc IS NOT NULL ON CONFLICT (account) DO NOTHING; ");
    }
    let effects = crate::engine::effects_rows(writes.iter());
    push_for_winners(
        &mut b,
        "engine_effects (account, id, effects, due_at)",
        &effects,
        now.0 + crate::engine::EFFECTS_GRACE_MS,
        &token,
    );
    // The accounts whose write did not hold: as a rule none, so the worker thread
    // sends back no row (each one a message, and a wake-up, to this task).
    for chunk in writes.chunks(CHUNK) {
        b.push("WITH w(acc) AS (");
        b.push_values(padded(chunk), |mut row, w| {
            row.push_bind(w.map(|w| w.account.as_str()));
        });
        b.push(") SELECT acc AS account FROM w WHERE acc IS NOT NULL AND NOT EXISTS (SELECT 1 FROM engine_state e WHERE e.account = w.acc AND e.written_by = ")
            .push_bind(&token)
            .push("); ");
    }
    b.push("COMMIT");
    let rows = run_list(store, b).await?;
    rows.iter()
        .map(|r| {
            r.try_get::<String, _>("account")
                .map_err(|e| StoreError::Corrupt(format!("account: {e}")))
        })
        .collect()
}

/// Runs a statement list that opens and commits its own transaction on the write
/// path's connection, then wakes the checkpoint task.
async fn run_list(
    store: &SqliteStore,
    mut b: sqlx::QueryBuilder<'_, sqlx::Sqlite>,
) -> crate::Result<Vec<sqlx::sqlite::SqliteRow>> {
    // Unless the list ran to its COMMIT, the transaction may still be open on this
    // connection (an error, or this future dropped midway): then the loan closes it,
    // which rolls back, instead of keeping it for the next batch's statements to land
    // in that transaction.
    let mut c = store.engine.take().await?;
    let rows = match b.build().persistent(true).fetch_all(c.conn()?).await {
        Ok(rows) => rows,
        Err(e) => {
            // A statement failed (an event id applied before, say): its OR
            // ROLLBACK ended the transaction, or ROLLBACK does now, and the
            // connection is kept with its warm page cache. Should neither hold,
            // the loan closes it.
            if rolled_back(sqlx::query("ROLLBACK").execute(c.conn()?).await) {
                c.keep();
            }
            return Err(db_err(e));
        }
    };
    c.keep();
    store.checkpoint.notify_one();
    Ok(rows)
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
crate::engine::impl_engine_store!(
    crate::SqliteStore,
    sqlx::Sqlite,
    commit = crate::sqlite::commit_engine_states,
    journal = crate::sqlite::journal_of,
    claim_effects_sql = "UPDATE engine_effects SET due_at = $2 WHERE id IN (\
         SELECT id FROM engine_effects WHERE due_at <= $1 ORDER BY due_at LIMIT $3) \
         RETURNING id, account, effects"
);
crate::retention::impl_retention!(crate::SqliteStore);

pub(crate) fn journal_of(store: &SqliteStore) -> Option<&dyn EngineJournal> {
    Some(store)
}

#[async_trait::async_trait]
impl EngineJournal for SqliteStore {
    fn lock_engine_state(&self, exclusive: bool) -> crate::Result<()> {
        let Some(path) = &self.lock_path else {
            return Ok(()); // :memory: is this process's alone
        };
        let mut held = self
            .owner
            .lock()
            .map_err(|_| StoreError::Unavailable("the engine state lock was poisoned".into()))?;
        if held.is_some() {
            return Ok(());
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
        let locked = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match locked {
            Ok(()) => {
                if exclusive {
                    // For whoever looks at the file: which process holds it.
                    let _ = file.set_len(0);
                    let _ = (&file).write_all(format!("{}\n", std::process::id()).as_bytes());
                }
                *held = Some(file);
                Ok(())
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = std::fs::read_to_string(path).unwrap_or_default();
                let who = match pid.trim() {
                    "" => "another hearth process".to_owned(),
                    pid => format!("another hearth process (pid {pid})"),
                };
                Err(StoreError::Unavailable(format!(
                    "{who} holds the engine state of this SQLite database ({} is locked): \
                     one process owns it unless every process sets [access] write_back_ms = 0; \
                     stop the other, or use PostgreSQL for several nodes",
                    path.display()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Unavailable(format!(
                "locking {}: {e}",
                path.display()
            ))),
        }
    }

    async fn journal(&self) -> crate::Result<Vec<(i64, String)>> {
        let mut c = self.engine.take().await?;
        let rows = sqlx::query("SELECT seq, events FROM engine_journal ORDER BY seq")
            .fetch_all(c.conn()?)
            .await
            .map_err(db_err)?;
        c.keep();
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("seq").map_err(db_err)?,
                    r.try_get("events").map_err(db_err)?,
                ))
            })
            .collect()
    }

    async fn journaled_states(&self, accounts: &[String]) -> crate::Result<Vec<JournaledState>> {
        let mut found = Vec::with_capacity(accounts.len());
        let mut c = self.engine.take().await?;
        for chunk in accounts.chunks(CHUNK) {
            let mut b = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "SELECT account, journal_seq, state FROM engine_state WHERE account IN (",
            );
            let mut list = b.separated(", ");
            for a in chunk {
                list.push_bind(a);
            }
            b.push(")");
            for r in b
                .build()
                .persistent(false)
                .fetch_all(c.conn()?)
                .await
                .map_err(db_err)?
            {
                found.push(JournaledState {
                    account: r.try_get("account").map_err(db_err)?,
                    journal_seq: r.try_get("journal_seq").map_err(db_err)?,
                    state: r.try_get("state").map_err(db_err)?,
                });
            }
        }
        c.keep();
        Ok(found)
    }

    /// One statement list, like `commit_engine_states`: the row, the states written
    /// back (inserted or replacing what is stored, with no version check: this process
    /// owns them), the effects, and the rows the stored states now hold deleted.
    async fn commit_journal(&self, c: &JournalCommit, now: Timestamp) -> crate::Result<()> {
        let mut b = sqlx::QueryBuilder::<sqlx::Sqlite>::new("BEGIN IMMEDIATE; ");
        if let Some((seq, events)) = &c.row {
            b.push("INSERT OR ROLLBACK INTO engine_journal (seq, events) VALUES (")
                .push_bind(*seq)
                .push(", ")
                .push_bind(events.as_str())
                .push("); ");
        }
        for chunk in c.write_back.chunks(CHUNK) {
            b.push("WITH v(acc, new_state) AS (");
            b.push_values(padded(chunk), |mut row, w| {
                row.push_bind(w.map(|w| w.0.as_str()))
                    .push_bind(w.map(|w| w.1.as_str()));
            });
            b.push(") INSERT OR ROLLBACK INTO engine_state (account, version, state, updated_at, journal_seq) SELECT acc, 1, new_state, ");
            b.push_bind(now.0).push(", ").push_bind(c.through);
            b.push(" FROM v WHERE acc IS NOT NULL ON CONFLICT (account) DO UPDATE SET version = engine_state.version + 1, state = excluded.state, updated_at = excluded.updated_at, journal_seq = excluded.journal_seq;");
        }
        for chunk in c.effects.chunks(CHUNK) {
            b.push("WITH r(acc, id, body) AS (");
            b.push_values(padded(chunk), |mut row, e| {
                row.push_bind(e.map(|e| e.account.as_str()))
                    .push_bind(e.map(|e| e.id.as_str()))
                    .push_bind(e.map(|e| e.body.as_str()));
            });
            b.push(") INSERT OR ROLLBACK INTO engine_effects (account, id, effects, due_at) SELECT acc, id, body, ");
            b.push_bind(now.0 + crate::engine::EFFECTS_GRACE_MS);
            b.push(" FROM r WHERE acc IS NOT NULL; ");
        }
        if c.forget_below > 0 {
            b.push("DELETE FROM engine_journal WHERE seq < ")
                .push_bind(c.forget_below)
                .push("; ");
        }
        b.push("COMMIT");
        run_list(self, b).await?;
        Ok(())
    }
}
