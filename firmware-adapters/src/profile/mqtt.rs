//! The `[mqtt]` section of a device profile and an MQTT device's credentials.
//!
//! Payload formats (decoded by [`crate::mqtt::payload`]):
//! - `senml`: SenML JSON (RFC 8428), a pack of records. Names resolve through the
//!   profile's `names` table, then as metric names (`heart_rate`), then as MDC codes
//!   (`mdc:147842`).
//! - `compact`: `{"ts": 1733250000.25, "heart_rate": 72, "spo2": 97}`: metric names
//!   with values in the metric's canonical unit, and an optional `ts` in seconds
//!   since the Unix epoch. A value may instead be an object
//!   `{"v": 5.1, "u": "kPa", "q": "questionable"}` with a UCUM unit and a quality of
//!   `valid`, `questionable` or `invalid`.
//! - `json`: any JSON document; the profile's `fields` pick values by JSON pointer
//!   (RFC 6901), each with its metric and unit, and `time_pointer` picks the time.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::check::Problem;
use crate::{Metric, Unit};

/// Largest payload a profile may allow.
const MAX_PAYLOAD_LIMIT: usize = 1 << 20;

/// How an MQTT device publishes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttProfile {
    /// Topic the device publishes to; `{device_id}` is replaced by the instance's
    /// id, so every device has a topic of its own. No wildcards.
    pub topic: String,
    /// `senml`, `compact` or `json`.
    pub format: PayloadFormat,
    /// Subscription QoS: 1 (default; acknowledged only once spooled) or 0.
    #[serde(default = "default_qos")]
    pub qos: u8,
    /// Larger payloads are refused and counted. Default 64 KiB.
    #[serde(default = "default_max_payload_bytes")]
    pub max_payload_bytes: usize,
    /// SenML names of this device model mapped to metrics.
    #[serde(default)]
    pub names: BTreeMap<String, Metric>,
    /// For `format = "json"`: where each value is.
    #[serde(default)]
    pub fields: Vec<JsonField>,
    /// For `format = "json"`: JSON pointer to the measurement time, if any.
    pub time_pointer: Option<String>,
    /// Unit of the time at `time_pointer`: `s` (default) or `ms` since the epoch.
    #[serde(default)]
    pub time_unit: TimeUnit,
}

/// The payload format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadFormat {
    /// SenML JSON (RFC 8428).
    Senml,
    /// HealthSphere's compact JSON (see the module docs).
    Compact,
    /// Any JSON, mapped by pointers.
    Json,
}

/// Seconds or milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Seconds, possibly fractional.
    #[default]
    S,
    /// Milliseconds.
    Ms,
}

/// One value in a `json` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonField {
    /// JSON pointer to the number, such as `/vitals/hr`.
    pub pointer: String,
    /// The metric it measures.
    pub metric: Metric,
    /// Its unit; the metric's canonical unit when absent.
    pub unit: Option<Unit>,
}

/// Credentials of one device on the embedded broker.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConnection {
    /// The device's MQTT user name.
    pub username: String,
    /// The device's MQTT password. Never logged.
    pub password: String,
}

impl std::fmt::Debug for MqttConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttConnection")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

const fn default_qos() -> u8 {
    1
}

const fn default_max_payload_bytes() -> usize {
    64 * 1024
}

impl MqttProfile {
    /// The topic of the device `device_id`.
    pub fn topic_for(&self, device_id: &str) -> String {
        self.topic.replace("{device_id}", device_id)
    }

    pub(crate) fn validate(&self, problems: &mut Vec<Problem>) {
        let mut bad =
            |key: &str, msg: &str| problems.push(Problem::new(format!("mqtt.{key}"), msg));
        if !self.topic.contains("{device_id}") {
            bad(
                "topic",
                "must contain {device_id}, so each device has its own topic",
            );
        }
        if self.topic.contains(['+', '#']) {
            bad("topic", "must not contain the wildcards + or #");
        }
        if self.qos > 1 {
            bad("qos", "must be 0 or 1");
        }
        if self.max_payload_bytes == 0 || self.max_payload_bytes > MAX_PAYLOAD_LIMIT {
            bad("max_payload_bytes", "must be between 1 and 1048576");
        }
        match self.format {
            PayloadFormat::Json if self.fields.is_empty() => {
                bad("fields", "format json needs at least one [[mqtt.fields]]");
            }
            PayloadFormat::Senml | PayloadFormat::Compact if !self.fields.is_empty() => {
                bad("fields", "only format json uses fields");
            }
            _ => {}
        }
        if let Some(p) = &self.time_pointer {
            if !p.starts_with('/') {
                bad("time_pointer", "a JSON pointer starts with /");
            }
        }
        for (i, f) in self.fields.iter().enumerate() {
            let key = |k: &str| format!("mqtt.fields[{i}].{k}");
            if !f.pointer.starts_with('/') {
                problems.push(Problem::new(key("pointer"), "a JSON pointer starts with /"));
            }
            if let Some(unit) = f.unit {
                if unit.convert(1.0, f.metric.canonical_unit()).is_err() {
                    let msg = format!(
                        "{unit} cannot measure {} (canonical unit {})",
                        f.metric,
                        f.metric.canonical_unit()
                    );
                    problems.push(Problem::new(key("unit"), msg));
                }
            }
        }
    }
}

impl MqttConnection {
    pub(crate) fn validate(&self, path: &str, problems: &mut Vec<Problem>) {
        if self.username.is_empty() {
            problems.push(Problem::new(
                format!("{path}.username"),
                "must not be empty",
            ));
        }
        if self.password.len() < 12 {
            problems.push(Problem::new(
                format!("{path}.password"),
                "must be at least 12 characters",
            ));
        }
    }
}
