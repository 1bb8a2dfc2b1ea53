//! The port loop with in-memory streams and paused time, and every session
//! against its simulated device.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::sync::{watch, Notify};

use super::run::{run, Context, Opener};
use super::sim::{self, SimConfig, SimScenario};
use super::*;
use crate::health::ConnectionState;
use crate::profile::Profile;
use crate::sink::Refused;
use crate::{Metric, Reading, Validity};

#[derive(Debug, Default)]
struct Collected {
    batches: Mutex<Vec<Vec<Reading>>>,
    arrived: Notify,
}

impl ReadingSink for Collected {
    async fn deliver(&self, _: &DeviceRef, r: Vec<Reading>, _: SystemTime) -> Result<(), Refused> {
        self.batches.lock().unwrap().push(r);
        self.arrived.notify_waiters();
        Ok(())
    }
}

impl Collected {
    fn count(&self) -> usize {
        self.batches.lock().unwrap().len()
    }

    async fn wait(&self, n: usize) {
        loop {
            let arrived = self.arrived.notified();
            if self.count() >= n {
                return;
            }
            arrived.await;
        }
    }
}

/// Hands out prepared streams, then fails like an unplugged adapter.
#[derive(Debug)]
struct Streams(Mutex<VecDeque<DuplexStream>>);

impl Opener for Streams {
    type Port = DuplexStream;

    fn open(&self) -> std::io::Result<DuplexStream> {
        self.0
            .lock()
            .unwrap()
            .pop_front()
            .ok_or_else(|| std::io::ErrorKind::NotFound.into())
    }

    fn target(&self) -> &str {
        "memory"
    }
}

fn profile(serial: &str) -> Arc<SerialProfile> {
    let text = format!("name = \"p\"\nsilence_timeout_ms = 10000\n[serial]\n{serial}");
    Arc::new(Profile::parse(&text).unwrap().serial.unwrap())
}

const NONIN8: &str = "protocol = \"nonin\"\nbaud_rate = 9600\nparity = \"none\"\nwatchdog_ms = 3000\nnonin_format = 8\nreopen_initial_ms = 1000\n";

struct Harness {
    sink: Arc<Collected>,
    health: HealthRegistry,
    status: StatusBoard,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn start(p: &Arc<SerialProfile>, streams: Vec<DuplexStream>) -> Harness {
    let (sink, health, status) = (
        Arc::new(Collected::default()),
        HealthRegistry::default(),
        StatusBoard::new(),
    );
    let ctx = Context {
        device: DeviceRef::new("dev-1", "bed-1"),
        health: AdapterHealth::new(
            p.protocol.adapter_kind(),
            "dev-1",
            AdapterMetrics::unregistered(),
            health.clone(),
        ),
        status: status.clone(),
        sink: sink.clone(),
        watchdog: Duration::from_millis(p.watchdog_ms),
        backoff: Backoff::new(
            Duration::from_millis(p.reopen_initial_ms),
            Duration::from_millis(p.reopen_max_ms),
        )
        .unwrap(),
    };
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(run(
        Streams(Mutex::new(streams.into())),
        session(p),
        ctx,
        shutdown,
    ));
    Harness {
        sink,
        health,
        status,
        stop,
        task,
    }
}

impl Harness {
    fn state(&self) -> (ConnectionState, u64) {
        let h = &self.health.snapshot()["dev-1"];
        (h.state, h.errors)
    }

    async fn stop(self) {
        self.stop.send_replace(true);
        self.task.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn silence_restarts_the_protocol_and_a_lost_port_is_reopened_after_backoff() {
    let p = profile(NONIN8);
    let (ours, mut device) = tokio::io::duplex(256);
    let (ours2, mut device2) = tokio::io::duplex(256);
    let h = start(&p, vec![ours, ours2]);
    let mut select = [0u8; 6];
    device.read_exact(&mut select).await.unwrap();
    assert_eq!(select, select_format(DataFormat::Format8));
    device
        .write_all(&[0x06, 0x80, 0x48, 0x61, 0x00])
        .await
        .unwrap();
    h.sink.wait(1).await;
    assert_eq!(h.state().0, ConnectionState::Connected);
    // Silence: after the watchdog the format is selected again.
    let before = tokio::time::Instant::now();
    device.read_exact(&mut select).await.unwrap();
    assert_eq!(before.elapsed(), Duration::from_millis(3000));
    assert_eq!(h.state(), (ConnectionState::Connecting, 1));
    assert_eq!(
        h.health.snapshot()["dev-1"]
            .last_error
            .as_deref()
            .map(|e| e.starts_with("silence")),
        Some(true)
    );
    // The port vanishes: the loop backs off, then opens the next stream.
    drop(device);
    let before = tokio::time::Instant::now();
    device2.read_exact(&mut select).await.unwrap();
    assert_eq!(before.elapsed(), Duration::from_millis(1000));
    device2.write_all(&[0x80, 0x48, 0x62, 0x00]).await.unwrap();
    h.sink.wait(2).await;
    assert_eq!(h.sink.batches.lock().unwrap()[1][1].value, 98.0);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_port_that_cannot_be_opened_backs_off_exponentially() {
    let p = profile(NONIN8);
    let h = start(&p, vec![]);
    // Failures at 0 s, 1 s and 3 s (delays 1 s, 2 s, 4 s): three by 3.5 s.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (state, errors) = h.state();
    assert_eq!(state, ConnectionState::BackingOff);
    assert_eq!(errors, 3);
    h.stop().await;
}

const PROFILES: [&str; 7] = [
    NONIN8,
    "protocol = \"nonin\"\nbaud_rate = 9600\nparity = \"none\"\nwatchdog_ms = 3000\nnonin_format = 2\n",
    "protocol = \"nonin\"\nbaud_rate = 9600\nparity = \"none\"\nwatchdog_ms = 3000\nnonin_format = 7\n",
    "protocol = \"masimo\"\nbaud_rate = 9600\nparity = \"none\"\nwatchdog_ms = 3000\n",
    "protocol = \"datex\"\nbaud_rate = 19200\nparity = \"even\"\nflow_control = \"hardware\"\nwatchdog_ms = 15000\n",
    "protocol = \"medibus\"\nbaud_rate = 9600\nparity = \"even\"\nwatchdog_ms = 3000\n",
    "protocol = \"intellivue\"\nbaud_rate = 115200\nparity = \"none\"\nwatchdog_ms = 8000\n",
];

/// Runs the session of `p` against its simulator until `batches` arrived.
async fn against_sim(p: &Arc<SerialProfile>, scenario: SimScenario, batches: usize) -> Harness {
    let (ours, device) = tokio::io::duplex(4096);
    let h = start(p, vec![ours]);
    let (_stop, shutdown) = watch::channel(false);
    let model = sim::model_for(p);
    tokio::spawn(async move {
        let _keep = _stop;
        sim::serve(device, model, SimConfig::new(scenario), shutdown).await
    });
    h.sink.wait(batches).await;
    h
}

#[tokio::test(start_paused = true)]
async fn every_session_decodes_its_simulator() {
    for text in PROFILES {
        let p = profile(text);
        let h = against_sim(&p, SimScenario::Normal, 2).await;
        let batches = h.sink.batches.lock().unwrap().clone();
        let metrics: Vec<Metric> = batches[1].iter().map(|r| r.metric).collect();
        assert!(
            metrics.contains(&Metric::Spo2),
            "{:?}: {metrics:?}",
            p.protocol
        );
        assert!(
            batches
                .iter()
                .flatten()
                .all(|r| r.validity == Validity::Valid),
            "{:?}",
            p.protocol
        );
        let spo2 = batches[1]
            .iter()
            .find(|r| r.metric == Metric::Spo2)
            .unwrap()
            .value;
        assert!((85.0..=100.0).contains(&spo2), "{:?}: {spo2}", p.protocol);
        assert_eq!(
            h.state().1,
            0,
            "{:?}: {:?}",
            p.protocol,
            h.health.snapshot()
        );
        assert!(
            !h.status.snapshot()["dev-1"].is_empty(),
            "{:?} keeps raw values",
            p.protocol
        );
        h.stop().await;
    }
}

#[tokio::test(start_paused = true)]
async fn noise_between_frames_is_skipped_and_counted() {
    for text in PROFILES {
        let p = profile(text);
        let h = against_sim(&p, SimScenario::Garbage, 3).await;
        let health = &h.health.snapshot()["dev-1"];
        assert!(health.errors >= 1, "{:?}: {health:?}", p.protocol);
        assert!(
            health.last_error.as_deref().unwrap().starts_with("noise"),
            "{:?}: {health:?}",
            p.protocol
        );
        assert!(health.frames >= 3);
        h.stop().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_sensor_off_gives_invalid_readings_or_none_and_says_so() {
    // Nonin format 8 holds the display values with the sensor alarm set.
    let h = against_sim(&profile(NONIN8), SimScenario::SensorOff, 1).await;
    let batch = h.sink.batches.lock().unwrap()[0].clone();
    assert!(
        batch.iter().all(|r| r.validity == Validity::Invalid),
        "{batch:?}"
    );
    h.stop().await;
    // Masimo sends dashes: no reading, but the exception bits are kept.
    let p = profile(PROFILES[3]);
    let (ours, device) = tokio::io::duplex(4096);
    let h = start(&p, vec![ours]);
    let mut board = h.status.subscribe();
    let (_stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(sim::serve(
        device,
        sim::model_for(&p),
        SimConfig::new(SimScenario::SensorOff),
        shutdown,
    ));
    board
        .wait_for(|m| m.get("dev-1").is_some_and(|d| d.contains_key("EXC")))
        .await
        .unwrap();
    let exc = h.status.snapshot()["dev-1"]["EXC"].value.clone();
    assert_eq!(exc, crate::modbus::StatusData::Number(32.0));
    assert_eq!(h.sink.count(), 0);
    h.stop().await;
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn readings_decoded_before_a_failed_write_are_still_delivered() {
    use crate::protocols::medibus::{encode_command, Command, MeasuredData, MeasuredItem};
    let p = profile(PROFILES[5]);
    let (ours, mut device) = tokio::io::duplex(4096);
    let h = start(&p, vec![ours]);
    let mut icc = [0u8; 5];
    device.read_exact(&mut icc).await.unwrap();
    // The device's NOP needs an answer, but the device is gone by then.
    let mut bytes = encode_command(Command::Nop);
    let items = vec![MeasuredItem {
        code: 0xEB,
        value: "96".into(),
    }];
    bytes.extend(MeasuredData { items }.to_frame().unwrap());
    device.write_all(&bytes).await.unwrap();
    drop(device);
    let delivered = tokio::time::timeout(Duration::from_secs(60), h.sink.wait(1)).await;
    assert!(delivered.is_ok(), "the readings were lost with the port");
    h.health
        .wait_for("dev-1", |d| {
            d.last_error
                .as_deref()
                .is_some_and(|e| e.starts_with("port_lost"))
        })
        .await;
    assert_eq!(h.sink.batches.lock().unwrap()[0][0].value, 96.0);
    h.stop().await;
}

fn mangle(rng: &mut crate::protocols::test_rng::TestRng, wire: &mut Vec<u8>) {
    for _ in 0..rng.below(4) {
        if !wire.is_empty() {
            let at = rng.below(wire.len());
            wire[at] ^= rng.byte();
        }
    }
    let noise_len = rng.below(16);
    let noise = rng.bytes(noise_len);
    let at = rng.below(wire.len() + 1);
    wire.splice(at..at, noise);
    if rng.below(8) == 0 {
        let cut = rng.below(wire.len() + 1);
        wire.truncate(cut);
    }
}

/// Random bytes, and the simulator's real bytes with random flips, cuts and
/// insertions, in random pieces at random times: no session may panic.
#[test]
fn no_session_panics_on_mangled_bytes_or_random_timing() {
    use crate::protocols::test_rng::TestRng;
    let mut rng = TestRng::new(7);
    for text in PROFILES {
        let p = profile(text);
        let mut s = session(&p);
        let mut device = sim::model_for(&p);
        let vitals = sim::Vitals {
            heart_rate: 80.0,
            pulse_rate: 80.0,
            spo2: 96.0,
            perfusion_index: 2.0,
            respiratory_rate: 16.0,
            temperature: 37.0,
            nibp: Some((120.0, 80.0, 93.0)),
            etco2_mmhg: 38.0,
            sensor_off: false,
        };
        let mut now = tokio::time::Instant::now();
        let mut out = session::Output::default();
        s.start(now, &mut out);
        let (mut frames, mut readings) = (0, 0);
        for round in 0..1_000u32 {
            frames += out.frames;
            readings += out.batches.len();
            let mut wire = Vec::new();
            device.receive(&out.send, &vitals, &mut wire);
            device.tick(&vitals, SystemTime::now(), &mut wire);
            // Every other message reaches the line intact.
            if rng.below(2) == 0 {
                mangle(&mut rng, &mut wire);
            }
            out = session::Output::default();
            for piece in rng.chunks(&wire, 32) {
                s.receive(piece, now, &mut out);
            }
            now += Duration::from_millis(rng.below(1_500) as u64);
            if s.next_tick().is_some_and(|t| t <= now) {
                s.tick(now, &mut out);
            }
            if round % 250 == 0 {
                s.start(now, &mut out);
            }
        }
        // The mangling leaves enough intact to reach the decoders.
        assert!(
            frames > 10 && readings > 5,
            "{:?}: {frames} frames, {readings} batches",
            p.protocol
        );
    }
}
