//! Support for `gateway demo`: its database and its simulated Modbus devices.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use firmware_adapters::modbus::sim::{serve_tcp, ModbusSim};
use firmware_adapters::profile::modbus::ModbusConnection;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::NoTls;
use tracing::info;

use crate::config::GatewayConfig;

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
