//! Configuration: defaults, then a TOML file, then `HEARTH_*` environment variables,
//! then command-line flags, each overriding the one before.
//!
//! Nested keys come from the environment with a double underscore:
//! `HEARTH_SESSIONS__IDLE_TIMEOUT_DAYS=30` sets `[sessions] idle_timeout_days = 30`.

use hearth_core::password::{HashParams, PasswordPolicyConfig};
use hearth_core::throttle::ThrottleConfig;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means SQLite in `data_dir`.
    pub database_url: String,
    /// Hex of at least 32 bytes; empty means the key file in `data_dir`.
    pub secret_key: String,
    /// Keys the platform's back end presents on `POST /v1/access`; empty means the
    /// key file in `data_dir`, created at first start.
    pub api_keys: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (the older spelling of
    /// `[http] trusted_proxies`; both lists count).
    pub trusted_proxies: Vec<crate::net::IpNet>,
    pub demo: bool,
    /// Where members forward phishing; said in guidance.
    pub phishing_report_address: String,
    /// The SMTP intake for reports forwarded to that address (off unless `listen` is set).
    pub intake: crate::intake::IntakeConfig,
    /// `text` or `json` (the older spelling of `[log] format`, which wins when set).
    pub log_format: String,
    /// Logging: `format = "text" | "json"`.
    pub log: LogConfig,
    /// The HTTP front: trusted reverse proxies.
    pub http: HttpConfig,
    /// Stopping on SIGTERM/SIGINT: how long to drain.
    pub shutdown: ShutdownConfig,
    pub passwords: PasswordsConfig,
    pub hashing: HashingConfig,
    pub sessions: SessionsConfig,
    pub throttle: ThrottleConfig,
    pub limits: LimitsConfig,
    pub codes: CodesConfig,
    pub travel: TravelConfig,
    /// The risk engine's tunables (windows, verify-later grace and count, thresholds).
    pub engine: hearth_core::engine::EngineConfig,
    /// Delivery: SMTP or dev mailbox for e-mail, Twilio-shaped gateway, webhook or dev
    /// mailbox for SMS, retries.
    pub courier: hearth_courier::CourierConfig,
    /// The service's name in messages (letters, digits and spaces: never a link).
    pub service_name: String,
    /// MaxMind databases; without them the engine works from IP prefixes and what
    /// the events say.
    pub geoip: GeoIpConfig,
    /// Shared counters in Redis instead of the database (several nodes).
    pub redis: hearth_store::RedisConfig,
    /// `hearth consume`: access events from NATS JetStream, decisions back to it.
    pub consume: ConsumeConfig,
    /// The access write path: queue, batch size, how long applied event ids are kept.
    pub access: crate::service::writer::AccessConfig,
    /// How long raw IP addresses are kept before they are truncated.
    pub retention: hearth_store::RetentionConfig,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeoIpConfig {
    /// GeoIP2/GeoLite2 City (or Country) `.mmdb`.
    pub city: Option<PathBuf>,
    /// GeoLite2 ASN `.mmdb`.
    pub asn: Option<PathBuf>,
    /// GeoIP2 Anonymous-IP `.mmdb`.
    pub anonymous: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("hearth-data"),
            database_url: String::new(),
            secret_key: String::new(),
            api_keys: Vec::new(),
            trusted_proxies: Vec::new(),
            demo: false,
            phishing_report_address: "phishing@hearth.example".into(),
            intake: crate::intake::IntakeConfig::default(),
            log_format: "text".into(),
            log: LogConfig::default(),
            http: HttpConfig::default(),
            shutdown: ShutdownConfig::default(),
            passwords: PasswordsConfig::default(),
            hashing: HashingConfig::default(),
            sessions: SessionsConfig::default(),
            throttle: ThrottleConfig::default(),
            limits: LimitsConfig::default(),
            codes: CodesConfig::default(),
            travel: TravelConfig::default(),
            engine: hearth_core::engine::EngineConfig::default(),
            courier: hearth_courier::CourierConfig::default(),
            service_name: "Hearth".into(),
            geoip: GeoIpConfig::default(),
            redis: hearth_store::RedisConfig::default(),
            consume: ConsumeConfig::default(),
            access: crate::service::writer::AccessConfig::default(),
            retention: hearth_store::RetentionConfig::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordsConfig {
    pub min_len: usize,
    pub max_len: usize,
    /// Minimum zxcvbn score, 0–4.
    pub min_strength: u8,
    /// Optional Have-I-Been-Pwned-format file (`SHA1HEX:COUNT` lines, sorted).
    pub breached_file: Option<PathBuf>,
}

impl Default for PasswordsConfig {
    fn default() -> Self {
        let p = PasswordPolicyConfig::default();
        Self {
            min_len: p.min_len,
            max_len: p.max_len,
            min_strength: p.min_strength,
            breached_file: None,
        }
    }
}

impl PasswordsConfig {
    pub fn policy(&self) -> PasswordPolicyConfig {
        PasswordPolicyConfig {
            min_len: self.min_len,
            max_len: self.max_len,
            min_strength: self.min_strength,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HashingConfig {
    /// Argon2id memory in KiB (at least 19456).
    pub memory_kib: u32,
    /// Argon2id passes (at least 2).
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; 0 means one per core.
    pub max_concurrent: usize,
    /// When at least this many access events wait for their commit (queued, or in a
    /// batch being committed), hashes start one at a time, so a flood of sign-ins
    /// leaves the other cores to access events; 0 turns this off.
    pub busy_backlog: usize,
    /// The share of one core those one-at-a-time hashes may take (above 0, at most
    /// 1): after each, the next waits for the rest of its share. A runnable hash,
    /// however low its priority, turns every wake-up of the access path on its core
    /// into an interrupt; on the benchmark machine half a core of hashing cost access
    /// events a third of their rate, a whole core half (BENCHMARKS.md, session 17).
    pub busy_share: f64,
}

impl Default for HashingConfig {
    fn default() -> Self {
        let p = HashParams::default();
        Self {
            memory_kib: p.memory_kib,
            iterations: p.iterations,
            parallelism: p.parallelism,
            max_concurrent: 0,
            busy_backlog: 4,
            busy_share: 0.5,
        }
    }
}

impl HashingConfig {
    pub fn params(&self) -> HashParams {
        HashParams {
            memory_kib: self.memory_kib,
            iterations: self.iterations,
            parallelism: self.parallelism,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsConfig {
    /// Devices unused this long are signed out.
    pub idle_timeout_days: u32,
    /// How often the idle sweep runs.
    pub sweep_interval_secs: u64,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            idle_timeout_days: 90,
            sweep_interval_secs: 3600,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body accepted, in bytes.
    pub body_bytes: usize,
    /// Seconds a request may take before it is answered 408.
    pub request_timeout_secs: u64,
    /// Largest request head (request line and headers), in bytes; larger gets 431.
    pub header_bytes: usize,
    /// Most headers in one request; more gets 431.
    pub max_headers: usize,
    /// Seconds a client has to send a whole request head before the connection is
    /// closed (slow-loris), also for the next request on a kept-alive connection.
    pub header_timeout_secs: u64,
    /// Connections served at once; further ones wait in the kernel's backlog.
    pub max_connections: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            body_bytes: 64 * 1024,
            request_timeout_secs: 30,
            header_bytes: 16 * 1024,
            max_headers: 100,
            header_timeout_secs: 10,
            max_connections: 4096,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json` (one JSON object per line); unset: `log_format`.
    pub format: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For` is
    /// believed; from anyone else the header is ignored.
    pub trusted_proxies: Vec<crate::net::IpNet>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// After the signal, keep accepting for this long while `/readyz` answers 503, so
    /// load balancers stop sending before the listener closes.
    pub ready_delay_secs: u64,
    /// Then requests in flight get this long to finish before their connections are
    /// dropped.
    pub drain_timeout_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            ready_delay_secs: 0,
            drain_timeout_secs: 30,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodesConfig {
    /// 6 to 8 digits.
    pub digits: u8,
    /// Lifetime in minutes, at most 15.
    pub ttl_minutes: i64,
    /// Wrong tries before a code is void, at most 5.
    pub max_attempts: u32,
    /// Codes sent per account and per destination in a sliding hour and day.
    pub sends_per_hour: u32,
    pub sends_per_day: u32,
}

impl Default for CodesConfig {
    fn default() -> Self {
        Self {
            digits: 6,
            ttl_minutes: 10,
            max_attempts: 5,
            sends_per_hour: 5,
            sends_per_day: 20,
        }
    }
}

impl CodesConfig {
    pub fn policy(&self) -> hearth_core::codes::CodePolicy {
        hearth_core::codes::CodePolicy {
            digits: self.digits,
            ttl_ms: self.ttl_minutes.saturating_mul(hearth_core::time::MINUTE),
            max_attempts: self.max_attempts,
        }
    }

    pub fn send_limit(&self) -> hearth_core::codes::SendLimit {
        hearth_core::codes::SendLimit {
            per_hour: self.sends_per_hour,
            per_day: self.sends_per_day,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TravelConfig {
    /// Travel passes a portable household device may start in 30 days.
    pub max_passes_per_month: u32,
}

impl Default for TravelConfig {
    fn default() -> Self {
        Self {
            max_passes_per_month: 2,
        }
    }
}

/// `hearth consume`: where the access events come from and the decisions go.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumeConfig {
    /// NATS server URL.
    pub nats: String,
    /// JetStream stream holding the access events (created if absent).
    pub stream: String,
    /// Subject the platform publishes access events on.
    pub subject: String,
    /// Durable pull consumer's name: where reading resumes after a restart.
    pub consumer: String,
    /// Subject each decision is published on.
    pub decisions_subject: String,
    /// Stream created for the decisions when no stream captures their subject yet.
    pub decisions_stream: String,
    /// Events delivered and not yet acknowledged, at most.
    pub max_ack_pending: i64,
    /// Seconds before an unacknowledged event is delivered again.
    pub ack_wait_secs: u64,
    /// Decisions published and awaiting the broker's acknowledgement at once.
    pub window: usize,
    /// Where to serve `GET /metrics` (Prometheus) while consuming; absent: nowhere.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl Default for ConsumeConfig {
    fn default() -> Self {
        Self {
            nats: "nats://127.0.0.1:4222".into(),
            stream: "HEARTH_EVENTS".into(),
            subject: "hearth.events".into(),
            consumer: "hearth-consume".into(),
            decisions_subject: "hearth.decisions".into(),
            decisions_stream: "HEARTH_DECISIONS".into(),
            max_ack_pending: 1024,
            ack_wait_secs: 30,
            window: 64,
            metrics_listen: None,
        }
    }
}

/// What the command line says; `None` leaves the lower layers' value.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub demo: bool,
    pub log_format: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Layers defaults, the file (if any), the environment and the overrides.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut value = toml::Value::Table(toml::map::Map::new());
        let source = file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("<environment>"));
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            value = text
                .parse::<toml::Table>()
                .map(toml::Value::Table)
                .map_err(|e| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
        }
        for (var, raw) in env {
            let Some(rest) = var.strip_prefix("HEARTH_") else {
                continue;
            };
            // HEARTH_LOG is the log filter (`info`, `hearth_server=debug`), read by the binary.
            if rest == "CONFIG" || rest == "LOG" || rest.is_empty() {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
            set_path(&mut value, &path, env_value(&path, &raw))
                .map_err(|message| ConfigError::Env { var, message })?;
        }
        let mut config: Config =
            value
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: source,
                    message: e.message().to_owned(),
                })?;
        if let Some(l) = overrides.listen {
            config.listen = l;
        }
        if let Some(d) = &overrides.data_dir {
            config.data_dir = d.clone();
        }
        if let Some(u) = &overrides.database_url {
            config.database_url = u.clone();
        }
        config.demo |= overrides.demo;
        if let Some(f) = config.log.format.take() {
            config.log_format = f;
        }
        if let Some(f) = &overrides.log_format {
            config.log_format = f.clone();
        }
        config.log.format = Some(config.log_format.clone());
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid(format!(
                "log.format (log_format) must be \"text\" or \"json\", not {:?}",
                self.log_format
            )));
        }
        if self.limits.header_bytes < 8192 {
            return Err(ConfigError::Invalid(
                "limits.header_bytes must be at least 8192".into(),
            ));
        }
        if self.limits.header_timeout_secs == 0 || self.limits.request_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "limits.header_timeout_secs and limits.request_timeout_secs must be at least 1"
                    .into(),
            ));
        }
        if self.limits.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "limits.max_connections must be at least 1".into(),
            ));
        }
        if self.limits.body_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "limits.body_bytes must be at least 1024".into(),
            ));
        }
        self.codes
            .policy()
            .validate()
            .map_err(|e| ConfigError::Invalid(format!("codes: {e}")))?;
        hearth_courier::templates::Branding::new(&self.service_name)
            .map_err(|e| ConfigError::Invalid(format!("service_name: {e}")))?;
        let share = self.hashing.busy_share;
        if !(share > 0.0 && share <= 1.0) {
            return Err(ConfigError::Invalid(format!(
                "hashing.busy_share must be above 0 and at most 1, not {share}"
            )));
        }
        if self.sessions.idle_timeout_days == 0 {
            return Err(ConfigError::Invalid(
                "sessions.idle_timeout_days must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Whether `ip` is one of the configured reverse proxies.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.http
            .trusted_proxies
            .iter()
            .chain(&self.trusted_proxies)
            .any(|n| n.contains(ip))
    }

    /// The database URL in force: the configured one, or SQLite in the data folder.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("hearth.db").display())
        } else {
            self.database_url.clone()
        }
    }
}

/// Lists stay lists (`HEARTH_API_KEYS=a,b`); everything else is typed by its looks.
fn env_value(path: &[String], raw: &str) -> toml::Value {
    let list_keys = ["api_keys", "trusted_proxies"];
    let key = path.join(".");
    if list_keys.contains(&key.as_str()) || key == "http.trusted_proxies" {
        let items = raw.split(',').map(str::trim).filter(|s| !s.is_empty());
        return toml::Value::Array(items.map(|s| toml::Value::String(s.to_owned())).collect());
    }
    if let Ok(b) = raw.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    // A leading `+` is a phone number (`HEARTH_COURIER__SMS__FROM=+15550100`), never a
    // setting's number.
    if raw.starts_with('+') {
        return toml::Value::String(raw.to_owned());
    }
    if let Ok(i) = raw.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(f) = raw.parse::<f64>() {
        return toml::Value::Float(f);
    }
    toml::Value::String(raw.to_owned())
}

fn set_path(root: &mut toml::Value, path: &[String], leaf: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(());
    };
    let mut cur = root;
    for p in parents {
        let table = cur
            .as_table_mut()
            .ok_or_else(|| format!("{p} is not a section"))?;
        cur = table
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::map::Map::new()));
    }
    let table = cur
        .as_table_mut()
        .ok_or_else(|| format!("{last} is inside a value, not a section"))?;
    table.insert(last.clone(), leaf);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration from one environment variable alone.
    fn load_one(key: &str, value: &str) -> Result<Config, ConfigError> {
        Config::load(
            None,
            vec![(key.to_owned(), value.to_owned())],
            &Overrides::default(),
        )
    }

    #[test]
    fn layers_override_in_order() {
        let dir = std::env::temp_dir().join(format!("hearth-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hearth.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/a\"\n[sessions]\nidle_timeout_days = 30\n").unwrap();
        let env = vec![
            ("HEARTH_DATA_DIR".to_owned(), "/tmp/b".to_owned()),
            (
                "HEARTH_SESSIONS__IDLE_TIMEOUT_DAYS".to_owned(),
                "45".to_owned(),
            ),
            ("HEARTH_API_KEYS".to_owned(), "k1, k2".to_owned()),
            ("PATH".to_owned(), "/bin".to_owned()),
        ];
        let over = Overrides {
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::load(Some(&file), env, &over).unwrap();
        assert_eq!(c.listen.port(), 9100, "flag beats file");
        assert_eq!(
            c.data_dir,
            PathBuf::from("/tmp/b"),
            "environment beats file"
        );
        assert_eq!(c.sessions.idle_timeout_days, 45);
        assert_eq!(c.api_keys, vec!["k1", "k2"]);
        assert_eq!(c.database_url(), "sqlite:///tmp/b/hearth.db");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn operations_keys_layer_and_parse() {
        let env = vec![
            ("HEARTH_LOG".to_owned(), "debug".to_owned()),
            ("HEARTH_LOG__FORMAT".to_owned(), "json".to_owned()),
            (
                "HEARTH_HTTP__TRUSTED_PROXIES".to_owned(),
                "10.0.0.0/8, 192.0.2.7".to_owned(),
            ),
            (
                "HEARTH_TRUSTED_PROXIES".to_owned(),
                "2001:db8::/32".to_owned(),
            ),
            (
                "HEARTH_SHUTDOWN__DRAIN_TIMEOUT_SECS".to_owned(),
                "5".to_owned(),
            ),
        ];
        let c = Config::load(None, env.clone(), &Overrides::default()).unwrap();
        assert_eq!(c.log_format, "json", "HEARTH_LOG is the filter, not a key");
        assert_eq!(c.shutdown.drain_timeout_secs, 5);
        for (ip, trusted) in [
            ("10.9.8.7", true),
            ("192.0.2.7", true),
            ("192.0.2.8", false),
            ("2001:db8::1", true),
        ] {
            assert_eq!(c.is_trusted_proxy(ip.parse().unwrap()), trusted, "{ip}");
        }
        let over = Overrides {
            log_format: Some("text".into()),
            ..Default::default()
        };
        let c = Config::load(None, env, &over).unwrap();
        assert_eq!(c.log_format, "text", "the flag wins");
        let err = load_one("HEARTH_HTTP__TRUSTED_PROXIES", "10.0.0.0/40")
            .unwrap_err()
            .to_string();
        assert!(err.contains("10.0.0.0/40"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = load_one("HEARTH_LISTN", "x").unwrap_err().to_string();
        assert!(err.contains("listn"), "{err}");
        let err = load_one("HEARTH_LOG_FORMAT", "xml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("log_format"), "{err}");
        for share in ["0", "1.5", "-0.5"] {
            let err = load_one("HEARTH_HASHING__BUSY_SHARE", share)
                .unwrap_err()
                .to_string();
            assert!(err.contains("hashing.busy_share"), "{share}: {err}");
        }
        let c = load_one("HEARTH_HASHING__BUSY_SHARE", "1").unwrap();
        assert_eq!(c.hashing.busy_share, 1.0);
    }

    #[test]
    fn a_phone_number_in_the_environment_stays_text() {
        assert_eq!(
            env_value(&["from".into()], "+15550100"),
            toml::Value::String("+15550100".into())
        );
        assert_eq!(
            env_value(&["port".into()], "2525"),
            toml::Value::Integer(2525)
        );
    }
}
