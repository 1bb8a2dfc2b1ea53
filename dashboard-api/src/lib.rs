//! The gateway's HTTP API.
//!
//! [`app`] builds the whole router from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot` and no socket.
//!
//! Operational endpoints, without authentication:
//!
//! - `GET /healthz`: liveness; 200 while the process serves requests.
//! - `GET /readyz`: readiness as JSON: whether the spool accepts data and whether
//!   the database is connected. 503 once shutdown has begun, so a load balancer
//!   stops sending work; a database outage alone is not unready, because the
//!   gateway keeps accepting and spooling.
//! - `GET /metrics`: every Prometheus metric in the text exposition format.
//! - `GET /devices/health`: each device adapter's state, last reading and
//!   counters (also at `/api/v1/devices/health` with authentication).
//!
//! Limitation: the operational endpoints have no authentication; bind
//! `api.listen` to loopback or a management network, or put a proxy in front.
//!
//! Everything under `/api/v1` is authenticated with short-lived bearer tokens
//! and authorised by one permission matrix ([`roles`]); see [`routes::ROUTES`]
//! for the table of every route and the permission it needs.
//!
//! # Layout
//!
//! - [`state`]: the shared state handed to handlers; [`core`]: keys, pool,
//!   throttles of the authenticated API; [`config`]: its settings.
//! - [`db`]: the pool and the tenant transaction every request runs in;
//!   [`schema`]: the migrations, with row-level security per tenant.
//! - [`auth`]: passwords, tokens, TOTP, throttling, sessions.
//! - [`roles`]: roles and the permission matrix.
//! - [`audit`]: the hash-chained audit log and its verification.
//! - [`problem`]: RFC 9457 error bodies.
//! - [`api`]: the handlers by area; patients and admissions in
//!   `api::patients`, vitals by bed or patient in `api::vitals`.
//! - [`live`]: the WebSocket of live events; `live_subs` resolves its
//!   patient and ward subscriptions through admissions.
//! - [`devices`]: the device inventory, status board and reload handle the
//!   gateway hands the API; [`compress`]: gzip for large responses.

// The OpenAPI schema table is one large `json!` literal.
#![recursion_limit = "256"]

pub mod api;
pub mod audit;
pub mod audit_writer;
pub mod auth;
pub mod compress;
pub mod config;
pub mod core;
pub mod db;
pub mod devices;
pub mod events;
pub mod http;
pub mod live;
mod live_subs;
pub mod openapi;
pub mod problem;
pub mod rekey;
pub mod roles;
pub mod route_table;
pub mod routes;
pub mod schema;
pub mod state;
pub mod tenant;
pub mod time;

pub use routes::app;
pub use state::AppState;
