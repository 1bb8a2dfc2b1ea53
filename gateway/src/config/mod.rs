//! The gateway's configuration file (TOML) and its validation.
//!
//! Every struct denies unknown keys, so a typo fails at start instead of silently
//! falling back to a default. Durations and sizes carry their unit in the key name
//! (`batch_max_wait_ms`, `max_bytes`). [`load`] reports every problem it can find at
//! once, each with the file, the key path and what is wrong, so a biomedical
//! engineer fixes a file in one round instead of one error per restart.
//!
//! Secrets: the database URL may hold a password. The environment variable
//! `HEALTHSPHERE_DATABASE_URL` overrides `database.url` (and enables the database
//! when the file has no `[database]` section), so the password need not be in the
//! file. It is wrapped in [`Secret`], whose `Debug` output is redacted.

mod alerting;
mod hl7;
mod load;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;

use firmware_adapters::profile::{DeviceConfig, ProfileSet};
use firmware_adapters::sim::Scenario;
use serde::Deserialize;

pub use alerting::{AlarmMqttSection, AlertingSection, EscalationStepSection, WebhookSection};
pub use hl7::{Hl7BedSection, Hl7DeviceSection, Hl7Section};
pub use load::{load, load_str, ConfigError, Problem};

/// The environment variable that overrides `database.url`.
pub const DATABASE_URL_ENV: &str = "HEALTHSPHERE_DATABASE_URL";

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Which site and ward this gateway serves.
    pub site: SiteConfig,
    /// The local store-and-forward spool.
    pub spool: SpoolSection,
    /// TimescaleDB. Without it the gateway spools and serves the live bus only.
    pub database: Option<DatabaseSection>,
    /// The HTTP API (health, readiness, metrics).
    #[serde(default)]
    pub api: ApiSection,
    /// Simulated bedside monitors, for the demo ward and tests.
    #[serde(default)]
    pub simulator: Vec<SimulatorSection>,
    /// Where device profiles are found.
    #[serde(default)]
    pub profiles: ProfilesSection,
    /// The MQTT broker devices publish to: embedded, or an external one.
    pub mqtt: Option<MqttSection>,
    /// The devices on this ward.
    #[serde(default)]
    pub device: Vec<DeviceConfig>,
    /// The HL7 v2 over MLLP listener and the devices that send to it.
    pub hl7: Option<Hl7Section>,
    /// Alarm rules, escalation and notification; defaults when absent.
    #[serde(default)]
    pub alerting: AlertingSection,
    /// The profiles loaded from `profiles.dirs`; filled by the loader.
    #[serde(skip)]
    pub profile_set: ProfileSet,
}

/// `[profiles]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilesSection {
    /// Folders of profile files, in order; a later folder's profile replaces an
    /// earlier one of the same name. Relative paths are relative to the folder of
    /// this configuration file. Default: `profiles` (the shipped ones sit in
    /// `deploy/profiles` beside the sample configurations).
    #[serde(default = "defaults::profile_dirs")]
    pub dirs: Vec<PathBuf>,
}

impl Default for ProfilesSection {
    fn default() -> Self {
        Self {
            dirs: defaults::profile_dirs(),
        }
    }
}

/// `[mqtt]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSection {
    /// `embedded` (the gateway runs the broker) or `external` (Mosquitto, EMQX...).
    pub broker: BrokerMode,
    /// Embedded broker: the address devices connect to. Default 127.0.0.1:1883.
    #[serde(default = "defaults::mqtt_listen")]
    pub listen: String,
    /// Embedded broker: most simultaneous connections. rumqttd's router panics
    /// past this limit and stops serving, so keep it well above the device count;
    /// at least twice the MQTT devices is enforced. Default 200.
    #[serde(default = "defaults::mqtt_max_connections")]
    pub max_connections: usize,
    /// Embedded broker: PEM certificate chain for TLS; with `tls_key_path`.
    pub tls_cert_path: Option<PathBuf>,
    /// Embedded broker: PEM private key for TLS.
    pub tls_key_path: Option<PathBuf>,
    /// External broker: host name or address.
    pub host: Option<String>,
    /// External broker: port. Default 1883.
    #[serde(default = "defaults::mqtt_port")]
    pub port: u16,
    /// External broker: the gateway's user name.
    pub username: Option<String>,
    /// External broker: the gateway's password. Never logged.
    #[serde(default)]
    pub password: Secret,
    /// The gateway's client id, stable so the broker keeps its session and
    /// redelivers unacknowledged messages after a restart.
    #[serde(default = "defaults::mqtt_client_id")]
    pub client_id: String,
    /// MQTT keep-alive. Default 30 s.
    #[serde(default = "defaults::mqtt_keep_alive_secs")]
    pub keep_alive_secs: u64,
}

/// Which broker devices publish to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokerMode {
    /// The gateway runs rumqttd itself.
    Embedded,
    /// A broker the site runs.
    External,
}

/// `[site]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The hospital site (tenant) every sample belongs to.
    pub tenant_id: String,
    /// The ward this gateway serves; shown in logs and the API.
    pub ward_id: String,
}

/// `[spool]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolSection {
    /// Directory of the spool; created when missing. One gateway per directory.
    pub dir: PathBuf,
    /// Upper bound of the spool on disk. Default 2 GiB: at a ward's 120 samples a
    /// second (about 80 bytes each) that is more than two days of outage.
    #[serde(default = "defaults::spool_max_bytes")]
    pub max_bytes: u64,
    /// Size at which a segment is closed; the unit of shedding. Default 16 MiB.
    #[serde(default = "defaults::spool_segment_bytes")]
    pub segment_bytes: u64,
    /// Wait for fdatasync before acknowledging. Default true; turning it off
    /// risks losing acknowledged readings on power loss.
    #[serde(default = "defaults::yes")]
    pub fsync: bool,
}

/// `[database]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// Connection URL (`postgres://user:password@host:port/db`). Overridden by the
    /// `HEALTHSPHERE_DATABASE_URL` environment variable.
    #[serde(default)]
    pub url: Secret,
    /// Most samples in one transaction. Default 10 000.
    #[serde(default = "defaults::batch_max_rows")]
    pub batch_max_rows: usize,
    /// A partial batch is written once it has waited this long. Default 500 ms.
    #[serde(default = "defaults::batch_max_wait_ms")]
    pub batch_max_wait_ms: u64,
    /// First retry delay after a database failure. Default 200 ms.
    #[serde(default = "defaults::retry_initial_ms")]
    pub retry_initial_ms: u64,
    /// Longest retry delay. Default 30 s.
    #[serde(default = "defaults::retry_max_ms")]
    pub retry_max_ms: u64,
    /// Limit for establishing a connection. Default 5 s.
    #[serde(default = "defaults::connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// How long shutdown waits for the database to take what is spooled. Whatever
    /// is left stays in the spool for the next start. Default 10 s.
    #[serde(default = "defaults::shutdown_flush_ms")]
    pub shutdown_flush_ms: u64,
    /// Raw vitals older than this many days are dropped, a day-long chunk
    /// at a time, by an hourly job (see `collector::retention`). Absent:
    /// everything is kept.
    #[serde(default)]
    pub retention_days: Option<u32>,
}

/// `[api]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// Address of the HTTP API. Default 127.0.0.1:8080; port 0 picks a free port.
    #[serde(default = "defaults::api_listen")]
    pub listen: String,
    /// `[api.auth]`: sessions, throttling, second factor. The secret that
    /// signs tokens comes from `HEALTHSPHERE_API_SECRET`, never this file;
    /// without it (or without a database) the `/api/v1` routes answer 503.
    #[serde(default)]
    pub auth: dashboard_api::config::AuthConfig,
}

impl Default for ApiSection {
    fn default() -> Self {
        Self {
            listen: defaults::api_listen(),
            auth: dashboard_api::config::AuthConfig::default(),
        }
    }
}

impl ApiSection {
    /// The parsed listen address; validation guarantees it parses.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
            .parse()
            .expect("validated when the configuration was loaded")
    }
}

/// `[[simulator]]`: one simulated bedside monitor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSection {
    /// The simulated device's identifier, unique in this file.
    pub device_id: String,
    /// The bed it is attached to.
    pub bed_id: String,
    /// Time between two sets of numerics. Default 1000 ms.
    #[serde(default = "defaults::sim_interval_ms")]
    pub interval_ms: u64,
    /// Time between two cuff blood pressures; 0 disables them. Default 15 min.
    #[serde(default = "defaults::sim_nibp_interval_ms")]
    pub nibp_interval_ms: u64,
    /// `stable` or `deteriorating`.
    #[serde(default)]
    pub scenario: Scenario,
    /// Seed of the patient's values; the same seed replays the same patient.
    #[serde(default)]
    pub seed: u64,
}

/// A string that must never be printed: `Debug` shows `<redacted>`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "<empty>"
        } else {
            "<redacted>"
        })
    }
}

impl GatewayConfig {
    /// The largest MQTT payload any configured device's profile allows.
    pub fn profile_set_max_payload(&self) -> usize {
        self.device
            .iter()
            .filter_map(|d| self.profile_set.get(&d.profile))
            .filter_map(|p| p.mqtt.as_ref())
            .map(|m| m.max_payload_bytes)
            .max()
            .unwrap_or(64 * 1024)
    }
}

impl DatabaseSection {
    /// A section with every default and the given URL, used when only the
    /// environment variable configures the database.
    pub fn from_url(url: String) -> Self {
        Self {
            url: Secret(url),
            batch_max_rows: defaults::batch_max_rows(),
            batch_max_wait_ms: defaults::batch_max_wait_ms(),
            retry_initial_ms: defaults::retry_initial_ms(),
            retry_max_ms: defaults::retry_max_ms(),
            connect_timeout_ms: defaults::connect_timeout_ms(),
            shutdown_flush_ms: defaults::shutdown_flush_ms(),
            retention_days: None,
        }
    }
}

/// Defaults, in one place.
mod defaults {
    pub(super) const fn spool_max_bytes() -> u64 {
        2 << 30
    }
    pub(super) const fn spool_segment_bytes() -> u64 {
        16 << 20
    }
    pub(super) const fn yes() -> bool {
        true
    }
    pub(super) const fn batch_max_rows() -> usize {
        10_000
    }
    pub(super) const fn batch_max_wait_ms() -> u64 {
        500
    }
    pub(super) const fn retry_initial_ms() -> u64 {
        200
    }
    pub(super) const fn retry_max_ms() -> u64 {
        30_000
    }
    pub(super) const fn connect_timeout_ms() -> u64 {
        5_000
    }
    pub(super) const fn shutdown_flush_ms() -> u64 {
        10_000
    }
    pub(super) fn api_listen() -> String {
        "127.0.0.1:8080".to_owned()
    }
    pub(super) const fn sim_interval_ms() -> u64 {
        1_000
    }
    pub(super) const fn sim_nibp_interval_ms() -> u64 {
        15 * 60 * 1_000
    }
    pub(super) fn profile_dirs() -> Vec<std::path::PathBuf> {
        vec!["profiles".into()]
    }
    pub(super) fn mqtt_listen() -> String {
        "127.0.0.1:1883".to_owned()
    }
    pub(super) const fn mqtt_max_connections() -> usize {
        200
    }
    pub(super) const fn mqtt_port() -> u16 {
        1883
    }
    pub(super) fn mqtt_client_id() -> String {
        "healthsphere-gateway".to_owned()
    }
    pub(super) const fn mqtt_keep_alive_secs() -> u64 {
        30
    }
}
