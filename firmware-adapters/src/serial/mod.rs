//! Bedside devices on serial lines: Nonin, Masimo ASCII 1, GE Datex S/5,
//! Dräger Medibus and Philips IntelliVue (MIB/RS-232), each as a session
//! driver over a serial port.
//!
//! One task per device (serial bedside devices are point to point): it opens
//! the port with the profile's line settings, runs the protocol's session on
//! it, and delivers one batch of readings per decoded frame, packet or poll
//! result with the gateway's receive time (none of these protocols carries a
//! usable device time; see each codec). The loop, its watchdog and its reopen
//! backoff are described in `run`; the sessions in their modules.
//!
//! Health per device (adapter `serial_nonin`, `serial_masimo`,
//! `serial_datex`, `serial_medibus`, `serial_intellivue`): `connecting`,
//! `connected`, `backing_off`; errors counted by kind: `open` (the port cannot
//! be opened), `port_lost` (the open port failed or ended: unplugged),
//! `silence` (the watchdog fired and the protocol was started again), `noise`
//! (bytes skipped while resynchronising, bad checksums), `decode` (a frame
//! that arrived whole but does not decode), `format_refused` (Nonin NAK),
//! `association_refused` and `association_lost` (IntelliVue), `encode`, and
//! `refused` (the collector did not take the readings).
//!
//! Values the vocabulary has no metric for (Masimo SpCO, Datex ST levels,
//! Medibus ventilation values and unknown codes, IntelliVue physio ids
//! outside the mapping, Nonin status bits) are not
//! dropped: they go on the [`StatusBoard`] under the device's id, keyed by
//! their protocol code, and their changes are logged at DEBUG.
//!
//! # Limitations
//!
//! - Philips IntelliVue: the association request body is not laid out in
//!   the sources the codec was built from; see the limitation in
//!   `intellivue` and the profile key `intellivue_association_hex`.
//! - One device per port: two devices naming one path are refused by
//!   [`check_ports`].
//! - Port settings apply when the port opens; a USB-serial adapter that
//!   comes back under another name is found only through a stable path
//!   (`/dev/serial/by-id/...`).
//!
//! # Layout
//!
//! - `session`: the pure protocol state machine trait.
//! - `run`: the port loop (watchdog, reopen with backoff).
//! - `nonin`, `masimo`, `datex`, `medibus`, `intellivue`: the sessions.
//! - [`sim`]: device-side simulators speaking the real bytes.

mod datex;
mod intellivue;
mod masimo;
mod medibus;
mod nonin;
mod run;
mod session;
pub mod sim;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_serial::{SerialPortBuilderExt as _, SerialStream};
use tracing::Instrument as _;

pub use intellivue::{default_association_body, EVENT_MDS_CREATE};
pub use nonin::select_format;

use crate::backoff::Backoff;
use crate::check::Problem;
use crate::health::{AdapterHealth, AdapterMetrics, HealthRegistry};
use crate::modbus::StatusBoard;
use crate::profile::modbus::ModbusConnection;
use crate::profile::serial::{
    FlowControl, Parity, SerialConnection, SerialProfile, SerialProtocol, DEFAULT_DATEX_INTERVAL_S,
    DEFAULT_MEDIBUS_POLL_MS,
};
use crate::profile::{DeviceConfig, Profile};
use crate::protocols::nonin::DataFormat;
use crate::sink::{DeviceRef, ReadingSink};
use run::{Context, Opener};
use session::{half, Session};

/// One serial device.
#[derive(Debug, Clone)]
pub struct SerialDevice {
    /// Who it is and where.
    pub device: DeviceRef,
    /// Its profile's `[serial]` section.
    pub profile: Arc<SerialProfile>,
    /// Its port.
    pub connection: SerialConnection,
    /// Its health handle, labelled with the protocol's adapter kind.
    pub health: AdapterHealth,
}

impl SerialDevice {
    /// The device of a configuration entry, with its health handle registered
    /// in `registry`; `None` when the entry or its profile is not serial.
    pub fn from_config(
        config: &DeviceConfig,
        profile: &Profile,
        metrics: &AdapterMetrics,
        registry: &HealthRegistry,
    ) -> Option<Self> {
        let (connection, serial) = (config.serial.clone()?, profile.serial.clone()?);
        let kind = serial.protocol.adapter_kind();
        let health = AdapterHealth::new(kind, &config.device_id, metrics.clone(), registry.clone());
        Some(Self {
            device: DeviceRef::new(&config.device_id, &config.bed_id),
            profile: Arc::new(serial),
            connection,
            health,
        })
    }
}

/// Opens a serial port with a profile's line settings.
#[derive(Debug, Clone)]
pub(crate) struct PortOpener {
    path: String,
    profile: Arc<SerialProfile>,
}

impl Opener for PortOpener {
    type Port = SerialStream;

    fn open(&self) -> std::io::Result<SerialStream> {
        Ok(builder(&self.path, &self.profile).open_native_async()?)
    }

    fn target(&self) -> &str {
        &self.path
    }
}

/// A tokio-serial builder for `path` with the profile's line settings.
pub(crate) fn builder(path: &str, p: &SerialProfile) -> tokio_serial::SerialPortBuilder {
    let data_bits = match p.data_bits {
        5 => tokio_serial::DataBits::Five,
        6 => tokio_serial::DataBits::Six,
        7 => tokio_serial::DataBits::Seven,
        _ => tokio_serial::DataBits::Eight,
    };
    let parity = match p.parity {
        Parity::None => tokio_serial::Parity::None,
        Parity::Even => tokio_serial::Parity::Even,
        Parity::Odd => tokio_serial::Parity::Odd,
    };
    let stop_bits = if p.stop_bits == 2 {
        tokio_serial::StopBits::Two
    } else {
        tokio_serial::StopBits::One
    };
    let flow = match p.flow_control {
        FlowControl::None => tokio_serial::FlowControl::None,
        FlowControl::Hardware => tokio_serial::FlowControl::Hardware,
        FlowControl::Software => tokio_serial::FlowControl::Software,
    };
    tokio_serial::new(path, p.baud_rate)
        .data_bits(data_bits)
        .parity(parity)
        .stop_bits(stop_bits)
        .flow_control(flow)
}

/// The session a profile asks for.
fn session(p: &SerialProfile) -> Box<dyn Session> {
    let watchdog = Duration::from_millis(p.watchdog_ms);
    match p.protocol {
        SerialProtocol::Nonin => {
            let format = match p.nonin_format {
                Some(2) => DataFormat::Format2,
                Some(7) => DataFormat::Format7,
                _ => DataFormat::Format8,
            };
            Box::new(nonin::NoninSession::new(format))
        }
        SerialProtocol::Masimo => Box::<masimo::MasimoSession>::default(),
        SerialProtocol::Datex => Box::new(datex::DatexSession::new(
            p.datex_interval_s.unwrap_or(DEFAULT_DATEX_INTERVAL_S),
            p.datex_dri_level.unwrap_or(0),
        )),
        SerialProtocol::Medibus => Box::new(medibus::MedibusSession::new(
            Duration::from_millis(p.poll_interval_ms.unwrap_or(DEFAULT_MEDIBUS_POLL_MS)),
            half(watchdog),
        )),
        SerialProtocol::Intellivue => Box::new(intellivue::IntellivueSession::new(
            p.intellivue_association()
                .unwrap_or_else(intellivue::default_association_body),
            Duration::from_millis(p.poll_interval_ms.unwrap_or(DEFAULT_MEDIBUS_POLL_MS)),
            half(watchdog),
        )),
    }
}

impl Session for Box<dyn Session> {
    fn start(&mut self, now: tokio::time::Instant, out: &mut session::Output) {
        (**self).start(now, out);
    }
    fn receive(&mut self, bytes: &[u8], now: tokio::time::Instant, out: &mut session::Output) {
        (**self).receive(bytes, now, out);
    }
    fn next_tick(&self) -> Option<tokio::time::Instant> {
        (**self).next_tick()
    }
    fn tick(&mut self, now: tokio::time::Instant, out: &mut session::Output) {
        (**self).tick(now, out);
    }
}

/// Starts one task per device; each stops when `shutdown` turns true.
pub fn spawn<S: ReadingSink>(
    devices: Vec<SerialDevice>,
    sink: Arc<S>,
    status: StatusBoard,
    shutdown: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    devices
        .into_iter()
        .map(|d| {
            let p = d.profile.clone();
            let backoff = Backoff::new(
                Duration::from_millis(p.reopen_initial_ms.max(1)),
                Duration::from_millis(p.reopen_max_ms.max(p.reopen_initial_ms.max(1))),
            )
            .expect("initial is at least 1 and at most max by construction");
            let opener = PortOpener {
                path: d.connection.path.clone(),
                profile: p.clone(),
            };
            let span = tracing::info_span!("serial_device", device_id = %d.device.device_id,
                port = %d.connection.path, adapter = p.protocol.adapter_kind());
            let ctx = Context {
                device: d.device,
                health: d.health,
                status: status.clone(),
                sink: sink.clone(),
                watchdog: Duration::from_millis(p.watchdog_ms),
                backoff,
            };
            let task = run::run(opener, session(&p), ctx, shutdown.clone());
            tokio::spawn(task.instrument(span))
        })
        .collect()
}

/// Checks that no two devices, serial or Modbus RTU, name one serial port
/// unless both are Modbus RTU (which shares a bus). Paths are
/// `device[i].serial` of the later device.
pub fn check_ports(devices: &[DeviceConfig]) -> Vec<Problem> {
    let mut seen: BTreeMap<&str, (&str, bool)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        let (path, serial) = match (&d.serial, &d.modbus) {
            (Some(s), _) => (s.path.as_str(), true),
            (None, Some(ModbusConnection::Rtu(r))) => (r.path.as_str(), false),
            _ => continue,
        };
        match seen.get(path) {
            Some(&(first, first_serial)) if serial || first_serial => {
                let key = if serial { "serial" } else { "modbus" };
                let msg = format!("port `{path}` is already used by `{first}`; a serial bedside device needs a port of its own");
                problems.push(Problem::new(format!("device[{i}].{key}"), msg));
            }
            Some(_) => {}
            None => {
                seen.insert(path, (&d.device_id, serial));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests;
