//! MQTT devices: payload decoding, and the session that subscribes to each
//! device's topic on a broker (the gateway's embedded one or an external one) and
//! delivers readings, acknowledging a QoS 1 message only once it is stored.
//!
//! # Layout
//!
//! - [`payload`]: SenML, compact JSON and pointer-mapped JSON into readings (pure).
//! - [`session`]: the rumqttc client loop with manual acknowledgement.
//! - [`sim`]: a simulated bedside monitor publishing SenML, the device side.

pub mod payload;
pub mod session;
pub mod sim;
