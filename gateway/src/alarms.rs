//! Starting the alerting runtime and its notification channels from the
//! configuration: the engine on the live bus, the alarm log (with a
//! database), webhooks and the MQTT alarm publisher.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alerting::engine::{EngineConfig, WatchedDevice};
use alerting::lifecycle::{EscalationPath, EscalationStep, LifecyclePolicy};
use alerting::mqtt::{self, MqttPublisherConfig};
use alerting::runtime::{self, AlertingHandle, AlertingMetrics, RuntimeConfig, Sink};
use alerting::store::{self, StoreConfig, StoreMetrics};
use alerting::webhook::{self, http::HttpUrl, Endpoint, Secret};
use alerting::{RuleSet, StaffId};
use anyhow::Context as _;
use collector::{CollectorMetrics, Ingest};
use prometheus::Registry;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::GatewayConfig;

/// Silence time of simulated monitors, which have no profile.
const SIMULATOR_SILENCE: Duration = Duration::from_secs(30);

/// Starts alerting; every task stops when `shutdown` turns true.
///
/// # Errors
///
/// When the escalation path or a webhook URL is invalid (check-config reports
/// these first) or metrics cannot be registered.
pub fn start(
    config: &GatewayConfig,
    ingest: &Ingest,
    collector: &CollectorMetrics,
    registry: &Registry,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<AlertingHandle> {
    let a = &config.alerting;
    let boot = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let mut engine = EngineConfig::new(&config.site.tenant_id, &boot.to_string());
    engine.rules = a.rules.clone().unwrap_or_else(RuleSet::shipped_default);
    engine.lifecycle = LifecyclePolicy {
        max_silence: Duration::from_millis(a.max_silence_ms),
    };
    engine.escalate_from = a.escalate_from;
    if !a.escalation.is_empty() {
        let steps = a
            .escalation
            .iter()
            .map(|s| EscalationStep {
                recipient: StaffId::from(s.recipient.as_str()),
                ttl: Duration::from_millis(s.ttl_ms),
            })
            .collect();
        engine.escalation = Some(EscalationPath::new(steps).context("alerting.escalation")?);
    }
    engine.technical.devices = watched_devices(config);
    engine.technical.spool_max_bytes = Some(config.spool.max_bytes);
    engine.technical.database_down_after =
        config.database.as_ref().map(|_| Duration::from_secs(60));

    let mut sinks: Vec<Sink> = Vec::new();
    let store = config.database.as_ref().map(|db| {
        let metrics = StoreMetrics::register(registry);
        let cfg = StoreConfig::new(db.url.expose());
        metrics.map(|m| store::spawn_writer(cfg, m, shutdown.clone()).0)
    });
    let store = store.transpose().context("register alarm log metrics")?;
    if let Some(s) = &store {
        sinks.push(s.sink.clone());
    }
    let mut hooks = Vec::new();
    for w in &a.webhook {
        let (sink, rx) = webhook::channel(&w.name, 1_024);
        sinks.push(sink);
        let endpoint = Endpoint {
            name: w.name.as_str().into(),
            url: HttpUrl::parse(&w.url)
                .with_context(|| format!("alerting.webhook `{}`", w.name))?,
            secret: Secret::new(w.secret.expose().as_bytes()),
            min_priority: w.min_priority,
            timeout: Duration::from_millis(w.timeout_ms),
            max_attempts: w.max_attempts,
            retry_initial: Duration::from_millis(w.retry_initial_ms),
            retry_max: Duration::from_millis(w.retry_max_ms),
        };
        hooks.push((endpoint, rx));
    }
    if let Some(m) = &a.mqtt {
        let (sink, rx) = mqtt::channel(1_024);
        sinks.push(sink);
        let cfg = MqttPublisherConfig {
            host: m.host.clone(),
            port: m.port,
            client_id: m.client_id.clone(),
            credentials: None,
            topic_prefix: m.topic_prefix.clone(),
            site: config.site.tenant_id.clone(),
            ward: config.site.ward_id.clone(),
        };
        mqtt::spawn(cfg, rx, shutdown.clone());
    }

    let metrics = AlertingMetrics::register(registry).context("register alerting metrics")?;
    let mut cfg = RuntimeConfig::new(engine);
    cfg.tick = Duration::from_millis(a.tick_ms);
    let (handle, _task) = runtime::spawn(
        cfg,
        ingest.subscribe(),
        Some(collector.clone()),
        sinks,
        metrics,
        shutdown.clone(),
    );
    let tenant: Arc<str> = config.site.tenant_id.as_str().into();
    for (endpoint, rx) in hooks {
        webhook::spawn(
            endpoint,
            Arc::clone(&tenant),
            rx,
            handle.clone(),
            store.clone(),
            shutdown.clone(),
        );
    }
    let admit = handle.clone();
    let beds = a.admitted_beds.clone();
    tokio::spawn(async move {
        for bed in beds {
            if admit.admit(&bed, None).await.is_err() {
                warn!(bed_id = %bed, "Alerting stopped before the admitted beds were set");
            }
        }
    });
    info!(
        webhooks = a.webhook.len(),
        mqtt = a.mqtt.is_some(),
        alarm_log = store.is_some(),
        "Alerting running"
    );
    Ok(handle)
}

/// Configured devices with their profile's silence time, and the simulators.
fn watched_devices(config: &GatewayConfig) -> Vec<WatchedDevice> {
    let devices = config.device.iter().filter_map(|d| {
        let profile = config.profile_set.get(&d.profile)?;
        Some(WatchedDevice {
            device_id: d.device_id.as_str().into(),
            bed_id: d.bed_id.as_str().into(),
            silence_timeout: Duration::from_millis(profile.silence_timeout_ms),
        })
    });
    let sims = config.simulator.iter().map(|s| WatchedDevice {
        device_id: s.device_id.as_str().into(),
        bed_id: s.bed_id.as_str().into(),
        silence_timeout: SIMULATOR_SILENCE,
    });
    devices.chain(sims).collect()
}
