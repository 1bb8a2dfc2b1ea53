//! Where adapters deliver readings: the seam between device protocols and storage.
//!
//! Adapters know nothing of the spool or the database; they hand each device's
//! readings to a [`ReadingSink`] and acknowledge the device only when delivery
//! succeeded (MQTT PUBACK, HL7 ACK). The collector implements the trait; tests may
//! use a vector.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use crate::Reading;

/// Identifies the device a batch of readings came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceRef {
    /// The device instance's identifier (unique within the site).
    pub device_id: Arc<str>,
    /// The bed, or the location for infrastructure such as a vaccine refrigerator.
    pub bed_id: Arc<str>,
}

impl DeviceRef {
    /// A device reference.
    pub fn new(device_id: &str, bed_id: &str) -> Self {
        Self {
            device_id: device_id.into(),
            bed_id: bed_id.into(),
        }
    }
}

/// The sink did not take the readings; the device must not be acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("readings not stored: {reason}")]
pub struct Refused {
    /// Why, for logs.
    pub reason: String,
}

/// Takes decoded readings from adapters.
pub trait ReadingSink: Send + Sync + 'static {
    /// Stores the readings `device` sent at `received`. Readings the sink cannot
    /// normalize are counted and dropped by the sink itself; `Ok` means the rest is
    /// durable and the device may be acknowledged.
    fn deliver(
        &self,
        device: &DeviceRef,
        readings: Vec<Reading>,
        received: SystemTime,
    ) -> impl Future<Output = Result<(), Refused>> + Send;
}
