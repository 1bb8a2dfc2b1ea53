//! The state every handler can reach.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use collector::CollectorMetrics;

use crate::core::ApiCore;
use firmware_adapters::health::HealthRegistry;
use prometheus::Registry;

/// Shared state of the API. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Every metric of the process.
    pub registry: Registry,
    /// The collector's metrics, for readiness.
    pub collector: CollectorMetrics,
    /// Whether a database is configured at all.
    pub database_configured: bool,
    /// Every device adapter's health.
    pub health: HealthRegistry,
    /// The authenticated API's keys, pool and throttles; `None` without a
    /// database or an API secret, and then every `/api/v1` route answers 503.
    pub core: Option<Arc<ApiCore>>,
    /// Devices, profiles, statuses and the reload handle; `None` answers
    /// 503 on the device administration routes.
    pub devices: Option<crate::devices::DeviceAdmin>,
    /// The live bus, for `/api/v1/live`; `None` answers 503 there.
    pub live: Option<crate::live::LiveSource>,
    /// The alerting runtime; `None` answers 503 on the alarm routes.
    pub alerting: Option<crate::api::alarms::Alerting>,
    shutting_down: Arc<AtomicBool>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("database_configured", &self.database_configured)
            .field("core", &self.core)
            .field("live", &self.live.is_some())
            .field("devices", &self.devices)
            .field("alerting", &self.alerting.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// New state; not shutting down.
    pub fn new(registry: Registry, collector: CollectorMetrics, database_configured: bool) -> Self {
        Self {
            registry,
            collector,
            database_configured,
            health: HealthRegistry::default(),
            core: None,
            devices: None,
            live: None,
            alerting: None,
            shutting_down: Arc::default(),
        }
    }

    /// The same state, serving `health` at `/api/v1/devices/health`.
    #[must_use]
    pub fn with_health(mut self, health: HealthRegistry) -> Self {
        self.health = health;
        self
    }

    /// The same state, serving the authenticated API with `core`.
    #[must_use]
    pub fn with_core(mut self, core: Arc<ApiCore>) -> Self {
        self.core = Some(core);
        self
    }

    /// The same state, serving device administration through `admin`.
    #[must_use]
    pub fn with_devices(mut self, admin: crate::devices::DeviceAdmin) -> Self {
        self.devices = Some(admin);
        self
    }

    /// The same state, serving live events from `source`.
    #[must_use]
    pub fn with_live(mut self, source: crate::live::LiveSource) -> Self {
        self.live = Some(source);
        self
    }

    /// The same state, serving alarms through `alerting`.
    #[must_use]
    pub fn with_alerting(mut self, alerting: crate::api::alarms::Alerting) -> Self {
        self.alerting = Some(alerting);
        self
    }

    /// Marks the process as shutting down: readiness turns 503.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }
}
