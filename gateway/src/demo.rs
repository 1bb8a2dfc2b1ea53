//! Support for `gateway demo`: its database and its simulated Modbus, MQTT and
//! serial devices.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use firmware_adapters::modbus::sim::{serve_tcp, ModbusSim};
use firmware_adapters::mqtt::sim::{self as mqtt_sim, MqttSimConfig};
use firmware_adapters::profile::modbus::ModbusConnection;
use firmware_adapters::serial::sim::{self, SimConfig, SimScenario};
use firmware_adapters::sim::Scenario;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::NoTls;
use tracing::{info, warn};

use crate::config::{BrokerMode, GatewayConfig};

/// Creates the database named in `url` when it does not exist yet, by connecting
/// to the server's `postgres` database. Only the demo does this; a production
/// database is created by its administrator.
///
/// # Errors
///
/// When the server cannot be reached or the database cannot be created.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let mut config: tokio_postgres::Config = url.parse().context("parse the database URL")?;
    let name = config.get_dbname().unwrap_or("postgres").to_owned();
    config.dbname("postgres");
    let (client, conn) = config
        .connect(NoTls)
        .await
        .context("connect to the demo database server; is deploy/timescaledb.sh running?")?;
    tokio::spawn(conn);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .context("look up the demo database")?
        .is_some();
    if !exists {
        let quoted = name.replace('"', "\"\"");
        client
            .batch_execute(&format!("CREATE DATABASE \"{quoted}\""))
            .await
            .with_context(|| format!("create the demo database {name}"))?;
    }
    Ok(())
}

/// Serves the demo's Modbus devices from simulators: every `[[device]]` of the
/// demo configuration reached over Modbus TCP on a loopback address gets a
/// simulated unit following its profile, on a listener at that address. The
/// values drift slowly (a tick every second) until `shutdown`.
///
/// # Errors
///
/// When a listener cannot bind (another program holds the port).
pub async fn serve_modbus_devices(
    config: &GatewayConfig,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let mut servers: BTreeMap<(String, u16), ModbusSim> = BTreeMap::new();
    for (seed, d) in (1u64..).zip(&config.device) {
        let Some(ModbusConnection::Tcp(tcp)) = &d.modbus else {
            continue;
        };
        let Some(profile) = config
            .profile_set
            .get(&d.profile)
            .and_then(|p| p.modbus.clone())
        else {
            continue;
        };
        if !is_loopback(&tcp.host) {
            continue;
        }
        let sim = servers.entry((tcp.host.clone(), tcp.port)).or_default();
        sim.add_profile(tcp.unit_id, Arc::new(profile), seed);
    }
    let mut tasks = Vec::new();
    for ((host, port), sim) in servers {
        let listener = TcpListener::bind((host.as_str(), port))
            .await
            .with_context(|| format!("bind the simulated Modbus devices to {host}:{port}"))?;
        info!(%host, port, "Simulated Modbus devices listening");
        tasks.push(tokio::spawn(serve_tcp(
            listener,
            sim.clone(),
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(drift(sim, shutdown.clone())));
    }
    Ok(tasks)
}

/// Runs a simulated MQTT monitor for every `[[device]]` of the demo configuration
/// that publishes to the embedded broker, with the device's own credentials. The
/// monitors connect on their own once the gateway has started the broker.
///
/// # Errors
///
/// When the embedded broker's listen address has no port.
pub fn serve_mqtt_devices(
    config: &GatewayConfig,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let Some(mqtt) = config
        .mqtt
        .as_ref()
        .filter(|m| m.broker == BrokerMode::Embedded)
    else {
        return Ok(Vec::new());
    };
    let (host, port) = mqtt
        .listen
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
        .with_context(|| format!("mqtt.listen `{}` needs host:port", mqtt.listen))?;
    let mut tasks = Vec::new();
    for (seed, d) in (100u64..).zip(&config.device) {
        let (Some(conn), Some(profile)) = (
            &d.mqtt,
            config
                .profile_set
                .get(&d.profile)
                .and_then(|p| p.mqtt.as_ref()),
        ) else {
            continue;
        };
        let sim = MqttSimConfig {
            device_id: d.device_id.clone(),
            host: host.clone(),
            port,
            topic: profile.topic.replace("{device_id}", &d.device_id),
            credentials: Some((conn.username.clone(), conn.password.clone())),
            interval: Duration::from_secs(1),
            seed,
            scenario: Scenario::Stable,
            nibp_every_ticks: 300,
        };
        info!(device_id = %d.device_id, "Simulated MQTT monitor starting");
        tasks.push(tokio::spawn(mqtt_sim::run(sim, shutdown.clone())));
    }
    Ok(tasks)
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

async fn drift(sim: ModbusSim, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = ticker.tick() => sim.tick(),
            _ = shutdown.changed() => return,
        }
    }
}

/// Where the demo's serial devices live: a device whose `[device.serial]`
/// path starts here gets a pseudo-terminal pair from socat, the gateway on
/// `path` and a simulated device on `path` + [`DEVICE_END_SUFFIX`].
pub const DEMO_SERIAL_DIR: &str = ".demo/serial/";
/// The suffix of the simulated device's end of a demo serial line.
pub const DEVICE_END_SUFFIX: &str = "-device";

/// The demo's serial lines: socat processes, killed when this is dropped,
/// and the simulated devices' tasks.
#[derive(Debug, Default)]
pub struct SerialLines {
    socats: Vec<std::process::Child>,
    /// The simulated devices; they end with `shutdown` or their line.
    pub tasks: Vec<JoinHandle<()>>,
}

impl Drop for SerialLines {
    fn drop(&mut self) {
        for child in &mut self.socats {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Serves the demo's serial devices from simulators, each on a socat
/// pseudo-terminal pair (see [`DEMO_SERIAL_DIR`]). Without socat the devices
/// stay silent and the gateway shows them backing off; the rest of the demo
/// runs as usual.
pub fn serve_serial_devices(
    config: &GatewayConfig,
    shutdown: &watch::Receiver<bool>,
) -> SerialLines {
    let mut lines = SerialLines::default();
    for (seed, d) in (1u64..).zip(&config.device) {
        let Some(serial) = d
            .serial
            .as_ref()
            .filter(|s| s.path.starts_with(DEMO_SERIAL_DIR))
        else {
            continue;
        };
        let Some(profile) = config
            .profile_set
            .get(&d.profile)
            .and_then(|p| p.serial.clone())
        else {
            continue;
        };
        let device_end = format!("{}{DEVICE_END_SUFFIX}", serial.path);
        match start_socat(&device_end, &serial.path) {
            Ok(child) => lines.socats.push(child),
            Err(e) => {
                warn!(device_id = %d.device_id, error = %e,
                    "No pseudo-terminal for the demo's serial device (is socat installed?)");
                continue;
            }
        }
        let port = match sim::open(&device_end, &profile) {
            Ok(port) => port,
            Err(e) => {
                warn!(device_id = %d.device_id, error = %e, "Demo serial device not started");
                continue;
            }
        };
        let mut config = SimConfig::new(SimScenario::Normal);
        config.seed = seed;
        let model = sim::model_for(&profile);
        let shutdown = shutdown.clone();
        let device_id = d.device_id.clone();
        lines.tasks.push(tokio::spawn(async move {
            if let Err(e) = sim::serve(port, model, config, shutdown).await {
                warn!(%device_id, error = %e, "Demo serial device stopped");
            }
        }));
        info!(device_id = %d.device_id, port = %serial.path, "Simulated serial device on a pseudo-terminal");
    }
    lines
}

/// Starts `socat` with a linked pty pair and waits until it moves data.
fn start_socat(device_end: &str, gateway_end: &str) -> std::io::Result<std::process::Child> {
    use std::io::BufRead as _;
    if let Some(dir) = std::path::Path::new(gateway_end).parent() {
        std::fs::create_dir_all(dir)?;
    }
    let address = |p: &str| format!("pty,raw,echo=0,link={p}");
    let mut child = std::process::Command::new("socat")
        .args(["-d", "-d", &address(device_end), &address(gateway_end)])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| std::io::Error::other("no stderr"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    // Drained to the end, so socat never writes into a closed pipe.
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("starting data transfer loop") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(5)).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        return Err(std::io::Error::other(
            "socat did not start its transfer loop",
        ));
    }
    Ok(child)
}
