//! The access write path: an event id is applied once; many accounts' events sent
//! at once are committed together and still decided exactly as `hearth replay`
//! decides them; a full queue is refused rather than waited on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::engine::{Engine, EngineConfig};
use hearth_core::AccessEvent;
use hearth_events::geo::Enricher;
use hearth_events::simulate::SimOptions;
use hearth_server::service::writer::{AccessConfig, Writer};
use hearth_server::service::ServiceError;
use hearth_server::testkit::TestServer;
use serde_json::{json, Value};
use std::collections::BTreeMap;

async fn post(c: &reqwest::Client, s: &TestServer, event: &Value) -> (u16, Value) {
    let r = c
        .post(s.url("/v1/access"))
        .bearer_auth(&s.api_key)
        .json(event)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn event(account: &str, device: &str, minute: u32, id: Option<&str>) -> Value {
    let mut e = json!({
        "ts": format!("2026-03-01T20:{minute:02}:00Z"),
        "account": account, "device": device, "device_type": "tv",
        "ip": "203.0.113.7", "kind": "playback",
    });
    if let Some(id) = id {
        e["id"] = json!(id);
    }
    e
}

async fn version(s: &TestServer, account: &str) -> i64 {
    s.app
        .store
        .engine_state(account)
        .await
        .unwrap()
        .map_or(0, |v| v.version)
}

fn decisions(s: &TestServer) -> u64 {
    ["allow", "verify", "deny"]
        .iter()
        .map(|d| {
            s.app
                .metrics
                .counter("hearth_decisions_total", &[("decision", d)])
        })
        .sum()
}

#[tokio::test]
async fn an_event_id_is_applied_once_per_account() {
    // Written through, so each commit shows in the stored version (the journal's
    // owner answers redeliveries alike: tests/engine_journal.rs).
    let s = TestServer::start(|c| c.access.write_back_ms = 0).await;
    let c = reqwest::Client::new();
    let (status, first) = post(&c, &s, &event("acc-1", "tv-1", 0, Some("ev-1"))).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(version(&s, "acc-1").await, 1);
    assert_eq!(decisions(&s), 1);

    // Redelivered: the first decision, and no state change, no count. An id sent
    // again with another device and time (a platform reusing ids) gets the first
    // decision too, about the device and time it names.
    let (status, again) = post(&c, &s, &event("acc-1", "tv-1", 0, Some("ev-1"))).await;
    assert_eq!(status, 200);
    assert_eq!(again, first);
    let (status, reused) = post(&c, &s, &event("acc-1", "phone-9", 30, Some("ev-1"))).await;
    assert_eq!(status, 200);
    let mut want = first.clone();
    want["device"] = json!("phone-9");
    want["ts"] = json!("2026-03-01T20:30:00Z");
    assert_eq!(reused, want);
    assert_eq!(version(&s, "acc-1").await, 1);
    assert_eq!(decisions(&s), 1);

    // Ids are per account; events without an id are always applied.
    let (status, _) = post(&c, &s, &event("acc-2", "tv-1", 0, Some("ev-1"))).await;
    assert_eq!(status, 200);
    assert_eq!(version(&s, "acc-2").await, 1);
    for _ in 0..2 {
        let (status, _) = post(&c, &s, &event("acc-1", "tv-1", 5, None)).await;
        assert_eq!(status, 200);
    }
    assert_eq!(version(&s, "acc-1").await, 3);
    let (_, next) = post(&c, &s, &event("acc-1", "tv-1", 6, Some("ev-2"))).await;
    assert_eq!(next["ts"], "2026-03-01T20:06:00Z");
    assert_eq!(version(&s, "acc-1").await, 4);
    assert_eq!(decisions(&s), 5);

    // A malformed id is a 400 naming the field, like any bad event.
    let mut bad = event("acc-1", "tv-1", 7, None);
    bad["id"] = json!(17);
    let (status, body) = post(&c, &s, &bad).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(version(&s, "acc-1").await, 4);
    s.stop().await;
}

#[tokio::test]
async fn a_state_another_node_changed_is_reloaded_not_overwritten() {
    // Another node: on SQLite, processes that all write through.
    let s = TestServer::start(|c| c.access.write_back_ms = 0).await;
    let c = reqwest::Client::new();
    post(&c, &s, &event("acc-1", "tv-1", 0, None)).await;
    // Another node commits version 2 (here: the account's state as it was).
    let v1 = s.app.store.engine_state("acc-1").await.unwrap().unwrap();
    assert!(s
        .app
        .store
        .put_engine_state("acc-1", 1, &v1.state, hearth_core::Timestamp(1))
        .await
        .unwrap());
    // This node's copy is stale: its write loses, it reloads and decides again.
    let (status, _) = post(&c, &s, &event("acc-1", "tv-1", 1, None)).await;
    assert_eq!(status, 200);
    assert_eq!(version(&s, "acc-1").await, 3);
    assert_eq!(
        s.app
            .metrics
            .counter("hearth_engine_state_conflicts_total", &[]),
        1
    );
    s.stop().await;
}

/// Replay's decisions for a simulated stream, with the events as JSON values.
fn simulated(accounts: usize, seed: u64) -> (Vec<Value>, Vec<Value>) {
    let opts = SimOptions {
        accounts,
        days: 2,
        seed,
        ..Default::default()
    };
    let (mut events, mut truth) = (Vec::new(), Vec::new());
    hearth_events::simulate::run(&opts, &mut events, &mut truth).unwrap();
    let mut replayed = Vec::new();
    hearth_events::replay::run(
        &Engine::new(EngineConfig::default()),
        &Enricher::none(),
        &events[..],
        &mut replayed,
        None::<Vec<u8>>,
        false,
    )
    .unwrap();
    let parse = |b: &[u8]| -> Vec<Value> {
        std::str::from_utf8(b)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    (parse(&events), parse(&replayed))
}

#[tokio::test]
async fn concurrent_accounts_are_batched_and_decided_as_replay_decides() {
    let (events, replayed) = simulated(24, 11);
    assert_eq!(events.len(), replayed.len());
    // Each account's events in order on its own connection, all accounts at once,
    // so the writer commits many accounts per transaction. Every event carries an id.
    let mut per_account: BTreeMap<String, Vec<(usize, Value)>> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        let mut e = e.clone();
        e["id"] = json!(format!("sim-{i}"));
        per_account
            .entry(e["account"].as_str().unwrap().to_owned())
            .or_default()
            .push((i, e));
    }
    assert!(per_account.len() >= 16, "{} accounts", per_account.len());
    let s = std::sync::Arc::new(TestServer::start(|_| {}).await);
    let send_all = |s: std::sync::Arc<TestServer>, last: usize| {
        let per_account = per_account.clone();
        async move {
            let mut tasks = Vec::new();
            for (_, mut evs) in per_account {
                evs.drain(..evs.len().saturating_sub(last));
                let s = s.clone();
                tasks.push(tokio::spawn(async move {
                    let c = reqwest::Client::new();
                    let mut got = Vec::new();
                    for (i, e) in evs {
                        let (status, d) = post(&c, &s, &e).await;
                        assert_eq!(status, 200, "event {i}: {d}");
                        got.push((i, d));
                    }
                    got
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.unwrap());
            }
            all
        }
    };
    let first = send_all(s.clone(), usize::MAX).await;
    assert_eq!(first.len(), events.len());
    for (i, d) in &first {
        assert_eq!(d, &replayed[*i], "event {i}: {}", events[*i]);
    }
    let versions: Vec<i64> = {
        let mut v = Vec::new();
        for a in per_account.keys() {
            v.push(version(&s, a).await);
        }
        v
    };
    let counted = decisions(&s);
    assert_eq!(counted, events.len() as u64);

    // Each account's latest events, as many as it remembers the ids of, delivered
    // again: the same answers, nothing applied twice.
    let kept = EngineConfig::default().applied_ids;
    let again = send_all(s.clone(), kept).await;
    assert!(
        again.len() >= kept * per_account.len() / 2,
        "{}",
        again.len()
    );
    for (i, d) in &again {
        assert_eq!(d, &replayed[*i], "redelivered event {i}");
    }
    for (a, v) in per_account.keys().zip(&versions) {
        assert_eq!(version(&s, a).await, *v, "{a}");
    }
    assert_eq!(decisions(&s), counted);
    std::sync::Arc::try_unwrap(s)
        .ok()
        .expect("no task holds the server")
        .stop()
        .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_queue_is_refused_at_once() {
    let db = hearth_store::testkit::test_db().await.unwrap();
    let config = AccessConfig {
        queue: 1,
        writers: 1,
        ..AccessConfig::default()
    };
    let writer = Writer::spawn(
        db.store.clone(),
        Engine::new(EngineConfig::default()),
        &config,
        Default::default(),
        Default::default(),
    );
    let ev = |account: &str| -> AccessEvent {
        serde_json::from_value(event(account, "tv-1", 0, None)).unwrap()
    };
    // On one thread the writer cannot run before both are queued: the second
    // finds the queue full and is refused without waiting.
    let (a, b) = tokio::join!(writer.submit(ev("q-1")), writer.submit(ev("q-2")));
    assert!(a.unwrap().fresh);
    assert!(
        matches!(&b, Err(ServiceError::Unavailable(m)) if m.contains("queue is full")),
        "{b:?}"
    );
    // Once drained, events are taken again.
    assert!(writer.submit(ev("q-2")).await.unwrap().fresh);
    db.cleanup().await;
}

/// `Writer::in_flight` counts an event from its submission to its answer, queued or
/// in a batch, and forgets it when its caller gives up.
#[tokio::test(flavor = "current_thread")]
async fn events_count_in_flight_until_answered() {
    use std::future::Future;
    let db = hearth_store::testkit::test_db().await.unwrap();
    let writer = Writer::spawn(
        db.store.clone(),
        Engine::new(EngineConfig::default()),
        &AccessConfig {
            writers: 1,
            ..AccessConfig::default()
        },
        Default::default(),
        Default::default(),
    );
    let ev = |account: &str| -> AccessEvent {
        serde_json::from_value(event(account, "tv-1", 0, None)).unwrap()
    };
    let poll_once = |f: &mut std::pin::Pin<Box<dyn Future<Output = _> + '_>>| {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(f.as_mut().poll(&mut cx).is_pending());
    };
    assert_eq!(writer.in_flight(), 0);
    // On one thread the writer cannot run while this test does not yield.
    let mut a: std::pin::Pin<Box<dyn Future<Output = _>>> = Box::pin(writer.submit(ev("f-1")));
    let mut b: std::pin::Pin<Box<dyn Future<Output = _>>> = Box::pin(writer.submit(ev("f-2")));
    let mut c: std::pin::Pin<Box<dyn Future<Output = _>>> = Box::pin(writer.submit(ev("f-3")));
    poll_once(&mut a);
    poll_once(&mut b);
    poll_once(&mut c);
    assert_eq!(writer.in_flight(), 3);
    drop(c);
    assert_eq!(
        writer.in_flight(),
        2,
        "a caller that gave up is not waited for"
    );
    let (a, b) = tokio::join!(a, b);
    assert!(a.unwrap().fresh && b.unwrap().fresh);
    assert_eq!(writer.in_flight(), 0);
    db.cleanup().await;
}

/// `apply`'s results, each expected to be Ok.
fn applied(
    out: Vec<hearth_server::service::ServiceResult<hearth_server::service::writer::Applied>>,
) -> Vec<hearth_server::service::writer::Applied> {
    out.into_iter().map(Result::unwrap).collect()
}

/// Which events of a batch were applied now, not before.
fn fresh(out: &[hearth_server::service::writer::Applied]) -> Vec<bool> {
    out.iter().map(|a| a.fresh).collect()
}

#[tokio::test]
async fn a_redelivered_id_among_fresh_events_is_answered_and_the_rest_committed() {
    use hearth_server::service::writer::{apply, StateCache};
    let db = hearth_store::testkit::test_db().await.unwrap();
    let store = db.store.clone();
    let engine = Engine::new(EngineConfig::default());
    let ev = |account: &str, minute: u32, id: &str| -> AccessEvent {
        serde_json::from_value(event(account, "tv-1", minute, Some(id))).unwrap()
    };
    let now = hearth_core::Timestamp(1_772_395_200_000);
    let mut cache = StateCache::new(100);
    let first = apply(
        store.as_ref(),
        &engine,
        &mut cache,
        &[ev("acc-1", 0, "ev-1")],
        now,
        false,
    )
    .await;
    let first = first.into_iter().next().unwrap().unwrap();
    assert!(first.fresh);

    // acc-1's state holds ev-1 with its decision: both the cache that committed
    // acc-1 and a cold one (another process, reading the stored state) answer it
    // from there, and commit the other accounts' events of the batch.
    for (round, mut cache) in [(1, cache), (2, StateCache::new(100))] {
        let batch = [
            ev(&format!("acc-{round}0"), 1, "ev-1"),
            ev("acc-1", 0, "ev-1"),
            ev(&format!("acc-{round}1"), 1, "ev-9"),
        ];
        let out = applied(apply(store.as_ref(), &engine, &mut cache, &batch, now, false).await);
        assert_eq!(fresh(&out), [true, false, true]);
        assert_eq!(out[1].decision, first.decision, "the stored decision");
        for account in [format!("acc-{round}0"), format!("acc-{round}1")] {
            let v = store
                .engine_state(&account)
                .await
                .unwrap()
                .map(|s| s.version);
            assert_eq!(v, Some(1), "{account}");
        }
        let v1 = store
            .engine_state("acc-1")
            .await
            .unwrap()
            .map(|s| s.version);
        assert_eq!(v1, Some(1), "acc-1 unchanged");
    }
    db.cleanup().await;
}

/// The effects of a classification, after the state is committed: pending, none.
async fn sharing(s: &TestServer, account: &str) -> Option<String> {
    s.app
        .store
        .sharing_of(account)
        .await
        .unwrap()
        .map(|r| r.sharing)
}

fn resold_events(account: &str) -> Vec<AccessEvent> {
    let opts = SimOptions {
        accounts: 1,
        days: 10,
        seed: 5,
        mix: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        ..Default::default()
    };
    let (mut out, mut truth) = (Vec::new(), Vec::new());
    hearth_events::simulate::run(&opts, &mut out, &mut truth).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let mut e: AccessEvent = serde_json::from_str(l).unwrap();
            e.account = hearth_core::AccountId::from(account);
            e
        })
        .collect()
}

#[tokio::test]
async fn effects_committed_before_a_crash_are_carried_out_by_a_sweep_once() {
    use hearth_server::service::writer::{apply, StateCache};
    let s = TestServer::start(|_| {}).await;
    let store = s.app.store.clone();
    // The wall clock: the server's own sweep (every 10 s) must not find them due.
    let now = hearth_server::service::now();
    let grace = hearth_store::EFFECTS_GRACE_MS;

    // A node commits a resold account's events and dies before carrying out what
    // follows from them: the analysts' queue knows nothing yet.
    let mut cache = StateCache::new(100);
    for e in resold_events("acc-crashed") {
        let out = apply(store.as_ref(), &s.app.engine, &mut cache, &[e], now, false).await;
        assert!(out[0].as_ref().unwrap().fresh);
    }
    assert_eq!(sharing(&s, "acc-crashed").await, None);
    let metrics = reqwest::get(s.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let gauge = |name: &str| -> f64 {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(gauge("hearth_engine_effects_pending") >= 1.0, "{metrics}");
    assert_eq!(gauge("hearth_engine_effects_overdue"), 0.0, "{metrics}");

    // Within the grace period nothing is taken from under the node that committed.
    assert_eq!(
        s.app
            .sweep_effects(hearth_core::Timestamp(now.0 + grace - 1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(sharing(&s, "acc-crashed").await, None);
    let swept = s
        .app
        .sweep_effects(hearth_core::Timestamp(now.0 + grace))
        .await
        .unwrap();
    assert!(swept > 0);
    assert_eq!(
        s.app
            .metrics
            .counter("hearth_engine_effects_swept_total", &[]),
        swept as u64
    );
    assert_eq!(sharing(&s, "acc-crashed").await.as_deref(), Some("resold"));
    let audited = |kind: &'static str| {
        let store = store.clone();
        async move {
            store
                .audit_for_account("acc-crashed", 100)
                .await
                .unwrap()
                .iter()
                .filter(|a| a.kind == kind)
                .count()
        }
    };
    assert_eq!(audited("account_classified_resold").await, 1);
    // Carried out once: the rows are gone.
    assert_eq!(
        s.app
            .sweep_effects(hearth_core::Timestamp(now.0 + 10 * grace))
            .await
            .unwrap(),
        0
    );
    assert_eq!(audited("account_classified_resold").await, 1);

    // Through the API the request carries them out itself, and their rows go.
    let c = reqwest::Client::new();
    for e in resold_events("acc-live") {
        let (st, d) = post(&c, &s, &serde_json::to_value(&e).unwrap()).await;
        assert_eq!(st, 200, "{d}");
    }
    assert_eq!(sharing(&s, "acc-live").await.as_deref(), Some("resold"));
    s.app.flush_effects().await;
    assert_eq!(
        s.app
            .sweep_effects(hearth_core::Timestamp(i64::MAX / 2))
            .await
            .unwrap(),
        0
    );
    s.stop().await;
}

#[tokio::test]
async fn effects_are_written_only_when_something_follows_from_them() {
    use hearth_core::{EventKind, Outcome, Sharing};
    use hearth_server::service::notify::Ownerless;
    use hearth_server::service::writer::{apply, StateCache, Transition};
    use std::sync::Arc;
    let db = hearth_store::testkit::test_db().await.unwrap();
    let engine = Engine::new(EngineConfig::default());
    let now = hearth_core::Timestamp(1_772_395_200_000);

    // What the engine alone says of these events: verdict changes that keep the
    // account a household (more devices, say), and devices asked to verify.
    let events = resold_events("acc-x");
    let (mut state, mut quiet, mut loud, mut verify) = (Default::default(), 0, 0, 0);
    for e in &events {
        let before = engine.verdict_basis(&state, e.ts);
        let d = engine.decide(&mut state, e, e.ts);
        let after = engine.verdict_basis(&state, e.ts);
        if after.differs_from(&before) {
            if Transition::matters(&before, &after) {
                loud += 1;
            } else {
                quiet += 1;
            }
        }
        verify += usize::from(d.decision == Outcome::Verify && e.kind != EventKind::SignIn);
    }
    assert!(
        quiet > 0 && loud > 0 && verify > 0,
        "{quiet} {loud} {verify}"
    );

    let ownerless = Arc::new(Ownerless::default());
    ownerless.insert("acc-ghost");
    for (account, verifications) in [("acc-owned", verify), ("acc-ghost", 0)] {
        let batch: Vec<AccessEvent> = events
            .iter()
            .cloned()
            .map(|mut e| {
                e.account = hearth_core::AccountId::from(account);
                e
            })
            .collect();
        let mut cache = StateCache::new(100).with_ownerless(ownerless.clone());
        let out = apply(db.store.as_ref(), &engine, &mut cache, &batch, now, false).await;
        let effects: Vec<_> = out
            .into_iter()
            .filter_map(|r| r.unwrap().effects)
            .map(|(_, e)| e)
            .collect();
        // One row for the account's batch, carried by its last event.
        assert_eq!(effects.len(), 1, "{account}");
        let effects = &effects[0];
        assert_eq!(effects.transitions.len(), loud, "{account}");
        assert!(effects.transitions.iter().all(
            |t| t.before.sharing != Sharing::Household || t.after.sharing != Sharing::Household
        ));
        // Nobody to tell of a device asked to verify on an account without an owner.
        assert_eq!(effects.verifications.len(), verifications, "{account}");
    }
    db.cleanup().await;
}

/// A database written before applied ids moved into the state: its `applied_events`
/// rows still answer their events, until they age out.
#[tokio::test]
async fn ids_applied_before_they_moved_into_the_state_still_count_once() {
    use hearth_server::service::writer::{apply, StateCache};
    let dir = std::env::temp_dir().join(format!("hearth-legacy-writer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let sqlite = hearth_store::SqliteStore::connect(&url).await.unwrap();
    let engine = Engine::new(EngineConfig::default());
    let ev = |minute: u32, id: &str| -> AccessEvent {
        serde_json::from_value(event("acc-1", "tv-1", minute, Some(id))).unwrap()
    };
    // The decision an older node gave "old-1", as it stored it.
    let mut scratch = hearth_core::engine::AccountState::default();
    let old = engine.decide(&mut scratch, &ev(0, "old-1"), ev(0, "old-1").ts);
    sqlx::query("INSERT INTO applied_events (account, event_id, decision, applied_at) VALUES ('acc-1', 'old-1', $1, $2)")
        .bind(serde_json::to_string(&old).unwrap())
        .bind(hearth_core::Timestamp(1_772_395_200_000).0)
        .execute(sqlite.pool())
        .await
        .unwrap();
    let store: std::sync::Arc<dyn hearth_store::Store> = std::sync::Arc::new(sqlite);

    // Read while rows remain: the old id gets its stored decision, the new one is applied.
    let now = hearth_core::Timestamp(1_772_395_260_000);
    let batch = [ev(0, "old-1"), ev(1, "new-1")];
    let mut cache = StateCache::new(10);
    let out = applied(apply(store.as_ref(), &engine, &mut cache, &batch, now, true).await);
    assert_eq!(fresh(&out), [false, true]);
    assert_eq!(out[0].decision, old);

    // The writer finds the rows by itself. This one is older than
    // `[access] applied_ids_days`: after that batch the writer prunes it, and the
    // table is empty from then on.
    let writer = Writer::spawn(
        store.clone(),
        engine.clone(),
        &AccessConfig::default(),
        Default::default(),
        Default::default(),
    );
    let again = writer.submit(ev(0, "old-1")).await.unwrap();
    assert!(!again.fresh);
    assert_eq!(again.decision, old);
    for _ in 0..100 {
        if !store.any_applied_events().await.unwrap() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!store.any_applied_events().await.unwrap());
    assert!(writer.submit(ev(2, "new-2")).await.unwrap().fresh);
    let _ = std::fs::remove_dir_all(&dir);
}
