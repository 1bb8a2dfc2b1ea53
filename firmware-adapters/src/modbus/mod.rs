//! Modbus devices: register maps into readings, and the tasks that poll devices
//! over Modbus TCP and Modbus RTU (serial, usually RS-485).
//!
//! In hospitals Modbus lives on the infrastructure around the ward: vaccine and
//! medication refrigerators, medical-gas alarm panels, environment sensors. Their
//! values arrive as readings of the vocabulary's metrics (a refrigerator's
//! cabinet temperature is `fridge_temperature`) or, when they are not vitals (a
//! door contact, alarm bits, a gas line pressure), as statuses on a
//! [`StatusBoard`].
//!
//! # Links and polling
//!
//! [`spawn`] starts one task per *link*: every RTU device on one serial `path`
//! shares one port and one task, and so does every TCP device behind one
//! `host:port` (a TCP-to-RTU gateway serving several unit ids). A task polls its
//! devices in turn, each on its own `poll_interval_ms`, every call under the
//! profile's `timeout_ms` (tokio-modbus has no timeout of its own). On a timeout
//! or a transport error the link is dropped and reopened; the device that failed
//! backs off exponentially (`backoff_initial_ms` to `backoff_max_ms`) while the
//! others on the link keep their rate. A Modbus exception is the device's answer,
//! not a link failure: it is counted (`exception`) with the refused range as the
//! health's last error, logged, and the connection is kept. Health per device: `connecting`, `connected`,
//! `backing_off`; errors counted by kind (`timeout`, `connect`, `io`, `protocol`,
//! `exception`, `decode`, `refused`).
//!
//! Readings carry no device time (Modbus has none) and are delivered with the
//! gateway's receive time, one batch per poll.
//!
//! # Limitations
//!
//! - Read only: function codes 1 to 4. No writes (set points, alarm
//!   acknowledgement) and no Modbus ASCII (some lab freezers speak only ASCII).
//! - One request at a time per link, as RS-485 requires; on TCP, transactions are
//!   not pipelined either. A link's devices must fit their polls, one round trip
//!   per read request, into their intervals. When they do not, each device
//!   skips the polls that fell behind and stays on its own interval grid.
//! - No turnaround delay between a response and the next request on an RTU bus;
//!   a device that needs silence longer than 3.5 characters between frames will
//!   time out.
//! - A merged read that spans a register the device does not implement is
//!   refused as a whole (exception 0x02); set `max_gap_addresses = 0` for such
//!   devices.
//! - RS-485 adapters that echo what they send are not supported: the echo would
//!   be taken for a malformed answer and the port reopened on every poll.
//!
//! # Layout
//!
//! - [`mapping`]: registers and bits into typed, scaled values (pure).
//! - [`plan`]: merging a register map into few read requests (pure).
//! - [`status`]: the status board.
//! - [`error`]: link, decode and configuration errors.
//! - [`sim`]: simulated Modbus devices (TCP and RTU servers) for demos and tests.
//! - `link`, `poller`, `bus`: the connection, per-device and per-link loops.

mod bus;
pub mod error;
mod link;
pub mod mapping;
pub mod plan;
mod poller;
pub mod sim;
pub mod status;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument as _;

pub use error::{ConfigError, DecodeError, ExceptionCode, LinkError};
pub use link::{ReadResult, Response};
pub use status::{StatusBoard, StatusData, StatusMap, StatusValue};

use crate::backoff::Backoff;
use crate::check::Problem;
use crate::health::{AdapterHealth, AdapterMetrics, HealthRegistry};
use crate::profile::modbus::{ModbusConnection, ModbusProfile, RtuConnection};
use crate::profile::{DeviceConfig, Profile};
use crate::sink::{DeviceRef, ReadingSink};
use link::{RtuConnector, TcpConnector};
use poller::Poller;

/// One Modbus device to poll.
#[derive(Debug, Clone)]
pub struct ModbusDevice {
    /// Who it is and where.
    pub device: DeviceRef,
    /// Its profile's `[modbus]` section.
    pub profile: Arc<ModbusProfile>,
    /// How it is reached.
    pub connection: ModbusConnection,
    /// Its health handle; create it with [`adapter_kind`] as the adapter label.
    pub health: AdapterHealth,
}

impl ModbusDevice {
    /// The device of a configuration entry, with its health handle registered
    /// in `registry`; `None` when the entry or its profile is not Modbus.
    pub fn from_config(
        config: &DeviceConfig,
        profile: &Profile,
        metrics: &AdapterMetrics,
        registry: &HealthRegistry,
    ) -> Option<Self> {
        let (connection, modbus) = (config.modbus.clone()?, profile.modbus.clone()?);
        let kind = adapter_kind(&connection);
        let health = AdapterHealth::new(kind, &config.device_id, metrics.clone(), registry.clone());
        Some(Self {
            device: DeviceRef::new(&config.device_id, &config.bed_id),
            profile: Arc::new(modbus),
            connection,
            health,
        })
    }
}

/// The health registry's adapter label: `modbus_tcp` or `modbus_rtu`.
pub fn adapter_kind(connection: &ModbusConnection) -> &'static str {
    match connection {
        ModbusConnection::Tcp(_) => "modbus_tcp",
        ModbusConnection::Rtu(_) => "modbus_rtu",
    }
}

/// Starts one polling task per link; each stops when `shutdown` turns true.
///
/// # Errors
///
/// When devices sharing a serial port disagree on its settings, two devices on
/// one link share a unit id, or a profile's backoff settings are inconsistent.
pub fn spawn<S: ReadingSink>(
    devices: Vec<ModbusDevice>,
    sink: Arc<S>,
    status: StatusBoard,
    shutdown: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, ConfigError> {
    if let Some((_, e)) = conflicts(
        devices
            .iter()
            .map(|d| (&*d.device.device_id, &d.connection)),
    )
    .into_iter()
    .next()
    {
        return Err(e);
    }
    let mut links: BTreeMap<String, Vec<ModbusDevice>> = BTreeMap::new();
    for d in devices {
        links.entry(link_key(&d.connection)).or_default().push(d);
    }
    let now = Instant::now();
    let mut tasks = Vec::new();
    for (target, devices) in links {
        let link_backoff = link_backoff(&devices);
        let connection = devices[0].connection.clone();
        let pollers = devices
            .into_iter()
            .map(|d| {
                let p = &d.profile;
                let backoff = backoff(p, &d.device.device_id)?;
                Ok(Poller::new(d, backoff, now))
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        let span =
            tracing::info_span!("modbus_link", link = %target, adapter = adapter_kind(&connection));
        let (sink, status, shutdown) = (sink.clone(), status.clone(), shutdown.clone());
        let task = match connection {
            ModbusConnection::Tcp(c) => {
                let connector = TcpConnector::new(&c.host, c.port);
                tokio::spawn(
                    bus::run(connector, pollers, link_backoff, sink, status, shutdown)
                        .instrument(span),
                )
            }
            ModbusConnection::Rtu(c) => {
                let connector = RtuConnector::new(c);
                tokio::spawn(
                    bus::run(connector, pollers, link_backoff, sink, status, shutdown)
                        .instrument(span),
                )
            }
        };
        tasks.push(task);
    }
    Ok(tasks)
}

fn backoff(p: &ModbusProfile, device_id: &str) -> Result<Backoff, ConfigError> {
    let (initial, max) = (
        Duration::from_millis(p.backoff_initial_ms),
        Duration::from_millis(p.backoff_max_ms),
    );
    Backoff::new(initial, max).map_err(|source| ConfigError::Backoff {
        device_id: device_id.to_owned(),
        source,
    })
}

/// The link retries as fast as its most eager device and as slowly as its most
/// patient one.
fn link_backoff(devices: &[ModbusDevice]) -> Backoff {
    let initial = devices
        .iter()
        .map(|d| d.profile.backoff_initial_ms)
        .min()
        .unwrap_or(1_000)
        .max(1);
    let max = devices
        .iter()
        .map(|d| d.profile.backoff_max_ms)
        .max()
        .unwrap_or(60_000)
        .max(initial);
    Backoff::new(Duration::from_millis(initial), Duration::from_millis(max))
        .expect("initial is at least 1 and at most max by construction")
}

/// Devices with the same key share a link.
fn link_key(connection: &ModbusConnection) -> String {
    match connection {
        ModbusConnection::Tcp(c) => format!("{}:{}", c.host, c.port),
        ModbusConnection::Rtu(c) => c.path.clone(),
    }
}

/// Checks that devices sharing a link can share it: the same serial settings on
/// one port, distinct unit ids. Paths are `device[i].modbus` of the later device.
pub fn check_shared_links(devices: &[DeviceConfig]) -> Vec<Problem> {
    let indexed: Vec<(usize, &DeviceConfig, &ModbusConnection)> = devices
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.modbus.as_ref().map(|c| (i, d, c)))
        .collect();
    conflicts(indexed.iter().map(|(_, d, c)| (d.device_id.as_str(), *c)))
        .into_iter()
        .map(|(k, e)| Problem::new(format!("device[{}].modbus", indexed[k].0), e.to_string()))
        .collect()
}

/// Conflicts between devices on one link, with the index of the later device.
fn conflicts<'a>(
    devices: impl Iterator<Item = (&'a str, &'a ModbusConnection)>,
) -> Vec<(usize, ConfigError)> {
    struct Seen<'a> {
        first: &'a str,
        serial: Option<&'a RtuConnection>,
        units: BTreeMap<u8, &'a str>,
    }
    let mut links: BTreeMap<String, Seen<'a>> = BTreeMap::new();
    let mut found = Vec::new();
    for (k, (id, c)) in devices.enumerate() {
        let target = link_key(c);
        let serial = match c {
            ModbusConnection::Rtu(r) => Some(r),
            ModbusConnection::Tcp(_) => None,
        };
        let seen = links.entry(target.clone()).or_insert_with(|| Seen {
            first: id,
            serial,
            units: BTreeMap::new(),
        });
        if let (Some(a), Some(b)) = (seen.serial, serial) {
            let same = (a.baud_rate, a.data_bits, a.parity, a.stop_bits)
                == (b.baud_rate, b.data_bits, b.parity, b.stop_bits);
            if !same {
                let e = ConfigError::SerialSettings {
                    path: target.clone(),
                    first: seen.first.into(),
                    second: id.into(),
                };
                found.push((k, e));
            }
        }
        if let Some(first) = seen.units.insert(c.unit_id(), id) {
            let e = ConfigError::DuplicateUnit {
                target,
                unit_id: c.unit_id(),
                first: first.into(),
                second: id.into(),
            };
            found.push((k, e));
        }
    }
    found
}

#[cfg(test)]
mod tests;
