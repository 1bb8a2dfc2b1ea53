//! Everything in HealthSphere that knows a device protocol, and the vocabulary every
//! reading is normalized into.
//!
//! An adapter turns device bytes into [`Reading`]s: a [`Metric`] from the canonical
//! vocabulary, a value in a [`Unit`] the device chose, the device's own timestamp when
//! it sent one, and the device's opinion of the value ([`Validity`]). The collector
//! converts the value into the metric's canonical unit and stores it.
//!
//! # Layout
//!
//! - [`vocab`]: the canonical metrics with their IEEE 11073 MDC code, LOINC code,
//!   canonical UCUM unit and physiological plausibility range.
//! - [`units`]: UCUM units and conversion into a metric's canonical unit.
//! - [`backoff`]: bounded exponential backoff for reconnects.
//! - [`health`]: per-device adapter health, as metrics and as a snapshot.
//! - [`check`]: TOML into typed structs, collecting every problem with its key.
//! - [`mllp`]: the HL7 v2 over MLLP listener: ACKs after storage, attribution
//!   of readings to configured devices and beds.
//! - [`mqtt`]: MQTT devices: payload formats and the broker session.
//! - [`profile`]: device profiles (TOML) and device instances.
//! - [`reading`]: what an adapter hands to the collector.
//! - [`sink`]: the trait adapters deliver readings through.
//! - [`modbus`]: Modbus TCP and RTU devices: register maps into readings and
//!   statuses, polling over shared links, and simulated devices.
//! - [`serial`]: bedside devices on serial lines (Nonin, Masimo, Datex S/5,
//!   Medibus): session drivers over a serial port with watchdog and reopen,
//!   and device-side simulators.
//! - [`throttle`]: per-device rate limiting of repeated log events.
//! - [`sim`]: a simulated bedside monitor that produces plausible, slowly varying
//!   vitals for the demo ward and the tests.
//! - [`protocols`]: pure codecs (framers and decoders, no I/O) for HL7 v2 over
//!   MLLP, Nonin, Masimo ASCII 1, Datex S/5, Medibus and IntelliVue.

pub mod backoff;
pub mod check;
pub mod health;
pub mod mllp;
pub mod modbus;
pub mod mqtt;
pub mod profile;
pub mod protocols;
pub mod reading;
pub mod serial;
pub mod sim;
pub mod sink;
pub mod throttle;
pub mod units;
pub mod vocab;

pub use reading::{Reading, Validity};
pub use units::{Unit, UnitError};
pub use vocab::{Metric, Sampling};
