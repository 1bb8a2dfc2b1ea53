//! Workspace integration tests, compiled as one binary.
//!
//! The database tests run against a real TimescaleDB (see the `healthsphere_tests`
//! crate docs for how it is found); the gateway process tests live in the
//! gateway crate, which can start its own binary.

mod ingest_db;
mod modbus;
mod outage;
mod retention;
mod serial;
mod spool_full;
mod stack;
