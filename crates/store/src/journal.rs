//! The engine journal: the write path's commits where one process owns every
//! account's engine state (SQLite; docs/write-path.md, step 2).
//!
//! Each commit appends one row holding its batch's events, instead of writing every
//! changed state: one append per batch where write-through writes a page or two per
//! event. The owner keeps the states in memory and writes them back later, many at a
//! time, each with the seq of the last journal row it holds (`journal_seq`). After a
//! crash the owner loads the stored states and replays, account by account, the rows
//! written after them ([`EngineJournal::journal`]); the engine decides from the state
//! and the event alone, so the replay gives the states the crashed process held.
//!
//! Only one process may own the states: [`EngineJournal::lock_engine_state`] takes an
//! exclusive lock on a file beside the database, held until the store is dropped.
//! Processes that write every state through take it shared, so they may run side by
//! side but never beside an owner.

use crate::PendingEffects;
use async_trait::async_trait;
use hearth_core::Timestamp;

/// One commit of the journal, in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalCommit {
    /// The row appended: its seq, one more than the last, and its events (as the
    /// write path serialised them). None for a write-back alone.
    pub row: Option<(i64, String)>,
    /// What follows from the batch's events, carried out after the commit.
    pub effects: Vec<PendingEffects>,
    /// States written back, (account, state), holding every row up to `through`.
    pub write_back: Vec<(String, String)>,
    pub through: i64,
    /// Rows below this seq are held by the stored states and are deleted; 0: none.
    pub forget_below: i64,
}

/// A stored state with the last journal row it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournaledState {
    pub account: String,
    pub journal_seq: i64,
    pub state: String,
}

#[async_trait]
pub trait EngineJournal: Send + Sync {
    /// Takes the engine state for this process alone (`exclusive`), or shares it with
    /// other processes that write states through, until the store is dropped. An
    /// error names the lock and its owner when another process holds it otherwise.
    fn lock_engine_state(&self, exclusive: bool) -> crate::Result<()>;
    /// Every journal row, (seq, events), in order.
    async fn journal(&self) -> crate::Result<Vec<(i64, String)>>;
    /// The stored states of these accounts, each with the last row it holds.
    async fn journaled_states(&self, accounts: &[String]) -> crate::Result<Vec<JournaledState>>;
    /// Commits `commit` in one transaction.
    async fn commit_journal(&self, commit: &JournalCommit, now: Timestamp) -> crate::Result<()>;
}

/// For stores without a journal.
pub(crate) fn none<S>(_: &S) -> Option<&dyn EngineJournal> {
    None
}
