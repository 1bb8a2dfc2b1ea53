//! Prometheus metrics of the collector, registered in one place.

use prometheus::{
    Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// Every collector metric. Cloning is cheap; clones update the same series.
#[derive(Debug, Clone)]
pub struct CollectorMetrics {
    /// Samples appended to the spool.
    pub samples_accepted: IntCounter,
    /// Readings refused, by `reason` (see [`crate::Rejection::reason`]).
    pub samples_rejected: IntCounterVec,
    /// Bytes of spool segments on disk.
    pub spool_bytes: IntGauge,
    /// Samples in the spool not yet committed to the database.
    pub spool_pending: IntGauge,
    /// Age of the oldest sample not yet committed to the database; zero when the
    /// writer has caught up.
    pub spool_oldest_age: Gauge,
    /// Continuous samples dropped by the full policy.
    pub spool_shed: IntCounter,
    /// Keep samples carried forward by the full policy.
    pub spool_carried: IntCounter,
    /// Bytes cut from damaged or incomplete spool tails at start.
    pub spool_cut_bytes: IntCounter,
    /// Rows committed to the database.
    pub rows_written: IntCounter,
    /// Samples the database already had: skipped after a restart because the
    /// recorded progress covered them, or absorbed by the replay path.
    pub replayed: IntCounter,
    /// Time to commit one batch, seconds.
    pub write_duration: Histogram,
    /// Failed batch writes (each is retried).
    pub write_errors: IntCounter,
    /// 1 while the writer has a working database connection.
    pub db_up: IntGauge,
    /// Chunks of raw vitals dropped by the retention job.
    pub retention_chunks_dropped: IntCounter,
}

impl CollectorMetrics {
    /// Creates the metrics and registers them in `registry`.
    ///
    /// # Errors
    ///
    /// When a metric of the same name is already registered there.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            samples_accepted: IntCounter::new(
                "collector_samples_accepted_total",
                "Samples appended to the spool",
            )?,
            samples_rejected: IntCounterVec::new(
                Opts::new(
                    "collector_samples_rejected_total",
                    "Readings refused, by reason",
                ),
                &["reason"],
            )?,
            spool_bytes: IntGauge::new("collector_spool_bytes", "Bytes of spool segments on disk")?,
            spool_pending: IntGauge::new(
                "collector_spool_pending_samples",
                "Samples in the spool not yet committed to the database",
            )?,
            spool_oldest_age: Gauge::new(
                "collector_spool_oldest_record_age_seconds",
                "Age of the oldest sample not yet committed to the database",
            )?,
            spool_shed: IntCounter::new(
                "collector_spool_shed_samples_total",
                "Continuous samples dropped because the spool was full",
            )?,
            spool_carried: IntCounter::new(
                "collector_spool_carried_samples_total",
                "Episodic samples carried forward when their segment was shed",
            )?,
            spool_cut_bytes: IntCounter::new(
                "collector_spool_recovery_cut_bytes_total",
                "Bytes cut from damaged or incomplete spool tails at start",
            )?,
            rows_written: IntCounter::new(
                "collector_db_rows_written_total",
                "Rows committed to the database",
            )?,
            replayed: IntCounter::new(
                "collector_db_replayed_samples_total",
                "Samples the database already had when the writer replayed them",
            )?,
            write_duration: Histogram::with_opts(
                HistogramOpts::new(
                    "collector_db_write_duration_seconds",
                    "Time to commit one batch to the database",
                )
                .buckets(vec![
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
            )?,
            write_errors: IntCounter::new(
                "collector_db_write_errors_total",
                "Failed batch writes; each is retried",
            )?,
            db_up: IntGauge::new("collector_db_up", "1 while the writer is connected")?,
            retention_chunks_dropped: IntCounter::new(
                "collector_retention_chunks_dropped_total",
                "Chunks of raw vitals dropped because they passed the retention period",
            )?,
        };
        registry.register(Box::new(m.samples_accepted.clone()))?;
        registry.register(Box::new(m.samples_rejected.clone()))?;
        registry.register(Box::new(m.spool_bytes.clone()))?;
        registry.register(Box::new(m.spool_pending.clone()))?;
        registry.register(Box::new(m.spool_oldest_age.clone()))?;
        registry.register(Box::new(m.spool_shed.clone()))?;
        registry.register(Box::new(m.spool_carried.clone()))?;
        registry.register(Box::new(m.spool_cut_bytes.clone()))?;
        registry.register(Box::new(m.rows_written.clone()))?;
        registry.register(Box::new(m.replayed.clone()))?;
        registry.register(Box::new(m.write_duration.clone()))?;
        registry.register(Box::new(m.write_errors.clone()))?;
        registry.register(Box::new(m.db_up.clone()))?;
        registry.register(Box::new(m.retention_chunks_dropped.clone()))?;
        Ok(m)
    }

    /// Metrics registered in a private registry, for tests and benchmarks.
    pub fn unregistered() -> Self {
        Self::register(&Registry::new()).expect("a fresh registry has no name clashes")
    }
}
