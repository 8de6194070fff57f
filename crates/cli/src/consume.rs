//! `hearth consume`: access events from a NATS JetStream stream through the same
//! engine and store as `hearth serve`, each decision published back to JetStream.
//!
//! Delivery is at least once and its effect exactly once: an event is acknowledged
//! only after its decision is persisted (`App::access`) and the broker has stored the
//! published decision; a redelivered event carries the same event id, so the store
//! answers it with the stored decision and the broker drops the republished decision
//! (`Nats-Msg-Id`). Events are decided one at a time in stream order, because the
//! engine's answer for an account depends on the account's earlier events.

use crate::serve::{init_logging, stop_signal};
use anyhow::{anyhow, Context};
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::{AckKind, PublishMessage};
use async_nats::jetstream::{self, stream};
use futures_util::StreamExt;
use hearth_core::{AccessEvent, Decision, Outcome};
use hearth_server::app::App;
use hearth_server::config::{Config, ConsumeConfig, Overrides};
use hearth_server::service::ServiceError;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tracing::{info, warn};

#[derive(clap::Args)]
pub struct ConsumeArgs {
    /// NATS server [default: nats://127.0.0.1:4222].
    #[arg(long)]
    nats: Option<String>,
    /// JetStream stream of access events, created if absent [default: HEARTH_EVENTS].
    #[arg(long)]
    stream: Option<String>,
    /// Subject the access events are published on [default: hearth.events].
    #[arg(long)]
    subject: Option<String>,
    /// Durable consumer name, where reading resumes [default: hearth-consume].
    #[arg(long)]
    consumer: Option<String>,
    /// Subject each decision is published on [default: hearth.decisions].
    #[arg(long)]
    decisions_subject: Option<String>,
    /// Stream created for the decisions if no stream captures their subject
    /// [default: HEARTH_DECISIONS].
    #[arg(long)]
    decisions_stream: Option<String>,
    /// Serve Prometheus `GET /metrics` here while consuming (e.g. 127.0.0.1:9464).
    #[arg(long)]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Folder for the SQLite database and generated secrets [default: ./hearth-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://USER@HOST/DB` (the same store as `hearth serve`).
    #[arg(long)]
    database_url: Option<String>,
    /// TOML configuration file (also HEARTH_CONFIG); settings in its `[consume]` section.
    #[arg(long, env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,
}

pub fn run(args: ConsumeArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        data_dir: args.data_dir,
        database_url: args.database_url,
        ..Default::default()
    };
    let mut config = Config::load(args.config.as_deref(), std::env::vars(), &overrides)?;
    let c = &mut config.consume;
    let flags = [
        (&mut c.nats, args.nats),
        (&mut c.stream, args.stream),
        (&mut c.subject, args.subject),
        (&mut c.consumer, args.consumer),
        (&mut c.decisions_subject, args.decisions_subject),
        (&mut c.decisions_stream, args.decisions_stream),
    ];
    for (setting, flag) in flags {
        if let Some(v) = flag {
            *setting = v;
        }
    }
    if let Some(addr) = args.metrics_listen {
        c.metrics_listen = Some(addr);
    }
    check(&config.consume)?;
    init_logging(&config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(consume(config))
}

fn check(c: &ConsumeConfig) -> anyhow::Result<()> {
    let names = [
        ("stream", &c.stream),
        ("consumer", &c.consumer),
        ("decisions_stream", &c.decisions_stream),
    ];
    for (what, name) in names {
        if name.is_empty() || name.contains(|ch: char| ".*> \t/\\".contains(ch)) {
            anyhow::bail!("consume.{what}: {name:?} is not a JetStream name (no dots, spaces, `*`, `>` or slashes)");
        }
    }
    for (what, subject) in [
        ("subject", &c.subject),
        ("decisions_subject", &c.decisions_subject),
    ] {
        if subject.is_empty() || subject.contains(char::is_whitespace) {
            anyhow::bail!("consume.{what}: {subject:?} is not a NATS subject");
        }
    }
    if c.subject == c.decisions_subject {
        anyhow::bail!("consume.decisions_subject must differ from consume.subject");
    }
    if c.max_ack_pending < 1 || c.ack_wait_secs < 1 || c.window < 1 {
        anyhow::bail!("consume.max_ack_pending, ack_wait_secs and window must be at least 1");
    }
    Ok(())
}

async fn consume(config: Config) -> anyhow::Result<()> {
    let settings = config.consume.clone();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data folder {}", config.data_dir.display()))?;
    let store = hearth_store::open(&config.database_url())
        .await
        .context("opening the store")?;
    let app = Arc::new(App::build(config, store)?);
    app.start_writer()
        .await
        .context("starting the write path")?;
    let client = async_nats::ConnectOptions::new()
        .name("hearth consume")
        .connect(settings.nats.as_str())
        .await
        .with_context(|| format!("connecting to NATS at {}", settings.nats))?;
    let js = jetstream::new(client.clone());
    let events = events_stream(&js, &settings).await?;
    let decisions_stream = decisions_stream(&js, &settings).await?;
    let consumer = durable_consumer(&events, &settings).await?;
    if let Some(addr) = settings.metrics_listen {
        serve_metrics(&app, addr).await?;
    }
    // Notices the engine triggers (an account found shared or resold) are delivered
    // from here as by `hearth serve`.
    let (stop_courier, courier_stop) = tokio::sync::watch::channel(false);
    let courier =
        hearth_server::outbox::start(&app, courier_stop).map_err(|e| anyhow!("courier: {e}"))?;
    // Effects committed with the engine's state are deleted once carried out, and any
    // a crashed node (or an earlier run of this one) left behind are carried out.
    let effects = tokio::spawn(hearth_server::service::effects::run(app.clone()));
    info!(
        stream = %settings.stream,
        subject = %settings.subject,
        consumer = %settings.consumer,
        decisions_subject = %settings.decisions_subject,
        decisions_stream = %decisions_stream,
        store = app.store.backend(),
        "consuming access events"
    );
    let mut run = Run {
        app: app.clone(),
        js,
        settings,
        pending: VecDeque::new(),
        latest: HashMap::new(),
        tally: Tally::default(),
        started: Instant::now(),
    };
    let result = run.run(&consumer).await;
    effects.abort();
    app.flush_effects().await;
    app.flush_writer().await;
    let _ = stop_courier.send(true);
    let _ = courier.await;
    // Acknowledgements are sent without waiting for a reply: let them leave.
    let flushed = client.flush().await;
    run.tally.summary(run.started.elapsed(), result.is_ok());
    result?;
    flushed.context("flushing the last acknowledgements to NATS")?;
    Ok(())
}

/// `GET /metrics` (the service's Prometheus handler) on `addr`, in the background.
async fn serve_metrics(app: &Arc<App>, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening for /metrics on {addr}"))?;
    let local = listener
        .local_addr()
        .context("reading the metrics address")?;
    let router = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(hearth_server::http::ops::metrics),
        )
        .with_state(app.clone());
    info!("metrics at http://{local}/metrics");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            warn!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

/// The events' stream, created (file storage) if absent.
async fn events_stream(
    js: &jetstream::Context,
    c: &ConsumeConfig,
) -> anyhow::Result<stream::Stream> {
    js.get_or_create_stream(stream::Config {
        name: c.stream.clone(),
        subjects: vec![c.subject.clone()],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .with_context(|| format!("opening or creating stream {}", c.stream))
}

/// The stream that stores the decisions: the one that already captures their subject,
/// or a new one. Stored decisions survive a restart of anyone reading them, and the
/// broker drops a decision republished with an event id it has seen in its window.
async fn decisions_stream(js: &jetstream::Context, c: &ConsumeConfig) -> anyhow::Result<String> {
    use async_nats::jetstream::context::GetStreamByNameErrorKind;
    match js.stream_by_subject(c.decisions_subject.as_str()).await {
        Ok(name) => Ok(name),
        Err(e) if e.kind() == GetStreamByNameErrorKind::NotFound => {
            js.get_or_create_stream(stream::Config {
                name: c.decisions_stream.clone(),
                subjects: vec![c.decisions_subject.clone()],
                storage: stream::StorageType::File,
                // Long enough to cover a crash and a restart by a supervisor.
                duplicate_window: Duration::from_secs(600),
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating stream {} for the decisions", c.decisions_stream))?;
            Ok(c.decisions_stream.clone())
        }
        Err(e) => Err(anyhow!(
            "finding the stream of {}: {e}",
            c.decisions_subject
        )),
    }
}

/// The durable pull consumer, created if absent. An existing one is created again
/// from its first unacknowledged event: events a previous run received but did not
/// acknowledge (it crashed) would otherwise come back only after `ack_wait`, after
/// later events of the same accounts, and a pull request the dead run left with the
/// server could still hand events to nobody. Every account's events stay in order.
async fn durable_consumer(
    events: &stream::Stream,
    c: &ConsumeConfig,
) -> anyhow::Result<PullConsumer> {
    let mut config = pull::Config {
        durable_name: Some(c.consumer.clone()),
        filter_subject: c.subject.clone(),
        ack_policy: AckPolicy::Explicit,
        ack_wait: Duration::from_secs(c.ack_wait_secs),
        max_ack_pending: c.max_ack_pending,
        deliver_policy: DeliverPolicy::All,
        ..Default::default()
    };
    if let Ok(existing) = events.consumer_info(&c.consumer).await {
        let from = existing.ack_floor.stream_sequence + 1;
        info!(
            from_stream_sequence = from,
            unacknowledged = existing.num_ack_pending,
            waiting = existing.num_pending,
            "resuming after the last acknowledged event"
        );
        events
            .delete_consumer(&c.consumer)
            .await
            .with_context(|| format!("resetting consumer {}", c.consumer))?;
        config.deliver_policy = DeliverPolicy::ByStartSequence {
            start_sequence: from,
        };
    }
    events
        .create_consumer(config)
        .await
        .with_context(|| format!("creating consumer {} on {}", c.consumer, c.stream))
}

/// An event being decided (several accounts at once), then published.
struct InFlight {
    message: jetstream::Message,
    stream_sequence: u64,
    id: String,
    account: String,
    decided: tokio::task::JoinHandle<anyhow::Result<Result<Decision, String>>>,
}

/// The event before it of the same account, still being decided: tells whether it
/// was applied (or refused), so the account's next event may go.
type Previous = (u64, oneshot::Receiver<bool>);

#[derive(Default)]
struct Tally {
    decided: u64,
    allow: u64,
    verify: u64,
    deny: u64,
    malformed: u64,
    /// Decisions the broker already had (republished after a crash).
    duplicates: u64,
    last_progress: Option<Instant>,
    since_progress: u64,
}

impl Tally {
    fn count(&mut self, outcome: Outcome) {
        self.decided += 1;
        self.since_progress += 1;
        match outcome {
            Outcome::Allow => self.allow += 1,
            Outcome::Verify => self.verify += 1,
            Outcome::Deny => self.deny += 1,
        }
    }

    fn progress(&mut self) {
        let now = Instant::now();
        let last = *self.last_progress.get_or_insert(now);
        let elapsed = now.duration_since(last);
        if elapsed >= Duration::from_secs(5) {
            info!(
                decided = self.decided,
                per_second = (self.since_progress as f64 / elapsed.as_secs_f64()).round(),
                malformed = self.malformed,
                "progress"
            );
            self.last_progress = Some(now);
            self.since_progress = 0;
        }
    }

    fn summary(&self, elapsed: Duration, ok: bool) {
        let secs = elapsed.as_secs_f64().max(1e-3);
        info!(
            decided = self.decided,
            allow = self.allow,
            verify = self.verify,
            deny = self.deny,
            malformed = self.malformed,
            already_published = self.duplicates,
            seconds = (secs * 10.0).round() / 10.0,
            per_second = (self.decided as f64 / secs).round(),
            "{}: {} events decided ({} allowed, {} asked to verify, {} denied), {} malformed skipped",
            if ok { "stopped" } else { "stopped on an error" },
            self.decided,
            self.allow,
            self.verify,
            self.deny,
            self.malformed
        );
    }
}

struct Run {
    app: Arc<App>,
    js: jetstream::Context,
    settings: ConsumeConfig,
    pending: VecDeque<InFlight>,
    /// Per account, its latest event still in `pending`.
    latest: HashMap<String, Previous>,
    tally: Tally,
    started: Instant,
}

impl Run {
    async fn run(&mut self, consumer: &PullConsumer) -> anyhow::Result<()> {
        let batch = usize::try_from(self.settings.max_ack_pending)
            .unwrap_or(1)
            .clamp(1, 256);
        let mut messages = consumer
            .stream()
            .max_messages_per_batch(batch)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .context("pulling from the consumer")?;
        let stop = stop_signal();
        tokio::pin!(stop);
        let mut failures = 0u32;
        loop {
            // Confirm what is published whenever no further event is ready at once,
            // so a quiet stream is not left waiting for a full window.
            let next = if self.pending.is_empty() {
                tokio::select! {
                    biased;
                    _ = &mut stop => break,
                    next = messages.next() => next,
                }
            } else {
                tokio::select! {
                    biased;
                    _ = &mut stop => break,
                    next = messages.next() => next,
                    () = std::future::ready(()) => {
                        self.confirm().await?;
                        continue;
                    }
                }
            };
            match next {
                None => break,
                Some(Ok(message)) => {
                    failures = 0;
                    self.handle(message).await?;
                    if self.pending.len() >= self.settings.window {
                        self.confirm().await?;
                    }
                    self.tally.progress();
                }
                Some(Err(e)) => {
                    failures += 1;
                    warn!(error = %e, "reading from the consumer");
                    if failures >= 10 {
                        self.confirm().await?;
                        return Err(anyhow!("reading from the consumer failed 10 times: {e}"));
                    }
                }
            }
        }
        info!(
            in_flight = self.pending.len(),
            "stopping: finishing events in flight"
        );
        self.confirm().await
    }

    /// Starts deciding one event, after the account's previous event; malformed
    /// events are reported and terminated (never delivered again). Events of
    /// different accounts are decided at once, so the write path commits them together.
    async fn handle(&mut self, message: jetstream::Message) -> anyhow::Result<()> {
        let (stream, seq) = {
            let info = message
                .info()
                .map_err(|e| anyhow!("a message without JetStream metadata: {e}"))?;
            (info.stream.to_owned(), info.stream_sequence)
        };
        let mut event = match hearth_events::read::parse_line(&message.payload, seq) {
            Ok(Some(event)) => event,
            Ok(None) => return self.reject(message, seq, "empty message").await,
            Err(e) => return self.reject(message, seq, &e.message).await,
        };
        // The platform's own id when it gives one; else the stream position, which a
        // redelivery keeps.
        let id = event
            .id
            .clone()
            .unwrap_or_else(|| format!("{stream}:{seq}"));
        event.id = Some(id.clone());
        let account = event.account.as_str().to_owned();
        let (done, next) = oneshot::channel();
        let previous = self.latest.insert(account.clone(), (seq, next));
        let app = self.app.clone();
        let decided = tokio::spawn(async move {
            if let Some((before, applied)) = previous {
                if !matches!(applied.await, Ok(true)) {
                    return Err(anyhow!(
                        "not decided: stream sequence {before} of the same account failed"
                    ));
                }
            }
            let result = decide(&app, event).await;
            let _ = done.send(result.is_ok());
            result
        });
        self.pending.push_back(InFlight {
            message,
            stream_sequence: seq,
            id,
            account,
            decided,
        });
        Ok(())
    }

    async fn reject(
        &mut self,
        message: jetstream::Message,
        seq: u64,
        why: &str,
    ) -> anyhow::Result<()> {
        warn!(
            stream_sequence = seq,
            "malformed access event skipped (stream sequence {seq}): {why}"
        );
        self.tally.malformed += 1;
        self.app
            .metrics
            .inc("hearth_consume_malformed_events_total", &[]);
        message
            .ack_with(AckKind::Term)
            .await
            .map_err(|e| anyhow!("terminating stream sequence {seq}: {e}"))
    }

    /// Takes the decisions in stream order, publishes each (the broker drops one it
    /// already has, by event id), waits for the broker to store them, and only then
    /// acknowledges their events.
    async fn confirm(&mut self) -> anyhow::Result<()> {
        let mut published: Vec<(jetstream::Message, u64, PublishAckFuture)> = Vec::new();
        while let Some(f) = self.pending.pop_front() {
            let seq = f.stream_sequence;
            if self.latest.get(&f.account).map(|(s, _)| *s) == Some(seq) {
                self.latest.remove(&f.account);
            }
            let decided = f
                .decided
                .await
                .map_err(|e| anyhow!("deciding stream sequence {seq}: {e}"))??;
            let decision = match decided {
                Ok(decision) => decision,
                Err(why) => {
                    self.reject(f.message, seq, &why).await?;
                    continue;
                }
            };
            self.tally.count(decision.decision);
            let mut body = serde_json::to_value(&decision).context("writing a decision")?;
            if let Some(fields) = body.as_object_mut() {
                fields.insert("event_id".into(), serde_json::Value::String(f.id.clone()));
            }
            let payload = serde_json::to_vec(&body).context("writing a decision")?;
            let ack = self
                .js
                .send_publish(
                    self.settings.decisions_subject.clone(),
                    PublishMessage::build()
                        .payload(payload.into())
                        .message_id(&f.id),
                )
                .await
                .with_context(|| format!("publishing the decision for stream sequence {seq}"))?;
            published.push((f.message, seq, ack));
        }
        for (message, seq, ack) in published {
            let stored = ack
                .await
                .with_context(|| format!("storing the decision for stream sequence {seq}"))?;
            if stored.duplicate {
                self.tally.duplicates += 1;
            }
            self.app
                .metrics
                .inc("hearth_consume_decisions_published_total", &[]);
            message
                .ack()
                .await
                .map_err(|e| anyhow!("acknowledging stream sequence {seq}: {e}"))?;
        }
        Ok(())
    }
}

/// The engine's decision, persisted. `Err` inside: the event itself was refused.
async fn decide(app: &App, event: AccessEvent) -> anyhow::Result<Result<Decision, String>> {
    let mut wait = Duration::from_millis(50);
    for _ in 0..6 {
        match app.access(event.clone()).await {
            Ok(decision) => return Ok(Ok(decision)),
            Err(ServiceError::Invalid { field, message }) => {
                return Ok(Err(format!("{field}: {message}")))
            }
            Err(ServiceError::Unavailable(why)) => {
                warn!(%why, "store unavailable; trying again");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(e) => return Err(anyhow!("deciding an event: {e}")),
        }
    }
    Err(anyhow!(
        "the store stayed unavailable; stopping without acknowledging"
    ))
}
