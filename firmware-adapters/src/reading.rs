//! What an adapter hands to the collector.

use std::time::SystemTime;

use crate::{Metric, Unit};

/// The device's own opinion of a value, as its protocol reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validity {
    /// The device reports nothing wrong.
    #[default]
    Valid,
    /// The device marks the value as doubtful (artefact, low signal, calibrating).
    Questionable,
    /// The device marks the value as invalid (sensor off, out of measuring range).
    Invalid,
}

/// One decoded value from a device, before normalization.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// What was measured.
    pub metric: Metric,
    /// The value, in `unit`.
    pub value: f64,
    /// The unit the device reported the value in.
    pub unit: Unit,
    /// When the device says it measured the value, if the protocol carries a time.
    pub device_time: Option<SystemTime>,
    /// The device's opinion of the value.
    pub validity: Validity,
}

impl Reading {
    /// A valid reading in the metric's canonical unit with no device time.
    pub fn new(metric: Metric, value: f64) -> Self {
        Self {
            metric,
            value,
            unit: metric.canonical_unit(),
            device_time: None,
            validity: Validity::Valid,
        }
    }

    /// The same reading, stamped with the device's measurement time.
    #[must_use]
    pub fn at(mut self, device_time: SystemTime) -> Self {
        self.device_time = Some(device_time);
        self
    }
}
