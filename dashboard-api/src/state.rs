//! The state every handler can reach.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use collector::CollectorMetrics;
use firmware_adapters::health::HealthRegistry;
use prometheus::Registry;

/// Shared state of the API. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Every metric of the process.
    pub registry: Registry,
    /// The collector's metrics, for readiness.
    pub collector: CollectorMetrics,
    /// Whether a database is configured at all.
    pub database_configured: bool,
    /// Every device adapter's health.
    pub health: HealthRegistry,
    shutting_down: Arc<AtomicBool>,
}

impl AppState {
    /// New state; not shutting down.
    pub fn new(registry: Registry, collector: CollectorMetrics, database_configured: bool) -> Self {
        Self {
            registry,
            collector,
            database_configured,
            health: HealthRegistry::default(),
            shutting_down: Arc::default(),
        }
    }

    /// The same state, serving `health` at `/devices/health`.
    #[must_use]
    pub fn with_health(mut self, health: HealthRegistry) -> Self {
        self.health = health;
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
