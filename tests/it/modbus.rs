//! The Modbus adapter against an independent Modbus implementation: pymodbus
//! (tests/peers/modbus_server.py) plays the device, over TCP on a loopback port
//! and over RTU on a pseudo-terminal pair made by socat.
//!
//! The peer encodes its registers with Python's struct module, so these tests
//! check our decoding of every type, word order, byte order and scale against
//! an encoding we did not write, and our framing (MBAP, RTU with CRC) against a
//! server we did not write.
//!
//! Needs `python3` with pymodbus and pyserial (`pip install -r
//! tests/peers/requirements.txt`) and, for RTU, `socat`. Without them the tests
//! skip with a message; with `HEALTHSPHERE_REQUIRE_PEERS=1` (CI) they fail.
//!
//! Pseudo-terminals on our machines refuse parity (tcsetattr gives EINVAL), so
//! the RTU tests run 8N1; parity is a setting passed through to the port.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use firmware_adapters::health::{AdapterHealth, AdapterMetrics, ConnectionState, HealthRegistry};
use firmware_adapters::modbus::{self, ModbusDevice, StatusBoard, StatusData};
use firmware_adapters::profile::modbus::{ModbusConnection, Parity, RtuConnection, TcpConnection};
use firmware_adapters::profile::{Profile, ProfileSet};
use firmware_adapters::sink::{DeviceRef, ReadingSink, Refused};
use firmware_adapters::{Metric, Reading, Unit};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// Maps the peer's registers; see the comments in modbus_server.py.
const PEER_PROFILE: &str = r#"
name = "pymodbus-peer"
silence_timeout_ms = 10000

[modbus]
poll_interval_ms = 1000
timeout_ms = 400
backoff_initial_ms = 200
backoff_max_ms = 2000

[[modbus.values]]
table = "input_register"
address = 0
type = "i16"
scale = 0.1
metric = "fridge_temperature"

[[modbus.values]]
table = "input_register"
address = 1
scale = 0.1
metric = "respiratory_rate"

[[modbus.values]]
table = "input_register"
address = 2
type = "f32"
metric = "ambient_temperature"

[[modbus.values]]
table = "input_register"
address = 4
type = "f32"
word_order = "little"
metric = "body_temperature"

[[modbus.values]]
table = "input_register"
address = 6
type = "u32"
word_order = "little"
byte_order = "little"
metric = "heart_rate"

[[modbus.values]]
table = "input_register"
address = 8
type = "i32"
byte_order = "little"
scale = 0.01
metric = "spo2"

[[modbus.values]]
table = "input_register"
address = 10
type = "f64"
metric = "etco2"
unit = "kPa"

[[modbus.values]]
table = "input_register"
address = 14
scale = 0.01
offset = 1.0
metric = "perfusion_index"

[[modbus.values]]
table = "holding_register"
address = 0
status = "door_open"
bit = 0

[[modbus.values]]
table = "holding_register"
address = 0
status = "alarm"
bit = 1

[[modbus.values]]
table = "holding_register"
address = 0
status = "power_failure"
bit = 2

[[modbus.values]]
table = "holding_register"
address = 1
type = "u32"
word_order = "little"
status = "relay_open"
bit = 17

[[modbus.values]]
table = "holding_register"
address = 10
type = "string"
length_registers = 4
status = "serial_number"

[[modbus.values]]
table = "holding_register"
address = 20
scale = 0.1
status = "oxygen_pressure"
unit = "kPa"

[[modbus.values]]
table = "holding_register"
address = 100
status = "refused_by_the_device"

[[modbus.values]]
table = "coil"
address = 0
status = "alarm_relay"

[[modbus.values]]
table = "discrete_input"
address = 3
status = "door_contact"
"#;

// === peers ===

pub(crate) fn peers_required() -> bool {
    std::env::var("HEALTHSPHERE_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

#[expect(
    clippy::print_stderr,
    reason = "a skipped test says why in the test output"
)]
pub(crate) fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
}

/// Whether the peers `test` needs are installed; panics when they are required.
fn peers_present(test: &str, need_socat: bool) -> bool {
    let python = Command::new("python3")
        .args(["-c", "import pymodbus, serial"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let socat = !need_socat
        || Command::new("socat")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
    let missing = match (python, socat) {
        (true, true) => return true,
        (false, _) => {
            "python3 with pymodbus and pyserial (pip install -r tests/peers/requirements.txt)"
        }
        (true, false) => "socat (apt-get install socat)",
    };
    assert!(
        !peers_required(),
        "{test}: {missing} is missing and HEALTHSPHERE_REQUIRE_PEERS=1"
    );
    skip(test, &format!("{missing} is missing"));
    false
}

/// A child process, killed when dropped.
pub(crate) struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a child's output, read on a thread so the test can wait with a
/// deadline.
fn lines(source: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(source).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for the first line of `rx` that `wanted` accepts.
fn wait_line(
    rx: &mpsc::Receiver<String>,
    what: &str,
    log: Option<&Path>,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if wanted(&line) => return line,
            Ok(line) => seen.push(line),
            Err(e) => {
                let log = log
                    .and_then(|l| std::fs::read_to_string(l).ok())
                    .unwrap_or_default();
                panic!(
                    "{what} did not start ({e}); it said:\n{}\n{log}",
                    seen.join("\n")
                );
            }
        }
    }
}

/// Starts the pymodbus device with `args`; returns it and what followed READY.
fn start_peer(dir: &Path, args: &[&str]) -> (Peer, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/modbus_server.py");
    let log = dir.join("peer.log");
    let mut child = Command::new("python3")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("peer log"))
        .spawn()
        .expect("start python3");
    let stdout = lines(child.stdout.take().expect("piped"));
    let peer = Peer(child);
    let ready = wait_line(&stdout, "the pymodbus peer", Some(&log), |l| {
        l.starts_with("READY ")
    });
    (peer, ready["READY ".len()..].to_owned())
}

/// A pseudo-terminal pair: the device end and the adapter end.
pub(crate) fn start_socat(dir: &Path) -> (Peer, PathBuf, PathBuf) {
    let (device_end, adapter_end) = (dir.join("device-tty"), dir.join("adapter-tty"));
    let address = |p: &Path| format!("pty,raw,echo=0,link={}", p.display());
    let mut child = Command::new("socat")
        .args(["-d", "-d", &address(&device_end), &address(&adapter_end)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start socat");
    let stderr = lines(child.stderr.take().expect("piped"));
    let peer = Peer(child);
    // socat makes both links before it starts moving data.
    wait_line(&stderr, "socat", None, |l| {
        l.contains("starting data transfer loop")
    });
    (peer, device_end, adapter_end)
}

// === the adapter under test ===

#[derive(Debug, Default)]
struct Collected {
    readings: Mutex<Vec<(String, Instant, Vec<Reading>)>>,
    arrived: Notify,
}

impl ReadingSink for Collected {
    async fn deliver(
        &self,
        device: &DeviceRef,
        readings: Vec<Reading>,
        _: SystemTime,
    ) -> Result<(), Refused> {
        let entry = (device.device_id.to_string(), Instant::now(), readings);
        self.readings.lock().unwrap().push(entry);
        self.arrived.notify_waiters();
        Ok(())
    }
}

impl Collected {
    fn batches(&self, device_id: &str) -> Vec<(Instant, Vec<Reading>)> {
        let got = self.readings.lock().unwrap();
        got.iter()
            .filter(|(d, ..)| d == device_id)
            .map(|(_, t, r)| (*t, r.clone()))
            .collect()
    }

    /// Waits until `device_id` has delivered `n` batches.
    async fn wait_batches(&self, device_id: &str, n: usize, limit: Duration) {
        let waited = tokio::time::timeout(limit, async {
            loop {
                let arrived = self.arrived.notified();
                if self.batches(device_id).len() >= n {
                    return;
                }
                arrived.await;
            }
        });
        waited
            .await
            .unwrap_or_else(|_| panic!("{device_id} did not deliver {n} batches in {limit:?}"));
    }
}

struct Adapter {
    sink: Arc<Collected>,
    health: HealthRegistry,
    board: StatusBoard,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn start_adapter(profile: &str, devices: &[(&str, ModbusConnection)]) -> Adapter {
    let profile = Arc::new(
        Profile::parse(profile)
            .expect("peer profile")
            .modbus
            .expect("modbus"),
    );
    let health = HealthRegistry::default();
    let devices = devices
        .iter()
        .map(|(id, connection)| {
            let kind = modbus::adapter_kind(connection);
            ModbusDevice {
                device: DeviceRef::new(id, "ward-7"),
                profile: profile.clone(),
                connection: connection.clone(),
                health: AdapterHealth::new(
                    kind,
                    id,
                    AdapterMetrics::unregistered(),
                    health.clone(),
                ),
            }
        })
        .collect();
    let (sink, board) = (Arc::new(Collected::default()), StatusBoard::new());
    let (stop, shutdown) = watch::channel(false);
    let tasks = modbus::spawn(devices, sink.clone(), board.clone(), &shutdown)
        .expect("devices can share links");
    Adapter {
        sink,
        health,
        board,
        stop,
        tasks,
    }
}

impl Adapter {
    async fn stop(self) {
        self.stop.send(true).expect("tasks listen");
        for t in self.tasks {
            t.await.expect("task ends cleanly");
        }
    }

    async fn wait_for(&self, what: &str, check: impl Fn(&Self) -> bool) {
        healthsphere_tests::wait_until(what, Duration::from_secs(10), || async { check(self) })
            .await;
    }
}

fn tcp(port: u16, unit_id: u8) -> ModbusConnection {
    ModbusConnection::Tcp(TcpConnection {
        host: "127.0.0.1".into(),
        port,
        unit_id,
    })
}

fn rtu(path: &Path, unit_id: u8) -> ModbusConnection {
    ModbusConnection::Rtu(RtuConnection {
        path: path.to_str().expect("utf-8 temp path").into(),
        baud_rate: 19_200,
        data_bits: 8,
        parity: Parity::None,
        stop_bits: 1,
        unit_id,
    })
}

// === the tests ===

/// Polls the peer's unit 1 and checks every decoded value.
async fn decodes_every_value(connection: ModbusConnection) {
    let adapter = start_adapter(PEER_PROFILE, &[("peer-1", connection)]);
    adapter
        .sink
        .wait_batches("peer-1", 1, Duration::from_secs(10))
        .await;
    let (_, readings) = adapter.sink.batches("peer-1").remove(0);
    let value = |m: Metric| {
        let r = readings
            .iter()
            .find(|r| r.metric == m)
            .unwrap_or_else(|| panic!("no {m} in {readings:?}"));
        (r.value, r.unit)
    };
    let close = |(got, unit): (f64, Unit), want: f64, want_unit: Unit| {
        assert!(
            (got - want).abs() < 1e-9 && unit == want_unit,
            "{got} {unit}, expected {want} {want_unit}"
        );
    };
    close(value(Metric::FridgeTemperature), -12.3, Unit::Celsius);
    close(value(Metric::RespiratoryRate), 16.0, Unit::PerMinute);
    close(value(Metric::AmbientTemperature), 21.5, Unit::Celsius);
    close(value(Metric::BodyTemperature), 37.25, Unit::Celsius);
    close(value(Metric::HeartRate), 72.0, Unit::PerMinute);
    close(value(Metric::Spo2), 96.5, Unit::Percent);
    close(value(Metric::EtCo2), 5.3, Unit::KiloPascal);
    close(value(Metric::PerfusionIndex), 3.5, Unit::Percent);
    assert_eq!(readings.len(), 8, "{readings:?}");

    adapter
        .wait_for("every status", |a| {
            a.board
                .snapshot()
                .get("peer-1")
                .is_some_and(|s| s.len() == 8)
        })
        .await;
    let statuses = &adapter.board.snapshot()["peer-1"];
    let status = |name: &str| statuses[name].value.clone();
    assert_eq!(status("door_open"), StatusData::Flag(true));
    assert_eq!(status("alarm"), StatusData::Flag(false));
    assert_eq!(status("power_failure"), StatusData::Flag(true));
    assert_eq!(status("relay_open"), StatusData::Flag(true));
    assert_eq!(status("serial_number"), StatusData::Text("HS-PEER1".into()));
    assert_eq!(status("alarm_relay"), StatusData::Flag(true));
    assert_eq!(status("door_contact"), StatusData::Flag(true));
    let StatusData::Number(o2) = status("oxygen_pressure") else {
        panic!("{statuses:?}")
    };
    assert!(
        (o2 - 401.2).abs() < 1e-9 && statuses["oxygen_pressure"].unit == Some(Unit::KiloPascal)
    );
    // The one the device refuses is not there, and its exception is counted on a
    // connection that stays up.
    assert!(!statuses.contains_key("refused_by_the_device"));
    let health = &adapter.health.snapshot()["peer-1"];
    assert_eq!(health.state, ConnectionState::Connected);
    let last_error = health.last_error.as_deref().unwrap_or_default();
    assert_eq!(
        last_error,
        "exception: server device failure (0x04) reading holding_register 100 to 100"
    );
    adapter.stop().await;
}

#[tokio::test]
async fn pymodbus_over_tcp_decodes_every_type_order_and_scale() {
    if !peers_present("modbus_tcp_decode", false) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (_peer, port) = start_peer(dir.path(), &["tcp", "0"]);
    decodes_every_value(tcp(port.parse().expect("port"), 1)).await;
}

#[tokio::test]
async fn pymodbus_over_rtu_decodes_every_type_order_and_scale() {
    if !peers_present("modbus_rtu_decode", true) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (_socat, device_end, adapter_end) = start_socat(dir.path());
    let (_peer, _) = start_peer(
        dir.path(),
        &["rtu", device_end.to_str().expect("utf-8"), "19200", "N"],
    );
    decodes_every_value(rtu(&adapter_end, 1)).await;
}

/// Units 1 (answers) and 7 (silent) on one link: 7 is reported as backing off
/// with timeouts counted, while 1 keeps its 1 s poll rate.
async fn silent_unit_leaves_its_neighbour_alone(live: ModbusConnection, silent: ModbusConnection) {
    // Without the value the peer refuses, so the live unit counts no error at all.
    let refused = "[[modbus.values]]\ntable = \"holding_register\"\naddress = 100\n\
                   status = \"refused_by_the_device\"\n";
    assert!(PEER_PROFILE.contains(refused));
    let profile = PEER_PROFILE.replace(refused, "");
    let adapter = start_adapter(&profile, &[("live", live), ("silent", silent)]);
    adapter
        .sink
        .wait_batches("live", 6, Duration::from_secs(15))
        .await;
    let times: Vec<Instant> = adapter
        .sink
        .batches("live")
        .iter()
        .map(|(t, _)| *t)
        .collect();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // 1 s interval, plus at most the silent unit's 400 ms timeout, plus slack
    // for a loaded machine.
    assert!(
        gaps.iter().all(|g| *g <= Duration::from_millis(1_700)),
        "live unit slowed down: {gaps:?}"
    );
    assert!(adapter.sink.batches("silent").is_empty());
    let health = adapter.health.snapshot();
    assert_eq!(health["live"].state, ConnectionState::Connected);
    assert_eq!(health["live"].errors, 0, "{:?}", health["live"]);
    let silent = &health["silent"];
    assert!(silent.errors >= 2, "{silent:?}");
    assert!(
        silent
            .last_error
            .as_deref()
            .unwrap_or_default()
            .starts_with("timeout"),
        "{silent:?}"
    );
    assert_ne!(silent.state, ConnectionState::Connected);
    adapter
        .wait_for("the silent unit backing off", |a| {
            a.health.snapshot()["silent"].state == ConnectionState::BackingOff
        })
        .await;
    adapter.stop().await;
}

#[tokio::test]
async fn a_silent_unit_on_a_shared_rtu_bus_backs_off_while_the_other_keeps_its_rate() {
    if !peers_present("modbus_rtu_silent_unit", true) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (_socat, device_end, adapter_end) = start_socat(dir.path());
    let (_peer, _) = start_peer(
        dir.path(),
        &["rtu", device_end.to_str().expect("utf-8"), "19200", "N"],
    );
    silent_unit_leaves_its_neighbour_alone(rtu(&adapter_end, 1), rtu(&adapter_end, 7)).await;
}

#[tokio::test]
async fn a_silent_unit_behind_a_tcp_gateway_backs_off_while_the_other_keeps_its_rate() {
    if !peers_present("modbus_tcp_silent_unit", false) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (_peer, port) = start_peer(dir.path(), &["tcp", "0"]);
    let port = port.parse().expect("port");
    silent_unit_leaves_its_neighbour_alone(tcp(port, 1), tcp(port, 7)).await;
}

#[test]
fn shipped_profiles_all_parse() {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/profiles"));
    let set = ProfileSet::load(&[dir]).unwrap_or_else(|problems| {
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        panic!("deploy/profiles has problems:\n{}", text.join("\n"))
    });
    for name in ["vaccine-fridge", "medical-gas-alarm", "environment-sensor"] {
        let profile = set.get(name).unwrap_or_else(|| panic!("{name} is shipped"));
        assert!(profile.modbus.is_some(), "{name} is a Modbus profile");
    }
}
