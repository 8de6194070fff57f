//! The running service's shared state, built once at start from the configuration.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::secrets::{load_or_create, ApiKeys, SecretError, ServerKey};
use hearth_core::engine::Engine;
use hearth_core::password::{PasswordError, PasswordHasher, PasswordPolicy};
use hearth_store::{Counters, Store};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Store(#[from] hearth_store::StoreError),
    #[error("{0}")]
    Other(String),
}

/// Everything a request handler needs.
pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    /// Brute-force counters and send histories, shared by every node (the database,
    /// or Redis when `[redis] url` is set).
    pub counters: Arc<dyn Counters>,
    pub key: ServerKey,
    pub api_keys: ApiKeys,
    pub policy: PasswordPolicy,
    /// The optional offline breached-password corpus.
    pub breached: Option<crate::breach::BreachList>,
    pub hasher: PasswordHasher,
    /// Bounds the Argon2 work in flight so sign-in floods cannot starve the runtime.
    pub hash_slots: Semaphore,
    /// Where the hashes run: one lowered thread per slot.
    pub hash_threads: crate::hashing::HashThreads,
    /// Held as well by every hash started while access events wait for their commit
    /// (`[hashing] busy_backlog`): then hashes run one at a time.
    pub busy_hash_slot: Semaphore,
    /// Until when the next busy-time hash waits, so that they take at most
    /// `[hashing] busy_share` of one core.
    pub busy_rest_until: std::sync::Mutex<Option<tokio::time::Instant>>,
    /// Verified against when an e-mail is unknown, so both paths cost one hash.
    pub dummy_hash: String,
    pub engine: Engine,
    /// Fills in place and network from the configured GeoIP databases.
    pub enricher: hearth_events::geo::Enricher,
    /// The phishing message checker (embedded model, default brands).
    pub checker: hearth_phish::Checker,
    pub metrics: Arc<Metrics>,
    /// What sign-in throttling and one-time codes take as the time.
    pub clock: crate::service::Clock,
    /// Where the dev channels deliver (shown on the dev mailbox page).
    pub dev_mailbox: hearth_courier::DevMailbox,
    pub brand: hearth_courier::templates::Branding,
    /// Set when the API key was generated at this start: where it was written.
    pub new_api_key_file: Option<std::path::PathBuf>,
    /// Set at SIGTERM/SIGINT: `/readyz` answers 503 while requests drain.
    pub draining: std::sync::atomic::AtomicBool,
    /// The access write path, started on the runtime of the first access event.
    pub writer: std::sync::OnceLock<crate::service::writer::Writer>,
    /// Ids of effects carried out whose rows are not deleted yet
    /// ([`crate::service::effects`]).
    pub effects_done: std::sync::Mutex<Vec<String>>,
    /// Account ids the events named that no owner has ([`crate::service::notify`]).
    pub ownerless: Arc<crate::service::notify::Ownerless>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("backend", &self.store.backend())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Builds the state over an opened store. Secrets come from the configuration or
    /// from files in the data folder, created on first start.
    pub fn build(config: Config, store: Arc<dyn Store>) -> Result<App, StartError> {
        let key = if config.secret_key.is_empty() {
            let (hex_key, _) = load_or_create(&config.data_dir.join("secret.key"), 32)?;
            ServerKey::from_hex(hex_key.expose_secret(), "secret.key")?
        } else {
            ServerKey::from_hex(&config.secret_key, "secret_key")?
        };
        let mut new_api_key_file = None;
        let api_keys = if config.api_keys.is_empty() {
            let path = config.data_dir.join("api.key");
            let (k, created) = load_or_create(&path, 24)?;
            if created {
                new_api_key_file = Some(path);
            }
            ApiKeys::new(vec![k])
        } else {
            ApiKeys::new(
                config
                    .api_keys
                    .iter()
                    .map(|k| SecretString::from(k.clone()))
                    .collect(),
            )
        };
        let policy = PasswordPolicy::new(&config.passwords.policy())?;
        let breached = match &config.passwords.breached_file {
            Some(path) => Some(
                crate::breach::BreachList::open(path)
                    .map_err(|e| StartError::Other(e.to_string()))?,
            ),
            None => None,
        };
        let hasher = PasswordHasher::new(config.hashing.params())?;
        let mut rng = rand::rngs::OsRng;
        let dummy_hash = hasher.dummy_hash(&mut rng)?;
        let slots = match config.hashing.max_concurrent {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            n => n,
        };
        let counters = hearth_store::counters::from_config(&config.redis, store.clone())?;
        Ok(App {
            store,
            counters,
            key,
            api_keys,
            policy,
            breached,
            hasher,
            hash_slots: Semaphore::new(slots),
            hash_threads: crate::hashing::HashThreads::start(slots)
                .map_err(|e| StartError::Other(format!("cannot start hashing threads: {e}")))?,
            busy_hash_slot: Semaphore::new(1),
            busy_rest_until: std::sync::Mutex::new(None),
            dummy_hash,
            engine: Engine::new(config.engine.clone()),
            enricher: hearth_events::geo::Enricher::open(
                config.geoip.city.as_deref(),
                config.geoip.asn.as_deref(),
                config.geoip.anonymous.as_deref(),
            )
            .map_err(|e| StartError::Other(e.to_string()))?,
            checker: hearth_phish::Checker::default(),
            metrics: Arc::new(Metrics::default()),
            clock: crate::service::Clock::default(),
            dev_mailbox: hearth_courier::DevMailbox::default(),
            brand: hearth_courier::templates::Branding::new(&config.service_name)
                .map_err(|e| StartError::Other(e.to_string()))?,
            new_api_key_file,
            draining: std::sync::atomic::AtomicBool::new(false),
            writer: std::sync::OnceLock::new(),
            effects_done: std::sync::Mutex::new(Vec::new()),
            ownerless: Arc::default(),
            config,
        })
    }
}
