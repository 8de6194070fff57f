//! Write-back behind a journal, where this process owns every account's engine state
//! (SQLite; docs/write-path.md, step 2).
//!
//! The writer keeps the states in memory and they are the truth. Each batch commits
//! one journal row holding its fresh events, with the batch's effects, instead of a
//! state row per account: one append per batch. A state changed by a batch is dirty
//! until it is written back, [`AccessConfig::write_back_ms`] after it first changed
//! (sooner when too many are dirty), piggybacked on a later commit or on its own when
//! the write path is idle; the journal rows every stored state holds are deleted in
//! the same transaction. An event is still answered only after the commit holding
//! it, so nothing acknowledged is lost: after a crash [`Owner::start`] loads the
//! stored states and replays through the engine, account by account, the journal
//! rows written after each (the engine decides from the state and the event alone).
//! A commit that fails leaves the memory ahead of the database, so the owner starts
//! over from the database, exactly as after a crash, and the batch is decided again.
//!
//! One process at a time: the owner takes an exclusive lock beside the database
//! ([`EngineJournal::lock_engine_state`]), and a second `hearth serve` or `hearth
//! consume` on the same file is refused with a clear error.

use super::writer::{
    by_account, decide_account, legacy_decisions, pending_effects, AccessConfig, Applied, Outcomes,
    StateCache, MAX_ERRORS,
};
use super::{ServiceError, ServiceResult};
use hearth_core::engine::{AccountState, Engine};
use hearth_core::{AccessEvent, Timestamp};
use hearth_store::{EngineJournal, JournalCommit, Store};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

/// Most states written back by one commit, so that no batch waits behind thousands.
const WRITE_BACK_MAX: usize = 256;
/// Journal rows deleted at once: deleting the rows behind every commit touched the
/// journal's first pages (and the free list) in each one.
const FORGET_EVERY: i64 = 256;

/// The journal's bookkeeping beside the writer's [`StateCache`].
pub struct Owner {
    /// The seq of the next journal row.
    next_seq: i64,
    /// Rows below this seq are deleted.
    forgotten: i64,
    /// Dirty accounts in the order they became dirty: (the first journal row their
    /// stored state lacks, when, account). The cache keeps their states.
    dirty: VecDeque<(i64, Timestamp, String)>,
    write_back_ms: i64,
    /// Dirty accounts past which states are written back before they are due.
    max_dirty: usize,
    /// Memory no longer matches the database and could not be rebuilt from it yet:
    /// nothing is decided or read until it is.
    broken: bool,
}

fn internal(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("{what}: {e}"))
}

fn journal_of(store: &dyn Store) -> ServiceResult<&dyn EngineJournal> {
    store
        .engine_journal()
        .ok_or_else(|| ServiceError::Internal("this database keeps no engine journal".into()))
}

impl Owner {
    /// Takes the engine state for this process and brings the stored states up to
    /// the journal's last row.
    pub async fn start(
        store: &dyn Store,
        engine: &Engine,
        config: &AccessConfig,
        cache: &mut StateCache,
    ) -> ServiceResult<Owner> {
        journal_of(store)?.lock_engine_state(true)?;
        let mut owner = Owner {
            next_seq: 1,
            forgotten: 0,
            dirty: VecDeque::new(),
            write_back_ms: i64::try_from(config.write_back_ms).unwrap_or(i64::MAX),
            max_dirty: (config.cache_accounts / 2).max(1),
            broken: true,
        };
        owner.recover(store, engine, cache).await?;
        Ok(owner)
    }

    /// Forgets what memory holds and rebuilds the states from the database: the
    /// stored states, then every journal row each one lacks, through the engine.
    /// What changed is written back at once and the journal cut to its last row.
    async fn recover(
        &mut self,
        store: &dyn Store,
        engine: &Engine,
        cache: &mut StateCache,
    ) -> ServiceResult<()> {
        let journal = journal_of(store)?;
        self.broken = true;
        cache.clear();
        self.dirty.clear();
        let rows = journal.journal().await?;
        let last = rows.last().map_or(0, |r| r.0);
        let mut states: HashMap<String, (i64, AccountState)> = HashMap::new();
        let mut changed: HashSet<String> = HashSet::new();
        for (seq, body) in &rows {
            let events: Vec<AccessEvent> = serde_json::from_str(body)
                .map_err(|e| internal(&format!("journal row {seq}"), e))?;
            let missing: Vec<String> = events
                .iter()
                .map(|e| e.account.as_str())
                .filter(|a| !states.contains_key(*a))
                .collect::<HashSet<_>>()
                .into_iter()
                .map(str::to_owned)
                .collect();
            for s in journal.journaled_states(&missing).await? {
                let st = serde_json::from_str(&s.state)
                    .map_err(|e| internal(&format!("engine state of {}", s.account), e))?;
                states.insert(s.account, (s.journal_seq, st));
            }
            for event in &events {
                let (held, state) = states
                    .entry(event.account.as_str().to_owned())
                    .or_insert_with(|| (0, AccountState::default()));
                if *seq > *held {
                    engine.decide(state, event, event.ts);
                    changed.insert(event.account.as_str().to_owned());
                }
            }
        }
        let write_back = changed
            .iter()
            .filter_map(|a| states.get(a).map(|(_, st)| (a, st)))
            .map(|(a, st)| {
                Ok((
                    a.clone(),
                    serde_json::to_string(st).map_err(|e| internal(a, e))?,
                ))
            })
            .collect::<ServiceResult<Vec<_>>>()?;
        if !write_back.is_empty() || rows.len() > 1 {
            let commit = JournalCommit {
                row: None,
                effects: Vec::new(),
                write_back,
                through: last,
                forget_below: last,
            };
            journal.commit_journal(&commit, super::now()).await?;
        }
        if !changed.is_empty() {
            tracing::info!(
                rows = rows.len(),
                accounts = changed.len(),
                "engine states recovered from the journal"
            );
        }
        self.next_seq = last + 1;
        self.forgotten = last;
        for (account, (_, state)) in states {
            cache.put(account, 0, state);
        }
        self.broken = false;
        Ok(())
    }

    /// When the oldest dirty state falls due, if any is dirty.
    pub fn next_due(&self, now: Timestamp) -> Option<Duration> {
        self.dirty.front().map(|(_, since, _)| {
            Duration::from_millis(u64::try_from(since.0 + self.write_back_ms - now.0).unwrap_or(0))
        })
    }

    /// Takes the states to write back with the next commit: the oldest past
    /// `max_dirty`, and up to [`WRITE_BACK_MAX`] more that are due; every one with
    /// `all`.
    fn take_due(
        &mut self,
        cache: &mut StateCache,
        now: Timestamp,
        all: bool,
    ) -> ServiceResult<Vec<(String, String)>> {
        let mut out = Vec::new();
        while let Some((_, since, _)) = self.dirty.front() {
            let over = self.dirty.len() > self.max_dirty;
            let due = since.0 + self.write_back_ms <= now.0 && out.len() < WRITE_BACK_MAX;
            if !(all || over || due) {
                break;
            }
            let Some((_, _, account)) = self.dirty.pop_front() else {
                break;
            };
            cache.dirty.remove(&account);
            if let Some((_, state)) = cache.states.get(&account) {
                let json = serde_json::to_string(state).map_err(|e| internal(&account, e))?;
                out.push((account, json));
            }
        }
        Ok(out)
    }

    /// Commits `row` (a batch's events), the effects, and the states due.
    async fn commit(
        &mut self,
        store: &dyn Store,
        cache: &mut StateCache,
        row: Option<String>,
        effects: Vec<hearth_store::PendingEffects>,
        now: Timestamp,
        all: bool,
    ) -> ServiceResult<()> {
        let through = if row.is_some() {
            self.next_seq
        } else {
            self.next_seq - 1
        };
        let write_back = self.take_due(cache, now, all)?;
        if row.is_none() && write_back.is_empty() {
            return Ok(());
        }
        // The last row stays, so the next seq is known after a restart.
        let held = self.dirty.front().map_or(through, |d| d.0.min(through));
        let forget_below = if row.is_none() || held - self.forgotten >= FORGET_EVERY {
            held
        } else {
            0
        };
        let commit = JournalCommit {
            row: row.map(|r| (through, r)),
            effects,
            write_back,
            through,
            forget_below,
        };
        journal_of(store)?.commit_journal(&commit, now).await?;
        if commit.row.is_some() {
            self.next_seq += 1;
        }
        self.forgotten = self.forgotten.max(forget_below);
        Ok(())
    }

    /// Writes back the states that are due (all of them with `all`), with no
    /// events; on failure starts over from the database.
    pub async fn write_back(
        &mut self,
        store: &dyn Store,
        engine: &Engine,
        cache: &mut StateCache,
        all: bool,
    ) -> ServiceResult<()> {
        let result = self
            .commit(store, cache, None, Vec::new(), super::now(), all)
            .await;
        if result.is_err() {
            self.recover(store, engine, cache).await?;
        }
        result
    }

    /// The state the engine holds for `account`: the cache's, or the stored one.
    pub async fn state(
        &self,
        store: &dyn Store,
        cache: &StateCache,
        account: &str,
    ) -> ServiceResult<Option<AccountState>> {
        if self.broken {
            return Err(ServiceError::Unavailable(
                "the engine states are being rebuilt from the database".into(),
            ));
        }
        if let Some((_, state)) = cache.states.get(account) {
            return Ok(Some(state.clone()));
        }
        match store.engine_state(account).await? {
            Some(s) => serde_json::from_str(&s.state)
                .map(Some)
                .map_err(|e| internal(&format!("engine state of {account}"), e)),
            None => Ok(None),
        }
    }

    /// Applies a batch of events (any accounts, in arrival order) and commits its
    /// journal row; one result per event, in the same order.
    pub async fn apply(
        &mut self,
        store: &dyn Store,
        engine: &Engine,
        cache: &mut StateCache,
        events: &[AccessEvent],
        now: Timestamp,
        legacy: bool,
    ) -> Vec<ServiceResult<Applied>> {
        let mut last_error = None;
        if self.broken {
            if let Err(e) = self.recover(store, engine, cache).await {
                last_error = Some(e);
            }
        }
        for _ in 0..MAX_ERRORS {
            if self.broken {
                break;
            }
            match self.round(store, engine, cache, events, now, legacy).await {
                Ok(out) => return out,
                Err(e) => {
                    tracing::warn!(error = %e, "an engine journal commit failed; starting over from the database");
                    last_error = Some(e);
                    if let Err(e) = self.recover(store, engine, cache).await {
                        last_error = Some(e);
                        break;
                    }
                }
            }
        }
        let e = last_error.map_or_else(String::new, |e| e.to_string());
        events
            .iter()
            .map(|_| Err(ServiceError::Unavailable(format!("the access writer: {e}"))))
            .collect()
    }

    async fn round(
        &mut self,
        store: &dyn Store,
        engine: &Engine,
        cache: &mut StateCache,
        events: &[AccessEvent],
        now: Timestamp,
        legacy: bool,
    ) -> ServiceResult<Vec<ServiceResult<Applied>>> {
        let by_account = by_account(events);
        // States the cache lacks are clean: the table holds them.
        let missing: Vec<String> = by_account
            .keys()
            .filter(|a| !cache.states.contains_key(**a))
            .map(|a| (*a).to_owned())
            .collect();
        let mut loaded: HashMap<String, AccountState> = HashMap::new();
        if !missing.is_empty() {
            for (account, s) in store.engine_states(&missing).await? {
                let st = serde_json::from_str(&s.state)
                    .map_err(|e| internal(&format!("engine state of {account}"), e))?;
                loaded.insert(account, st);
            }
        }
        let seen = legacy_decisions(store, events, &by_account, legacy).await?;
        let seq = self.next_seq;
        let mut results: Vec<Option<ServiceResult<Applied>>> =
            events.iter().map(|_| None).collect();
        let mut fresh: Vec<&AccessEvent> = Vec::with_capacity(events.len());
        let mut effects = Vec::new();
        for (account, idxs) in &by_account {
            let mut state = match cache.states.remove(*account) {
                Some((_, st)) => st,
                None => loaded.remove(*account).unwrap_or_default(),
            };
            let owned = !cache.ownerless.contains(account);
            let first = |event: &AccessEvent| match &event.id {
                Some(id) if legacy => seen.get(&(account.to_string(), id.clone())).cloned(),
                _ => None,
            };
            let (mut outcomes, fx, last_fresh): (Outcomes, _, _) =
                decide_account(engine, &mut state, events, idxs, owned, first);
            if let Some(k) = last_fresh {
                effects.extend(pending_effects(account, fx, &mut outcomes, k)?);
                fresh.extend(
                    outcomes
                        .iter()
                        .filter(|(_, r)| matches!(r, Ok(a) if a.fresh))
                        .map(|(i, _)| &events[*i]),
                );
                if cache.dirty.insert((*account).to_owned()) {
                    self.dirty.push_back((seq, now, (*account).to_owned()));
                }
            }
            cache.put((*account).to_owned(), 0, state);
            for (i, r) in outcomes {
                results[i] = Some(r);
            }
        }
        let row = if fresh.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&fresh).map_err(|e| internal("journal row", e))?)
        };
        self.commit(store, cache, row, effects, now, false).await?;
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(ServiceError::Internal("event not decided".into()))))
            .collect())
    }
}
