//! Decoding MQTT payloads into readings: SenML, compact JSON, and JSON mapped by
//! pointers. Pure: the caller passes the receive time. See
//! [`crate::profile::mqtt`] for the formats.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::profile::mqtt::{MqttProfile, PayloadFormat, TimeUnit};
use crate::{Metric, Reading, Unit, UnitError, Validity};

/// SenML times below 2^28 are relative to now (RFC 8428, section 4.5.3).
const SENML_RELATIVE_LIMIT: f64 = 268_435_456.0;

/// Why a payload was refused. [`PayloadError::kind`] is the bounded metric label.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PayloadError {
    /// Larger than the profile allows.
    #[error("payload of {len} bytes exceeds the limit of {max}")]
    Oversized {
        /// Bytes received.
        len: usize,
        /// The profile's `max_payload_bytes`.
        max: usize,
    },
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON of the wrong shape.
    #[error("{path}: expected {expected}")]
    WrongType {
        /// Where, as a JSON pointer.
        path: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A name that maps to no metric.
    #[error("unknown metric `{name}`")]
    UnknownMetric {
        /// The name as sent.
        name: String,
    },
    /// A value or time that is not a finite number.
    #[error("{path}: not a finite number")]
    NotFinite {
        /// Where, as a JSON pointer.
        path: String,
    },
    /// A unit that cannot be used.
    #[error("{path}: {source}")]
    Unit {
        /// Where, as a JSON pointer.
        path: String,
        /// Unknown, or not convertible to the metric's unit.
        source: UnitError,
    },
    /// The payload holds no reading.
    #[error("no readings in payload")]
    Empty,
}

impl PayloadError {
    /// A bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Oversized { .. } => "oversized",
            Self::NotJson(_) => "not_json",
            Self::WrongType { .. } => "wrong_type",
            Self::UnknownMetric { .. } => "unknown_metric",
            Self::NotFinite { .. } => "not_finite",
            Self::Unit { .. } => "unit",
            Self::Empty => "empty",
        }
    }
}

/// Decodes one payload. A payload is refused whole when any part is bad, so a
/// device never gets half of a message stored.
///
/// # Errors
///
/// A [`PayloadError`] naming the first problem.
pub fn decode(
    profile: &MqttProfile,
    payload: &[u8],
    now: SystemTime,
) -> Result<Vec<Reading>, PayloadError> {
    if payload.len() > profile.max_payload_bytes {
        return Err(PayloadError::Oversized {
            len: payload.len(),
            max: profile.max_payload_bytes,
        });
    }
    let doc: Value =
        serde_json::from_slice(payload).map_err(|e| PayloadError::NotJson(e.to_string()))?;
    let readings = match profile.format {
        PayloadFormat::Senml => senml(profile, &doc, now)?,
        PayloadFormat::Compact => compact(&doc)?,
        PayloadFormat::Json => pointers(profile, &doc)?,
    };
    if readings.is_empty() {
        return Err(PayloadError::Empty);
    }
    Ok(readings)
}

fn senml(
    profile: &MqttProfile,
    doc: &Value,
    now: SystemTime,
) -> Result<Vec<Reading>, PayloadError> {
    let records = doc.as_array().ok_or(wrong("", "a SenML pack (array)"))?;
    let mut base_name = String::new();
    let mut base_time = 0.0;
    let mut base_unit: Option<String> = None;
    let mut out = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let at = |field: &str| format!("/{i}/{field}");
        let rec = record
            .as_object()
            .ok_or_else(|| wrong(&format!("/{i}"), "a SenML record (object)"))?;
        if let Some(bn) = rec.get("bn") {
            bn.as_str()
                .ok_or_else(|| wrong(&at("bn"), "a string"))
                .map(|s| base_name = s.to_owned())?;
        }
        if let Some(bt) = rec.get("bt") {
            base_time = finite(bt, &at("bt"))?;
        }
        if let Some(bu) = rec.get("bu") {
            base_unit = Some(
                bu.as_str()
                    .ok_or_else(|| wrong(&at("bu"), "a string"))?
                    .to_owned(),
            );
        }
        let Some(v) = rec.get("v") else {
            // Base-only records, and string, boolean or data values, carry no vital.
            continue;
        };
        let value = finite(v, &at("v"))?;
        let local = match rec.get("n") {
            Some(n) => n.as_str().ok_or_else(|| wrong(&at("n"), "a string"))?,
            None => "",
        };
        let metric = senml_metric(profile, &base_name, local)?;
        let unit = match rec.get("u") {
            Some(u) => Some(u.as_str().ok_or_else(|| wrong(&at("u"), "a string"))?),
            None => base_unit.as_deref(),
        };
        let unit = unit_for(metric, unit, &at("u"))?;
        let t = match rec.get("t") {
            Some(t) => finite(t, &at("t"))?,
            None => 0.0,
        };
        let time = senml_time(base_time + t, now);
        out.push(Reading {
            metric,
            value,
            unit,
            device_time: time,
            validity: Validity::Valid,
        });
    }
    Ok(out)
}

/// A record's metric: the profile's names table (local name, then full name),
/// then metric names, then `mdc:<code>`.
fn senml_metric(profile: &MqttProfile, base: &str, local: &str) -> Result<Metric, PayloadError> {
    let full = format!("{base}{local}");
    if let Some(m) = profile
        .names
        .get(local)
        .or_else(|| profile.names.get(&full))
    {
        return Ok(*m);
    }
    if let Ok(m) = local.parse::<Metric>() {
        return Ok(m);
    }
    let by_mdc = local
        .strip_prefix("mdc:")
        .and_then(|c| c.parse::<u32>().ok())
        .and_then(|code| Metric::ALL.into_iter().find(|m| m.info().mdc_code == code));
    by_mdc.ok_or(PayloadError::UnknownMetric { name: full })
}

/// Resolved SenML time: zero means "now" (no time sent); small values are
/// relative to now; larger ones are seconds since the epoch.
fn senml_time(t: f64, now: SystemTime) -> Option<SystemTime> {
    if t == 0.0 {
        None
    } else if t.abs() < SENML_RELATIVE_LIMIT {
        let offset = Duration::from_secs_f64(t.abs());
        if t < 0.0 {
            now.checked_sub(offset)
        } else {
            now.checked_add(offset)
        }
    } else {
        epoch_seconds(t)
    }
}

fn compact(doc: &Value) -> Result<Vec<Reading>, PayloadError> {
    let obj = doc.as_object().ok_or(wrong("", "an object"))?;
    let time = match obj.get("ts") {
        Some(ts) => epoch_seconds(finite(ts, "/ts")?),
        None => None,
    };
    let mut out = Vec::with_capacity(obj.len());
    for (name, v) in obj.iter().filter(|(k, _)| k.as_str() != "ts") {
        let path = format!("/{name}");
        let metric = name
            .parse::<Metric>()
            .map_err(|_| PayloadError::UnknownMetric { name: name.clone() })?;
        let (value, unit, validity) = match v {
            Value::Object(o) => {
                let value = finite(
                    o.get("v")
                        .ok_or_else(|| wrong(&format!("{path}/v"), "a number"))?,
                    &format!("{path}/v"),
                )?;
                let unit = match o.get("u") {
                    Some(u) => Some(
                        u.as_str()
                            .ok_or_else(|| wrong(&format!("{path}/u"), "a string"))?,
                    ),
                    None => None,
                };
                let validity = match o.get("q").map(|q| q.as_str()) {
                    None | Some(Some("valid")) => Validity::Valid,
                    Some(Some("questionable")) => Validity::Questionable,
                    Some(Some("invalid")) => Validity::Invalid,
                    Some(_) => {
                        return Err(wrong(
                            &format!("{path}/q"),
                            "valid, questionable or invalid",
                        ))
                    }
                };
                (
                    value,
                    unit_for(metric, unit, &format!("{path}/u"))?,
                    validity,
                )
            }
            other => (
                finite(other, &path)?,
                metric.canonical_unit(),
                Validity::Valid,
            ),
        };
        out.push(Reading {
            metric,
            value,
            unit,
            device_time: time,
            validity,
        });
    }
    Ok(out)
}

fn pointers(profile: &MqttProfile, doc: &Value) -> Result<Vec<Reading>, PayloadError> {
    let time = match &profile.time_pointer {
        Some(p) => {
            let v = doc.pointer(p).ok_or_else(|| wrong(p, "a time"))?;
            let raw = finite(v, p)?;
            let secs = match profile.time_unit {
                TimeUnit::S => raw,
                TimeUnit::Ms => raw / 1000.0,
            };
            epoch_seconds(secs)
        }
        None => None,
    };
    let mut out = Vec::with_capacity(profile.fields.len());
    for field in &profile.fields {
        // A field absent from this message is not an error: devices often send
        // only what changed.
        let Some(v) = doc.pointer(&field.pointer) else {
            continue;
        };
        let value = finite(v, &field.pointer)?;
        let unit = field.unit.unwrap_or_else(|| field.metric.canonical_unit());
        out.push(Reading {
            metric: field.metric,
            value,
            unit,
            device_time: time,
            validity: Validity::Valid,
        });
    }
    Ok(out)
}

fn unit_for(metric: Metric, unit: Option<&str>, path: &str) -> Result<Unit, PayloadError> {
    let Some(text) = unit else {
        return Ok(metric.canonical_unit());
    };
    let unit: Unit = text.parse().map_err(|source| PayloadError::Unit {
        path: path.to_owned(),
        source,
    })?;
    unit.convert(1.0, metric.canonical_unit())
        .map_err(|source| PayloadError::Unit {
            path: path.to_owned(),
            source,
        })?;
    Ok(unit)
}

fn finite(v: &Value, path: &str) -> Result<f64, PayloadError> {
    let n = v.as_f64().ok_or_else(|| wrong(path, "a number"))?;
    if n.is_finite() {
        Ok(n)
    } else {
        Err(PayloadError::NotFinite {
            path: path.to_owned(),
        })
    }
}

fn epoch_seconds(secs: f64) -> Option<SystemTime> {
    if secs >= 0.0 {
        UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)
    } else {
        None
    }
}

fn wrong(path: &str, expected: &'static str) -> PayloadError {
    PayloadError::WrongType {
        path: path.to_owned(),
        expected,
    }
}

#[cfg(test)]
mod tests;
