//! Adapter health: connection state, last reading time and counters, per device.
//!
//! Every adapter owns one [`AdapterHealth`] per device and updates it as it works.
//! The same values are exported as Prometheus metrics (labelled by `adapter` and
//! `device_id`; device ids are fixed by configuration, so the label set is bounded)
//! and kept in a [`HealthRegistry`] snapshot the API serves.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

/// Where an adapter stands with its device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Trying to open the transport or complete the handshake.
    Connecting,
    /// Talking to the device.
    Connected,
    /// Waiting before the next attempt after a failure.
    BackingOff,
    /// Given up until configuration changes (for example the port does not exist).
    Failed,
}

impl ConnectionState {
    /// The value of the `adapter_connection_state` gauge.
    pub fn code(self) -> i64 {
        match self {
            Self::Connecting => 0,
            Self::Connected => 1,
            Self::BackingOff => 2,
            Self::Failed => 3,
        }
    }
}

/// What the API shows for one device.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeviceHealth {
    /// The adapter kind (`mqtt`, `modbus_tcp`, `modbus_rtu`, ...).
    pub adapter: &'static str,
    /// Connection state.
    pub state: ConnectionState,
    /// When the last reading was delivered.
    pub last_reading: Option<SystemTime>,
    /// Frames (messages, responses) received.
    pub frames: u64,
    /// Readings delivered.
    pub readings: u64,
    /// Errors, of any kind.
    pub errors: u64,
    /// The last error, for a biomedical engineer's eyes.
    pub last_error: Option<String>,
}

/// Prometheus metrics shared by all adapters.
#[derive(Debug, Clone)]
pub struct AdapterMetrics {
    state: IntGaugeVec,
    frames: IntCounterVec,
    readings: IntCounterVec,
    errors: IntCounterVec,
    last_reading: IntGaugeVec,
}

impl AdapterMetrics {
    /// Creates the metrics and registers them in `registry`.
    ///
    /// # Errors
    ///
    /// When a metric of the same name is already registered there.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let labels = &["adapter", "device_id"];
        let m = Self {
            state: IntGaugeVec::new(
                Opts::new(
                    "adapter_connection_state",
                    "0 connecting, 1 connected, 2 backing off, 3 failed",
                ),
                labels,
            )?,
            frames: IntCounterVec::new(
                Opts::new("adapter_frames_total", "Frames or messages received"),
                labels,
            )?,
            readings: IntCounterVec::new(
                Opts::new(
                    "adapter_readings_total",
                    "Readings delivered to the collector",
                ),
                labels,
            )?,
            errors: IntCounterVec::new(
                Opts::new("adapter_errors_total", "Adapter errors, by kind"),
                &["adapter", "device_id", "kind"],
            )?,
            last_reading: IntGaugeVec::new(
                Opts::new(
                    "adapter_last_reading_timestamp_seconds",
                    "Unix time of the last delivered reading",
                ),
                labels,
            )?,
        };
        registry.register(Box::new(m.state.clone()))?;
        registry.register(Box::new(m.frames.clone()))?;
        registry.register(Box::new(m.readings.clone()))?;
        registry.register(Box::new(m.errors.clone()))?;
        registry.register(Box::new(m.last_reading.clone()))?;
        Ok(m)
    }

    /// Metrics in a private registry, for tests.
    pub fn unregistered() -> Self {
        Self::register(&Registry::new()).expect("a fresh registry has no name clashes")
    }
}

/// The snapshot of every device's health, for the API.
#[derive(Debug, Clone, Default)]
pub struct HealthRegistry {
    devices: Arc<Mutex<BTreeMap<String, DeviceHealth>>>,
    /// Woken after every change, for whoever waits on a device's state.
    changed: Arc<tokio::sync::Notify>,
}

impl HealthRegistry {
    /// Every device's health, by device id.
    pub fn snapshot(&self) -> BTreeMap<String, DeviceHealth> {
        self.lock().clone()
    }

    /// Waits until `device_id`'s health satisfies `check` (returns at once
    /// when it already does).
    pub async fn wait_for(&self, device_id: &str, check: impl Fn(&DeviceHealth) -> bool) {
        loop {
            let changed = self.changed.notified();
            if self.lock().get(device_id).is_some_and(&check) {
                return;
            }
            changed.await;
        }
    }

    /// Forgets a device that was removed from the configuration.
    pub fn remove(&self, device_id: &str) {
        self.lock().remove(device_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, DeviceHealth>> {
        self.devices
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One device's health handle, owned by its adapter.
#[derive(Debug, Clone)]
pub struct AdapterHealth {
    adapter: &'static str,
    device_id: String,
    metrics: AdapterMetrics,
    registry: HealthRegistry,
}

impl AdapterHealth {
    /// A handle for `device_id` served by `adapter`; starts as connecting.
    pub fn new(
        adapter: &'static str,
        device_id: &str,
        metrics: AdapterMetrics,
        registry: HealthRegistry,
    ) -> Self {
        let h = Self {
            adapter,
            device_id: device_id.to_owned(),
            metrics,
            registry,
        };
        h.registry.lock().insert(
            h.device_id.clone(),
            DeviceHealth {
                adapter,
                state: ConnectionState::Connecting,
                last_reading: None,
                frames: 0,
                readings: 0,
                errors: 0,
                last_error: None,
            },
        );
        h.set_state(ConnectionState::Connecting);
        h
    }

    fn labels(&self) -> [&str; 2] {
        [self.adapter, &self.device_id]
    }

    fn update(&self, f: impl FnOnce(&mut DeviceHealth)) {
        if let Some(d) = self.registry.lock().get_mut(&self.device_id) {
            f(d);
        }
        self.registry.changed.notify_waiters();
    }

    /// Records a new connection state.
    pub fn set_state(&self, state: ConnectionState) {
        self.metrics
            .state
            .with_label_values(&self.labels())
            .set(state.code());
        self.update(|d| d.state = state);
    }

    /// Counts one received frame or message.
    pub fn frame(&self) {
        self.metrics.frames.with_label_values(&self.labels()).inc();
        self.update(|d| d.frames += 1);
    }

    /// Counts `n` delivered readings at `at`.
    pub fn readings(&self, n: u64, at: SystemTime) {
        self.metrics
            .readings
            .with_label_values(&self.labels())
            .inc_by(n);
        let secs = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        self.metrics
            .last_reading
            .with_label_values(&self.labels())
            .set(secs);
        self.update(|d| {
            d.readings += n;
            d.last_reading = Some(at);
        });
    }

    /// Counts an error of a bounded `kind` (such as `timeout`, `not_json`).
    pub fn error(&self, kind: &'static str, detail: &str) {
        let [adapter, device] = self.labels();
        self.metrics
            .errors
            .with_label_values(&[adapter, device, kind])
            .inc();
        self.update(|d| {
            d.errors += 1;
            d.last_error = Some(format!("{kind}: {detail}"));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_show_in_snapshot_and_metrics() {
        let registry = Registry::new();
        let metrics = AdapterMetrics::register(&registry).unwrap();
        let health = HealthRegistry::default();
        let h = AdapterHealth::new("mqtt", "mon-1", metrics, health.clone());
        h.set_state(ConnectionState::Connected);
        h.frame();
        h.readings(
            3,
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(50),
        );
        h.error("not_json", "expected value at line 1");
        let d = &health.snapshot()["mon-1"];
        assert_eq!(
            (d.state, d.frames, d.readings, d.errors),
            (ConnectionState::Connected, 1, 3, 1)
        );
        assert_eq!(
            d.last_error.as_deref(),
            Some("not_json: expected value at line 1")
        );
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap();
        assert!(
            text.contains(r#"adapter_readings_total{adapter="mqtt",device_id="mon-1"} 3"#),
            "{text}"
        );
        assert!(text.contains(
            r#"adapter_last_reading_timestamp_seconds{adapter="mqtt",device_id="mon-1"} 50"#
        ));
        health.remove("mon-1");
        assert!(health.snapshot().is_empty());
    }
}
