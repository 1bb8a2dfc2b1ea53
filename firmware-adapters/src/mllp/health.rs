//! The listener's health: one entry for the listener itself (connections,
//! every message and every refusal) and one per configured HL7 device.

use std::collections::HashMap;

use crate::health::{AdapterHealth, AdapterMetrics, HealthRegistry};

/// The adapter name in health and metrics.
pub const ADAPTER: &str = "hl7";
/// The health entry of the listener itself; no device may use this id.
pub const LISTENER_ID: &str = "hl7-listener";

/// Health handles of the listener and its configured devices.
#[derive(Debug, Clone)]
pub struct Hl7Health {
    /// The listener: messages (frames), readings stored, refusals by kind.
    pub listener: AdapterHealth,
    devices: HashMap<String, AdapterHealth>,
}

impl Hl7Health {
    /// Registers the listener and `device_ids`. Devices accepted under the
    /// unknown-sender policy are counted on the listener only, so that the
    /// metric labels stay bounded by the configuration.
    pub fn new<'a>(
        device_ids: impl IntoIterator<Item = &'a str>,
        metrics: &AdapterMetrics,
        registry: &HealthRegistry,
    ) -> Self {
        let handle = |id: &str| AdapterHealth::new(ADAPTER, id, metrics.clone(), registry.clone());
        Self {
            listener: handle(LISTENER_ID),
            devices: device_ids
                .into_iter()
                .map(|id| (id.to_owned(), handle(id)))
                .collect(),
        }
    }

    /// The handle of a configured device.
    pub fn device(&self, device_id: &str) -> Option<&AdapterHealth> {
        self.devices.get(device_id)
    }

    /// Every id with a health entry, the listener's included.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(LISTENER_ID).chain(self.devices.keys().map(String::as_str))
    }
}
