//! Hearth's storage: one [`Store`] trait in front of two implementations, SQLite
//! (embedded, the default) and PostgreSQL (several nodes). Both run the same SQL
//! text where the dialects agree (`$N` placeholders work on both) and keep their own
//! migrations under `migrations/sqlite` and `migrations/postgres`.

mod codes;
pub mod counters;
mod engine;
mod journal;
mod migrate;
mod model;
mod phish;
mod postgres;
mod redis_counters;
pub mod retention;
mod sql;
mod sqlite;
pub mod testkit;

pub use codes::{CodeRow, CodeStore};
pub use counters::{Counters, RedisConfig};
pub use engine::{
    unique_token, AppliedEvent, EngineStore, PendingEffects, StateWrite, EFFECTS_GRACE_MS,
};
pub use journal::{EngineJournal, JournalCommit, JournaledState};
pub use model::*;
pub use phish::{CampaignRow, CampaignWrite, NewPhishReport, PhishReport, PhishStore};
pub use postgres::PgStore;
pub use redis_counters::RedisCounters;
pub use retention::{Retention, RetentionConfig, RetentionReport};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use hearth_core::outbox::{NewOutboxMessage, OutboxMessage};
use hearth_core::throttle::Counter;
use hearth_core::Timestamp;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    BadUrl(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything Hearth persists. Times are passed in by the caller.
#[async_trait]
pub trait Store: CodeStore + PhishStore + EngineStore + Retention + Send + Sync + 'static {
    /// Which backend this is: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// A cheap round trip, for readiness.
    async fn ping(&self) -> Result<()>;

    // Accounts
    async fn create_account(&self, new: &NewAccount) -> Result<Account>;
    async fn account_by_id(&self, id: &str) -> Result<Option<Account>>;
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>>;
    async fn set_password(
        &self,
        id: &str,
        hash: &str,
        now: Timestamp,
        must_change: bool,
    ) -> Result<()>;
    /// Replaces the hash only (re-hash on sign-in with stronger parameters).
    async fn rehash_password(&self, id: &str, hash: &str) -> Result<()>;
    async fn set_must_change_password(&self, id: &str, must_change: bool) -> Result<()>;
    async fn set_recovery_phone(&self, id: &str, phone: Option<&str>) -> Result<()>;
    async fn flag_account(&self, id: &str, reason: &str, now: Timestamp) -> Result<()>;
    async fn flagged_accounts(&self, limit: u32) -> Result<Vec<Account>>;
    async fn count_accounts(&self) -> Result<u64>;

    // Device sessions
    async fn create_session(&self, new: &NewSession) -> Result<Session>;
    async fn session_by_token(&self, token_hash: &[u8]) -> Result<Option<Session>>;
    async fn session(&self, account: &str, id: &str) -> Result<Option<Session>>;
    async fn touch_session(&self, id: &str, ip: &str, now: Timestamp) -> Result<()>;
    /// Active (not signed-out) sessions of an account, most recently seen first.
    async fn list_sessions(&self, account: &str) -> Result<Vec<Session>>;
    async fn rename_session(&self, account: &str, id: &str, name: &str) -> Result<bool>;
    async fn revoke_session(
        &self,
        account: &str,
        id: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool>;
    /// Signs out every active session of the account but `except`; returns how many.
    async fn revoke_all_sessions(
        &self,
        account: &str,
        except: Option<&str>,
        reason: &str,
        now: Timestamp,
    ) -> Result<u64>;
    /// Signs out sessions not seen since `idle_before`; returns (account, session) pairs.
    async fn revoke_idle_sessions(
        &self,
        idle_before: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<(String, String)>>;
    /// Whether this device id ever held a session on the account (signed out or not).
    async fn device_known(&self, account: &str, device_id: &str) -> Result<bool>;
    /// Whether a session of the account (signed out or not) was given this device key.
    async fn device_key_known(&self, account: &str, key_hash: &[u8]) -> Result<bool>;

    // Failure counters (brute force); shared by every node through the database.
    async fn bump_counter(&self, key: &str, now: Timestamp, window_ms: i64) -> Result<Counter>;
    /// Several counters in one round trip, in the order of `keys`.
    async fn counters(&self, keys: &[String]) -> Result<Vec<Counter>>;
    /// Clears several counters in one round trip.
    async fn clear_counters(&self, keys: &[String]) -> Result<()>;
    async fn counter(&self, key: &str) -> Result<Counter> {
        Ok(self
            .counters(&[key.to_owned()])
            .await?
            .pop()
            .unwrap_or_default())
    }
    async fn clear_counter(&self, key: &str) -> Result<()> {
        self.clear_counters(&[key.to_owned()]).await
    }

    // Audit log: append-only.
    async fn append_audit(&self, entry: &NewAudit) -> Result<i64>;
    async fn audit_for_account(&self, account: &str, limit: u32) -> Result<Vec<AuditEntry>>;
    async fn search_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;

    // Engine state per account, with optimistic concurrency.
    async fn engine_state(&self, account: &str) -> Result<Option<VersionedState>>;
    /// Writes `state` if the stored version is still `expected` (0 = absent).
    /// Returns false when another writer got there first.
    async fn put_engine_state(
        &self,
        account: &str,
        expected: i64,
        state: &str,
        now: Timestamp,
    ) -> Result<bool>;

    // The analysts' sharing queue.
    /// Records (or refreshes) a shared/resold verdict; keeps the first time it was flagged.
    async fn put_sharing(&self, row: &SharingRow) -> Result<()>;
    /// Removes an account from the queue (it looks like one household again).
    async fn clear_sharing(&self, account: &str) -> Result<()>;
    async fn sharing_queue(&self, limit: u32) -> Result<Vec<SharingRow>>;
    async fn sharing_of(&self, account: &str) -> Result<Option<SharingRow>>;

    // Security notices to the owner.
    async fn add_notification(&self, n: &NewNotification) -> Result<i64>;
    /// Newest first; `delivered_only` leaves out the ones folded into a digest.
    async fn notifications(
        &self,
        account: &str,
        since: Timestamp,
        delivered_only: bool,
        limit: u32,
    ) -> Result<Vec<NotificationRow>>;
    /// Marks one notice (or all, with `None`) read; returns how many changed.
    async fn mark_notifications_read(
        &self,
        account: &str,
        id: Option<i64>,
        now: Timestamp,
    ) -> Result<u64>;
    async fn notification_prefs(&self, account: &str) -> Result<Option<NotificationPrefs>>;
    async fn set_notification_prefs(&self, prefs: &NotificationPrefs) -> Result<()>;

    // Outbox.
    async fn enqueue(&self, msg: &NewOutboxMessage, now: Timestamp) -> Result<i64>;
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>>;
    async fn outbox_sent(&self, id: i64, now: Timestamp) -> Result<()>;
    async fn outbox_retry(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<()>;
    async fn outbox_dead(&self, id: i64, attempts: u32, error: &str) -> Result<()>;
    async fn outbox_list(&self, limit: u32) -> Result<Vec<OutboxMessage>>;
    async fn outbox_backlog(&self) -> Result<u64>;
    /// How many messages are in each status (`pending`, `sending`, `sent`, `dead`).
    async fn outbox_counts(&self) -> Result<Vec<(String, u64)>>;
}

/// Opens the store named by a URL (`sqlite://path`, `sqlite::memory:`, `postgres://…`)
/// and applies its migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::BadUrl(url.to_owned()))
    }
}

/// What `hearth migrate` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationReport {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// (version, name) of each migration applied now, in order.
    pub applied: Vec<(i64, &'static str)>,
    /// The newest migration this build knows; the database is now at it.
    pub version: i64,
}

/// Opens the database named by a URL and applies its pending migrations, reporting
/// which ran (several nodes starting at once migrate once: PostgreSQL takes a lock).
pub async fn migrate(url: &str) -> Result<MigrationReport> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PgStore::connect_unmigrated(url, None).await?;
        let applied = store.migrate().await?;
        let report = MigrationReport {
            backend: "postgres",
            applied,
            version: migrate::POSTGRES
                .iter()
                .map(|m| m.version)
                .max()
                .unwrap_or(0),
        };
        store.close().await;
        Ok(report)
    } else if url.starts_with("sqlite:") {
        let store = SqliteStore::connect_unmigrated(url).await?;
        let applied = store.migrate().await?;
        let report = MigrationReport {
            backend: "sqlite",
            applied,
            version: migrate::SQLITE.iter().map(|m| m.version).max().unwrap_or(0),
        };
        store.close().await;
        Ok(report)
    } else {
        Err(StoreError::BadUrl(url.to_owned()))
    }
}
