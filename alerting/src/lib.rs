//! Clinical alerting: alarm rules, early-warning scores and the alarm lifecycle.
//!
//! HealthSphere is a *secondary* alarm system: the bedside monitor stays the
//! primary alarm. This crate decides, from the samples on the collector's live
//! bus, when an alarm condition starts and ends, scores NEWS2, and tracks each
//! alarm from raised to resolved, including who was asked to respond.
//!
//! The rules, NEWS2, the lifecycle and the [`engine`] are pure: no clock, no
//! I/O. Time is a [`Timestamp`] the caller passes in (for samples, the
//! sample's own time), so every state machine is tested with explicit times
//! and replays the same way from a log. The [`runtime`] (a tokio task), the
//! alarm log ([`store`]), [`webhook`]s and [`mqtt`] build on them.
//!
//! # Layout
//!
//! - [`time`]: the caller-supplied [`Timestamp`] every state machine runs on.
//! - [`news2`]: NEWS2 (Royal College of Physicians, 2017) scoring with per-
//!   parameter staleness, the trigger band and its clinical response.
//! - [`rules`]: limit and rate-of-change rules, the shipped default rule set
//!   (`rules/default.toml`) and its loader, and the per (bed, rule) evaluator
//!   with on-delay, hysteresis and off-delay.
//! - [`lifecycle`]: the alarm lifecycle (active, acknowledged, audio paused,
//!   resolved; high priority latches), the table that keeps one alarm per bed
//!   and rule, and escalation along an ordered list of recipients.
//! - [`engine`]: all of the above per bed, plus technical and device alarms.
//! - [`notice`]: the events every channel reports.
//! - [`runtime`]: the task on the live bus and the handle the API calls.
//! - [`store`]: the `alarm_events` and `webhook_deliveries` hypertables.
//! - [`webhook`]: signed HTTP deliveries; [`mqtt`]: alarm topics.

pub mod engine;
pub mod lifecycle;
pub mod mqtt;
pub mod news2;
pub mod notice;
pub mod rules;
pub mod runtime;
pub mod store;
pub mod time;
pub mod webhook;

pub use lifecycle::{Actor, Alarm, AlarmEvent, AlarmKey, AlarmState, AlarmTable, StaffId};
pub use rules::{Evaluator, Priority, Rule, RuleSet, Transition};
pub use time::Timestamp;
