//! Simulated Modbus devices, for the demo ward and the tests.
//!
//! A [`ModbusSim`] holds any number of units, each a register [`Bank`]. A unit
//! added with a profile gets plausible values for every mapped value, encoded
//! exactly as the profile says (type, word and byte order, scale and offset), and
//! [`ModbusSim::tick`] moves them as slow, mean-reverting random walks:
//!
//! - metrics start at a typical value: a vaccine refrigerator at 5 Cel, a room at
//!   22 Cel, anything else mid-way through the metric's plausible range;
//! - numeric statuses start by their unit: kPa at 400 (a 4 bar medical gas
//!   pipeline; -60 when the name says vacuum), % at 45 (relative humidity),
//!   anything else at 0;
//! - bits stay clear and strings read `SIM-<unit>` until set.
//!
//! Faults on demand: a unit can stop answering ([`Fault::Silent`]), answer late
//! ([`Fault::Slow`]), answer every request with an exception
//! ([`Fault::Exception`]), or refuse single addresses ([`Bank::refuse`]).
//!
//! The same units are served over Modbus TCP ([`serve_tcp`]) and over Modbus RTU
//! on any byte stream, such as a serial port or one end of a pseudo-terminal
//! ([`serve_rtu`], with [`open_serial`]). A unit id with no unit behind it gets
//! no answer, as on a bus.

mod pdu;
mod rtu;
mod tcp;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use pdu::Bank;
pub use rtu::{crc16, open_serial, serve_rtu};
pub use tcp::serve_tcp;

use crate::modbus::error::ExceptionCode;
use crate::modbus::mapping;
use crate::profile::modbus::{DataType, Meaning, ModbusProfile, ModbusValue};
use crate::{Metric, Unit};

/// A misbehaviour of one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Reads the request and never answers (power loss, a cut RS-485 pair).
    Silent,
    /// Answers after this delay.
    Slow(Duration),
    /// Answers every request with this exception.
    Exception(ExceptionCode),
}

/// What the transport should do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Send this response PDU, after the delay.
    Send(Vec<u8>, Duration),
    /// Send nothing.
    Nothing,
}

/// Simulated Modbus units, shared by the servers that serve them.
#[derive(Debug, Clone, Default)]
pub struct ModbusSim {
    units: Arc<Mutex<BTreeMap<u8, SimUnit>>>,
}

#[derive(Debug, Default)]
struct SimUnit {
    bank: Bank,
    fault: Option<Fault>,
    profile: Option<Arc<ModbusProfile>>,
    walks: Vec<Walk>,
    noise: u64,
}

/// One numeric value's random walk.
#[derive(Debug, Clone)]
struct Walk {
    value: usize,
    current: f64,
    base: f64,
    step: f64,
}

impl ModbusSim {
    /// No units yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u8, SimUnit>> {
        self.units.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds (or replaces) unit `unit_id` with empty tables.
    pub fn add_unit(&self, unit_id: u8) {
        self.lock().insert(unit_id, SimUnit::default());
    }

    /// Adds (or replaces) unit `unit_id` as a device following `profile`;
    /// `seed` makes units differ.
    pub fn add_profile(&self, unit_id: u8, profile: Arc<ModbusProfile>, seed: u64) {
        let mut unit = SimUnit {
            noise: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            ..SimUnit::default()
        };
        for (i, v) in profile.values.iter().enumerate() {
            match (v.meaning(), v.data_type()) {
                (Meaning::Status { bit: Some(_), .. }, _) => {}
                _ if v.table.is_bits() => unit.bank.set_bit(v.table, v.start(), false),
                (_, DataType::String) => {
                    let raw = mapping::Raw::Text(format!("SIM-{unit_id}"));
                    let words = mapping::encode_raw(
                        DataType::String,
                        &raw,
                        v.word_order(),
                        v.byte_order(),
                        v.width(),
                    );
                    unit.bank.set_registers(v.table, v.start(), &words);
                }
                (meaning, _) => {
                    let (base, step) = baseline(meaning);
                    unit.bank
                        .set_registers(v.table, v.start(), &mapping::encode_number(v, base));
                    unit.walks.push(Walk {
                        value: i,
                        current: base,
                        base,
                        step,
                    });
                }
            }
        }
        unit.profile = Some(profile);
        self.lock().insert(unit_id, unit);
    }

    /// Sets or clears a unit's fault.
    pub fn set_fault(&self, unit_id: u8, fault: Option<Fault>) {
        if let Some(u) = self.lock().get_mut(&unit_id) {
            u.fault = fault;
        }
    }

    /// Runs `f` on a unit's bank (to set raw registers or refuse addresses).
    pub fn with_bank<R>(&self, unit_id: u8, f: impl FnOnce(&mut Bank) -> R) -> Option<R> {
        self.lock().get_mut(&unit_id).map(|u| f(&mut u.bank))
    }

    /// Sets the value mapped to `name` (a metric or status name) to `x` and
    /// makes it the walk's new baseline. False when the unit has no such number.
    pub fn set_number(&self, unit_id: u8, name: &str, x: f64) -> bool {
        let mut units = self.lock();
        let Some(u) = units.get_mut(&unit_id) else {
            return false;
        };
        let Some(profile) = u.profile.clone() else {
            return false;
        };
        let Some(w) = u
            .walks
            .iter_mut()
            .find(|w| value_name(&profile.values[w.value]) == name)
        else {
            return false;
        };
        (w.current, w.base) = (x, x);
        let v = &profile.values[w.value];
        u.bank
            .set_registers(v.table, v.start(), &mapping::encode_number(v, x));
        true
    }

    /// Sets the bit mapped to status `name`. False when the unit has no such bit.
    pub fn set_flag(&self, unit_id: u8, name: &str, on: bool) -> bool {
        let mut units = self.lock();
        let Some(u) = units.get_mut(&unit_id) else {
            return false;
        };
        let Some(profile) = u.profile.clone() else {
            return false;
        };
        let Some(v) = profile
            .values
            .iter()
            .find(|v| v.status.as_deref() == Some(name))
        else {
            return false;
        };
        match (v.table.is_bits(), v.bit) {
            (true, _) => u.bank.set_bit(v.table, v.start(), on),
            (false, Some(bit)) => {
                let words = u.bank.registers(v.table, v.start(), v.width());
                u.bank
                    .set_registers(v.table, v.start(), &mapping::with_bit(v, &words, bit, on));
            }
            (false, None) => return false,
        }
        true
    }

    /// Moves every numeric value one step of its random walk.
    pub fn tick(&self) {
        for u in self.lock().values_mut() {
            let Some(profile) = u.profile.clone() else {
                continue;
            };
            for w in &mut u.walks {
                let noise = next_signed(&mut u.noise);
                w.current += (w.base - w.current) * 0.1 + w.step * noise;
                let v = &profile.values[w.value];
                u.bank
                    .set_registers(v.table, v.start(), &mapping::encode_number(v, w.current));
            }
        }
    }

    /// What to answer `unit_id`'s request PDU.
    pub(crate) fn respond(&self, unit_id: u8, request: &[u8]) -> Reply {
        let mut units = self.lock();
        let Some(u) = units.get_mut(&unit_id) else {
            return Reply::Nothing;
        };
        match u.fault {
            Some(Fault::Silent) => Reply::Nothing,
            Some(Fault::Exception(code)) => {
                let function = request.first().copied().unwrap_or(0);
                Reply::Send(vec![function | 0x80, code.0], Duration::ZERO)
            }
            Some(Fault::Slow(delay)) => Reply::Send(u.bank.respond(request), delay),
            None => Reply::Send(u.bank.respond(request), Duration::ZERO),
        }
    }
}

/// The name [`ModbusSim::set_number`] finds a value by.
fn value_name(v: &ModbusValue) -> &str {
    match v.meaning() {
        Meaning::Metric { metric, .. } => metric.name(),
        Meaning::Status { name, .. } => name,
    }
}

/// A typical value and a walk step for a numeric value, in its own unit.
fn baseline(meaning: Meaning<'_>) -> (f64, f64) {
    match meaning {
        Meaning::Metric { metric, unit } => {
            let (base, step) = match metric {
                Metric::FridgeTemperature => (5.0, 0.05),
                Metric::AmbientTemperature => (22.0, 0.05),
                m => {
                    let range = m.info().plausible;
                    (
                        (range.start() + range.end()) / 2.0,
                        (range.end() - range.start()) / 400.0,
                    )
                }
            };
            let canonical = metric.canonical_unit();
            let into = |x: f64| canonical.convert(x, unit).unwrap_or(x);
            (into(base), (into(base + step) - into(base)).abs())
        }
        // A vacuum line runs below atmospheric pressure.
        Meaning::Status {
            name,
            unit: Some(Unit::KiloPascal),
            ..
        } if name.contains("vacuum") => (-60.0, 0.3),
        Meaning::Status { unit, .. } => match unit {
            Some(Unit::KiloPascal) => (400.0, 0.5),
            Some(Unit::Percent) => (45.0, 0.2),
            _ => (0.0, 0.0),
        },
    }
}

/// xorshift64*: a value in [-1, 1).
fn next_signed(state: &mut u64) -> f64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    let bits = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
    (bits as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

#[cfg(test)]
mod tests;
