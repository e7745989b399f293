//! The one configuration struct for the server and the CLI.
//!
//! Sources, later ones winning: built-in defaults, an optional TOML file named by `AF_CONFIG`,
//! environment variables `AF_*` (e.g. `AF_BIND`, `AF_DEMO`), and `DATABASE_URL`.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

pub use crate::secret::Secret;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Unknown keys are refused, in the file and in `AF_*` variables that name a section (a typo in
/// `[replay]` or `AF_REPLAY__SPED` is an error naming it, not a silently ignored setting). Top-level
/// `AF_*` variables that are no setting (`AF_CONFIG`, the test harness's `AF_TEST_*`) are not read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on (`AF_BIND`). cargo-leptos' `LEPTOS_SITE_ADDR` wins when set.
    pub bind: SocketAddr,
    /// Directory for the SQLite database and other state (`AF_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` (`DATABASE_URL`). Default: `sqlite://<data_dir>/anomalyforge.db`.
    pub database_url: Option<String>,
    pub db_max_connections: u32,
    /// SQLite's sync level at each commit (`AF_SQLITE_SYNCHRONOUS=full|normal`, default `full`):
    /// see `store::SqliteSync` for what each survives.
    pub sqlite_synchronous: crate::store::SqliteSync,
    /// Demo mode (`AF_DEMO=true`): creates one account per role and shows their passwords on the
    /// login page. Never enable it on a real deployment: it refuses a database with real accounts,
    /// and binds only a loopback address unless `demo_allow_remote` is set. With demo mode off, the
    /// demo accounts are disabled at start-up.
    pub demo: bool,
    /// Let demo mode listen on a non-loopback address (`AF_DEMO_ALLOW_REMOTE=true`).
    pub demo_allow_remote: bool,
    /// Demo mode starts a fresh database with 30 days of generated history (`AF_DEMO_HISTORY`,
    /// default true; see `crate::demo`). Ignored outside demo mode.
    pub demo_history: bool,
    /// Password for the first `admin` account (`AF_ADMIN_PASSWORD`); random and logged once if unset.
    pub admin_password: Option<Secret>,
    /// Session lifetime in seconds (`AF_SESSION_TTL_SECS`).
    pub session_ttl_secs: u64,
    /// Mark cookies `Secure` (`AF_SECURE_COOKIES=true`) when served over HTTPS.
    pub secure_cookies: bool,
    /// Failed sign-ins allowed per account within `login_window_secs`; beyond it the account takes no
    /// more guesses, except from the address of its last successful sign-in (its owner).
    pub login_max_failures_per_account: u32,
    /// Failed sign-ins allowed per client address within `login_window_secs`.
    pub login_max_failures_per_address: u32,
    pub login_window_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`AF_TRUSTED_PROXIES=[10.0.0.5/32]`): behind
    /// one, the client is the right-most forwarded address that is not a trusted proxy. Empty (the
    /// default): the header is ignored and the peer address is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Host names the pages answer to (`AF_ALLOWED_HOSTS=[soc.example.com]`), beside `localhost`, the
    /// loopback addresses and the bind address (any address literal when bound to all interfaces).
    /// A request for another `Host` is refused before anything else, so a DNS-rebinding page cannot
    /// drive a server through a browser. `*.example.com` allows the sub-domains.
    pub allowed_hosts: Vec<String>,
    /// Where the built site (WASM, JS, CSS, public files) is served from (`AF_SITE_ROOT`).
    pub site_root: PathBuf,
    pub log_format: LogFormat,
    /// Largest request body accepted, in bytes (pages and server functions; the ingest API has its own).
    pub max_body_bytes: usize,
    /// Run the ingest pipeline (`AF_INGEST`, default true): load the models from `model_dir` at
    /// start-up, failing if they cannot be loaded, and serve `/api/v1/ingest/*`. When false no model is
    /// loaded and the ingest API answers 503 (for deployments that only show stored data).
    pub ingest: bool,
    /// Directory of the trained models and their manifest (`AF_MODEL_DIR`), loaded once at start-up.
    pub model_dir: PathBuf,
    /// Most flows accepted but not yet scored and stored (`AF_INGEST_QUEUE_FLOWS`). A batch larger
    /// than this waits for an empty queue.
    pub ingest_queue_flows: usize,
    /// How long an ingest request waits for room in a full queue before it is answered 503 with
    /// `Retry-After` (`AF_INGEST_WAIT_MS`).
    pub ingest_wait_ms: u64,
    /// Batches scored and stored at the same time (`AF_INGEST_WORKERS`); scoring runs on blocking
    /// threads, never on the async executor.
    pub ingest_workers: usize,
    /// Largest ingest request body in bytes (`AF_INGEST_MAX_BODY_BYTES`); larger gets 413.
    pub ingest_max_body_bytes: usize,
    /// Request bodies being received and parsed at once, in bytes (`AF_INGEST_MAX_INFLIGHT_BYTES`): a
    /// request reserves its Content-Length (or `ingest_max_body_bytes` when it has none) before its body
    /// is read, and waits like a full queue does (then 503). Bounds the memory of concurrent uploads.
    pub ingest_max_inflight_bytes: usize,
    /// Line-length and record-count limits of one ingest batch (`[ingest_limits]` in the file).
    pub ingest_limits: crate::ingest::Limits,
    /// A detection with the same source, target and threat type as an open alert last seen at most
    /// this many seconds earlier updates that alert instead of creating one (`AF_DEDUP_WINDOW_SECS`;
    /// 0 turns deduplication off).
    pub dedup_window_secs: u64,
    /// The organisation's own address ranges (`AF_INTERNAL_NETWORKS=[10.0.0.0/8,…]` or a TOML list).
    /// Hosts inside them are assets (unknown ones are discovered from traffic); attacks from them are
    /// treated as coming from a compromised host.
    pub internal_networks: Vec<ipnet::IpNet>,
    /// DB-IP "IP to Country Lite" file (`AF_GEOIP_PATH`), loaded when ingest is on.
    pub geoip_path: PathBuf,
    /// Replay of recorded CIC-IDS2017 flows (`[replay]` in the file, `AF_REPLAY__SPEED=…`).
    pub replay: crate::replay::ReplayConfig,
    /// What an admin's retrain on `/models` trains on (`[retrain]` in the file, `AF_RETRAIN__FILES=[…]`).
    pub retrain: crate::model_registry::RetrainConfig,
    /// The host-behaviour detectors' thresholds and memory bound (`[behaviour]` in the file,
    /// `AF_BEHAVIOUR__BEACON__MIN_CONNECTIONS=…`).
    pub behaviour: crate::behaviour::BehaviourConfig,
    /// The site baseline: how many scored flows are kept for "learn this network's normal", and its
    /// schedule (`[baseline]`, `AF_BASELINE__SAMPLE_SIZE`, `AF_BASELINE__SCHEDULE_HOURS`).
    pub baseline: crate::baseline::BaselineConfig,
    /// The flow history for hunting: on or off and how many days are kept (`[flows]`,
    /// `AF_FLOWS__RETENTION_DAYS`).
    pub flows: crate::store::flows::FlowHistoryConfig,
    /// Who may take response actions and which need a second person's approval (`[response]`,
    /// `AF_RESPONSE__ROLES=[responder,admin]`, `AF_RESPONSE__APPROVAL=[block,isolate]`).
    pub response: crate::response::ResponsePolicy,
    /// Notifications: the delivery worker, the public URL links point to, and the SMTP server
    /// (`[notify]`, `[notify.smtp]`, `AF_NOTIFY__PUBLIC_URL`, `AF_NOTIFY__SMTP__HOST`, …).
    pub notify: crate::notify::worker::NotifyConfig,
    /// File analysis on `/analyze`: size and concurrency limits and how long analyses are kept
    /// (`[analysis]`, `AF_ANALYSIS__MAX_UPLOAD_BYTES`, `AF_ANALYSIS__RETENTION_DAYS`, …).
    pub analysis: crate::analysis::settings::AnalysisConfig,
    /// The optional NATS JetStream ingest bus (`AF_BUS=nats://…` for its URL, `[bus]` and
    /// `AF_BUS__…` for the rest).
    pub bus: crate::bus::settings::BusConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from("var"),
            database_url: None,
            db_max_connections: 8,
            sqlite_synchronous: crate::store::SqliteSync::Full,
            demo: false,
            demo_allow_remote: false,
            demo_history: true,
            admin_password: None,
            session_ttl_secs: 12 * 3600,
            secure_cookies: false,
            login_max_failures_per_account: 5,
            login_max_failures_per_address: 20,
            login_window_secs: 15 * 60,
            trusted_proxies: Vec::new(),
            allowed_hosts: Vec::new(),
            site_root: PathBuf::from("target/site"),
            log_format: LogFormat::Text,
            max_body_bytes: 2 * 1024 * 1024,
            ingest: true,
            model_dir: PathBuf::from("models"),
            ingest_queue_flows: 200_000,
            ingest_wait_ms: 2_000,
            ingest_workers: 1,
            ingest_max_body_bytes: 32 * 1024 * 1024,
            ingest_max_inflight_bytes: 128 * 1024 * 1024,
            ingest_limits: crate::ingest::Limits::default(),
            dedup_window_secs: 600,
            internal_networks: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
            geoip_path: PathBuf::from("data/geo/ip-country.csv.gz"),
            replay: crate::replay::ReplayConfig::default(),
            retrain: crate::model_registry::RetrainConfig::default(),
            behaviour: crate::behaviour::BehaviourConfig::default(),
            baseline: crate::baseline::BaselineConfig::default(),
            flows: crate::store::flows::FlowHistoryConfig::default(),
            response: crate::response::ResponsePolicy::default(),
            notify: crate::notify::worker::NotifyConfig::default(),
            analysis: crate::analysis::settings::AnalysisConfig::default(),
            bus: crate::bus::settings::BusConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Reads the configuration from the process environment (and `AF_CONFIG`, if set).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_figment(
            Figment::new()
                .merge(Serialized::defaults(Config::default()))
                .merge(match std::env::var_os("AF_CONFIG") {
                    Some(path) => Toml::file_exact(PathBuf::from(path)),
                    None => Toml::string(""),
                })
                .merge(
                    Env::prefixed("AF_")
                        .split("__")
                        .filter(|k| !k.as_str().eq_ignore_ascii_case("bus") && Config::is_setting(k.as_str())),
                )
                .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database_url".into()))
                // `AF_BUS` is the bus's URL; the section's other keys are `AF_BUS__…`.
                .merge(Env::raw().only(&["AF_BUS"]).map(|_| "bus.url".into())),
        )
    }

    /// Whether an `AF_*` variable (its name without the prefix, `__` still in it) names a setting:
    /// its first part is a field of [`Config`].
    fn is_setting(key: &str) -> bool {
        static FIELDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let fields = FIELDS.get_or_init(|| match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        });
        let first = key.split("__").next().unwrap_or("").split('.').next().unwrap_or("").to_ascii_lowercase();
        fields.contains(&first)
    }

    fn from_figment(f: Figment) -> Result<Self, ConfigError> {
        let mut cfg: Config = f.extract().map_err(|e| ConfigError(e.to_string()))?;
        if let Ok(addr) = std::env::var("LEPTOS_SITE_ADDR") {
            cfg.bind = addr.parse().map_err(|e| ConfigError(format!("LEPTOS_SITE_ADDR `{addr}`: {e}")))?;
        }
        if let Ok(root) = std::env::var("LEPTOS_SITE_ROOT") {
            cfg.site_root = PathBuf::from(root);
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Whether the pages answer to a request's `Host` (see `allowed_hosts`).
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim();
        // `[v6]:port`, `[v6]`, `v4:port`, `name:port`, `name`.
        let name = match host.strip_prefix('[') {
            Some(rest) => rest.split(']').next().unwrap_or(""),
            None => host.rsplit_once(':').filter(|(_, port)| port.parse::<u16>().is_ok()).map_or(host, |(n, _)| n),
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name == "localhost" {
            return true;
        }
        if let Ok(ip) = name.parse::<std::net::IpAddr>() {
            return ip.is_loopback() || self.bind.ip().is_unspecified() || ip == self.bind.ip();
        }
        self.allowed_hosts.iter().map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase()).any(|h| {
            match h.strip_prefix("*.") {
                Some(domain) => name.ends_with(&format!(".{domain}")),
                None => h == name,
            }
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.response.validate().map_err(ConfigError)?;
        self.notify.validate().map_err(ConfigError)?;
        self.analysis.validate().map_err(|e| ConfigError(format!("analysis.{e}")))?;
        self.bus.validate().map_err(|e| ConfigError(format!("bus.{e}")))?;
        if self.demo && !self.demo_allow_remote && !self.bind.ip().is_loopback() {
            return Err(ConfigError(format!(
                "AF_DEMO shows its accounts' passwords on the login page, so it listens only on a loopback address; {} is not one (set AF_DEMO_ALLOW_REMOTE=true to serve the demo beyond this machine)",
                self.bind
            )));
        }
        if self.session_ttl_secs == 0 {
            return Err(ConfigError("session_ttl_secs must be greater than 0".into()));
        }
        if self.db_max_connections == 0 {
            return Err(ConfigError("db_max_connections must be greater than 0".into()));
        }
        if self.ingest_queue_flows == 0 || self.ingest_workers == 0 || self.ingest_max_body_bytes == 0 {
            return Err(ConfigError(
                "ingest_queue_flows, ingest_workers and ingest_max_body_bytes must be greater than 0".into(),
            ));
        }
        if self.ingest_max_inflight_bytes < self.ingest_max_body_bytes {
            return Err(ConfigError("ingest_max_inflight_bytes must be at least ingest_max_body_bytes".into()));
        }
        if self.ingest_limits.max_records == 0 || self.ingest_limits.max_line_bytes == 0 {
            return Err(ConfigError(
                "ingest_limits.max_records and ingest_limits.max_line_bytes must be greater than 0".into(),
            ));
        }
        self.replay.validate().map_err(|e| ConfigError(format!("replay: {e}")))?;
        self.behaviour.validate().map_err(|e| ConfigError(format!("behaviour.{e}")))?;
        self.baseline.validate().map_err(ConfigError)?;
        self.flows.validate().map_err(ConfigError)?;
        if let Some(url) = &self.database_url {
            if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(ConfigError(format!(
                    "DATABASE_URL must start with sqlite:, postgres:// or postgresql:// (got `{}`)",
                    crate::store::redact_url(url)
                )));
            }
        }
        Ok(())
    }

    /// The database URL in effect.
    /// Whether every scored flow is stored for hunting ([`crate::store::flows`]).
    pub fn flow_history(&self) -> bool {
        self.flows.enabled
    }

    /// The pipeline's settings, from `ingest_*`, `dedup_window_secs`, `[flows]`, `[behaviour]` and
    /// `[baseline]`.
    pub fn pipeline_settings(&self) -> crate::pipeline::PipelineSettings {
        crate::pipeline::PipelineSettings {
            workers: self.ingest_workers,
            queue_flows: self.ingest_queue_flows,
            max_inflight_bytes: self.ingest_max_inflight_bytes,
            wait: std::time::Duration::from_millis(self.ingest_wait_ms),
            dedup_window_secs: self.dedup_window_secs,
            flow_history: self.flow_history(),
            behaviour: self.behaviour.clone(),
            site_sample_size: self.baseline.sample_size,
        }
    }

    /// The model registry's settings, from `data_dir`, `model_dir`, `[retrain]`, `[behaviour]` and the
    /// replay file.
    pub fn registry_settings(&self) -> crate::model_registry::RegistrySettings {
        crate::model_registry::RegistrySettings {
            data_dir: self.data_dir.clone(),
            model_dir: self.model_dir.clone(),
            retrain: self.retrain.clone(),
            behaviour: self.behaviour.clone(),
            data_files: self.retrain.files.iter().chain(std::iter::once(&self.replay.file)).cloned().collect(),
            ingest: self.ingest,
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", self.data_dir.join("anomalyforge.db").display()))
    }
}

#[cfg(test)]
// figment::Jail's closures return figment::Error, which is large; it is the test API's choice.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn pages_answer_to_localhost_the_bind_address_and_listed_names_only() {
        let local = Config { bind: "127.0.0.1:3000".parse().unwrap(), ..Config::default() };
        for ok in ["localhost", "localhost:3000", "LOCALHOST.", "127.0.0.1:3000", "[::1]:3000", "[::1]", "127.0.0.2"] {
            assert!(local.allows_host(ok), "{ok}");
        }
        // A DNS-rebinding page reaches the server under the attacker's name.
        for refused in ["evil.example", "evil.example:3000", "localhost.evil.example", "10.0.0.5:3000", "", "[evil]"] {
            assert!(!local.allows_host(refused), "{refused}");
        }
        let public = Config {
            bind: "0.0.0.0:443".parse().unwrap(),
            allowed_hosts: vec!["soc.example.com".into(), "*.corp.example".into()],
            ..Config::default()
        };
        for ok in ["soc.example.com", "SOC.example.com:443", "a.corp.example", "10.0.0.5", "[2001:db8::1]:443"] {
            assert!(public.allows_host(ok), "{ok}");
        }
        for refused in ["example.com", "corp.example", "evilcorp.example", "soc.example.com.evil.example"] {
            assert!(!public.allows_host(refused), "{refused}");
        }
    }

    #[test]
    fn defaults_run_on_sqlite_in_the_data_dir() {
        let c = Config::default();
        assert_eq!(c.database_url(), "sqlite://var/anomalyforge.db?mode=rwc");
        assert!(!c.demo);
        c.validate().unwrap();
    }

    #[test]
    fn environment_overrides_defaults_and_secrets_are_not_printed() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AF_DEMO", "true");
            jail.set_env("AF_BIND", "127.0.0.1:4000");
            jail.set_env("AF_ADMIN_PASSWORD", "correct horse battery");
            jail.set_env("DATABASE_URL", "postgres://u:p@localhost/db");
            let c = Config::from_env().unwrap();
            assert!(c.demo);
            assert_eq!(c.bind.port(), 4000);
            assert_eq!(c.database_url(), "postgres://u:p@localhost/db");
            assert_eq!(c.sqlite_synchronous, crate::store::SqliteSync::Full);
            jail.set_env("AF_SQLITE_SYNCHRONOUS", "normal");
            assert_eq!(Config::from_env().unwrap().sqlite_synchronous, crate::store::SqliteSync::Normal);
            jail.set_env("AF_INGEST_QUEUE_FLOWS", "10");
            jail.set_env("AF_MODEL_DIR", "/opt/models");
            let c = Config::from_env().unwrap();
            assert_eq!(c.ingest_queue_flows, 10);
            assert_eq!(c.model_dir, PathBuf::from("/opt/models"));
            assert!(c.ingest, "ingest is on by default");
            assert!(!format!("{c:?}").contains("battery"));
            Ok(())
        });
    }

    #[test]
    fn pipeline_settings_come_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AF_INTERNAL_NETWORKS", "[10.1.0.0/16, 192.168.10.0/24]");
            jail.set_env("AF_DEDUP_WINDOW_SECS", "30");
            jail.set_env("AF_REPLAY__SPEED", "120");
            jail.set_env("AF_REPLAY__AUTOSTART", "false");
            let c = Config::from_env().unwrap();
            assert_eq!(c.internal_networks, vec!["10.1.0.0/16".parse().unwrap(), "192.168.10.0/24".parse().unwrap()]);
            assert_eq!((c.dedup_window_secs, c.replay.speed, c.replay.autostart), (30, 120.0, Some(false)));
            jail.set_env("AF_REPLAY__SPEED", "0");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("replay") && err.contains("speed"), "{err}");
            jail.set_env("AF_REPLAY__SPEED", "1");
            jail.set_env("AF_BEHAVIOUR__BEACON__MIN_CONNECTIONS", "40");
            let c = Config::from_env().unwrap();
            assert_eq!(c.behaviour.beacon.min_connections, 40);
            jail.set_env("AF_BEHAVIOUR__BEACON__MIN_CONNECTIONS", "2");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("behaviour.beacon.min_connections"), "{err}");
            jail.set_env("AF_BEHAVIOUR__BEACON__MIN_CONNECTIONS", "12");
            jail.set_env("AF_INTERNAL_NETWORKS", "[10.1.0.0/33]");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("INTERNAL_NETWORKS") || err.contains("internal_networks"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn af_bus_is_the_bus_url_and_its_section_keys_are_checked() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(Config::from_env().unwrap().bus.url, None);
            jail.set_env("AF_BUS", "nats://10.0.0.1:4222,nats://10.0.0.2:4222");
            jail.set_env("AF_BUS__REPLICAS", "3");
            jail.set_env("AF_BUS__CONSUME", "false");
            let c = Config::from_env().unwrap();
            assert_eq!(c.bus.servers(), ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]);
            assert_eq!((c.bus.replicas, c.bus.consume), (3, false));
            jail.set_env("AF_BUS__REPLICAS", "2");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("bus.replicas"), "{err}");
            jail.set_env("AF_BUS__REPLICAS", "1");
            jail.set_env("AF_BUS__ACK_WAIT", "3");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("ack_wait"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn demo_mode_binds_loopback_unless_told() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AF_DEMO", "true");
            jail.set_env("AF_BIND", "0.0.0.0:3000");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("AF_DEMO_ALLOW_REMOTE"), "{err}");
            jail.set_env("AF_DEMO_ALLOW_REMOTE", "true");
            assert!(Config::from_env().is_ok());
            jail.set_env("AF_DEMO", "false");
            jail.set_env("AF_DEMO_ALLOW_REMOTE", "false");
            assert!(Config::from_env().is_ok(), "a real deployment binds where it likes");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused_in_the_file_and_in_sections_but_other_af_variables_are_not_read() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AF_TEST_POSTGRES_URL", "postgres://elsewhere");
            jail.set_env("AF_CONFIG_NOTE", "not a setting");
            assert!(Config::from_env().is_ok(), "AF_* variables that name no setting are not settings");
            jail.create_file("af.toml", "bind = \"127.0.0.1:3999\"\ningest_workerz = 4\n")?;
            jail.set_env("AF_CONFIG", "af.toml");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("ingest_workerz"), "{err}");
            jail.create_file("af.toml", "[replay]\nsped = 30.0\n")?;
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("sped"), "{err}");
            jail.create_file("af.toml", "ingest_workers = 4\n[replay]\nspeed = 30.0\n")?;
            let c = Config::from_env().unwrap();
            assert_eq!((c.ingest_workers, c.replay.speed), (4, 30.0));
            jail.set_env("AF_REPLAY__SPED", "30");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("sped") && err.contains("AF_"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn unknown_behaviour_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AF_BEHAVIOUR__BEACON__MIN_CONECTIONS", "12");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("min_conections"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn the_response_policy_comes_from_the_environment_and_stays_in_the_soc() {
        use crate::response::ActionKind;
        use crate::role::Role;
        figment::Jail::expect_with(|jail| {
            jail.set_env("AF_RESPONSE__ROLES", "[analyst, responder]");
            jail.set_env("AF_RESPONSE__APPROVAL", "[block, isolate]");
            let c = Config::from_env().unwrap();
            assert_eq!(c.response.roles, vec![Role::Analyst, Role::Responder]);
            assert!(c.response.needs_approval(ActionKind::Isolate) && !c.response.needs_approval(ActionKind::Manual));
            jail.set_env("AF_RESPONSE__ROLES", "[employee]");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("response.roles") && err.contains("employee"), "{err}");
            jail.set_env("AF_RESPONSE__ROLES", "[admin]");
            jail.set_env("AF_RESPONSE__APROVAL", "[block]");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("aproval"), "a typo is refused: {err}");
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_field() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AF_BIND", "not-an-address");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("BIND") && err.contains("AF_"), "{err}");
            jail.set_env("AF_BIND", "127.0.0.1:1");
            jail.set_env("DATABASE_URL", "mysql://x");
            let err = Config::from_env().unwrap_err().to_string();
            assert!(err.contains("DATABASE_URL"), "{err}");
            Ok(())
        });
    }
}
