//! The outbox worker against scripted transports: retries up to the limit, timeouts,
//! leases that hand a crashed worker's messages back, and a clean shutdown.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hearth_core::outbox::{NewOutboxMessage, OutboxChannel, OutboxMessage, OutboxStatus};
use hearth_core::time::{MINUTE, SECOND};
use hearth_core::Timestamp;
use hearth_courier::{
    wall_clock, Courier, DevMailbox, MemoryOutbox, Outbox, RetryPolicy, SendError, Transport,
    WorkerConfig,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const T0: Timestamp = Timestamp(1_772_396_100_000);

/// Answers from a script, then succeeds; counts calls.
#[derive(Default)]
struct Scripted {
    script: Mutex<VecDeque<Result<(), SendError>>>,
    calls: Mutex<Vec<i64>>,
}

impl Scripted {
    fn new(script: Vec<Result<(), SendError>>) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(script.into()),
            calls: Mutex::default(),
        })
    }
    fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

#[async_trait::async_trait]
impl Transport for Scripted {
    async fn send(&self, msg: &OutboxMessage) -> Result<(), SendError> {
        self.calls.lock().unwrap().push(msg.id);
        self.script.lock().unwrap().pop_front().unwrap_or(Ok(()))
    }
}

/// Never answers.
struct Silent;

#[async_trait::async_trait]
impl Transport for Silent {
    async fn send(&self, _msg: &OutboxMessage) -> Result<(), SendError> {
        std::future::pending::<()>().await;
        Ok(())
    }
}

fn message(channel: OutboxChannel, to: &str) -> NewOutboxMessage {
    NewOutboxMessage {
        channel,
        to: to.into(),
        subject: Some("s".into()),
        body_text: "Your code 123456".into(),
        body_html: None,
        purpose: "device_verification".into(),
        dedupe_key: None,
    }
}

fn courier(email: Arc<dyn Transport>, sms: Arc<dyn Transport>, retry: RetryPolicy) -> Courier {
    Courier::new(email, sms, retry, WorkerConfig::default()).unwrap()
}

#[tokio::test]
async fn transient_failures_go_dead_after_max_attempts() {
    let transient = || Err(SendError::Transient("connection refused".into()));
    let email = Scripted::new((0..10).map(|_| transient()).collect());
    let retry = RetryPolicy {
        max_attempts: 4,
        jitter: 0.0,
        ..RetryPolicy::default()
    };
    let c = courier(email.clone(), Scripted::new(vec![]), retry);
    let outbox = MemoryOutbox::new();
    let id = outbox.enqueue(message(OutboxChannel::Email, "a@example.org"), T0);
    let mut now = T0;
    let mut waits = Vec::new();
    for _ in 0..3 {
        let s = c.drain_once(&outbox, now).await.unwrap();
        assert_eq!(s.retried, 1);
        let m = outbox.get(id).unwrap();
        waits.push(m.next_attempt_at.since(now));
        now = m.next_attempt_at;
    }
    // Without jitter the waits are exactly base × 2^n.
    assert_eq!(waits, vec![30 * SECOND, 60 * SECOND, 120 * SECOND]);
    let s = c.drain_once(&outbox, now).await.unwrap();
    assert_eq!(s.dead, 1);
    let m = outbox.get(id).unwrap();
    assert_eq!((m.status, m.attempts), (OutboxStatus::Dead, 4));
    assert!(m.last_error.unwrap().contains("gave up after 4 attempts"));
    assert_eq!(email.calls(), 4);
}

#[tokio::test]
async fn messages_are_routed_by_channel() {
    let email = Scripted::new(vec![]);
    let sms = Scripted::new(vec![]);
    let c = courier(email.clone(), sms.clone(), RetryPolicy::default());
    let outbox = MemoryOutbox::new();
    let e = outbox.enqueue(message(OutboxChannel::Email, "a@example.org"), T0);
    let t = outbox.enqueue(message(OutboxChannel::Sms, "+15550100"), T0);
    assert_eq!(c.drain_once(&outbox, T0).await.unwrap().sent, 2);
    assert_eq!(*email.calls.lock().unwrap(), vec![e]);
    assert_eq!(*sms.calls.lock().unwrap(), vec![t]);
}

#[tokio::test(start_paused = true)]
async fn a_send_that_never_answers_times_out_as_transient() {
    let c = courier(
        Arc::new(Silent),
        Scripted::new(vec![]),
        RetryPolicy::default(),
    );
    let outbox = MemoryOutbox::new();
    let id = outbox.enqueue(message(OutboxChannel::Email, "a@example.org"), T0);
    let s = c.drain_once(&outbox, T0).await.unwrap();
    assert_eq!(s.retried, 1);
    let m = outbox.get(id).unwrap();
    assert_eq!(m.status, OutboxStatus::Pending);
    assert!(m.last_error.unwrap().contains("no answer"));
}

#[tokio::test]
async fn a_worker_that_dies_mid_send_has_its_messages_delivered_after_the_lease() {
    let outbox = MemoryOutbox::new();
    let id = outbox.enqueue(message(OutboxChannel::Sms, "+15550100"), T0);
    // A worker claims the message and dies before recording anything.
    let claimed = outbox.claim_due(T0, T0.plus(2 * MINUTE), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(outbox.get(id).unwrap().status, OutboxStatus::Sending);

    let sms = Scripted::new(vec![]);
    let c = courier(Scripted::new(vec![]), sms.clone(), RetryPolicy::default());
    // While the lease holds, nobody else takes it.
    assert_eq!(
        c.drain_once(&outbox, T0.plus(MINUTE))
            .await
            .unwrap()
            .claimed,
        0
    );
    // Once it lapses, the next worker delivers it.
    let s = c.drain_once(&outbox, T0.plus(2 * MINUTE)).await.unwrap();
    assert_eq!(s.sent, 1);
    assert_eq!(outbox.get(id).unwrap().status, OutboxStatus::Sent);
    assert_eq!(sms.calls(), 1);
}

#[tokio::test]
async fn duplicate_dedupe_keys_queue_one_message() {
    let outbox = MemoryOutbox::new();
    let mut m = message(OutboxChannel::Email, "a@example.org");
    m.dedupe_key = Some("verify:a-17:d-3:1".into());
    let a = outbox.enqueue(m.clone(), T0);
    let b = outbox.enqueue(m, T0);
    assert_eq!(a, b);
    assert_eq!(outbox.all().len(), 1);
}

#[tokio::test]
async fn run_delivers_and_stops_on_shutdown() {
    let dev = DevMailbox::default();
    let c = Courier::new(
        Arc::new(dev.clone()),
        Arc::new(dev.clone()),
        RetryPolicy::default(),
        WorkerConfig {
            poll_ms: 10,
            ..WorkerConfig::default()
        },
    )
    .unwrap();
    let outbox = MemoryOutbox::new();
    outbox.enqueue(message(OutboxChannel::Email, "a@example.org"), wall_clock());
    let (tx, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(c.run(Arc::new(outbox.clone()), rx));
    // Wait (boundedly) for the delivery, then ask the worker to stop.
    for _ in 0..500 {
        if !dev.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(dev.len(), 1);
    tx.send(true).unwrap();
    worker.await.unwrap();
    assert_eq!(outbox.all()[0].status, OutboxStatus::Sent);
}

#[tokio::test]
async fn run_stops_when_the_shutdown_sender_is_dropped() {
    let dev = DevMailbox::default();
    let c = Courier::new(
        Arc::new(dev.clone()),
        Arc::new(dev),
        RetryPolicy::default(),
        WorkerConfig::default(),
    )
    .unwrap();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(c.run(Arc::new(MemoryOutbox::new()), rx));
    drop(tx);
    worker.await.unwrap();
}
