//! MQTT devices end to end: an independent client (paho-mqtt) publishes to the
//! gateway's embedded broker or to Mosquitto, and the readings land in TimescaleDB
//! with the right metric, unit, bed and time.

mod support;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use healthsphere_tests::{wait_until, TestDb};
use support::Gateway;
use tokio_postgres::Client;

const PASSWORD: &str = "correct-horse-battery";
const MOSQUITTO: (&str, u16) = ("127.0.0.1", 1883);

fn peers_required() -> bool {
    std::env::var("HEALTHSPHERE_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Whether paho-mqtt and, when `mosquitto`, the machine's Mosquitto are there.
#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn peers_ready(mosquitto: bool) -> bool {
    let paho = Command::new("python3")
        .args(["-c", "import paho.mqtt"])
        .status()
        .is_ok_and(|s| s.success());
    let broker = !mosquitto || TcpStream::connect(MOSQUITTO).is_ok();
    if paho && broker {
        return true;
    }
    let why = format!("paho-mqtt installed: {paho}; Mosquitto reachable: {broker}");
    assert!(!peers_required(), "test peers missing: {why}");
    eprintln!("SKIPPED: {why}");
    false
}

fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/mqtt_publish.py")
}

/// Publishes with paho-mqtt; true when the broker took the message.
fn publish(port: u16, topic: &str, qos: u8, payload: &str, user: Option<&str>) -> bool {
    let mut cmd = Command::new("python3");
    cmd.arg(peer_script()).args([
        "127.0.0.1",
        &port.to_string(),
        topic,
        &qos.to_string(),
        payload,
    ]);
    if let Some(user) = user {
        cmd.args([user, PASSWORD]);
    }
    let out = cmd.output().expect("run the paho-mqtt publisher");
    String::from_utf8_lossy(&out.stdout).contains("PUBLISHED")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A name unique to this test run, so tests sharing Mosquitto do not meet.
fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

struct Setup {
    dir: tempfile::TempDir,
    api_port: u16,
    mqtt_port: u16,
    client_id: String,
}

impl Setup {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            api_port: free_port(),
            mqtt_port: free_port(),
            client_id: unique("hs-gw"),
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("gateway.log")
    }

    /// Writes the configuration; `devices` are (device_id, profile) pairs.
    fn config(
        &self,
        db_url: &str,
        embedded: bool,
        devices: &[(&str, &str)],
        profiles: &Path,
    ) -> PathBuf {
        let broker = if embedded {
            format!(
                "broker = \"embedded\"\nlisten = \"127.0.0.1:{}\"",
                self.mqtt_port
            )
        } else {
            format!(
                "broker = \"external\"\nhost = \"{}\"\nport = {}",
                MOSQUITTO.0, MOSQUITTO.1
            )
        };
        let mut text = format!(
            "[site]\ntenant_id = \"it-site\"\nward_id = \"ward-mqtt\"\n\n\
             [spool]\ndir = \"{}\"\nmax_bytes = 67108864\nsegment_bytes = 1048576\n\n\
             [database]\nurl = \"{db_url}\"\nbatch_max_wait_ms = 20\nretry_initial_ms = 50\n\n\
             [api]\nlisten = \"127.0.0.1:{}\"\n\n\
             [profiles]\ndirs = [\"{}\"]\n\n\
             [mqtt]\n{broker}\nclient_id = \"{}\"\n",
            self.dir.path().join("spool").display(),
            self.api_port,
            profiles.display(),
            self.client_id,
        );
        for (device, profile) in devices {
            text.push_str(&format!(
                "\n[[device]]\ndevice_id = \"{device}\"\nbed_id = \"bed-{device}\"\nprofile = \"{profile}\"\n"
            ));
            if embedded {
                text.push_str(&format!(
                    "[device.mqtt]\nusername = \"{device}\"\npassword = \"{PASSWORD}\"\n"
                ));
            }
        }
        let path = self.dir.path().join("gateway.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn http_get(&self, path: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.api_port)).expect("API reachable");
        write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    }
}

fn shipped_profiles() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/profiles")
}

async fn wait_for_log(gw: &Gateway, what: &str) {
    wait_until(what, Duration::from_secs(30), || {
        let found = gw.log_text().contains(what);
        async move { found }
    })
    .await;
}

async fn rows_of(client: &Client, device: &str) -> Vec<(String, String, f64, SystemTime)> {
    let rows = client
        .query(
            "SELECT bed_id, metric, value, time FROM vitals WHERE device_id = $1 ORDER BY metric",
            &[&device],
        )
        .await
        .unwrap_or_default();
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

async fn wait_rows(
    client: &Client,
    device: &str,
    n: usize,
) -> Vec<(String, String, f64, SystemTime)> {
    wait_until("rows to land", Duration::from_secs(30), || async {
        rows_of(client, device).await.len() >= n
    })
    .await;
    rows_of(client, device).await
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn senml_through_the_embedded_broker_lands_with_metric_unit_bed_and_time() {
    if !peers_ready(false) {
        return;
    }
    let Some(db) = TestDb::create("mqtt_embedded").await else {
        return;
    };
    let s = Setup::new();
    let device = unique("mon");
    let config = s.config(
        &db.url,
        true,
        &[(&device, "senml-monitor")],
        &shipped_profiles(),
    );
    let gw = Gateway::start(&config, &s.log());
    wait_for_log(&gw, "MQTT connected").await;

    let topic = format!("healthsphere/devices/{device}/vitals");
    let bt = (unix_now() - 2.0).floor();
    let pack = format!(
        r#"[{{"bn":"{device}:","bt":{bt},"n":"hr","u":"beat/min","v":72}},
            {{"n":"spo2","u":"1","v":0.97}},{{"n":"temp","u":"[degF]","v":98.6,"t":1}}]"#
    );
    assert!(
        !publish(s.mqtt_port, &topic, 1, &pack, Some("intruder")),
        "unknown user refused"
    );
    assert!(publish(s.mqtt_port, &topic, 1, &pack, Some(&device)));

    let client = db.client().await;
    let rows = wait_rows(&client, &device, 3).await;
    let expect_time = UNIX_EPOCH + Duration::from_secs_f64(bt);
    let bed = format!("bed-{device}");
    assert_eq!(rows[0].0, bed);
    assert_eq!((rows[0].1.as_str(), rows[0].2), ("body_temperature", 37.0));
    assert_eq!(rows[0].3, expect_time + Duration::from_secs(1));
    assert_eq!(
        (rows[1].1.as_str(), rows[1].2, rows[1].3),
        ("heart_rate", 72.0, expect_time)
    );
    assert_eq!(rows[2].1.as_str(), "spo2");
    assert!((rows[2].2 - 97.0).abs() < 1e-9, "{}", rows[2].2);

    let health = s.http_get("/devices/health");
    assert!(health.contains(r#""state":"connected""#), "{health}");
    assert!(gw.terminate().await.success());
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compact_json_through_mosquitto_lands_in_timescaledb() {
    if !peers_ready(true) {
        return;
    }
    let Some(db) = TestDb::create("mqtt_mosquitto").await else {
        return;
    };
    let s = Setup::new();
    let device = unique("oxi");
    let config = s.config(
        &db.url,
        false,
        &[(&device, "compact-oximeter")],
        &shipped_profiles(),
    );
    let gw = Gateway::start(&config, &s.log());
    wait_for_log(&gw, "MQTT connected").await;

    let ts = (unix_now() - 1.0).floor();
    let doc = format!(r#"{{"ts": {ts}, "spo2": 95, "pulse_rate": 88, "perfusion_index": 2.5}}"#);
    assert!(publish(
        MOSQUITTO.1,
        &format!("healthsphere/devices/{device}/vitals"),
        1,
        &doc,
        None
    ));

    let rows = wait_rows(&db.client().await, &device, 3).await;
    let got: Vec<(&str, f64)> = rows.iter().map(|r| (r.1.as_str(), r.2)).collect();
    assert_eq!(
        got,
        [
            ("perfusion_index", 2.5),
            ("pulse_rate", 88.0),
            ("spo2", 95.0)
        ]
    );
    assert!(rows
        .iter()
        .all(|r| r.3 == UNIX_EPOCH + Duration::from_secs_f64(ts)));
    assert!(gw.terminate().await.success());
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos1_message_unacknowledged_at_a_kill_is_stored_after_restart() {
    if !peers_ready(true) {
        return;
    }
    let Some(db) = TestDb::create("mqtt_qos1_kill").await else {
        return;
    };
    let s = Setup::new();
    let device = unique("oxi");
    let config = s.config(
        &db.url,
        false,
        &[(&device, "compact-oximeter")],
        &shipped_profiles(),
    );
    let topic = format!("healthsphere/devices/{device}/vitals");
    let gw = Gateway::start(&config, &s.log());
    wait_for_log(&gw, "MQTT connected").await;

    // Frozen, the gateway receives nothing it could store or acknowledge; the
    // broker has taken the message and holds it in flight for the session.
    gw.signal("STOP");
    let doc = format!(r#"{{"ts": {}, "spo2": 91}}"#, (unix_now() - 1.0).floor());
    assert!(publish(MOSQUITTO.1, &topic, 1, &doc, None));
    gw.kill_9();

    let client = db.client().await;
    assert!(rows_of(&client, &device).await.is_empty());
    let gw = Gateway::start(&config, &s.log());
    let rows = wait_rows(&client, &device, 1).await;
    assert_eq!(
        (rows.len(), rows[0].1.as_str(), rows[0].2),
        (1, "spo2", 91.0)
    );
    assert!(gw.terminate().await.success());
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_payloads_are_counted_by_kind_and_the_connection_stays_up() {
    if !peers_ready(false) {
        return;
    }
    let Some(db) = TestDb::create("mqtt_bad_payloads").await else {
        return;
    };
    let s = Setup::new();
    let device = unique("mon");
    let config = s.config(
        &db.url,
        true,
        &[(&device, "senml-monitor")],
        &shipped_profiles(),
    );
    let gw = Gateway::start(&config, &s.log());
    wait_for_log(&gw, "MQTT connected").await;

    let topic = format!("healthsphere/devices/{device}/vitals");
    for bad in [
        "not json",
        r#"[{"n":"spo3","v":97}]"#,
        r#"[{"n":"spo2","v":"97"}]"#,
    ] {
        assert!(publish(s.mqtt_port, &topic, 1, bad, Some(&device)));
    }
    assert!(publish(
        s.mqtt_port,
        &topic,
        1,
        r#"[{"n":"spo2","v":96}]"#,
        Some(&device)
    ));
    let rows = wait_rows(&db.client().await, &device, 1).await;
    assert_eq!(
        (rows.len(), rows[0].2),
        (1, 96.0),
        "only the good message is stored"
    );

    let metrics = s.http_get("/metrics");
    for kind in ["not_json", "unknown_metric", "wrong_type"] {
        let series = format!(
            r#"adapter_errors_total{{adapter="mqtt",device_id="{device}",kind="{kind}"}} 1"#
        );
        assert!(metrics.contains(&series), "{series} missing");
    }
    // One warning for the first, the rest counted silently.
    assert_eq!(gw.log_text().matches("MQTT payload refused").count(), 1);
    assert!(gw.terminate().await.success());
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_profile_on_reload_is_refused_and_the_running_devices_stay() {
    if !peers_ready(false) {
        return;
    }
    let Some(db) = TestDb::create("mqtt_reload").await else {
        return;
    };
    let s = Setup::new();
    let profiles = s.dir.path().join("profiles");
    std::fs::create_dir(&profiles).unwrap();
    std::fs::copy(
        shipped_profiles().join("senml-monitor.toml"),
        profiles.join("senml-monitor.toml"),
    )
    .unwrap();
    let device = unique("mon");
    let config = s.config(&db.url, true, &[(&device, "senml-monitor")], &profiles);
    let gw = Gateway::start(&config, &s.log());
    wait_for_log(&gw, "MQTT connected").await;

    std::fs::write(
        profiles.join("broken.toml"),
        "name = \"broken\"\nsilence_timeout_ms = 0\ncolour = 1\n",
    )
    .unwrap();
    gw.signal("HUP");
    wait_for_log(&gw, "Configuration reload refused").await;
    let log = gw.log_text();
    assert!(log.contains("broken.toml: colour: unknown key"), "{log}");

    let topic = format!("healthsphere/devices/{device}/vitals");
    assert!(publish(
        s.mqtt_port,
        &topic,
        1,
        r#"[{"n":"hr","v":61}]"#,
        Some(&device)
    ));
    let rows = wait_rows(&db.client().await, &device, 1).await;
    assert_eq!(rows[0].2, 61.0);
    assert!(gw.terminate().await.success());
    db.drop_db().await;
}
