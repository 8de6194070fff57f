//! The access write path: events go through a bounded queue to one writer task that
//! applies many accounts' events per database transaction (group commit).
//!
//! Per batch the writer loads the accounts' states (unless it holds them from its own
//! last commit), runs each account's events through the engine in arrival order in
//! memory, and commits every changed state together with what must follow from it
//! ([`super::effects`]). Each state carries the account's latest event ids with their
//! decisions ([`Engine::applied`]), so an event that arrives again is answered with
//! its first decision from the state the writer holds anyway, and two nodes applying
//! one event at once cannot both count it: one loses the version check, reloads, and
//! finds the id. An account that another node changed first is reloaded and decided
//! again, so no update is lost; a caller is answered only after the commit that holds
//! its event, so no acknowledged event is lost. A full queue is refused at once (503)
//! rather than letting waits grow without bound.
//!
//! That is write-through, as on PostgreSQL. On SQLite the one writer instead owns
//! every state and commits a journal row per batch, writing the states back later
//! ([`super::owner`]).

use super::effects::{Effects, Verification};
use super::notify::Ownerless;
use super::owner::Owner;
use super::{ServiceError, ServiceResult};
use crate::metrics::Metrics;
use hearth_core::engine::{AccountState, Engine, VerdictBasis};
use hearth_core::{AccessEvent, AccountVerdict, Decision, Sharing, Timestamp};
use hearth_store::{PendingEffects, StateWrite, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// `[access]`: the write path's queue and its writers.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessConfig {
    /// Events waiting for the writer; a full queue answers 503 with Retry-After.
    pub queue: usize,
    /// Most events committed in one transaction.
    pub batch_max: usize,
    /// Days a row of `applied_events` is kept: event ids applied before they were
    /// kept with each account's state (`[engine] applied_ids`), read until they age out.
    pub applied_ids_days: u32,
    /// Accounts whose state the writer keeps in memory between batches (about 2 KiB
    /// each), so a busy account is not read back for every batch. A copy another node
    /// has since changed is caught by the version check at commit and reloaded.
    pub cache_accounts: usize,
    /// Writer tasks, each owning the accounts that hash to it (so one account's events
    /// stay in order) and committing its own batches. 0: 1 on SQLite (one writer at a
    /// time anyway), 2 on PostgreSQL (one commit overlaps the other's flush, while
    /// each batch stays big: BENCHMARKS.md, session 16).
    pub writers: usize,
    /// With one writer on SQLite, the process owns every account's state: each batch
    /// appends one journal row and a changed state is written back this many
    /// milliseconds after it first changed (docs/write-path.md, step 2). 0 writes
    /// every changed state with its batch instead, as on PostgreSQL.
    pub write_back_ms: u64,
}

impl Default for AccessConfig {
    fn default() -> Self {
        Self {
            queue: 4096,
            batch_max: 512,
            applied_ids_days: 7,
            cache_accounts: 20_000,
            writers: 0,
            write_back_ms: 5_000,
        }
    }
}

/// How many times a batch is reloaded and decided again when other writers keep
/// changing its accounts first (or the commit fails for a retryable reason).
const MAX_ROUNDS: usize = 16;
/// Failed commits (deadlock, a lost connection) tolerated per batch.
pub(super) const MAX_ERRORS: usize = 3;
/// How often the writer forgets old rows of `applied_events`.
const PRUNE_EVERY_MS: i64 = 3_600_000;

/// An account's verdict before and after one of its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub before: AccountVerdict,
    pub after: AccountVerdict,
    pub at: Timestamp,
}

impl Transition {
    /// Whether a change of verdict has anything to follow from it
    /// (`App::record_sharing`): a household account that stays one has nothing
    /// in the analysts' queue and nothing to tell, however its household and
    /// device counts move. Under `bench/wrk/access.lua` those were most of the
    /// transitions, each a row of effects written and deleted for nothing.
    pub fn matters(before: &VerdictBasis, after: &VerdictBasis) -> bool {
        after.differs_from(before)
            && (before.sharing() != Sharing::Household || after.sharing() != Sharing::Household)
    }
}

/// States the writer committed last, by account: (version, state); and the
/// accounts known to have no owner, whose notices go nowhere.
#[derive(Debug, Default)]
pub struct StateCache {
    pub(super) states: HashMap<String, (i64, AccountState)>,
    /// Accounts whose state here is newer than the stored one ([`super::owner`]):
    /// never dropped to make room.
    pub(super) dirty: HashSet<String>,
    capacity: usize,
    pub(super) ownerless: Arc<Ownerless>,
}

impl StateCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            states: HashMap::new(),
            dirty: HashSet::new(),
            capacity,
            ownerless: Arc::default(),
        }
    }

    /// Shares the node's list of accounts without an owner ([`App::owner_of`]):
    /// a device asked to verify on one of them is not written down as a notice to
    /// send, since there is no one to send it to.
    ///
    /// [`App::owner_of`]: crate::app::App::owner_of
    pub fn with_ownerless(mut self, ownerless: Arc<Ownerless>) -> Self {
        self.ownerless = ownerless;
        self
    }

    pub(super) fn put(&mut self, account: String, version: i64, state: AccountState) {
        if self.capacity == 0 && !self.dirty.contains(&account) {
            return;
        }
        if self.states.len() >= self.capacity && !self.states.contains_key(&account) {
            // Crude but O(1) amortised: start over when full, keeping what is dirty.
            let dirty = &self.dirty;
            self.states.retain(|a, _| dirty.contains(a));
        }
        self.states.insert(account, (version, state));
    }

    pub(super) fn clear(&mut self) {
        self.states.clear();
        self.dirty.clear();
    }
}

/// What became of one event.
#[derive(Debug)]
pub struct Applied {
    pub decision: Decision,
    /// False when the event's id had already been applied: nothing changed now.
    pub fresh: bool,
    /// What follows from this batch's events of the account, committed with its
    /// state as a row of `engine_effects` (its id, and the effects): carried by the
    /// account's last fresh event of the batch only, so one caller carries them out,
    /// in order.
    pub effects: Option<(String, Effects)>,
    /// Optimistic-version conflicts met on the way (carried like `effects`).
    pub conflicts: u32,
}

/// Applies a batch of events (any accounts, in arrival order) and commits it;
/// one result per event, in the same order. With `legacy`, the events' ids are
/// also looked up in `applied_events` (ids applied before they were kept with the
/// state, until they age out).
pub async fn apply(
    store: &dyn Store,
    engine: &Engine,
    cache: &mut StateCache,
    events: &[AccessEvent],
    now: Timestamp,
    legacy: bool,
) -> Vec<ServiceResult<Applied>> {
    let mut results: Vec<Option<ServiceResult<Applied>>> = events.iter().map(|_| None).collect();
    let mut by_account = by_account(events);
    let mut conflicts: HashMap<&str, u32> = HashMap::new();
    let mut last_error = None;
    let mut errors = 0;
    for _ in 0..MAX_ROUNDS {
        if by_account.is_empty() {
            break;
        }
        match round(store, engine, cache, events, &by_account, now, legacy).await {
            Ok((decided, lost)) => {
                for (account, outcomes) in decided {
                    if lost.iter().any(|l| l == account) {
                        *conflicts.entry(account).or_default() += 1;
                        continue;
                    }
                    by_account.remove(account);
                    let mut outcomes = outcomes;
                    let n = conflicts.get(account).copied().unwrap_or(0);
                    if let Some((_, Ok(a))) = outcomes
                        .iter_mut()
                        .rev()
                        .find(|(_, r)| matches!(r, Ok(a) if a.fresh))
                    {
                        a.conflicts = n;
                    }
                    for (i, r) in outcomes {
                        results[i] = Some(r);
                    }
                }
            }
            Err(e) => {
                // A failed commit wrote nothing: reload and try again, a few times.
                errors += 1;
                last_error = Some(e);
                if errors >= MAX_ERRORS {
                    break;
                }
            }
        }
    }
    let mut out = Vec::with_capacity(events.len());
    for (i, r) in results.into_iter().enumerate() {
        out.push(match r {
            Some(r) => r,
            None => Err(match &last_error {
                Some(ServiceError::Unavailable(m)) => ServiceError::Unavailable(m.clone()),
                Some(e) => ServiceError::Internal(e.to_string()),
                None => ServiceError::Unavailable(format!(
                    "engine state of {} is too contended; retry",
                    events[i].account.as_str()
                )),
            }),
        });
    }
    out
}

pub(super) type Outcomes = Vec<(usize, ServiceResult<Applied>)>;

/// One load-decide-commit pass over the accounts still pending. Returns each
/// account's outcomes and the accounts whose write lost to another writer.
async fn round<'a>(
    store: &dyn Store,
    engine: &Engine,
    cache: &mut StateCache,
    events: &[AccessEvent],
    by_account: &BTreeMap<&'a str, Vec<usize>>,
    now: Timestamp,
    legacy: bool,
) -> ServiceResult<(Vec<(&'a str, Outcomes)>, Vec<String>)> {
    // Taken out of the cache: put back only once committed (or left unchanged).
    let mut cached: HashMap<&str, (i64, AccountState)> = HashMap::new();
    for a in by_account.keys() {
        if let Some(c) = cache.states.remove(*a) {
            cached.insert(a, c);
        }
    }
    let missing: Vec<String> = by_account
        .keys()
        .filter(|a| !cached.contains_key(**a))
        .map(|a| (*a).to_owned())
        .collect();
    let states: HashMap<String, hearth_store::VersionedState> = if missing.is_empty() {
        HashMap::new()
    } else {
        store.engine_states(&missing).await?.into_iter().collect()
    };
    let seen = legacy_decisions(store, events, by_account, legacy).await?;

    let mut decided = Vec::with_capacity(by_account.len());
    let mut writes = Vec::new();
    let mut unchanged = Vec::new();
    let mut committed = Vec::new();
    for (account, idxs) in by_account {
        let parsed = match (cached.remove(*account), states.get(*account)) {
            (Some(c), _) => Ok(c),
            (None, Some(s)) => serde_json::from_str::<AccountState>(&s.state)
                .map(|st| (s.version, st))
                .map_err(|e| ServiceError::Internal(format!("engine state of {account}: {e}"))),
            (None, None) => Ok((0, AccountState::default())),
        };
        let (version, mut state) = match parsed {
            Ok(s) => s,
            Err(e) => {
                let msg = e.to_string();
                let outcomes = idxs
                    .iter()
                    .map(|&i| (i, Err(ServiceError::Internal(msg.clone()))))
                    .collect();
                decided.push((*account, outcomes));
                continue;
            }
        };
        let owned = !cache.ownerless.contains(account);
        let first = |event: &AccessEvent| match &event.id {
            Some(id) if legacy => seen.get(&(account.to_string(), id.clone())).cloned(),
            _ => None,
        };
        let (mut outcomes, effects, last_fresh) =
            decide_account(engine, &mut state, events, idxs, owned, first);
        if let Some(k) = last_fresh {
            let pending = pending_effects(account, effects, &mut outcomes, k)?;
            let json =
                serde_json::to_string(&state).map_err(|e| ServiceError::Internal(e.to_string()))?;
            writes.push(StateWrite {
                account: (*account).to_owned(),
                expected: version,
                state: json,
                effects: pending,
            });
            committed.push((*account, version + 1, state));
        } else {
            unchanged.push((*account, version, state));
        }
        decided.push((*account, outcomes));
    }
    let lost = if writes.is_empty() {
        Vec::new()
    } else {
        store.commit_engine_states(&writes, now).await?
    };
    for (account, version, state) in committed.into_iter().chain(unchanged) {
        if !lost.iter().any(|l| l == account) {
            cache.put(account.to_owned(), version, state);
        }
    }
    Ok((decided, lost))
}

/// Each account's events in the batch, as indexes in arrival order.
pub(super) fn by_account(events: &[AccessEvent]) -> BTreeMap<&str, Vec<usize>> {
    let mut by_account: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        by_account.entry(e.account.as_str()).or_default().push(i);
    }
    by_account
}

/// The decisions `applied_events` holds for the batch's event ids, while `legacy`:
/// ids applied before they were kept with the state.
pub(super) async fn legacy_decisions(
    store: &dyn Store,
    events: &[AccessEvent],
    by_account: &BTreeMap<&str, Vec<usize>>,
    legacy: bool,
) -> ServiceResult<HashMap<(String, String), Decision>> {
    let mut seen = HashMap::new();
    if !legacy {
        return Ok(seen);
    }
    let keys: Vec<(String, String)> = by_account
        .values()
        .flatten()
        .filter_map(|&i| {
            let e = &events[i];
            e.id.as_ref()
                .map(|id| (e.account.as_str().to_owned(), id.clone()))
        })
        .collect();
    for a in store.applied_events(&keys).await? {
        let d = serde_json::from_str(&a.decision).map_err(|e| {
            ServiceError::Internal(format!(
                "stored decision of {}/{}: {e}",
                a.account, a.event_id
            ))
        })?;
        seen.insert((a.account, a.event_id), d);
    }
    Ok(seen)
}

/// An account's events of one batch (`idxs` into `events`, in arrival order) through
/// the engine: each one's outcome, what follows from them, and which outcome is the
/// last fresh one (None when every event had been applied before). `first` gives
/// the decision an event was given before, if it was applied elsewhere already.
pub(super) fn decide_account(
    engine: &Engine,
    state: &mut AccountState,
    events: &[AccessEvent],
    idxs: &[usize],
    owned: bool,
    first: impl Fn(&AccessEvent) -> Option<Decision>,
) -> (Outcomes, Effects, Option<usize>) {
    let mut outcomes: Outcomes = Vec::with_capacity(idxs.len());
    let mut effects = Effects::default();
    let mut last_fresh = None;
    for &i in idxs {
        let event = &events[i];
        if let Some(d) = first(event).or_else(|| engine.applied(state, event)) {
            outcomes.push((i, Ok(replayed(d))));
            continue;
        }
        let before = engine.verdict_basis(state, event.ts);
        let decision = engine.decide(state, event, event.ts);
        let after = engine.verdict_basis(state, event.ts);
        if Transition::matters(&before, &after) {
            effects.transitions.push(Transition {
                before: engine.verdict_from(before, &event.account),
                after: engine.verdict_from(after, &event.account),
                at: event.ts,
            });
        }
        if owned {
            effects
                .verifications
                .extend(Verification::of(event, &decision));
        }
        last_fresh = Some(outcomes.len());
        outcomes.push((
            i,
            Ok(Applied {
                decision,
                fresh: true,
                effects: None,
                conflicts: 0,
            }),
        ));
    }
    (outcomes, effects, last_fresh)
}

/// The row of effects to commit with an account's state, if anything follows; the
/// account's last fresh outcome (`k`) carries them, for its caller to carry out.
pub(super) fn pending_effects(
    account: &str,
    effects: Effects,
    outcomes: &mut Outcomes,
    k: usize,
) -> ServiceResult<Option<PendingEffects>> {
    if effects.is_empty() {
        return Ok(None);
    }
    let id = hearth_store::unique_token();
    let body =
        serde_json::to_string(&effects).map_err(|e| ServiceError::Internal(e.to_string()))?;
    if let Some((_, Ok(a))) = outcomes.get_mut(k) {
        a.effects = Some((id.clone(), effects));
    }
    Ok(Some(PendingEffects {
        id,
        account: account.to_owned(),
        body,
    }))
}

fn replayed(decision: Decision) -> Applied {
    Applied {
        decision,
        fresh: false,
        effects: None,
        conflicts: 0,
    }
}

enum Job {
    /// An event to apply and commit.
    Event {
        event: AccessEvent,
        reply: oneshot::Sender<ServiceResult<Applied>>,
    },
    /// The state the writer holds for an account (an owner's: [`super::owner`]).
    State {
        account: String,
        reply: oneshot::Sender<ServiceResult<Option<AccountState>>>,
    },
    /// Write back every dirty state now (an owner's).
    Flush {
        reply: oneshot::Sender<ServiceResult<()>>,
    },
}

/// The handle requests use to reach the writer task.
pub struct Writer {
    queues: Vec<mpsc::Sender<Job>>,
    /// Events submitted and not yet answered: queued, or in a batch being committed.
    in_flight: Arc<AtomicUsize>,
    /// Whether the one writer owns every state, behind the engine journal.
    owns: bool,
    /// How the writers started: None until they have.
    started: tokio::sync::watch::Receiver<Option<Result<(), String>>>,
}

/// Counts one event in flight for as long as it lives (its caller may give up early).
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn stopped() -> ServiceError {
    ServiceError::Unavailable("the access writer has stopped".into())
}

impl Writer {
    /// Starts the writer tasks on the current runtime; each counts its batches in
    /// `metrics`. One writer on a store with an engine journal (SQLite) owns every
    /// state, unless `write_back_ms` is 0 ([`super::owner`]).
    pub fn spawn(
        store: Arc<dyn Store>,
        engine: Engine,
        config: &AccessConfig,
        metrics: Arc<Metrics>,
        ownerless: Arc<Ownerless>,
    ) -> Writer {
        let n = match config.writers {
            0 if store.backend() == "postgres" => 2,
            0 => 1,
            n => n,
        };
        let owns = n == 1 && config.write_back_ms > 0 && store.engine_journal().is_some();
        let (started_tx, started) = tokio::sync::watch::channel(None);
        let started_tx = Arc::new(started_tx);
        let queues = (0..n)
            .map(|_| {
                let (tx, rx) = mpsc::channel((config.queue / n).max(1));
                tokio::spawn(run(
                    Task {
                        store: store.clone(),
                        engine: engine.clone(),
                        config: config.clone(),
                        metrics: metrics.clone(),
                        cache: StateCache::new(config.cache_accounts)
                            .with_ownerless(ownerless.clone()),
                        owns,
                    },
                    rx,
                    started_tx.clone(),
                ));
                tx
            })
            .collect();
        Writer {
            queues,
            in_flight: Arc::default(),
            owns,
            started,
        }
    }

    /// Waits until the writers have started: an owner has taken the engine state
    /// and replayed its journal. An error says why they could not (another process
    /// owns the database, say); every event is then refused with it.
    pub async fn ready(&self) -> ServiceResult<()> {
        let mut started = self.started.clone();
        let outcome = started
            .wait_for(Option::is_some)
            .await
            .map_err(|_| stopped())?
            .clone();
        match outcome {
            Some(Err(e)) => Err(ServiceError::Unavailable(e)),
            _ => Ok(()),
        }
    }

    /// Whether the writer owns every state, so the stored states may lag behind it.
    pub fn owns_states(&self) -> bool {
        self.owns
    }

    fn queue_for(&self, account: &str) -> ServiceResult<&mpsc::Sender<Job>> {
        let mut h = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(account, &mut h);
        let shard = std::hash::Hasher::finish(&h) as usize % self.queues.len().max(1);
        self.queues.get(shard).ok_or_else(stopped)
    }

    async fn send<T>(
        &self,
        queue: &mpsc::Sender<Job>,
        job: Job,
        answer: oneshot::Receiver<ServiceResult<T>>,
    ) -> ServiceResult<T> {
        let _counted = InFlight::new(&self.in_flight);
        queue.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                ServiceError::Unavailable("the access queue is full".into())
            }
            mpsc::error::TrySendError::Closed(_) => stopped(),
        })?;
        answer.await.map_err(|_| {
            ServiceError::Unavailable("the access writer stopped before committing".into())
        })?
    }

    /// Queues the event and waits for the commit that holds it.
    pub async fn submit(&self, event: AccessEvent) -> ServiceResult<Applied> {
        let (reply, answer) = oneshot::channel();
        let queue = self.queue_for(event.account.as_str())?;
        self.send(queue, Job::Event { event, reply }, answer).await
    }

    /// The state the owning writer holds for an account, newer than the stored one
    /// until it is written back.
    pub async fn state(&self, account: &str) -> ServiceResult<Option<AccountState>> {
        let (reply, answer) = oneshot::channel();
        let job = Job::State {
            account: account.to_owned(),
            reply,
        };
        self.send(self.queue_for(account)?, job, answer).await
    }

    /// Writes back every state the owning writer holds dirty (graceful shutdown,
    /// and before a backup that reads the table alone).
    pub async fn flush(&self) -> ServiceResult<()> {
        for queue in &self.queues {
            let (reply, answer) = oneshot::channel();
            queue
                .send(Job::Flush { reply })
                .await
                .map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())??;
        }
        Ok(())
    }

    /// Events submitted and not yet answered: waiting in a queue, or in a batch being
    /// decided and committed. A writer that takes its whole queue into every batch
    /// leaves the queue short even under load; this counts that load too.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Events waiting for the writer.
    pub fn backlog(&self) -> usize {
        self.queues
            .iter()
            .map(|q| q.max_capacity() - q.capacity())
            .sum()
    }
}

/// What one writer task works with.
struct Task {
    store: Arc<dyn Store>,
    engine: Engine,
    config: AccessConfig,
    metrics: Arc<Metrics>,
    cache: StateCache,
    owns: bool,
}

async fn run(
    mut t: Task,
    mut rx: mpsc::Receiver<Job>,
    started: Arc<tokio::sync::watch::Sender<Option<Result<(), String>>>>,
) {
    let mut owner = None;
    let begun = if t.owns {
        Owner::start(t.store.as_ref(), &t.engine, &t.config, &mut t.cache)
            .await
            .map(|o| owner = Some(o))
    } else {
        // Writing through, beside other such processes but never beside an owner.
        t.store
            .engine_journal()
            .map_or(Ok(()), |j| j.lock_engine_state(false))
            .map_err(ServiceError::from)
    };
    if let Err(e) = begun {
        let e = e.to_string();
        tracing::error!(error = %e, "the access writer cannot start");
        started.send_replace(Some(Err(e.clone())));
        refuse_all(rx, &e).await;
        return;
    }
    started.send_if_modified(|s| {
        let first = s.is_none();
        if first {
            *s = Some(Ok(()));
        }
        first
    });
    let batch_max = t.config.batch_max.max(1);
    let mut last_prune: Option<Timestamp> = None;
    // Until the old table of applied ids has aged out, it is read as well.
    let mut legacy = t.store.any_applied_events().await.unwrap_or(true);
    let mut jobs: Vec<Job> = Vec::with_capacity(batch_max);
    loop {
        let due = owner
            .as_ref()
            .and_then(|o: &Owner| o.next_due(super::now()));
        let received = match due {
            Some(due) => tokio::select! {
                n = rx.recv_many(&mut jobs, batch_max) => n,
                () = tokio::time::sleep(due) => {
                    if let Some(o) = owner.as_mut() {
                        if let Err(e) = o.write_back(t.store.as_ref(), &t.engine, &mut t.cache, false).await {
                            tracing::warn!(error = %e, "writing engine states back failed");
                        }
                    }
                    continue;
                }
            },
            None => rx.recv_many(&mut jobs, batch_max).await,
        };
        if received == 0 {
            break;
        }
        let now = super::now();
        let mut events = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        let mut others = Vec::new();
        for job in jobs.drain(..) {
            match job {
                Job::Event { event, reply } => {
                    events.push(event);
                    replies.push(reply);
                }
                other => others.push(other),
            }
        }
        if !events.is_empty() {
            let began = std::time::Instant::now();
            let results = match owner.as_mut() {
                Some(o) => {
                    o.apply(
                        t.store.as_ref(),
                        &t.engine,
                        &mut t.cache,
                        &events,
                        now,
                        legacy,
                    )
                    .await
                }
                None => {
                    apply(
                        t.store.as_ref(),
                        &t.engine,
                        &mut t.cache,
                        &events,
                        now,
                        legacy,
                    )
                    .await
                }
            };
            t.metrics.observe(
                "hearth_access_batch_seconds",
                &[],
                began.elapsed().as_secs_f64(),
            );
            t.metrics
                .add("hearth_access_batch_events_total", &[], events.len() as u64);
            for (reply, r) in replies.into_iter().zip(results) {
                // A caller that went away has nothing to be told; its event is committed.
                let _ = reply.send(r);
            }
        }
        for job in others {
            answer(&mut t, owner.as_mut(), job).await;
        }
        if legacy && last_prune.is_none_or(|l| now.0 - l.0 >= PRUNE_EVERY_MS) {
            last_prune = Some(now);
            let keep_ms = i64::from(t.config.applied_ids_days) * 86_400_000;
            if let Err(e) = t
                .store
                .prune_applied_events(Timestamp(now.0 - keep_ms))
                .await
            {
                tracing::warn!(error = %e, "pruning applied event ids failed");
            }
            legacy = t.store.any_applied_events().await.unwrap_or(true);
        }
    }
    // Every handle is gone: write back what is dirty, so the table is current for
    // whoever opens the database next.
    if let Some(o) = owner.as_mut() {
        if let Err(e) = o
            .write_back(t.store.as_ref(), &t.engine, &mut t.cache, true)
            .await
        {
            tracing::warn!(error = %e, "writing engine states back at exit failed; the journal keeps them");
        }
    }
}

/// Answers a request for a state, or to flush.
async fn answer(t: &mut Task, owner: Option<&mut Owner>, job: Job) {
    match (job, owner) {
        (Job::Event { reply, .. }, _) => {
            let _ = reply.send(Err(ServiceError::Internal("event out of its batch".into())));
        }
        (Job::State { account, reply }, Some(o)) => {
            let _ = reply.send(o.state(t.store.as_ref(), &t.cache, &account).await);
        }
        (Job::State { reply, .. }, None) => {
            let _ = reply.send(Err(ServiceError::Internal(
                "only an owning writer holds states".into(),
            )));
        }
        (Job::Flush { reply }, Some(o)) => {
            let r = o
                .write_back(t.store.as_ref(), &t.engine, &mut t.cache, true)
                .await;
            let _ = reply.send(r);
        }
        (Job::Flush { reply }, None) => {
            let _ = reply.send(Ok(()));
        }
    }
}

/// Answers every job with why the writer could not start, until every handle is gone.
async fn refuse_all(mut rx: mpsc::Receiver<Job>, why: &str) {
    let refused = || ServiceError::Unavailable(why.to_owned());
    while let Some(job) = rx.recv().await {
        let _ = match job {
            Job::Event { reply, .. } => reply.send(Err(refused())).is_ok(),
            Job::State { reply, .. } => reply.send(Err(refused())).is_ok(),
            Job::Flush { reply } => reply.send(Err(refused())).is_ok(),
        };
    }
}
