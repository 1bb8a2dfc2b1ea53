//! The collector turns adapter readings into stored samples.
//!
//! The path of a reading: an adapter hands [`Reading`]s for one device to
//! [`Ingest::accept`]; the [`Normalizer`] converts each into a [`Sample`] (canonical
//! unit, quality flags, time); the batch is appended to the crash-safe [`Spool`];
//! only then does `accept` return, so the adapter may acknowledge the device. The
//! batch is published on the live bus for alerting and the API. The [`Writer`]
//! drains the spool into TimescaleDB with binary COPY and records its progress in
//! the same transaction, so a replay after a crash creates no duplicate rows.
//!
//! # Layout
//!
//! - [`sample`]: the normalized sample and its spool encoding.
//! - [`normalize`]: reading to sample.
//! - [`spool`]: the on-disk store-and-forward log, its recovery and full policy.
//! - [`ingest`]: the intake handle adapters call, and the live bus.
//! - [`writer`]: spool to TimescaleDB, with retry and replay.
//! - [`schema`]: versioned migrations and TimescaleDB edition detection.
//! - [`metrics`]: the Prometheus metrics of all the above.
//!
//! [`Reading`]: firmware_adapters::Reading

pub mod ingest;
pub mod metrics;
pub mod normalize;
pub mod retention;
pub mod sample;
pub mod schema;
pub mod spool;
pub mod writer;

pub use ingest::{Ingest, LiveBatch, SiteSink};
pub use metrics::CollectorMetrics;
pub use normalize::{Normalizer, Rejection};
pub use sample::{Origin, Quality, Sample};
pub use spool::{Spool, SpoolConfig, SpoolError};
pub use writer::{Writer, WriterConfig};
