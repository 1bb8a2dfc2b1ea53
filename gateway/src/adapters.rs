//! Starting, stopping and reloading the device adapters of the configuration.
//!
//! On SIGHUP, or when the API asks (`POST /api/v1/devices/reload`, through
//! the handle in `dashboard_api::devices`), the configuration file is read
//! again with its profiles. If it is valid, the adapters stop and start again
//! with the new device set (and the embedded broker's device credentials
//! change); if not, every problem is logged (and returned to the API) and the
//! running set stays. Site, spool, database and API settings are read at
//! start only; changing them needs a restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use collector::SiteSink;
use dashboard_api::devices::{Inventory, ReloadOutcome, ReloadRequests};
use firmware_adapters::health::{AdapterHealth, AdapterMetrics, HealthRegistry};
use firmware_adapters::modbus::{self, ModbusDevice, StatusBoard};
use firmware_adapters::mqtt::session::{self, MqttDevice, SessionConfig};
use firmware_adapters::profile::Protocol;
use firmware_adapters::serial::{self, SerialDevice};
use firmware_adapters::sink::DeviceRef;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, Instrument};

use crate::broker::{EmbeddedBroker, INTERNAL_USER};
use crate::config::{self, BrokerMode, GatewayConfig};

/// What adapters need besides the configuration.
#[derive(Debug, Clone)]
pub struct AdapterContext {
    /// Where readings go.
    pub sink: SiteSink,
    /// Adapter metrics.
    pub metrics: AdapterMetrics,
    /// Device health for the API.
    pub health: HealthRegistry,
    /// The latest statuses (door, alarm bits) of Modbus devices, and the raw
    /// values of serial devices and HL7 observations that have no metric.
    pub status: StatusBoard,
    /// The embedded broker, when the configuration runs one.
    pub broker: Option<Arc<EmbeddedBroker>>,
}

/// The running adapters.
#[derive(Debug)]
pub struct Adapters {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    device_ids: Vec<String>,
}

impl Adapters {
    /// Starts an adapter task for the devices of `config`.
    pub fn start(config: &GatewayConfig, ctx: &AdapterContext) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let mqtt_devices: Vec<MqttDevice> = config
            .device
            .iter()
            .filter_map(|d| {
                let profile = config.profile_set.get(&d.profile)?;
                let mqtt = profile
                    .mqtt
                    .clone()
                    .filter(|_| profile.protocol() == Protocol::Mqtt)?;
                Some(MqttDevice {
                    device: DeviceRef::new(&d.device_id, &d.bed_id),
                    profile: Arc::new(mqtt),
                    health: AdapterHealth::new(
                        "mqtt",
                        &d.device_id,
                        ctx.metrics.clone(),
                        ctx.health.clone(),
                    ),
                })
            })
            .collect();
        if let (Some(section), false) = (&config.mqtt, mqtt_devices.is_empty()) {
            let session_config = session_config(section, ctx.broker.as_deref());
            let span = tracing::info_span!("mqtt_session", client_id = %section.client_id);
            let task = session::run(
                session_config,
                mqtt_devices,
                Arc::new(ctx.sink.clone()),
                stopped.clone(),
            );
            tasks.push(tokio::spawn(task.instrument(span)));
        }
        tasks.extend(start_modbus(config, ctx, &stopped));
        tasks.extend(start_serial(config, ctx, &stopped));
        let mut device_ids: Vec<String> =
            config.device.iter().map(|d| d.device_id.clone()).collect();
        let (hl7_task, hl7_ids) = crate::hl7::start(config, ctx, &stopped);
        tasks.extend(hl7_task);
        device_ids.extend(hl7_ids);
        info!(devices = config.device.len(), "Adapters started");
        Self {
            stop,
            tasks,
            device_ids,
        }
    }

    /// Stops every adapter and waits for them.
    pub async fn stop(self, health: &HealthRegistry) {
        self.stop.send_replace(true);
        for task in self.tasks {
            let _ = task.await;
        }
        for id in &self.device_ids {
            health.remove(id);
        }
    }
}

/// One polling task per Modbus link. The configuration was validated, so a
/// refusal here (conflicting serial settings) is logged and starts nothing.
fn start_modbus(
    config: &GatewayConfig,
    ctx: &AdapterContext,
    stopped: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let devices: Vec<ModbusDevice> = config
        .device
        .iter()
        .filter_map(|d| {
            let profile = config.profile_set.get(&d.profile)?;
            ModbusDevice::from_config(d, profile, &ctx.metrics, &ctx.health)
        })
        .collect();
    if devices.is_empty() {
        return Vec::new();
    }
    let sink = Arc::new(ctx.sink.clone());
    match modbus::spawn(devices, sink, ctx.status.clone(), stopped) {
        Ok(tasks) => tasks,
        Err(e) => {
            error!(error = %e, "Modbus devices not started");
            Vec::new()
        }
    }
}

/// One task per serial bedside device.
fn start_serial(
    config: &GatewayConfig,
    ctx: &AdapterContext,
    stopped: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let devices: Vec<SerialDevice> = config
        .device
        .iter()
        .filter_map(|d| {
            let profile = config.profile_set.get(&d.profile)?;
            SerialDevice::from_config(d, profile, &ctx.metrics, &ctx.health)
        })
        .collect();
    let sink = Arc::new(ctx.sink.clone());
    serial::spawn(devices, sink, ctx.status.clone(), stopped)
}

fn session_config(section: &config::MqttSection, broker: Option<&EmbeddedBroker>) -> SessionConfig {
    let (host, port, credentials) = match (section.broker, broker) {
        (BrokerMode::Embedded, Some(b)) => (
            b.internal_addr.ip().to_string(),
            b.internal_addr.port(),
            Some((INTERNAL_USER.to_owned(), b.internal_password.clone())),
        ),
        _ => (
            section.host.clone().unwrap_or_default(),
            section.port,
            section
                .username
                .clone()
                .map(|u| (u, section.password.expose().to_owned())),
        ),
    };
    SessionConfig {
        host,
        port,
        client_id: section.client_id.clone(),
        credentials,
        keep_alive: Duration::from_secs(section.keep_alive_secs),
        retry_initial: Duration::from_millis(100),
        retry_max: Duration::from_secs(10),
    }
}

/// Runs the adapters until `shutdown`, restarting them on SIGHUP or on the
/// API's request (`api`) when the configuration at `path` (if any) is valid.
/// An API request is answered with what the reload did, and an applied
/// reload republishes the devices and profiles to the API.
pub async fn supervise(
    mut adapters: Adapters,
    path: Option<PathBuf>,
    ctx: AdapterContext,
    mut api: Option<ReloadRequests>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut hangup = path
        .as_ref()
        .and_then(|_| tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok());
    loop {
        let reload = async {
            match hangup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        let asked = async {
            match api.as_mut() {
                Some(a) => a.requests.recv().await,
                None => std::future::pending().await,
            }
        };
        let reply = tokio::select! {
            () = reload => None,
            Some(reply) = asked => Some(reply),
            _ = shutdown.changed() => break,
        };
        let Some(path) = &path else {
            // Without a file there is nothing to reload; dropping the reply
            // tells the API so.
            continue;
        };
        let outcome = match config::load(path, |k| std::env::var(k).ok()) {
            Ok(new) => {
                if let Some(b) = &ctx.broker {
                    b.set_devices(&new);
                }
                adapters.stop(&ctx.health).await;
                adapters = Adapters::start(&new, &ctx);
                info!(file = %path.display(), "Configuration reloaded");
                if let Some(a) = &api {
                    a.publish(inventory(&new));
                }
                ReloadOutcome::Applied {
                    devices: new.device.len(),
                    profiles: new.profile_set.names().count(),
                }
            }
            Err(e) => {
                error!(problems = %e, "Configuration reload refused; the running devices stay");
                ReloadOutcome::Refused {
                    problems: problem_lines(&e),
                }
            }
        };
        if let Some(reply) = reply {
            let _ = reply.send(outcome);
        }
    }
    adapters.stop(&ctx.health).await;
}

/// The devices and profiles of `config`, for the API.
pub fn inventory(config: &GatewayConfig) -> Inventory {
    Inventory {
        devices: config.device.clone(),
        profiles: config.profile_set.clone(),
    }
}

/// Every problem of a refused reload, one line each; profile files by name
/// only, so the API does not show the server's folders.
fn problem_lines(e: &config::ConfigError) -> Vec<String> {
    let name = |p: &std::path::Path| {
        p.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    let file = name(&e.file);
    e.problems
        .iter()
        .map(|p| format!("{file}: {p}"))
        .chain(
            e.profile_problems
                .iter()
                .map(|p| format!("profile {}: {}", name(&p.file), p.problem)),
        )
        .collect()
}
