//! A collector stack (spool, intake, writer) over a temporary directory.

use std::sync::Arc;
use std::time::Duration;

use collector::normalize::ClockPolicy;
use collector::{CollectorMetrics, Ingest, Normalizer, Origin, Quality, Sample, Spool};
use collector::{SpoolConfig, Writer, WriterConfig};
use firmware_adapters::Metric;
use tempfile::TempDir;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) struct Stack {
    pub(crate) dir: TempDir,
    pub(crate) spool: Arc<Spool>,
    pub(crate) ingest: Ingest,
    pub(crate) metrics: CollectorMetrics,
}

impl Stack {
    pub(crate) fn new(max_bytes: u64, segment_bytes: u64) -> Self {
        let dir = tempfile::tempdir().expect("temporary spool directory");
        Self::open(dir, max_bytes, segment_bytes)
    }

    pub(crate) fn open(dir: TempDir, max_bytes: u64, segment_bytes: u64) -> Self {
        let config = SpoolConfig {
            dir: dir.path().to_owned(),
            max_bytes,
            segment_bytes,
            fsync: true,
        };
        let (spool, _) = Spool::open(config).expect("open spool");
        let spool = Arc::new(spool);
        let metrics = CollectorMetrics::unregistered();
        let normalizer = Normalizer::new(ClockPolicy::default());
        let ingest = Ingest::new(Arc::clone(&spool), normalizer, metrics.clone(), 64);
        Self {
            dir,
            spool,
            ingest,
            metrics,
        }
    }

    /// Starts a writer; returns its progress receiver, the stop switch and the task.
    pub(crate) fn start_writer(&self, url: &str) -> Running {
        let writer = Writer::new(
            writer_config(url),
            Arc::clone(&self.spool),
            self.metrics.clone(),
        );
        let progress = writer.progress();
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(writer.run(stop_rx));
        Running {
            progress,
            stop,
            task,
        }
    }
}

pub(crate) struct Running {
    pub(crate) progress: watch::Receiver<u64>,
    pub(crate) stop: watch::Sender<bool>,
    pub(crate) task: JoinHandle<()>,
}

impl Running {
    /// Waits until everything below `seq` is committed.
    pub(crate) async fn committed(&mut self, seq: u64) {
        let wait = self.progress.wait_for(|&p| p >= seq);
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("writer did not reach {seq}"))
            .expect("writer alive");
    }

    pub(crate) async fn stop(self) {
        self.stop.send_replace(true);
        self.task.await.expect("writer task");
    }
}

pub(crate) fn writer_config(url: &str) -> WriterConfig {
    WriterConfig {
        database_url: url.to_owned(),
        batch_max_rows: 5_000,
        batch_max_wait: Duration::from_millis(20),
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(200),
        connect_timeout: Duration::from_secs(2),
    }
}

/// `n` distinct samples of `metric` from `device`, one millisecond apart from
/// `start_us`; the value encodes the index so a lost or shifted sample shows.
pub(crate) fn samples(device: &str, metric: Metric, start_us: i64, n: usize) -> Vec<Sample> {
    let origin = Origin::new("tenant-a", &format!("bed-{device}"), device);
    (0..n)
        .map(|i| Sample {
            time_us: start_us + i as i64 * 1_000,
            received_us: start_us + i as i64 * 1_000,
            origin: origin.clone(),
            metric,
            value: i as f64,
            quality: Quality::empty(),
        })
        .collect()
}

/// A fixed start time: 2026-01-01T00:00:00Z.
pub(crate) const T0_US: i64 = 1_767_225_600_000_000;

pub(crate) async fn migrated(db: &healthsphere_tests::TestDb) {
    let mut client = db.client().await;
    collector::schema::migrate(&mut client)
        .await
        .expect("migrate");
}
