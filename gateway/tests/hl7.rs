//! HL7 v2 over MLLP end to end: hl7apy builds PCD-01 messages, python-hl7's
//! MLLPClient sends them to the real gateway binary on one connection, and the
//! readings land in TimescaleDB with the right metric, unit, bed and time; each
//! ACK is checked as python-hl7 parses it.

mod support;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use firmware_adapters::protocols::hl7::Hl7Time;
use healthsphere_tests::{wait_until, TestDb};
use serde_json::{json, Value};
use support::Gateway;
use tokio_postgres::Client;

const EUI: &str = "0012AB00FFFE0001";
const STRANGER: &str = "0012AB00FFFE00FF";

#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn peers_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import hl7.client, hl7apy"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let required = std::env::var("HEALTHSPHERE_REQUIRE_PEERS").is_ok_and(|v| v == "1");
        assert!(!required, "test peers missing: python-hl7 or hl7apy");
        eprintln!("SKIPPED: python-hl7 or hl7apy not installed");
    }
    ok
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends `spec` with the peer; one parsed ACK per message.
fn send(port: u16, spec: &Value) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/hl7_send.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["127.0.0.1", &port.to_string(), &spec.to_string()])
        .output()
        .expect("run the python-hl7 sender");
    assert!(
        out.status.success(),
        "sender failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON line per ACK"))
        .collect()
}

struct Setup {
    dir: tempfile::TempDir,
    api_port: u16,
    hl7_port: u16,
}

impl Setup {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            api_port: free_port(),
            hl7_port: free_port(),
        }
    }

    fn config(&self, db_url: &str, device: &str, bed: &str) -> PathBuf {
        let text = format!(
            "[site]\ntenant_id = \"it-site\"\nward_id = \"ward-hl7\"\n\n\
             [spool]\ndir = \"{spool}\"\nmax_bytes = 67108864\nsegment_bytes = 1048576\n\n\
             [database]\nurl = \"{db_url}\"\nbatch_max_wait_ms = 20\nretry_initial_ms = 50\n\n\
             [api]\nlisten = \"127.0.0.1:{api}\"\n\n\
             [hl7]\nlisten = \"127.0.0.1:{hl7}\"\nmax_message_bytes = 65536\n\n\
             [[hl7.device]]\ndevice_id = \"{device}\"\neui64 = \"{EUI}\"\n\n\
             [[hl7.bed]]\nlocation = \"ICU|3^301^3\"\nbed_id = \"{bed}\"\n",
            spool = self.dir.path().join("spool").display(),
            api = self.api_port,
            hl7 = self.hl7_port,
        );
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

type Row = (String, String, f64, SystemTime, i16);

async fn rows_of(client: &Client, device: &str) -> Vec<Row> {
    let rows = client
        .query(
            "SELECT bed_id, metric, value, time, quality FROM vitals \
             WHERE device_id = $1 ORDER BY time, metric",
            &[&device],
        )
        .await
        .unwrap_or_default();
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}

fn obx(code: &str, value: &str, unit: &str, status: &str) -> Value {
    json!({"type": "NM", "code": code, "value": value, "unit": unit, "status": status})
}

const HR: &str = "147842^MDC_ECG_HEART_RATE^MDC";
const BPM: &str = "264864^MDC_DIM_BEAT_PER_MIN^MDC";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcd01_messages_land_in_timescaledb_and_every_message_gets_its_ack() {
    if !peers_ready() {
        return;
    }
    let Some(db) = TestDb::create("hl7_end_to_end").await else {
        return;
    };
    let s = Setup::new();
    let device = format!("b40-{}", std::process::id());
    let bed = format!("bed-3-{}", std::process::id());
    let gw = Gateway::start(
        &s.config(&db.url, &device, &bed),
        &s.dir.path().join("gw.log"),
    );
    wait_until("the HL7 listener", Duration::from_secs(30), || {
        let up = TcpStream::connect(("127.0.0.1", s.hl7_port)).is_ok();
        async move { up }
    })
    .await;

    // Whole seconds, a little in the past: the collector trusts such device times.
    let now = SystemTime::now() - Duration::from_secs(30);
    let t1 = SystemTime::UNIX_EPOCH
        + Duration::from_secs(
            now.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        );
    let t2 = t1 + Duration::from_secs(5);
    let stamp = |t| Hl7Time::utc(t).to_string();
    let oru = |id: &str, eui: &str, t: SystemTime, obx: Vec<Value>| json!({"control_id": id, "eui64": eui, "pv1": "ICU|3^301^3", "time": stamp(t), "obx": obx});
    let first = vec![
        obx(HR, "80", BPM, "R"),
        obx("0002-4bb8^SpO2^MDIL", "97", "0004-0220^%^MDIL", "R"),
        obx(
            "150364^MDC_TEMP_BODY^MDC",
            "98.6",
            "266560^MDC_DIM_FAHR^MDC",
            "F",
        ),
        obx(
            "150021^MDC_PRESS_BLD_NONINV_SYS^MDC",
            "",
            "266016^MDC_DIM_MMHG^MDC",
            "X",
        ),
        obx(
            "151562^MDC_RESP_RATE^MDC",
            "3",
            "264928^MDC_DIM_RESP_PER_MIN^MDC",
            "X",
        ),
    ];
    let t3 = t2 + Duration::from_secs(1);
    let spec = json!([
        oru("C1", EUI, t1, first.clone()),
        oru("C2", EUI, t2, vec![
            obx("150456^MDC_PULS_OXIM_SAT_O2^MDC", "9O", "262688^MDC_DIM_PERCENT^MDC", "R"),
            obx("151562^MDC_RESP_RATE^MDC", "16", "264928^MDC_DIM_RESP_PER_MIN^MDC", "R"),
        ]),
        {"type": "ADT_A01", "control_id": "C3", "eui64": EUI, "time": stamp(t2)},
        oru("C4", STRANGER, t2, vec![obx(HR, "99", BPM, "R")]),
        oru("C5", EUI, t2, vec![obx(HR, "81", BPM, "R")]),
        // A sender that lost our ACK sends again: stored once.
        oru("C1", EUI, t1, first),
        oru("C6", EUI, t3, vec![obx(HR, "82", BPM, "R")]),
    ]);
    let acks = send(s.hl7_port, &spec);
    let codes: Vec<(&str, &str)> = acks
        .iter()
        .map(|a| (a["msa1"].as_str().unwrap(), a["msa2"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            ("AA", "C1"),
            ("AE", "C2"),
            ("AR", "C3"),
            ("AE", "C4"),
            ("AA", "C5"),
            ("AA", "C1"),
            ("AA", "C6")
        ],
        "{acks:#?}"
    );
    assert!(
        acks[0]["sent"].as_str().unwrap().contains("ICU\\F\\3"),
        "escaped by hl7apy"
    );
    let err = |i: usize| acks[i]["err"].as_str().unwrap().to_owned();
    assert!(err(1).contains("OBX[2]-5"), "{}", err(1));
    assert!(err(2).contains("ADT"), "{}", err(2));
    assert!(err(3).contains(STRANGER), "{}", err(3));

    let client = db.client().await;
    // The spool is written in order: C6's row landing means the resend did too.
    wait_until("rows to land", Duration::from_secs(30), || async {
        rows_of(&client, &device).await.iter().any(|r| r.2 == 82.0)
    })
    .await;
    let rows = rows_of(&client, &device).await;
    let got: Vec<(&str, &str, f64, SystemTime, i16)> = rows
        .iter()
        .map(|r| {
            (
                r.0.as_str(),
                r.1.as_str(),
                (r.2 * 100.0).round() / 100.0,
                r.3,
                r.4,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (bed.as_str(), "body_temperature", 37.0, t1, 0),
            (bed.as_str(), "heart_rate", 80.0, t1, 0),
            (bed.as_str(), "respiratory_rate", 3.0, t1, 1),
            (bed.as_str(), "spo2", 97.0, t1, 0),
            (bed.as_str(), "heart_rate", 81.0, t2, 0),
            (bed.as_str(), "respiratory_rate", 16.0, t2, 0),
            (bed.as_str(), "heart_rate", 82.0, t3, 0),
        ]
    );
    let strangers: i64 = client
        .query_one("SELECT count(*) FROM vitals WHERE value = 99", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(strangers, 0, "nothing of a refused message is stored");

    let metrics = s.http_get("/metrics");
    for kind in ["bad_observation", "unsupported", "unknown_device"] {
        let series = format!(
            r#"adapter_errors_total{{adapter="hl7",device_id="hl7-listener",kind="{kind}"}} 1"#
        );
        assert!(metrics.contains(&series), "{series} missing:\n{metrics}");
    }
    // Delivered readings, the resend included; the database holds each once.
    let series = format!(r#"adapter_readings_total{{adapter="hl7",device_id="{device}"}} 11"#);
    assert!(metrics.contains(&series), "{series} missing");
    let health = s.http_get("/devices/health");
    let entry = format!(r#""{device}":{{"adapter":"hl7","state":"connected""#);
    assert!(health.contains(&entry), "{entry} missing:\n{health}");
    assert!(gw.terminate().await.success());
    db.drop_db().await;
}
