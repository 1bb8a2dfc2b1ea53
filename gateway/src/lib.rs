//! The HealthSphere ward gateway: configuration and wiring of the collector,
//! alerting and the API. The binary (`main.rs`) only parses the command line and
//! calls in here.
//!
//! # Layout
//!
//! - [`adapters`]: device adapters: start, stop, reload on SIGHUP.
//! - [`alarms`]: the alerting runtime and its notification channels.
//! - [`broker`]: the embedded MQTT broker.
//! - [`config`]: the TOML configuration, its loading and validation.
//! - [`demo`]: support for the demo ward.
//! - [`device_alarms`]: device-reported alarm flags relayed to alerting.
//! - [`hl7`]: the HL7 v2 over MLLP listener.
//! - [`run`]: starts every part, runs until a shutdown signal, drains.
//! - [`sim`]: drives the configured simulated monitors into the collector.
//! - [`report`]: the demo's periodic print-out of what the database stored.

pub mod adapters;
pub mod alarms;
pub mod broker;
pub mod config;
pub mod demo;
pub mod device_alarms;
pub mod hl7;
pub mod report;
pub mod run;
pub mod sim;
