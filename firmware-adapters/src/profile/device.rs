//! A device instance in the gateway configuration.

use serde::Deserialize;

use super::{is_identifier, modbus, mqtt, serial, Profile, Protocol};
use crate::check::Problem;

/// One device on the ward: which profile it follows, where it is, how to reach it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Unique within the site; part of every sample's key.
    pub device_id: String,
    /// The bed it monitors, or the location of infrastructure (`pharmacy-fridge-2`).
    pub bed_id: String,
    /// The profile's `name`.
    pub profile: String,
    /// Connection settings for MQTT devices.
    pub mqtt: Option<mqtt::MqttConnection>,
    /// Connection settings for Modbus devices.
    pub modbus: Option<modbus::ModbusConnection>,
    /// The port of a serial device.
    pub serial: Option<serial::SerialConnection>,
}

impl DeviceConfig {
    /// Checks the instance against its profile; `path` prefixes key paths
    /// (`device[3]`).
    pub fn validate(&self, profile: Option<&Profile>, path: &str, problems: &mut Vec<Problem>) {
        for (key, value) in [("device_id", &self.device_id), ("bed_id", &self.bed_id)] {
            if !is_identifier(value) {
                let msg = format!("`{value}` must be 1 to 64 letters, digits, - _ . / or :");
                problems.push(Problem::new(format!("{path}.{key}"), msg));
            }
        }
        let Some(profile) = profile else {
            let msg = format!("no profile named `{}`", self.profile);
            problems.push(Problem::new(format!("{path}.profile"), msg));
            return;
        };
        if profile.protocol() == Protocol::Serial {
            self.validate_serial(profile, path, problems);
            return;
        }
        if self.serial.is_some() {
            let msg = format!(
                "profile `{}` is not a serial device; remove [device.serial]",
                profile.name
            );
            problems.push(Problem::new(format!("{path}.serial"), msg));
        }
        match (profile.protocol(), &self.mqtt, &self.modbus) {
            (Protocol::Mqtt, _, None) => {
                if let Some(c) = &self.mqtt {
                    c.validate(&format!("{path}.mqtt"), problems);
                }
            }
            (Protocol::Modbus, None, Some(c)) => c.validate(&format!("{path}.modbus"), problems),
            (Protocol::Modbus, None, None) => {
                let msg = format!(
                    "profile `{}` is a Modbus device and needs [device.modbus]",
                    profile.name
                );
                problems.push(Problem::new(format!("{path}.modbus"), msg));
            }
            (protocol, _, _) => {
                let msg = format!(
                    "profile `{}` uses {protocol:?}; remove the other connection section",
                    profile.name
                );
                problems.push(Problem::new(path.to_owned(), msg));
            }
        }
    }

    fn validate_serial(&self, profile: &Profile, path: &str, problems: &mut Vec<Problem>) {
        if self.mqtt.is_some() || self.modbus.is_some() {
            let msg = format!(
                "profile `{}` is a serial device; remove the other connection section",
                profile.name
            );
            problems.push(Problem::new(path.to_owned(), msg));
        }
        match &self.serial {
            Some(c) => c.validate(&format!("{path}.serial"), problems),
            None => {
                let msg = format!(
                    "profile `{}` is a serial device and needs [device.serial]",
                    profile.name
                );
                problems.push(Problem::new(format!("{path}.serial"), msg));
            }
        }
    }
}
