//! The alarm log writer: a task behind bounded queues.
//!
//! # Policy when the database is slow or down
//!
//! The runtime hands events over with `try_send` and never waits. The writer
//! keeps what it took in memory (at most `queue_capacity` events plus one
//! batch) and retries with backoff until the database answers; rows are
//! inserted with `ON CONFLICT DO NOTHING` on the event identifier, so a retry
//! after an unclear failure stores nothing twice. When the queue is full,
//! further events are not logged: they are counted in
//! `alerting_sink_dropped_events_total{sink="store"}` (and
//! `alerting_store_dropped_deliveries_total` for delivery records) and a
//! warning is logged. The alarm itself is unaffected: evaluation, the event
//! stream, webhooks and MQTT go on, and the `database_unreachable` technical
//! alarm is raised. Limitation: events dropped this way are missing from the
//! history; the queue (default 10,000 events) covers hours of a normal ward.

use std::sync::Arc;
use std::time::Duration;

use firmware_adapters::backoff::Backoff;
use prometheus::{IntCounter, IntGauge, Registry};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_postgres::{Client, NoTls};
use tracing::{debug, info, warn};

use super::{DeliveryRow, EventRow, StoreError};
use crate::notice::LiveEvent;
use crate::runtime::Sink;

/// Writer settings.
#[derive(Clone)]
pub struct StoreConfig {
    /// The database (never logged: it may hold a password).
    pub database_url: String,
    /// Events (and, separately, delivery records) waiting at most.
    pub queue_capacity: usize,
    /// Rows per insert at most.
    pub batch_max_rows: usize,
    /// First retry delay.
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Connection attempt limit.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("database_url", &"<redacted>")
            .field("queue_capacity", &self.queue_capacity)
            .field("batch_max_rows", &self.batch_max_rows)
            .finish_non_exhaustive()
    }
}

impl StoreConfig {
    /// Defaults for `database_url`: 10,000 queued events, 500 rows a batch,
    /// retries from 0.5 s to 30 s, 5 s connect timeout.
    pub fn new(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            queue_capacity: 10_000,
            batch_max_rows: 500,
            retry_initial: Duration::from_millis(500),
            retry_max: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Metrics of the writer.
#[derive(Debug, Clone)]
pub struct StoreMetrics {
    /// Rows committed (events and delivery records).
    pub rows_written: IntCounter,
    /// Failed writes (each retried).
    pub write_errors: IntCounter,
    /// Delivery records a full queue did not take.
    pub deliveries_dropped: IntCounter,
    /// 1 while connected.
    pub up: IntGauge,
}

impl StoreMetrics {
    /// Creates the metrics and registers them in `registry`.
    ///
    /// # Errors
    ///
    /// When a metric of the same name is already registered there.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            rows_written: IntCounter::new(
                "alerting_store_rows_written_total",
                "Alarm log and delivery rows committed",
            )?,
            write_errors: IntCounter::new(
                "alerting_store_write_errors_total",
                "Failed alarm log writes; each is retried",
            )?,
            deliveries_dropped: IntCounter::new(
                "alerting_store_dropped_deliveries_total",
                "Webhook delivery records a full queue did not take",
            )?,
            up: IntGauge::new(
                "alerting_store_up",
                "1 while the alarm log writer is connected",
            )?,
        };
        registry.register(Box::new(m.rows_written.clone()))?;
        registry.register(Box::new(m.write_errors.clone()))?;
        registry.register(Box::new(m.deliveries_dropped.clone()))?;
        registry.register(Box::new(m.up.clone()))?;
        Ok(m)
    }

    /// Metrics in a private registry, for tests.
    pub fn unregistered() -> Self {
        Self::register(&Registry::new()).expect("a fresh registry has no name clashes")
    }
}

/// Where events and delivery records go.
#[derive(Debug, Clone)]
pub struct StoreHandle {
    /// Give this to the runtime ([`crate::runtime::spawn`]).
    pub sink: Sink,
    deliveries: mpsc::Sender<DeliveryRow>,
    metrics: StoreMetrics,
}

impl StoreHandle {
    /// Queues a delivery record; never waits (a full queue drops and counts).
    pub fn record_delivery(&self, row: DeliveryRow) {
        if self.deliveries.try_send(row).is_err() {
            self.metrics.deliveries_dropped.inc();
            warn!("Alarm log queue full: delivery record dropped");
        }
    }
}

/// Starts the writer. It stops when `shutdown` turns true, after one last
/// attempt to write what it holds.
pub fn spawn_writer(
    cfg: StoreConfig,
    metrics: StoreMetrics,
    shutdown: watch::Receiver<bool>,
) -> (StoreHandle, JoinHandle<()>) {
    let (tx, events) = mpsc::channel(cfg.queue_capacity.max(1));
    let (dtx, deliveries) = mpsc::channel(cfg.queue_capacity.max(1));
    let handle = StoreHandle {
        sink: Sink {
            name: "store".into(),
            tx,
        },
        deliveries: dtx,
        metrics: metrics.clone(),
    };
    let writer = Writer {
        cfg,
        metrics,
        client: None,
        events: Vec::new(),
        deliveries: Vec::new(),
    };
    let join = tokio::spawn(writer.run(events, deliveries, shutdown));
    (handle, join)
}

struct Writer {
    cfg: StoreConfig,
    metrics: StoreMetrics,
    client: Option<Client>,
    events: Vec<EventRow>,
    deliveries: Vec<DeliveryRow>,
}

impl Writer {
    async fn run(
        mut self,
        mut events: mpsc::Receiver<Arc<LiveEvent>>,
        mut deliveries: mpsc::Receiver<DeliveryRow>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut backoff =
            Backoff::new(self.cfg.retry_initial, self.cfg.retry_max).unwrap_or_else(|_| {
                Backoff::new(Duration::from_millis(500), Duration::from_secs(30))
                    .expect("constant delays are valid")
            });
        loop {
            if self.events.is_empty() && self.deliveries.is_empty() {
                tokio::select! {
                    Some(ev) = events.recv() => self.take(&ev),
                    Some(d) = deliveries.recv() => self.deliveries.push(d),
                    _ = shutdown.wait_for(|&s| s) => break,
                    else => break,
                }
            }
            while self.events.len() < self.cfg.batch_max_rows {
                let Ok(ev) = events.try_recv() else { break };
                self.take(&ev);
            }
            while self.deliveries.len() < self.cfg.batch_max_rows {
                let Ok(d) = deliveries.try_recv() else { break };
                self.deliveries.push(d);
            }
            match self.write().await {
                Ok(()) => backoff.reset(),
                Err(e) => {
                    self.metrics.write_errors.inc();
                    warn!(error = %e, attempt = backoff.attempt(), "Alarm log write failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(backoff.next_delay()) => {}
                        _ = shutdown.wait_for(|&s| s) => break,
                    }
                }
            }
        }
        if let Err(e) = self.write().await {
            warn!(error = %e, events = self.events.len(), "Alarm log not flushed at shutdown");
        }
        debug!("Alarm log writer stopped");
    }

    fn take(&mut self, ev: &LiveEvent) {
        if let Some(row) = EventRow::from_event(ev) {
            self.events.push(row);
        }
    }

    async fn write(&mut self) -> Result<(), StoreError> {
        if self.events.is_empty() && self.deliveries.is_empty() {
            return Ok(());
        }
        if self.client.is_none() {
            self.client = Some(self.connect().await?);
        }
        let client = self.client.as_mut().expect("connected above");
        let result = write_rows(client, &self.events, &self.deliveries).await;
        match result {
            Ok(n) => {
                self.metrics.rows_written.inc_by(n);
                self.events.clear();
                self.deliveries.clear();
                Ok(())
            }
            Err(e) => {
                self.client = None;
                self.metrics.up.set(0);
                Err(e)
            }
        }
    }

    async fn connect(&self) -> Result<Client, StoreError> {
        let connect = tokio_postgres::connect(&self.cfg.database_url, NoTls);
        let (client, connection) = match timeout(self.cfg.connect_timeout, connect).await {
            Ok(r) => r.map_err(|source| StoreError::Db {
                context: "connect the alarm log writer",
                source,
            })?,
            Err(_) => return Err(StoreError::Timeout),
        };
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                debug!(error = %e, "Alarm log connection ended");
            }
        });
        self.metrics.up.set(1);
        info!("Alarm log writer connected");
        Ok(client)
    }
}

async fn write_rows(
    client: &mut Client,
    events: &[EventRow],
    deliveries: &[DeliveryRow],
) -> Result<u64, StoreError> {
    let tx = client
        .transaction()
        .await
        .map_err(super::db("begin alarm log write"))?;
    let mut n = 0;
    if !events.is_empty() {
        n += tx
            .execute(
                "INSERT INTO alarm_events (time, event_id, tenant_id, bed_id, rule_id, occurrence,
                     class, priority, change, state, actor, condition_present, message, detail)
                 SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[],
                     $5::text[], $6::int4[], $7::text[], $8::text[], $9::text[], $10::text[],
                     $11::text[], $12::bool[], $13::text[], $14::jsonb[])
                 ON CONFLICT DO NOTHING",
                &[
                    &events.iter().map(|e| e.time).collect::<Vec<_>>(),
                    &events.iter().map(|e| &e.event_id).collect::<Vec<_>>(),
                    &events.iter().map(|e| &e.tenant_id).collect::<Vec<_>>(),
                    &events.iter().map(|e| &e.bed_id).collect::<Vec<_>>(),
                    &events.iter().map(|e| &e.rule_id).collect::<Vec<_>>(),
                    &events.iter().map(|e| e.occurrence).collect::<Vec<_>>(),
                    &events.iter().map(|e| &e.class).collect::<Vec<_>>(),
                    &events
                        .iter()
                        .map(|e| e.priority.as_ref())
                        .collect::<Vec<_>>(),
                    &events.iter().map(|e| &e.change).collect::<Vec<_>>(),
                    &events.iter().map(|e| e.state.as_ref()).collect::<Vec<_>>(),
                    &events.iter().map(|e| &e.actor).collect::<Vec<_>>(),
                    &events
                        .iter()
                        .map(|e| e.condition_present)
                        .collect::<Vec<_>>(),
                    &events.iter().map(|e| &e.message).collect::<Vec<_>>(),
                    &events.iter().map(|e| &e.detail).collect::<Vec<_>>(),
                ],
            )
            .await
            .map_err(super::db("insert alarm events"))?;
    }
    if !deliveries.is_empty() {
        let d = deliveries;
        n += tx
            .execute(
                "INSERT INTO webhook_deliveries (time, tenant_id, endpoint, event_id, attempt,
                     outcome, http_status, error)
                 SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[],
                     $5::int4[], $6::text[], $7::int4[], $8::text[])",
                &[
                    &d.iter().map(|r| r.time).collect::<Vec<_>>(),
                    &d.iter().map(|r| &r.tenant_id).collect::<Vec<_>>(),
                    &d.iter().map(|r| &r.endpoint).collect::<Vec<_>>(),
                    &d.iter().map(|r| &r.event_id).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.attempt).collect::<Vec<_>>(),
                    &d.iter().map(|r| &r.outcome).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.http_status).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.error.as_ref()).collect::<Vec<_>>(),
                ],
            )
            .await
            .map_err(super::db("insert webhook deliveries"))?;
    }
    tx.commit()
        .await
        .map_err(super::db("commit alarm log write"))?;
    Ok(n)
}
