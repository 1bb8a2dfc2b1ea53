//! The polling loop against scripted links, in paused time: timeouts fire as
//! soon as every task waits, so these tests run in milliseconds and are exact.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use prometheus::Registry;

use super::*;
use crate::health::{AdapterHealth, AdapterMetrics, ConnectionState, HealthRegistry};
use crate::modbus::error::ExceptionCode;
use crate::modbus::link::{Link, ReadResult, Response};
use crate::modbus::plan::ReadRequest;
use crate::modbus::ModbusDevice;
use crate::profile::modbus::{
    ModbusConnection, ModbusProfile, ModbusValue, Parity, RtuConnection, Table,
};
use crate::sink::{DeviceRef, Refused};
use crate::{Metric, Reading};

/// How a scripted unit behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Behaviour {
    /// Answers every register with `unit * 100 + address`.
    Answer,
    /// Never answers.
    Silent,
    /// Answers with an exception.
    Refuse(ExceptionCode),
}

#[derive(Debug, Default)]
struct Script {
    units: Mutex<BTreeMap<u8, Behaviour>>,
    /// Addresses that never answer, whatever the unit.
    silent_addresses: Mutex<BTreeSet<u16>>,
    reads: Mutex<BTreeMap<u8, u32>>,
    connects: AtomicU32,
    refuse_connect: AtomicBool,
}

impl Script {
    fn set(&self, unit: u8, b: Behaviour) {
        self.units.lock().unwrap().insert(unit, b);
    }

    fn reads(&self, unit: u8) -> u32 {
        self.reads.lock().unwrap().get(&unit).copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
struct Scripted(Arc<Script>);

impl Link for Scripted {
    fn read(
        &mut self,
        unit: u8,
        request: &ReadRequest,
    ) -> impl std::future::Future<Output = ReadResult> + Send {
        *self.0.reads.lock().unwrap().entry(unit).or_default() += 1;
        let behaviour = self
            .0
            .units
            .lock()
            .unwrap()
            .get(&unit)
            .copied()
            .unwrap_or(Behaviour::Silent);
        let silent = self
            .0
            .silent_addresses
            .lock()
            .unwrap()
            .contains(&request.address);
        let words = (0..request.count)
            .map(|i| u16::from(unit) * 100 + request.address + i)
            .collect();
        async move {
            match behaviour {
                _ if silent => std::future::pending().await,
                Behaviour::Silent => std::future::pending().await,
                Behaviour::Refuse(code) => Ok(Err(code)),
                Behaviour::Answer => Ok(Ok(Response::Registers(words))),
            }
        }
    }
}

impl Connector for Scripted {
    type Link = Self;

    async fn connect(&self) -> Result<Self, LinkError> {
        self.0.connects.fetch_add(1, Ordering::Relaxed);
        if self.0.refuse_connect.load(Ordering::Relaxed) {
            let error = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
            return Err(LinkError::Connect {
                target: "scripted".into(),
                error,
            });
        }
        Ok(self.clone())
    }

    fn target(&self) -> &str {
        "scripted"
    }
}

/// Readings with the paused-clock time they arrived at.
#[derive(Debug, Default)]
struct Recorder {
    got: Mutex<Vec<(String, Instant, Vec<Reading>)>>,
}

impl ReadingSink for Recorder {
    async fn deliver(
        &self,
        device: &DeviceRef,
        readings: Vec<Reading>,
        _: SystemTime,
    ) -> Result<(), Refused> {
        self.got
            .lock()
            .unwrap()
            .push((device.device_id.to_string(), Instant::now(), readings));
        Ok(())
    }
}

impl Recorder {
    fn times(&self, device_id: &str) -> Vec<Instant> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(d, ..)| d == device_id)
            .map(|(_, t, _)| *t)
            .collect()
    }
}

fn temperature(address: u32) -> ModbusValue {
    ModbusValue {
        table: Table::InputRegister,
        address,
        data_type: None,
        length_registers: None,
        word_order: None,
        byte_order: None,
        scale: 1.0,
        offset: 0.0,
        metric: Some(Metric::AmbientTemperature),
        unit: None,
        status: None,
        bit: None,
        alarm_priority: None,
    }
}

fn profile(values: Vec<ModbusValue>) -> Arc<ModbusProfile> {
    Arc::new(ModbusProfile {
        poll_interval_ms: 1_000,
        timeout_ms: 200,
        max_gap_addresses: 0,
        backoff_initial_ms: 1_000,
        backoff_max_ms: 8_000,
        values,
    })
}

struct Harness {
    script: Arc<Script>,
    sink: Arc<Recorder>,
    health: HealthRegistry,
    metrics: Registry,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Runs one link with a device per unit id (`dev-<unit>`), all answering.
fn start(units: &[u8], values: Vec<ModbusValue>) -> Harness {
    let script = Arc::new(Script::default());
    let (health, metrics) = (HealthRegistry::default(), Registry::new());
    let adapter_metrics = AdapterMetrics::register(&metrics).unwrap();
    let profile = profile(values);
    let pollers = units
        .iter()
        .map(|&unit| {
            script.set(unit, Behaviour::Answer);
            let id = format!("dev-{unit}");
            let connection = ModbusConnection::Rtu(RtuConnection {
                path: "/dev/ttyS9".into(),
                baud_rate: 9_600,
                data_bits: 8,
                parity: Parity::Even,
                stop_bits: 1,
                unit_id: unit,
            });
            let device = ModbusDevice {
                device: DeviceRef::new(&id, "bed-1"),
                profile: profile.clone(),
                connection,
                health: AdapterHealth::new(
                    "modbus_rtu",
                    &id,
                    adapter_metrics.clone(),
                    health.clone(),
                ),
            };
            let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(8)).unwrap();
            Poller::new(device, backoff, Instant::now())
        })
        .collect();
    let sink = Arc::new(Recorder::default());
    let (stop, shutdown) = watch::channel(false);
    let link_backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(8)).unwrap();
    let connector = Scripted(script.clone());
    let task = tokio::spawn(run(
        connector,
        pollers,
        link_backoff,
        sink.clone(),
        StatusBoard::new(),
        shutdown,
    ));
    Harness {
        script,
        sink,
        health,
        metrics,
        stop,
        task,
    }
}

impl Harness {
    fn state(&self, device_id: &str) -> ConnectionState {
        self.health.snapshot()[device_id].state
    }

    fn errors(&self, device_id: &str, kind: &str) -> u64 {
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&self.metrics.gather())
            .unwrap();
        let key = format!("adapter_errors_total{{adapter=\"modbus_rtu\",device_id=\"{device_id}\",kind=\"{kind}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&key))
            .map_or(0, |n| n.parse().unwrap())
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
    }
}

async fn run_for(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

#[tokio::test(start_paused = true)]
async fn a_silent_unit_on_a_shared_bus_does_not_slow_its_neighbour() {
    let h = start(&[1, 7], vec![temperature(0)]);
    h.script.set(7, Behaviour::Silent);
    let t0 = Instant::now();
    run_for(30).await;

    let live = h.sink.times("dev-1");
    assert!(live.len() >= 30, "{} polls in 30 s", live.len());
    let gaps: Vec<Duration> = live.windows(2).map(|w| w[1] - w[0]).collect();
    // At most the silent unit's timeout (200 ms) late, and back on the grid after.
    assert!(
        gaps.iter().all(|g| *g <= Duration::from_millis(1_200)),
        "{gaps:?}"
    );
    assert!(
        live.iter().all(|t| (*t - t0).subsec_millis() <= 200),
        "off the 1 s grid"
    );

    // The silent unit is retried after 1, 2, 4, 8, 8 ... s (each try costs 200 ms).
    assert!(h.sink.times("dev-7").is_empty());
    assert!(
        (5..=7).contains(&h.script.reads(7)),
        "{} tries",
        h.script.reads(7)
    );
    assert_eq!(h.errors("dev-7", "timeout"), u64::from(h.script.reads(7)));
    assert_eq!(h.state("dev-7"), ConnectionState::BackingOff);
    assert_eq!(
        (h.state("dev-1"), h.errors("dev-1", "timeout")),
        (ConnectionState::Connected, 0)
    );
    // The port is reopened after every abandoned call, and only then.
    assert_eq!(
        h.script.connects.load(Ordering::Relaxed),
        h.script.reads(7) + 1
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_unit_that_answers_again_is_polled_at_its_rate_again() {
    let h = start(&[1], vec![temperature(0)]);
    run_for(3).await;
    h.script.set(1, Behaviour::Silent);
    run_for(10).await;
    assert_eq!(h.state("dev-1"), ConnectionState::BackingOff);
    let before = h.sink.times("dev-1").len();
    h.script.set(1, Behaviour::Answer);
    // The backoff is at most 8 s; after that the unit is back on its interval.
    run_for(20).await;
    let after = h.sink.times("dev-1");
    assert!(
        after.len() - before >= 12,
        "{} new polls",
        after.len() - before
    );
    assert_eq!(h.state("dev-1"), ConnectionState::Connected);
    let last = after[after.len() - 1] - after[after.len() - 2];
    assert_eq!(last, Duration::from_secs(1));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_exception_is_the_devices_answer_and_keeps_the_connection() {
    let h = start(&[3], vec![temperature(0)]);
    h.script
        .set(3, Behaviour::Refuse(ExceptionCode::ILLEGAL_DATA_ADDRESS));
    run_for(10).await;
    assert_eq!(h.script.connects.load(Ordering::Relaxed), 1);
    assert!(h.errors("dev-3", "exception") >= 10);
    assert_eq!(h.errors("dev-3", "timeout"), 0);
    assert_eq!(h.state("dev-3"), ConnectionState::Connected);
    let last_error = h.health.snapshot()["dev-3"].last_error.clone().unwrap();
    assert_eq!(
        last_error,
        "exception: illegal data address (0x02) reading input_register 0 to 0"
    );
    assert!(h.sink.times("dev-3").is_empty());
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_port_that_cannot_be_opened_is_retried_with_growing_delays() {
    let script_refuses = |h: &Harness| h.script.refuse_connect.store(true, Ordering::Relaxed);
    let h = start(&[1, 2], vec![temperature(0)]);
    script_refuses(&h);
    run_for(16).await;
    // Tries at 0, 1, 3, 7 and 15 s.
    assert_eq!(h.script.connects.load(Ordering::Relaxed), 5);
    for id in ["dev-1", "dev-2"] {
        assert_eq!(h.state(id), ConnectionState::BackingOff);
        assert_eq!(h.errors(id, "connect"), 5);
    }
    h.script.refuse_connect.store(false, Ordering::Relaxed);
    run_for(10).await;
    assert_eq!(h.state("dev-2"), ConnectionState::Connected);
    assert!(!h.sink.times("dev-2").is_empty());
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn values_read_before_a_timeout_are_still_delivered() {
    let h = start(&[1], vec![temperature(0), temperature(50)]);
    h.script.silent_addresses.lock().unwrap().insert(50);
    run_for(2).await;
    let got = h.sink.got.lock().unwrap().clone();
    let (_, _, readings) = &got[0];
    assert_eq!(readings.len(), 1);
    assert_eq!(readings[0].value, 100.0);
    assert_eq!(h.state("dev-1"), ConnectionState::BackingOff);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_the_task_while_it_waits() {
    let h = start(&[1], vec![temperature(0)]);
    h.script.set(1, Behaviour::Silent);
    run_for(2).await;
    let stopped_at = Instant::now();
    h.stop().await;
    assert_eq!(Instant::now(), stopped_at);
}
