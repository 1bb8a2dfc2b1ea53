//! The `[modbus]` section of a device profile and a Modbus device's connection.

use serde::Deserialize;

use crate::check::Problem;

/// How a Modbus device is polled and how its registers map to metrics.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusProfile {}

impl ModbusProfile {
    pub(crate) fn validate(&self, _problems: &mut Vec<Problem>) {}
}

/// Where one Modbus device is reached.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusConnection {}

impl ModbusConnection {
    pub(crate) fn validate(&self, _path: &str, _problems: &mut Vec<Problem>) {}
}
