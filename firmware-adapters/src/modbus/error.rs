//! Modbus adapter errors.
//!
//! Two layers, as in tokio-modbus: a [`LinkError`] means the device could not be
//! reached or its answer made no sense, so the connection is dropped and
//! re-established with backoff; a Modbus exception ([`ExceptionCode`]) means the
//! device answered and refused, so the connection is kept and the refusal is
//! reported as the device's status.

use std::fmt;
use std::io;
use std::time::Duration;

/// The device could not be reached, or its answer was not a valid response.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Nothing (or not all of a frame) arrived in time.
    #[error("no answer within {timeout:?}")]
    Timeout {
        /// The profile's `timeout_ms`.
        timeout: Duration,
    },
    /// The TCP connection or the serial port could not be opened.
    #[error("cannot open {target}: {error}")]
    Connect {
        /// `host:port` or the serial device path.
        target: String,
        /// Why.
        error: io::Error,
    },
    /// Reading or writing the connection failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A response that does not belong to the request (wrong unit, function or
    /// transaction): a late answer, a collision on the bus, or a broken device.
    #[error("invalid response: {0}")]
    Protocol(String),
}

impl LinkError {
    /// A short, bounded name for metrics (`adapter_errors_total{kind}`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "timeout",
            Self::Connect { .. } => "connect",
            Self::Io(_) => "io",
            Self::Protocol(_) => "protocol",
        }
    }
}

/// A Modbus exception code: the device understood the request and refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExceptionCode(pub u8);

impl ExceptionCode {
    /// 0x01: the device does not support the function.
    pub const ILLEGAL_FUNCTION: Self = Self(0x01);
    /// 0x02: an address in the request does not exist on the device.
    pub const ILLEGAL_DATA_ADDRESS: Self = Self(0x02);
    /// 0x03: a value in the request is not allowed.
    pub const ILLEGAL_DATA_VALUE: Self = Self(0x03);
    /// 0x04: the device failed while handling the request.
    pub const SERVER_DEVICE_FAILURE: Self = Self(0x04);
    /// 0x06: the device is busy; try later.
    pub const SERVER_DEVICE_BUSY: Self = Self(0x06);
    /// 0x0B: a gateway got no answer from the device behind it.
    pub const GATEWAY_TARGET_FAILED: Self = Self(0x0B);

    /// The name the Modbus Application Protocol (v1.1b3, section 7) gives it.
    pub fn name(self) -> &'static str {
        match self.0 {
            0x01 => "illegal function",
            0x02 => "illegal data address",
            0x03 => "illegal data value",
            0x04 => "server device failure",
            0x05 => "acknowledge",
            0x06 => "server device busy",
            0x08 => "memory parity error",
            0x0A => "gateway path unavailable",
            0x0B => "gateway target device failed to respond",
            _ => "unknown exception",
        }
    }
}

impl fmt::Display for ExceptionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:02X})", self.name(), self.0)
    }
}

/// A mapped value could not be decoded from its registers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The response held fewer registers or bits than the value spans.
    #[error("the value needs {expected} registers or bits, the response held {got}")]
    Short {
        /// Registers or bits the value spans.
        expected: usize,
        /// What was there.
        got: usize,
    },
    /// The scaled value is NaN or infinite (a float register holding NaN, say).
    #[error("the value is not a finite number (raw {raw})")]
    NotFinite {
        /// The raw number.
        raw: f64,
    },
}

/// Devices that cannot be polled together as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Two devices on one serial port disagree on its settings.
    #[error("devices `{first}` and `{second}` share {path} but differ in its serial settings")]
    SerialSettings {
        /// The serial device path.
        path: String,
        /// The device whose settings are used.
        first: String,
        /// The device that disagrees.
        second: String,
    },
    /// Two devices on one link have the same unit id.
    #[error("devices `{first}` and `{second}` both use unit id {unit_id} on {target}")]
    DuplicateUnit {
        /// `host:port` or the serial device path.
        target: String,
        /// The unit id.
        unit_id: u8,
        /// One device.
        first: String,
        /// The other.
        second: String,
    },
    /// A profile's backoff settings are inconsistent (profile validation
    /// prevents this for loaded profiles).
    #[error("device `{device_id}` has invalid backoff settings")]
    Backoff {
        /// The device.
        device_id: String,
        /// What is wrong.
        source: crate::backoff::InvalidBackoff,
    },
}
