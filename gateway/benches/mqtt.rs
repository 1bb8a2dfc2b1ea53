//! MQTT intake benchmark: readings per second through the embedded broker into
//! the spool, beside the same readings fed straight into the collector, in one run.
//!
//! ```text
//! cargo bench -p gateway --bench mqtt            # 200,000 readings
//! cargo bench -p gateway --bench mqtt -- 500000
//! ```
//!
//! Both paths append to a spool with fdatasync per append and no database (the
//! database path has its own benchmark in the collector). Readings travel as
//! SenML packs of 100 records:
//! - direct: each pack's readings go to `Ingest::accept`, one call per pack;
//! - MQTT: a rumqttc client publishes the packs at QoS 1 to the embedded rumqttd;
//!   the gateway's MQTT session decodes them, appends them and only then
//!   acknowledges each message.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use collector::normalize::ClockPolicy;
use collector::{CollectorMetrics, Ingest, Normalizer, Origin, SiteSink, Spool, SpoolConfig};
use firmware_adapters::health::{AdapterHealth, AdapterMetrics, HealthRegistry};
use firmware_adapters::mqtt::session::{self, MqttDevice, SessionConfig};
use firmware_adapters::sink::DeviceRef;
use firmware_adapters::{Metric, Reading};
use gateway::broker::{EmbeddedBroker, INTERNAL_USER};
use gateway::config;
use rumqttc::{AsyncClient, MqttOptions, QoS};

const PACK: usize = 100;
const DEVICE: &str = "bench-monitor";
const PASSWORD: &str = "benchmark-password";

#[expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let packs = n / PACK;
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let direct = runtime.block_on(direct(packs));
    let mqtt = runtime.block_on(mqtt(packs));
    let total = packs * PACK;
    println!(
        "MQTT intake benchmark: {total} readings in SenML packs of {PACK}, spool with fdatasync"
    );
    println!("direct into the collector:  {direct:>10.0} readings/s");
    println!("through the embedded broker: {mqtt:>9.0} readings/s");
    println!("ratio MQTT / direct:         {:.2}", mqtt / direct);
}

fn ingest(dir: &Path) -> Ingest {
    let config = SpoolConfig {
        dir: dir.to_owned(),
        max_bytes: 4 << 30,
        segment_bytes: 16 << 20,
        fsync: true,
    };
    let spool = Arc::new(Spool::open(config).expect("open spool").0);
    Ingest::new(
        spool,
        Normalizer::new(ClockPolicy::default()),
        CollectorMetrics::unregistered(),
        16,
    )
}

const NAMES: [(&str, Metric); 4] = [
    ("hr", Metric::HeartRate),
    ("spo2", Metric::Spo2),
    ("rr", Metric::RespiratoryRate),
    ("pr", Metric::PulseRate),
];

fn pack_readings(k: usize, now: SystemTime) -> Vec<Reading> {
    (0..PACK)
        .map(|i| {
            let (_, metric) = NAMES[i % NAMES.len()];
            Reading::new(metric, 60.0 + ((k + i) % 30) as f64).at(now)
        })
        .collect()
}

fn pack_json(k: usize) -> String {
    let records: Vec<String> = (0..PACK)
        .map(|i| {
            let (name, _) = NAMES[i % NAMES.len()];
            let v = 60 + (k + i) % 30;
            format!(r#"{{"n":"{name}","v":{v},"t":-{}}}"#, i / NAMES.len())
        })
        .collect();
    format!("[{}]", records.join(","))
}

async fn direct(packs: usize) -> f64 {
    let dir = tempfile::tempdir().expect("spool directory");
    let ingest = ingest(dir.path());
    let origin = Origin::new("bench", "bed-1", DEVICE);
    let started = Instant::now();
    for k in 0..packs {
        let now = SystemTime::now();
        ingest
            .accept(&origin, &pack_readings(k, now), now)
            .await
            .expect("accept");
    }
    (packs * PACK) as f64 / started.elapsed().as_secs_f64()
}

async fn mqtt(packs: usize) -> f64 {
    let dir = tempfile::tempdir().expect("spool directory");
    let ingest = ingest(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let profiles = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/profiles");
    let text = format!(
        "[site]\ntenant_id = \"bench\"\nward_id = \"bench\"\n[spool]\ndir = \"{}\"\n\
         [profiles]\ndirs = [\"{}\"]\n\
         [mqtt]\nbroker = \"embedded\"\nlisten = \"127.0.0.1:{port}\"\n\
         [[device]]\ndevice_id = \"{DEVICE}\"\nbed_id = \"bed-1\"\nprofile = \"senml-monitor\"\n\
         [device.mqtt]\nusername = \"{DEVICE}\"\npassword = \"{PASSWORD}\"\n",
        dir.path().display(),
        profiles.display()
    );
    let config = config::load_str(&text, Path::new("bench.toml"), |_| None).expect("bench config");
    let section = config.mqtt.clone().expect("mqtt section");
    let broker = EmbeddedBroker::start(&section, &config).expect("embedded broker");

    let profile = config
        .profile_set
        .get("senml-monitor")
        .expect("shipped profile");
    let registry = HealthRegistry::default();
    let device = MqttDevice {
        device: DeviceRef::new(DEVICE, "bed-1"),
        profile: Arc::new(profile.mqtt.clone().expect("an MQTT profile")),
        health: AdapterHealth::new("mqtt", DEVICE, AdapterMetrics::unregistered(), registry),
    };
    let session_config = SessionConfig {
        host: "127.0.0.1".to_owned(),
        port: broker.internal_addr.port(),
        client_id: "bench-gateway".to_owned(),
        credentials: Some((INTERNAL_USER.to_owned(), broker.internal_password.clone())),
        keep_alive: Duration::from_secs(30),
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(200),
    };
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let sink = Arc::new(SiteSink::new(ingest.clone(), "bench"));
    tokio::spawn(session::run(session_config, vec![device], sink, stopped));

    // Wait until the session is subscribed: a probe pack must arrive.
    let spool = Arc::clone(ingest.spool());
    let publisher = publisher(port).await;
    let topic = format!("healthsphere/devices/{DEVICE}/vitals");
    while spool.stats().next_seq == 0 {
        publisher
            .publish(&topic, QoS::AtLeastOnce, false, pack_json(0))
            .await
            .expect("publish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = spool.stats().next_seq;
    let target = base + (packs * PACK) as u64;

    let started = Instant::now();
    for k in 0..packs {
        publisher
            .publish(&topic, QoS::AtLeastOnce, false, pack_json(k))
            .await
            .expect("publish");
    }
    let mut appended = spool.subscribe();
    appended
        .wait_for(|&n| n >= target)
        .await
        .expect("spool alive");
    (packs * PACK) as f64 / started.elapsed().as_secs_f64()
}

async fn publisher(port: u16) -> AsyncClient {
    let mut options = MqttOptions::new("bench-device", "127.0.0.1", port);
    options.set_credentials(DEVICE, PASSWORD);
    options.set_max_packet_size(1 << 20, 1 << 20);
    options.set_inflight(100);
    let (client, mut eventloop) = AsyncClient::new(options, 1_024);
    tokio::spawn(async move {
        loop {
            if eventloop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    client
}
