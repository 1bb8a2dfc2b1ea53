//! The writer drains the spool into TimescaleDB.
//!
//! It reads batches in sequence order, bounded by `batch_max_rows` and by
//! `batch_max_wait` (a partial batch is written once its oldest sample has waited
//! that long), and commits each in one transaction that also stores the spool's
//! progress in `ingest_progress`. After a commit it acknowledges the batch to the
//! spool, which may then delete it.
//!
//! # Exactly once
//!
//! The progress row and the rows commit together, so after any crash the writer
//! resumes exactly after the last committed batch: samples the database already has
//! are skipped, not rewritten. If progress is missing (a database restored from an
//! older backup, or a record carried forward by the spool's full policy), a batch may
//! contain rows the table already holds. The fast path, a binary COPY straight into
//! `vitals`, then fails on the table's unique key, and the batch is retried through
//! the replay path: COPY into a temporary table, then `INSERT ... ON CONFLICT DO
//! NOTHING`. Either way every sample is stored once.
//!
//! # Outages
//!
//! Any failure other than a duplicate key drops the connection; the writer
//! reconnects with bounded exponential backoff and retries the same batch, so
//! nothing is lost or reordered. Intake never waits for the writer: devices keep
//! appending to the spool until its full policy applies.

mod copy;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use firmware_adapters::backoff::Backoff;
use futures_util::SinkExt;
use tokio::sync::watch;
use tokio::time::{timeout, Instant};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};
use tracing::{debug, error, info, warn};

use crate::metrics::CollectorMetrics;
use crate::normalize::unix_micros;
use crate::sample::{OriginCache, Sample};
use crate::spool::{Spool, SpoolError};

/// Writer settings.
#[derive(Clone)]
pub struct WriterConfig {
    /// libpq-style connection string or URL. Holds a password: never logged.
    pub database_url: String,
    /// Most samples in one transaction.
    pub batch_max_rows: usize,
    /// A partial batch is written once it has waited this long.
    pub batch_max_wait: Duration,
    /// First reconnect delay after a failure.
    pub retry_initial: Duration,
    /// Longest reconnect delay.
    pub retry_max: Duration,
    /// Limit for establishing a connection.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for WriterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterConfig")
            .field("database_url", &"<redacted>")
            .field("batch_max_rows", &self.batch_max_rows)
            .field("batch_max_wait", &self.batch_max_wait)
            .field("retry_initial", &self.retry_initial)
            .field("retry_max", &self.retry_max)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// Why one batch write failed.
#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error("database")]
    Db(#[from] tokio_postgres::Error),
    #[error("timed out")]
    Timeout,
}

impl WriteError {
    fn is_duplicate(&self) -> bool {
        matches!(self, Self::Db(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION))
    }
}

/// A batch read from the spool and not yet committed.
#[derive(Debug)]
struct Batch {
    end_seq: u64,
    samples: Vec<Sample>,
}

/// How a batch was committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Committed {
    inserted: u64,
    replay_path: bool,
}

/// Drains a spool into TimescaleDB. See the module docs.
#[derive(Debug)]
pub struct Writer {
    config: WriterConfig,
    spool: Arc<Spool>,
    metrics: CollectorMetrics,
    /// The next sequence number to write.
    next_seq: u64,
    client: Option<Client>,
    backoff: Backoff,
    progress: watch::Sender<u64>,
}

impl Writer {
    /// A writer for `spool`. It connects when [`Writer::run`] starts.
    ///
    /// # Panics
    ///
    /// If `retry_initial` is zero or above `retry_max`; configuration validation
    /// rules that out.
    pub fn new(config: WriterConfig, spool: Arc<Spool>, metrics: CollectorMetrics) -> Self {
        let backoff = Backoff::new(config.retry_initial, config.retry_max)
            .expect("retry delays are validated with the configuration");
        let next_seq = spool.acked();
        Self {
            config,
            spool,
            metrics,
            next_seq,
            client: None,
            backoff,
            progress: watch::Sender::new(next_seq),
        }
    }

    /// A receiver of the sequence number below which everything is committed.
    pub fn progress(&self) -> watch::Receiver<u64> {
        self.progress.subscribe()
    }

    /// Runs until `shutdown` turns true, then keeps writing without waiting for full
    /// batches until the spool is drained or a write fails; whatever is left stays
    /// in the spool for the next start. Callers bound the drain with a timeout.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut appended = self.spool.subscribe();
        let mut pending: Option<Batch> = None;
        loop {
            let stopping = *shutdown.borrow();
            if self.client.is_none() && !self.connect().await {
                if stopping {
                    break;
                }
                self.wait_backoff(&mut shutdown).await;
                continue;
            }
            let batch = match pending.take() {
                Some(b) => b,
                None => {
                    if !stopping && !self.wait_for_batch(&mut appended, &mut shutdown).await {
                        continue;
                    }
                    match self.read_batch().await {
                        Ok(Some(b)) => b,
                        Ok(None) if stopping => break,
                        Ok(None) => continue,
                        Err(e) => {
                            error!(error = %e, "Spool read failed");
                            self.wait_backoff(&mut shutdown).await;
                            continue;
                        }
                    }
                }
            };
            self.set_oldest_age(batch.samples.first());
            match self.write(&batch).await {
                Ok(done) => self.committed(&batch, done),
                Err(e) => {
                    self.failed(&e);
                    pending = Some(batch);
                    if stopping {
                        break;
                    }
                    self.wait_backoff(&mut shutdown).await;
                }
            }
        }
        info!(next_seq = self.next_seq, "Writer stopped");
    }

    /// Connects and loads the recorded progress. Returns false on failure.
    async fn connect(&mut self) -> bool {
        match self.try_connect().await {
            Ok(client) => {
                self.client = Some(client);
                self.metrics.db_up.set(1);
                true
            }
            Err(e) => {
                self.metrics.db_up.set(0);
                warn!(error = %e, attempt = self.backoff.attempt(), "Database connect failed");
                false
            }
        }
    }

    async fn try_connect(&mut self) -> Result<Client, WriteError> {
        let connect = tokio_postgres::connect(&self.config.database_url, NoTls);
        let (client, connection) = timeout(self.config.connect_timeout, connect)
            .await
            .map_err(|_| WriteError::Timeout)??;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                debug!(error = %e, "Database connection closed");
            }
        });
        client.batch_execute(copy::CREATE_STAGING).await?;
        let row = client
            .query_opt(copy::LOAD_PROGRESS, &[&self.spool.id()])
            .await?;
        if let Some(row) = row {
            let stored: i64 = row.get(0);
            let stored = u64::try_from(stored).unwrap_or(0);
            if stored > self.next_seq {
                let skipped = stored - self.next_seq;
                self.metrics.replayed.inc_by(skipped);
                info!(
                    skipped,
                    next_seq = stored,
                    "Resuming after the database's recorded progress"
                );
                self.advance(stored);
            }
        }
        info!("Database connected");
        Ok(client)
    }

    /// Waits until a batch is worth writing. Returns false if woken for another
    /// reason (shutdown, or a periodic refresh of the age metric).
    async fn wait_for_batch(
        &self,
        appended: &mut watch::Receiver<u64>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        let max_rows = self.config.batch_max_rows as u64;
        if *appended.borrow_and_update() <= self.next_seq {
            self.metrics.spool_oldest_age.set(0.0);
            tokio::select! {
                _ = appended.changed() => {}
                _ = shutdown.changed() => return false,
            }
        }
        let deadline = Instant::now() + self.config.batch_max_wait;
        while *appended.borrow_and_update() < self.next_seq + max_rows {
            tokio::select! {
                _ = appended.changed() => {}
                () = tokio::time::sleep_until(deadline) => break,
                _ = shutdown.changed() => break,
            }
        }
        true
    }

    async fn read_batch(&mut self) -> Result<Option<Batch>, SpoolError> {
        let spool = Arc::clone(&self.spool);
        let (from, max) = (self.next_seq, self.config.batch_max_rows);
        let read = tokio::task::spawn_blocking(move || read_and_decode(&spool, from, max))
            .await
            .expect("spool reads do not panic")?;
        let Some((batch, skipped)) = read else {
            return Ok(None);
        };
        if skipped > 0 {
            // The spool's full policy dropped these before they were written.
            warn!(count = skipped, "Samples shed before reaching the database");
        }
        Ok(Some(batch))
    }

    async fn write(&mut self, batch: &Batch) -> Result<Committed, WriteError> {
        let client = self.client.as_mut().expect("connected before writing");
        let id = self.spool.id();
        let started = Instant::now();
        let result = match load(client, id, batch, false).await {
            Err(e) if e.is_duplicate() => load(client, id, batch, true).await,
            other => other,
        };
        self.metrics
            .write_duration
            .observe(started.elapsed().as_secs_f64());
        result
    }

    fn committed(&mut self, batch: &Batch, done: Committed) {
        let rows = batch.samples.len() as u64;
        self.metrics.rows_written.inc_by(done.inserted);
        if done.replay_path {
            let absorbed = rows - done.inserted;
            self.metrics.replayed.inc_by(absorbed);
            info!(
                batch_size = rows,
                absorbed, "Replayed batch absorbed duplicates"
            );
        } else {
            debug!(batch_size = rows, "Batch committed");
        }
        if self.backoff.attempt() > 0 {
            info!(attempt = self.backoff.attempt(), "Database writes resumed");
        }
        self.backoff.reset();
        self.advance(batch.end_seq);
    }

    fn failed(&mut self, e: &WriteError) {
        self.metrics.write_errors.inc();
        self.metrics.db_up.set(0);
        self.client = None;
        warn!(error = %e, source = ?std::error::Error::source(e), "Batch write failed; will retry");
    }

    fn advance(&mut self, next_seq: u64) {
        self.next_seq = next_seq;
        if let Err(e) = self.spool.ack(next_seq) {
            // The rows are committed; failing to delete spool files only wastes
            // disk until the next successful ack.
            error!(error = %e, "Spool acknowledgement failed");
        }
        let stats = self.spool.stats();
        self.metrics
            .spool_bytes
            .set(i64::try_from(stats.bytes).unwrap_or(i64::MAX));
        self.metrics
            .spool_pending
            .set(i64::try_from(stats.pending).unwrap_or(i64::MAX));
        self.progress.send_replace(next_seq);
    }

    fn set_oldest_age(&self, oldest: Option<&Sample>) {
        let now = unix_micros(SystemTime::now());
        let age_us = oldest.map_or(0, |s| (now - s.received_us).max(0));
        self.metrics.spool_oldest_age.set(age_us as f64 / 1e6);
    }

    async fn wait_backoff(&mut self, shutdown: &mut watch::Receiver<bool>) {
        let delay = self.backoff.next_delay();
        debug!(backoff = ?delay, "Waiting before retrying the database");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// One transaction: the rows and the progress row.
async fn load(
    client: &mut Client,
    spool_id: &str,
    batch: &Batch,
    replay: bool,
) -> Result<Committed, WriteError> {
    let tx = client.transaction().await?;
    let data = copy::encode(&batch.samples).freeze();
    let statement = if replay {
        copy::COPY_STAGING
    } else {
        copy::COPY_VITALS
    };
    let sink = tx.copy_in(statement).await?;
    futures_util::pin_mut!(sink);
    sink.send(data).await?;
    let copied = sink.finish().await?;
    let inserted = if replay {
        tx.execute(copy::MERGE_STAGING, &[]).await?
    } else {
        copied
    };
    let next_seq = i64::try_from(batch.end_seq).expect("sequence numbers stay below 2^63");
    tx.execute(copy::SAVE_PROGRESS, &[&spool_id, &next_seq])
        .await?;
    tx.commit().await?;
    Ok(Committed {
        inserted,
        replay_path: replay,
    })
}

/// Reads and decodes the next batch; `None` when the spool has nothing new.
fn read_and_decode(
    spool: &Spool,
    from: u64,
    max: usize,
) -> Result<Option<(Batch, u64)>, SpoolError> {
    let mut buf = Vec::new();
    let read = spool.read(from, max, &mut buf)?;
    if read.payloads.is_empty() {
        return Ok(None);
    }
    let mut origins = OriginCache::default();
    let mut samples = Vec::with_capacity(read.payloads.len());
    for range in &read.payloads {
        match Sample::decode(&buf[range.clone()], &mut origins) {
            Ok(s) => samples.push(s),
            // A checksummed record that does not decode was written by a newer
            // format; it cannot be stored by this version.
            Err(e) => error!(error = %e, "Undecodable spool record skipped"),
        }
    }
    Ok(Some((
        Batch {
            end_seq: read.end_seq(),
            samples,
        },
        read.skipped,
    )))
}
