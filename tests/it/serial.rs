//! Serial bedside devices end to end: each protocol's simulator on one end of a
//! socat pseudo-terminal pair, the gateway's session driver on the other, with
//! the shipped profiles.
//!
//! Needs `socat` (`apt-get install socat`); without it the tests skip, unless
//! `HEALTHSPHERE_REQUIRE_PEERS=1`. The `..._lands_in_timescaledb` tests also
//! need the database (see the crate docs).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use collector::SiteSink;
use firmware_adapters::health::{AdapterHealth, AdapterMetrics, ConnectionState, HealthRegistry};
use firmware_adapters::modbus::StatusBoard;
use firmware_adapters::profile::serial::{SerialConnection, SerialProfile};
use firmware_adapters::profile::ProfileSet;
use firmware_adapters::serial::sim::{self, SimConfig, SimScenario};
use firmware_adapters::serial::{self, SerialDevice};
use firmware_adapters::sink::{DeviceRef, ReadingSink, Refused};
use firmware_adapters::{Metric, Reading, Unit, Validity};
use healthsphere_tests::TestDb;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::modbus::{peers_required, skip, start_socat, Peer};
use crate::stack::{migrated, Stack};

const LIMIT: Duration = Duration::from_secs(30);

/// A shipped profile's `[serial]` section, with a short reopen backoff.
fn shipped(name: &str) -> Arc<SerialProfile> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/profiles"));
    let set = ProfileSet::load(&[dir]).expect("shipped profiles load");
    let mut serial = set
        .get(name)
        .expect("shipped")
        .serial
        .clone()
        .expect("serial");
    serial.reopen_initial_ms = 100;
    serial.reopen_max_ms = 400;
    Arc::new(serial)
}

fn socat_present(test: &str) -> bool {
    let present = std::process::Command::new("socat")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        present || !peers_required(),
        "{test}: socat is missing and HEALTHSPHERE_REQUIRE_PEERS=1"
    );
    if !present {
        skip(test, "socat is missing (apt-get install socat)");
    }
    present
}

/// Forwards to an inner sink and keeps what was delivered.
struct Tee<S> {
    inner: S,
    got: Mutex<Vec<Vec<Reading>>>,
    arrived: Notify,
}

impl<S: ReadingSink> ReadingSink for Tee<S> {
    async fn deliver(
        &self,
        device: &DeviceRef,
        readings: Vec<Reading>,
        received: SystemTime,
    ) -> Result<(), Refused> {
        self.inner
            .deliver(device, readings.clone(), received)
            .await?;
        self.got.lock().unwrap().push(readings);
        self.arrived.notify_waiters();
        Ok(())
    }
}

impl<S> Tee<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            got: Mutex::default(),
            arrived: Notify::new(),
        }
    }

    fn batches(&self) -> Vec<Vec<Reading>> {
        self.got.lock().unwrap().clone()
    }

    async fn wait(&self, n: usize) {
        let wait = async {
            loop {
                let arrived = self.arrived.notified();
                if self.got.lock().unwrap().len() >= n {
                    return;
                }
                arrived.await;
            }
        };
        tokio::time::timeout(LIMIT, wait)
            .await
            .unwrap_or_else(|_| panic!("{n} batches did not arrive"));
    }
}

/// Nobody stores anything: for tests that look at the readings only.
struct Nowhere;

impl ReadingSink for Nowhere {
    async fn deliver(&self, _: &DeviceRef, _: Vec<Reading>, _: SystemTime) -> Result<(), Refused> {
        Ok(())
    }
}

/// The simulated device on the device end of the pair.
struct Device {
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

fn start_device(path: &Path, profile: &SerialProfile, config: SimConfig) -> Device {
    let port = sim::open(path.to_str().expect("utf-8 path"), profile).expect("open device end");
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(sim::serve(port, sim::model_for(profile), config, shutdown));
    Device { stop, task }
}

impl Device {
    async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
    }
}

/// The gateway's driver on the adapter end.
struct Adapter<S> {
    sink: Arc<Tee<S>>,
    health: HealthRegistry,
    board: StatusBoard,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

fn start_adapter<S: ReadingSink>(path: &Path, profile: &Arc<SerialProfile>, sink: S) -> Adapter<S> {
    let health = HealthRegistry::default();
    let device = SerialDevice {
        device: DeviceRef::new("dev-1", "bed-1"),
        profile: profile.clone(),
        connection: SerialConnection {
            path: path.to_str().expect("utf-8 path").into(),
        },
        health: AdapterHealth::new(
            profile.protocol.adapter_kind(),
            "dev-1",
            AdapterMetrics::unregistered(),
            health.clone(),
        ),
    };
    let (sink, board) = (Arc::new(Tee::new(sink)), StatusBoard::new());
    let (stop, shutdown) = watch::channel(false);
    let tasks = serial::spawn(vec![device], sink.clone(), board.clone(), &shutdown);
    Adapter {
        sink,
        health,
        board,
        stop,
        tasks,
    }
}

impl<S> Adapter<S> {
    async fn stop(self) {
        self.stop.send_replace(true);
        for t in self.tasks {
            t.await.expect("task ends cleanly");
        }
    }

    async fn wait_health(
        &self,
        what: &str,
        check: impl Fn(&firmware_adapters::health::DeviceHealth) -> bool,
    ) {
        tokio::time::timeout(LIMIT, self.health.wait_for("dev-1", check))
            .await
            .unwrap_or_else(|_| {
                panic!("timed out waiting for {what}: {:?}", self.health.snapshot())
            });
    }
}

/// What a protocol must deliver from its simulator.
struct Expect {
    profile: &'static str,
    /// Metrics with their unit that every full batch holds.
    metrics: &'static [(Metric, Unit)],
}

const NONIN: Expect = Expect {
    profile: "nonin-9560",
    metrics: &[
        (Metric::PulseRate, Unit::PerMinute),
        (Metric::Spo2, Unit::Percent),
    ],
};
const NONIN7: Expect = Expect {
    profile: "nonin-oem-format7",
    metrics: &[
        (Metric::PulseRate, Unit::PerMinute),
        (Metric::Spo2, Unit::Percent),
    ],
};
const MASIMO: Expect = Expect {
    profile: "masimo-radical7",
    metrics: &[
        (Metric::Spo2, Unit::Percent),
        (Metric::PulseRate, Unit::PerMinute),
        (Metric::PerfusionIndex, Unit::Percent),
    ],
};
const DATEX: Expect = Expect {
    profile: "ge-datex-s5",
    metrics: &[
        (Metric::HeartRate, Unit::PerMinute),
        (Metric::ArterialSystolic, Unit::MmHg),
        (Metric::ArterialMean, Unit::MmHg),
        (Metric::Spo2, Unit::Percent),
        (Metric::PulseRate, Unit::PerMinute),
        (Metric::RespiratoryRate, Unit::PerMinute),
        (Metric::EtCo2, Unit::MmHg),
    ],
};
const MEDIBUS: Expect = Expect {
    profile: "draeger-medibus",
    metrics: &[
        (Metric::RespiratoryRate, Unit::PerMinute),
        (Metric::EtCo2, Unit::MmHg),
        (Metric::PulseRate, Unit::PerMinute),
        (Metric::Spo2, Unit::Percent),
    ],
};

const INTELLIVUE: Expect = Expect {
    profile: "philips-intellivue-mib",
    metrics: &[
        (Metric::HeartRate, Unit::PerMinute),
        (Metric::Spo2, Unit::Percent),
        (Metric::PulseRate, Unit::PerMinute),
        (Metric::RespiratoryRate, Unit::PerMinute),
    ],
};

fn check_batch(expect: &Expect, batch: &[Reading]) {
    for &(metric, unit) in expect.metrics {
        let r = batch
            .iter()
            .find(|r| r.metric == metric)
            .unwrap_or_else(|| panic!("{}: no {metric:?} in {batch:?}", expect.profile));
        assert_eq!(r.unit, unit, "{}: {r:?}", expect.profile);
        assert_eq!(r.validity, Validity::Valid, "{}: {r:?}", expect.profile);
        assert!(
            metric.info().plausible.contains(&r.value),
            "{}: {r:?}",
            expect.profile
        );
    }
}

/// Readings arrive, then the cable is pulled (socat and the device go away)
/// and plugged back in: the driver reopens the port and readings resume.
async fn readings_arrive_and_a_pulled_cable_is_recovered(test: &str, expect: Expect) {
    if !socat_present(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = shipped(expect.profile);
    let (socat, device_end, adapter_end) = start_socat(dir.path());
    let device = start_device(&device_end, &profile, SimConfig::new(SimScenario::Normal));
    let adapter = start_adapter(&adapter_end, &profile, Nowhere);
    adapter.sink.wait(2).await;
    check_batch(&expect, &adapter.sink.batches()[1]);
    assert!(
        !adapter.board.snapshot()["dev-1"].is_empty(),
        "raw values are kept"
    );

    unplug(socat, device, &[&device_end, &adapter_end]).await;
    adapter
        .wait_health("the port to be lost", |h| {
            h.state == ConnectionState::BackingOff
        })
        .await;
    let before = adapter.sink.batches().len();
    let (_socat, device_end, _) = start_socat(dir.path());
    let device = start_device(&device_end, &profile, SimConfig::new(SimScenario::Normal));
    adapter.sink.wait(before + 2).await;
    check_batch(&expect, &adapter.sink.batches()[before + 1]);
    let h = &adapter.health.snapshot()["dev-1"];
    assert_eq!(h.state, ConnectionState::Connected, "{h:?}");
    device.stop().await;
    adapter.stop().await;
}

/// Kills socat (both ptys vanish, as when a USB adapter is unplugged) and
/// the simulated device with it.
async fn unplug(socat: Peer, device: Device, links: &[&Path]) {
    drop(socat);
    device.stop().await;
    for link in links {
        let _ = std::fs::remove_file(link);
    }
}

/// Line noise before every frame: frames still decode, the noise is counted.
async fn noise_is_skipped_and_counted(test: &str, expect: Expect) {
    if !socat_present(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = shipped(expect.profile);
    let (_socat, device_end, adapter_end) = start_socat(dir.path());
    let device = start_device(&device_end, &profile, SimConfig::new(SimScenario::Garbage));
    let adapter = start_adapter(&adapter_end, &profile, Nowhere);
    adapter.sink.wait(2).await;
    check_batch(&expect, &adapter.sink.batches()[1]);
    let h = &adapter.health.snapshot()["dev-1"];
    assert!(h.errors >= 1, "{h:?}");
    assert!(
        h.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("noise")),
        "{h:?}"
    );
    device.stop().await;
    adapter.stop().await;
}

/// Readings through the collector's spool and writer into TimescaleDB: every
/// delivered reading is one row.
async fn lands_in_timescaledb(test: &str, expect: Expect) {
    if !socat_present(test) {
        return;
    }
    let Some(db) = TestDb::create(test).await else {
        return;
    };
    migrated(&db).await;
    let stack = Stack::new(1 << 30, 1 << 20);
    let mut writer = stack.start_writer(&db.url);
    let dir = tempfile::tempdir().unwrap();
    let profile = shipped(expect.profile);
    let (_socat, device_end, adapter_end) = start_socat(dir.path());
    let device = start_device(
        &device_end,
        &profile,
        SimConfig::new(SimScenario::Deteriorating),
    );
    let sink = SiteSink::new(stack.ingest.clone(), "tenant-a");
    let adapter = start_adapter(&adapter_end, &profile, sink);
    adapter.sink.wait(2).await;
    let tee = adapter.sink.clone();
    adapter.stop().await;
    device.stop().await;
    let delivered: Vec<Reading> = tee.batches().into_iter().flatten().collect();
    writer.committed(delivered.len() as u64).await;
    let client = db.client().await;
    for &(metric, _) in expect.metrics {
        let sent = delivered.iter().filter(|r| r.metric == metric).count();
        let row = client
            .query_one(
                "SELECT count(*) FROM vitals WHERE device_id = 'dev-1' AND bed_id = 'bed-1' AND metric = $1",
                &[&metric.info().name],
            )
            .await
            .unwrap();
        assert_eq!(
            row.get::<_, i64>(0),
            sent as i64,
            "{}: {metric:?}",
            expect.profile
        );
    }
    writer.stop().await;
    db.drop_db().await;
}

macro_rules! protocol_tests {
    ($($module:ident: $expect:expr;)*) => {$(
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn readings_arrive_and_a_pulled_cable_is_recovered() {
                super::readings_arrive_and_a_pulled_cable_is_recovered(
                    concat!(stringify!($module), "_pulled_cable"), $expect).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn noise_between_frames_is_skipped_and_counted() {
                super::noise_is_skipped_and_counted(
                    concat!(stringify!($module), "_noise"), $expect).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn readings_land_in_timescaledb() {
                super::lands_in_timescaledb(concat!(stringify!($module), "_db"), $expect).await;
            }
        }
    )*};
}

protocol_tests! {
    nonin_format8: NONIN;
    nonin_format7: NONIN7;
    masimo: MASIMO;
    datex: DATEX;
    medibus: MEDIBUS;
    intellivue: INTELLIVUE;
}

/// The device falls silent with the port still open (a cable pulled behind a
/// USB adapter): the watchdog starts the protocol again, and readings resume
/// when the device talks again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_restarts_the_protocol_and_readings_resume() {
    if !socat_present("serial_silence") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = shipped("draeger-medibus");
    let (_socat, device_end, adapter_end) = start_socat(dir.path());
    let mut config = SimConfig::new(SimScenario::CablePulled);
    config.pulled_for = Duration::from_millis(4_000);
    let device = start_device(&device_end, &profile, config);
    let adapter = start_adapter(&adapter_end, &profile, Nowhere);
    adapter.sink.wait(1).await;
    adapter
        .wait_health("the watchdog", |h| {
            h.state == ConnectionState::Connecting
                && h.last_error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("silence"))
        })
        .await;
    let before = adapter.sink.batches().len();
    adapter.sink.wait(before + 1).await;
    check_batch(&MEDIBUS, &adapter.sink.batches()[before]);
    device.stop().await;
    adapter.stop().await;
}
