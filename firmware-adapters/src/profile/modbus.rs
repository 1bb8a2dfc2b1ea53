//! The `[modbus]` section of a device profile and a Modbus device's connection.
//!
//! A profile lists the device's values as `[[modbus.values]]` register maps:
//!
//! ```toml
//! [modbus]
//! poll_interval_ms = 5000
//! timeout_ms = 1000
//!
//! [[modbus.values]]           # cabinet temperature, 0.1 Cel steps, signed
//! table = "input_register"
//! address = 0
//! type = "i16"
//! scale = 0.1
//! metric = "fridge_temperature"
//! unit = "Cel"
//!
//! [[modbus.values]]           # bit 0 of the alarm word
//! table = "holding_register"
//! address = 10
//! status = "door_open"
//! bit = 0
//! ```
//!
//! # Addresses
//!
//! `address` is the 0-based PDU address, the number that goes on the wire. Vendor
//! manuals often print 1-based "reference" numbers whose first digit names the
//! table instead:
//!
//! | vendor number | table              | `address`  |
//! |---------------|--------------------|------------|
//! | 4xxxx         | `holding_register` | xxxx - 1   |
//! | 3xxxx         | `input_register`   | xxxx - 1   |
//! | 1xxxx         | `discrete_input`   | xxxx - 1   |
//! | 0xxxx         | `coil`             | xxxx - 1   |
//!
//! So "40001" is `table = "holding_register"`, `address = 0`, and "30012" is
//! `table = "input_register"`, `address = 11`. Six-digit numbering (400001) works
//! the same way. The loader refuses addresses 10001 to 19999, 30001 to 39999 and
//! 40001 to 49999 in the table their first digit names, and anything above 65535,
//! because they are almost always such reference numbers; it says which address
//! was probably meant.
//!
//! Limitation: a device that really has a register at such a PDU address (SunSpec
//! inverters start at 40000) cannot be described; none of the hospital devices we
//! know of does.
//!
//! # Values
//!
//! - `type`: `u16` (the default), `i16`, `u32`, `i32`, `f32` (IEEE 754 single),
//!   `f64` or `string` (ASCII, two characters per register, `length_registers`
//!   long, trailing NULs and spaces removed). Coils and discrete inputs are single
//!   bits and take no type.
//! - `word_order`, for 32- and 64-bit types: `big` (the default; the first
//!   register holds the most significant word) or `little`.
//! - `byte_order`: `big` (the default and the Modbus standard; the high byte of
//!   each register comes first) or `little` (bytes swapped within each register).
//!   A 32-bit value stored as bytes ABCD is big/big; CDAB is word_order little;
//!   BADC is byte_order little; DCBA is both little.
//! - `scale`, `offset`: the value is `raw * scale + offset` (defaults 1 and 0).
//! - Then either `metric` with an optional `unit` (the metric's canonical unit
//!   when absent; it must convert into it), which makes the value a reading, or
//!   `status` with an optional `bit` (0 = least significant), which makes it a
//!   device status such as a door contact or an alarm bit. Statuses are not vitals:
//!   they are shown and logged, never stored as readings. A numeric status may name
//!   a `unit` for people (a gas line pressure in kPa); it is not converted.
//! - `alarm_priority`: `high`, `medium` or `low`, for a flag status (a coil, a
//!   discrete input or a register `bit`) that is one of the device's own alarms.
//!   Write the priority the device's manual gives the alarm: the gateway relays
//!   it as rule `device:<device_id>:<status>` with exactly that priority while
//!   the flag is on, and never re-derives it from the value or from its own
//!   limits.
//!
//! Reads of one table are merged: values at most `max_gap_addresses` apart are
//! fetched in one request of at most 125 registers or 2000 bits, and the unused
//! addresses between them are discarded. A device that answers such a read with
//! an "illegal data address" exception needs `max_gap_addresses = 0`.

mod connection;
mod validate;

use serde::Deserialize;

pub use connection::{ModbusConnection, Parity, RtuConnection, TcpConnection};

use crate::modbus::status::AlarmPriority;
use crate::{Metric, Unit};

/// Longest string a value may span, in registers (one read).
pub const MAX_STRING_REGISTERS: u16 = 125;

/// How a Modbus device is polled and how its registers map to metrics.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusProfile {
    /// How often every value is read. Must exceed `timeout_ms`.
    pub poll_interval_ms: u64,
    /// How long one request may take before the connection is considered broken
    /// and re-established. Slow devices need 500 ms or more.
    pub timeout_ms: u64,
    /// Unused addresses a merged read may span between two values. Default 8;
    /// 0 for devices that refuse reads of unmapped registers.
    #[serde(default = "default_max_gap_addresses")]
    pub max_gap_addresses: u16,
    /// First delay before retrying a device that stopped answering. Default 1000.
    #[serde(default = "default_backoff_initial_ms")]
    pub backoff_initial_ms: u64,
    /// Longest delay between retries of a silent device. Default 60000.
    #[serde(default = "default_backoff_max_ms")]
    pub backoff_max_ms: u64,
    /// The register map.
    #[serde(default)]
    pub values: Vec<ModbusValue>,
}

/// The four Modbus data tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// Read/write bits, function code 1.
    Coil,
    /// Read-only bits, function code 2.
    DiscreteInput,
    /// Read-only registers, function code 4.
    InputRegister,
    /// Read/write registers, function code 3.
    HoldingRegister,
}

impl Table {
    /// True for coils and discrete inputs.
    pub fn is_bits(self) -> bool {
        matches!(self, Self::Coil | Self::DiscreteInput)
    }

    /// The name used in profiles.
    pub fn name(self) -> &'static str {
        match self {
            Self::Coil => "coil",
            Self::DiscreteInput => "discrete_input",
            Self::InputRegister => "input_register",
            Self::HoldingRegister => "holding_register",
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a register value is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// Unsigned 16-bit, one register.
    U16,
    /// Two's complement 16-bit, one register.
    I16,
    /// Unsigned 32-bit, two registers.
    U32,
    /// Two's complement 32-bit, two registers.
    I32,
    /// IEEE 754 single precision, two registers.
    F32,
    /// IEEE 754 double precision, four registers.
    F64,
    /// ASCII text, two characters per register.
    String,
}

impl DataType {
    /// Registers a number of this type spans; `None` for strings.
    pub fn registers(self) -> Option<u16> {
        match self {
            Self::U16 | Self::I16 => Some(1),
            Self::U32 | Self::I32 | Self::F32 => Some(2),
            Self::F64 => Some(4),
            Self::String => None,
        }
    }

    /// True for the integer types, whose bits a status may pick.
    pub fn is_integer(self) -> bool {
        matches!(self, Self::U16 | Self::I16 | Self::U32 | Self::I32)
    }
}

/// Order of words in a multi-register value, or of bytes in a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Most significant first.
    #[default]
    Big,
    /// Least significant first.
    Little,
}

/// One value in the register map.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusValue {
    /// The table it is read from.
    pub table: Table,
    /// 0-based PDU address (see the module docs for vendor numbering).
    pub address: u32,
    /// Storage type of register values; `u16` when absent. Not for bit tables.
    #[serde(rename = "type")]
    pub data_type: Option<DataType>,
    /// For `string`: registers it spans.
    pub length_registers: Option<u16>,
    /// For 32- and 64-bit types; `big` when absent.
    pub word_order: Option<Order>,
    /// Byte order within each register; `big` when absent.
    pub byte_order: Option<Order>,
    /// Multiplies the raw number.
    #[serde(default = "default_scale")]
    pub scale: f64,
    /// Added after scaling.
    #[serde(default)]
    pub offset: f64,
    /// The metric this value is a reading of.
    pub metric: Option<Metric>,
    /// The unit of the scaled value.
    pub unit: Option<Unit>,
    /// The status this value is, when it is not a reading.
    pub status: Option<String>,
    /// For a status: the bit of an integer register value (0 = least significant).
    pub bit: Option<u8>,
    /// For a flag status (a coil, a discrete input or a register bit) that
    /// is one of the device's alarms: the priority the device gives it.
    pub alarm_priority: Option<AlarmPriority>,
}

/// What a value means, once the profile is validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Meaning<'a> {
    /// A reading of `metric` in `unit`.
    Metric {
        /// The metric.
        metric: Metric,
        /// The unit of the scaled value.
        unit: Unit,
    },
    /// A device status.
    Status {
        /// The status name.
        name: &'a str,
        /// The bit of the register value, if the status is one bit of it.
        bit: Option<u8>,
        /// A unit for people, for numeric statuses.
        unit: Option<Unit>,
        /// The device's priority, when the flag is one of its alarms.
        alarm: Option<AlarmPriority>,
    },
}

impl ModbusValue {
    /// The storage type; `u16` when absent.
    pub fn data_type(&self) -> DataType {
        self.data_type.unwrap_or(DataType::U16)
    }

    /// The PDU address (validated to fit 16 bits).
    pub fn start(&self) -> u16 {
        u16::try_from(self.address).unwrap_or(u16::MAX)
    }

    /// Registers (or bits, for bit tables) the value spans.
    pub fn width(&self) -> u16 {
        if self.table.is_bits() {
            return 1;
        }
        let ty = self.data_type();
        ty.registers()
            .unwrap_or_else(|| self.length_registers.unwrap_or(1))
    }

    /// The word order, defaulted.
    pub fn word_order(&self) -> Order {
        self.word_order.unwrap_or_default()
    }

    /// The byte order, defaulted.
    pub fn byte_order(&self) -> Order {
        self.byte_order.unwrap_or_default()
    }

    /// What the value means: validation guarantees a metric or a status.
    pub fn meaning(&self) -> Meaning<'_> {
        match self.metric {
            Some(metric) => Meaning::Metric {
                metric,
                unit: self.unit.unwrap_or(metric.canonical_unit()),
            },
            None => Meaning::Status {
                name: self.status.as_deref().unwrap_or_default(),
                bit: self.bit,
                unit: self.unit,
                alarm: self.alarm_priority,
            },
        }
    }

    /// Whether scale and offset apply: numbers, not bits or text.
    fn is_number(&self) -> bool {
        !self.table.is_bits() && self.bit.is_none() && self.data_type() != DataType::String
    }
}

const fn default_max_gap_addresses() -> u16 {
    8
}

const fn default_backoff_initial_ms() -> u64 {
    1_000
}

const fn default_backoff_max_ms() -> u64 {
    60_000
}

const fn default_scale() -> f64 {
    1.0
}

#[cfg(test)]
mod tests;
