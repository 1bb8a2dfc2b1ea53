//! Where a Modbus device is reached: `[device.modbus.tcp]` or `[device.modbus.rtu]`
//! in the gateway configuration.

use serde::Deserialize;

use crate::check::Problem;

/// Where one Modbus device is reached: `[device.modbus.tcp]` or
/// `[device.modbus.rtu]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ConnectionKeys")]
pub enum ModbusConnection {
    /// Modbus TCP.
    Tcp(TcpConnection),
    /// Modbus RTU on a serial line (usually RS-485, shared by several devices).
    Rtu(RtuConnection),
}

/// The keys of `[device.modbus]`, of which exactly one must be there.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionKeys {
    tcp: Option<TcpConnection>,
    rtu: Option<RtuConnection>,
}

impl TryFrom<ConnectionKeys> for ModbusConnection {
    type Error = &'static str;

    fn try_from(keys: ConnectionKeys) -> Result<Self, Self::Error> {
        match (keys.tcp, keys.rtu) {
            (Some(tcp), None) => Ok(Self::Tcp(tcp)),
            (None, Some(rtu)) => Ok(Self::Rtu(rtu)),
            _ => Err("needs exactly one of [device.modbus.tcp] and [device.modbus.rtu]"),
        }
    }
}

/// A Modbus TCP device or gateway.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConnection {
    /// Host name or IP address.
    pub host: String,
    /// TCP port; default 502.
    #[serde(default = "default_tcp_port")]
    pub port: u16,
    /// Unit identifier, 1 to 247; default 1. Behind a TCP-to-RTU gateway it
    /// selects the serial device.
    #[serde(default = "default_unit_id")]
    pub unit_id: u8,
}

/// A Modbus RTU device on a serial line. Devices with the same `path` share
/// one port and are polled in turn; their serial settings must agree.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtuConnection {
    /// The serial device, such as `/dev/ttyUSB0`.
    pub path: String,
    /// Line speed in baud.
    pub baud_rate: u32,
    /// Data bits; default 8, the only size RTU frames fit.
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    /// `none`, `even` (the Modbus default) or `odd`.
    pub parity: Parity,
    /// 1 (default) or 2. The Modbus standard asks for 2 when parity is none.
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// Unit (slave) address on the bus, 1 to 247.
    pub unit_id: u8,
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parity {
    /// No parity bit.
    None,
    /// Even parity.
    Even,
    /// Odd parity.
    Odd,
}

impl ModbusConnection {
    /// The unit identifier.
    pub fn unit_id(&self) -> u8 {
        match self {
            Self::Tcp(c) => c.unit_id,
            Self::Rtu(c) => c.unit_id,
        }
    }

    pub(crate) fn validate(&self, path: &str, problems: &mut Vec<Problem>) {
        let mut bad =
            |key: &str, msg: &str| problems.push(Problem::new(format!("{path}.{key}"), msg));
        match self {
            Self::Tcp(c) => {
                if c.host.is_empty() {
                    bad("tcp.host", "must not be empty");
                }
                if c.port == 0 {
                    bad("tcp.port", "must be between 1 and 65535");
                }
                if !(1..=247).contains(&c.unit_id) {
                    bad("tcp.unit_id", "must be between 1 and 247");
                }
            }
            Self::Rtu(c) => {
                if c.path.is_empty() {
                    bad("rtu.path", "must not be empty");
                }
                if !(300..=921_600).contains(&c.baud_rate) {
                    bad("rtu.baud_rate", "must be between 300 and 921600");
                }
                if c.data_bits != 8 {
                    bad(
                        "rtu.data_bits",
                        "must be 8: RTU frames are 8-bit (7 bits is Modbus ASCII)",
                    );
                }
                if !(1..=2).contains(&c.stop_bits) {
                    bad("rtu.stop_bits", "must be 1 or 2");
                }
                if !(1..=247).contains(&c.unit_id) {
                    bad("rtu.unit_id", "must be between 1 and 247");
                }
            }
        }
    }
}

const fn default_tcp_port() -> u16 {
    502
}

const fn default_unit_id() -> u8 {
    1
}

const fn default_data_bits() -> u8 {
    8
}

const fn default_stop_bits() -> u8 {
    1
}
