//! Device-side simulators of the serial protocols: they speak the real bytes
//! on any byte stream (one end of a `socat` pseudo-terminal pair, a real
//! port, an in-memory pipe), for tests and the demo.
//!
//! Values come from [`crate::sim::BedsideSim`], so a simulated Nonin, Masimo,
//! S/5 or Medibus device shows the same plausible, slowly varying patient as
//! the demo ward. A [`SimScenario`] adds what goes wrong on real wards:
//!
//! - `normal` and `deteriorating`: the patient of [`crate::sim::Scenario`];
//! - `sensor_off`: the probe is off the finger; each protocol says so its own
//!   way (Nonin sensor alarm bits with held values or missing codes, Masimo
//!   dashes and the sensor-off exception, Datex "invalid" status codes,
//!   Medibus values that are not numbers);
//! - `garbage`: a few bytes of line noise between every two frames;
//! - `cable_pulled`: after three messages the device falls silent for
//!   `pulled_for` (a cable pulled behind a USB adapter that stays plugged in),
//!   ignores what it is sent meanwhile, then carries on. To model a vanished
//!   port, close the stream instead.
//!
//! Streaming devices (Nonin, Masimo) send on their own period; Datex sends
//! displayed values after a request, at once and then on the requested
//! interval; Medibus and IntelliVue answer the host's commands (the
//! IntelliVue monitor accepts any association request, then sends its MDS
//! create event and answers numeric polls).

mod devices;
mod intellivue;

use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_serial::{SerialPortBuilderExt as _, SerialStream};

use crate::profile::serial::SerialProfile;
use crate::sim::{BedsideSim, Scenario};
use crate::Metric;
pub use devices::{model_for, DeviceModel, Vitals};

/// What the simulated device does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimScenario {
    /// A stable patient.
    #[default]
    Normal,
    /// A slowly deteriorating patient.
    Deteriorating,
    /// The sensor is off the patient.
    SensorOff,
    /// Line noise between frames.
    Garbage,
    /// Silence for a while after three messages, then normal again.
    CablePulled,
}

/// Line noise: no flag, escape, start, end or sync byte of any of the
/// protocols (no bit 7, no `01`, `1B`, `0D`, `0A`, `7E`, `7D`, XON/XOFF), so
/// it can never complete a frame by itself.
pub const NOISE: &[u8] = b"U*?U";

/// A simulated device's settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The scenario.
    pub scenario: SimScenario,
    /// Seed of the patient's values.
    pub seed: u64,
    /// How long `cable_pulled` stays silent.
    pub pulled_for: Duration,
}

impl SimConfig {
    /// A scenario with seed 1 and 10 s of pulled cable.
    pub fn new(scenario: SimScenario) -> Self {
        Self {
            scenario,
            seed: 1,
            pulled_for: Duration::from_secs(10),
        }
    }
}

/// Opens the device end of a line with the profile's settings.
///
/// # Errors
///
/// When the port cannot be opened or configured.
pub fn open(path: &str, profile: &SerialProfile) -> std::io::Result<SerialStream> {
    Ok(super::builder(path, profile).open_native_async()?)
}

/// Runs `model` on `io` until `shutdown` turns true or the stream fails.
///
/// # Errors
///
/// The stream's read or write error.
pub async fn serve<T>(
    mut io: T,
    mut model: Box<dyn DeviceModel>,
    config: SimConfig,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let scenario = match config.scenario {
        SimScenario::Deteriorating => Scenario::Deteriorating,
        _ => Scenario::Stable,
    };
    let mut patient = BedsideSim::new(config.seed, scenario, 5);
    let sensor_off = config.scenario == SimScenario::SensorOff;
    let garbage = config.scenario == SimScenario::Garbage;
    let mut vitals = Vitals::from_readings(&patient.tick(SystemTime::now()), sensor_off);
    let mut next_tick = Instant::now() + model.period();
    let mut messages = 0u64;
    let mut silent_until: Option<Instant> = None;
    let mut buf = [0u8; 512];
    loop {
        let mut out = Vec::new();
        tokio::select! {
            read = io.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    return Ok(());
                }
                if silent_until.is_some_and(|t| Instant::now() < t) {
                    continue;
                }
                model.receive(&buf[..n], &vitals, &mut out);
            }
            () = tokio::time::sleep_until(next_tick) => {
                next_tick += model.period();
                vitals = Vitals::from_readings(&patient.tick(SystemTime::now()), sensor_off);
                if silent_until.is_some_and(|t| Instant::now() < t) {
                    continue;
                }
                model.tick(&vitals, SystemTime::now(), &mut out);
            }
            _ = shutdown.changed() => return Ok(()),
        }
        if out.is_empty() {
            continue;
        }
        if garbage {
            let mut noisy = NOISE.to_vec();
            noisy.extend_from_slice(&out);
            out = noisy;
        }
        io.write_all(&out).await?;
        io.flush().await?;
        messages += 1;
        if config.scenario == SimScenario::CablePulled && messages == 3 {
            silent_until = Some(Instant::now() + config.pulled_for);
        }
    }
}

impl Vitals {
    fn from_readings(readings: &[crate::Reading], sensor_off: bool) -> Self {
        let get = |m: Metric| readings.iter().find(|r| r.metric == m).map(|r| r.value);
        Self {
            heart_rate: get(Metric::HeartRate).unwrap_or(72.0),
            pulse_rate: get(Metric::PulseRate).unwrap_or(72.0),
            spo2: get(Metric::Spo2).unwrap_or(97.0),
            perfusion_index: get(Metric::PerfusionIndex).unwrap_or(3.0),
            respiratory_rate: get(Metric::RespiratoryRate).unwrap_or(15.0),
            temperature: get(Metric::BodyTemperature).unwrap_or(36.9),
            nibp: get(Metric::NibpSystolic)
                .zip(get(Metric::NibpDiastolic))
                .zip(get(Metric::NibpMean))
                .map(|((s, d), m)| (s, d, m)),
            etco2_mmhg: 38.0,
            sensor_off,
        }
    }
}
