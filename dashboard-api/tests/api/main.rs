//! The API against a real TimescaleDB, driven through the router without a
//! socket. Each test makes its own throwaway database; without a server the
//! tests skip (or fail under `HEALTHSPHERE_REQUIRE_DB=1`).

mod alarms;
mod appointments;
mod audit_chain;
mod census;
mod devices;
mod fhir;
mod inventory;
mod inventory_live;
mod live;
mod matrix;
mod messages;
mod patients;
mod rekey;
mod schemathesis;
mod sessions;
mod support;
mod tenancy;
mod users;
mod vitals;
