//! The gateway's HTTP API.
//!
//! [`app`] builds the whole router from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot` and no socket. Today it serves the operational
//! endpoints every deployment needs:
//!
//! - `GET /healthz`: liveness; 200 while the process serves requests.
//! - `GET /readyz`: readiness as JSON: whether the spool accepts data and whether
//!   the database is connected. 503 once shutdown has begun, so a load balancer
//!   stops sending work; a database outage alone is not unready, because the
//!   gateway keeps accepting and spooling.
//! - `GET /metrics`: every Prometheus metric in the text exposition format.
//! - `GET /devices/health`: each device adapter's connection state, last reading
//!   time and counters, for biomedical engineers.
//!
//! Limitation: these endpoints have no authentication yet; bind the API to
//! loopback or a management network until the authenticated API lands.
//!
//! # Layout
//!
//! - [`state`]: the shared state handed to handlers.
//! - `routes`: the handlers.

pub mod state;

mod routes;

pub use routes::app;
pub use state::AppState;
