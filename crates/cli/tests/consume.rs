//! `hearth consume` against the NATS JetStream server on 127.0.0.1:4222: events
//! published to a stream, the consumer killed (SIGKILL) midway and started again, and
//! in the end exactly one decision per event, identical to `hearth replay` on the same
//! events; malformed messages are reported with their stream sequence and skipped.
//!
//! The store is SQLite in a temporary folder, or a fresh PostgreSQL schema when
//! `HEARTH_TEST_DATABASE_URL` names one (CI runs both).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_nats::jetstream::{self, stream};
use hearth_core::engine::{AccountState, Engine, EngineConfig};
use hearth_events::geo::Enricher;
use hearth_events::read::parse_line;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NATS: &str = "nats://127.0.0.1:4222";

/// Names no other test run (or agent) on this NATS server uses.
struct Names {
    stream: String,
    subject: String,
    consumer: String,
    decisions_subject: String,
    decisions_stream: String,
}

impl Names {
    fn unique() -> Names {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000_000;
        let u = format!("{}_{t}", std::process::id());
        Names {
            stream: format!("HEARTH_TEST_{u}_EVENTS"),
            subject: format!("hearth-test.{u}.events"),
            consumer: format!("consume-{u}"),
            decisions_subject: format!("hearth-test.{u}.decisions"),
            decisions_stream: format!("HEARTH_TEST_{u}_DECISIONS"),
        }
    }
}

/// Deletes the test's streams (and with them the consumer), pass or fail.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let names = std::mem::take(&mut self.0);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(client) = async_nats::connect(NATS).await {
                    let js = jetstream::new(client);
                    for n in names {
                        let _ = js.delete_stream(&n).await;
                    }
                }
            });
        })
        .join();
    }
}

/// A running `hearth consume`, its log lines collected.
struct Consumer {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

fn start_consume(
    names: &Names,
    data: &Path,
    database_url: &str,
    extra: &[&str],
    log: &Arc<Mutex<Vec<String>>>,
) -> Consumer {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
    // The test's own settings (HEARTH_TEST_DATABASE_URL…) are not the service's.
    for (var, _) in std::env::vars().filter(|(v, _)| v.starts_with("HEARTH_")) {
        cmd.env_remove(var);
    }
    cmd.args(["consume", "--nats", NATS])
        .args(["--stream", &names.stream, "--subject", &names.subject])
        .args(["--consumer", &names.consumer])
        .args(["--decisions-subject", &names.decisions_subject])
        .args(["--decisions-stream", &names.decisions_stream])
        .arg("--data-dir")
        .arg(data)
        .args(["--database-url", database_url])
        .args(extra)
        // A small window and batch, so the kill finds work in flight.
        .env("HEARTH_CONSUME__WINDOW", "16")
        .env("HEARTH_CONSUME__MAX_ACK_PENDING", "64")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("hearth consume starts");
    let stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Consumer {
        child,
        log: log.clone(),
        reader: Some(reader),
    }
}

impl Consumer {
    fn kill_hard(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
    }

    fn stop(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("hearth consume did not stop on SIGTERM:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        status.success()
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    fn text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

fn hearth(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hearth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn stored(js: &jetstream::Context, name: &str) -> u64 {
    js.get_stream(name)
        .await
        .map(|s| s.cached_info().state.messages)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_killed_midway_decides_every_event_exactly_once_like_replay() {
    let names = Names::unique();
    let _cleanup = Cleanup(vec![names.stream.clone(), names.decisions_stream.clone()]);
    let dir = std::env::temp_dir().join(format!("hearth-consume-{}", names.consumer));
    std::fs::create_dir_all(&dir).unwrap();
    let (events_file, decisions_file) = (dir.join("events.jsonl"), dir.join("replayed.jsonl"));
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    hearth(&[
        "simulate",
        "--accounts",
        "40",
        "--days",
        "3",
        "--seed",
        "11",
        "--events",
        &s(&events_file),
        "--truth",
        &s(&dir.join("truth.jsonl")),
    ]);
    hearth(&[
        "replay",
        &s(&events_file),
        "--decisions",
        &s(&decisions_file),
    ]);
    let events: Vec<String> = std::fs::read_to_string(&events_file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let replayed: Vec<Value> = std::fs::read_to_string(&decisions_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), replayed.len());
    assert!(events.len() > 1000, "{} events", events.len());

    // Publish every event, two malformed messages among them (one early, one last)
    // and a few events that carry their own id.
    let client = async_nats::connect(NATS)
        .await
        .expect("NATS with JetStream on 127.0.0.1:4222 (`.ci/run` starts it)");
    let js = jetstream::new(client);
    js.create_stream(stream::Config {
        name: names.stream.clone(),
        subjects: vec![names.subject.clone()],
        max_age: Duration::from_secs(3600),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut expected: HashMap<String, Value> = HashMap::new();
    // Each event's id as consume gives it: the platform's, else the stream position.
    let mut ids = vec![String::new(); events.len()];
    let mut malformed = Vec::new();
    let mut acks = Vec::new();
    let mut what = Vec::new();
    for (i, line) in events.iter().enumerate() {
        if i == 7 {
            acks.push(
                js.publish(names.subject.clone(), "{not json".into())
                    .await
                    .unwrap(),
            );
            what.push(None);
        }
        let (payload, own) = if i % 97 == 5 {
            let own = format!("platform-event-{i}");
            let with_id = format!("{},\"id\":\"{own}\"}}", line.trim_end_matches('}'));
            (with_id, Some(own))
        } else {
            (line.clone(), None)
        };
        acks.push(
            js.publish(names.subject.clone(), payload.into())
                .await
                .unwrap(),
        );
        what.push(Some((i, own)));
    }
    let no_ip = r#"{"ts":"2026-03-01T20:15:00Z","account":"a-1","device":"d-1","device_type":"tv","kind":"playback"}"#;
    acks.push(
        js.publish(names.subject.clone(), no_ip.into())
            .await
            .unwrap(),
    );
    what.push(None);
    for (ack, what) in acks.into_iter().zip(what) {
        let seq = ack.await.unwrap().sequence;
        match what {
            None => malformed.push(seq),
            Some((i, own)) => {
                let id = own.unwrap_or_else(|| format!("{}:{seq}", names.stream));
                expected.insert(id.clone(), replayed[i].clone());
                ids[i] = id;
            }
        }
    }
    assert_eq!(expected.len(), events.len());

    let db = hearth_store::testkit::test_db().await.unwrap();
    let data = dir.join("data");
    let log = Arc::new(Mutex::new(Vec::new()));

    // First run: killed once part, not all, of the decisions are out.
    let first = start_consume(&names, &data, &db.url, &[], &log);
    let total = expected.len() as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut first = first;
    loop {
        let n = stored(&js, &names.decisions_stream).await;
        if n >= 150 {
            break;
        }
        assert!(!first.exited(), "consume exited early:\n{}", first.text());
        assert!(Instant::now() < deadline, "no progress:\n{}", first.text());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.kill_hard();
    let at_kill = stored(&js, &names.decisions_stream).await;
    assert!(
        at_kill < total,
        "the kill came after the last decision ({at_kill} of {total}): nothing was interrupted"
    );

    // Second run: picks up where the first stopped.
    let metrics_flag = ["--metrics-listen", "127.0.0.1:0"];
    let mut second = start_consume(&names, &data, &db.url, &metrics_flag, &log);
    let deadline = Instant::now() + Duration::from_secs(60);
    let events_stream = js.get_stream(&names.stream).await.unwrap();
    loop {
        let n = stored(&js, &names.decisions_stream).await;
        let idle = events_stream
            .consumer_info(&names.consumer)
            .await
            .map(|c| c.num_pending == 0 && c.num_ack_pending == 0)
            .unwrap_or(false);
        if n >= total && idle {
            break;
        }
        assert!(!second.exited(), "consume exited:\n{}", second.text());
        assert!(
            Instant::now() < deadline,
            "{n} of {total} decisions after 60 s:\n{}",
            second.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The second run met the last malformed message: its counter says so.
    let metrics_url = second
        .text()
        .lines()
        .find_map(|l| l.split("metrics at ").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap().to_owned())
        .expect("the metrics address is logged");
    let metrics = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "hearth_consume_malformed_events_total 1"),
        "{metrics}"
    );
    assert!(
        second.stop(),
        "SIGTERM ends it cleanly:\n{}",
        log.lock().unwrap().join("\n")
    );
    let text = log.lock().unwrap().join("\n");

    // Every decision, read back from the decisions stream.
    let decisions = js.get_stream(&names.decisions_stream).await.unwrap();
    let last = decisions.cached_info().state.last_sequence;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for seq in 1..=last {
        let m = decisions.get_raw_message(seq).await.unwrap();
        let mut got: Value = serde_json::from_slice(&m.payload).unwrap();
        let id = got["event_id"].as_str().unwrap().to_owned();
        let header = m.headers.get("Nats-Msg-Id").map(|v| v.as_str().to_owned());
        assert_eq!(header.as_deref(), Some(id.as_str()), "deduplication header");
        *seen.entry(id.clone()).or_default() += 1;
        got.as_object_mut().unwrap().remove("event_id");
        let want = expected
            .get(&id)
            .unwrap_or_else(|| panic!("a decision for an unknown event {id}"));
        assert_eq!(&got, want, "event {id}: consume and replay disagree");
    }
    let doubles: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(doubles.is_empty(), "events decided twice: {doubles:?}");
    let missing: Vec<_> = expected
        .keys()
        .filter(|id| !seen.contains_key(*id))
        .collect();
    assert!(missing.is_empty(), "events never decided: {missing:?}");
    assert!(seen.keys().any(|id| id.starts_with("platform-event-")));

    // The malformed messages were named by stream sequence and skipped.
    for seq in &malformed {
        assert!(
            text.contains(&format!(
                "malformed access event skipped (stream sequence {seq})"
            )),
            "sequence {seq} not reported:\n{text}"
        );
    }
    assert!(
        text.contains("events decided"),
        "a summary at the end:\n{text}"
    );

    // Nothing was counted twice: each account's stored engine state is the state
    // the engine reaches over the events once each, in order, with their ids.
    let engine = Engine::new(EngineConfig::default());
    let mut states: BTreeMap<String, AccountState> = BTreeMap::new();
    for (i, line) in events.iter().enumerate() {
        let mut ev = parse_line(line.as_bytes(), i as u64 + 1).unwrap().unwrap();
        Enricher::none().enrich(&mut ev);
        ev.id = Some(ids[i].clone());
        let state = states.entry(ev.account.as_str().to_owned()).or_default();
        engine.decide(state, &ev, ev.ts);
    }
    let mut differ = Vec::new();
    for (account, once) in &states {
        let row = db.store.engine_state(account).await.unwrap().unwrap();
        let stored: AccountState = serde_json::from_str(&row.state).unwrap();
        if serde_json::to_value(&stored).unwrap() != serde_json::to_value(once).unwrap() {
            differ.push(account);
        }
    }
    assert!(
        differ.is_empty(),
        "accounts whose stored state counts an event twice or misses one: {differ:?}"
    );

    db.cleanup().await;
    let _ = std::fs::remove_dir_all(&dir);
}
