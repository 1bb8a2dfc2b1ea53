//! The alarm log in TimescaleDB: migrations, the writer, history queries.
//!
//! The alerting migrations use versions 1001 and up in the collector's shared
//! ledger; pass [`MIGRATIONS`] to `collector::schema::migrate_with`.
//!
//! - `alarm_events` (hypertable): every alarm transition and clinician change,
//!   with time and actor ([`EventRow`]).
//! - `webhook_deliveries` (hypertable): every webhook delivery attempt
//!   ([`DeliveryRow`]).
//!
//! The [`writer`] runs as its own task behind a bounded queue, so evaluation
//! never waits for the database.

pub mod writer;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use collector::schema::Migration;
use tokio_postgres::Client;

use crate::notice::{AlarmNotice, AuditNote, LiveEvent};

pub use writer::{spawn_writer, StoreConfig, StoreHandle, StoreMetrics};

/// The alerting schema, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1001,
        name: "alarm_events hypertable",
        sql: include_str!("../../migrations/1001_alarm_events.sql"),
    },
    Migration {
        version: 1002,
        name: "webhook_deliveries hypertable",
        sql: include_str!("../../migrations/1002_webhook_deliveries.sql"),
    },
];

/// A query or write on the alarm tables failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or the connection failed.
    #[error("{context}")]
    Db {
        /// What was being done.
        context: &'static str,
        /// The database error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The database did not answer in time.
    #[error("the database did not answer in time")]
    Timeout,
}

fn db(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |source| StoreError::Db { context, source }
}

/// One row of `alarm_events`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// When the change happened.
    pub time: SystemTime,
    /// Unique per gateway process and event.
    pub event_id: String,
    /// The site.
    pub tenant_id: String,
    /// The bed.
    pub bed_id: String,
    /// The rule, or the NEWS2 parameter for audit rows.
    pub rule_id: String,
    /// Occurrence; 0 for audit rows.
    pub occurrence: i32,
    /// physiological, news2, technical, device, audit.
    pub class: String,
    /// Priority; `None` for audit rows.
    pub priority: Option<String>,
    /// What happened.
    pub change: String,
    /// State after the change; `None` for audit rows.
    pub state: Option<String>,
    /// system, or the staff identifier.
    pub actor: String,
    /// Whether the condition was present.
    pub condition_present: Option<bool>,
    /// Text for people.
    pub message: String,
    /// Value, metric, escalation step, silence end; override limits and reason.
    pub detail: serde_json::Value,
}

fn time_of(us: i64) -> SystemTime {
    let d = Duration::from_micros(u64::try_from(us).unwrap_or(0));
    UNIX_EPOCH + d
}

impl EventRow {
    /// The row an event is stored as; `None` for vitals and NEWS2 updates.
    pub fn from_event(ev: &LiveEvent) -> Option<Self> {
        match ev {
            LiveEvent::AlarmRaised(n)
            | LiveEvent::AlarmUpdated(n)
            | LiveEvent::AlarmResolved(n) => Some(Self::from_alarm(n)),
            // The broadcast duplicates the exhaustion update already stored.
            LiveEvent::Emergency(_) => None,
            LiveEvent::LimitsChanged(a) | LiveEvent::Observation(a) => Some(Self::from_audit(a)),
            LiveEvent::Vitals(_) | LiveEvent::News2(_) => None,
        }
    }

    fn from_alarm(n: &AlarmNotice) -> Self {
        let detail = serde_json::json!({
            "metric": n.metric,
            "value": n.value,
            "silenced_until_us": n.silenced_until_us,
            "escalation": n.escalation,
        });
        Self {
            time: time_of(n.at_us),
            event_id: n.event_id.clone(),
            tenant_id: n.tenant.to_string(),
            bed_id: n.bed.to_string(),
            rule_id: n.rule.to_string(),
            occurrence: i32::try_from(n.occurrence).unwrap_or(i32::MAX),
            class: serde_json::to_value(n.class)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            priority: Some(n.priority.as_str().to_owned()),
            change: n.change.to_owned(),
            state: Some(n.state.to_owned()),
            actor: n.actor.clone(),
            condition_present: Some(n.condition_present),
            message: n.message.to_string(),
            detail,
        }
    }

    fn from_audit(a: &AuditNote) -> Self {
        Self {
            time: time_of(a.at_us),
            event_id: a.event_id.clone(),
            tenant_id: a.tenant.to_string(),
            bed_id: a.bed.to_string(),
            rule_id: a.subject.to_string(),
            occurrence: 0,
            class: "audit".to_owned(),
            priority: None,
            change: a.change.to_owned(),
            state: None,
            actor: a.actor.clone(),
            condition_present: None,
            message: String::new(),
            detail: a.detail.clone(),
        }
    }
}

/// One webhook delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// When the attempt ended.
    pub time: SystemTime,
    /// The site.
    pub tenant_id: String,
    /// The endpoint's configured name.
    pub endpoint: String,
    /// The alarm event delivered.
    pub event_id: String,
    /// Attempt number, from 1.
    pub attempt: i32,
    /// delivered, retrying, gave_up.
    pub outcome: String,
    /// The HTTP status, when one came back.
    pub http_status: Option<i32>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// What [`history`] selects. `None` fields do not filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// The site (always filtered: one tenant never sees another's alarms).
    pub tenant_id: String,
    /// One bed.
    pub bed_id: Option<String>,
    /// One rule.
    pub rule_id: Option<String>,
    /// The state after the change (`resolved`, `acknowledged`, ...).
    pub state: Option<String>,
    /// From (inclusive).
    pub from: SystemTime,
    /// To (exclusive).
    pub to: SystemTime,
    /// At most this many rows, newest first.
    pub limit: i64,
}

/// Alarm log rows matching `q`, newest first.
///
/// # Errors
///
/// When the query fails.
pub async fn history(client: &Client, q: &HistoryQuery) -> Result<Vec<EventRow>, StoreError> {
    let rows = client
        .query(
            "SELECT time, event_id, tenant_id, bed_id, rule_id, occurrence, class, priority,
                    change, state, actor, condition_present, message, detail
               FROM alarm_events
              WHERE tenant_id = $1
                AND ($2::text IS NULL OR bed_id = $2)
                AND ($3::text IS NULL OR rule_id = $3)
                AND ($4::text IS NULL OR state = $4)
                AND time >= $5 AND time < $6
              ORDER BY time DESC, event_id DESC
              LIMIT $7",
            &[
                &q.tenant_id,
                &q.bed_id,
                &q.rule_id,
                &q.state,
                &q.from,
                &q.to,
                &q.limit,
            ],
        )
        .await
        .map_err(db("query alarm history"))?;
    Ok(rows
        .iter()
        .map(|r| EventRow {
            time: r.get(0),
            event_id: r.get(1),
            tenant_id: r.get(2),
            bed_id: r.get(3),
            rule_id: r.get(4),
            occurrence: r.get(5),
            class: r.get(6),
            priority: r.get(7),
            change: r.get(8),
            state: r.get(9),
            actor: r.get(10),
            condition_present: r.get(11),
            message: r.get(12),
            detail: r.get(13),
        })
        .collect())
}

/// Delivery attempts of one event, oldest first.
///
/// # Errors
///
/// When the query fails.
pub async fn deliveries(client: &Client, event_id: &str) -> Result<Vec<DeliveryRow>, StoreError> {
    let rows = client
        .query(
            "SELECT time, tenant_id, endpoint, event_id, attempt, outcome, http_status, error
               FROM webhook_deliveries WHERE event_id = $1 ORDER BY time, attempt",
            &[&event_id],
        )
        .await
        .map_err(db("query webhook deliveries"))?;
    Ok(rows
        .iter()
        .map(|r| DeliveryRow {
            time: r.get(0),
            tenant_id: r.get(1),
            endpoint: r.get(2),
            event_id: r.get(3),
            attempt: r.get(4),
            outcome: r.get(5),
            http_status: r.get(6),
            error: r.get(7),
        })
        .collect())
}
