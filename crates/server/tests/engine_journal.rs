//! Write-back behind the engine journal (SQLite, one process owning the states;
//! docs/write-path.md, step 2): a process that dies with states not yet written back
//! loses none of them, since the next start replays the journal to exactly the
//! states `hearth replay` reaches; states reach the table once due; readers see the
//! writer's states before they do; a second process on the same database is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::engine::{AccountState, Engine, EngineConfig};
use hearth_core::AccessEvent;
use hearth_events::simulate::SimOptions;
use hearth_server::app::App;
use hearth_server::config::Config;
use hearth_store::{EngineJournal, SqliteStore, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!(
            "hearth-journal-{name}-{}-{}",
            std::process::id(),
            hearth_store::unique_token()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.0.join("hearth.db").display())
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn app(dir: &Path, url: &str, write_back_ms: u64) -> (Arc<App>, Arc<SqliteStore>) {
    let store = Arc::new(SqliteStore::connect(url).await.unwrap());
    let mut config = Config {
        data_dir: dir.to_owned(),
        database_url: url.to_owned(),
        ..Config::default()
    };
    config.access.write_back_ms = write_back_ms;
    let app = Arc::new(App::build(config, store.clone() as Arc<dyn Store>).unwrap());
    app.start_writer().await.unwrap();
    (app, store)
}

/// A simulated stream over `accounts` accounts, every event with an id.
fn stream(accounts: usize, seed: u64) -> Vec<AccessEvent> {
    let opts = SimOptions {
        accounts,
        days: 2,
        seed,
        ..Default::default()
    };
    let (mut events, mut truth) = (Vec::new(), Vec::new());
    hearth_events::simulate::run(&opts, &mut events, &mut truth).unwrap();
    std::str::from_utf8(&events)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut e: AccessEvent = serde_json::from_str(l).unwrap();
            e.id = Some(format!("ev-{i}"));
            e
        })
        .collect()
}

/// Each account's state after its events, decided one by one as replay does.
fn replayed(events: &[AccessEvent]) -> BTreeMap<String, AccountState> {
    let engine = Engine::new(EngineConfig::default());
    let mut states: BTreeMap<String, AccountState> = BTreeMap::new();
    for e in events {
        let st = states.entry(e.account.as_str().to_owned()).or_default();
        engine.decide(st, e, e.ts);
    }
    states
}

/// Sends each account's events in order, all accounts at once, so batches hold many.
async fn send_all(app: &Arc<App>, events: &[AccessEvent]) {
    let mut per_account: BTreeMap<String, Vec<AccessEvent>> = BTreeMap::new();
    for e in events {
        per_account
            .entry(e.account.as_str().to_owned())
            .or_default()
            .push(e.clone());
    }
    let tasks: Vec<_> = per_account
        .into_values()
        .map(|evs| {
            let app = app.clone();
            tokio::spawn(async move {
                for e in evs {
                    app.access(e).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

fn json(state: &AccountState) -> serde_json::Value {
    serde_json::to_value(state).unwrap()
}

#[test]
fn a_process_killed_before_writing_back_loses_no_state() {
    let dir = Dir::new("crash");
    let url = dir.url();
    let events = stream(12, 5);
    let (first, rest) = events.split_at(events.len() * 2 / 3);
    let expected = replayed(&events);
    let last = first.last().unwrap();

    // The first process: a write-back due in an hour, so every state is still only in
    // its memory and in the journal when it dies. Its runtime goes first, with the
    // writer task unpolled, and then the app: nothing is written back on the way out.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (dead, decided_first) = rt.block_on(async {
        let (app, store) = app(&dir.0, &url, 3_600_000).await;
        send_all(&app, first).await;
        let some = first[0].account.as_str();
        assert!(
            store.engine_state(some).await.unwrap().is_none(),
            "nothing is written back before it is due"
        );
        assert!(
            app.engine_state(some).await.unwrap().is_some(),
            "the writer's state is read before it reaches the table"
        );
        assert!(!store.journal().await.unwrap().is_empty());
        // Sent again: its first decision (its account keeps its latest 16 ids).
        let decided = app.access(last.clone()).await.unwrap();
        ((app, store), decided)
    });
    drop(rt);
    drop(dead);

    // The next process replays the journal before taking events, then goes on.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (app, store) = app(&dir.0, &url, 3_600_000).await;
        // Recovery wrote the replayed states back and cut the journal to its last row.
        assert_eq!(store.journal().await.unwrap().len(), 1);
        // An event applied before the kill is answered with its first decision.
        let again = app.access(last.clone()).await.unwrap();
        assert_eq!(again, decided_first);
        send_all(&app, rest).await;
        for (account, want) in &expected {
            let got = app.engine_state(account).await.unwrap().unwrap();
            assert_eq!(json(&got), json(want), "state of {account}");
        }
        app.flush_writer().await;
        for (account, want) in &expected {
            let stored = store.engine_state(account).await.unwrap().unwrap();
            let got: AccountState = serde_json::from_str(&stored.state).unwrap();
            assert_eq!(json(&got), json(want), "stored state of {account}");
        }
    });
}

#[tokio::test]
async fn states_are_written_back_once_due_and_the_journal_is_cut() {
    let dir = Dir::new("due");
    let url = dir.url();
    let events = stream(6, 9);
    let expected = replayed(&events);
    let (app, store) = app(&dir.0, &url, 200).await;
    send_all(&app, &events).await;
    // Written back by the writer's own timer once the write path is idle.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut stored = BTreeMap::new();
        for account in expected.keys() {
            if let Some(s) = store.engine_state(account).await.unwrap() {
                let st: AccountState = serde_json::from_str(&s.state).unwrap();
                stored.insert(account.clone(), json(&st));
            }
        }
        let want: BTreeMap<String, serde_json::Value> =
            expected.iter().map(|(a, s)| (a.clone(), json(s))).collect();
        if stored == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "states not written back: {} of {} stored as replay has them",
            stored
                .iter()
                .filter(|(a, s)| want.get(*a) == Some(s))
                .count(),
            want.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every row but the last, which says where the next commit goes on from.
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.journal().await.unwrap().len() > 1 {
        assert!(Instant::now() < deadline, "the journal was not cut");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_second_process_on_the_database_is_refused() {
    let dir = Dir::new("second");
    let url = dir.url();
    let (app_a, _store_a) = app(&dir.0, &url, 5_000).await;
    let b = SqliteStore::connect(&url).await.unwrap();
    let refused = b.lock_engine_state(false).unwrap_err().to_string();
    assert!(
        refused.contains("another hearth process")
            && refused.contains(&std::process::id().to_string()),
        "{refused}"
    );
    // The same, as `hearth serve` would see it at start.
    let config = Config {
        data_dir: dir.0.clone(),
        database_url: url.clone(),
        ..Config::default()
    };
    let app_b = App::build(config, Arc::new(b) as Arc<dyn Store>).unwrap();
    let e = app_b.start_writer().await.unwrap_err().to_string();
    assert!(e.contains("another hearth process"), "{e}");
    drop(app_a);
    drop(_store_a);
}
