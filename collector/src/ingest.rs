//! The intake handle adapters call, and the live bus.
//!
//! [`Ingest::accept`] normalizes a device's readings, appends the accepted samples
//! to the spool (durably) and only then returns, so the adapter may acknowledge the
//! device. The samples are then published on the live bus, where alerting and the
//! API see them within milliseconds, whether or not the database is reachable.

use std::sync::Arc;
use std::time::SystemTime;

use firmware_adapters::sink::{DeviceRef, ReadingSink, Refused};
use firmware_adapters::{Reading, Sampling};
use tokio::sync::broadcast;
use tracing::{debug, warn};

use crate::metrics::CollectorMetrics;
use crate::normalize::{unix_micros, Normalizer, Rejection};
use crate::sample::{Origin, OriginCache, Sample};
use crate::spool::{Entries, Spool, SpoolError};

/// The collector as adapters see it: a [`ReadingSink`] for one site.
#[derive(Debug, Clone)]
pub struct SiteSink {
    ingest: Ingest,
    tenant_id: Arc<str>,
}

impl SiteSink {
    /// Delivers into `ingest`, attributing every reading to `tenant_id`.
    pub fn new(ingest: Ingest, tenant_id: &str) -> Self {
        Self {
            ingest,
            tenant_id: tenant_id.into(),
        }
    }
}

impl ReadingSink for SiteSink {
    async fn deliver(
        &self,
        device: &DeviceRef,
        readings: Vec<Reading>,
        received: SystemTime,
    ) -> Result<(), Refused> {
        let origin = Origin {
            tenant_id: Arc::clone(&self.tenant_id),
            bed_id: Arc::clone(&device.bed_id),
            device_id: Arc::clone(&device.device_id),
        };
        match self.ingest.accept(&origin, &readings, received).await {
            Ok(_) => Ok(()),
            Err(e) => Err(Refused {
                reason: e.to_string(),
            }),
        }
    }
}

/// Samples accepted together, as the live bus carries them.
pub type LiveBatch = Arc<[Sample]>;

/// What happened to each reading of one [`Ingest::accept`] call.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// Readings stored.
    pub accepted: usize,
    /// Readings refused, with their index in the input and the reason.
    pub rejected: Vec<(usize, Rejection)>,
}

/// The collector's intake. Cheap to clone; clones share the spool and the bus.
#[derive(Debug, Clone)]
pub struct Ingest {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    spool: Arc<Spool>,
    normalizer: Normalizer,
    metrics: CollectorMetrics,
    live: broadcast::Sender<LiveBatch>,
}

impl Ingest {
    /// An intake over `spool`. `live_capacity` is how many batches a slow live-bus
    /// subscriber may fall behind before it misses some (it is told how many).
    pub fn new(
        spool: Arc<Spool>,
        normalizer: Normalizer,
        metrics: CollectorMetrics,
        live_capacity: usize,
    ) -> Self {
        let (live, _) = broadcast::channel(live_capacity.max(1));
        Self {
            inner: Arc::new(Inner {
                spool,
                normalizer,
                metrics,
                live,
            }),
        }
    }

    /// Subscribes to the live bus.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveBatch> {
        self.inner.live.subscribe()
    }

    /// The spool samples are appended to.
    pub fn spool(&self) -> &Arc<Spool> {
        &self.inner.spool
    }

    /// Normalizes and stores the readings one device sent at `received`.
    ///
    /// Readings that cannot be normalized are refused individually and reported in
    /// the [`Outcome`]; the rest are appended together.
    ///
    /// # Errors
    ///
    /// When the spool refuses the batch (full, or a disk failure). The device must
    /// not be acknowledged then. The samples are still published on the live bus so
    /// alarms keep working; they are not stored.
    pub async fn accept(
        &self,
        origin: &Origin,
        readings: &[Reading],
        received: SystemTime,
    ) -> Result<Outcome, SpoolError> {
        let mut outcome = Outcome::default();
        let mut samples = Vec::with_capacity(readings.len());
        for (i, r) in readings.iter().enumerate() {
            match self.inner.normalizer.normalize(r, origin, received) {
                Ok(s) => samples.push(s),
                Err(reason) => {
                    self.reject(&reason, 1);
                    debug!(device_id = %origin.device_id, metric = %r.metric, error = %reason,
                        "Reading rejected");
                    outcome.rejected.push((i, reason));
                }
            }
        }
        outcome.accepted = self.accept_samples(samples).await?;
        Ok(outcome)
    }

    /// Stores samples that are already normalized; returns how many.
    ///
    /// # Errors
    ///
    /// As for [`Ingest::accept`].
    pub async fn accept_samples(&self, samples: Vec<Sample>) -> Result<usize, SpoolError> {
        if samples.is_empty() {
            return Ok(0);
        }
        let mut entries = Entries::default();
        for s in &samples {
            entries.push(s.metric.sampling() == Sampling::Episodic, |out| {
                s.encode(out)
            });
        }
        let spool = Arc::clone(&self.inner.spool);
        let appended = tokio::task::spawn_blocking(move || spool.append(&entries))
            .await
            .expect("spool appends do not panic");
        let count = samples.len();
        let batch: LiveBatch = samples.into();
        // No subscriber is not an error: alerting may not be running in a test.
        let _ = self.inner.live.send(batch);
        let m = &self.inner.metrics;
        match appended {
            Ok(a) => {
                m.samples_accepted.inc_by(count as u64);
                if a.shed.segments > 0 {
                    m.spool_shed.inc_by(a.shed.dropped);
                    m.spool_carried.inc_by(a.shed.carried);
                    warn!(
                        dropped = a.shed.dropped,
                        carried = a.shed.carried,
                        segments = a.shed.segments,
                        "Spool full: oldest continuous samples shed"
                    );
                }
                let stats = self.inner.spool.stats();
                m.spool_bytes
                    .set(i64::try_from(stats.bytes).unwrap_or(i64::MAX));
                m.spool_pending
                    .set(i64::try_from(stats.pending).unwrap_or(i64::MAX));
                Ok(count)
            }
            Err(e) => {
                let reason = match e {
                    SpoolError::Full { .. } => Rejection::SpoolFull,
                    SpoolError::Io { .. } => Rejection::SpoolIo,
                };
                self.reject(&reason, count as u64);
                Err(e)
            }
        }
    }

    /// Refreshes the spool gauges, including the age of the oldest sample not yet
    /// in the database. The writer keeps them current while it runs; without a
    /// database the gateway calls this periodically instead. It reads the spool,
    /// so it must not run while a writer drains the same spool.
    ///
    /// # Errors
    ///
    /// When the spool cannot be read.
    pub fn refresh_spool_gauges(&self, now: SystemTime) -> Result<(), SpoolError> {
        let spool = &self.inner.spool;
        let m = &self.inner.metrics;
        let stats = spool.stats();
        m.spool_bytes
            .set(i64::try_from(stats.bytes).unwrap_or(i64::MAX));
        m.spool_pending
            .set(i64::try_from(stats.pending).unwrap_or(i64::MAX));
        let mut buf = Vec::new();
        let first = spool.read(spool.acked(), 1, &mut buf)?;
        let oldest = first.payloads.first().and_then(|range| {
            Sample::decode(&buf[range.clone()], &mut OriginCache::default()).ok()
        });
        let age_us = oldest.map_or(0, |s| (unix_micros(now) - s.received_us).max(0));
        m.spool_oldest_age.set(age_us as f64 / 1e6);
        Ok(())
    }

    fn reject(&self, reason: &Rejection, count: u64) {
        let m = &self.inner.metrics;
        m.samples_rejected
            .with_label_values(&[reason.reason()])
            .inc_by(count);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use firmware_adapters::{Metric, Unit};

    use super::*;
    use crate::spool::SpoolConfig;

    fn ingest(dir: &std::path::Path) -> Ingest {
        let config = SpoolConfig {
            dir: dir.to_owned(),
            max_bytes: 1 << 24,
            segment_bytes: 1 << 20,
            fsync: false,
        };
        let spool = Arc::new(Spool::open(config).unwrap().0);
        Ingest::new(
            spool,
            Normalizer::default(),
            CollectorMetrics::unregistered(),
            8,
        )
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[tokio::test]
    async fn accepted_samples_are_spooled_then_published_live() {
        let dir = tempfile::tempdir().unwrap();
        let ingest = ingest(dir.path());
        let mut live = ingest.subscribe();
        let origin = Origin::new("site", "bed-1", "mon-1");
        let mut bad_unit = Reading::new(Metric::HeartRate, 70.0);
        bad_unit.unit = Unit::KiloPascal;
        let readings = [
            Reading::new(Metric::HeartRate, 72.0),
            bad_unit,
            Reading::new(Metric::Spo2, f64::NAN),
        ];

        let outcome = ingest.accept(&origin, &readings, at(1_000)).await.unwrap();
        assert_eq!(outcome.accepted, 1);
        let reasons: Vec<_> = outcome
            .rejected
            .iter()
            .map(|(i, r)| (*i, r.reason()))
            .collect();
        assert_eq!(reasons, [(1, "unit"), (2, "not_finite")]);

        let batch = live.try_recv().expect("published before accept returned");
        assert_eq!(batch.len(), 1);
        assert_eq!((batch[0].metric, batch[0].value), (Metric::HeartRate, 72.0));
        assert_eq!(ingest.spool().stats().pending, 1);

        let m = &ingest.inner.metrics;
        assert_eq!(m.samples_accepted.get(), 1);
        assert_eq!(m.samples_rejected.with_label_values(&["unit"]).get(), 1);
        assert_eq!(
            m.samples_rejected.with_label_values(&["not_finite"]).get(),
            1
        );
    }

    #[tokio::test]
    async fn gauges_show_the_age_of_the_oldest_pending_sample() {
        let dir = tempfile::tempdir().unwrap();
        let ingest = ingest(dir.path());
        let origin = Origin::new("site", "bed-1", "mon-1");
        ingest
            .accept(&origin, &[Reading::new(Metric::HeartRate, 72.0)], at(1_000))
            .await
            .unwrap();
        ingest
            .accept(&origin, &[Reading::new(Metric::HeartRate, 73.0)], at(1_030))
            .await
            .unwrap();
        ingest.refresh_spool_gauges(at(1_090)).unwrap();
        let m = &ingest.inner.metrics;
        assert_eq!(m.spool_oldest_age.get(), 90.0);
        assert_eq!(m.spool_pending.get(), 2);
        assert!(m.spool_bytes.get() > 0);
    }
}
