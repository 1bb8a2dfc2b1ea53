//! The alerting runtime: one tokio task that owns the [`Engine`].
//!
//! It takes live batches from the collector's bus as they come, ticks the
//! engine's timers every [`RuntimeConfig::tick`], and runs the staff actions
//! that [`AlertingHandle`] sends it. Every event goes out on a broadcast
//! stream ([`AlertingHandle::subscribe`]) for the API's WebSocket; alarm and
//! audit events also go to the sinks (the alarm log, webhooks, MQTT).
//!
//! # Never blocking evaluation
//!
//! Sinks are bounded queues fed with `try_send`: when one is full the event is
//! dropped *for that sink only*, counted in
//! `alerting_sink_dropped_events_total{sink}` and logged; evaluation, the other
//! sinks and the broadcast stream go on. A slow broadcast subscriber misses
//! the oldest events (tokio broadcast semantics) and is told how many.
//!
//! # Time
//!
//! The runtime's clock is the wall clock at start plus tokio's monotonic time
//! since then, so tests under paused tokio time move it deterministically.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use collector::{CollectorMetrics, LiveBatch};
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::engine::{
    ActionError, Engine, EngineConfig, LimitOverride, ManualObservation, OverrideScope,
    SystemStatus,
};
use crate::lifecycle::{AlarmKey, Response, StaffId};
use crate::notice::{AlarmNotice, LiveEvent, News2View};
use crate::rules::Priority;
use crate::time::Timestamp;

/// Runtime settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The engine's configuration.
    pub engine: EngineConfig,
    /// How often timers are checked: escalation deadlines, audio pauses and
    /// technical time-outs fire up to this late.
    pub tick: Duration,
    /// Events a broadcast subscriber may fall behind before missing some.
    pub event_capacity: usize,
}

impl RuntimeConfig {
    /// One-second ticks and room for 4,096 events.
    pub fn new(engine: EngineConfig) -> Self {
        Self {
            engine,
            tick: Duration::from_secs(1),
            event_capacity: 4_096,
        }
    }
}

/// A consumer of alarm and audit events with a bounded queue.
#[derive(Debug, Clone)]
pub struct Sink {
    /// Name for metrics and logs (`store`, `webhook:pager`, `mqtt`).
    pub name: Arc<str>,
    /// The queue.
    pub tx: mpsc::Sender<Arc<LiveEvent>>,
}

/// Metrics of the runtime.
#[derive(Debug, Clone)]
pub struct AlertingMetrics {
    /// Samples evaluated.
    pub samples: IntCounter,
    /// Events emitted, by name.
    pub events: IntCounterVec,
    /// Events a full sink queue did not take, by sink.
    pub sink_dropped: IntCounterVec,
    /// Live batches missed because alerting fell behind the bus.
    pub live_lagged: IntCounter,
}

impl AlertingMetrics {
    /// Creates the metrics and registers them in `registry`.
    ///
    /// # Errors
    ///
    /// When a metric of the same name is already registered there.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self {
            samples: IntCounter::new("alerting_samples_evaluated_total", "Samples evaluated")?,
            events: IntCounterVec::new(
                Opts::new("alerting_events_total", "Events emitted, by name"),
                &["event"],
            )?,
            sink_dropped: IntCounterVec::new(
                Opts::new(
                    "alerting_sink_dropped_events_total",
                    "Alarm events a full sink queue did not take",
                ),
                &["sink"],
            )?,
            live_lagged: IntCounter::new(
                "alerting_live_batches_missed_total",
                "Live batches missed because alerting fell behind the bus",
            )?,
        };
        registry.register(Box::new(m.samples.clone()))?;
        registry.register(Box::new(m.events.clone()))?;
        registry.register(Box::new(m.sink_dropped.clone()))?;
        registry.register(Box::new(m.live_lagged.clone()))?;
        Ok(m)
    }

    /// Metrics in a private registry, for tests and benchmarks.
    pub fn unregistered() -> Self {
        Self::register(&Registry::new()).expect("a fresh registry has no name clashes")
    }
}

/// The gateway's time: wall clock at start plus monotonic time since.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_us: i64,
    start: tokio::time::Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn start() -> Self {
        let base_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        Self::starting_at(Timestamp::from_micros(base_us))
    }

    /// A clock that reads `at` now.
    pub fn starting_at(at: Timestamp) -> Self {
        Self {
            base_us: at.as_micros(),
            start: tokio::time::Instant::now(),
        }
    }

    /// The time now.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.base_us) + self.start.elapsed()
    }
}

type Reply<T> = oneshot::Sender<T>;

/// Answers a command; a caller that gave up waiting is not an error.
fn reply<T>(r: Reply<T>, value: T) {
    let _ = r.send(value);
}

#[derive(Debug)]
enum Command {
    Acknowledge(AlarmKey, StaffId, Reply<Result<(), ActionError>>),
    Silence(AlarmKey, StaffId, Duration, Reply<Result<(), ActionError>>),
    Respond(AlarmKey, StaffId, Response, Reply<Result<(), ActionError>>),
    Observe(Arc<str>, ManualObservation, StaffId, Reply<()>),
    SetOverride(LimitOverride, Reply<Result<(), ActionError>>),
    ClearOverride(
        OverrideScope,
        Arc<str>,
        StaffId,
        String,
        Reply<Result<(), ActionError>>,
    ),
    Admit(Arc<str>, Option<Arc<str>>, Reply<()>),
    Discharge(Arc<str>, Reply<()>),
    DeviceAlarm(DeviceAlarm, Reply<()>),
    EndpointStatus(Arc<str>, bool),
    OpenAlarms(Reply<Vec<AlarmNotice>>),
    News2(Arc<str>, Reply<Option<News2View>>),
}

/// An alarm a device reported, relayed with its own priority.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceAlarm {
    /// The bed.
    pub bed: Arc<str>,
    /// The device.
    pub device: Arc<str>,
    /// The device's alarm code.
    pub code: Arc<str>,
    /// The device's priority, mapped to ours.
    pub priority: Priority,
    /// Whether the alarm is active (false: it ended).
    pub active: bool,
    /// The device's text.
    pub text: String,
    /// When the device says it happened.
    pub at: Timestamp,
}

/// What the API (and adapters relaying device alarms) call. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AlertingHandle {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Arc<LiveEvent>>,
}

impl AlertingHandle {
    /// Subscribes to every event (vitals, NEWS2, alarms, audit).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.events.subscribe()
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, ActionError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| ActionError::Stopped)?;
        rx.await.map_err(|_| ActionError::Stopped)
    }

    /// `staff` acknowledges the alarm of `bed` and `rule`.
    ///
    /// # Errors
    ///
    /// See [`ActionError`]; nothing changes on error.
    pub async fn acknowledge(&self, bed: &str, rule: &str, staff: &str) -> Result<(), ActionError> {
        let key = AlarmKey::new(bed, rule);
        self.ask(|r| Command::Acknowledge(key, staff.into(), r))
            .await?
    }

    /// `staff` pauses the alarm's audio for `duration`, at most the policy's
    /// `max_silence`.
    ///
    /// # Errors
    ///
    /// See [`ActionError`]; nothing changes on error.
    pub async fn silence(
        &self,
        bed: &str,
        rule: &str,
        staff: &str,
        duration: Duration,
    ) -> Result<(), ActionError> {
        let key = AlarmKey::new(bed, rule);
        self.ask(|r| Command::Silence(key, staff.into(), duration, r))
            .await?
    }

    /// `staff` answers the alarm's escalation offer.
    ///
    /// # Errors
    ///
    /// See [`ActionError`]; nothing changes on error.
    pub async fn respond(
        &self,
        bed: &str,
        rule: &str,
        staff: &str,
        response: Response,
    ) -> Result<(), ActionError> {
        let key = AlarmKey::new(bed, rule);
        self.ask(|r| Command::Respond(key, staff.into(), response, r))
            .await?
    }

    /// Accept (see [`AlertingHandle::respond`]).
    ///
    /// # Errors
    ///
    /// See [`ActionError`].
    pub async fn accept(&self, bed: &str, rule: &str, staff: &str) -> Result<(), ActionError> {
        self.respond(bed, rule, staff, Response::Accept).await
    }

    /// Decline: the next recipient is offered the alarm at once.
    ///
    /// # Errors
    ///
    /// See [`ActionError`].
    pub async fn decline(&self, bed: &str, rule: &str, staff: &str) -> Result<(), ActionError> {
        self.respond(bed, rule, staff, Response::Decline).await
    }

    /// Accept and ask to be called back.
    ///
    /// # Errors
    ///
    /// See [`ActionError`].
    pub async fn accept_and_call_back(
        &self,
        bed: &str,
        rule: &str,
        staff: &str,
    ) -> Result<(), ActionError> {
        self.respond(bed, rule, staff, Response::AcceptAndCallBack)
            .await
    }

    /// `staff` records consciousness, air or oxygen, or the SpO2 scale.
    ///
    /// # Errors
    ///
    /// Only [`ActionError::Stopped`].
    pub async fn observe(
        &self,
        bed: &str,
        obs: ManualObservation,
        staff: &str,
    ) -> Result<(), ActionError> {
        self.ask(|r| Command::Observe(bed.into(), obs, staff.into(), r))
            .await
    }

    /// Sets a per-bed or per-patient limit override, effective from the next
    /// sample, recorded with who and why.
    ///
    /// # Errors
    ///
    /// See [`ActionError`]; nothing changes on error.
    pub async fn set_override(&self, o: LimitOverride) -> Result<(), ActionError> {
        self.ask(|r| Command::SetOverride(o, r)).await?
    }

    /// Removes an override.
    ///
    /// # Errors
    ///
    /// See [`ActionError`].
    pub async fn clear_override(
        &self,
        scope: OverrideScope,
        rule: &str,
        staff: &str,
        reason: &str,
    ) -> Result<(), ActionError> {
        let (rule, reason) = (rule.into(), reason.to_owned());
        self.ask(|r| Command::ClearOverride(scope, rule, staff.into(), reason, r))
            .await?
    }

    /// A patient is admitted to `bed`: the API's admissions as they are
    /// recorded, the current ones at start, and the gateway configuration's
    /// `admitted_beds`.
    ///
    /// # Errors
    ///
    /// Only [`ActionError::Stopped`].
    pub async fn admit(&self, bed: &str, patient: Option<&str>) -> Result<(), ActionError> {
        self.ask(|r| Command::Admit(bed.into(), patient.map(Into::into), r))
            .await
    }

    /// The patient in `bed` is discharged.
    ///
    /// # Errors
    ///
    /// Only [`ActionError::Stopped`].
    pub async fn discharge(&self, bed: &str) -> Result<(), ActionError> {
        self.ask(|r| Command::Discharge(bed.into(), r)).await
    }

    /// Relays a device-reported alarm (or its end).
    ///
    /// # Errors
    ///
    /// Only [`ActionError::Stopped`].
    pub async fn device_alarm(&self, alarm: DeviceAlarm) -> Result<(), ActionError> {
        self.ask(|r| Command::DeviceAlarm(alarm, r)).await
    }

    /// Tells the engine whether a webhook endpoint answers (used by the
    /// webhook dispatcher; never blocks).
    pub fn endpoint_status(&self, name: &str, up: bool) {
        if self
            .commands
            .try_send(Command::EndpointStatus(name.into(), up))
            .is_err()
        {
            warn!(
                endpoint = name,
                up, "Endpoint status not delivered to alerting"
            );
        }
    }

    /// The open alarms, in bed and rule order.
    ///
    /// # Errors
    ///
    /// Only [`ActionError::Stopped`].
    pub async fn open_alarms(&self) -> Result<Vec<AlarmNotice>, ActionError> {
        self.ask(Command::OpenAlarms).await
    }

    /// A bed's NEWS2 now, with the age of each input.
    ///
    /// # Errors
    ///
    /// Only [`ActionError::Stopped`].
    pub async fn news2(&self, bed: &str) -> Result<Option<News2View>, ActionError> {
        self.ask(|r| Command::News2(bed.into(), r)).await
    }
}

/// Starts the runtime on the live bus `live`. `collector` (when given) is
/// read at each tick for the spool and database technical alarms. The task
/// ends when `shutdown` turns true or the bus closes.
pub fn spawn(
    cfg: RuntimeConfig,
    live: broadcast::Receiver<LiveBatch>,
    collector: Option<CollectorMetrics>,
    sinks: Vec<Sink>,
    metrics: AlertingMetrics,
    shutdown: watch::Receiver<bool>,
) -> (AlertingHandle, JoinHandle<()>) {
    let (commands, command_rx) = mpsc::channel(256);
    let (events, _) = broadcast::channel(cfg.event_capacity.max(1));
    let handle = AlertingHandle {
        commands,
        events: events.clone(),
    };
    let clock = Clock::start();
    let task = Task {
        engine: Engine::new(cfg.engine.clone(), clock.now()),
        clock,
        events,
        sinks,
        metrics,
        collector,
    };
    let join = tokio::spawn(task.run(cfg.tick, live, command_rx, shutdown));
    (handle, join)
}

struct Task {
    engine: Engine,
    clock: Clock,
    events: broadcast::Sender<Arc<LiveEvent>>,
    sinks: Vec<Sink>,
    metrics: AlertingMetrics,
    collector: Option<CollectorMetrics>,
}

impl Task {
    async fn run(
        mut self,
        tick: Duration,
        mut live: broadcast::Receiver<LiveBatch>,
        mut commands: mpsc::Receiver<Command>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|&s| s) => break,
                batch = live.recv() => match batch {
                    Ok(batch) => {
                        self.metrics.samples.inc_by(batch.len() as u64);
                        self.engine.on_batch(&batch, self.clock.now());
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        self.metrics.live_lagged.inc_by(n);
                        warn!(missed = n, "Alerting fell behind the live bus");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                Some(cmd) = commands.recv() => self.command(cmd),
                _ = ticker.tick() => {
                    let status = self.status();
                    self.engine.tick(self.clock.now(), status);
                }
            }
            self.flush();
        }
        debug!("Alerting runtime stopped");
    }

    fn status(&self) -> SystemStatus {
        self.collector
            .as_ref()
            .map_or_else(SystemStatus::default, |m| SystemStatus {
                spool_bytes: u64::try_from(m.spool_bytes.get()).unwrap_or(0),
                database_up: m.db_up.get() == 1,
            })
    }

    fn command(&mut self, cmd: Command) {
        let now = self.clock.now();
        let e = &mut self.engine;
        match cmd {
            Command::Acknowledge(key, staff, r) => reply(r, e.acknowledge(&key, &staff, now)),
            Command::Silence(key, staff, d, r) => reply(r, e.silence(&key, &staff, d, now)),
            Command::Respond(key, staff, resp, r) => {
                reply(r, e.respond(&key, &staff, resp, now));
            }
            Command::Observe(bed, obs, staff, r) => {
                e.observe(&bed, obs, &staff, now);
                reply(r, ());
            }
            Command::SetOverride(o, r) => reply(r, e.set_override(o, now)),
            Command::ClearOverride(scope, rule, staff, reason, r) => {
                reply(r, e.clear_override(scope, &rule, &staff, &reason, now));
            }
            Command::Admit(bed, patient, r) => {
                e.admit(&bed, patient, now);
                reply(r, ());
            }
            Command::Discharge(bed, r) => {
                e.discharge(&bed, now);
                reply(r, ());
            }
            Command::DeviceAlarm(a, r) => {
                e.device_alarm(
                    &a.bed, &a.device, &a.code, a.priority, a.active, &a.text, a.at, now,
                );
                reply(r, ());
            }
            Command::EndpointStatus(name, up) => e.endpoint_status(&name, up, now),
            Command::OpenAlarms(r) => reply(r, e.open_alarms()),
            Command::News2(bed, r) => reply(r, e.news2(&bed, now)),
        }
    }

    /// Sends what the engine produced to the stream and the sinks.
    fn flush(&mut self) {
        for ev in self.engine.take_events() {
            self.metrics.events.with_label_values(&[ev.name()]).inc();
            let ev = Arc::new(ev);
            let for_sinks = !matches!(*ev, LiveEvent::Vitals(_) | LiveEvent::News2(_));
            if for_sinks {
                for sink in &self.sinks {
                    if sink.tx.try_send(Arc::clone(&ev)).is_err() {
                        self.metrics
                            .sink_dropped
                            .with_label_values(&[&sink.name])
                            .inc();
                        warn!(sink = %sink.name, event = ev.name(), "Sink queue full: event dropped for this sink");
                    }
                }
            }
            // No subscriber is not an error: the API may not be running.
            let _ = self.events.send(ev);
        }
    }
}

#[cfg(test)]
mod tests;
